package server

import (
	"context"
	"fmt"
	"hash/maphash"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

// TestCallMarks checks the memory of refused Call-IDs at its stated
// sizes (those of a 64 MiB budget: the false-positive rate depends on the
// bits per mark only, which every budget shares): every mark is found
// until two rotations have passed, none after, a generation that holds its
// capacity ends early, and with both generations full a Call-ID never
// marked is taken for a marked one at a rate below the 1e-4 stated in
// shed.go.
func TestCallMarks(t *testing.T) {
	opt := CollectorOptions{MaxMemory: 64 << 20}
	opt.defaults()
	s := newShedder(&opt)
	f := s.refused
	hash := func(format string, i int) uint64 { return maphash.String(s.seed, fmt.Sprintf(format, i)) }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	n := int(f.capacity) - 1 // a generation just short of full
	t.Logf("%d blocks a generation, capacity %d marks", f.blocks, f.capacity)

	for i := range n {
		f.mark(hash("old-%d@x", i), t0)
	}
	missing := func(format string, at int64) int {
		m := 0
		for i := range n {
			if !f.has(hash(format, i), at) {
				m++
			}
		}
		return m
	}
	if m := missing("old-%d@x", t0); m != 0 {
		t.Fatalf("%d of %d marks not found", m, n)
	}
	if f.full.Load() != 0 {
		t.Fatalf("a generation below its capacity ended early")
	}
	// One rotation: the marks are in the older generation, still found.
	t1 := t0 + int64(refusedSpan)
	for i := range n {
		f.mark(hash("new-%d@x", i), t1)
	}
	if m := missing("old-%d@x", t1); m != 0 {
		t.Errorf("after one rotation %d of %d marks not found", m, n)
	}
	if m := missing("new-%d@x", t1); m != 0 {
		t.Errorf("%d of %d marks of the new generation not found", m, n)
	}

	// Both generations full: Call-IDs never marked.
	const probes = 1 << 20
	fp := 0
	for i := range probes {
		if f.has(hash("never-%d@y", i), t1) {
			fp++
		}
	}
	rate := float64(fp) / probes
	t.Logf("false positives with both generations full: %d of %d (%.1e)", fp, probes, rate)
	if rate >= 1e-4 {
		t.Errorf("false-positive rate %.1e, stated bound 1e-4", rate)
	}

	// Two rotations: the first marks are forgotten (but for the
	// false-positive rate), the second ones still found.
	t2 := t1 + int64(refusedSpan)
	if m := missing("new-%d@x", t2); m != 0 {
		t.Errorf("after one rotation %d of %d marks not found", m, n)
	}
	if m := missing("old-%d@x", t2); m < n-n/1000 {
		t.Errorf("after two rotations only %d of %d marks forgotten", m, n)
	}
	t3 := t2 + int64(refusedSpan)
	if m := missing("new-%d@x", t3); m != n {
		t.Errorf("after two rotations %d of %d marks still found", n-m, n)
	}
	if !f.empty(t3) {
		t.Error("not empty after two rotations without marks")
	}

	// A generation that reaches its capacity ends early, and keeps its
	// marks as the older one.
	for i := range int(f.capacity) {
		f.mark(hash("full-%d@x", i), t3)
	}
	if f.full.Load() != 1 {
		t.Errorf("%d generations ended full, want 1", f.full.Load())
	}
	if m := missing("full-%d@x", t3); m != 0 {
		t.Errorf("%d marks of the generation ended full not found", m)
	}
}

// TestCallMarksConcurrent marks and looks up from several goroutines, as
// the receivers and the analyzer do, across rotations (a span is 1000
// marks of a goroutine's own clock): no mark is missed while fewer than
// two rotations began between its setting and its lookup (run with
// -race).
func TestCallMarksConcurrent(t *testing.T) {
	f := newCallMarks(256<<10, refusedBitsPerMark, time.Millisecond)
	var seed = maphash.MakeSeed()
	var wg sync.WaitGroup
	var missed, checked atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := range 20000 {
				h := maphash.String(seed, fmt.Sprintf("g%d-%d", g, i))
				now := int64(i / 1000 * int(time.Millisecond))
				e := f.epoch.Load()
				f.mark(h, now)
				found := f.has(h, now)
				// Rotations since: those done, and one under way (it
				// clears the older generation before it counts).
				busy := f.rotating.Load()
				if d := f.epoch.Load() - e; d >= 2 || d == 1 && busy {
					continue // forgotten rightly, or not yet: nothing to tell
				}
				checked.Add(1)
				if !found {
					missed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if missed.Load() != 0 || checked.Load() < 40000 {
		t.Errorf("%d of %d marks not found right after they were set", missed.Load(), checked.Load())
	}
}

// TestAdmitStreamWaits: a stream receiver waits for the queue to fall
// below its soft watermark before it refuses a new call, and refuses it
// when the queue stays past it.
func TestAdmitStreamWaits(t *testing.T) {
	opt := CollectorOptions{QueueSize: 100}
	opt.defaults()
	c := &Collector{opt: opt, metrics: NewMetrics(), shed: newShedder(&opt)}
	invite := func(id string) *inbound {
		return &inbound{msg: analyze.Message{CallID: id, Request: true, Method: "INVITE"}}
	}
	c.queuedMsgs.Store(60)
	start := time.Now()
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.queuedMsgs.Store(10) // the analyzer caught up
	}()
	if !c.admit(invite("burst"), start, time.Second) {
		t.Error("a new call over a stream was refused while the queue drained within the wait")
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("admitted after %v, before the queue drained", waited)
	}
	c.queuedMsgs.Store(60)
	start = time.Now()
	if c.admit(invite("lasting"), start, 100*time.Millisecond) || time.Since(start) < 100*time.Millisecond {
		t.Errorf("a new call over a stream: admitted, or refused after %v, with the queue past its watermark for good", time.Since(start))
	}
	if c.metrics.shedCalls.Load() != 1 {
		t.Errorf("%d calls shed, want 1", c.metrics.shedCalls.Load())
	}
}

// TestAdmit follows the decisions of one shedder through a load peak: a
// call admitted before the peak keeps every message (its INVITE again with
// credentials too), new calls and exchanges during the peak are refused
// with every later message, also once the peak is over, and new calls are
// taken again after it.
func TestAdmit(t *testing.T) {
	opt := CollectorOptions{QueueSize: 100}
	opt.defaults()
	c := &Collector{opt: opt, metrics: NewMetrics(), shed: newShedder(&opt)}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	msg := func(callID, first string, toTag string) *inbound {
		in := &inbound{msg: analyze.Message{CallID: callID}}
		if m, ok := strings.CutPrefix(first, "SIP/2.0 "); ok {
			in.msg.StatusCode = len(m) // any
		} else {
			in.msg.Request, in.msg.Method = true, first
		}
		in.msg.To.Tag = toTag
		return in
	}
	steps := []struct {
		load      int64
		in        *inbound
		want      bool
		what      string
		calls, ms int64
	}{
		{0, msg("a", "INVITE", ""), true, "a new call, quiet", 0, 0},
		{0, msg("a", "SIP/2.0 407", "t"), true, "its challenge", 0, 0},
		{60, msg("a", "INVITE", ""), true, "its INVITE with credentials, busy", 0, 0},
		{60, msg("b", "INVITE", ""), false, "a new call, busy", 1, 1},
		{60, msg("b", "SIP/2.0 100", ""), false, "its 100 Trying", 1, 2},
		{60, msg("b", "CANCEL", ""), false, "its CANCEL", 1, 3},
		{60, msg("a", "SIP/2.0 200", "t"), true, "the first call's 200", 1, 3},
		{60, msg("a", "ACK", "t"), true, "the first call's ACK", 1, 3},
		{60, msg("r", "REGISTER", ""), false, "a new registration, busy", 2, 4},
		{60, msg("o", "BYE", "t"), true, "a BYE of a call never seen", 2, 4},
		{99, msg("a", "BYE", "t"), true, "the first call's BYE, nearly full", 2, 4},
		{0, msg("b", "INVITE", ""), false, "the refused call's INVITE again, quiet", 2, 5},
		{0, msg("b", "BYE", "u"), false, "the refused call's BYE, quiet", 2, 6},
		{0, msg("r", "REGISTER", ""), false, "the refused registration again", 2, 7},
		{0, msg("c", "INVITE", ""), true, "a new call, quiet again", 2, 7},
		{60, msg("c", "INVITE", ""), true, "its retransmission, busy", 2, 7},
	}
	for _, s := range steps {
		c.queuedMsgs.Store(s.load)
		now = now.Add(10 * time.Millisecond)
		if got := c.admit(s.in, now, 0); got != s.want {
			t.Errorf("%s (%d queued): admitted %v, want %v", s.what, s.load, got, s.want)
		}
		if sc, sm := c.metrics.shedCalls.Load(), c.metrics.shedMessages.Load(); sc != s.calls || sm != s.ms {
			t.Errorf("after %s: %d calls and %d messages shed, want %d and %d", s.what, sc, sm, s.calls, s.ms)
		}
	}
	// A decoder refuses the messages of refused calls as soon as it has
	// their Call-ID, before it makes an analyze.Message of them.
	if !c.refusedEarly([]byte("b"), now) || c.refusedEarly([]byte("a"), now) || c.refusedEarly([]byte("c"), now) {
		t.Error("refused early: want the refused call's messages only")
	}
	c.metrics.shedMessages.Add(-1)
	// The decoder finds the Call-ID by a scan before it parses: a
	// message of a refused call is refused even where Parse would refuse
	// it as malformed (a start line that is none), and counted as shed;
	// one whose Call-ID the scan cannot be sure of (folded) is refused
	// once parsed.
	d := &decoder{c: c}
	meta := analyze.Meta{Time: now}
	for _, m := range []struct {
		sip        string
		ok         bool
		shed, form int64
	}{
		{"NOT A START LINE\r\nCall-ID: b\r\n\r\n", false, 1, 0},
		{"NOT A START LINE\r\nCall-ID: a\r\n\r\n", false, 0, 1},
		{"SIP/2.0 180 Ringing\r\nCall-ID:\r\n b\r\nCSeq: 1 INVITE\r\n\r\n", false, 1, 0},
		{"SIP/2.0 180 Ringing\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n", true, 0, 0},
	} {
		shed, form := c.metrics.shedMessages.Load(), c.metrics.malformed.Load()
		var in inbound
		ok := d.sip(&in, []byte(m.sip), meta, now, false)
		if ds, df := c.metrics.shedMessages.Load()-shed, c.metrics.malformed.Load()-form; ok != m.ok || ds != m.shed || df != m.form {
			t.Errorf("%q: decoded %v, %d shed, %d malformed; want %v, %d, %d", m.sip, ok, ds, df, m.ok, m.shed, m.form)
		}
		c.metrics.shedMessages.Store(shed)
	}
	// /metrics shows them apart from the messages dropped when full.
	c.metrics.dropped.Add(3)
	var out strings.Builder
	if err := c.metrics.WritePrometheus(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nsipcause_calls_shed_total 2\n", "\nsipcause_messages_shed_total 7\n",
		"\nsipcause_packets_rejected_total{reason=\"shed\"} 7\n", "\nsipcause_messages_dropped_total 3\n",
		"\nsipcause_packets_rejected_total{reason=\"queue_full\"} 3\n", "# TYPE sipcause_calls_shed_total counter\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The bytes in the queue count as well as the messages.
	c.queuedMsgs.Store(0)
	c.queuedBytes.Store(int64(opt.MaxQueueBytes/2) + 1)
	if c.admit(msg("d", "OPTIONS", ""), now, 0) {
		t.Error("a new exchange was taken with the queue past half its bytes")
	}
}

// TestOverloadShedsWholeCalls sends complete calls (INVITE, 100, 180, 200,
// ACK, BYE, 200), 60 at a time with their messages interleaved, as plain
// SIP datagrams to a collector whose analyzer is held back until all are
// sent: the queue (1000 messages) overflows as behind a slow analyzer.
// Every call stored must be whole and answered, starting with its INVITE,
// none dropped past the hard limit, and the refused calls counted. The
// same traffic with the soft watermark at the hard limit (the collector
// before calls were shed) stores calls that lost messages: the test can
// tell.
func TestOverloadShedsWholeCalls(t *testing.T) {
	const (
		waves   = 12
		perWave = 60
		queue   = 1000
	)
	var pkts, heps [][]byte
	for w := range waves {
		var calls [][]synth.Packet
		for i := range perWave {
			n := w*perWave + i
			calls = append(calls, synth.Call(n, time.Now(), synth.CallOptions{CallID: fmt.Sprintf("shed-%d@sipcause.test", n)}))
		}
		for step := range calls[0] {
			for _, call := range calls {
				p := call[step]
				pkts = append(pkts, p.SIP)
				heps = append(heps, synth.EncodeHEP3(nil, p.Src, p.Dst, p.Time, 17, 1, p.SIP))
			}
		}
	}
	if len(pkts) != waves*perWave*7 {
		t.Fatalf("%d messages, want 7 a call", len(pkts))
	}
	run := func(t *testing.T, hep bool, queue int, soft int64) (stored []*store.CallRecord, s Snapshot) {
		st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "sipcause.db"))
		if err != nil {
			t.Fatal(err)
		}
		m := NewMetrics()
		opt := CollectorOptions{SIPAddr: "127.0.0.1:0", QueueSize: queue}
		if hep {
			opt = CollectorOptions{HEPAddr: "127.0.0.1:0", QueueSize: queue}
		}
		col, err := NewCollector(opt, st, m)
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		col.shed.softMsgs = soft
		col.hold = make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		r := &running{col: col, st: st, m: m, cancel: cancel, done: make(chan error, 1)}
		go func() { r.done <- col.Run(ctx) }()
		t.Cleanup(func() { r.stop(t) })

		to, send := col.SIPAddr(), pkts
		if hep {
			to, send = col.HEPAddr(), heps
		}
		c, err := net.Dial("udp", to)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i, p := range send {
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
			if i%8 == 7 {
				time.Sleep(time.Millisecond) // within the socket buffer
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for m.received.Load() < int64(len(pkts)) {
			if kd := m.kernelDropsSIP.Load() + m.kernelDropsHEP.Load(); time.Now().After(deadline) || kd > 0 {
				t.Fatalf("received %d of %d datagrams, the kernel dropped %d", m.received.Load(), len(pkts), kd)
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(col.hold)
		r.stop(t) // analyzes the queue, reports the open calls and stores them
		s = m.Snapshot()
		st, err = store.OpenSQLite(st.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for off := 0; ; off += 1000 {
			rows, err := st.SearchCalls(context.Background(), store.Query{Limit: 1000, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				cr, err := st.GetCall(context.Background(), row.CallID)
				if err != nil {
					t.Fatal(err)
				}
				stored = append(stored, cr)
			}
			if len(rows) < 1000 {
				break
			}
		}
		t.Logf("soft watermark %d of %d: %d calls stored; %+v", soft, queue, len(stored), s)
		return stored, s
	}
	// whole lists the stored calls that are not answered with their seven
	// messages, the INVITE first.
	broken := func(stored []*store.CallRecord) []string {
		var bad []string
		for _, cr := range stored {
			c := cr.Call
			first := ""
			if len(cr.Messages) > 0 {
				first, _, _ = strings.Cut(string(cr.Messages[0].Raw), " ")
			}
			if c.Outcome != analyze.OutcomeAnswered || c.FinalStatus != 200 || len(cr.Messages) != 7 || first != "INVITE" {
				bad = append(bad, fmt.Sprintf("%s: %s %d (%s), %d messages, first %q", c.CallID, c.Outcome, c.FinalStatus, c.Fault, len(cr.Messages), first))
			}
		}
		return bad
	}

	whole := func(t *testing.T, stored []*store.CallRecord, s Snapshot) {
		t.Helper()
		for _, b := range broken(stored) {
			t.Error(b)
		}
		if s.Dropped != 0 {
			t.Errorf("%d messages dropped at the hard limit", s.Dropped)
		}
		total := int64(waves * perWave)
		if len(stored) < queue/2/7 || s.ShedCalls == 0 || int64(len(stored))+s.ShedCalls != total {
			t.Errorf("%d calls stored and %d shed, want both and %d in all", len(stored), s.ShedCalls, total)
		}
		if s.Shed != 7*s.ShedCalls {
			t.Errorf("%d messages shed for %d calls, want 7 a call", s.Shed, s.ShedCalls)
		}
	}
	t.Run("shed", func(t *testing.T) {
		stored, s := run(t, false, queue, queue/2)
		whole(t, stored, s)
	})
	// HEP datagrams on IPv4 are read 64 at a time and decoded just before
	// the analyzer takes them, so they wait in the queue undecoded and
	// calls are shed as the analyzer reaches them: the queue is made
	// large enough for all of them (held back, nothing is analyzed), the
	// analyzer starts with it past half full, and refuses calls until it
	// is below half.
	t.Run("shed HEP read in batches", func(t *testing.T) {
		stored, s := run(t, true, 8000, 4000)
		whole(t, stored, s)
	})
	t.Run("hard limit only", func(t *testing.T) {
		stored, s := run(t, false, queue, queue+1) // never reached: the queue holds queue messages at most
		bad := broken(stored)
		if s.Dropped == 0 || len(bad) == 0 {
			t.Errorf("dropping at the hard limit: %d dropped, %d calls stored broken; the test could not tell", s.Dropped, len(bad))
		}
		t.Logf("%d of %d stored calls broken, e.g. %q", len(bad), len(stored), bad[:min(len(bad), 2)])
	})
}

// BenchmarkAdmit is the cost every message pays on its receiver (or, read
// in batches, on the analyzer): a message of a call under way while
// nothing is shed, a new call's INVITE (hashed and marked), and a message
// looked up while calls are shed.
func BenchmarkAdmit(b *testing.B) {
	opt := CollectorOptions{}
	opt.defaults()
	c := &Collector{opt: opt, metrics: NewMetrics(), shed: newShedder(&opt)}
	now := time.Now()
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-bench@sipcause.test", uint32(i)*2654435761)
	}
	var m inbound
	m.msg.Request = true
	b.Run("in call, nothing shed", func(b *testing.B) {
		b.ReportAllocs()
		m.msg.CallID, m.msg.Method, m.msg.To.Tag = ids[0], "BYE", "t"
		for b.Loop() {
			c.admit(&m, now, 0)
		}
	})
	b.Run("new call", func(b *testing.B) {
		b.ReportAllocs()
		m.msg.Method, m.msg.To.Tag = "INVITE", ""
		i := 0
		for b.Loop() {
			m.msg.CallID = ids[i%len(ids)]
			c.admit(&m, now, 0)
			i++
		}
	})
	b.Run("in call, shedding", func(b *testing.B) {
		b.ReportAllocs()
		c.shed.refused.mark(1, now.UnixNano())
		m.msg.Method, m.msg.To.Tag = "ACK", "t"
		i := 0
		for b.Loop() {
			m.msg.CallID = ids[i%len(ids)]
			c.admit(&m, now, 0)
			i++
		}
	})
}
