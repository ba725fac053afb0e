package capture

import (
	"bufio"
	"encoding/binary"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// fastNg reads the Enhanced Packet Blocks of a pcapng file (pcapng draft
// §4.3) straight out of the read buffer, as fastPcap does for pcap, and
// leaves every other block to pcapgo's reader, which reads from the same
// buffer: pcapgo copies each packet out of its buffer, reads its options
// one by one and checks the interface of each, about 1,500 instructions a
// frame, a tenth of all the work of analysing a SIPp load capture saved as
// pcapng (what Wireshark and dumpcap write).
//
// It takes a block itself only when it is sure to read it as pcapgo would:
// an Enhanced Packet Block without options (what dumpcap writes), wholly in
// the buffer, of an interface pcapgo has read, in the byte order of the
// section. Anything else, pcapgo reads; before it does, fastNg walks the
// blocks pcapgo will read up to the next packet, to follow a new section's
// byte order and interfaces, and afterwards it checks that pcapgo stopped
// where that walk said. Where it cannot tell (a block larger than the
// buffer, a damaged one, an error), pcapgo reads the rest of the file
// alone: damaged files read exactly as before.
type fastNg struct {
	br  *bufio.Reader
	pos func() int64 // bytes of the file consumed from br
	ng  *pcapgo.NgReader
	off bool // pcapgo reads everything from here on

	big    bool      // the current section's byte order
	ifaces []ngIface // the current section's interfaces, as pcapgo has them
	ancil  [1]any    // CaptureInfo.AncillaryData: the link type, as pcapgo gives it
	taken  int       // packets read here, not by pcapgo (for tests)
}

// ngIface is what a packet needs of its interface: its link type and
// pcapgo's conversion of its timestamps.
type ngIface struct {
	link                           layers.LinkType
	secondMask, scaleUp, scaleDown uint64
	offset                         uint64
	ancil                          any // link as an interface value, made once
}

// pcapng block types (pcapng draft §10.1).
const (
	ngSHB = 0x0A0D0D0A
	ngIDB = 0x00000001
	ngPB  = 0x00000002 // obsolete Packet Block
	ngSPB = 0x00000003
	ngEPB = 0x00000006
)

// newFastNg returns the frame source over ng, which read the section
// header from br; hdr is the file's first bytes (the section header), pos
// reports the bytes consumed from br. Unless pcapgo stopped at the end of
// that first header (it skips a section of a version it does not know),
// pcapgo reads the whole file.
func newFastNg(br *bufio.Reader, ng *pcapgo.NgReader, hdr []byte, pos func() int64) *fastNg {
	s := &fastNg{br: br, ng: ng, pos: pos, off: true}
	if len(hdr) < 12 {
		return s
	}
	switch {
	case binary.BigEndian.Uint32(hdr[8:12]) == 0x1A2B3C4D:
		s.big = true
	case binary.LittleEndian.Uint32(hdr[8:12]) != 0x1A2B3C4D:
		return s
	}
	s.off = pos() != int64(s.u32(hdr[4:8]))
	return s
}

// u32 reads a field in the section's byte order.
func (s *fastNg) u32(b []byte) uint32 { return u32(s.big, b) }

// readFrame implements frameSource.
func (s *fastNg) readFrame(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
	if !s.off {
		if d, lt, ok := s.fast(ci); ok {
			return d, lt, nil
		}
		return s.slow(ci)
	}
	return ngSource{s.ng}.readFrame(ci)
}

// fast reads the next block if it is an Enhanced Packet Block it can take
// (see fastNg); it consumes nothing otherwise.
func (s *fastNg) fast(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, bool) {
	h, _ := s.br.Peek(28)
	if len(h) < 28 || s.u32(h[0:4]) != ngEPB {
		return nil, 0, false
	}
	n, id, capLen := int(s.u32(h[4:8])), s.u32(h[8:12]), s.u32(h[20:24])
	// Without options the block is its 28-byte header, the data padded to
	// 32 bits and the 4-byte trailing length: pcapgo reads such a block
	// to its end and no further.
	if capLen > uint32(s.br.Size()) || n != 32+int(capLen+3)&^3 || n > s.br.Size() || int(id) >= len(s.ifaces) {
		return nil, 0, false
	}
	// Peek may move what it holds to fill up: h is read again from b.
	b, _ := s.br.Peek(n)
	if len(b) < n {
		return nil, 0, false
	}
	f := &s.ifaces[id]
	if f.secondMask == 0 {
		return nil, 0, false
	}
	ts := uint64(s.u32(b[12:16]))<<32 | uint64(s.u32(b[16:20]))
	ci.Timestamp = time.Unix(int64(ts/f.secondMask+f.offset), int64(ts%f.secondMask*f.scaleUp/f.scaleDown)).UTC()
	ci.CaptureLength = int(capLen)
	ci.Length = int(s.u32(b[24:28]))
	ci.InterfaceIndex = int(id)
	s.ancil[0] = f.ancil
	ci.AncillaryData = s.ancil[:]
	s.br.Discard(n)
	s.taken++
	return b[28 : 28+capLen], f.link, true
}

// slow has pcapgo read the next packet, with the blocks before it, and
// follows what they change; it turns the fast path off where it cannot.
func (s *fastNg) slow(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
	start := s.pos()
	end, big, newSection, ok := s.walk()
	d, lt, err := ngSource{s.ng}.readFrame(ci)
	if err != nil || !ok || s.pos() != start+end {
		s.off = true
		return d, lt, err
	}
	s.big = big
	if newSection {
		s.ifaces = s.ifaces[:0]
	}
	for i := len(s.ifaces); i < s.ng.NInterfaces(); i++ {
		f, err := s.ng.Interface(i)
		if err != nil {
			s.off = true
			break
		}
		s.ifaces = append(s.ifaces, ifaceOf(f))
	}
	return d, lt, err
}

// walk finds, in what br holds, the blocks pcapgo reads for the next
// packet, following pcapgo's reading of their types and lengths (pcapgo's
// readBlock): the bytes they take, the byte order after them, and whether
// a new section began. ok is false where it cannot tell.
func (s *fastNg) walk() (end int64, big, newSection, ok bool) {
	big = s.big
	buf, _ := s.br.Peek(s.br.Buffered())
	for off := 0; ; {
		if len(buf)-off < 12 {
			return 0, big, newSection, false
		}
		b := buf[off:]
		order := binary.ByteOrder(binary.LittleEndian)
		if big {
			order = binary.BigEndian
		}
		typ := order.Uint32(b[0:4])
		if typ == ngSHB {
			switch {
			case binary.BigEndian.Uint32(b[8:12]) == 0x1A2B3C4D:
				big, order = true, binary.BigEndian
			case binary.LittleEndian.Uint32(b[8:12]) == 0x1A2B3C4D:
				big, order = false, binary.LittleEndian
			default:
				return 0, big, newSection, false
			}
			newSection = true
		}
		n := int(order.Uint32(b[4:8]))
		if n < 12 || n > len(b) {
			return 0, big, newSection, false
		}
		off += n
		switch typ {
		case ngEPB, ngSPB, ngPB:
			return int64(off), big, newSection, true
		}
	}
}

// ifaceOf is pcapgo's conversion of an interface's timestamps
// (readInterfaceDescriptor), from the fields it exports: an interface it
// accepted has a resolution exponent of at most 63.
func ifaceOf(f pcapgo.NgInterface) ngIface {
	g := ngIface{link: f.LinkType, offset: f.TimestampOffset, ancil: f.LinkType}
	r := f.TimestampResolution
	if r.Binary() {
		g.secondMask = 1 << r.Exponent()
	} else {
		g.secondMask = 1
		for range r.Exponent() {
			g.secondMask *= 10
		}
	}
	g.scaleUp, g.scaleDown = 1, 1
	if g.secondMask < 1e9 {
		g.scaleUp = 1e9 / g.secondMask
	} else {
		g.scaleDown = g.secondMask / 1e9
	}
	return g
}

// countReader counts the bytes read through it, and gives the first error
// its reader returned on every read after it: an error that a Peek of
// fastNg met (and bufio handed to it, and forgot) is then met again by
// pcapgo's next read, as if fastNg had not looked.
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
