package analyze

import (
	"fmt"
	"testing"
	"time"
)

// answeredCalls builds n ordinary answered calls, one starting every 2 s,
// each INVITE, 180 after 1.5 s, 200 after 3 s, ACK, BYE after 10 s, 200.
func answeredCalls(n int) *flow {
	f := &flow{}
	for i := range n {
		at := time.Duration(i) * 2 * time.Second
		id := fmt.Sprintf("call-%d@pbx", i)
		br := fmt.Sprintf("z9hG4bK-%d", i)
		f.req(at, "10.0.0.1:5060", "192.0.2.1:5060", "INVITE", id, 1, br, "ft", "")
		f.resp(at+1500*time.Millisecond, "192.0.2.1:5060", "10.0.0.1:5060", 180, "Ringing", id, 1, "INVITE", br, "ft", "tt")
		f.resp(at+3*time.Second, "192.0.2.1:5060", "10.0.0.1:5060", 200, "OK", id, 1, "INVITE", br, "ft", "tt")
		f.req(at+3100*time.Millisecond, "10.0.0.1:5060", "192.0.2.1:5060", "ACK", id, 1, br+"a", "ft", "tt")
		f.req(at+13*time.Second, "10.0.0.1:5060", "192.0.2.1:5060", "BYE", id, 2, br+"b", "ft", "tt")
		f.resp(at+13100*time.Millisecond, "192.0.2.1:5060", "10.0.0.1:5060", 200, "OK", id, 2, "BYE", br+"b", "ft", "tt")
	}
	return f
}

// TestOneFutureFrameEndsNoCall is the security review's H1 in a capture: a
// single OPTIONS dated 2106 among 300 ordinary calls. Before, it moved the
// analyzer's clock 80 years on and every call still open was ended as a
// time-out (1653 of 3000 in the review); now it is counted as a time
// outlier and every call is answered.
func TestOneFutureFrameEndsNoCall(t *testing.T) {
	for _, where := range []int{0, 700, -1} { // first, in the middle, last
		f := answeredCalls(300)
		bad := Message{Time: time.Unix(0xFFFFFFFF, 0), Src: ap("10.9.9.9:5060"), Dst: ap("10.0.0.1:5060"),
			Request: true, Method: "OPTIONS", CallID: "forged@x", CSeq: 1, CSeqMethod: "OPTIONS",
			Vias: []Via{{Branch: "z9hG4bK-forged"}}, MaxForwards: 70, Expires: -1, RetryAfter: -1, MinExpires: -1, MinSE: -1}
		msgs := f.msgs
		switch where {
		case -1:
			msgs = append(msgs, bad)
		default:
			msgs = append(msgs[:where:where], append([]Message{bad}, msgs[where:]...)...)
		}
		a := New(Options{})
		for _, m := range msgs {
			a.Add(m)
		}
		a.ObserveEnd(msgs[len(msgs)-1].Time) // as ingest does with the last frame's time
		r := a.Finish()
		if got := r.Summary.Outcomes[OutcomeAnswered]; got != 300 || r.Summary.Calls != 300 {
			t.Errorf("forged frame at %d: %d calls, outcomes %v; want 300 answered", where, r.Summary.Calls, r.Summary.Outcomes)
		}
		if r.Integrity.TimeOutliers != 1 {
			t.Errorf("forged frame at %d: time outliers = %d, want 1", where, r.Integrity.TimeOutliers)
		}
		if r.Summary.Last.Year() != t0.Year() || r.Summary.First.Year() != t0.Year() {
			t.Errorf("forged frame at %d: capture spans %v – %v", where, r.Summary.First, r.Summary.Last)
		}
	}
}

// TestConfirmedTimeJumpIsBelieved: a capture that resumes two hours later
// (two messages agree on the new time) is not an outlier.
func TestConfirmedTimeJumpIsBelieved(t *testing.T) {
	f := answeredCalls(2)
	g := answeredCalls(2)
	for i := range g.msgs {
		g.msgs[i].Time = g.msgs[i].Time.Add(2 * time.Hour)
		g.msgs[i].CallID = "later-" + g.msgs[i].CallID
	}
	r := run(t, append(f.msgs, g.msgs...), Options{})
	if r.Integrity.TimeOutliers != 0 || r.Summary.Outcomes[OutcomeAnswered] != 4 {
		t.Errorf("outliers %d, outcomes %v; want 0 and 4 answered", r.Integrity.TimeOutliers, r.Summary.Outcomes)
	}
	if got := r.Summary.Last.Sub(*r.Summary.First); got < 2*time.Hour {
		t.Errorf("capture spans %v, want more than 2 h", got)
	}
}
