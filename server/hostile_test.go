package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
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

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// checkCalls asserts the synthetic calls 0..n-1 with the given prefix
// were stored whole with their final status.
func checkCalls(t *testing.T, r *running, prefix string, n, status, msgs int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s-%d@sipcause.test", prefix, i)
		cr, err := r.st.GetCall(context.Background(), id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if cr.Call.FinalStatus != status || len(cr.Messages) != msgs {
			t.Errorf("%s stored as %d (%s) with %d messages; want %d with %d", id, cr.Call.FinalStatus, cr.Call.Outcome, len(cr.Messages), status, msgs)
		}
	}
}

func legitCalls(prefix string, from, n int, status int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		out = append(out, hepOf(synth.Call(i, time.Now(), synth.CallOptions{Status: status, CallID: fmt.Sprintf("%s-%d@sipcause.test", prefix, i)}))...)
	}
	return out
}

// TestMethodFlood is the review's H2 on the collector: HEP packets each
// with a new 20 KB method name and a new 20 KB Call-ID, with ordinary calls
// sent during and after. Before, 78 000 such packets took RSS to 6.7 GB
// (fingerprints 756 MB and the interner 364 MB after 30 000); now the live
// heap stays within tens of MB, every ordinary call is stored whole, and
// the collector is idle again once the flood stops.
func TestMethodFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 120 MB flood")
	}
	r := startCollector(t, "", CollectorOptions{MaxMemory: 256 << 20})
	before := liveHeap()
	cpu0 := cpuTime()
	long := strings.Repeat("M", 20000)
	var pkts [][]byte
	const n = 3000
	for i := range n {
		method := fmt.Sprintf("%s%05d", long, i)
		id := fmt.Sprintf("%s-%05d@flood", long, i)
		sip := "" + method + " sip:x@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-" + fmt.Sprint(i) +
			"\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x@10.0.0.1>\r\nCall-ID: " + id + "\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n"
		pkts = append(pkts, synth.EncodeHEP3(nil, netipAP("192.0.2.9:5060"), netipAP("10.0.0.1:5060"), time.Now(), 17, 1, []byte(sip)))
		if i%300 == 0 {
			pkts = append(pkts, legitCalls("during", i/300, 1, 486)...)
		}
	}
	start := time.Now()
	sendPaced(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	sendPaced(t, r.col.HEPAddr(), legitCalls("after", 0, 10, 486))
	waitStored(t, r, 20, 20*time.Second)
	flood := cpuTime() - cpu0
	grown := liveHeap() - before
	t.Logf("%d packets of 40 KB in %v: %v CPU, live heap +%d MB, %+v", len(pkts), time.Since(start).Round(time.Millisecond), flood, grown>>20, r.m.Snapshot())
	if grown > 64<<20 {
		t.Errorf("live heap grew %d MB, want under 64 MB", grown>>20)
	}
	if flood > 30*time.Second {
		t.Errorf("the flood took %v of CPU", flood)
	}
	checkCalls(t, r, "during", 10, 486, 5)
	checkCalls(t, r, "after", 10, 486, 5)
	cpu1 := cpuTime()
	time.Sleep(2 * time.Second)
	if idle := cpuTime() - cpu1; idle > 300*time.Millisecond {
		t.Errorf("idle after the flood: %v of CPU in 2 s", idle)
	}
}

// sendPaced sends HEP packets over one TCP connection: unlike datagrams
// of 40 KB on a busy machine, none is lost in the kernel, so a test can
// count on every one. It pauses now and then so that the analyzer keeps
// up and its queue does not overflow.
func sendPaced(t *testing.T, addr string, pkts [][]byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := 0
	for _, p := range pkts {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		if sent += len(p); sent > 1<<20 {
			sent = 0
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestOrphanRawMessages is the review's H3: calls with 56 KB INVITEs, then
// the same INVITEs again after the calls were stored (late
// retransmissions the analyzer ignores), then ordinary ringing calls.
// Before, the tracker kept the ignored INVITEs for five hours; past its
// budget every new message forced the live calls to finish, so the
// ringing calls were stored with one message as "incomplete". Now nothing
// is kept for calls the analyzer does not hold, the open-calls gauge reads
// the analyzer's calls, and nothing is forced.
func TestOrphanRawMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 50 MB of INVITEs")
	}
	r := startCollector(t, "", CollectorOptions{MaxMemory: 64 << 20}) // 16 MB for raw messages
	big := strings.Repeat("x", 56000)
	var first, again [][]byte
	const n = 400
	for i := range n {
		ps := synth.Call(i, time.Now(), synth.CallOptions{Status: 486, CallID: fmt.Sprintf("big-%d@sipcause.test", i), SDPSession: big})
		h := hepOf(ps)
		first = append(first, h...)
		again = append(again, h[0])
	}
	sendPaced(t, r.col.HEPAddr(), first)
	waitStored(t, r, n, 30*time.Second)
	forced := r.m.forced.Load() // the first burst is past the budget on its own
	sendPaced(t, r.col.HEPAddr(), again)
	r.waitReceived(t, int64(len(first)+len(again)))
	time.Sleep(1500 * time.Millisecond) // a tick or more
	if b := r.m.rawBytes.Load(); b > 1<<20 {
		t.Errorf("raw bytes held after the retransmissions: %d", b)
	}
	if o := r.m.openCalls.Load(); o != 0 {
		t.Errorf("open calls gauge %d after every call was stored", o)
	}
	c, err := net.Dial("udp", r.col.HEPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		sendLive(t, c, synth.Call(i, time.Now(), synth.CallOptions{Status: 480, CallID: fmt.Sprintf("ringing-%d@sipcause.test", i)}), time.Second)
	}
	waitStored(t, r, n+2, 20*time.Second)
	checkCalls(t, r, "ringing", 2, 480, 5)
	if f := r.m.forced.Load() - forced; f != 0 {
		t.Errorf("%d calls forced to finish after the first burst", f)
	}
}

// TestTCPSlowloris is the review's M1: 400 idle HEP connections from 25
// addresses (127.0.0.x), then a real sender from another. Before, 256 idle
// connections held every slot for 5 minutes and the real sender's call was
// lost; now each address holds at most 16, the idle ones give way at the
// limit, they are closed when their first packet does not come, and the
// real sender's call is stored.
func TestTCPSlowloris(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{TCPFirstPacket: 2 * time.Second})
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := range 400 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%25))}}
		c, err := d.Dial("tcp", r.col.HEPAddr())
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	time.Sleep(100 * time.Millisecond)
	if n := r.m.tcpConns.Load(); n > maxTCPConns {
		t.Errorf("%d connections held, limit %d", n, maxTCPConns)
	}
	if got := r.m.tcpRefused.Load(); got != 400-25*16 {
		t.Errorf("refused = %d, want %d (16 per address)", got, 400-25*16)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 200)}}
	c, err := d.Dial("tcp", r.col.HEPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range hepOf(synth.Call(1, time.Now(), synth.CallOptions{Status: 486, CallID: "real-sender@sipcause.test"})) {
		if _, err := c.Write(p); err != nil {
			t.Fatalf("the real sender: %v", err)
		}
	}
	waitStored(t, r, 1, 10*time.Second)
	cr, err := r.st.GetCall(context.Background(), "real-sender@sipcause.test")
	if err != nil {
		t.Fatalf("the real sender's call: %v", err)
	}
	if cr.Call.FinalStatus != 486 || len(cr.Messages) != 5 {
		t.Errorf("the real sender's call stored as %d (%s) with %d messages", cr.Call.FinalStatus, cr.Call.Outcome, len(cr.Messages))
		for _, m := range cr.Messages {
			t.Logf("%s %.40q", m.Time, m.Raw)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.m.tcpConns.Load() > 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := r.m.tcpConns.Load(); n != 1 {
		t.Errorf("%d connections open 5 s after the idle ones should have been closed, want only the real sender's", n)
	}
	if r.m.tcpIdleClosed.Load() == 0 || r.m.tcpEvicted.Load() == 0 {
		t.Errorf("idle closed %d, evicted %d; want both counted", r.m.tcpIdleClosed.Load(), r.m.tcpEvicted.Load())
	}
}

// TestMaxDBSize is the review's M8: a flood of calls with 50 KB INVITEs
// into a collector with an 8 MiB disk budget. Before, the database grew at
// the ingest rate (3.7 GB in 40 s); now it stays near the budget, the
// oldest calls go first and are counted, and the newest are kept.
func TestMaxDBSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 40 MB of calls")
	}
	const budget = 8 << 20
	r := startCollector(t, "", CollectorOptions{MaxDBSize: budget, SizeCheck: 100 * time.Millisecond})
	// Letters at random: the store compresses what it keeps, and a
	// flood that fills a disk is one that does not compress.
	rnd := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 50000)
	for round := range 4 {
		var pkts [][]byte
		for i := range 200 {
			n := round*200 + i
			for j := range big {
				big[j] = 'a' + byte(rnd.IntN(26))
			}
			pkts = append(pkts, hepOf(synth.Call(n, time.Now(), synth.CallOptions{Status: 486, CallID: fmt.Sprintf("big-%d@sipcause.test", n), SDPSession: string(big)}))...)
		}
		sendPaced(t, r.col.HEPAddr(), pkts)
		waitStored(t, r, int64((round+1)*200), 30*time.Second)
	}
	time.Sleep(500 * time.Millisecond) // a size check after the last batch
	used, err := r.st.(*store.SQLite).UsedBytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(r.path)
	t.Logf("800 calls of 50 KB: %d KB in use, file %d KB, %d pruned", used>>10, fi.Size()>>10, r.m.pruned.Load())
	if used > budget {
		t.Errorf("database uses %d bytes, budget %d", used, budget)
	}
	if fi.Size() > 3*budget {
		t.Errorf("database file is %d bytes for a budget of %d", fi.Size(), budget)
	}
	if r.m.pruned.Load() < 400 {
		t.Errorf("pruned = %d, want most of the first calls", r.m.pruned.Load())
	}
	if _, err := r.st.GetCall(context.Background(), "big-0@sipcause.test"); err == nil {
		t.Error("the oldest call is still there")
	}
	checkCalls(t, r, "big", 0, 486, 5)
	if cr, err := r.st.GetCall(context.Background(), "big-799@sipcause.test"); err != nil || len(cr.Messages) != 5 {
		t.Errorf("the newest call: %v", err)
	}
}

// TestKernelDrops is the review's L3: datagrams the kernel drops because
// the socket's buffer is full are counted in /metrics (before, 6066 drops
// showed as none). With a tiny buffer and a burst, every datagram sent is
// either received or counted as dropped.
func TestKernelDrops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_RXQ_OVFL is Linux's")
	}
	r := startCollector(t, "", CollectorOptions{ReadBuffer: 4096})
	c, err := net.Dial("udp", r.col.HEPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pkt := hepOf(synth.Call(1, time.Now(), synth.CallOptions{Status: 486, SDPSession: strings.Repeat("k", 8000)}))[0]
	const n = 2000
	for range n {
		c.Write(pkt)
	}
	time.Sleep(300 * time.Millisecond)
	c.Write(pkt) // carries the final count
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r.m.received.Load()+r.m.kernelDropsHEP.Load() >= n+1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, drops := r.m.received.Load(), r.m.kernelDropsHEP.Load()
	t.Logf("sent %d, received %d, kernel drops %d", n+1, got, drops)
	if drops == 0 || got+drops != n+1 {
		t.Errorf("received %d + dropped %d, want %d with some dropped", got, drops, n+1)
	}
	var b strings.Builder
	r.m.WritePrometheus(&b)
	if !strings.Contains(b.String(), fmt.Sprintf("sipcause_kernel_drops_total{socket=\"hep\"} %d", drops)) {
		t.Error("kernel drops missing from /metrics")
	}
}
