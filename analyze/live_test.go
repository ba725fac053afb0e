package analyze

import (
	"testing"
	"time"
)

// liveFlows are calls whose verdict depends on timers: nothing back until
// Timer B, ringing then busy, answered, and a 100 Trying with nothing after.
func liveFlows() []Message {
	var f flow
	for i, at := range []time.Duration{0, 500, 1500, 3500, 7500, 15500, 31500} {
		_ = i
		f.req(at*time.Millisecond, phone, provider, "INVITE", "silent", 1, "z9hG4bK-s", "fs", "")
	}
	f.req(40*time.Second, phone, provider, "INVITE", "busy", 1, "z9hG4bK-b", "fb", "")
	f.resp(40*time.Second+100*time.Millisecond, provider, phone, 180, "Ringing", "busy", 1, "INVITE", "z9hG4bK-b", "fb", "tb")
	f.resp(60*time.Second, provider, phone, 486, "Busy Here", "busy", 1, "INVITE", "z9hG4bK-b", "fb", "tb")
	f.req(60*time.Second+time.Millisecond, phone, provider, "ACK", "busy", 1, "z9hG4bK-b", "fb", "tb")
	f.req(70*time.Second, phone, provider, "INVITE", "ok", 1, "z9hG4bK-o", "fo", "")
	f.resp(71*time.Second, provider, phone, 200, "OK", "ok", 1, "INVITE", "z9hG4bK-o", "fo", "to")
	f.req(71*time.Second+time.Millisecond, phone, provider, "ACK", "ok", 1, "z9hG4bK-o2", "fo", "to")
	f.req(80*time.Second, phone, provider, "BYE", "ok", 2, "z9hG4bK-o3", "fo", "to")
	f.resp(80*time.Second+time.Millisecond, provider, phone, 200, "OK", "ok", 2, "BYE", "z9hG4bK-o3", "fo", "to")
	f.req(90*time.Second, phone, provider, "INVITE", "trying", 1, "z9hG4bK-t", "ft", "")
	f.resp(90*time.Second+10*time.Millisecond, provider, phone, 100, "Trying", "trying", 1, "INVITE", "z9hG4bK-t", "ft", "")
	// Something else goes on, so that packet time passes Timer C.
	f.req(5*time.Minute, phone, provider, "OPTIONS", "keepalive", 1, "z9hG4bK-k", "fk", "")
	return f.msgs
}

// The live collector and `sipcause analyze` give the same verdict for the
// same traffic (issue 8): timers run on packet time, also when the
// sender's clock is hours off or HEP arrives ten times faster than real
// time, and no live call is "incomplete because the capture ends".
func TestLiveSameVerdictAsBatch(t *testing.T) {
	batch := map[string]*Call{}
	for _, c := range run(t, liveFlows(), Options{}).Calls {
		batch[c.CallID] = c
	}
	modes := []struct {
		name  string
		skew  time.Duration // the sender's clock against the collector's
		speed float64       // packet time per collector time
	}{{"real time", 0, 1}, {"clock 3 h ahead", 3 * time.Hour, 1}, {"clock 2 h behind", -2 * time.Hour, 1}, {"10x faster", 0, 10}}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			live := map[string]*Call{}
			a := New(Options{Settle: 2 * time.Second, Live: true, OnCall: func(c *Call) { live[c.CallID] = c }})
			msgs := liveFlows()
			start := msgs[0].Time
			// The collector's clock when a packet of time pt arrives.
			wall := func(pt time.Time) time.Time {
				return start.Add(time.Duration(float64(pt.Sub(start)) / mode.speed))
			}
			// The collector flushes every second of its own clock, and
			// keeps running after the traffic.
			next := 0
			end := wall(msgs[len(msgs)-1].Time).Add(10 * time.Minute)
			for tick := start; !tick.After(end); tick = tick.Add(time.Second) {
				for next < len(msgs) && !wall(msgs[next].Time).After(tick) {
					m := msgs[next]
					m.Time = m.Time.Add(mode.skew)
					a.Add(m)
					next++
				}
				// Its clock is its own; what it flushes with is packet
				// time as far as it can know it: the sender's clock, as
				// HEP gives it, moved on by the time since.
				a.Flush(tick.Add(mode.skew))
			}
			for id, b := range batch {
				l := live[id]
				if l == nil {
					t.Errorf("%s: not reported live", id)
					continue
				}
				if l.Outcome != b.Outcome || l.Fault != b.Fault || l.FinalStatus != b.FinalStatus || firstID(l) != firstID(b) {
					t.Errorf("%s: live %d %s %s %s; batch %d %s %s %s", id, l.FinalStatus, l.Outcome, l.Fault, firstID(l),
						b.FinalStatus, b.Outcome, b.Fault, firstID(b))
				}
				if firstID(l) == "incomplete" {
					t.Errorf("%s: a live call says the capture ended", id)
				}
			}
		})
	}
	for id, want := range map[string]string{"silent": OutcomeTimeout, "busy": OutcomeBusy, "ok": OutcomeAnswered, "trying": OutcomeTimeout} {
		if batch[id] == nil || batch[id].Outcome != want {
			t.Errorf("batch %s: %+v, want %s", id, batch[id], want)
		}
	}
}

func firstID(c *Call) string {
	if len(c.Findings) == 0 {
		return ""
	}
	return c.Findings[0].ID
}

// Several input files each have their own time base: a call that ends a
// file 5 years before the next does not wait across them (it once said "no
// final answer within 470430184 s").
func TestFilesHaveTheirOwnTimeBase(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "old", 1, "z9hG4bK-a", "fa", "")
	f.resp(50*time.Millisecond, provider, phone, 180, "Ringing", "old", 1, "INVITE", "z9hG4bK-a", "fa", "ta")
	f.req(5*time.Second, phone, provider, "OPTIONS", "ping", 1, "z9hG4bK-p", "fp", "")
	for i := range f.msgs {
		f.msgs[i].File = "old.pcap"
	}
	n := len(f.msgs)
	later := 5 * 365 * 24 * time.Hour
	f.req(later, phone, provider, "INVITE", "new", 1, "z9hG4bK-n", "fn", "")
	f.resp(later+time.Second, provider, phone, 486, "Busy Here", "new", 1, "INVITE", "z9hG4bK-n", "fn", "tn")
	for i := n; i < len(f.msgs); i++ {
		f.msgs[i].File = "new.pcap"
	}
	r := run(t, f.msgs, Options{})
	old := callByID(t, r, "old")
	checkCall(t, old, 0, OutcomeIncomplete, "none", "incomplete")
	if s := old.Findings[0].Values["secs"]; s != "5.0" {
		t.Errorf("the old call waited %s s, want 5.0 (until the end of its own file)", s)
	}
	checkCall(t, callByID(t, r, "new"), 486, OutcomeBusy, "remote", "busy")
}

// Two captures from two sites: the first behind a NAT (private addresses:
// your side), the second a PBX on public addresses that registers with its
// provider. Read together, the second PBX would be "remote" because only
// private addresses are local in a mixed input; each file has its own
// roles unless the files overlap in time (issue 8).
func TestRolesPerFile(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "site-a", 1, "z9hG4bK-a", "fa", "")
	f.resp(time.Second, provider, phone, 486, "Busy Here", "site-a", 1, "INVITE", "z9hG4bK-a", "fa", "ta")
	for i := range f.msgs {
		f.msgs[i].File = "site-a.pcap"
	}
	n := len(f.msgs)
	const pbxB, sbcB = "198.51.100.50:5060", "203.0.113.77:5060"
	day := 24 * time.Hour
	f.req(day, pbxB, sbcB, "REGISTER", "reg-b", 1, "z9hG4bK-r", "fr", "", func(m *Message) { m.Expires = 3600 })
	f.resp(day+50*time.Millisecond, sbcB, pbxB, 200, "OK", "reg-b", 1, "REGISTER", "z9hG4bK-r", "fr", "tr")
	f.req(day+time.Minute, sbcB, pbxB, "INVITE", "site-b", 1, "z9hG4bK-b", "fb", "")
	f.resp(day+time.Minute+20*time.Millisecond, pbxB, sbcB, 404, "Not Found", "site-b", 1, "INVITE", "z9hG4bK-b", "fb", "tb")
	for i := n; i < len(f.msgs); i++ {
		f.msgs[i].File = "site-b.pcap"
	}
	r := run(t, f.msgs, Options{})
	checkCall(t, callByID(t, r, "site-a"), 486, OutcomeBusy, "remote", "busy")
	b := callByID(t, r, "site-b")
	checkCall(t, b, 404, OutcomeRejected, "local", "inbound-refused")
	if b.Direction != "incoming" {
		t.Errorf("site-b direction %s, want incoming", b.Direction)
	}

	// The same two files overlapping in time are one site seen twice: the
	// roles of the whole input apply (the public PBX is not local then).
	for i := n; i < len(f.msgs); i++ {
		f.msgs[i].Time = f.msgs[i].Time.Add(-day)
	}
	msgs := append([]Message(nil), f.msgs...)
	sortByTime(msgs)
	r = run(t, msgs, Options{})
	if c := callByID(t, r, "site-b"); c.Direction == "incoming" && c.Fault == "local" {
		t.Errorf("overlapping files: site-b %s %s, want the roles of the whole input", c.Direction, c.Fault)
	}
}

func sortByTime(ms []Message) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Time.Before(ms[j-1].Time); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}
