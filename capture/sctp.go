package capture

import (
	"encoding/binary"
	"net/netip"
)

// sctpKey identifies one SCTP stream of one association direction.
type sctpKey struct {
	src, dst netip.AddrPort
	stream   uint16
}

// sctpTable collects the fragments of SCTP user messages (RFC 9260 section
// 6.9), bounded in streams and bytes.
type sctpTable struct {
	m map[sctpKey][]byte
}

func (t *sctpTable) reset() { t.m = nil }

// decodeSCTP decodes an SCTP packet (RFC 9260 section 3): the common header
// and the DATA chunks in it, whatever their payload protocol identifier.
func (r *Reader) decodeSCTP(src, dst netip.Addr, b []byte) {
	if len(b) < 12 {
		r.short()
		return
	}
	sp := netip.AddrPortFrom(src, binary.BigEndian.Uint16(b))
	dp := netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:]))
	for c := b[12:]; len(c) >= 4; {
		typ, flags := c[0], c[1]
		n := int(binary.BigEndian.Uint16(c[2:]))
		if n < 4 {
			r.cur.malformed = true
			return
		}
		if n > len(c) {
			r.short()
			return
		}
		chunk := c[:n]
		pad := (n + 3) &^ 3
		if pad > len(c) {
			pad = len(c)
		}
		c = c[pad:]
		if typ != 0 || n < 16 { // DATA chunks only
			continue
		}
		stream := binary.BigEndian.Uint16(chunk[8:])
		data := chunk[16:]
		begin, end := flags&0x02 != 0, flags&0x01 != 0
		if begin && end {
			r.datagram(sp, dp, "sctp", data)
			continue
		}
		r.sctpFragment(sctpKey{sp, dp, stream}, begin, end, data)
	}
}

// sctpFragment collects one fragment of a user message; ordered delivery
// within a stream is assumed, as for the transmission sequence numbers of a
// capture without loss.
func (r *Reader) sctpFragment(k sctpKey, begin, end bool, data []byte) {
	t := &r.sctp
	if t.m == nil {
		t.m = make(map[sctpKey][]byte)
	}
	buf, ok := t.m[k]
	switch {
	case begin:
		if ok {
			r.integ.Truncated++
		}
		if !ok && len(t.m) >= maxSCTPStreams {
			for old := range t.m { // drop any: they are all stale by now
				delete(t.m, old)
				r.integ.Truncated++
				break
			}
		}
		t.m[k] = append(buf[:0], data...)
		r.cur.sip = true
	case !ok:
		return // middle or end without a beginning
	case len(buf)+len(data) > maxSCTPBuffer:
		delete(t.m, k)
		r.integ.Truncated++
	default:
		buf = append(buf, data...)
		r.cur.sip = true
		if end {
			delete(t.m, k)
			r.datagram(k.src, k.dst, "sctp", buf)
			return
		}
		t.m[k] = buf
	}
}
