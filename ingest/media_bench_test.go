package ingest

import (
	"os"
	"testing"

	"github.com/sipcause/sipcause/analyze"
)

// BenchmarkMediaCapture analyses a capture that is mostly RTP with media
// on; BENCH_CAPTURE names it (bench/media.sh makes one), else it is skipped.
func BenchmarkMediaCapture(b *testing.B) {
	path := os.Getenv("BENCH_CAPTURE")
	if path == "" {
		b.Skip("BENCH_CAPTURE not set")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(Files(path), Options{Media: true}, analyze.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoMediaCapture is BenchmarkMediaCapture with the media analysis
// off, to show what it costs.
func BenchmarkNoMediaCapture(b *testing.B) {
	path := os.Getenv("BENCH_CAPTURE")
	if path == "" {
		b.Skip("BENCH_CAPTURE not set")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(Files(path), Options{}, analyze.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
