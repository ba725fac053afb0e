package ingest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/internal/synth"
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

// A file read through mappedFile, by Read or by chunks, is the file, then
// io.EOF, whatever its size against the window.
func TestMappedFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, size := range []int{0, 1, mapWindow - 1, mapWindow, 2*mapWindow + 12345} {
		path := filepath.Join(t.TempDir(), "data")
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, chunks := range []bool{false, true} {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			m, ok := mapFile(f, int64(size), nil)
			if !ok {
				t.Skip("no memory mapping here")
			}
			var got bytes.Buffer
			for {
				var b []byte
				if chunks {
					b, err = m.NextChunk()
				} else {
					p := make([]byte, 1+rng.IntN(3*mapWindow/2))
					n, e := m.Read(p)
					b, err = p[:n], e
				}
				got.Write(b)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%d bytes, chunks %v: read %d bytes that differ", size, chunks, got.Len())
			}
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		}
	}
}

// A capture cut short by another process while it is read through its
// memory mapping ends the reading with a *DamagedError: the fault on the
// pages past its new end does not end the process.
func TestMappedCaptureCutShort(t *testing.T) {
	if !canMap {
		t.Skip("files are not mapped on this system")
	}
	path := filepath.Join(t.TempDir(), "rtp.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Options{Bytes: 3 * mapWindow, Seed: 1, RTP: true}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	media := 0
	_, err = MessagesAndMedia(Files(path), Options{Media: true}, func(analyze.Message) {}, func(*analyze.MediaPacket) {
		media++
		if media == 500 {
			if err := os.Truncate(path, 64<<10); err != nil {
				t.Error(err)
			}
		}
	})
	var de *DamagedError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("after %d RTP packets: error %v, want a *DamagedError saying the input was cut short", media, err)
	}
}
