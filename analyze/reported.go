package analyze

import (
	"math"
	"net/netip"
	"time"

	"github.com/sipcause/sipcause/rtp"
)

// Limits of what agents' RTCP reports make the analyzer hold: a few
// streams per call, and reports only for calls it holds open.
const (
	maxReportedStreams = 8
	// reportedClockRate is the RTP clock rate assumed to turn a report's
	// jitter (in timestamp units, RFC 3550 §6.4.1) into milliseconds: the
	// report does not say the codec, and narrowband voice runs at 8 kHz.
	reportedClockRate = 8000
	maxReportedJitter = 10000.0 // ms; a larger figure is no jitter but garbage
	maxReportedRTT    = 10000.0 // ms
)

// reportedCall is what agents reported by RTCP about the streams of one
// open call, by SSRC.
type reportedCall struct {
	streams []*reportedStream
	// silent counts reports that carried no reception report block: the
	// reporter heard no RTP since its previous report (RFC 3550 §6.4).
	silent map[netip.Addr]int
	// agent are the streams agents' RTP statistics reports told of
	// (AddCallQoS, agentqos.go).
	agent []*agentStream
	// reporters are the members that sent RTCP, to know when all have
	// left (mediawait.go).
	reporters []rtcpReporter
}

func newReportedCall() *reportedCall {
	return &reportedCall{silent: map[netip.Addr]int{}}
}

// reportedFor is the reports kept for open call callID, made on first use.
func (a *Analyzer) reportedFor(callID string) *reportedCall {
	if a.rtcpReports == nil {
		a.rtcpReports = map[string]*reportedCall{}
	}
	rc := a.rtcpReports[callID]
	if rc == nil {
		rc = newReportedCall()
		a.rtcpReports[callID] = rc
	}
	return rc
}

type reportedStream struct {
	ssrc       uint32
	sender     netip.AddrPort // where the sender's own reports came from
	receiver   netip.AddrPort // where reports about the stream came from
	sent       uint32         // the sender's packet count (SR)
	hasSR      bool
	srMid      uint32
	srTime     time.Time
	first      time.Time
	last       time.Time
	stats      RTCPStats
	rtt        float64
	hasRTT     bool
	lossBlocks bool // a reception report about the stream was seen
}

func (rc *reportedCall) stream(ssrc uint32, t time.Time) *reportedStream {
	for _, s := range rc.streams {
		if s.ssrc == ssrc {
			return s
		}
	}
	if len(rc.streams) >= maxReportedStreams {
		return nil
	}
	s := &reportedStream{ssrc: ssrc, first: t}
	rc.streams = append(rc.streams, s)
	return s
}

// AddCallRTCP attaches an RTCP report that a capture agent sent about call
// callID (HEP's correlation id, the SIP Call-ID) to that call, when the
// analyzer holds it open: sender reports give the packets each side sent,
// reception report blocks what the other side received of it (RFC 3550
// §6.4.1), an XR VoIP metrics block the receiver's own figures (RFC 3611
// §4.7), a BYE that the sender leaves (§6.6). Figures are clamped: a
// report is the sender's word, not a fact. The reports give the call its
// streams and, when they say enough, its audio verdict. With
// Options.MediaWait, reports about a call not open yet are kept a few
// seconds for it. AddCallRTCP reports whether the report was kept.
func (a *Analyzer) AddCallRTCP(callID string, t time.Time, src netip.AddrPort, r *rtp.RTCP) bool {
	if r == nil {
		return false
	}
	rc := a.reportsFor(callID, t)
	if rc == nil {
		return false
	}
	if r.SR || r.NBlocks > 0 || r.HasXR || r.Bye {
		rc.noteReporter(r.SenderSSRC, r.Bye)
	}
	src = unmapAP(src)
	touch := func(s *reportedStream) {
		if t.Before(s.first) {
			s.first = t
		}
		if t.After(s.last) {
			s.last = t
		}
	}
	if r.SR {
		if s := rc.stream(r.SenderSSRC, t); s != nil {
			s.sender, s.sent, s.hasSR, s.srMid, s.srTime = src, r.SenderPackets, true, r.NTPMiddle, t
			touch(s)
		}
	}
	n := min(r.NBlocks, len(r.Blocks))
	if n == 0 && !r.HasXR && len(rc.silent) < maxReportedStreams {
		rc.silent[src.Addr()]++
	}
	for i := range n {
		b := r.Blocks[i]
		s := rc.stream(b.SSRC, t)
		if s == nil {
			continue
		}
		touch(s)
		s.receiver, s.lossBlocks = src, true
		s.stats.Reports++
		s.stats.FractionLost = round3(float64(b.FractionLost) * 100 / 256)
		s.stats.CumulativeLost = max(0, int(b.CumulativeLost))
		s.stats.JitterMS = round3(math.Min(float64(b.Jitter)*1000/reportedClockRate, maxReportedJitter))
		// RTT = arrival of this report - LSR - DLSR (RFC 3550 §6.4.1),
		// with the agents' times of the SR and of this report.
		if b.LSR != 0 && s.hasSR && b.LSR == s.srMid {
			rtt := t.Sub(s.srTime).Seconds()*1000 - float64(b.DLSR)*1000/65536
			if rtt >= 0 && rtt <= maxReportedRTT {
				s.rtt, s.hasRTT = rtt, true
			}
		}
	}
	if r.HasXR {
		if s := rc.stream(r.XR.SSRC, t); s != nil {
			touch(s)
			if r.XR.MOSLQ >= 10 && r.XR.MOSLQ <= 50 {
				v := float64(r.XR.MOSLQ) / 10
				s.stats.XRMOS = &v
			}
			l := round3(float64(r.XR.LossRate) * 100 / 256)
			s.stats.XRLossPercent = &l
			s.stats.Reports++
		}
	}
	return true
}

// attachReported gives a call that the input's own RTP said nothing about
// the streams and audio verdict its agents' RTCP reports tell, and forgets
// the reports.
//
// A stream counts as received when a reception report block names it: an
// RTP receiver reports only on sources it heard (RFC 3550 §6.4). A stream
// whose sender reported packets, while the other side reported and named
// nothing, did not arrive: the call is one way. Without reports from both
// sides nothing is said about the direction that went unreported.
func (a *Analyzer) attachReported(c *callState, call *Call) {
	rc := a.rtcpReports[c.callID]
	if rc == nil {
		return
	}
	delete(a.rtcpReports, c.callID)
	if len(call.Media) > 0 {
		return // the input's own RTP says more than the reports
	}
	// An agent that measured the RTP itself says more than RTCP, which
	// is what the phones said of it.
	if a.attachAgent(c, call, rc) {
		return
	}
	var caller, callee netip.Addr
	if len(c.invites) > 0 {
		caller, callee = unmapAP(c.invites[0].req.src).Addr(), unmapAP(c.invites[0].req.dst).Addr()
	}
	direction := func(s *reportedStream) string {
		from := s.sender.Addr()
		if !from.IsValid() && s.receiver.IsValid() {
			// Received by the receiver: sent by the other party.
			switch s.receiver.Addr() {
			case caller:
				return "callee_to_caller"
			case callee:
				return "caller_to_callee"
			}
			return "unknown"
		}
		switch from {
		case caller:
			return "caller_to_callee"
		case callee:
			return "callee_to_caller"
		}
		return "unknown"
	}
	var received, lost []*reportedStream
	worst := -1.0
	var worstS *reportedStream
	for i, s := range rc.streams {
		o := &MediaStream{Number: i + 1, CallID: c.callID, Found: "rtcp", Direction: direction(s), SSRC: s.ssrc,
			Packets: int(min(s.sent, math.MaxInt32)), Start: s.first.UTC(), End: s.last.UTC(), DurationMS: s.last.Sub(s.first).Milliseconds()}
		if s.sender.IsValid() {
			o.Src = apText(s.sender)
		}
		if s.receiver.IsValid() {
			o.Dst = apText(s.receiver)
		}
		if s.stats.Reports > 0 {
			st := s.stats
			if s.hasRTT {
				v := round3(s.rtt)
				st.RTTMS = &v
			}
			o.RTCP = &st
		}
		switch {
		case s.lossBlocks:
			received = append(received, s)
			loss := s.stats.FractionLost
			if s.stats.XRLossPercent != nil {
				loss = max(loss, *s.stats.XRLossPercent)
			}
			o.LossPercent = loss
			o.MeanJitterMS, o.MaxJitterMS = s.stats.JitterMS, s.stats.JitterMS
			rtt := 0.0
			if s.hasRTT {
				rtt = s.rtt
			}
			o.MOS = math.Round(rtp.EstimateMOS("", loss, s.stats.JitterMS, rtt)*100) / 100
			if s.stats.XRMOS != nil {
				o.MOS = math.Min(o.MOS, *s.stats.XRMOS)
			}
			if worstS == nil || o.MOS < worst {
				worst, worstS = o.MOS, s
			}
		case s.hasSR && s.sent >= minAudioPackets && s.sender.IsValid() && rc.silent[otherSide(s.sender.Addr(), caller, callee)] > 0:
			lost = append(lost, s)
		}
		call.Media = append(call.Media, o)
	}
	audio := &Audio{}
	switch {
	case len(received) >= 2:
		audio.Verdict = "both"
	case len(received) == 1 && len(lost) > 0:
		audio.Verdict, audio.Direction = "one_way", direction(received[0])
	case len(received) == 0 && len(lost) > 0:
		audio.Verdict = "none"
	default:
		return // one side's reports only: not enough for a verdict
	}
	if worstS != nil {
		m := round1(worst)
		l, j := call.Media[indexOf(rc.streams, worstS)].LossPercent, worstS.stats.JitterMS
		audio.MOS, audio.WorstMOS, audio.WorstLossPercent, audio.WorstJitterMS = &m, &m, &l, &j
		audio.WorstDirection = direction(worstS)
	}
	call.Audio = audio
	var flowing *MediaStream
	sent := 0
	if audio.Verdict == "one_way" {
		flowing = call.Media[indexOf(rc.streams, received[0])]
		sent = int(min(lost[0].sent, math.MaxInt32))
	}
	a.reportedFindings(call, "rtcp", flowing, sent)
}

// otherSide is the party address opposite a, when a is one of the call's
// two signalling addresses.
func otherSide(a, caller, callee netip.Addr) netip.Addr {
	switch a {
	case caller:
		return callee
	case callee:
		return caller
	}
	return netip.Addr{}
}

func indexOf(list []*reportedStream, s *reportedStream) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

// Problem reports whether a call's audio verdict is one the helpdesk
// searches for: audio in one direction only, none at all, or a MOS below
// 3.6, where ITU-T G.107 Annex B places "many users dissatisfied".
func (a *Audio) Problem() bool {
	if a == nil {
		return false
	}
	return a.Verdict == "one_way" || a.Verdict == "none" || a.MOS != nil && *a.MOS < 3.6
}
