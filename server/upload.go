package server

import (
	"errors"
	"io"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/ingest"
	"github.com/sipcause/sipcause/report"
	"github.com/sipcause/sipcause/sipmsg"
	"github.com/sipcause/sipcause/store"
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
	return ingest.Analyze([]ingest.Input{{Name: name, R: r}}, ingest.Options{MaxInflated: maxInflated, Media: true}, opt)
}

// analyzeForStore is analyzeUpload that also keeps each call's SIP
// messages as they were captured, so that the calls can be stored as the
// collector stores live ones (store.CallRecord). The upload's size limit
// bounds what is kept. summaryLang is the language of the summaries the
// store indexes: the server's, as for live calls.
func analyzeForStore(name string, r io.Reader, opt analyze.Options, summaryLang catalog.Lang, maxInflated int64) (*analyze.Report, []store.CallRecord, error) {
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	a := analyze.New(opt)
	raw := map[string][]store.RawMessage{}
	res, err := ingest.Each([]ingest.Input{{Name: name, R: r}}, ingest.Options{MaxInflated: maxInflated}, func(p capture.Packet, m *sipmsg.Message) {
		meta := analyze.Meta{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport, FromLog: p.Encap == "log"}
		a.Add(analyze.FromSIP(meta, m))
		id := string(m.CallID())
		raw[id] = append(raw[id], store.RawMessage{Frame: p.Frame, Time: p.Time.UTC(), Src: p.Src.String(), Dst: p.Dst.String(),
			Transport: p.Transport, Raw: append([]byte(nil), p.Payload...)})
	})
	var oe *ingest.OpenError
	if errors.As(err, &oe) {
		return nil, nil, err
	}
	for _, in := range res.Inputs {
		a.AddInput(in)
	}
	a.AddIntegrity(res.Integrity)
	a.ObserveEnd(res.End)
	rep := a.Finish()
	recs := make([]store.CallRecord, 0, len(rep.Calls))
	for _, c := range rep.Calls {
		var msgs []store.RawMessage
		in := map[int]bool{}
		for _, f := range c.Frames {
			in[f] = true
		}
		// A Call-ID can carry several calls (a re-used ID, forks); each
		// keeps the messages of its own frames.
		for _, m := range raw[c.CallID] {
			if in[m.Frame] {
				msgs = append(msgs, m)
			}
		}
		// The JSON is made here without reflection (the store would
		// json.Marshal the call: the same bytes, slower).
		js, _ := report.MarshalCall(c) // on an error the store marshals again and reports it
		recs = append(recs, store.CallRecord{Call: c, Messages: msgs, JSON: js, Summary: report.LocalizeCall(c, summaryLang).Summary})
	}
	return rep, recs, err
}
