package analyze

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/rtp"
)

// agentStream is what a capture agent's RTP statistics reports said about
// one stream of an open call (AddCallQoS): the stream's figures so far,
// in a fixed size.
type agentStream struct {
	src, dst          netip.AddrPort
	ssrc              uint32
	hasSSRC           bool
	packets, expected uint32
	lost              uint32
	hasPackets        bool
	maxJitter         float64
	meanJitter        float64
	maxDelta          float64
	mos               float64 // the lowest the agent gave; 0 none
	pt                int
	codec             string
	clock             int
	oneWay            bool
	final             bool
	reports           int
	first, last       time.Time
}

// AddCallQoS attaches an RTP statistics report that a capture agent sent
// about call callID (HEP payload types 34 to 37, see rtp.ParseQoSReport)
// to that call, when the analyzer holds it open. The agent measured the
// stream where it saw it pass: its packets, loss, jitter (RFC 3550 §6.4.1,
// A.8) and MOS. Reports of the same stream (same path, same SSRC when
// given) are merged: the counts are the stream's so far, so the largest
// is kept, and a last report (HANGUP, FINAL) gives the whole stream.
// With Options.MediaWait, reports about a call not open yet are kept a
// few seconds for it. AddCallQoS reports whether the report was kept.
func (a *Analyzer) AddCallQoS(callID string, t time.Time, r *rtp.QoSReport) bool {
	if r == nil {
		return false
	}
	rc := a.reportsFor(callID, t)
	if rc == nil {
		return false
	}
	src, dst := unmapAP(r.Src), unmapAP(r.Dst)
	var s *agentStream
	for _, x := range rc.agent {
		if x.src == src && x.dst == dst && (!x.hasSSRC || !r.HasSSRC || x.ssrc == r.SSRC) {
			s = x
			break
		}
	}
	if s == nil {
		if len(rc.agent) >= maxReportedStreams {
			return true // the call's, cut to the bound
		}
		s = &agentStream{src: src, dst: dst, pt: -1, first: t, last: t}
		rc.agent = append(rc.agent, s)
	}
	if !s.hasSSRC && r.HasSSRC {
		s.ssrc, s.hasSSRC = r.SSRC, true
	}
	s.reports++
	if t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	if s.final && !r.Final {
		return true // a late periodic report says less than the last one did
	}
	if r.Final {
		// The last report gives the whole stream: it replaces the
		// figures gathered so far.
		*s = agentStream{src: s.src, dst: s.dst, ssrc: s.ssrc, hasSSRC: s.hasSSRC, pt: -1, reports: s.reports, first: s.first, last: s.last, final: true}
	}
	if r.HasPackets && (r.Packets >= s.packets || r.Final) {
		s.packets, s.hasPackets = r.Packets, true
		if r.Expected > 0 {
			s.expected = r.Expected
		}
	}
	if r.HasLost && (r.Lost >= s.lost || r.Final) {
		s.lost = r.Lost
	}
	s.maxJitter = math.Max(s.maxJitter, r.MaxJitterMS)
	if r.MeanJitterMS > 0 {
		s.meanJitter = r.MeanJitterMS
	}
	s.maxDelta = math.Max(s.maxDelta, r.MaxDeltaMS)
	if r.MOS > 0 && (s.mos == 0 || r.MOS < s.mos) {
		s.mos = r.MOS
	}
	if r.PayloadType >= 0 {
		s.pt = r.PayloadType
	}
	if r.Codec != "" {
		s.codec = r.Codec
	}
	if r.ClockRate > 0 {
		s.clock = r.ClockRate
	}
	s.oneWay = s.oneWay || r.OneWay
	return true
}

func (s *agentStream) lossPercent() float64 {
	exp := max(s.expected, s.packets+s.lost)
	if exp == 0 || s.lost == 0 {
		return 0
	}
	return math.Min(100, 100*float64(s.lost)/float64(exp))
}

// attachAgent gives a call that the input's own RTP said nothing about
// the streams, audio verdict and findings its agents' RTP statistics
// reports tell. It returns false when there were none.
//
// A direction counts as flowing when a report of it counted at least
// minAudioPackets packets. A direction that an agent reported with fewer,
// or that the agent flagged as one-way (ONE_WAY_RTP: nothing came back on
// the reverse path), did not flow. Without a report of both directions
// nothing is said about the one that went unreported.
func (a *Analyzer) attachAgent(c *callState, call *Call, rc *reportedCall) bool {
	if len(rc.agent) == 0 {
		return false
	}
	var caller, callee netip.Addr
	if len(c.invites) > 0 {
		caller, callee = unmapAP(c.invites[0].req.src).Addr(), unmapAP(c.invites[0].req.dst).Addr()
	}
	dirOf := func(s *agentStream) string {
		switch {
		case s.src.Addr() == caller || s.dst.Addr() == callee && s.src.Addr() != callee:
			return "caller_to_callee"
		case s.src.Addr() == callee || s.dst.Addr() == caller:
			return "callee_to_caller"
		}
		return "unknown"
	}
	// Media addresses need not be the signalling ones (a PBX's media
	// server): a stream whose reverse path is known takes the opposite
	// direction.
	dirs := make([]string, len(rc.agent))
	for i, s := range rc.agent {
		dirs[i] = dirOf(s)
	}
	for i, s := range rc.agent {
		if dirs[i] != "unknown" {
			continue
		}
		for j, o := range rc.agent {
			if o.src == s.dst && o.dst == s.src && dirs[j] != "unknown" {
				dirs[i] = map[string]string{"caller_to_callee": "callee_to_caller", "callee_to_caller": "caller_to_callee"}[dirs[j]]
			}
		}
	}
	type side struct {
		reported, seen, oneWay bool
		packets                uint32
		mos, loss, jitter      float64
		stream                 *MediaStream
	}
	sides := map[string]*side{"caller_to_callee": {}, "callee_to_caller": {}}
	for i, s := range rc.agent {
		loss := round3(s.lossPercent())
		// Agents write the codec as they like ("pcma", "PCMU/8000"): the
		// name of a static payload type is spelt as RFC 3551 §6 does.
		codec, rate, _ := strings.Cut(s.codec, "/")
		clock := s.clock
		if clock == 0 {
			clock, _ = strconv.Atoi(rate)
		}
		if s.pt >= 0 {
			if name, r := rtp.StaticCodec(uint8(s.pt)); name != "" && (codec == "" || strings.EqualFold(codec, name)) {
				codec = name
				if clock <= 0 {
					clock = r
				}
			}
		}
		clock = min(max(clock, 0), 192000)
		o := &MediaStream{Number: i + 1, CallID: c.callID, Found: "agent", Direction: dirs[i], SSRC: s.ssrc,
			PayloadType: s.pt, Codec: codec, ClockRate: clock, Packets: int(min(s.packets, math.MaxInt32)), Expected: int(min(s.expected, math.MaxInt32)),
			Lost: int(min(s.lost, math.MaxInt32)), LossPercent: loss, MaxDeltaMS: round3(s.maxDelta), MaxJitterMS: round3(s.maxJitter),
			MeanJitterMS: round3(s.meanJitter), Start: s.first.UTC(), End: s.last.UTC(), DurationMS: s.last.Sub(s.first).Milliseconds()}
		if s.src.IsValid() {
			o.Src = apText(s.src)
		}
		if s.dst.IsValid() {
			o.Dst = apText(s.dst)
		}
		if s.packets >= minAudioPackets {
			o.MOS = s.mos
			if o.MOS == 0 {
				o.MOS = math.Round(rtp.EstimateMOS(codec, loss, s.meanJitter, 0)*100) / 100
			}
		}
		call.Media = append(call.Media, o)
		d := sides[dirs[i]]
		if d == nil || !s.hasPackets {
			continue
		}
		d.reported = true
		d.oneWay = d.oneWay || s.oneWay
		if s.packets >= minAudioPackets {
			if !d.seen || o.MOS < d.mos {
				d.mos, d.loss, d.jitter, d.stream = o.MOS, loss, o.MaxJitterMS, o
			}
			d.seen = true
			d.packets += s.packets
		}
	}
	up, down := sides["caller_to_callee"], sides["callee_to_caller"]
	audio := &Audio{}
	switch {
	case up.seen && down.seen:
		audio.Verdict = "both"
	case up.seen != down.seen:
		seen, miss, name := up, down, "caller_to_callee"
		if down.seen {
			seen, miss, name = down, up, "callee_to_caller"
		}
		if !miss.reported && !seen.oneWay {
			return true // one direction's reports only: not enough for a verdict
		}
		audio.Verdict, audio.Direction = "one_way", name
	case up.reported && down.reported:
		audio.Verdict = "none"
	default:
		return true
	}
	for _, name := range []string{"caller_to_callee", "callee_to_caller"} {
		d := sides[name]
		if d.seen && (audio.WorstMOS == nil || d.mos < *audio.WorstMOS) {
			m, l, j := round1(d.mos), d.loss, d.jitter
			audio.MOS, audio.WorstMOS, audio.WorstLossPercent, audio.WorstJitterMS, audio.WorstDirection = &m, &m, &l, &j, name
		}
	}
	call.Audio = audio
	var flowing *MediaStream
	if audio.Direction != "" {
		flowing = sides[audio.Direction].stream
	}
	a.reportedFindings(call, "agent", flowing, 0)
	return true
}
