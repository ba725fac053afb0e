package server

import (
	"io"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/ingest"
)

// AnalyzeCapture runs the pipeline of `sipcause analyze` (package ingest)
// on one capture or log read from r; name is the file name the report
// shows. Like the command, it returns the partial report together with the
// error when the input is damaged part way; an error wrapping a
// *capture.FormatError means it is no capture at all.
func AnalyzeCapture(name string, r io.Reader, opt analyze.Options) (*analyze.Report, error) {
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	return ingest.Analyze([]ingest.Input{{Name: name, R: r}}, ingest.Options{}, opt)
}
