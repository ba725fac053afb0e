package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"

	"github.com/sipcause/sipcause/sipmsg"
)

// stepHEPStream reads one packet of a raw HEP stream file: HEP3 packets
// framed by their length field, or HEP1/2 headers each followed by one SIP
// message framed by its Content-Length.
func (r *Reader) stepHEPStream() error {
	head, err := r.hep.Peek(6)
	if len(head) == 0 && errors.Is(err, io.EOF) {
		return io.EOF
	}
	if len(head) < 6 {
		return io.ErrUnexpectedEOF
	}
	n := 0
	switch {
	case isHEP3(head):
		n = int(binary.BigEndian.Uint16(head[4:]))
		if n < 6 {
			return errors.New("capture: HEP3: bad packet length")
		}
	case head[0] == 1 || head[0] == 2:
		n, err = hep2Len(r.hep)
		if err != nil {
			return err
		}
	default:
		return errors.New("capture: not a HEP packet")
	}
	p, err := r.hep.Peek(n)
	if len(p) < n {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	r.frame++
	r.integ.Frames++
	r.cur = frameInfo{}
	if !r.hepPacket(p) {
		r.cur.malformed = true
	}
	r.endFrame()
	_, err = r.hep.Discard(n)
	return err
}

// hep2Len finds the length of the HEP1/2 packet at the front of br: its
// fixed header plus the SIP message after it.
func hep2Len(br *bufio.Reader) (int, error) {
	for size := 512; ; size *= 2 {
		b, err := br.Peek(size)
		if len(b) >= 8 {
			h, derr := DecodeHEP(b)
			if derr == nil {
				hdr := len(b) - len(h.Payload)
				m := h.Payload
				m2 := trimKeepAlive(m)
				if n, ok := sipmsg.FrameLen(m2); ok {
					return hdr + len(m) - len(m2) + n, nil
				}
				if len(m2) > 0 && !sipmsg.LooksLikeSIP(m2) && len(m2) > 256 {
					return 0, errors.New("capture: HEP2: no SIP message after header")
				}
			}
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, errors.New("capture: HEP2: message too large")
			}
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}
