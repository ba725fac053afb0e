package server

import (
	"errors"
	"fmt"
	"io"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/sipmsg"
)

// AnalyzeCapture runs the pipeline of `sipcause analyze` on one capture or
// log read from r: capture.Open, sipmsg.Parse, analyze.FromSIP, the
// analyzer. name is the file name the report shows. Like the command, it
// returns the partial report together with the error when the input is
// damaged part way; a *capture.FormatError means it is no capture at all.
//
// It duplicates internal/cli's reading loop for a single input; the two
// must stay the same so that the API returns the bytes the command prints.
func AnalyzeCapture(name string, r io.Reader, opt analyze.Options) (*analyze.Report, error) {
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	rd, err := capture.Open(name, r)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	a := analyze.New(opt)
	var msg sipmsg.Message
	var integ analyze.Integrity
	var readErr error
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var fe *capture.FrameError
			if !errors.As(err, &fe) {
				err = fmt.Errorf("%s: %w", name, err)
			}
			readErr = err
			break
		}
		if err := sipmsg.Parse(p.Payload, &msg); err == nil {
			a.Add(analyze.FromSIP(analyze.Meta{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport}, &msg))
		} else {
			integ.Malformed++
		}
	}
	in := analyze.Input{File: name, Format: rd.Format()}
	if readErr != nil {
		in.Error = readErr.Error()
	}
	a.AddInput(in)
	ci := rd.Integrity()
	integ.Add(analyze.Integrity{
		Frames: ci.Frames, SIPMessages: ci.SIPMessages, Truncated: ci.Truncated,
		FragmentsIncomplete: ci.FragmentsIncomplete, TCPGaps: ci.TCPGaps, EncryptedSIP: ci.EncryptedSIP,
		Malformed: ci.Malformed, NonSIP: ci.NonSIP,
	})
	a.AddIntegrity(integ)
	a.ObserveEnd(rd.LastFrameTime())
	return a.Finish(), readErr
}
