package textlog

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReader feeds arbitrary logs to the Reader: it must not panic, must
// end, and must keep every message within MaxMessageSize.
func FuzzReader(f *testing.F) {
	for _, s := range samples {
		data, err := os.ReadFile(filepath.Join("testdata", s.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// A slice of each shared Avaya log, where present.
	for _, name := range []string{
		"drgyl-sip__IPO_Monitor_Detail_Out.txt",
		"drgyl-sip__ade_J169fw40103_syslog.txt",
		"drgyl-sip__ade_b179_syslog.txt",
		"drgyl-sip__b199-iso-SyslogCatchAll.txt",
		"drgyl-sip__sipserver.log",
	} {
		if data, err := os.ReadFile(filepath.Join(capturesDir, name)); err == nil {
			f.Add(data[:min(len(data), 16<<10)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader("fuzz", bytes.NewReader(data))
		for i := 0; ; i++ {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(m.Payload) > MaxMessageSize+2 {
				t.Fatalf("payload of %d bytes", len(m.Payload))
			}
			if !isStartLine(bytes.SplitN(m.Payload, []byte("\r\n"), 2)[0]) {
				t.Fatalf("payload without start line: %q", m.Payload)
			}
			if i > len(data) {
				t.Fatal("more messages than bytes")
			}
		}
	})
}
