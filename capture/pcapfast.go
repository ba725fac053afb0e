package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapBuffer is the read buffer of the pcap record reader: larger than the
// largest record taken (MaxRecord plus its header), so that every record
// can be handed on from the buffer without a copy, and large enough that a
// capture is read in few system calls.
const pcapBuffer = 1 << 20

// fastPcap reads the records of a classic pcap file (the libpcap format,
// draft-ietf-opsawg-pcap §4 and §5) straight out of its read buffer: a
// frame's bytes are a slice of the buffer, valid until the next readFrame,
// as pcapgo's ZeroCopyReadPacketData promises, without pcapgo's copy per
// record. Its checks and errors are pcapgo's, so that damaged files read
// the same; the file header is still read by pcapgo.
type fastPcap struct {
	br      *bufio.Reader
	big     bool   // big-endian fields; a bool, not a binary.ByteOrder, so that the reads inline
	factor  uint32 // nanoseconds per unit of the timestamp's fraction
	snaplen uint32
	maxLen  int // longest record taken (pcapgo's maxCaptureLength)
	link    layers.LinkType
	long    []byte // a record longer than the buffer (not taken today: maxLen fits)

	// With a ChunkReader underneath, the records are read out of its
	// chunks instead of br: cur is the unread part of the current chunk,
	// first is what br had buffered before that, and a record that
	// straddles two chunks is put together in joined.
	chunks ChunkReader
	first  []byte
	cur    []byte
	joined []byte
	err    error // of the chunk reader, after cur
}

// ChunkReader is an io.Reader that can also hand on what it has not yet
// read in chunks of its own: a pcap file is then read out of its chunks,
// without the copy into a buffer that Read makes (for a capture that is
// mostly RTP, the largest single cost of reading once the file itself is
// read on a goroutine of its own).
type ChunkReader interface {
	io.Reader
	// NextChunk returns the next bytes not yet read, at least one, valid
	// until the next call; then the error that ended them (io.EOF at the
	// end). Read is not called once NextChunk has been.
	NextChunk() ([]byte, error)
}

// newFastPcap returns the record reader for a pcap file whose 24-byte
// header hdr (already consumed from br, which reads under) declares
// snaplen and link.
func newFastPcap(br *bufio.Reader, under io.Reader, hdr []byte, snaplen uint32, link layers.LinkType) *fastPcap {
	s := &fastPcap{factor: 1000, snaplen: snaplen, link: link, maxLen: MaxRecord}
	switch string(hdr[:4]) {
	case "\xa1\xb2\xc3\xd4":
		s.big = true
	case "\x4d\x3c\xb2\xa1":
		s.factor = 1
	case "\xa1\xb2\x3c\x4d":
		s.big, s.factor = true, 1
	}
	if int(snaplen) > s.maxLen {
		s.maxLen = int(snaplen)
	}
	if cr, ok := under.(ChunkReader); ok {
		// What br holds was read from cr already: it comes first.
		s.chunks = cr
		s.first, _ = br.Peek(br.Buffered())
		return s
	}
	if br.Size() < pcapBuffer {
		br = bufio.NewReaderSize(br, pcapBuffer)
	}
	s.br = br
	return s
}

// take returns the next n bytes, from the current chunk or put together
// from the next ones; fewer at the end, with the error that ended them.
func (s *fastPcap) take(n int) ([]byte, error) {
	if len(s.cur) >= n {
		b := s.cur[:n]
		s.cur = s.cur[n:]
		return b, nil
	}
	s.joined = append(s.joined[:0], s.cur...)
	s.cur = nil
	for len(s.joined) < n {
		c, err := s.next()
		if len(c) == 0 {
			return s.joined, err
		}
		need := n - len(s.joined)
		if len(c) >= need {
			s.joined = append(s.joined, c[:need]...)
			s.cur = c[need:]
			break
		}
		s.joined = append(s.joined, c...)
	}
	return s.joined, nil
}

// next returns the next chunk: what br had buffered, then the chunk
// reader's; the previous one is no longer used.
func (s *fastPcap) next() ([]byte, error) {
	if len(s.first) > 0 {
		c := s.first
		s.first = nil
		return c, nil
	}
	if s.err != nil {
		return nil, s.err
	}
	c, err := s.chunks.NextChunk()
	if err == nil && len(c) == 0 {
		err = io.ErrNoProgress
	}
	if err != nil {
		s.err = err // after c
	}
	if len(c) == 0 {
		return nil, err
	}
	return c, nil
}

// chunkFrame is readFrame out of the chunks: the same checks, errors and
// times.
func (s *fastPcap) chunkFrame(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
	h, err := s.take(16)
	if len(h) < 16 {
		*ci = gopacket.CaptureInfo{}
		return nil, s.link, fullErr(len(h), err)
	}
	ci.Timestamp = time.Unix(int64(s.u32(h[0:4])), int64(s.u32(h[4:8])*s.factor)).UTC()
	ci.CaptureLength = int(s.u32(h[8:12]))
	ci.Length = int(s.u32(h[12:16]))
	if ci.CaptureLength > s.maxLen {
		return nil, s.link, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, s.snaplen)
	}
	if ci.CaptureLength > ci.Length {
		return nil, s.link, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	d, err := s.take(ci.CaptureLength)
	if len(d) < ci.CaptureLength {
		return d, s.link, fullErr(len(d), err)
	}
	return d, s.link, nil
}

// fullErr is io.ReadFull's error for n bytes read before err.
func fullErr(n int, err error) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// u32 reads a field of a record header in the file's byte order.
func (s *fastPcap) u32(b []byte) uint32 { return u32(s.big, b) }

// u32 reads a 32-bit field in the byte order a file declares (big-endian
// when big; a bool, not a binary.ByteOrder, so that the reads inline).
func u32(big bool, b []byte) uint32 {
	if big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// readFrame peeks at the record header and then at the header and data
// together, and discards both at once: one Peek and one Discard fewer per
// record than reading them one after the other.
func (s *fastPcap) readFrame(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
	if s.chunks != nil {
		return s.chunkFrame(ci)
	}
	h, err := s.br.Peek(16)
	if len(h) < 16 {
		*ci = gopacket.CaptureInfo{}
		s.br.Discard(len(h))
		return nil, s.link, fullErr(len(h), err)
	}
	// The fraction is multiplied in 32 bits, as pcapgo does, so that
	// out-of-range fractions give the same times as before.
	ci.Timestamp = time.Unix(int64(s.u32(h[0:4])), int64(s.u32(h[4:8])*s.factor)).UTC()
	ci.CaptureLength = int(s.u32(h[8:12]))
	ci.Length = int(s.u32(h[12:16]))
	if ci.CaptureLength > s.maxLen {
		s.br.Discard(16)
		return nil, s.link, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, s.snaplen)
	}
	if ci.CaptureLength > ci.Length {
		s.br.Discard(16)
		return nil, s.link, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	n := ci.CaptureLength
	if 16+n > s.br.Size() {
		s.br.Discard(16)
		if cap(s.long) < n {
			s.long = make([]byte, n)
		}
		d := s.long[:n]
		_, err := io.ReadFull(s.br, d)
		return d, s.link, err
	}
	d, err := s.br.Peek(16 + n)
	if len(d) < 16+n {
		s.br.Discard(len(d))
		return d[16:], s.link, fullErr(len(d)-16, err)
	}
	s.br.Discard(16 + n)
	return d[16:], s.link, nil
}
