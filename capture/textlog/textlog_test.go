package textlog

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// samples are the small logs under testdata, one per format, with the
// kind Detect must find.
var samples = []struct {
	file, kind string
	messages   int
}{
	{"raw.txt", KindRaw, 6},
	{"sngrep.txt", KindSngrep, 4},
	{"asterisk-pjsip.log", KindAsteriskPJSIP, 4},
	{"asterisk-chansip.log", KindAsteriskChanSIP, 4},
	{"freeswitch.log", KindFreeSWITCH, 4},
	{"kamailio-sipdump.txt", KindKamailio, 4},
	{"kamailio-xlog.log", KindKamailio, 2},
	{"pjsip.log", KindPJSIP, 3},
}

// summary is a message as one golden line: line, time, src→dst,
// transport, start line.
func summary(m Message) string {
	t := "-"
	if !m.Time.IsZero() {
		t = m.Time.Format(time.RFC3339Nano)
	}
	addr := func(a netip.AddrPort) string {
		if !a.IsValid() {
			return "-"
		}
		return a.String()
	}
	tr := m.Transport
	if tr == "" {
		tr = "-"
	}
	start, _, _ := bytes.Cut(m.Payload, []byte("\r\n"))
	return fmt.Sprintf("%d %s %s→%s %s %s", m.Line, t, addr(m.Src), addr(m.Dst), tr, start)
}

// checkLength reports a message whose body is not as long as its
// Content-Length says (RFC 3261 §20.14).
func checkLength(t *testing.T, name string, m Message) {
	t.Helper()
	head, body, ok := bytes.Cut(m.Payload, []byte("\r\n\r\n"))
	if !ok {
		t.Errorf("%s line %d: no empty line after the header fields", name, m.Line)
		return
	}
	for _, l := range bytes.Split(head, []byte("\r\n"))[1:] {
		n, v, _ := bytes.Cut(l, []byte(":"))
		if strings.EqualFold(string(n), "Content-Length") {
			cl, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
			if cl != len(body) {
				t.Errorf("%s line %d: Content-Length %d, body %d bytes", name, m.Line, cl, len(body))
			}
		}
	}
	if bytes.Contains(m.Payload, []byte("\n")) && bytes.Count(m.Payload, []byte("\r\n")) != bytes.Count(m.Payload, []byte("\n")) {
		t.Errorf("%s line %d: bare LF in %q", name, m.Line, m.Payload)
	}
}

func TestSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", s.file))
			if err != nil {
				t.Fatal(err)
			}
			if kind, ok := Detect(data); !ok || kind != s.kind {
				t.Errorf("Detect = %q, %v; want %q", kind, ok, s.kind)
			}
			_, msgs := readAll(t, s.file, bytes.NewReader(data))
			if len(msgs) != s.messages {
				t.Errorf("got %d messages, want %d", len(msgs), s.messages)
			}
			var out strings.Builder
			fmt.Fprintf(&out, "# %s: %s\n", s.file, s.kind)
			for _, m := range msgs {
				checkLength(t, s.file, m)
				fmt.Fprintln(&out, summary(m))
			}
			golden(t, filepath.Join("testdata", "golden", s.file+".golden"), out.String())
		})
	}
}

// TestManifestGolden keeps the per-message summary of the shared logs, so
// a change in times or addresses shows in review.
func TestManifestGolden(t *testing.T) {
	for _, row := range readManifest(t) {
		t.Run(row.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(capturesDir, row.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tl, msgs := readAll(t, row.file, f)
			var out strings.Builder
			fmt.Fprintf(&out, "# %s: %s\n", row.file, tl.kind)
			for _, m := range msgs {
				fmt.Fprintln(&out, summary(m))
			}
			golden(t, filepath.Join("testdata", "golden", row.file+".golden"), out.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestPayloadCRLF(t *testing.T) {
	in := "INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 10\n\nv=0\ns=-\n"
	m, err := NewReader("x", strings.NewReader(in)).Next()
	if err != nil {
		t.Fatal(err)
	}
	want := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 10\r\n\r\nv=0\r\ns=-\r\n"
	if string(m.Payload) != want {
		t.Errorf("got %q, want %q", m.Payload, want)
	}
	if m.Transport != "udp" {
		t.Errorf("transport %q, want udp from Via", m.Transport)
	}
}

func TestFitBody(t *testing.T) {
	head := "MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h\nContent-Length: %d\n\n"
	for _, tc := range []struct {
		name string
		cl   int
		body string // as the log has it
		want string
	}{
		{"crlf", 12, "ab\ncd\nef\n", "ab\r\ncd\r\nef\r\n"},
		{"crlf without final", 10, "ab\ncd\nef\n", "ab\r\ncd\r\nef"},
		{"lf", 9, "ab\ncd\nef\n", "ab\ncd\nef\n"},
		{"lf without final", 9, "abc\ncd\nef\n\n", "abc\ncd\nef"},
		{"separator blank lines dropped", 4, "ab\n\n\n", "ab\r\n"},
		{"longer cut to Content-Length", 3, "abcdef\n", "abc"},
		{"shorter kept", 40, "ab\n\n", "ab\r\n"},
		{"sipfrag", 20, "SIP/2.0 100 Trying\n\n", "SIP/2.0 100 Trying\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fmt.Sprintf(head, tc.cl) + tc.body
			m, err := NewReader("x", strings.NewReader(in)).Next()
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := bytes.Cut(m.Payload, []byte("\r\n\r\n"))
			if string(body) != tc.want {
				t.Errorf("body %q, want %q", body, tc.want)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	big := "INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nContent-Length: 300000\n\n" +
		strings.Repeat(strings.Repeat("a", 99)+"\n", 3000) +
		"INVITE sip:lonely@b SIP/2.0\n\n" +
		"SIP/2.0 200 OK\nVia: SIP/2.0/UDP h\nContent-Length: 0\n\n" +
		strings.Repeat("x", MaxLineLength+10) + "\n"
	r := NewReader("big.log", strings.NewReader(big))
	var got []string
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, summary(m))
	}
	if len(got) != 1 || !strings.HasSuffix(got[0], "SIP/2.0 200 OK") {
		t.Errorf("got %q, want only the 200 OK", got)
	}
	if r.Skipped() != 2 {
		t.Errorf("Skipped = %d, want 2", r.Skipped())
	}
	var pe *ParseError
	probs := r.Problems()
	if len(probs) != 3 || !errors.As(probs[0], &pe) || pe.File != "big.log" || pe.Line != 1 ||
		!errors.Is(probs[0], ErrMessageTooLarge) || !errors.Is(probs[1], ErrNoHeaders) || !errors.Is(probs[2], ErrLineTooLong) {
		t.Errorf("problems %v", probs)
	}
	if want := "textlog: big.log line 1: message larger than MaxMessageSize, skipped"; probs[0].Error() != want {
		t.Errorf("Error() = %q, want %q", probs[0].Error(), want)
	}
}

func TestDetectNothing(t *testing.T) {
	if kind, ok := Detect([]byte("hello\nworld\n")); ok {
		t.Errorf("Detect found %q in plain text", kind)
	}
	r := NewReader("empty", strings.NewReader(""))
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next on empty input: %v", err)
	}
}

func TestYearless(t *testing.T) {
	var y yearless
	a := y.at(time.December, 31, 23*time.Hour)
	b := y.at(time.January, 1, time.Hour)
	if a.Year() != 0 || b.Year() != 1 || b.Sub(a) != 2*time.Hour {
		t.Errorf("New Year: %v then %v", a, b)
	}
	var c dayClock
	d1 := c.at(23*time.Hour + 59*time.Minute)
	d2 := c.at(time.Minute)
	if d2.Sub(d1) != 2*time.Minute {
		t.Errorf("midnight: %v then %v", d1, d2)
	}
}

// TestJ100CarryBounded feeds a J100 log whose every line ends in a part
// marker: the carried text must not grow with the input.
func TestJ100CarryBounded(t *testing.T) {
	line := strings.Repeat("a", 1000) + "<167>Jan 11 09:01:09 192.168.50.94 SIPMESSAGE: -04:00 2022 920 1 .TEL | 0 [Part 02 of 02]\n"
	p := &j100Log{}
	for range 1000 {
		p.classify([]byte(line[:len(line)-1]))
	}
	if len(p.carry) > MaxLineLength || cap(p.joined) > 4*MaxLineLength {
		t.Errorf("carry %d bytes, joined cap %d", len(p.carry), cap(p.joined))
	}
}
