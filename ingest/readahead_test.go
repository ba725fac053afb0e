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
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/internal/synth"
	"github.com/sipcause/sipcause/sipmsg"
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
			m, ok := mapFile(f, int64(size), nil, nil)
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

// mappedRTPCapture writes a synthetic capture with RTP of about windows
// mapping windows, for the tests of reading through mappings (skipped
// where files are not mapped).
func mappedRTPCapture(t *testing.T, windows int, seed uint64) string {
	t.Helper()
	if !canMap {
		t.Skip("files are not mapped on this system")
	}
	path := filepath.Join(t.TempDir(), "rtp.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := synth.Write(f, synth.Options{Bytes: int64(windows) * mapWindow, Seed: seed, RTP: true}); err != nil {
		t.Fatal(err)
	}
	return path
}

// A capture cut short by another process while it is read through its
// memory mapping ends the reading with a *DamagedError: the fault on the
// pages past its new end does not end the process.
func TestMappedCaptureCutShort(t *testing.T) {
	path := mappedRTPCapture(t, 3, 1)
	media := 0
	_, err := MessagesAndMedia(Files(path), Options{Media: true}, func(*analyze.Message) {}, func(*analyze.MediaPacket) {
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

// With pins, RTP payloads are handed on in place in the windows of the
// mapped file, nearly all of them, and the analysis of a capture of several
// windows is the same as with every payload copied (Each, no mapping),
// while the analysis is held back so that windows are left before their
// batches are done.
func TestPinnedPayloadsAnalyseTheSame(t *testing.T) {
	path := mappedRTPCapture(t, 5, 3)
	pinned, copied := 0, 0
	pn := &pins{filling: 1}
	if _, err := eachMapped(Files(path), Options{Media: true}, readMode{pins: pn}, func(p *capture.Packet, m *sipmsg.Message, in bool) {
		if m == nil && in {
			pinned++
		} else if m == nil {
			copied++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if pinned < 20*copied || pinned == 0 {
		t.Errorf("%d media payloads pinned, %d copied: pinning does not apply", pinned, copied)
	}

	want := analyze.New(analyze.Options{})
	want.EnableMedia()
	if _, err := Each(Files(path), Options{Media: true}, func(p capture.Packet, m *sipmsg.Message) {
		if m == nil {
			want.AddMedia(&analyze.MediaPacket{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Data: bytes.Clone(p.Payload), ICMP: p.Encap == "icmp"})
			return
		}
		want.Add(analyze.FromSIP(analyze.Meta{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport}, m))
	}); err != nil {
		t.Fatal(err)
	}
	got := analyze.New(analyze.Options{})
	got.EnableMedia()
	n := 0
	if _, err := MessagesAndMedia(Files(path), Options{Media: true}, got.AddRef, func(p *analyze.MediaPacket) {
		// Slow down now and then: the reading goroutine leaves windows
		// whose batches are not done yet.
		if n++; n%5000 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		got.AddMedia(p)
	}); err != nil {
		t.Fatal(err)
	}
	w, g := want.Finish(), got.Finish()
	if len(g.Media) == 0 || len(g.Media) != len(w.Media) {
		t.Fatalf("%d streams, want %d", len(g.Media), len(w.Media))
	}
	for i := range w.Media {
		ws, gs := w.Media[i], g.Media[i]
		if gs.Packets != ws.Packets || gs.Lost != ws.Lost || gs.MaxJitterMS != ws.MaxJitterMS || gs.MaxDeltaMS != ws.MaxDeltaMS || gs.MOS != ws.MOS {
			t.Errorf("stream %d: %+v, want %+v", i+1, gs, ws)
		}
	}
}

// A window left while a batch that may hold payloads in it is not done
// stays mapped and readable; it is unmapped once that batch is done.
func TestPinnedWindowStaysMapped(t *testing.T) {
	if !canMap {
		t.Skip("files are not mapped on this system")
	}
	path := filepath.Join(t.TempDir(), "data")
	data := bytes.Repeat([]byte("0123456789abcdef"), 4*mapWindow/16)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pn := &pins{filling: 1}
	m, ok := mapFile(f, int64(len(data)), nil, pn)
	if !ok {
		t.Skip("no memory mapping here")
	}
	defer m.Close()
	first, err := m.NextChunk()
	if err != nil {
		t.Fatal(err)
	}
	if !m.holds(first[100:200]) || m.holds(make([]byte, 10)) {
		t.Fatal("holds does not tell the window's bytes from others")
	}
	held := first[len(first)-32:] // in batch 1, being filled
	pn.taken++
	if _, err := m.NextChunk(); err != nil { // the first window is left
		t.Fatal(err)
	}
	pn.filling = 2                           // batch 1 goes
	pn.taken++                               // batch 2 takes a payload of the second window
	if _, err := m.NextChunk(); err != nil { // the second one is left
		t.Fatal(err)
	}
	if len(m.retired) != 2 || string(held) != string(data[len(first)-32:len(first)]) {
		t.Fatalf("%d windows retired; the held payload reads %q", len(m.retired), held)
	}
	pn.done.Store(1)
	pn.taken++ // and one of the third
	if _, err := m.NextChunk(); err != nil {
		t.Fatal(err)
	}
	// The first window (ticket 1) is unmapped now, the later ones
	// (ticket 2) are not.
	if len(m.retired) != 2 || m.retired[0].ticket != 2 {
		t.Errorf("after batch 1: %d windows retired, the first with ticket %d", len(m.retired), m.retired[0].ticket)
	}
	// A window no payload was taken from is let go at once.
	if _, err := m.NextChunk(); err != io.EOF && err != nil {
		t.Fatal(err)
	}
	if len(m.retired) != 2 {
		t.Errorf("a window nothing was taken from was retired: %d retired", len(m.retired))
	}
}
