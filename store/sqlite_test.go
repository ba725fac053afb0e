package store

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
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

// reopen closes s and opens its database again, as a newer sipcause
// opens one an older one wrote.
func reopen(t *testing.T, s *SQLite, path string) *SQLite {
	t.Helper()
	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
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
	// A context that can end, as the collector gives each batch.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for b.Loop() {
		if err := s.PutCalls(ctx, batch); err != nil {
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

// TestMessageLog: a log appended message by message (as the collector
// keeps an open call's messages) packs exactly what encodeMessages packs
// for the same messages, so a call stored with a Log reads back as one
// stored with Messages, in both stores' format.
func TestMessageLog(t *testing.T) {
	src, dst := netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("[2001:db8::1]:5061")
	at := time.Date(2026, 3, 2, 10, 42, 0, 123456789, time.UTC)
	var l MessageLog
	l.Append(7, at, src, dst, "udp", []byte("INVITE sip:a@b SIP/2.0\r\n\r\n"))
	l.Append(9, at.Add(time.Second), dst, netip.AddrPort{}, "tcp", nil)
	want := []RawMessage{
		{Frame: 7, Time: at, Src: src.String(), Dst: dst.String(), Transport: "udp", Raw: []byte("INVITE sip:a@b SIP/2.0\r\n\r\n")},
		{Frame: 9, Time: at.Add(time.Second), Src: dst.String(), Dst: netip.AddrPort{}.String(), Transport: "tcp"},
	}
	if string(l.b) != string(encodeMessages(want)) || l.Len() != 2 {
		t.Fatalf("log %q (%d), want %q", l.b, l.Len(), encodeMessages(want))
	}
	s, _ := openTemp(t)
	rec := testCall(1, 486, analyze.OutcomeBusy)
	rec.Messages, rec.Log = nil, &l
	if err := s.PutCalls(context.Background(), []CallRecord{rec}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(context.Background(), rec.Call.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Messages[0].Src != want[0].Src || got.Messages[1].Frame != 9 || string(got.Messages[0].Raw) != string(want[0].Raw) {
		t.Errorf("stored messages %+v, want %+v", got.Messages, want)
	}
	if st, _ := s.Stats(context.Background()); st.Messages != 2 {
		t.Errorf("stats count %d messages, want 2", st.Messages)
	}
}

// TestCheckpointer: the writer leaves the WAL to the store's checkpointer
// (it would checkpoint itself only past walAutoCheckpoint pages, 128 MiB),
// which copies each batch into the database file soon after it is written.
func TestCheckpointer(t *testing.T) {
	s, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before := fi.Size()
	var batch []CallRecord
	for i := range 300 {
		batch = append(batch, testCall(i, 486, analyze.OutcomeBusy))
	}
	if err := s.PutCalls(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 5 s after a batch: the WAL was not checkpointed", fi.Size())
		}
		time.Sleep(20 * time.Millisecond)
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

// TestMigratePeer opens a database made before the peer and audio columns
// existed: both are added, and a call stored then is found by its audio.
func TestMigratePeer(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.w.Exec(`CREATE TABLE old AS SELECT * FROM calls; DROP TABLE calls;
		CREATE TABLE calls AS SELECT id, call_id, start, caller, callee, from_uri, to_uri, final_status, outcome, fault,
		leg_of, pdd_ms, duration_ms, caller_name, reason, summary, json FROM old; DROP TABLE old`); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s, path)
	cr := testCall(1, 200, analyze.OutcomeAnswered)
	cr.Call.Audio = &analyze.Audio{Verdict: "none"}
	if err := s2.PutCalls(context.Background(), []CallRecord{cr}); err != nil {
		t.Fatal(err)
	}
	got, err := s2.SearchCalls(context.Background(), Query{Audio: AudioProblem})
	if err != nil || len(got) != 1 {
		t.Errorf("audio search after migrating: %d calls (%v)", len(got), err)
	}
}
