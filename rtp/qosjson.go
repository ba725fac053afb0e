package rtp

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// HEP3 payload types (chunk 0x000b) of the RTP statistics reports capture
// agents send. The HEP3 specification lists 0x22 as "MOS full report
// (JSON)" and 0x23 as the short one; QXIP's RTP agents and hepagent send a
// full RTP report as 34, a short one as 35, and the RTCP they condensed as
// 36 (full) and 37 (short). heplify-server stores all of them in its
// report table (hep_proto_35_default) and reads the figures by their
// upper-case names (DELTA, JITTER, MOS, PACKET_LOSS, RFACTOR, SKEW).
const (
	HEPTypeRTPReportFull   = 34
	HEPTypeRTPReportShort  = 35
	HEPTypeRTCPReportFull  = 36
	HEPTypeRTCPReportShort = 37
)

// MaxQoSJSON bounds the JSON text of one statistics report: the agents'
// reports are under a kilobyte (some forty fields), and anything much
// larger is not one.
const MaxQoSJSON = 8 << 10

// Bounds of what a report may make the reader keep: a text field is cut,
// a figure outside them is not believed.
const (
	maxQoSCallID = 1024
	maxQoSCodec  = 32
	maxQoSMS     = 10000.0 // jitter or delta in ms; more is garbage
)

// QoSReport is one RTP statistics report a capture agent sent about one
// stream: what the agent measured of the RTP it saw pass from Src to Dst
// (packets, loss, jitter as RFC 3550 §6.4.1 and A.8 define them) and the
// MOS it estimated. Counts are the stream's so far: the agents send one
// periodically while the stream flows and a last one (TYPE "HANGUP" or
// "FINAL") when it ends. Fields a report lacks are zero; Has* say which
// were there.
type QoSReport struct {
	CallID   string // CORRELATION_ID, else RTP_SIP_CALL_ID: the SIP Call-ID
	Src, Dst netip.AddrPort
	SSRC     uint32
	HasSSRC  bool
	// Packets, Expected and Lost: TOTAL_PK, EXPECTED_PK, PACKET_LOSS of a
	// full report; TOTAL_PACKETS, TOTAL_EXPECTED_PK, TOTAL_PACKET_LOSS of
	// a final one; PACKET_COUNT of a short RTP report; CUM_PACKET_LOSS of
	// a short RTCP report.
	Packets, Expected, Lost uint32
	HasPackets, HasLost     bool
	// JitterMS is the jitter at the time of the report, MaxJitterMS and
	// MeanJitterMS over the stream so far; MaxDeltaMS the longest gap
	// between two packets.
	JitterMS, MaxJitterMS, MeanJitterMS, MaxDeltaMS float64
	// MOS is the lowest of the agent's MOS, MIN_MOS and MEAN_MOS that lie
	// in 1..5 (ITU-T P.800's scale); 0 when the report gives none.
	MOS         float64
	PayloadType int // -1 when not given
	Codec       string
	ClockRate   int
	// OneWay is the agent's ONE_WAY_RTP flag: it saw no RTP coming back
	// on the reverse path.
	OneWay bool
	// Final marks the last report of the stream (TYPE HANGUP or FINAL).
	Final bool
}

// qosNum is a figure of an agent's report: agents write numbers, some
// quote them ("0.000"); null is as if absent. NaN and infinities are not
// numbers anyone measured.
type qosNum struct {
	v  float64
	ok bool
}

func (n *qosNum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
		if len(b) == 0 {
			return nil // "" as agents write an unknown figure
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("not a number")
	}
	n.v, n.ok = f, true
	return nil
}

// count is the figure as a packet count: negative is none, more than
// 2^32-1 is clamped.
func (n qosNum) count() uint32 {
	if !n.ok || n.v <= 0 {
		return 0
	}
	return uint32(math.Min(n.v, math.MaxUint32))
}

// ms is the figure as milliseconds, when believable.
func (n qosNum) ms() (float64, bool) {
	if !n.ok || n.v < 0 || n.v > maxQoSMS {
		return 0, false
	}
	return n.v, true
}

// qosSSRC is an SSRC as the agents write it: a number, or a string in
// hex ("0x1a2b3c4d", as hepagent writes it) or decimal.
type qosSSRC struct {
	v  uint32
	ok bool
}

func (s *qosSSRC) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	str := string(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		str = string(b[1 : len(b)-1])
	}
	if str == "" {
		return nil
	}
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(str), "0x"); ok {
		str, base = h, 16
	}
	v, err := strconv.ParseUint(str, base, 32)
	if err != nil {
		return errors.New("not an SSRC")
	}
	s.v, s.ok = uint32(v), true
	return nil
}

// qosJSON holds the fields of the agents' reports that sipcause reads;
// the others (MACs, skew, R-factor, report names) are left. The field
// names are those of QXIP's rtpagent as hepgen.js and heplify-server's
// Prometheus dissector write and read them, of hepagent's final report
// (TOTAL_*), and of its short reports (PACKET_COUNT, CUM_PACKET_LOSS).
type qosJSON struct {
	CorrelationID string  `json:"CORRELATION_ID"`
	RTPSIPCallID  string  `json:"RTP_SIP_CALL_ID"`
	SrcIP         string  `json:"SRC_IP"`
	SrcPort       qosNum  `json:"SRC_PORT"`
	DstIP         string  `json:"DST_IP"`
	DstPort       qosNum  `json:"DST_PORT"`
	SSRC          qosSSRC `json:"SSRC"`

	TotalPK         qosNum `json:"TOTAL_PK"`
	ExpectedPK      qosNum `json:"EXPECTED_PK"`
	PacketLoss      qosNum `json:"PACKET_LOSS"`
	TotalPackets    qosNum `json:"TOTAL_PACKETS"`
	TotalExpectedPK qosNum `json:"TOTAL_EXPECTED_PK"`
	TotalPacketLoss qosNum `json:"TOTAL_PACKET_LOSS"`
	PacketCount     qosNum `json:"PACKET_COUNT"`
	CumPacketLoss   qosNum `json:"CUM_PACKET_LOSS"`

	Jitter     qosNum `json:"JITTER"`
	MaxJitter  qosNum `json:"MAX_JITTER"`
	MeanJitter qosNum `json:"MEAN_JITTER"`
	MaxDelta   qosNum `json:"MAX_DELTA"`

	MOS     qosNum `json:"MOS"`
	MinMOS  qosNum `json:"MIN_MOS"`
	MeanMOS qosNum `json:"MEAN_MOS"`

	CodecPT   qosNum `json:"CODEC_PT"`
	CodecName string `json:"CODEC_NAME"`
	Clock     qosNum `json:"CLOCK"`
	OneWayRTP qosNum `json:"ONE_WAY_RTP"`
	Type      string `json:"TYPE"`
}

// ParseQoSReport decodes the JSON text of an RTP statistics report that a
// capture agent sends in HEP (payload types 34 to 37, see
// HEPTypeRTPReportFull). Input larger than MaxQoSJSON is refused; text
// fields are cut to their bounds and figures no agent could have measured
// (a negative count, a jitter of hours, a MOS outside 1..5) are left out.
// A report must name at least one figure of the stream: packets, loss,
// jitter or MOS.
func ParseQoSReport(b []byte) (QoSReport, error) {
	r := QoSReport{PayloadType: -1}
	b = bytes.TrimSpace(b)
	if len(b) > MaxQoSJSON {
		return r, &ParseError{0, "RTP statistics report too large"}
	}
	if len(b) == 0 || b[0] != '{' {
		return r, &ParseError{0, "not an RTP statistics report"}
	}
	var j qosJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return r, &ParseError{0, "RTP statistics report: " + err.Error()}
	}
	r.CallID = j.CorrelationID
	if r.CallID == "" {
		r.CallID = j.RTPSIPCallID
	}
	if len(r.CallID) > maxQoSCallID {
		r.CallID = ""
	}
	r.Src, r.Dst = qosAddr(j.SrcIP, j.SrcPort), qosAddr(j.DstIP, j.DstPort)
	r.SSRC, r.HasSSRC = j.SSRC.v, j.SSRC.ok

	// The counts of the kind of report it is, the final totals first.
	switch {
	case j.TotalPackets.ok:
		r.Packets, r.HasPackets = j.TotalPackets.count(), true
		r.Expected = j.TotalExpectedPK.count()
	case j.TotalPK.ok:
		r.Packets, r.HasPackets = j.TotalPK.count(), true
		r.Expected = j.ExpectedPK.count()
	case j.PacketCount.ok:
		r.Packets, r.HasPackets = j.PacketCount.count(), true
	}
	for _, l := range []qosNum{j.TotalPacketLoss, j.PacketLoss, j.CumPacketLoss} {
		if l.ok {
			r.Lost, r.HasLost = l.count(), true
			break
		}
	}
	if r.Expected == 0 && r.HasPackets && r.HasLost {
		r.Expected = uint32(min(uint64(r.Packets)+uint64(r.Lost), math.MaxUint32))
	}
	var ok bool
	if r.JitterMS, ok = j.Jitter.ms(); !ok {
		r.JitterMS = 0
	}
	if r.MaxJitterMS, ok = j.MaxJitter.ms(); !ok {
		r.MaxJitterMS = r.JitterMS
	}
	if r.MeanJitterMS, ok = j.MeanJitter.ms(); !ok {
		r.MeanJitterMS = r.JitterMS
	}
	r.MaxJitterMS = math.Max(r.MaxJitterMS, math.Max(r.JitterMS, r.MeanJitterMS))
	if r.MaxDeltaMS, ok = j.MaxDelta.ms(); !ok {
		r.MaxDeltaMS = 0
	}
	for _, m := range []qosNum{j.MOS, j.MinMOS, j.MeanMOS} {
		// A MOS times 100, as the HEP MOS chunk (0x0020) carries it and
		// horaclifix writes it (heplify-server divides its INC_MOS by
		// 100): 439 is 4.39.
		v := m.v
		if m.ok && v > 100 && v <= 500 {
			v /= 100
		}
		if m.ok && v >= 1 && v <= 5 && (r.MOS == 0 || v < r.MOS) {
			r.MOS = v
		}
	}
	if j.CodecPT.ok && j.CodecPT.v >= 0 && j.CodecPT.v <= 127 {
		r.PayloadType = int(j.CodecPT.v)
	}
	r.Codec = qosText(j.CodecName, maxQoSCodec)
	if j.Clock.ok && j.Clock.v > 0 && j.Clock.v <= 192000 {
		r.ClockRate = int(j.Clock.v)
	}
	r.OneWay = j.OneWayRTP.ok && j.OneWayRTP.v != 0
	switch strings.ToUpper(strings.TrimSpace(j.Type)) {
	case "HANGUP", "FINAL":
		r.Final = true
	}
	if !r.HasPackets && !r.HasLost && r.MOS == 0 && !j.Jitter.ok && !j.MeanJitter.ok {
		return r, &ParseError{0, "RTP statistics report: no figures of a stream"}
	}
	return r, nil
}

// qosAddr is an address and port of a report, invalid unless both are.
func qosAddr(ip string, port qosNum) netip.AddrPort {
	if len(ip) > 64 || !port.ok || port.v < 0 || port.v > 65535 {
		return netip.AddrPort{}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port.v))
}

// qosText keeps the characters of s a codec name is made of (RFC 4855
// media subtype names, "/" and the clock rate), at most n bytes: it is
// shown on pages and must carry nothing else.
func qosText(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/._+-", c) >= 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}
