package sipmsg

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// dump renders what the parser and Strict make of a message, one fact a
// line, so a change of behaviour shows up as a readable diff.
func dump(m *Message) string {
	var b strings.Builder
	if m.Request {
		fmt.Fprintf(&b, "request method=%q uri=%q version=%q\n", m.Method, m.RequestURI, m.Version)
	} else {
		fmt.Fprintf(&b, "response code=%d reason=%q version=%q\n", m.StatusCode, m.Reason, m.Version)
	}
	for _, h := range m.Headers {
		fmt.Fprintf(&b, "header %q (%s) = %q\n", h.Name, CanonicalName(string(h.Name)), h.Value)
	}
	fmt.Fprintf(&b, "call-id %q\n", m.CallID())
	n, method, ok := m.CSeq()
	fmt.Fprintf(&b, "cseq %d %q ok=%v\n", n, method, ok)
	for _, na := range []struct {
		name string
		v    NameAddr
	}{{"from", m.From()}, {"to", m.To()}} {
		fmt.Fprintf(&b, "%s display=%q uri=%q user=%q tag=%q\n", na.name, na.v.DisplayName, na.v.URI, na.v.User(), na.v.Tag)
	}
	for c := range m.Contacts() {
		fmt.Fprintf(&b, "contact display=%q uri=%q params=%q\n", c.DisplayName, c.URI, c.Params)
	}
	for v := range m.Vias() {
		fmt.Fprintf(&b, "via %s/%s/%s host=%q port=%d branch=%q received=%q rport=%q/%v cookie=%v\n",
			v.Protocol, v.Version, v.Transport, v.Host, v.Port, v.Branch, v.Received, v.RPort, v.RPortSet, v.MagicCookie())
	}
	cl, clok := m.ContentLength()
	mf, mfok := m.MaxForwards()
	fmt.Fprintf(&b, "content-length %d/%v max-forwards %d/%v body=%d trailing=%d\n", cl, clok, mf, mfok, len(m.Body), len(m.Trailing))
	if s, ok := m.SDP(); ok {
		fmt.Fprintf(&b, "sdp origin=%+v c=%q dir=%s\n", s.Origin, s.Connection.Address, s.Direction)
		for i, md := range s.Media {
			addr, port := s.RTPEndpoint(i)
			pts := make([]int, 0, len(md.RTPMap))
			for pt := range md.RTPMap {
				pts = append(pts, pt)
			}
			sort.Ints(pts)
			var codecs []string
			for _, pt := range pts {
				codecs = append(codecs, fmt.Sprintf("%d=%s/%d", pt, md.RTPMap[pt].Encoding, md.RTPMap[pt].ClockRate))
			}
			fmt.Fprintf(&b, "sdp media %s %s %v rtp=%s:%d dir=%s codecs=%v\n", md.Type, md.Proto, md.Formats, addr, port, s.EffectiveDirection(i), codecs)
		}
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "sdp warning %s @%d\n", w.Code, w.Offset)
		}
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(&b, "warning %s @%d: %s\n", w.Code, w.Offset, w.Msg)
	}
	return b.String()
}

func dumpStrict(m *Message) string {
	var b strings.Builder
	for _, p := range m.Strict() {
		fmt.Fprintf(&b, "strict %s %s [%s]: %s\n", p.Severity, p.Code, p.Header, p.Msg)
	}
	return b.String()
}

// TestGolden compares dumps of every RFC 4475 vector and real message
// with testdata/golden; run with -update to rewrite them.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rfc4475", "*.dat"))
	reals, _ := filepath.Glob(filepath.Join("testdata", "real", "*.sip"))
	files = slices.Concat(files, reals)
	if len(files) < 50 {
		t.Fatalf("only %d inputs", len(files))
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m Message
		if err := Parse(in, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got := dump(&m) + dumpStrict(&m)
		golden := filepath.Join("testdata", "golden", filepath.Base(f)+".txt")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s; run go test -update and review the diff\n%s", f, golden, got)
		}
	}
}
