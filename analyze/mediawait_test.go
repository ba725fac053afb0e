package analyze

import (
	"fmt"
	"testing"
	"time"

	"github.com/sipcause/sipcause/rtp"
)

// waitCall adds an answered call to f: INVITE at start, 200 at +1 s, ACK,
// BYE at +10 s and its 200 1 ms later (code: the final answer to the
// INVITE; a failure has no BYE).
func waitCall(f *flow, id string, start time.Duration, code int) {
	b := "z9hG4bK-" + id
	f.req(start, phone, provider, "INVITE", id, 1, b, "f"+id, "")
	if code >= 300 {
		f.resp(start+time.Second, provider, phone, code, "Busy Here", id, 1, "INVITE", b, "f"+id, "t"+id)
		f.req(start+time.Second+time.Millisecond, phone, provider, "ACK", id, 1, b, "f"+id, "t"+id)
		return
	}
	f.resp(start+time.Second, provider, phone, 200, "OK", id, 1, "INVITE", b, "f"+id, "t"+id)
	f.req(start+time.Second+time.Millisecond, phone, provider, "ACK", id, 1, b+"a", "f"+id, "t"+id)
	f.req(start+10*time.Second, phone, provider, "BYE", id, 2, b+"b", "f"+id, "t"+id)
	f.resp(start+10*time.Second+time.Millisecond, provider, phone, 200, "OK", id, 2, "BYE", b+"b", "f"+id, "t"+id)
}

// agentReport is an agent's report on one direction of a call between
// phone and provider (the media at their signalling addresses).
func agentReport(up bool, packets, lost uint32, mos float64, final bool) *rtp.QoSReport {
	src, dst := ap("192.168.1.10:4000"), ap("198.51.100.7:30000")
	if !up {
		src, dst = dst, src
	}
	return &rtp.QoSReport{Src: src, Dst: dst, Packets: packets, HasPackets: true, Lost: lost, HasLost: true,
		MOS: mos, PayloadType: 8, Codec: "PCMA", ClockRate: 8000, Final: final}
}

// liveWait is a live analyzer that waits up to opt.MediaWait for reports
// (zero: 5 s; negative: none), and the calls it reported.
func liveWait(opt Options) (*Analyzer, map[string]*Call) {
	got := map[string]*Call{}
	opt.Live, opt.Settle = true, 2*time.Second
	switch {
	case opt.MediaWait == 0:
		opt.MediaWait = 5 * time.Second
	case opt.MediaWait < 0:
		opt.MediaWait = 0 // no wait
	}
	opt.OnCall = func(c *Call) { got[c.CallID] = c }
	return New(opt), got
}

func addAll(a *Analyzer, msgs []Message) {
	for _, m := range msgs {
		a.Add(m)
	}
}

// A finished call that agents reported on waits for their last reports:
// reported as soon as every stream had its HANGUP report, with its
// figures; without them, when the wait is over, with what was reported.
func TestMediaWaitForFinalReports(t *testing.T) {
	var f flow
	waitCall(&f, "w", 0, 200)
	bye := t0.Add(10*time.Second + time.Millisecond)

	t.Run("final reports end the wait", func(t *testing.T) {
		a, got := liveWait(Options{})
		addAll(a, f.msgs[:3])
		a.AddCallQoS("w", t0.Add(5*time.Second), agentReport(true, 200, 0, 4.4, false))
		a.AddCallQoS("w", t0.Add(5*time.Second), agentReport(false, 200, 0, 4.4, false))
		addAll(a, f.msgs[3:])
		a.Flush(bye.Add(1500 * time.Millisecond))
		if got["w"] != nil || a.MediaWaiting() != 1 {
			t.Fatalf("reported 1.5 s after the BYE/200 (%d waiting); want it to wait for the agent's last reports", a.MediaWaiting())
		}
		a.AddCallQoS("w", bye.Add(1600*time.Millisecond), agentReport(true, 500, 0, 4.4, true))
		a.Flush(bye.Add(1700 * time.Millisecond))
		if got["w"] != nil {
			t.Fatal("reported with the last report of one stream of two")
		}
		a.AddCallQoS("w", bye.Add(1800*time.Millisecond), agentReport(false, 500, 50, 3.1, true))
		a.Flush(bye.Add(2 * time.Second))
		c := got["w"]
		if c == nil {
			t.Fatal("not reported once every stream had its last report")
		}
		if len(c.Media) != 2 || c.Media[0].Packets != 500 || c.Media[1].Lost != 50 || c.Audio == nil || c.Audio.MOS == nil || *c.Audio.MOS != 3.1 {
			t.Errorf("streams %v, audio %+v; want the HANGUP reports' 500 packets, 50 lost, MOS 3.1", streamFigures(c.Media), c.Audio)
		}
		if a.MediaWaiting() != 0 {
			t.Errorf("%d calls still waiting", a.MediaWaiting())
		}
	})
	t.Run("a silent agent holds it for the wait only", func(t *testing.T) {
		a, got := liveWait(Options{})
		addAll(a, f.msgs[:3])
		a.AddCallQoS("w", t0.Add(5*time.Second), agentReport(true, 200, 0, 4.4, false))
		addAll(a, f.msgs[3:])
		a.Flush(bye.Add(4900 * time.Millisecond))
		if got["w"] != nil {
			t.Fatal("reported before the wait was over, without the last reports")
		}
		a.Flush(bye.Add(5 * time.Second))
		if c := got["w"]; c == nil || len(c.Media) != 1 || c.Media[0].Packets != 200 {
			t.Fatalf("5 s after the BYE/200: %+v; want the call with the periodic report's 200 packets", c)
		}
	})
	t.Run("RTCP BYE from every member ends the wait", func(t *testing.T) {
		a, got := liveWait(Options{})
		addAll(a, f.msgs)
		caller, provider := ap("192.168.1.10:4001"), ap("198.51.100.7:30001")
		a.AddCallRTCP("w", bye.Add(200*time.Millisecond), caller, srp(1, 2, false))
		a.AddCallRTCP("w", bye.Add(300*time.Millisecond), provider, srp(2, 1, true))
		a.Flush(bye.Add(1500 * time.Millisecond))
		if got["w"] != nil {
			t.Fatal("reported while one RTCP member had not left")
		}
		a.AddCallRTCP("w", bye.Add(1600*time.Millisecond), caller, srp(1, 2, true))
		a.Flush(bye.Add(1700 * time.Millisecond))
		if c := got["w"]; c == nil || len(c.Media) != 2 || c.Audio == nil || c.Audio.Verdict != "both" {
			t.Fatalf("after both members' RTCP BYE: %+v; want the call, heard both ways", c)
		}
	})
}

// srp is an SR of ssrc with a report block about the other side's
// stream, with an RTCP BYE when bye.
func srp(ssrc, about uint32, bye bool) *rtp.RTCP {
	r := &rtp.RTCP{SenderSSRC: ssrc, SR: true, SenderPackets: 500, NBlocks: 1, Bye: bye}
	r.Blocks[0] = rtp.ReportBlock{SSRC: about, FractionLost: 5}
	return r
}

func streamFigures(ms []*MediaStream) string {
	s := ""
	for _, m := range ms {
		s += fmt.Sprintf("[%s %s→%s %d pk %d lost mos %.2f] ", m.Found, m.Src, m.Dst, m.Packets, m.Lost, m.MOS)
	}
	return s
}

// Which calls wait: none while no agent reports (as before MediaWait), an
// answered one while agents report on other calls, never a failed one
// without reports; and at most MaxMediaWaiting, the rest reported at once.
func TestMediaWaitWhichCalls(t *testing.T) {
	var f flow
	waitCall(&f, "a", 0, 200)
	waitCall(&f, "busy", 0, 486)
	waitCall(&f, "b", 100*time.Millisecond, 200)
	end := t0.Add(10*time.Second + 100*time.Millisecond + time.Millisecond)

	// Without reports: reported at the same time as without MediaWait.
	for _, wait := range []time.Duration{5 * time.Second, -1} {
		a, got := liveWait(Options{MediaWait: wait})
		addAll(a, f.msgs)
		a.Flush(end.Add(cleanQuiet))
		if len(got) != 3 {
			t.Errorf("MediaWait %s, no agent reports: %d calls reported 1 s after the last BYE/200; want all 3", wait, len(got))
		}
	}

	// Agents report on call a only: b, answered, waits too; busy does not.
	a, got := liveWait(Options{})
	addAll(a, f.msgs[:3])
	a.AddCallQoS("a", t0.Add(2*time.Second), agentReport(true, 100, 0, 4.4, false))
	addAll(a, f.msgs[3:])
	a.Flush(end.Add(cleanQuiet))
	if got["busy"] == nil || got["a"] != nil || got["b"] != nil || a.MediaWaiting() != 2 {
		t.Errorf("reported %v, %d waiting; want busy reported, a and b waiting", keys(got), a.MediaWaiting())
	}
	a.Flush(end.Add(5 * time.Second))
	if got["a"] == nil || got["b"] == nil {
		t.Errorf("reported %v after the wait; want all", keys(got))
	}

	// At most MaxMediaWaiting calls wait: the first to end is reported.
	a, got = liveWait(Options{MaxMediaWaiting: 1})
	addAll(a, f.msgs[:3])
	a.AddCallQoS("a", t0.Add(2*time.Second), agentReport(true, 100, 0, 4.4, false))
	addAll(a, f.msgs[3:])
	a.Flush(end.Add(cleanQuiet))
	if got["a"] == nil || got["b"] != nil || a.MediaWaiting() != 1 || a.Pressure().MediaWaitCapped != 1 {
		t.Errorf("MaxMediaWaiting 1: reported %v, %d waiting, %d capped; want a reported, b waiting, 1 capped",
			keys(got), a.MediaWaiting(), a.Pressure().MediaWaitCapped)
	}
	if c := got["a"]; c != nil && len(c.Media) != 1 {
		t.Errorf("call reported past the bound lost its reports: %v", streamFigures(c.Media))
	}
}

func keys(m map[string]*Call) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Reports that come before the call's first SIP message (HEP from two
// agents overtaking each other) are kept a few seconds for it, for a
// bounded number of calls; a batch analysis (no MediaWait) keeps none.
func TestMediaWaitEarlyReports(t *testing.T) {
	var f flow
	waitCall(&f, "e", 0, 200)
	a, got := liveWait(Options{})
	if !a.AddCallQoS("e", t0.Add(-time.Second), agentReport(true, 300, 0, 4.2, false)) {
		t.Error("a report a second before its call was not kept")
	}
	addAll(a, f.msgs)
	a.AddCallQoS("e", t0.Add(10*time.Second+100*time.Millisecond), agentReport(true, 700, 0, 4.2, true))
	a.Finish()
	if c := got["e"]; c == nil || len(c.Media) != 1 || c.Media[0].Packets != 700 || c.Media[0].Start != t0.Add(-time.Second) {
		t.Fatalf("call %+v; want its stream from the early report to the final one", c)
	}

	// Kept earlyKeep at most, for maxEarlyCalls calls at most.
	a, got = liveWait(Options{})
	a.AddCallQoS("e", t0.Add(-earlyKeep-time.Second), agentReport(true, 300, 0, 4.2, false))
	for i := range maxEarlyCalls + 10 {
		kept := a.AddCallQoS(fmt.Sprintf("nobody-%d", i), t0.Add(-time.Second), agentReport(true, 1, 0, 4.2, false))
		if kept != (i < maxEarlyCalls-1) {
			t.Fatalf("report %d for a call not open: kept %v", i, kept)
		}
	}
	addAll(a, f.msgs)
	a.Finish()
	if c := got["e"]; c == nil || len(c.Media) != 0 {
		t.Errorf("a report older than %s before its call was attached: %+v", earlyKeep, c)
	}
	if len(a.early) > maxEarlyCalls {
		t.Errorf("%d early entries", len(a.early))
	}

	b := New(Options{})
	if b.AddCallQoS("e", t0, agentReport(true, 1, 0, 4.2, false)) || b.AddCallRTCP("e", t0, ap("192.168.1.10:4001"), srp(1, 2, false)) {
		t.Error("a batch analysis kept a report about a call not open")
	}
}
