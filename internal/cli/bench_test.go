package cli

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipcause/sipcause/internal/synth"
)

// synthCapture writes a synthetic capture of about mb MiB once per test binary.
func synthCapture(b *testing.B, mb int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "synthetic.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if _, err := synth.Write(bw, synth.Options{Bytes: int64(mb) << 20, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

func BenchmarkAnalyzeJSON(b *testing.B) {
	path := synthCapture(b, 10)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if err := Analyze(AnalyzeOptions{Files: []string{path}, Lang: "en", Format: "json"}, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessagesJSON(b *testing.B) {
	path := synthCapture(b, 10)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if err := Messages(MessagesOptions{Files: []string{path}, JSON: true}, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
