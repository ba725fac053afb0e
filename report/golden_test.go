package report

import (
	"bytes"
	"errors"
	"flag"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/sipmsg"
)

// The golden files under testdata/golden hold what the renderers make of
// real captures read through the whole pipeline. They change whenever the
// analyzer's texts or findings change; rewrite them with
//
//	go test ./report -update
//
// and read the diff before committing it.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// capturesDir is the shared folder of real captures, next to the
// repository.
const capturesDir = "../../shared/testdata/captures"

// goldenCaptures are the captures the golden files are made from: failed
// calls with retransmissions and registrations, a codec mismatch, a wrong
// password, and SIP over TCP.
var goldenCaptures = []string{
	"sngrep__aaa.pcap",
	"goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng",
	"goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng",
	"heplify__sip_ipv4_tcp.pcap",
}

// loadReport reads a shared capture the way `sipcause analyze` does and
// returns the report, or skips the test when the shared folder is absent.
// File names are kept to their base so that golden files do not depend on
// where the test runs.
func loadReport(t testing.TB, name string, lang catalog.Lang) *analyze.Report {
	t.Helper()
	r, _ := loadReportRaw(t, name, lang)
	return r
}

// loadReportRaw is loadReport that also keeps each SIP message as
// captured, for the HTML page.
func loadReportRaw(t testing.TB, name string, lang catalog.Lang) (*analyze.Report, func(string, int) (string, bool)) {
	t.Helper()
	raw := map[int]string{}
	path := filepath.Join(capturesDir, name)
	if strings.HasPrefix(name, "../") { // the repository's own examples
		path = name
	}
	if _, err := os.Stat(path); err != nil {
		sharedtest.Missing(t, path, err)
	}
	rd, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	a := analyze.New(analyze.Options{Lang: lang})
	var msg sipmsg.Message
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw[p.Frame] = string(p.Payload)
		if sipmsg.Parse(p.Payload, &msg) != nil {
			continue
		}
		a.Add(analyze.FromSIP(analyze.Meta{File: name, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport}, &msg))
	}
	a.AddInput(analyze.Input{File: name, Format: rd.Format()})
	ci := rd.Integrity()
	a.AddIntegrity(analyze.Integrity{Frames: ci.Frames, SIPMessages: ci.SIPMessages, Truncated: ci.Truncated,
		FragmentsIncomplete: ci.FragmentsIncomplete, TCPGaps: ci.TCPGaps, EncryptedSIP: ci.EncryptedSIP,
		Malformed: ci.Malformed, NonSIP: ci.NonSIP})
	return a.Finish(), func(_ string, frame int) (string, bool) {
		s, ok := raw[frame]
		return s, ok
	}
}

// checkGolden compares got with testdata/golden/name, or rewrites the file
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it)\n--- got (first 2000 bytes) ---\n%s", path, head(got, 2000))
	}
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// goldenName turns a capture name into a short file stem.
func goldenName(capture string) string {
	return capture[:len(capture)-len(filepath.Ext(capture))]
}
