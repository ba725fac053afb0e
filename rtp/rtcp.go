package rtp

import "encoding/binary"

// RTCP packet types (RFC 3550 §12.1, RFC 3611 §2.1).
const (
	TypeSR   = 200
	TypeRR   = 201
	TypeSDES = 202
	TypeBYE  = 203
	TypeAPP  = 204
	TypeXR   = 207
)

// maxBlocks bounds the report blocks kept from one compound packet.
const maxBlocks = 4

// ReportBlock is one reception report (RFC 3550 §6.4.1): what the
// reporter received of the stream SSRC.
type ReportBlock struct {
	SSRC           uint32
	FractionLost   uint8 // lost since the last report, in 256ths
	CumulativeLost int32 // may be negative with duplicates (24-bit signed)
	HighestSeq     uint32
	Jitter         uint32 // interarrival jitter in timestamp units
	LSR            uint32 // middle 32 bits of the NTP time of the last SR received
	DLSR           uint32 // delay since that SR, in 1/65536 s
}

// VoIPMetrics is the RFC 3611 §4.7 VoIP metrics report block. Values keep
// their wire units: rates in 256ths, delays in ms, MOS times ten, 127 or
// 0 meaning unavailable where the RFC says so.
type VoIPMetrics struct {
	SSRC           uint32
	LossRate       uint8
	DiscardRate    uint8
	RoundTripDelay uint16
	EndSystemDelay uint16
	RFactor        uint8
	MOSLQ          uint8
	MOSCQ          uint8
	JBNominal      uint16
	JBMaximum      uint16
}

// RTCP is what one compound RTCP packet (RFC 3550 §6.1) says, in a fixed
// size: the sender report, up to four report blocks, a BYE and the first
// VoIP metrics block.
type RTCP struct {
	SenderSSRC    uint32
	SR            bool
	NTPMiddle     uint32 // middle 32 bits of the SR's NTP timestamp, what LSR echoes
	SenderPackets uint32
	SenderOctets  uint32
	Blocks        [maxBlocks]ReportBlock
	NBlocks       int
	Bye           bool
	HasXR         bool
	XR            VoIPMetrics
}

// ParseRTCP decodes a compound RTCP packet (RFC 3550 §6.1, §6.4, §6.6;
// RFC 3611 §4.7). It stops at the first malformed sub-packet; an error is
// returned only when not even the first one could be read.
func ParseRTCP(b []byte) (RTCP, error) {
	var r RTCP
	off := 0
	for off+4 <= len(b) {
		p := b[off:]
		if p[0]>>6 != 2 {
			break
		}
		n := 4 * (int(binary.BigEndian.Uint16(p[2:])) + 1)
		if n > len(p) {
			break
		}
		p = p[:n]
		count := int(p[0] & 0x1f)
		switch p[1] {
		case TypeSR:
			if len(p) < 28 {
				break
			}
			r.SR = true
			r.SenderSSRC = binary.BigEndian.Uint32(p[4:])
			r.NTPMiddle = binary.BigEndian.Uint32(p[10:])
			r.SenderPackets = binary.BigEndian.Uint32(p[20:])
			r.SenderOctets = binary.BigEndian.Uint32(p[24:])
			r.blocks(p[28:], count)
		case TypeRR:
			if len(p) < 8 {
				break
			}
			r.SenderSSRC = binary.BigEndian.Uint32(p[4:])
			r.blocks(p[8:], count)
		case TypeBYE:
			r.Bye = true
			// A BYE sent alone (RFC 3550 §6.1 wants it after an SR or
			// RR) names the leaving source first.
			if r.SenderSSRC == 0 && count > 0 && len(p) >= 8 {
				r.SenderSSRC = binary.BigEndian.Uint32(p[4:])
			}
		case TypeXR:
			if len(p) < 8 {
				break
			}
			if r.SenderSSRC == 0 {
				r.SenderSSRC = binary.BigEndian.Uint32(p[4:])
			}
			r.xr(p[8:])
		}
		off += n
	}
	if off == 0 {
		return r, &ParseError{0, "not an RTCP packet"}
	}
	return r, nil
}

func (r *RTCP) blocks(b []byte, count int) {
	for i := 0; i < count && len(b) >= 24; i++ {
		if r.NBlocks < maxBlocks {
			cum := int32(binary.BigEndian.Uint32(b[4:])<<8) >> 8
			r.Blocks[r.NBlocks] = ReportBlock{
				SSRC: binary.BigEndian.Uint32(b), FractionLost: b[4], CumulativeLost: cum,
				HighestSeq: binary.BigEndian.Uint32(b[8:]), Jitter: binary.BigEndian.Uint32(b[12:]),
				LSR: binary.BigEndian.Uint32(b[16:]), DLSR: binary.BigEndian.Uint32(b[20:]),
			}
			r.NBlocks++
		}
		b = b[24:]
	}
}

// xr reads the report blocks of an XR packet (RFC 3611 §3) and keeps the
// first VoIP metrics block (BT 7).
func (r *RTCP) xr(b []byte) {
	for len(b) >= 4 {
		n := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
		if n > len(b) {
			return
		}
		if b[0] == 7 && n >= 36 && !r.HasXR {
			r.HasXR = true
			r.XR = VoIPMetrics{
				SSRC: binary.BigEndian.Uint32(b[4:]), LossRate: b[8], DiscardRate: b[9],
				RoundTripDelay: binary.BigEndian.Uint16(b[16:]), EndSystemDelay: binary.BigEndian.Uint16(b[18:]),
				RFactor: b[24], MOSLQ: b[26], MOSCQ: b[27],
				JBNominal: binary.BigEndian.Uint16(b[30:]), JBMaximum: binary.BigEndian.Uint16(b[32:]),
			}
		}
		b = b[n:]
	}
}
