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
}

// newFastPcap returns the record reader for a pcap file whose 24-byte
// header hdr (already consumed from br) declares snaplen and link.
func newFastPcap(br *bufio.Reader, hdr []byte, snaplen uint32, link layers.LinkType) *fastPcap {
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
	if br.Size() < pcapBuffer {
		br = bufio.NewReaderSize(br, pcapBuffer)
	}
	s.br = br
	return s
}

// fullErr is io.ReadFull's error for n bytes read before err.
func fullErr(n int, err error) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// u32 reads a field of a record header in the file's byte order.
func (s *fastPcap) u32(b []byte) uint32 {
	if s.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// readFrame peeks at the record header and then at the header and data
// together, and discards both at once: one Peek and one Discard fewer per
// record than reading them one after the other.
func (s *fastPcap) readFrame(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
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
