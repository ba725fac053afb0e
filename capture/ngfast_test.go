package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sipcause/sipcause/internal/sharedtest"
)

// readNgRecords reads every packet of a pcapng file with pcapgo, or with
// fastNg when fast is set (over a read buffer of size bytes), and
// describes each (bytes, time, lengths, interface, link type, error) in
// one string; with fast, also how many it read itself.
func readNgRecords(t testing.TB, data []byte, fast bool, size int) (string, int) {
	cnt := &countReader{r: bytes.NewReader(data)}
	br := bufio.NewReaderSize(cnt, size)
	head, _ := br.Peek(12)
	hdr := bytes.Clone(head)
	nr, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	if err != nil {
		return "header: " + err.Error(), 0
	}
	var src frameSource = ngSource{nr}
	var fs *fastNg
	if fast {
		fs = newFastNg(br, nr, hdr, func() int64 { return cnt.n - int64(br.Buffered()) })
		src = fs
	}
	var out bytes.Buffer
	taken := 0
	for i := 0; i < 1<<16; i++ {
		var ci gopacket.CaptureInfo
		d, lt, err := src.readFrame(&ci)
		if err != nil {
			d = nil // the reader drops a frame that came with an error
		}
		var anc any
		if len(ci.AncillaryData) > 0 {
			anc = ci.AncillaryData[0]
		}
		fmt.Fprintf(&out, "%x %s %d %d %d %d %v %v\n", d, ci.Timestamp.Format("2006-01-02T15:04:05.999999999Z07:00"), ci.CaptureLength, ci.Length, ci.InterfaceIndex, lt, anc, err)
		if err != nil {
			break
		}
	}
	if fs != nil {
		taken = fs.taken
	}
	return out.String(), taken
}

// ngOrder writes pcapng blocks in one byte order.
type ngOrder struct{ order binary.AppendByteOrder }

func (o ngOrder) u16(v uint16) []byte { return o.order.AppendUint16(nil, v) }
func (o ngOrder) u32(v uint32) []byte { return o.order.AppendUint32(nil, v) }

// block is a whole block: type, length, body padded to 32 bits, length.
func (o ngOrder) block(typ uint32, body ...[]byte) []byte {
	var b []byte
	for _, p := range body {
		b = append(b, p...)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	n := uint32(12 + len(b))
	out := append(o.u32(typ), o.u32(n)...)
	out = append(out, b...)
	return append(out, o.u32(n)...)
}

// option is one option: code, length, value padded to 32 bits.
func (o ngOrder) option(code uint16, v []byte) []byte {
	b := append(o.u16(code), o.u16(uint16(len(v)))...)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (o ngOrder) shb() []byte {
	return o.block(ngSHB, o.u32(0x1A2B3C4D), o.u16(1), o.u16(0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
}

func (o ngOrder) idb(link uint16, opts ...[]byte) []byte {
	body := [][]byte{o.u16(link), o.u16(0), o.u32(0)}
	if len(opts) > 0 {
		body = append(body, opts...)
		body = append(body, o.option(0, nil))
	}
	return o.block(ngIDB, body...)
}

func (o ngOrder) epb(iface uint32, ts uint64, data []byte, opts ...[]byte) []byte {
	body := [][]byte{o.u32(iface), o.u32(uint32(ts >> 32)), o.u32(uint32(ts)), o.u32(uint32(len(data))), o.u32(uint32(len(data) + 3)), data}
	pad := make([]byte, (4-len(data)%4)%4)
	body = append(body, pad)
	if len(opts) > 0 {
		body = append(body, opts...)
		body = append(body, o.option(0, nil))
	}
	return o.block(ngEPB, body...)
}

// ngSeeds are the shared pcapng captures and made ones with what dumpcap
// rarely writes: interfaces of other link types and time resolutions, a
// time offset, packet options, simple and obsolete packet blocks,
// statistics and unknown blocks, a second section in the other byte
// order, a section of a version pcapgo skips; each also cut short and
// damaged.
// The first ones returned are the shared captures, as dumpcap wrote them.
func ngSeeds(t testing.TB) (seeds [][]byte, shared int) {
	dir := filepath.Join("..", "..", "shared", "testdata", "captures")
	if _, err := os.Stat(dir); err != nil {
		sharedtest.Missing(t, dir, err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	shared = len(seeds)
	le, be := ngOrder{binary.LittleEndian}, ngOrder{binary.BigEndian}
	pkt := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		return b
	}
	var f []byte
	f = append(f, le.shb()...)
	f = append(f, le.idb(1)...)
	f = append(f, le.idb(101, le.option(9, []byte{9}), le.option(14, le.order.AppendUint64(nil, 100)))...) // nanoseconds, 100 s later
	f = append(f, le.idb(1, le.option(9, []byte{0x80 | 20}))...)                                           // 2^-20 s
	f = append(f, le.epb(0, 1764300000123456, pkt(60))...)
	f = append(f, le.epb(1, 1764300000123456789, pkt(61))...)
	f = append(f, le.epb(2, 1764300000<<20|12345, pkt(62))...)
	f = append(f, le.block(5, le.u32(0), le.u32(0), le.u32(0))...) // interface statistics
	f = append(f, le.block(0x0BAD, pkt(9))...)                     // a block type no one knows
	f = append(f, le.epb(0, 1764300001000000, pkt(63), le.option(1, []byte("a comment")), le.option(2, le.u32(1)))...)
	f = append(f, le.block(ngSPB, le.u32(64), pkt(64))...)
	f = append(f, le.block(ngPB, le.u16(0), le.u16(0), le.u32(0), le.u32(5), le.u32(65), le.u32(65), pkt(65))...)
	f = append(f, le.epb(1, 1764300002000000000, pkt(0))...)
	f = append(f, be.shb()...)
	f = append(f, be.idb(1)...)
	f = append(f, be.epb(0, 1764300003000000, pkt(66))...)
	f = append(f, be.epb(0, 1764300003500000, pkt(67))...)
	old := be.block(ngSHB, be.u32(0x1A2B3C4D), be.u16(2), be.u16(0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f = append(f, old...)
	f = append(f, be.idb(1)...)
	f = append(f, be.epb(0, 1764300004000000, pkt(68))...)
	f = append(f, le.shb()...)
	f = append(f, le.idb(113)...)
	f = append(f, le.epb(0, 1764300005000000, pkt(69))...)
	seeds = append(seeds, f)
	for _, data := range seeds[len(seeds)-1:] {
		for _, cut := range []int{len(data) - 3, len(data) - 40, 200, 123} {
			seeds = append(seeds, data[:cut])
		}
	}
	if len(names) > 0 {
		data := seeds[0]
		first := findEPB(data, 5)
		for _, damage := range []func(b []byte){
			func(b []byte) { binary.LittleEndian.PutUint32(b[first+4:], 8) },          // a block shorter than its header
			func(b []byte) { binary.LittleEndian.PutUint32(b[first+4:], 1<<30) },      // a block longer than the file
			func(b []byte) { binary.LittleEndian.PutUint32(b[first+8:], 7) },          // an interface never described
			func(b []byte) { binary.LittleEndian.PutUint32(b[first+20:], 100000) },    // data longer than the block
			func(b []byte) { binary.LittleEndian.PutUint32(b[first+4:], 32+12) },      // data cut by the block's end
			func(b []byte) { binary.LittleEndian.PutUint32(b[first+4+4096:], 0xfff) }, // somewhere later
		} {
			bad := bytes.Clone(data)
			if first+4096+8 < len(bad) {
				damage(bad)
				seeds = append(seeds, bad)
			}
		}
	}
	return seeds, shared
}

// findEPB returns the offset of the k-th Enhanced Packet Block of a
// little-endian pcapng file (counted from 1).
func findEPB(data []byte, k int) int {
	for off := 0; off+12 <= len(data); {
		if binary.LittleEndian.Uint32(data[off:]) == ngEPB {
			if k--; k == 0 {
				return off
			}
		}
		n := int(binary.LittleEndian.Uint32(data[off+4:]))
		if n < 12 {
			break
		}
		off += n
	}
	return 0
}

// TestFastNgMatchesPcapgo: the packet reader returns exactly what pcapgo
// returns, for whole, cut and damaged files, over read buffers of two
// sizes; and on the files dumpcap wrote, it reads nearly every packet
// itself.
func TestFastNgMatchesPcapgo(t *testing.T) {
	seeds, shared := ngSeeds(t)
	for i, data := range seeds {
		for _, size := range []int{4096, 64 << 10} {
			want, _ := readNgRecords(t, data, false, size)
			got, taken := readNgRecords(t, data, true, size)
			if want != got {
				t.Errorf("seed %d, buffer %d: fastNg differs from pcapgo: %s", i, size, firstDiff(got, want))
			}
			// Every packet but the first (read with the interface
			// descriptions before it) and the end of the file.
			if packets := strings.Count(got, "\n") - 1; i < shared && taken != packets-1 {
				t.Errorf("seed %d, buffer %d: fastNg read %d of %d packets itself, want all but the first", i, size, taken, packets)
			}
			if i == shared && taken != 4 {
				t.Errorf("made capture, buffer %d: fastNg read %d packets itself, want 4 (of the first section, and of the second after its header)", size, taken)
			}
		}
	}
}

// FuzzFastNg compares the packet reader with pcapgo on any pcapng file.
func FuzzFastNg(f *testing.F) {
	seeds, _ := ngSeeds(f)
	for _, data := range seeds {
		if len(data) < 8192 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 12 || binary.LittleEndian.Uint32(data) != ngSHB {
			return
		}
		for _, size := range []int{4096, 64 << 10} {
			want, _ := readNgRecords(t, data, false, size)
			if got, _ := readNgRecords(t, data, true, size); want != got {
				t.Errorf("buffer %d: fastNg differs from pcapgo: %s", size, firstDiff(got, want))
			}
		}
	})
}

// firstDiff shows the first line where two readings differ, the packet
// bytes cut short.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("packet %d:\n got %s\nwant %s", i+1, tail(g[i]), tail(w[i]))
		}
	}
	return fmt.Sprintf("%d packets, want %d", len(g)-1, len(w)-1)
}

func tail(s string) string {
	if i := strings.IndexByte(s, ' '); i > 40 {
		return s[:20] + "…" + s[i:]
	}
	return s
}

// failAfter reads data, then fails once with err, then reads nothing more:
// a reader whose error is not given again.
type failAfter struct {
	data []byte
	err  error
	done bool
}

func (f *failAfter) Read(p []byte) (int, error) {
	if len(f.data) > 0 {
		n := copy(p, f.data)
		f.data = f.data[n:]
		return n, nil
	}
	if !f.done {
		f.done = true
		return 0, f.err
	}
	return 0, io.EOF
}

// TestFastNgKeepsReadErrors: a read error that a look ahead of fastNg meets
// is still the error the capture ends with, even from a reader that gives
// it only once.
func TestFastNgKeepsReadErrors(t *testing.T) {
	seeds, shared := ngSeeds(t)
	if shared == 0 {
		t.Skip("no shared pcapng capture")
	}
	data := seeds[0][:len(seeds[0])*2/3]
	broken := errors.New("the disk went away")
	rd, err := Open("cut.pcapng", &failAfter{data: data, err: broken})
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for {
		_, err := rd.Next()
		if err == io.EOF {
			t.Fatalf("the capture ended without an error after %d messages", frames)
		}
		if err != nil {
			if !errors.Is(err, broken) {
				t.Fatalf("after %d messages: %v, want the read error", frames, err)
			}
			break
		}
		frames++
	}
	if frames == 0 {
		t.Fatal("no message read before the error")
	}
}
