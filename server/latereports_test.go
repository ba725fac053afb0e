package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

// liveCall is synthetic call i as a live capture agent sends it: every
// message stamped with the time it is sent, the whole call a few
// milliseconds long (a short call; synth's own times are 30 s apart, which
// a live collector would take 30 s to see out).
func liveCall(i int, now time.Time, o synth.CallOptions) []synth.Packet {
	ps := synth.Call(i, now, o)
	for k := range ps {
		ps[k].Time = now.Add(time.Duration(k) * time.Millisecond)
	}
	return ps
}

// srBye is a compound RTCP packet as a phone sends it when it leaves the
// session: its SR with one report block, then a BYE (RFC 3550 §6.6).
func srBye(ssrc, packets, about uint32, fraction uint8, lost, jitter uint32) []byte {
	b := binarySR(ssrc, packets, about, fraction, lost, jitter)
	b = append(b, 0x81, 203, 0, 1)
	return binary.BigEndian.AppendUint32(b, ssrc)
}

func mediaText(ms []*analyze.MediaStream) string {
	s := ""
	for _, m := range ms {
		s += fmt.Sprintf("[%s %s→%s %d packets, %d lost, MOS %.2f] ", m.Found, m.Src, m.Dst, m.Packets, m.Lost, m.MOS)
	}
	return s
}

func audioText(a *analyze.Audio) string {
	if a == nil {
		return "none"
	}
	s := a.Verdict + " " + a.Direction
	if a.MOS != nil {
		s += fmt.Sprintf(" MOS %.1f worst %s", *a.MOS, a.WorstDirection)
	}
	return s
}

// waitStored waits, at most bound, until the store has acknowledged n calls
// and registrations, and returns how long that took.
func (r *running) waitStored(t *testing.T, n int64, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, err := r.col.Stored()
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%d of %d calls stored after %s", got, n, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHEPReportsAfterBYE: agents send a call's last reports a moment after
// the BYE was answered (rtpagent its HANGUP report, a phone its last SR
// with its RTCP BYE). Three calls go to the collector by HEP over
// loopback UDP, stamped with the time they are sent; 1.5 s after each
// call's BYE/200, its last reports:
//   - "late-periodic": the agent reported both streams during the call
//     (400 packets each, MOS 4.4); its HANGUP reports give the whole
//     streams: 1500 packets each way, 150 of them lost one way, MOS 2.9;
//   - "late-short": a short call with no report before its end; the
//     HANGUP reports say the called side sent nothing (one way);
//   - "late-rtcp": the two phones' last SRs and RTCP BYEs, heard both
//     ways with 2/256 lost one way.
//
// The collector stores each call by itself once the last reports are in
// (before its wait ends, and before it is stopped), with the last reports'
// figures, verdict and finding, as the API returns it.
func TestHEPReportsAfterBYE(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond})
	caller := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 4000)
	}
	callee := netip.MustParseAddrPort("10.0.0.1:30000")
	now := time.Now()

	periodic := liveCall(1, now, synth.CallOptions{CallID: "late-periodic@sipcause.test"})
	during := now.Add(3 * time.Millisecond)
	pkts := withRTCP(periodic, [][]byte{
		hepReport(34, caller(1), callee, during, "late-periodic@sipcause.test", rtpAgentReport("late-periodic@sipcause.test", caller(1), callee, 400, 0, 0.2, 4.4, "PERIODIC")),
		hepReport(34, callee, caller(1), during, "late-periodic@sipcause.test", rtpAgentReport("late-periodic@sipcause.test", callee, caller(1), 400, 0, 0.2, 4.4, "PERIODIC")),
	})
	pkts = append(pkts, hepOf(liveCall(2, now, synth.CallOptions{CallID: "late-short@sipcause.test"}))...)
	pkts = append(pkts, hepOf(liveCall(3, now, synth.CallOptions{CallID: "late-rtcp@sipcause.test"}))...)
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))

	time.Sleep(1500 * time.Millisecond)
	late := time.Now()
	finals := [][]byte{
		hepReport(34, caller(1), callee, late, "late-periodic@sipcause.test", rtpAgentReport("late-periodic@sipcause.test", caller(1), callee, 1500, 0, 0.2, 4.4, "HANGUP")),
		hepReport(34, callee, caller(1), late, "late-periodic@sipcause.test", rtpAgentReport("late-periodic@sipcause.test", callee, caller(1), 1500, 150, 12, 2.9, "HANGUP")),
		hepReport(34, caller(2), callee, late, "late-short@sipcause.test", rtpAgentReport("late-short@sipcause.test", caller(2), callee, 250, 0, 0.2, 4.3, "HANGUP")),
		hepReport(34, callee, caller(2), late, "late-short@sipcause.test", rtpAgentReport("late-short@sipcause.test", callee, caller(2), 0, 0, 0, 0, "HANGUP")),
		hepRTCP(caller(3), callee, late, "late-rtcp@sipcause.test", srBye(1111, 1500, 2222, 0, 0, 40)),
		hepRTCP(callee, caller(3), late, "late-rtcp@sipcause.test", srBye(2222, 1500, 1111, 2, 3, 80)),
	}
	sendUDP(t, r.col.HEPAddr(), finals)
	r.waitReceived(t, int64(len(pkts)+len(finals)))
	// Stored by themselves: the last reports end the wait.
	r.waitStored(t, 3, 10*time.Second)
	r.stop(t)

	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English, Location: time.UTC}, st, NewMetrics()))
	defer ts.Close()
	get := func(id string) *analyze.Call {
		t.Helper()
		resp, err := http.Get(ts.URL + "/api/v1/calls/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v struct{ Call *analyze.Call }
		if resp.StatusCode != 200 || json.Unmarshal(b, &v) != nil || v.Call == nil {
			t.Fatalf("GET /api/v1/calls/%s: %d %.300s", id, resp.StatusCode, b)
		}
		return v.Call
	}

	c := get("late-periodic@sipcause.test")
	if len(c.Media) != 2 || c.Media[0].Packets != 1500 || c.Media[1].Packets != 1500 || c.Media[1].Lost != 150 {
		t.Errorf("late-periodic: streams %s; want the HANGUP reports' 1500 packets each way, 150 lost", mediaText(c.Media))
	}
	if c.Audio == nil || c.Audio.Verdict != "both" || c.Audio.MOS == nil || *c.Audio.MOS != 2.9 || c.Audio.WorstDirection != "callee_to_caller" {
		t.Errorf("late-periodic: audio %s; want both ways, MOS 2.9 callee to caller", audioText(c.Audio))
	}

	c = get("late-short@sipcause.test")
	if len(c.Media) != 2 || c.Media[0].Packets != 250 || c.Media[1].Packets != 0 {
		t.Errorf("late-short: streams %s; want 250 and 0 packets", mediaText(c.Media))
	}
	if c.Audio == nil || c.Audio.Verdict != "one_way" || c.Audio.Direction != "caller_to_callee" {
		t.Errorf("late-short: audio %s; want one way, caller to callee", audioText(c.Audio))
	}
	if len(c.Findings) == 0 || c.Findings[0].ID != "media-report-one-way" || c.Fault != c.Findings[0].Fault {
		t.Errorf("late-short: findings %+v, fault %q; want media-report-one-way first", c.Findings, c.Fault)
	}

	c = get("late-rtcp@sipcause.test")
	if len(c.Media) != 2 || c.Audio == nil || c.Audio.Verdict != "both" {
		t.Errorf("late-rtcp: streams %s, audio %s; want two streams heard both ways", mediaText(c.Media), audioText(c.Audio))
	} else if c.Audio.WorstLossPercent == nil || *c.Audio.WorstLossPercent != 0.781 {
		t.Errorf("late-rtcp: worst loss %v; want 2/256", c.Audio.WorstLossPercent)
	}
	for _, m := range c.Media {
		if m.Found != "rtcp" || m.Packets != 1500 || m.RTCP == nil {
			t.Errorf("late-rtcp: stream %s; want the SRs' 1500 packets", mediaText([]*analyze.MediaStream{m}))
		}
	}

	// The dashboard and the audio-problem search read the stored calls:
	// the dashboard's MOS over time has the three calls, the worst the
	// HANGUP reports' 2.9, and the one-way call; the search finds the MOS
	// 2.9 call and the one-way call.
	ab, err := st.AudioTimeline(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	calls, oneWay, worst := 0, 0, 5.0
	for _, b := range ab {
		calls, oneWay = calls+b.Calls, oneWay+b.OneWay
		if b.Calls > 0 {
			worst = min(worst, b.WorstMOS)
		}
	}
	if calls != 3 || oneWay != 1 || worst != 2.9 {
		t.Errorf("dashboard audio: %d calls with a MOS, %d one way, worst %.1f; want 3, 1, 2.9", calls, oneWay, worst)
	}
	got, err := st.SearchCalls(context.Background(), store.Query{Audio: store.AudioProblem})
	if err != nil || len(got) != 2 {
		t.Errorf("audio-problem search: %d calls (%v); want 2", len(got), err)
	}
}

// TestHEPMediaWaitBounds: what waits for agents' reports, and how long.
//   - With no agent reporting, a finished call is stored as soon as it
//     was before (about a second after its BYE/200), well within the wait.
//   - A call the agent reported on, whose last reports never come, is
//     stored by itself when the wait (5 s) is over: a silent agent does
//     not hold it for ever.
//   - At most MaxMediaWaiting calls wait; the call that ended first is
//     stored at once, with the reports it had, and counted.
//   - A sender whose clock is hours off (every message analyzed at its
//     arrival) still has its calls stored without more traffic.
func TestHEPMediaWaitBounds(t *testing.T) {
	caller := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 4000)
	}
	callee := netip.MustParseAddrPort("10.0.0.1:30000")
	periodic := func(i int, id string, at time.Time) []byte {
		return hepReport(34, caller(i), callee, at, id, rtpAgentReport(id, caller(i), callee, 400, 0, 0.2, 4.4, "PERIODIC"))
	}

	t.Run("no reports, then a silent agent", func(t *testing.T) {
		r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond})
		pkts := hepOf(liveCall(1, time.Now(), synth.CallOptions{CallID: "plain@sipcause.test"}))
		sendUDP(t, r.col.HEPAddr(), pkts)
		if took := r.waitStored(t, 1, 10*time.Second); took > 3*time.Second {
			t.Errorf("a call no agent reported on was stored %s after its end; want about 1 s, as without the wait", took)
		}
		now := time.Now()
		silent := withRTCP(liveCall(2, now, synth.CallOptions{CallID: "silent-agent@sipcause.test"}), [][]byte{periodic(2, "silent-agent@sipcause.test", now)})
		sendUDP(t, r.col.HEPAddr(), silent)
		took := r.waitStored(t, 2, 15*time.Second)
		if took < 4*time.Second {
			t.Errorf("a call whose agent sent no last report was stored %s after its end; want it to wait 5 s", took)
		}
		r.stop(t)
		st, err := store.OpenSQLite(r.path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cr, err := st.GetCall(context.Background(), "silent-agent@sipcause.test")
		if err != nil || len(cr.Call.Media) != 1 || cr.Call.Media[0].Packets != 400 {
			t.Errorf("silent agent's call: %v (%v); want the periodic report's stream", cr, err)
		}
	})

	t.Run("at most MaxMediaWaiting wait", func(t *testing.T) {
		r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond,
			MediaWait: time.Minute, MaxMediaWaiting: 1})
		now := time.Now()
		first := withRTCP(liveCall(3, now, synth.CallOptions{CallID: "first@sipcause.test"}), [][]byte{periodic(3, "first@sipcause.test", now)})
		second := withRTCP(liveCall(4, now.Add(10*time.Millisecond), synth.CallOptions{CallID: "second@sipcause.test"}),
			[][]byte{periodic(4, "second@sipcause.test", now.Add(10*time.Millisecond))})
		sendUDP(t, r.col.HEPAddr(), append(first, second...))
		r.waitStored(t, 1, 10*time.Second)
		time.Sleep(500 * time.Millisecond)
		if n, _ := r.col.Stored(); n != 1 || r.m.Snapshot().MediaWaitCapped != 1 {
			t.Errorf("%d calls stored, %d past the bound; want 1 and 1 (the other waits)", n, r.m.Snapshot().MediaWaitCapped)
		}
		r.stop(t) // a clean stop stores the waiting call too
		st, err := store.OpenSQLite(r.path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for _, id := range []string{"first@sipcause.test", "second@sipcause.test"} {
			cr, err := st.GetCall(context.Background(), id)
			if err != nil || len(cr.Call.Media) != 1 || cr.Call.Media[0].Packets != 400 {
				t.Errorf("%s: %v (%v); want it stored with its periodic report", id, cr, err)
			}
		}
	})

	t.Run("sender clock hours off", func(t *testing.T) {
		r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond})
		pkts := hepOf(liveCall(5, time.Now().Add(-2*time.Hour), synth.CallOptions{CallID: "off-clock@sipcause.test"}))
		sendUDP(t, r.col.HEPAddr(), pkts)
		r.waitStored(t, 1, 10*time.Second)
	})
}
