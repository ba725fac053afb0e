package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// chunked is a ChunkReader over data in chunks of the given sizes (the
// last repeated), each a copy that is overwritten when the next is taken,
// so that a frame kept past its time reads garbage.
type chunked struct {
	data  []byte
	sizes []int
	buf   []byte
}

func (c *chunked) Read(p []byte) (int, error) {
	b, err := c.take(len(p))
	return copy(p, b), err
}

func (c *chunked) NextChunk() ([]byte, error) {
	n := c.sizes[0]
	if len(c.sizes) > 1 {
		c.sizes = c.sizes[1:]
	}
	return c.take(n)
}

func (c *chunked) take(n int) ([]byte, error) {
	if len(c.data) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(c.data))
	clear(c.buf)
	c.buf = append(c.buf[:0], c.data[:n]...)
	c.data = c.data[n:]
	return c.buf, nil
}

// readRecords reads every record of a pcap file with pcapgo, or with
// fastPcap when fast is set (out of chunks of the given sizes when there
// are any), and describes each (bytes, times, lengths, error) in one
// string.
func readRecords(t testing.TB, data []byte, fast bool, chunks ...int) string {
	var under io.Reader = bytes.NewReader(data)
	if len(chunks) > 0 {
		under = &chunked{data: data, sizes: chunks}
	}
	br := bufio.NewReaderSize(under, 64<<10)
	head, _ := br.Peek(24)
	hdr := bytes.Clone(head)
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return "header: " + err.Error()
	}
	var src frameSource = pcapSource{pr}
	if fast {
		if len(hdr) < 24 {
			t.Fatalf("pcapgo read a header of %d bytes", len(hdr))
		}
		src = newFastPcap(br, under, hdr, pr.Snaplen(), pr.LinkType())
	}
	var out bytes.Buffer
	for i := 0; i < 1<<16; i++ {
		var ci gopacket.CaptureInfo
		d, lt, err := src.readFrame(&ci)
		if err != nil {
			d = nil // the reader drops a frame that came with an error
		}
		fmt.Fprintf(&out, "%x %s %d %d %d %v\n", d, ci.Timestamp.Format("2006-01-02T15:04:05.999999999Z07:00"), ci.CaptureLength, ci.Length, lt, err)
		if err != nil {
			break
		}
	}
	return out.String()
}

// pcapSeeds are real captures in every pcap byte order and resolution,
// cut short and with a record length made too large.
func pcapSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"heplify__rtp_rtcp_sip_ipv4_udp.pcap", "sngrep__ipip.pcap", "PcapPlusPlus__sip_non_default_port.pcap"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "testdata", "captures", name))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data, data[:len(data)-3], data[:24+10], data[:24+16+5])
		bad := bytes.Clone(data)
		binary.LittleEndian.PutUint32(bad[24+8:], 300000) // caplen beyond the snap length
		seeds = append(seeds, bad)
		bad = bytes.Clone(data)
		binary.LittleEndian.PutUint32(bad[24+12:], 1) // caplen beyond the original length
		seeds = append(seeds, bad)
	}
	for _, data := range synthCaptures(t) {
		if isPcapMagic(data) {
			seeds = append(seeds, data)
		}
	}
	return seeds
}

// TestFastPcapMatchesPcapgo: the record reader returns exactly what
// pcapgo returns, for whole, cut and damaged files, read from a buffer or
// out of chunks of any size (records straddling them, headers split).
func TestFastPcapMatchesPcapgo(t *testing.T) {
	for i, data := range pcapSeeds(t) {
		want := readRecords(t, data, false)
		if got := readRecords(t, data, true); want != got {
			t.Errorf("seed %d: fastPcap differs from pcapgo:\n got %.400s\nwant %.400s", i, got, want)
		}
		for _, sizes := range [][]int{{1}, {7}, {100, 16, 1, 3}, {4096}, {70000, 1000}, {1 << 20}} {
			if got := readRecords(t, data, true, sizes...); want != got {
				t.Errorf("seed %d, chunks of %v: fastPcap differs from pcapgo:\n got %.400s\nwant %.400s", i, sizes, got, want)
			}
		}
	}
}

// FuzzFastPcap compares the record reader with pcapgo on any file that
// pcapgo takes.
func FuzzFastPcap(f *testing.F) {
	for _, data := range pcapSeeds(f) {
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !isPcapMagic(data) || len(data) < 24 {
			return
		}
		want := readRecords(t, data, false)
		if got := readRecords(t, data, true); want != got {
			t.Errorf("fastPcap differs from pcapgo:\n got %.400s\nwant %.400s", got, want)
		}
		if got := readRecords(t, data, true, 1+len(data)%97, 3); want != got {
			t.Errorf("fastPcap out of chunks differs from pcapgo:\n got %.400s\nwant %.400s", got, want)
		}
	})
}
