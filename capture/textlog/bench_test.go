package textlog

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSipserverLog reads the 2.7 MB Avaya sipserver.log.
func BenchmarkSipserverLog(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(capturesDir, "drgyl-sip__sipserver.log"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader("sipserver.log", bytes.NewReader(data))
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1082 {
			b.Fatalf("%d messages", n)
		}
	}
}
