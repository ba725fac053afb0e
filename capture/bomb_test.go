package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// gzipBomb is the review's H4 file, smaller: a pcap header declaring a
// snap length of 4 GiB, one record claiming caplen bytes, and those bytes
// as zeros; all gzip-compressed (64 MiB of zeros are 64 KB of gzip).
func gzipBomb(t testing.TB, caplen uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	zw.Write(hdr)
	rec := make([]byte, 16)
	binary.LittleEndian.PutUint32(rec[8:], caplen)
	binary.LittleEndian.PutUint32(rec[12:], caplen)
	zw.Write(rec)
	zeros := make([]byte, 1<<20)
	for left := int(caplen); left > 0; left -= len(zeros) {
		zw.Write(zeros[:min(left, len(zeros))])
	}
	zw.Close()
	return buf.Bytes()
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestGzipBombRecord: a single 64 MiB record, inflated from a 64 KB gzip
// file, is refused at its header with a clear error, without buffering it.
// Before, the pcap reader buffered the whole record (a 1 GiB record took
// 4.2 GB of RSS and 51 s).
func TestGzipBombRecord(t *testing.T) {
	bomb := gzipBomb(t, 64<<20)
	t.Logf("bomb: %d bytes of gzip", len(bomb))
	var peak uint64
	before := heapInUse()
	start := time.Now()
	rd, err := Open("bomb.pcap.gz", bytes.NewReader(bomb))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rd.Next()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak = ms.HeapAlloc
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Frame != 1 || !strings.Contains(err.Error(), "snap length") {
		t.Errorf("err = %v; want frame 1 refused for its length", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if grown := int64(peak) - int64(before); grown > 8<<20 {
		t.Errorf("heap grew %d MB reading one record header", grown>>20)
	}
}

// TestInflateLimit: with OpenOptions.MaxInflated, a gzip input that
// inflates past the limit stops with an *InflateLimitError; the same input
// within the limit reads to the end.
func TestInflateLimit(t *testing.T) {
	var plain bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	plain.Write(hdr)
	for range 100000 { // 100 000 empty records: 1.6 MB
		plain.Write(make([]byte, 16))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	read := func(limit int64) error {
		rd, err := OpenWith("empty.pcap.gz", bytes.NewReader(gz.Bytes()), OpenOptions{MaxInflated: limit})
		if err != nil {
			return err
		}
		defer rd.Close()
		for {
			if _, err := rd.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	var le *InflateLimitError
	if err := read(1 << 20); !errors.As(err, &le) || le.Limit != 1<<20 {
		t.Errorf("limit 1 MiB: err = %v; want an InflateLimitError", err)
	}
	if err := read(int64(plain.Len())); err != nil {
		t.Errorf("limit = the inflated size: %v", err)
	}
	if err := read(0); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

// TestHEPZlibBomb is the review's L2: a HEP3 packet whose compressed
// payload inflates to 1 MiB is refused after inflating at most
// sipmsg.MaxMessageSize+1 bytes; one within that size is decoded.
func TestHEPZlibBomb(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{{200 << 10, true}, {1 << 20, false}} {
		pkt := hep3(alice, bob, 17, synthStart, append(sipRequest("MESSAGE", "z", ""), bytes.Repeat([]byte("z"), tc.size)...), true)
		p, err := DecodeHEP(pkt)
		if (err == nil) != tc.ok {
			t.Errorf("payload inflating to %d bytes: %v", tc.size, err)
		}
		if err == nil && len(p.Payload) < tc.size {
			t.Errorf("payload %d bytes, want %d", len(p.Payload), tc.size)
		}
	}
	if maxHEPInflate > 256<<10 {
		t.Errorf("maxHEPInflate = %d", maxHEPInflate)
	}
}
