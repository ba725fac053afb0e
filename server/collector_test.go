package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

// running is a collector with its store, started by a test.
type running struct {
	col    *Collector
	st     store.Store
	m      *Metrics
	path   string
	cancel context.CancelFunc
	done   chan error
}

func startCollector(t testing.TB, path string, opt CollectorOptions) *running {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "sipcause.db")
	}
	st, err := store.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	r := startCollectorOn(t, st, opt)
	r.path = path
	return r
}

// startCollectorOn runs a collector that writes to st.
func startCollectorOn(t testing.TB, st store.Store, opt CollectorOptions) *running {
	t.Helper()
	if opt.HEPAddr == "" {
		opt.HEPAddr = "127.0.0.1:0"
	}
	m := NewMetrics()
	col, err := NewCollector(opt, st, m)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{col: col, st: st, m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- col.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the collector as SIGTERM would and closes the store.
func (r *running) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("collector: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("collector did not stop within 30 s")
	}
	if err := r.st.Close(); err != nil {
		t.Errorf("store close: %v", err)
	}
}

// waitReceived waits until the collector has read n packets and the
// analyzer has taken everything queued.
func (r *running) waitReceived(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := r.m.Snapshot()
		if s.Received >= n && r.col.queuedMsgs.Load() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d packets after 20 s", s.Received, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sendUDP(t testing.TB, addr string, pkts [][]byte) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, p := range pkts {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 {
			time.Sleep(time.Millisecond) // stay within the socket buffer
		}
	}
}

func hepOf(ps []synth.Packet) [][]byte {
	var out [][]byte
	for _, p := range ps {
		out = append(out, synth.EncodeHEP3(nil, p.Src, p.Dst, p.Time, 17, 1, p.SIP))
	}
	return out
}

// TestReplayHEPCaptures sends the HEP packets of real captures to the
// collector by UDP and expects the calls `sipcause analyze` finds in the
// same files, with the same final answers.
func TestReplayHEPCaptures(t *testing.T) {
	for _, name := range []string{"hep-wireshark__hep.pcap", "hep-wireshark__hep3_compressed.pcapng"} {
		t.Run(name, func(t *testing.T) {
			file := sharedCapture(t, name)
			pkts := hepPackets(t, file)
			if len(pkts) == 0 {
				t.Fatal("no HEP packets in the capture")
			}
			// Old captures: their own times are believed, as analyze does.
			r := startCollector(t, "", CollectorOptions{TimeTolerance: -1})
			sendUDP(t, r.col.HEPAddr(), pkts)
			r.waitReceived(t, int64(len(pkts)))
			r.stop(t)
			snap := r.m.Snapshot()
			t.Logf("%d HEP packets: %+v", len(pkts), snap)
			if snap.Malformed != 0 || snap.Dropped != 0 {
				t.Errorf("malformed %d, dropped %d; want none", snap.Malformed, snap.Dropped)
			}
			// hep.pcap ends with an agent's RTCP report as JSON (HEP type
			// 5), with a signed LSR and an NTP fraction wider than 32 bits.
			if wantRTCP := map[string]int64{"hep-wireshark__hep.pcap": 1}[name]; snap.RTCP != wantRTCP {
				t.Errorf("%d RTCP reports decoded; want %d", snap.RTCP, wantRTCP)
			}

			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, _ := AnalyzeCapture(name, f, analyze.Options{})
			st, err := store.OpenSQLite(r.path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			got, err := st.SearchCalls(context.Background(), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []string
			for _, c := range got {
				gotIDs = append(gotIDs, c.CallID+" "+itoa(c.FinalStatus))
			}
			for _, c := range want.Calls {
				wantIDs = append(wantIDs, c.CallID+" "+itoa(c.FinalStatus))
			}
			slices.Sort(gotIDs)
			slices.Sort(wantIDs)
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("calls stored: %v\nsipcause analyze: %v", gotIDs, wantIDs)
			}
			stats, _ := st.Stats(context.Background())
			if len(want.Calls) > 0 && stats.Messages == 0 {
				t.Error("no raw messages stored")
			}
		})
	}
}

func itoa(n int) string {
	return string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

// TestHostileInput sends what a careless or hostile sender might: noise,
// cut HEP3 packets, a chunk longer than the packet, HEP without SIP, and
// a flood of HEP over TCP in odd pieces. Everything bad is counted and
// dropped, and good packets around it still arrive.
func TestHostileInput(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{})
	good := hepOf(synth.Call(1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), synth.CallOptions{Status: 486}))
	bad := [][]byte{
		[]byte("hello"),
		[]byte("HEP3"),
		append([]byte("HEP3\x00\x40"), bytes.Repeat([]byte{0}, 10)...),
		good[0][:40],
		[]byte("HEP3\x00\x0c\x00\x00\x00\x0f\xff\xff"),
		bytes.Repeat([]byte{0xff}, 1500),
		synth.EncodeHEP3(nil, netipAP("1.2.3.4:1"), netipAP("5.6.7.8:2"), time.Now(), 17, 1, []byte("not SIP at all")),
	}
	var pkts [][]byte
	for i := range max(len(good), len(bad)) {
		if i < len(good) {
			pkts = append(pkts, good[i])
		}
		if i < len(bad) {
			pkts = append(pkts, bad[i])
		}
	}
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	s := r.m.Snapshot()
	if s.Malformed != int64(len(bad)) {
		t.Errorf("malformed = %d, want %d", s.Malformed, len(bad))
	}
	if s.Analyzed != int64(len(good)) {
		t.Errorf("analyzed = %d, want %d", s.Analyzed, len(good))
	}
	if s.Calls != 1 {
		t.Errorf("calls = %d, want 1", s.Calls)
	}
}

func TestHEPOverTCP(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{})
	var stream []byte
	var n int
	for i := range 50 {
		for _, p := range hepOf(synth.Call(i, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), synth.CallOptions{Status: 480})) {
			stream = append(stream, p...)
			n++
		}
	}
	c, err := net.Dial("tcp", r.col.HEPAddr())
	if err != nil {
		t.Fatal(err)
	}
	// Odd-sized writes: packets cut anywhere.
	for len(stream) > 0 {
		k := min(len(stream), 777)
		c.Write(stream[:k])
		stream = stream[k:]
	}
	c.Close()
	r.waitReceived(t, int64(n))
	r.stop(t)
	if s := r.m.Snapshot(); s.Calls != 50 || s.Malformed != 0 {
		t.Errorf("over TCP: %+v, want 50 calls", s)
	}
}

func TestQueueFullDrops(t *testing.T) {
	opt := CollectorOptions{QueueSize: 2}
	opt.defaults()
	c := &Collector{opt: opt, queue: make(chan *batch, 2), metrics: NewMetrics()}
	for range 5 {
		c.enqueue(one(inbound{raw: []byte("x")}))
	}
	if d := c.metrics.dropped.Load(); d != 3 {
		t.Errorf("dropped = %d, want 3", d)
	}
	// A batch of datagrams counts as many messages as it holds: one that
	// would take the queue past its size is dropped whole.
	c = &Collector{opt: opt, queue: make(chan *batch, 2), metrics: NewMetrics()}
	c.enqueue(one(inbound{}))
	b := getBatch()
	b.n, b.bytes = 2, 10
	if c.enqueue(b) || c.metrics.dropped.Load() != 2 || c.queuedMsgs.Load() != 1 || c.queuedBytes.Load() != 0 {
		t.Errorf("a batch of 2 into a queue with room for 1: dropped %d, queued %d messages, %d bytes",
			c.metrics.dropped.Load(), c.queuedMsgs.Load(), c.queuedBytes.Load())
	}
}

// TestOpenCallLimit floods INVITEs that never end: the analyzer is made
// to report the open calls once the limit is passed, and counts them.
func TestOpenCallLimit(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{MaxOpenCalls: 100})
	var pkts [][]byte
	for i := range 250 {
		p := synth.Call(i, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), synth.CallOptions{})[0] // INVITE only
		pkts = append(pkts, synth.EncodeHEP3(nil, p.Src, p.Dst, p.Time, 17, 1, p.SIP))
	}
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	if open := r.m.openCalls.Load(); open > 100 {
		t.Errorf("open calls %d above the limit", open)
	}
	if f := r.m.forced.Load(); f < 100 {
		t.Errorf("forced = %d, want at least 100", f)
	}
}

// TestFinishedWithoutTraffic: a call that ends with a failure is stored
// once time moves on, with no further message to move it.
func TestFinishedWithoutTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits Timer B (32 s) of wall-clock time")
	}
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond})
	// The call's own clock runs from a moment far enough back that the
	// settle time (Timer B) has passed by the time the tick comes.
	start := time.Now().Add(-time.Minute)
	sendUDP(t, r.col.HEPAddr(), hepOf(synth.Call(7, start, synth.CallOptions{Status: 486})))
	deadline := time.Now().Add(40 * time.Second)
	for {
		if n, _ := r.col.Stored(); n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed call was not stored without further traffic")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cr, err := r.st.GetCall(context.Background(), "synth-7@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	if cr.Call.FinalStatus != 486 || len(cr.Messages) != 5 {
		t.Errorf("stored %d with %d messages", cr.Call.FinalStatus, len(cr.Messages))
	}
}

func netipAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestRestart stops the collector while calls are still arriving, opens
// the database again and starts a new collector on it: every call the
// store acknowledged is there, the file passes integrity_check, and the
// second run adds to the first.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restart.db")
	base := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	run := func(first int) int64 {
		r := startCollector(t, path, CollectorOptions{})
		stopSend := make(chan struct{})
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			c, err := net.Dial("udp", r.col.HEPAddr())
			if err != nil {
				return
			}
			defer c.Close()
			for i := first; ; i++ {
				for _, p := range hepOf(synth.Call(i, base.Add(time.Duration(i)*time.Second), synth.CallOptions{Status: 486})) {
					c.Write(p)
				}
				select {
				case <-stopSend:
					return
				default:
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
		time.Sleep(700 * time.Millisecond)
		r.stop(t) // mid-traffic
		close(stopSend)
		<-sent
		acked, err := r.col.Stored()
		if err != nil {
			t.Fatal(err)
		}
		return acked
	}
	count := func() int64 {
		st, err := store.OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.IntegrityCheck(context.Background()); err != nil {
			t.Fatal(err)
		}
		s, err := st.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s.Calls
	}
	acked1 := run(0)
	n1 := count()
	if acked1 == 0 || n1 < acked1 {
		t.Fatalf("first run: %d calls acknowledged, %d in the database", acked1, n1)
	}
	acked2 := run(1000000)
	n2 := count()
	if acked2 == 0 || n2 < n1+acked2 {
		t.Fatalf("second run: %d before, %d acknowledged, %d in the database", n1, acked2, n2)
	}
	t.Logf("first run %d calls, second run %d more; %d stored", acked1, acked2, n2)
}

// TestDecodersKeepArrivalOrder sends the messages of many calls
// interleaved, in bursts the receiver reads many at a time and several
// decoding goroutines decode at once: every stored call must hold its
// messages as they were sent, and the frame numbers the analyzer gave
// must follow the order of sending across all calls.
func TestDecodersKeepArrivalOrder(t *testing.T) {
	const calls, window = 400, 8
	r := startCollector(t, "", CollectorOptions{})
	now := time.Now()
	type sent struct {
		id  string
		sip []byte
	}
	var order []sent
	var pkts [][]byte
	for w := 0; w < calls; w += window {
		var group [][]synth.Packet
		for i := w; i < w+window; i++ {
			group = append(group, synth.Call(i, now, synth.CallOptions{CallID: fmt.Sprintf("order-%d@sipcause.test", i), Status: []int{200, 486, 404}[i%3]}))
		}
		for k := 0; ; k++ { // message k of each call of the window in turn
			more := false
			for i, ps := range group {
				if k < len(ps) {
					more = true
					order = append(order, sent{fmt.Sprintf("order-%d@sipcause.test", w+i), ps[k].SIP})
					pkts = append(pkts, hepOf(ps[k:k+1])...)
				}
			}
			if !more {
				break
			}
		}
	}
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	frames := map[string][]store.RawMessage{}
	for i := range calls {
		id := fmt.Sprintf("order-%d@sipcause.test", i)
		cr, err := st.GetCall(context.Background(), id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		frames[id] = cr.Messages
	}
	last, seen := 0, map[string]int{}
	for n, s := range order {
		k := seen[s.id]
		seen[s.id]++
		ms := frames[s.id]
		if k >= len(ms) {
			t.Fatalf("message %d sent (%s #%d) was not stored", n, s.id, k)
		}
		if !bytes.Equal(ms[k].Raw, s.sip) {
			t.Fatalf("%s: message #%d stored is %.30q, sent %.30q", s.id, k, ms[k].Raw, s.sip)
		}
		if ms[k].Frame <= last {
			t.Fatalf("message %d sent (%s #%d) has frame %d after frame %d", n, s.id, k, ms[k].Frame, last)
		}
		last = ms[k].Frame
	}
}

// TestReadBuffer: the HEP socket gets the receive buffer asked for, or at
// least as much as the kernel lets an unprivileged process have
// (net.core.rmem_max); Linux counts twice the size asked for.
func TestReadBuffer(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip("no /proc/sys/net/core/rmem_max: not Linux")
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	const want = 16 << 20
	r := startCollector(t, "", CollectorOptions{ReadBuffer: want})
	got := readBuffer(r.col.hepUDP)
	if os.Geteuid() == 0 && got < 2*want { // root may go past rmem_max
		t.Errorf("receive buffer %d as root, want %d", got, 2*want)
	}
	if got < 2*min(want, rmemMax) {
		t.Errorf("receive buffer %d, want at least %d (asked %d, rmem_max %d)", got, 2*min(want, rmemMax), want, rmemMax)
	}
	t.Logf("asked %d, got %d (rmem_max %d)", want, got, rmemMax)
}

// TestQueueCountsArenas: a batch of datagrams counts against the queue's
// byte budget with the buffer that holds them. A batch from the pool
// keeps the arena of the largest read it served (64 datagrams); holding
// one small datagram it still holds that arena, and a queue of such
// batches is bounded by what they hold, not by their datagrams' bytes.
func TestQueueCountsArenas(t *testing.T) {
	opt := CollectorOptions{MaxQueueBytes: 256 << 10}
	opt.defaults()
	c := &Collector{opt: opt, queue: make(chan *batch, 100), metrics: NewMetrics()}
	msg := []ipv4.Message{{Buffers: [][]byte{make([]byte, 100)}, N: 100}}
	queued := 0
	for range 10 {
		b := &batch{arena: make([]byte, 0, 64*700)} // as left by a read of 64 datagrams
		b.fill(msg, time.Now())
		if b.bytes < 64*700 {
			t.Fatalf("a batch of one 100-byte datagram in a %d-byte arena counts %d bytes", cap(b.arena), b.bytes)
		}
		if c.enqueue(b) {
			queued++
		}
	}
	if queued != 5 || c.metrics.dropped.Load() != 5 || c.queuedBytes.Load() > int64(opt.MaxQueueBytes) {
		t.Errorf("%d batches of 45 KB queued, %d dropped, %d bytes counted; want 5 within 256 KB", queued, c.metrics.dropped.Load(), c.queuedBytes.Load())
	}
}

// TestQuietCallsCompacted: the messages of a call that has gone quiet (an
// answered call while it talks) are held compressed until its next
// message, and the call is stored with every message as it came.
func TestQuietCallsCompacted(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 50 * time.Millisecond, Settle: 300 * time.Millisecond})
	ps := synth.Call(7, time.Now(), synth.CallOptions{CallID: "quiet@sipcause.test", Status: 200})
	if len(ps) != 7 {
		t.Fatalf("synth: %d messages", len(ps))
	}
	// Dated as sent, so that the analyzer's clock (the senders') moves
	// with the test's: the call talks for a second, not 30.
	sent := func(ps []synth.Packet) [][]byte {
		for i := range ps {
			ps[i].Time = time.Now().Add(time.Duration(i) * time.Millisecond)
		}
		return hepOf(ps)
	}
	sendUDP(t, r.col.HEPAddr(), sent(ps[:5])) // INVITE to ACK: the call talks
	r.waitReceived(t, 5)
	// The analyzer loop stores the gauge after each batch and tick.
	var held int64
	for deadline := time.Now().Add(time.Second); held == 0 && time.Now().Before(deadline); {
		held = r.m.rawBytes.Load()
		time.Sleep(5 * time.Millisecond)
	}
	if held == 0 {
		t.Fatal("no bytes held for the open call")
	}
	deadline := time.Now().Add(3 * time.Second)
	for r.m.rawBytes.Load() >= held && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if now := r.m.rawBytes.Load(); now*2 > held {
		t.Fatalf("the quiet call holds %d bytes, %d before; want its messages compressed to less than half", now, held)
	}
	sendUDP(t, r.col.HEPAddr(), sent(ps[5:])) // BYE and its 200
	r.waitStored(t, 1, 10*time.Second)
	cr, err := r.st.GetCall(context.Background(), "quiet@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.Messages) != len(ps) {
		t.Fatalf("stored %d messages, sent %d", len(cr.Messages), len(ps))
	}
	for i, m := range cr.Messages {
		if !bytes.Equal(m.Raw, ps[i].SIP) || m.Src != ps[i].Src.String() {
			t.Errorf("message %d stored as %.40q from %s, sent %.40q from %s", i, m.Raw, m.Src, ps[i].SIP, ps[i].Src)
		}
	}
}
