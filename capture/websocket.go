package capture

import (
	"encoding/binary"

	"github.com/sipcause/sipcause/sipmsg"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
)

// wsHeader parses a WebSocket frame header (RFC 6455 section 5.2). It returns
// the header length, payload length and masking key; hdr is 0 when b holds
// less than the header, ok is false when b is not a frame header.
func wsHeader(b []byte) (hdr, n int, mask []byte, ok bool) {
	if len(b) < 2 {
		return 0, 0, nil, true
	}
	if b[0]&0x70 != 0 { // reserved bits: no extension is negotiated for SIP
		return 0, 0, nil, false
	}
	switch b[0] & 0x0f {
	case wsContinuation, wsText, wsBinary, wsClose, 0x9, 0xa:
	default:
		return 0, 0, nil, false
	}
	hdr = 2
	n = int(b[1] & 0x7f)
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, 0, nil, true
		}
		n, hdr = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, 0, nil, true
		}
		l := binary.BigEndian.Uint64(b[2:])
		if l > maxStreamBuffer {
			return 0, 0, nil, false
		}
		n, hdr = int(l), 10
	}
	if b[1]&0x80 != 0 {
		if len(b) < hdr+4 {
			return 0, 0, nil, true
		}
		mask = b[hdr : hdr+4]
		hdr += 4
	}
	return hdr, n, mask, true
}

// looksLikeWSFrame reports whether b starts with a complete, final text or
// binary WebSocket frame that holds a SIP message: how a WebSocket
// connection whose upgrade was not captured is recognised.
func looksLikeWSFrame(b []byte) bool {
	if len(b) < 2 || b[0]&0x80 == 0 || (b[0]&0x0f != wsText && b[0]&0x0f != wsBinary) {
		return false
	}
	hdr, n, mask, ok := wsHeader(b)
	if !ok || hdr == 0 || len(b) < hdr+n {
		return false
	}
	var head [64]byte
	m := copy(head[:], b[hdr:hdr+n])
	for i := range m {
		if mask != nil {
			head[i] ^= mask[i%4]
		}
	}
	line := head[:m]
	for i, c := range line {
		if c == '\n' {
			return sipmsg.LooksLikeSIP(line[:i+1])
		}
	}
	return false
}

// wsFrame consumes one WebSocket frame from b and emits the SIP message a
// final frame completes (RFC 7118 section 5: one SIP message per WebSocket
// message). It returns the bytes consumed (0: need more) and false when b
// is not a WebSocket frame.
func (r *Reader) wsFrame(s *tcpStream, b []byte) (int, bool) {
	hdr, n, mask, ok := wsHeader(b)
	if !ok {
		return 0, false
	}
	if hdr == 0 || len(b) < hdr+n {
		r.cur.sip = true
		return 0, true
	}
	p := b[hdr : hdr+n]
	if mask != nil {
		for i := range p {
			p[i] ^= mask[i%4]
		}
	}
	fin, op := b[0]&0x80 != 0, b[0]&0x0f
	switch op {
	case wsText, wsBinary:
		s.wsMsg = append(s.wsMsg[:0], p...)
		s.wsActive = true
	case wsContinuation:
		if !s.wsActive {
			return hdr + n, true
		}
		if len(s.wsMsg)+len(p) > maxStreamBuffer {
			r.integ.Truncated++
			s.wsMsg, s.wsActive = s.wsMsg[:0], false
			return hdr + n, true
		}
		s.wsMsg = append(s.wsMsg, p...)
	default: // control frames: close, ping, pong
		r.cur.sip = true
		return hdr + n, true
	}
	r.cur.sip = true
	if fin {
		s.wsActive = false
		m := trimKeepAlive(s.wsMsg)
		if sipmsg.LooksLikeSIP(m) {
			r.emit(s.key.src, s.key.dst, "ws", m)
		} else if len(m) > 0 {
			r.integ.Malformed++
		}
		s.wsMsg = s.wsMsg[:0]
	}
	return hdr + n, true
}
