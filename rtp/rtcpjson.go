package rtp

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// MaxRTCPJSON bounds the JSON text of one RTCP report: heplify's reports
// are a few hundred bytes, and anything much larger is not one.
const MaxRTCPJSON = 8 << 10

// rtcpJSON is the JSON text heplify makes of a binary RTCP report before
// sending it as HEP payload type 5: the fields of RFC 3550 §6.4.1 (sender
// information, reception report blocks) and of the RFC 3611 §4.7 VoIP
// metrics block, named as heplify names them.
type rtcpJSON struct {
	SSRC   wire32 `json:"ssrc"`
	Type   wire32 `json:"type"`
	Sender *struct {
		NTPSec  wire32 `json:"ntp_timestamp_sec"`
		NTPUsec wire32 `json:"ntp_timestamp_usec"`
		Packets wire32 `json:"packets"`
		Octets  wire32 `json:"octets"`
	} `json:"sender_information"`
	Blocks []struct {
		SourceSSRC   wire32 `json:"source_ssrc"`
		FractionLost wire32 `json:"fraction_lost"`
		PacketsLost  wire32 `json:"packets_lost"`
		HighestSeq   wire32 `json:"highest_seq_no"`
		Jitter       wire32 `json:"ia_jitter"`
		LSR          wire32 `json:"lsr"`
		DLSR         wire32 `json:"dlsr"`
	} `json:"report_blocks"`
	XR *struct {
		Type         wire32 `json:"type"`
		ID           wire32 `json:"id"`
		FractionLost wire32 `json:"fraction_lost"`
		Discard      wire32 `json:"fraction_discard"`
		RTT          wire32 `json:"round_trip_delay"`
		EndSystem    wire32 `json:"end_system_delay"`
	} `json:"report_blocks_xr"`
}

// wire32 is a number of an agent's RTCP JSON as the 32-bit wire field it
// came from. Agents write them as they hold them: captagent writes LSR as
// a signed integer (-1097006646) and the NTP fraction wider than 32 bits,
// Asterisk writes the NTP words and LSR as strings ("3373905467"), some
// scripts write a fraction as a decimal. Any integer, quoted or not, is
// taken modulo 2^32, the bits the wire field had; a decimal is truncated.
type wire32 uint32

func (w *wire32) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as encoding/json leaves a field it has no value for
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*w = wire32(uint32(v))
		return nil
	}
	if v, err := strconv.ParseUint(string(b), 10, 64); err == nil {
		*w = wire32(uint32(v))
		return nil
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		*w = wire32(uint32(int64(math.Max(-1<<62, math.Min(f, 1<<62)))))
		return nil
	}
	return errors.New("not an integer")
}

// u8 is a one-byte wire field (a fraction in 256ths, a block type),
// clamped: a report cannot claim more than 255/256.
func (w wire32) u8() uint8 { return uint8(min(w, 255)) }

// u16 is a two-byte wire field (a delay in ms), clamped.
func (w wire32) u16() uint16 { return uint16(min(w, 65535)) }

// ParseRTCPJSON decodes the JSON form of an RTCP report that heplify,
// captagent and Asterisk's res_hep_rtcp send in HEP (payload type 5) into the same fixed-size RTCP a
// binary compound packet gives (RFC 3550 §6.4). Integers are taken as the
// wire fields they came from (modulo 2^32; one-byte fractions clamped to
// 255); blocks beyond four are dropped, as ParseRTCP drops them.
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
	r.SenderSSRC = uint32(j.SSRC)
	// A compound that ends in a BYE (RFC 3550 §6.6) says 203: the sender
	// leaves the session.
	r.Bye = j.Type == TypeBYE
	// heplify writes sender_information always, zero for a receiver
	// report, and "type" is that of the last packet of the compound (an
	// SR followed by SDES says 202): a sender report is known by its
	// figures, not by the type.
	if j.Sender != nil && (j.Sender.NTPSec != 0 || j.Sender.Packets != 0) {
		r.SR = true
		r.NTPMiddle = uint32(j.Sender.NTPSec)<<16 | uint32(j.Sender.NTPUsec)>>16
		r.SenderPackets, r.SenderOctets = uint32(j.Sender.Packets), uint32(j.Sender.Octets)
	}
	for _, bl := range j.Blocks {
		if r.NBlocks == maxBlocks {
			break
		}
		// packets_lost is the 24-bit field read as unsigned: sign-extend
		// it as the binary decoder does, and drop bits it cannot have.
		cum := int32((uint32(bl.PacketsLost)&0xffffff)<<8) >> 8
		r.Blocks[r.NBlocks] = ReportBlock{SSRC: uint32(bl.SourceSSRC), FractionLost: bl.FractionLost.u8(), CumulativeLost: cum,
			HighestSeq: uint32(bl.HighestSeq), Jitter: uint32(bl.Jitter), LSR: uint32(bl.LSR), DLSR: uint32(bl.DLSR)}
		r.NBlocks++
	}
	if j.XR != nil && j.XR.Type == 7 {
		r.HasXR = true
		r.XR = VoIPMetrics{SSRC: uint32(j.XR.ID), LossRate: j.XR.FractionLost.u8(), DiscardRate: j.XR.Discard.u8(),
			RoundTripDelay: j.XR.RTT.u16(), EndSystemDelay: j.XR.EndSystem.u16(), MOSLQ: 127, MOSCQ: 127}
	}
	return r, nil
}
