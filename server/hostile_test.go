package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

// sendLive sends the packets of a call over c as they would come from a
// live sender: each stamped with the time it is sent, with the gaps of the
// call itself shortened to at most max.
func sendLive(t *testing.T, c net.Conn, ps []synth.Packet, most time.Duration) {
	t.Helper()
	for i, p := range ps {
		if i > 0 {
			time.Sleep(min(p.Time.Sub(ps[i-1].Time), most))
		}
		if _, err := c.Write(synth.EncodeHEP3(nil, p.Src, p.Dst, time.Now(), 17, 1, p.SIP)); err != nil {
			t.Fatal(err)
		}
	}
}

func waitStored(t *testing.T, r *running, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got, _ := r.col.Stored(); got >= n {
			return
		}
		if time.Now().After(deadline) {
			got, err := r.col.Stored()
			t.Fatalf("stored %d of %d within %v (%v)", got, n, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestForgedTimestamp is the security review's H1 on the collector: one
// HEP packet dated 2106, then an ordinary call sent in real time (180,
// then 200 two seconds later, BYE), and a call stamped an hour ago. Before,
// the forged packet moved the analyzer's clock to 2106 and the live call
// was stored as a time-out with 3 of its 7 messages; the old call was
// deleted by retention at once. Now both are stored whole at their
// arrival time, the forged and the old packets are counted as restamped,
// and nothing stored is dated in the future.
func TestForgedTimestamp(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 50 * time.Millisecond, Retention: 30 * time.Second})
	c, err := net.Dial("udp", r.col.HEPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	options := "OPTIONS sip:x@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK-forged\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x@10.0.0.1>\r\nCall-ID: forged@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	c.Write(synth.EncodeHEP3(nil, netipAP("10.9.9.9:5060"), netipAP("10.0.0.1:5060"), time.Unix(0xFFFFFFFF, 0), 17, 1, []byte(options)))
	old := synth.Call(2, time.Now().Add(-time.Hour), synth.CallOptions{Status: 486})
	for _, p := range old {
		c.Write(synth.EncodeHEP3(nil, p.Src, p.Dst, p.Time, 17, 1, p.SIP))
	}
	sendLive(t, c, synth.Call(1, time.Now(), synth.CallOptions{Status: 200}), 2*time.Second)
	waitStored(t, r, 2, 15*time.Second)

	ctx := context.Background()
	live, err := r.st.GetCall(ctx, "synth-1@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	if live.Call.FinalStatus != 200 || live.Call.Outcome != "answered" || len(live.Messages) != 7 {
		t.Errorf("live call stored as %d %s with %d messages; want 200 answered with 7", live.Call.FinalStatus, live.Call.Outcome, len(live.Messages))
	}
	time.Sleep(4 * time.Second) // retention runs every 3 s with --retention 30s
	back, err := r.st.GetCall(ctx, "synth-2@sipcause.test")
	if err != nil {
		t.Fatalf("the call stamped an hour ago: %v (deleted by retention?)", err)
	}
	if back.Call.FinalStatus != 486 || time.Since(back.Call.Start) > time.Minute {
		t.Errorf("old-stamped call stored as %d at %v; want 486 at its arrival time", back.Call.FinalStatus, back.Call.Start)
	}
	if got := r.m.restamped.Load(); got != int64(1+len(old)) {
		t.Errorf("restamped = %d, want %d (the forged packet and the old call)", got, 1+len(old))
	}
	calls, err := r.st.SearchCalls(ctx, storeQuery(1))
	if err != nil || len(calls) == 0 {
		t.Fatal(err)
	}
	if calls[0].Start.After(time.Now().Add(time.Minute)) {
		t.Errorf("newest stored call starts %v, in the future", calls[0].Start)
	}
}

func storeQuery(limit int) store.Query { return store.Query{Limit: limit} }
