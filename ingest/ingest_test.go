package ingest

import (
	"bytes"
	"errors"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/sipmsg"
)

const shared = "../../shared/testdata/captures"

func sharedFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(shared, name)
	if _, err := os.Stat(p); err != nil {
		sharedtest.Missing(t, p, err)
	}
	return p
}

// Two captures read together come out merged in capture-time order, and
// the counts add up.
func TestEachMergesInTimeOrder(t *testing.T) {
	a := sharedFile(t, "sngrep__aaa.pcap")
	b := sharedFile(t, "goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng")
	var n int
	var last int64
	var read atomic.Int64
	res, err := Each(Files(a, b), Options{BytesRead: &read}, func(p capture.Packet, m *sipmsg.Message) {
		if ts := p.Time.UnixNano(); ts < last {
			t.Fatalf("message %d goes back in time", n)
		} else {
			last = ts
		}
		n++
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 81+13 || res.Integrity.SIPMessages != n || len(res.Inputs) != 2 {
		t.Errorf("%d messages, integrity %+v, inputs %v", n, res.Integrity, res.Inputs)
	}
	if read.Load() == 0 || res.End.IsZero() {
		t.Errorf("bytes read %d, end %v", read.Load(), res.End)
	}
}

func TestErrors(t *testing.T) {
	_, err := Analyze([]Input{{Name: "junk", R: bytes.NewReader([]byte("not a capture at all\n"))}}, Options{}, analyze.Options{})
	var oe *OpenError
	var fe *capture.FormatError
	if !errors.As(err, &oe) || !errors.As(err, &fe) || oe.Name != "junk" {
		t.Errorf("junk: %v", err)
	}
	b, err := os.ReadFile(sharedFile(t, "MichalCab-ISA__sip.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze([]Input{{Name: "cut.pcap", R: bytes.NewReader(b[:len(b)/2])}}, Options{}, analyze.Options{})
	var de *DamagedError
	var frame *capture.FrameError
	if !errors.As(err, &de) || !errors.As(err, &frame) || frame.File != "cut.pcap" || rep == nil || rep.Summary.Messages == 0 {
		t.Errorf("damaged: %v (report %v)", err, rep != nil)
	}
}

// Analyze and a streaming analyzer fed by Feed give the same report.
func TestAnalyzeEqualsFeed(t *testing.T) {
	p := sharedFile(t, "goffinet-sip_captures__private-test-sip.pcapng")
	r1, err := Analyze(Files(p), Options{}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var calls []*analyze.Call
	a := analyze.New(analyze.Options{OnCall: func(c *analyze.Call) { calls = append(calls, c) }})
	if err := Feed(a, Files(p), Options{}); err != nil {
		t.Fatal(err)
	}
	r2 := a.Finish()
	if len(calls) != len(r1.Calls) || r2.Summary.Messages != r1.Summary.Messages || r2.Integrity != r1.Integrity {
		t.Errorf("streamed %d calls vs %d; summaries %d vs %d", len(calls), len(r1.Calls), r2.Summary.Messages, r1.Summary.Messages)
	}
}

// A file that is no capture, among captures, is skipped and said so; the
// others are still read (exit 1 in the CLI, not 2).
func TestNonCaptureAmongInputsSkipped(t *testing.T) {
	good := filepath.Join("..", "..", "shared", "testdata", "captures", "sngrep__aaa.pcap")
	if _, err := os.Stat(good); err != nil {
		sharedtest.Missing(t, good, err)
	}
	bad := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(bad, []byte("these are not packets\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(Files(bad, good), Options{}, analyze.Options{})
	var de *DamagedError
	var oe *OpenError
	var se *SkippedError
	if !errors.As(err, &de) || errors.As(err, &oe) || !errors.As(err, &se) || se.Name != bad {
		t.Fatalf("err = %v, want a DamagedError with the skipped file", err)
	}
	if rep == nil || len(rep.Calls) == 0 || len(rep.Inputs) != 2 || rep.Inputs[0].Error == "" {
		t.Fatalf("report: %+v", rep)
	}
	if _, err := Analyze(Files(bad), Options{}, analyze.Options{}); !errors.As(err, &oe) {
		t.Errorf("a lone non-capture: err = %v, want an OpenError", err)
	}
}
