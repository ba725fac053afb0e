package rtp

import (
	"bytes"
	"encoding/json"
)

// MaxRTCPJSON bounds the JSON text of one RTCP report: heplify's reports
// are a few hundred bytes, and anything much larger is not one.
const MaxRTCPJSON = 8 << 10

// rtcpJSON is the JSON text heplify makes of a binary RTCP report before
// sending it as HEP payload type 5: the fields of RFC 3550 §6.4.1 (sender
// information, reception report blocks) and of the RFC 3611 §4.7 VoIP
// metrics block, named as heplify names them.
type rtcpJSON struct {
	SSRC   uint32 `json:"ssrc"`
	Type   int    `json:"type"`
	Sender *struct {
		NTPSec  uint32 `json:"ntp_timestamp_sec"`
		NTPUsec uint32 `json:"ntp_timestamp_usec"`
		Packets uint32 `json:"packets"`
		Octets  uint32 `json:"octets"`
	} `json:"sender_information"`
	Blocks []struct {
		SourceSSRC   uint32 `json:"source_ssrc"`
		FractionLost uint8  `json:"fraction_lost"`
		PacketsLost  uint32 `json:"packets_lost"`
		HighestSeq   uint32 `json:"highest_seq_no"`
		Jitter       uint32 `json:"ia_jitter"`
		LSR          uint32 `json:"lsr"`
		DLSR         uint32 `json:"dlsr"`
	} `json:"report_blocks"`
	XR *struct {
		Type         uint8  `json:"type"`
		ID           uint32 `json:"id"`
		FractionLost uint8  `json:"fraction_lost"`
		Discard      uint8  `json:"fraction_discard"`
		RTT          uint16 `json:"round_trip_delay"`
		EndSystem    uint16 `json:"end_system_delay"`
	} `json:"report_blocks_xr"`
}

// ParseRTCPJSON decodes the JSON form of an RTCP report that heplify sends
// in HEP (payload type 5) into the same fixed-size RTCP a binary compound
// packet gives (RFC 3550 §6.4). Values the JSON cannot hold in the wire
// fields (a fraction above 255, a count wider than 24 bits) are refused by
// the decoder; blocks beyond four are dropped, as ParseRTCP drops them.
func ParseRTCPJSON(b []byte) (RTCP, error) {
	var r RTCP
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return r, &ParseError{0, "not an RTCP JSON report"}
	}
	if len(b) > MaxRTCPJSON {
		return r, &ParseError{0, "RTCP JSON report too large"}
	}
	var j rtcpJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return r, &ParseError{0, "RTCP JSON report: " + err.Error()}
	}
	if j.Type < TypeSR || j.Type > TypeXR {
		return r, &ParseError{0, "RTCP JSON report: no RTCP packet type"}
	}
	r.SenderSSRC = j.SSRC
	// heplify writes sender_information always, zero for a receiver
	// report, and "type" is that of the last packet of the compound (an
	// SR followed by SDES says 202): a sender report is known by its
	// figures, not by the type.
	if j.Sender != nil && (j.Sender.NTPSec != 0 || j.Sender.Packets != 0) {
		r.SR = true
		r.NTPMiddle = j.Sender.NTPSec<<16 | j.Sender.NTPUsec>>16
		r.SenderPackets, r.SenderOctets = j.Sender.Packets, j.Sender.Octets
	}
	for _, bl := range j.Blocks {
		if r.NBlocks == maxBlocks {
			break
		}
		// packets_lost is the 24-bit field read as unsigned: sign-extend
		// it as the binary decoder does, and drop bits it cannot have.
		cum := int32((bl.PacketsLost&0xffffff)<<8) >> 8
		r.Blocks[r.NBlocks] = ReportBlock{SSRC: bl.SourceSSRC, FractionLost: bl.FractionLost, CumulativeLost: cum,
			HighestSeq: bl.HighestSeq, Jitter: bl.Jitter, LSR: bl.LSR, DLSR: bl.DLSR}
		r.NBlocks++
	}
	if j.XR != nil && j.XR.Type == 7 {
		r.HasXR = true
		r.XR = VoIPMetrics{SSRC: j.XR.ID, LossRate: j.XR.FractionLost, DiscardRate: j.XR.Discard,
			RoundTripDelay: j.XR.RTT, EndSystemDelay: j.XR.EndSystem, MOSLQ: 127, MOSCQ: 127}
	}
	return r, nil
}
