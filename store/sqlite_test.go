package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testCall(i int, status int, outcome string) CallRecord {
	c := &analyze.Call{
		CallID: fmt.Sprintf("call-%d@test", i), Caller: fmt.Sprintf("3120%07d", i), Callee: "31201234567",
		From: fmt.Sprintf("sip:3120%07d@a.test", i), To: "sip:31201234567@b.test",
		Start: t0.Add(time.Duration(i) * time.Minute), FinalStatus: status, Reason: "x", Outcome: outcome,
		Fault: "remote", PDDMS: 1500, Findings: []analyze.Finding{}, Frames: []int{2 * i, 2*i + 1},
	}
	return CallRecord{Call: c, Summary: "summary", Messages: []RawMessage{
		{Frame: 2 * i, Time: c.Start, Src: "10.0.0.1:5060", Dst: "10.0.0.2:5060", Transport: "udp", Raw: []byte("INVITE sip:x SIP/2.0\r\n\r\n")},
		{Frame: 2*i + 1, Time: c.Start.Add(time.Second), Src: "10.0.0.2:5060", Dst: "10.0.0.1:5060", Transport: "udp", Raw: []byte("SIP/2.0 486 Busy Here\r\n\r\n")},
	}}
}

func openTemp(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestPutSearchGet(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	var batch []CallRecord
	for i := range 10 {
		st, oc := 200, analyze.OutcomeAnswered
		if i%2 == 1 {
			st, oc = 486, analyze.OutcomeBusy
		}
		batch = append(batch, testCall(i, st, oc))
	}
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    Query
		want int
	}{
		{"all", Query{}, 10},
		{"status", Query{Status: 486}, 5},
		{"outcome", Query{Outcome: analyze.OutcomeAnswered}, 5},
		{"fault", Query{Fault: "remote"}, 10},
		{"number", Query{Number: "31200000003"}, 1},
		{"callee number", Query{Number: "1234567"}, 10},
		{"like is escaped", Query{Number: "%"}, 0},
		{"call-id", Query{CallID: "call-4@test"}, 1},
		{"time range", Query{From: t0.Add(2 * time.Minute), To: t0.Add(5 * time.Minute)}, 3},
		{"limit", Query{Limit: 3}, 3},
	}
	for _, tt := range tests {
		got, err := s.SearchCalls(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != tt.want {
			t.Errorf("%s: %d calls, want %d", tt.name, len(got), tt.want)
		}
	}
	all, _ := s.SearchCalls(ctx, Query{})
	if all[0].CallID != "call-9@test" {
		t.Errorf("newest first: got %s", all[0].CallID)
	}
	cr, err := s.GetCall(ctx, "call-3@test")
	if err != nil {
		t.Fatal(err)
	}
	if cr.Call.FinalStatus != 486 || len(cr.Messages) != 2 || string(cr.Messages[1].Raw) != "SIP/2.0 486 Busy Here\r\n\r\n" {
		t.Errorf("GetCall: %+v", cr)
	}
	if !cr.Messages[0].Time.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("message time %v", cr.Messages[0].Time)
	}
	if _, err := s.GetCall(ctx, "nope"); err != ErrNotFound {
		t.Errorf("GetCall(missing) = %v, want ErrNotFound", err)
	}
	tl, err := s.Timeline(ctx, t0, t0.Add(10*time.Minute), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 2 || tl[0].Attempts != 5 || tl[0].Answered != 3 || tl[0].Effective != 5 {
		t.Errorf("timeline: %+v", tl)
	}
	if ser, ok := tl[0].SER(); !ok || ser != 60 {
		t.Errorf("SER = %v %v, want 60", ser, ok)
	}
	n, err := s.Retain(ctx, t0.Add(4*time.Minute))
	if err != nil || n != 4 {
		t.Fatalf("Retain = %d, %v; want 4", n, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls != 6 || st.Messages != 12 || !st.Oldest.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("stats after retain: %+v", st)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRegistrations(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	regs := []*analyze.Register{{CallID: "r1", AOR: "sip:alice@x", Start: t0, FinalStatus: 200, Outcome: "registered", Fault: "none"}}
	if err := s.PutRegistrations(ctx, regs); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Stats(ctx)
	if st.Registrations != 1 {
		t.Errorf("registrations = %d", st.Registrations)
	}
	if _, err := s.Retain(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Stats(ctx)
	if st.Registrations != 0 {
		t.Errorf("registrations after retain = %d", st.Registrations)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 200, analyze.OutcomeAnswered)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.GetCall(ctx, "call-1@test"); err != nil {
		t.Fatal(err)
	}
}

// TestKilledWriter kills a process that writes batches as fast as it can
// with SIGKILL, then checks that the database is sound and holds every
// batch the writer reported as committed.
func TestKilledWriter(t *testing.T) {
	if os.Getenv("SIPCAUSE_STORE_WRITER") != "" {
		t.Skip("writer child")
	}
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SIPCAUSE_STORE_WRITER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() && acked < 30 && time.Now().Before(deadline) {
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if acked == 0 {
		t.Fatal("the writer acknowledged nothing")
	}
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls < int64(acked*50) || st.Calls%50 != 0 {
		t.Fatalf("after kill -9: %d calls stored, %d acknowledged (batches of 50 are all or nothing)", st.Calls, acked*50)
	}
	if st.Messages != 2*st.Calls {
		t.Fatalf("after kill -9: %d messages for %d calls", st.Messages, st.Calls)
	}
	t.Logf("killed after %d acknowledged batches; %d calls on disk", acked, st.Calls)
}

// TestWriterChild is the process TestKilledWriter kills.
func TestWriterChild(t *testing.T) {
	path := os.Getenv("SIPCAUSE_STORE_WRITER")
	if path == "" {
		t.Skip("only run by TestKilledWriter")
	}
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	for b := 1; ; b++ {
		batch := make([]CallRecord, 50)
		for i := range batch {
			batch[i] = testCall(b*50+i, 486, analyze.OutcomeBusy)
		}
		if err := s.PutCalls(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("acked %d\n", b)
	}
}

func BenchmarkPutCalls(b *testing.B) {
	s, err := OpenSQLite(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	batch := make([]CallRecord, 500)
	for i := range batch {
		batch[i] = testCall(i, 200, analyze.OutcomeAnswered)
	}
	for b.Loop() {
		if err := s.PutCalls(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "calls/s")
}

func TestMessageBlobRoundTrip(t *testing.T) {
	in := []RawMessage{
		{Frame: 1, Time: time.Date(2026, 3, 2, 10, 42, 0, 123456789, time.UTC), Src: "192.0.2.1:5060", Dst: "[2001:db8::1]:5060", Transport: "udp", Raw: []byte("INVITE sip:a@b SIP/2.0\r\n\r\n")},
		{Frame: 2, Time: time.Date(2026, 3, 2, 10, 42, 1, 0, time.UTC), Src: "", Dst: "?", Transport: "tcp", Raw: nil},
	}
	out, err := decodeMessages(encodeMessages(in))
	if err != nil || len(out) != 2 {
		t.Fatalf("%v, %d messages", err, len(out))
	}
	for i := range in {
		if out[i].Frame != in[i].Frame || !out[i].Time.Equal(in[i].Time) || out[i].Src != in[i].Src || out[i].Dst != in[i].Dst ||
			out[i].Transport != in[i].Transport || string(out[i].Raw) != string(in[i].Raw) {
			t.Errorf("message %d: %+v, want %+v", i, out[i], in[i])
		}
	}
	if _, err := decodeMessages([]byte{0x02, 0x04, 0xff}); err == nil {
		t.Error("a damaged blob must give an error")
	}
}

func FuzzDecodeMessages(f *testing.F) {
	f.Add(encodeMessages([]RawMessage{{Frame: 3, Time: time.Unix(1, 2), Src: "a", Dst: "b", Transport: "udp", Raw: []byte("x")}}))
	f.Add([]byte{0x02, 0x04, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := decodeMessages(b)
		if err == nil {
			again, err := decodeMessages(encodeMessages(ms))
			if err != nil || len(again) != len(ms) {
				t.Fatalf("round trip: %v, %d vs %d", err, len(again), len(ms))
			}
		}
	})
}

// TestCountCalls groups failures by cause, side, peer and number, per
// bucket and over the whole period, leaving out second legs.
func TestCountCalls(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	var batch []CallRecord
	// Minute i: 0-5 answered, then failures: 486 from 10.0.0.2 (x3),
	// 503 from 10.0.0.9 (x2), a timeout without a final response (x1).
	add := func(i, status int, outcome, fault, from string) {
		cr := testCall(i, status, outcome)
		cr.Call.Fault = fault
		cr.Call.Dst = "10.0.0.2:5060"
		if from != "" {
			cr.Call.FinalFrom = &analyze.Responder{Addr: from}
		}
		batch = append(batch, cr)
	}
	for i := range 6 {
		add(i, 200, analyze.OutcomeAnswered, "none", "10.0.0.2:5060")
	}
	add(6, 486, analyze.OutcomeBusy, "remote", "10.0.0.2:5060")
	add(7, 486, analyze.OutcomeBusy, "remote", "10.0.0.2:5060")
	add(70, 486, analyze.OutcomeBusy, "remote", "10.0.0.2:5060")
	add(8, 503, analyze.OutcomeFailed, "provider", "10.0.0.9:5060")
	add(71, 503, analyze.OutcomeFailed, "provider", "10.0.0.9:5060")
	add(9, 0, analyze.OutcomeTimeout, "network", "")
	leg := testCall(10, 503, analyze.OutcomeFailed)
	leg.Call.LegOf = "call-8@test"
	batch = append(batch, leg)
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	whole := func(by string, top int) string {
		t.Helper()
		cs, err := s.CountCalls(ctx, CountQuery{From: t0, To: t0.Add(2 * time.Hour), By: by, Outcomes: FailedOutcomes, Top: top})
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, c := range cs {
			if !c.Start.IsZero() {
				t.Errorf("%s: no step but a bucket start %v", by, c.Start)
			}
			parts = append(parts, fmt.Sprintf("%s=%d", c.Key, c.Count))
		}
		return strings.Join(parts, " ")
	}
	for _, tt := range []struct {
		by   string
		top  int
		want string
	}{
		{ByStatus, 0, "486=3 503=2 0=1"},
		{ByFault, 0, "remote=3 provider=2 network=1"},
		{ByPeer, 0, "10.0.0.2:5060=4 10.0.0.9:5060=2"}, // the timeout counts where the INVITE went
		{ByPeer, 1, "10.0.0.2:5060=4"},
		{ByCallee, 0, "31201234567=6"},
	} {
		if got := whole(tt.by, tt.top); got != tt.want {
			t.Errorf("by %s top %d: %s, want %s", tt.by, tt.top, got, tt.want)
		}
	}
	// Per hour: the first hour has 486 x2, 503, timeout; the second 486, 503.
	cs, err := s.CountCalls(ctx, CountQuery{From: t0, To: t0.Add(2 * time.Hour), Step: time.Hour, By: ByStatus, Outcomes: FailedOutcomes})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s %s=%d", c.Start.Format("15:04"), c.Key, c.Count))
	}
	if want := "12:00 486=2 12:00 0=1 12:00 503=1 13:00 486=1 13:00 503=1"; strings.Join(got, " ") != want {
		t.Errorf("per hour: %s, want %s", strings.Join(got, " "), want)
	}
	if _, err := s.CountCalls(ctx, CountQuery{From: t0, To: t0.Add(time.Hour), By: "summary; DROP TABLE calls"}); err == nil {
		t.Error("an unknown column was accepted")
	}
	if _, err := s.CountCalls(ctx, CountQuery{From: t0, To: t0.Add(time.Hour), Step: time.Millisecond, By: ByStatus}); err == nil {
		t.Error("3.6 million buckets were accepted")
	}
}

// TestSearchRegistrations: the newest registration per address of record
// tells who is registered now and who is failing.
func TestSearchRegistrations(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	reg := func(i int, aor string, status int, outcome string) *analyze.Register {
		return &analyze.Register{CallID: fmt.Sprintf("r%d", i), AOR: aor, Start: t0.Add(time.Duration(i) * time.Minute),
			FinalStatus: status, Outcome: outcome, Fault: "local"}
	}
	regs := []*analyze.Register{
		reg(0, "sip:alice@x", 200, "registered"),
		reg(1, "sip:bob@x", 200, "registered"),
		reg(2, "sip:alice@x", 403, "failed"), // alice fails now
		reg(3, "sip:carol_1@x", 0, "timeout"),
		reg(4, "sip:bob@x", 200, "registered"),
	}
	if err := s.PutRegistrations(ctx, regs); err != nil {
		t.Fatal(err)
	}
	ids := func(q RegQuery) string {
		t.Helper()
		rs, err := s.SearchRegistrations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.CallID)
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		name string
		q    RegQuery
		want string
	}{
		{"all, newest first", RegQuery{}, "r4 r3 r2 r1 r0"},
		{"latest per AOR", RegQuery{Latest: true}, "r4 r3 r2"},
		{"latest failed", RegQuery{Latest: true, Outcome: "failed"}, "r2"},
		{"latest registered", RegQuery{Latest: true, Outcome: "registered"}, "r4"},
		{"every failure", RegQuery{Outcome: "failed"}, "r2"},
		{"aor", RegQuery{AOR: "alice"}, "r2 r0"},
		{"like is escaped", RegQuery{AOR: "_"}, "r3"},
		{"time range", RegQuery{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, "r2 r1"},
		{"latest in a range", RegQuery{Latest: true, To: t0.Add(2 * time.Minute)}, "r1 r0"},
		{"limit", RegQuery{Limit: 2, Offset: 1}, "r3 r2"},
	} {
		if got := ids(tt.q); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestMigratePeer opens a database made before the peer column existed.
func TestMigratePeer(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.w.Exec(`CREATE TABLE old AS SELECT * FROM calls; DROP TABLE calls;
		CREATE TABLE calls AS SELECT id, call_id, start, caller, callee, from_uri, to_uri, final_status, outcome, fault,
		leg_of, pdd_ms, duration_ms, caller_name, reason, summary, json FROM old; DROP TABLE old`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.PutCalls(context.Background(), []CallRecord{testCall(1, 486, analyze.OutcomeBusy)}); err != nil {
		t.Fatal(err)
	}
}
