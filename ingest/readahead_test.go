package ingest

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A file read through readAhead in reads of any size is the file, then
// io.EOF; closed halfway, the goroutine stops and the file is closed.
func TestReadAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	want := make([]byte, 3*readAheadChunk+12345)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 7, 4096, readAheadChunk - 1, readAheadChunk, 2*readAheadChunk + 3} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ra := newReadAhead(f, nil)
		var got bytes.Buffer
		p := make([]byte, size)
		for {
			n, err := ra.Read(p[:1+rng.IntN(size)])
			got.Write(p[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("reads of up to %d bytes: %d bytes differ from the file's %d", size, got.Len(), len(want))
		}
		if n, err := ra.Read(p); n != 0 || err != io.EOF {
			t.Errorf("after the end: %d, %v", n, err)
		}
		if err := ra.Close(); err != nil {
			t.Error(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ra := newReadAhead(f, nil)
	if _, err := io.ReadFull(ra, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if err := ra.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ra.exited:
	default:
		t.Error("the goroutine still runs after Close")
	}
	if _, err := f.Read(make([]byte, 1)); err == nil {
		t.Error("the file is still open after Close")
	}
}
