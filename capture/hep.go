package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/sipcause/sipcause/sipmsg"
)

// HEPPacket is one decoded HEP (Homer Encapsulation Protocol) packet, version
// 1, 2 or 3 (HEP3 is also called EEP). It carries a captured message with the
// addresses, ports and time of the original packet.
type HEPPacket struct {
	Version   int   // 1, 2 or 3
	Family    uint8 // address family: 2 (IPv4) or 10 (IPv6)
	Protocol  uint8 // IP protocol of the original packet: 6 TCP, 17 UDP, 132 SCTP
	Src, Dst  netip.AddrPort
	Time      time.Time // zero for HEP1, which has no time
	CaptureID uint32
	// ProtoType is the HEP3 payload type (chunk 0x000b): 1 SIP, 5 RTCP, 100
	// log, ...; 1 for HEP1/2, which carry SIP only.
	ProtoType     uint8
	CorrelationID string
	Compressed    bool   // the payload came in a compressed chunk (0x0010)
	Payload       []byte // aliases the input unless Compressed
}

// HEP3 generic chunk types (vendor 0x0000) from the HEP3 specification.
const (
	hepChunkFamily     = 0x0001
	hepChunkProtocol   = 0x0002
	hepChunkSrcIPv4    = 0x0003
	hepChunkDstIPv4    = 0x0004
	hepChunkSrcIPv6    = 0x0005
	hepChunkDstIPv6    = 0x0006
	hepChunkSrcPort    = 0x0007
	hepChunkDstPort    = 0x0008
	hepChunkTimeSec    = 0x0009
	hepChunkTimeUsec   = 0x000a
	hepChunkProtoType  = 0x000b
	hepChunkCaptureID  = 0x000c
	hepChunkPayload    = 0x000f
	hepChunkCompressed = 0x0010
	hepChunkCorrID     = 0x0011
)

// maxHEPInflate caps the size of a decompressed payload chunk, so a crafted
// chunk cannot make the reader allocate without bound: no more than the
// largest SIP message the parser takes, so a 1.2 KB bomb costs a quarter of
// the inflating it did with a 1 MiB cap (the review's L2).
const maxHEPInflate = sipmsg.MaxMessageSize

var errHEPShort = errors.New("capture: HEP: packet too short")

// isHEP3 reports whether b starts with the HEP3 magic.
func isHEP3(b []byte) bool { return len(b) >= 6 && string(b[:4]) == "HEP3" }

// isHEP2 reports whether b plausibly starts with a HEP1/HEP2 header: version
// 1 or 2, family AF_INET or AF_INET6, protocol TCP/UDP/SCTP and a SIP start
// line right after the header. The old headers have no magic, so the SIP
// check is what keeps RTP and other UDP payloads from matching.
func isHEP2(b []byte) bool {
	if len(b) < 16 || (b[0] != 1 && b[0] != 2) || (b[2] != 2 && b[2] != 10) {
		return false
	}
	switch b[3] {
	case 6, 17, 132:
	default:
		return false
	}
	p, err := DecodeHEP(b)
	return err == nil && sipmsg.LooksLikeSIP(trimKeepAlive(p.Payload))
}

// DecodeHEP decodes one HEP packet: HEP3 ("HEP3", total length, then chunks
// of vendor, type, length and value) or the fixed HEP1/HEP2 headers (version,
// length, family, protocol, ports, addresses and, for HEP2, seconds,
// microseconds in the sender's byte order, assumed little-endian, and a
// capture id). For HEP3, b may be longer than the packet; the rest is ignored.
func DecodeHEP(b []byte) (HEPPacket, error) {
	if len(b) >= 4 && string(b[:4]) == "HEP3" {
		return decodeHEP3(b)
	}
	if len(b) < 1 {
		return HEPPacket{}, errHEPShort
	}
	if b[0] == 1 || b[0] == 2 {
		return decodeHEP2(b)
	}
	return HEPPacket{}, fmt.Errorf("capture: HEP: unknown version byte 0x%02x", b[0])
}

func decodeHEP2(b []byte) (HEPPacket, error) {
	if len(b) < 8 {
		return HEPPacket{}, errHEPShort
	}
	p := HEPPacket{Version: int(b[0]), Family: b[2], Protocol: b[3], ProtoType: 1}
	sport, dport := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	off := 8
	switch p.Family {
	case 2:
		if len(b) < off+8 {
			return HEPPacket{}, errHEPShort
		}
		p.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[off:off+4])), sport)
		p.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[off+4:off+8])), dport)
		off += 8
	case 10:
		if len(b) < off+32 {
			return HEPPacket{}, errHEPShort
		}
		p.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[off:off+16])), sport)
		p.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[off+16:off+32])), dport)
		off += 32
	default:
		return HEPPacket{}, fmt.Errorf("capture: HEP%d: unknown address family %d", p.Version, p.Family)
	}
	if p.Version == 2 {
		// struct hep_timehdr {u32 tv_sec; u32 tv_usec; u16 captid;} padded to 12.
		if len(b) < off+12 {
			return HEPPacket{}, errHEPShort
		}
		sec := binary.LittleEndian.Uint32(b[off:])
		usec := binary.LittleEndian.Uint32(b[off+4:])
		p.Time = time.Unix(int64(sec), int64(usec%1000000)*1000).UTC()
		p.CaptureID = uint32(binary.LittleEndian.Uint16(b[off+8:]))
		off += 12
	}
	p.Payload = b[off:]
	return p, nil
}

func decodeHEP3(b []byte) (HEPPacket, error) {
	if len(b) < 6 {
		return HEPPacket{}, errHEPShort
	}
	total := int(binary.BigEndian.Uint16(b[4:6]))
	if total < 6 || total > len(b) {
		return HEPPacket{}, fmt.Errorf("capture: HEP3: length %d does not fit %d bytes", total, len(b))
	}
	p := HEPPacket{Version: 3}
	var src4, dst4, src6, dst6 []byte
	var sport, dport uint16
	var sec, usec uint32
	var haveTime bool
	for c := b[6:total]; len(c) > 0; {
		if len(c) < 6 {
			return HEPPacket{}, errors.New("capture: HEP3: truncated chunk header")
		}
		vendor := binary.BigEndian.Uint16(c[0:])
		typ := binary.BigEndian.Uint16(c[2:])
		n := int(binary.BigEndian.Uint16(c[4:]))
		if n < 6 || n > len(c) {
			return HEPPacket{}, fmt.Errorf("capture: HEP3: chunk 0x%04x length %d out of range", typ, n)
		}
		v := c[6:n]
		c = c[n:]
		if vendor != 0 {
			continue
		}
		switch typ {
		case hepChunkFamily:
			if len(v) >= 1 {
				p.Family = v[0]
			}
		case hepChunkProtocol:
			if len(v) >= 1 {
				p.Protocol = v[0]
			}
		case hepChunkSrcIPv4:
			src4 = v
		case hepChunkDstIPv4:
			dst4 = v
		case hepChunkSrcIPv6:
			src6 = v
		case hepChunkDstIPv6:
			dst6 = v
		case hepChunkSrcPort:
			if len(v) >= 2 {
				sport = binary.BigEndian.Uint16(v)
			}
		case hepChunkDstPort:
			if len(v) >= 2 {
				dport = binary.BigEndian.Uint16(v)
			}
		case hepChunkTimeSec:
			if len(v) >= 4 {
				sec, haveTime = binary.BigEndian.Uint32(v), true
			}
		case hepChunkTimeUsec:
			if len(v) >= 4 {
				usec = binary.BigEndian.Uint32(v)
			}
		case hepChunkProtoType:
			if len(v) >= 1 {
				p.ProtoType = v[0]
			}
		case hepChunkCaptureID:
			if len(v) >= 4 {
				p.CaptureID = binary.BigEndian.Uint32(v)
			} else if len(v) >= 2 {
				p.CaptureID = uint32(binary.BigEndian.Uint16(v))
			}
		case hepChunkCorrID:
			p.CorrelationID = string(v)
		case hepChunkPayload:
			p.Payload = v
		case hepChunkCompressed:
			d, err := inflateHEP(v)
			if err != nil {
				return HEPPacket{}, err
			}
			p.Payload, p.Compressed = d, true
		}
	}
	if len(src4) == 4 {
		p.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(src4)), sport)
	} else if len(src6) == 16 {
		p.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(src6)), sport)
	}
	if len(dst4) == 4 {
		p.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(dst4)), dport)
	} else if len(dst6) == 16 {
		p.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(dst6)), dport)
	}
	if haveTime {
		p.Time = time.Unix(int64(sec), int64(usec%1000000)*1000).UTC()
	}
	return p, nil
}

// inflateHEP decompresses a compressed payload chunk. Senders use zlib
// (heplify, Kamailio) or gzip; the first bytes tell which.
func inflateHEP(v []byte) ([]byte, error) {
	var zr io.Reader
	var err error
	if len(v) >= 2 && v[0] == 0x1f && v[1] == 0x8b {
		zr, err = gzip.NewReader(bytes.NewReader(v))
	} else {
		zr, err = zlib.NewReader(bytes.NewReader(v))
	}
	if err != nil {
		return nil, fmt.Errorf("capture: HEP3: compressed payload: %w", err)
	}
	d, err := io.ReadAll(io.LimitReader(zr, maxHEPInflate+1))
	if err != nil {
		return nil, fmt.Errorf("capture: HEP3: compressed payload: %w", err)
	}
	if len(d) > maxHEPInflate {
		return nil, errors.New("capture: HEP3: compressed payload too large")
	}
	return d, nil
}

// Transport names the transport of the original packet: "tcp", "sctp",
// or "udp" for UDP and anything unknown.
func (p HEPPacket) Transport() string {
	switch p.Protocol {
	case 6:
		return "tcp"
	case 132:
		return "sctp"
	}
	return "udp"
}
