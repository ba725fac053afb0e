package analyze

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
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

// liveHeap returns the bytes of live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMethodFloodBounded is the review's H2 on the analyzer: 50 000
// requests, each with a new 2 KB method and Call-ID. Before, the
// retransmission fingerprints kept every concatenated key and the summary
// every method name (hundreds of MB); now the fingerprints are 16 bytes and
// unknown methods beyond a few are counted as "other".
func TestMethodFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 100 MB flood")
	}
	a := New(Options{Settle: 2 * time.Second, OnCall: func(*Call) {}, OnRegister: func(*Register) {}, OnDialog: func(*Dialog) {}})
	before := liveHeap()
	long := strings.Repeat("X", 2000)
	const n = 50000
	for i := range n {
		method := fmt.Sprintf("%s%06d", long, i)
		id := fmt.Sprintf("%s-%06d@flood", long, i)
		a.Add(Message{Time: t0.Add(time.Duration(i) * time.Millisecond), Src: ap("192.0.2.9:5060"), Dst: ap("10.0.0.1:5060"),
			Request: true, Method: method, CallID: id, CSeq: 1, CSeqMethod: method,
			Vias: []Via{{Branch: "z9hG4bK" + id}}, MaxForwards: 70, Expires: -1, RetryAfter: -1, MinExpires: -1, MinSE: -1})
	}
	a.Flush(t0.Add(n*time.Millisecond + time.Minute))
	grown := int64(liveHeap()) - int64(before)
	if len(a.rep.Summary.Requests) > len(knownMethods)+maxOtherMethods+1 {
		t.Errorf("summary counts %d methods by name", len(a.rep.Summary.Requests))
	}
	if got := a.rep.Summary.Requests[otherMethodBucket]; got != n {
		t.Errorf("other = %d, want %d", got, n)
	}
	t.Logf("live heap grew %d KB over %d messages of 4 KB", grown/1024, n)
	if grown > 32<<20 {
		t.Errorf("live heap grew %d MB, want under 32 MB", grown>>20)
	}
	runtime.KeepAlive(a)
}

// TestInternerBytes: the interner holds at most maxInternedBytes however
// many distinct values it sees, and does not keep long ones at all.
func TestInternerBytes(t *testing.T) {
	var in Interner
	for i := range 100000 {
		in.str([]byte(fmt.Sprintf("%0200d", i)))
		if in.Bytes() > maxInternedBytes {
			t.Fatalf("after %d values the interner holds %d bytes", i, in.Bytes())
		}
	}
	in = Interner{}
	s := in.str([]byte(strings.Repeat("y", 20000)))
	if len(s) != 20000 || in.Bytes() != 0 {
		t.Errorf("a 20 KB value: got %d bytes back, interner holds %d", len(s), in.Bytes())
	}
}

// TestEndpointFloodBounded is the review's M3: 150 000 requests from
// distinct spoofed sources. The per-endpoint tables stop at maxEndpoints,
// and once the flood is over a Flush (the collector's tick) no longer
// works the roles out again: before, each tick re-sorted every endpoint,
// half a core for good.
func TestEndpointFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 150 000-message flood")
	}
	a := New(Options{Settle: 2 * time.Second, OnCall: func(*Call) {}, OnRegister: func(*Register) {}, OnDialog: func(*Dialog) {}})
	const n = 150000
	for i := range n {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)}), 5060)
		id := fmt.Sprintf("ep-%d@flood", i)
		a.Add(Message{Time: t0.Add(time.Duration(i) * time.Millisecond), Src: src, Dst: ap("10.0.0.1:5060"),
			Request: true, Method: "OPTIONS", CallID: id, CSeq: 1, CSeqMethod: "OPTIONS", UserAgent: strings.Repeat("u", 5000),
			From: Party{Host: strings.Repeat("h", 1000)}, Vias: []Via{{Branch: "z9hG4bK" + id, Host: "10.1.1.1"}},
			MaxForwards: 70, Expires: 3600, RetryAfter: -1, MinExpires: -1, MinSE: -1})
	}
	for _, m := range []int{len(a.endpoints), len(a.epNames), len(a.agents), len(a.pairs)} {
		if m > maxEndpoints {
			t.Errorf("a per-endpoint table holds %d entries, above %d", m, maxEndpoints)
		}
	}
	if u := a.Pressure().EndpointsUntracked; u < n-maxEndpoints {
		t.Errorf("endpoints untracked = %d, want at least %d", u, n-maxEndpoints)
	}
	end := t0.Add(n*time.Millisecond + time.Minute)
	a.Flush(end)
	start := time.Now()
	for i := range 20 {
		a.Flush(end.Add(time.Duration(i+1) * time.Second))
	}
	d := time.Since(start)
	t.Logf("20 idle ticks after 150 000 spoofed sources: %v; %d endpoints tracked", d, len(a.endpoints))
	if d > 200*time.Millisecond {
		t.Errorf("20 idle ticks after the flood took %v, want well under 200 ms", d)
	}
}

// TestSamplesBounded is the review's L1: a long-running collector adds a
// delay value per call. A million values keep at most maxSamples, and
// the distribution of what is kept is still that of all of them.
func TestSamplesBounded(t *testing.T) {
	var s samples
	for i := range 1000000 {
		s.add(float64(i % 1000))
	}
	if len(s.vals) > maxSamples {
		t.Fatalf("%d values kept, limit %d", len(s.vals), maxSamples)
	}
	d := s.dist()
	if d.Median < 450 || d.Median > 550 || d.Count != 1000000 {
		t.Errorf("median of the sample %+v, want about 500", d)
	}
	var few samples
	for i := range 100 {
		few.add(float64(i))
	}
	if len(few.vals) != 100 {
		t.Errorf("100 values: %d kept, want all", len(few.vals))
	}
}

// TestBoundedIdentifiers: a method or Call-ID a sender makes 20 KB long is
// kept short, stays distinct from others and equal to itself.
func TestBoundedIdentifiers(t *testing.T) {
	var in Interner
	a := strings.Repeat("M", 20000) + "1"
	b := strings.Repeat("M", 20000) + "2"
	ma, mb := in.bounded([]byte(a), maxMethodLen), in.bounded([]byte(b), maxMethodLen)
	if len(ma) != maxMethodLen || ma == mb || ma != in.bounded([]byte(a), maxMethodLen) {
		t.Errorf("bounded methods %q, %q", ma, mb)
	}
	if got := in.bounded([]byte("INVITE"), maxMethodLen); got != "INVITE" {
		t.Errorf("INVITE became %q", got)
	}
	if id := in.bounded([]byte(a), maxIDLen); len(id) != maxIDLen {
		t.Errorf("bounded Call-ID is %d bytes", len(id))
	}
}
