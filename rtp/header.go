package rtp

import (
	"encoding/binary"
	"strconv"
)

// ParseError reports bytes that are not an RTP or RTCP packet.
type ParseError struct {
	Offset int
	Msg    string
}

// Error implements error with the package prefix.
func (e *ParseError) Error() string {
	return "rtp: offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Header is the fixed RTP header (RFC 3550 §5.1) with where its payload
// starts and how long it is once the padding is removed.
type Header struct {
	Marker        bool
	PayloadType   uint8
	Seq           uint16
	Timestamp     uint32
	SSRC          uint32
	CSRCCount     int
	PayloadOffset int // first payload byte: after CSRCs and header extension
	PayloadLen    int // payload bytes without padding (RFC 3550 §5.1 P bit)
}

// Parse decodes the RTP header of b (RFC 3550 §5.1, extension §5.3.1)
// into h, which is only meaningful when the error is nil. It never panics
// and does not allocate; an error is a *ParseError. h is the caller's, like
// sipmsg.Parse's message: a header returned by value was copied between
// the registers and the stack for every packet.
func Parse(b []byte, h *Header) error {
	*h = Header{}
	if len(b) < 12 {
		return &ParseError{0, "shorter than the 12-byte RTP header"}
	}
	if b[0]>>6 != 2 {
		return &ParseError{0, "RTP version is not 2"}
	}
	h.CSRCCount = int(b[0] & 0x0f)
	h.Marker = b[1]&0x80 != 0
	h.PayloadType = b[1] & 0x7f
	h.Seq = binary.BigEndian.Uint16(b[2:])
	h.Timestamp = binary.BigEndian.Uint32(b[4:])
	h.SSRC = binary.BigEndian.Uint32(b[8:])
	off := 12 + 4*h.CSRCCount
	if off > len(b) {
		return &ParseError{12, "CSRC list runs past the packet"}
	}
	if b[0]&0x10 != 0 {
		if off+4 > len(b) {
			return &ParseError{off, "header extension runs past the packet"}
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if off > len(b) {
			return &ParseError{off, "header extension runs past the packet"}
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		pad := int(b[len(b)-1])
		if pad == 0 || end-pad < off {
			return &ParseError{len(b) - 1, "padding longer than the payload"}
		}
		end -= pad
	}
	h.PayloadOffset = off
	h.PayloadLen = end - off
	return nil
}

// IsRTCP reports whether b starts like an RTCP packet (RFC 3550 §6.4, RFC
// 5761 §4): version 2 and a packet type 192..223, which no audio or video
// RTP payload type of RFC 3551 maps to when the marker bit is set.
func IsRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// LooksLikeMedia is the cheap test a capture reader applies before handing
// a UDP payload on: version 2 and long enough for an RTP or RTCP header.
func LooksLikeMedia(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2
}
