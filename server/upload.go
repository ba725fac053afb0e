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
	return analyzeUpload(name, r, opt, 0)
}

// analyzeUpload is AnalyzeCapture with a limit on the bytes inflated from
// gzip: an upload's size limit applies to what it inflates to, not only to
// what crossed the network (a 1 MB upload inflated to 4 GB of RSS).
func analyzeUpload(name string, r io.Reader, opt analyze.Options, maxInflated int64) (*analyze.Report, error) {
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	return ingest.Analyze([]ingest.Input{{Name: name, R: r}}, ingest.Options{MaxInflated: maxInflated}, opt)
}
