package cli

import (
	"errors"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/ingest"
	"github.com/sipcause/sipcause/sipmsg"
)

// cliError turns a reading error into the command's: an input that cannot
// be opened or is no capture is bad usage (exit 2), a damaged one exit 1.
func cliError(err error) error {
	var oe *ingest.OpenError
	var fe *capture.FrameError
	if errors.As(err, &oe) && !errors.As(err, &fe) {
		return usagef("%v", err)
	}
	if errors.As(err, &oe) {
		// A capture whose header is damaged is a damaged input (1), not a
		// file that is no capture (2), as the README says.
		return &DamagedError{Err: err}
	}
	var de *ingest.DamagedError
	if errors.As(err, &de) {
		return &DamagedError{Err: de.Err}
	}
	return err
}

func (p *progress) options() ingest.Options {
	if p == nil {
		return ingest.Options{}
	}
	return ingest.Options{BytesRead: &p.read, OnMessage: p.message}
}

// readInputs hands each SIP message of the files to fn in time order; see
// ingest.Each.
func readInputs(files []string, fn func(capture.Packet, *sipmsg.Message)) ([]analyze.Input, analyze.Integrity, error) {
	res, err := ingest.Each(ingest.Files(files...), ingest.Options{}, fn)
	return res.Inputs, res.Integrity, cliError(err)
}

// feed reads the files into a, decoding and analysing side by side; see
// ingest.Feed.
func feed(a *analyze.Analyzer, files []string, prog *progress, media bool) error {
	return feedRaw(a, files, prog, media, nil)
}

// feedRaw is feed that also hands each message's bytes to raw.
func feedRaw(a *analyze.Analyzer, files []string, prog *progress, media bool, raw func(file string, frame int, b []byte)) error {
	defer prog.done()
	opt := prog.options()
	opt.OnRaw = raw
	opt.Media = media // RTP and RTCP give each call its audio verdict
	return cliError(ingest.Feed(a, ingest.Files(files...), opt))
}
