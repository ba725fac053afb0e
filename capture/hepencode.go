package capture

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// EncodeHEP3 appends to dst a HEP3 packet carrying one SIP message
// (payload type 1), as Kamailio's siptrace or heplify send it: family,
// protocol, addresses, ports, time, capture id and payload chunks, in the
// layout of the HEP3 specification that DecodeHEP reads. A payload too
// large for the 16-bit length is not encoded (dst is returned as it was).
func EncodeHEP3(dst []byte, src, to netip.AddrPort, t time.Time, proto uint8, captureID uint32, payload []byte) []byte {
	if len(payload) > 65000 {
		return dst // does not fit the 16-bit length
	}
	start := len(dst)
	dst = append(dst, 'H', 'E', 'P', '3', 0, 0)
	chunk := func(typ uint16, v ...byte) {
		dst = binary.BigEndian.AppendUint16(dst, 0)
		dst = binary.BigEndian.AppendUint16(dst, typ)
		dst = binary.BigEndian.AppendUint16(dst, uint16(6+len(v)))
		dst = append(dst, v...)
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	s, d := src.Addr().Unmap(), to.Addr().Unmap()
	if s.Is4() && d.Is4() {
		chunk(0x0001, 2)
	} else {
		chunk(0x0001, 10)
	}
	chunk(0x0002, proto)
	if s.Is4() && d.Is4() {
		a, b := s.As4(), d.As4()
		chunk(0x0003, a[:]...)
		chunk(0x0004, b[:]...)
	} else {
		a, b := s.As16(), d.As16()
		chunk(0x0005, a[:]...)
		chunk(0x0006, b[:]...)
	}
	chunk(0x0007, u16(src.Port())...)
	chunk(0x0008, u16(to.Port())...)
	chunk(0x0009, u32(uint32(t.Unix()))...)
	chunk(0x000a, u32(uint32(t.Nanosecond()/1000))...)
	chunk(0x000b, 1)
	chunk(0x000c, u32(captureID)...)
	chunk(0x000f, payload...)
	binary.BigEndian.PutUint16(dst[start+4:], uint16(len(dst)-start))
	return dst
}
