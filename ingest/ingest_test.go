package ingest

import (
	"bytes"
	"errors"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// TestBatchResetBound: a used batch keeps the strings of its messages
// only while they were short. One that held a sender's long messages is
// cleared, so that the few batches going round do not keep megabytes;
// and a slot taken again is written whole, whatever it held.
func TestBatchResetBound(t *testing.T) {
	long := "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nUser-Agent: " + strings.Repeat("u", 60000) + "\r\n\r\n"
	short := "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2\r\nCall-ID: y\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@example.com>;tag=2\r\nTo: <sip:b@example.com>\r\nUser-Agent: phone\r\n\r\n"
	add := func(b *batch, text string, n int) {
		var m sipmsg.Message
		if err := sipmsg.Parse([]byte(text), &m); err != nil {
			t.Fatal(err)
		}
		for range n {
			b.addMessage(&capture.Packet{File: "f", Payload: []byte(text)}, &m, &analyze.Interner{})
		}
	}
	var b batch
	add(&b, long, 8)
	b.reset()
	for i, m := range b.msgs[:cap(b.msgs)] {
		if m.UserAgent != "" {
			t.Fatalf("slot %d keeps a User-Agent of %d bytes after a batch of long messages", i, len(m.UserAgent))
		}
	}
	add(&b, short, 3)
	b.reset()
	add(&b, long, 1)
	b.reset()
	add(&b, short, 1)
	if got := b.msgs[0]; got.CallID != "y" || got.UserAgent != "phone" || len(b.msgs) != 1 {
		t.Fatalf("a slot taken again holds %q %q (%d messages)", got.CallID, got.UserAgent, len(b.msgs))
	}
	want := analyze.FromSIP(analyze.Meta{File: "f"}, mustParse(t, short))
	want.Time = b.msgs[0].Time
	if !reflect.DeepEqual(b.msgs[0], want) {
		t.Fatalf("a slot taken again is not the message alone:\n got %+v\nwant %+v", b.msgs[0], want)
	}
}

func mustParse(t *testing.T, text string) *sipmsg.Message {
	t.Helper()
	var m sipmsg.Message
	if err := sipmsg.Parse([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}
