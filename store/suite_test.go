package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/internal/chtest"
)

// The store suite: every test here runs against each backend, SQLite and
// ClickHouse (a clickhouse-server of its own, started once for the
// package, one database per test), so that the UI and the collector see
// the same behaviour whichever is behind them.

// backend opens stores of one kind for the suite.
type backend struct {
	name string
	// open returns an empty store, closed at the end of the test.
	open func(t *testing.T) Store
	// reopen closes s and opens the same data again, as a restarted
	// sipcause would.
	reopen func(t *testing.T, s Store) Store
}

var (
	sharedCH     *chtest.Server
	sharedCHOnce sync.Once
	sharedCHErr  error
	sharedCHDir  string
	dbSeq        atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedCH != nil {
		sharedCH.Stop()
	}
	if sharedCHDir != "" {
		os.RemoveAll(sharedCHDir)
	}
	os.Exit(code)
}

// clickhouseServer returns the package's ClickHouse server, started at
// the first call.
func clickhouseServer(t *testing.T) *chtest.Server {
	t.Helper()
	if chtest.Binary() == "" {
		t.Skip("clickhouse-server is not installed (scripts/test installs it)")
	}
	sharedCHOnce.Do(func() {
		sharedCHDir, sharedCHErr = os.MkdirTemp("", "sipcause-store-ch")
		if sharedCHErr != nil {
			return
		}
		var ss []*chtest.Server
		if ss, sharedCHErr = chtest.Launch(sharedCHDir, "", 1); sharedCHErr == nil {
			sharedCH = ss[0]
		}
	})
	if sharedCHErr != nil {
		t.Fatal(sharedCHErr)
	}
	return sharedCH
}

// openCH opens a store on a new database of srv, with its spool in dir.
func openCH(t *testing.T, url, spool string) *ClickHouse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool, BatchAge: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func backends() []backend {
	return []backend{
		{name: "sqlite",
			open: func(t *testing.T) Store { s, _ := openTemp(t); return s },
			reopen: func(t *testing.T, s Store) Store {
				s.Close()
				s2, err := OpenSQLite(s.(*SQLite).Path())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s2.Close() })
				return s2
			}},
		{name: "clickhouse",
			open: func(t *testing.T) Store {
				srv := clickhouseServer(t)
				url := srv.URL(fmt.Sprintf("suite%d", dbSeq.Add(1)))
				spool := filepath.Join(t.TempDir(), "spool")
				s := openCH(t, url, spool)
				chURLs.Store(s, url)
				t.Cleanup(func() { s.Close() })
				return s
			},
			reopen: func(t *testing.T, s Store) Store {
				url, _ := chURLs.Load(s)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s2 := openCH(t, url.(string), s.(*ClickHouse).opt.SpoolDir)
				chURLs.Store(s2, url)
				t.Cleanup(func() { s2.Close() })
				return s2
			}},
	}
}

var chURLs sync.Map // *ClickHouse → its URL

// flush makes what was put visible to the reads (the ClickHouse store
// writes from its spool in the background).
func flush(t *testing.T, s Store) {
	t.Helper()
	if b, ok := s.(Buffered); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStore runs the suite on every backend.
func TestStore(t *testing.T) {
	tests := []struct {
		name string
		f    func(t *testing.T, b backend)
	}{
		{"PutSearchGet", suitePutSearchGet},
		{"Registrations", suiteRegistrations},
		{"Retain", suiteRetain},
		{"Reopen", suiteReopen},
		{"CountCalls", suiteCountCalls},
		{"SearchRegistrations", suiteSearchRegistrations},
		{"HostileText", suiteHostileText},
		{"PagingOverDays", suitePagingOverDays},
		{"PackedRecord", suitePackedRecord},
		{"NumberOutsideURI", suiteNumberOutsideURI},
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.f(t, b) })
			}
		})
	}
}

func suitePutSearchGet(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	var batch []CallRecord
	for i := range 10 {
		st, oc := 200, analyze.OutcomeAnswered
		if i%2 == 1 {
			st, oc = 486, analyze.OutcomeBusy
		}
		cr := testCall(i, st, oc)
		// Audio verdicts: one way on every third call (a problem), both
		// ways with a good MOS on the second; none on the rest.
		mos := 4.3
		switch {
		case i%3 == 0:
			cr.Call.Audio = &analyze.Audio{Verdict: "one_way", Direction: "caller_to_callee", MOS: &mos}
		case i == 1:
			cr.Call.Audio = &analyze.Audio{Verdict: "both", MOS: &mos}
		}
		batch = append(batch, cr)
	}
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	tests := []struct {
		name string
		q    Query
		want int
	}{
		{"all", Query{}, 10},
		{"status", Query{Status: 486}, 5},
		{"outcome", Query{Outcome: analyze.OutcomeAnswered}, 5},
		{"fault", Query{Fault: "remote"}, 10},
		{"audio problem", Query{Audio: AudioProblem}, 4},
		{"audio ok", Query{Audio: AudioOK}, 1},
		{"audio problem and busy", Query{Audio: AudioProblem, Status: 486}, 2},
		{"number", Query{Number: "31200000003"}, 1},
		{"callee number", Query{Number: "1234567"}, 10},
		{"number in the URI, any case", Query{Number: "A.TEST"}, 10},
		{"like is escaped", Query{Number: "%"}, 0},
		{"call-id", Query{CallID: "call-4@test"}, 1},
		{"unknown call-id", Query{CallID: "call-44@test"}, 0},
		{"time range", Query{From: t0.Add(2 * time.Minute), To: t0.Add(5 * time.Minute)}, 3},
		{"limit", Query{Limit: 3}, 3},
		{"offset", Query{Limit: 3, Offset: 8}, 2},
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
	if len(all) != 10 || all[0].CallID != "call-9@test" || all[9].CallID != "call-0@test" {
		t.Fatalf("newest first: got %+v", all)
	}
	if c := all[6]; c.Caller != "31200000003" || c.Callee != "31201234567" || c.FinalStatus != 486 || c.Outcome != analyze.OutcomeBusy ||
		c.Fault != "remote" || c.PDDMS != 1500 || c.Summary != "summary" || !c.Start.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("summary row: %+v", c)
	}
	cr, err := s.GetCall(ctx, "call-3@test")
	if err != nil {
		t.Fatal(err)
	}
	if cr.Call.FinalStatus != 486 || len(cr.Messages) != 2 || string(cr.Messages[1].Raw) != "SIP/2.0 486 Busy Here\r\n\r\n" {
		t.Errorf("GetCall: %+v", cr)
	}
	if !cr.Messages[0].Time.Equal(t0.Add(3*time.Minute)) || cr.Messages[0].Src != "10.0.0.1:5060" || cr.Messages[1].Frame != 7 {
		t.Errorf("message: %+v", cr.Messages[0])
	}
	if _, err := s.GetCall(ctx, "nope"); err != ErrNotFound {
		t.Errorf("GetCall(missing) = %v, want ErrNotFound", err)
	}
	tl, err := s.Timeline(ctx, t0, t0.Add(10*time.Minute), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 2 || tl[0].Attempts != 5 || tl[0].Answered != 3 || tl[0].Effective != 5 || tl[0].PDDCount != 5 || tl[0].PDDSumMS != 7500 {
		t.Errorf("timeline: %+v", tl)
	}
	if ser, ok := tl[0].SER(); !ok || ser != 60 {
		t.Errorf("SER = %v %v, want 60", ser, ok)
	}
	// The same Call-ID seen again later: GetCall gives the newest.
	again := testCall(3, 200, analyze.OutcomeAnswered)
	again.Call.Start = t0.Add(time.Hour)
	if err := s.PutCalls(ctx, []CallRecord{again}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if cr, err := s.GetCall(ctx, "call-3@test"); err != nil || cr.Call.FinalStatus != 200 {
		t.Errorf("GetCall of a repeated Call-ID: %v %+v", err, cr)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls != 11 || st.Messages != 22 || !st.Oldest.Equal(t0) || !st.Newest.Equal(t0.Add(time.Hour)) || st.Bytes <= 0 {
		t.Errorf("stats: %+v", st)
	}
}

func suiteRegistrations(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	regs := []*analyze.Register{{CallID: "r1", AOR: "sip:alice@x", Start: t0, FinalStatus: 200, Outcome: "registered", Fault: "none"}}
	if err := s.PutRegistrations(ctx, regs); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	st, _ := s.Stats(ctx)
	if st.Registrations != 1 {
		t.Errorf("registrations = %d", st.Registrations)
	}
	if _, err := s.Retain(ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Stats(ctx)
	if st.Registrations != 0 {
		t.Errorf("registrations after retain = %d", st.Registrations)
	}
}

// suiteRetain: calls on three days, retention up to the start of the
// third; both backends delete the first two days whole (ClickHouse drops
// their partitions) and keep the third, messages included.
func suiteRetain(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	var batch []CallRecord
	for d := range 3 {
		for i := range 4 {
			cr := testCall(d*10+i, 486, analyze.OutcomeBusy)
			cr.Call.Start = t0.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Hour)
			batch = append(batch, cr)
		}
	}
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRegistrations(ctx, []*analyze.Register{{CallID: "r-old", AOR: "sip:a@x", Start: t0}, {CallID: "r-new", AOR: "sip:a@x", Start: t0.Add(50 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	cut := time.Date(t0.Year(), t0.Month(), t0.Day()+2, 0, 0, 0, 0, time.UTC)
	n, err := s.Retain(ctx, cut)
	if err != nil || n != 8 {
		t.Fatalf("Retain = %d, %v; want 8", n, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls != 4 || st.Messages != 8 || st.Registrations != 1 || !st.Oldest.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("stats after retain: %+v", st)
	}
	if _, err := s.GetCall(ctx, "call-1@test"); err != ErrNotFound {
		t.Errorf("a retained call is still there: %v", err)
	}
	if cr, err := s.GetCall(ctx, "call-21@test"); err != nil || len(cr.Messages) != 2 {
		t.Errorf("a kept call: %v", err)
	}
	if n, err := s.Retain(ctx, cut); err != nil || n != 0 {
		t.Errorf("second Retain = %d, %v; want 0", n, err)
	}
}

// suiteReopen: what was stored survives a restart of sipcause.
func suiteReopen(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 200, analyze.OutcomeAnswered)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRegistrations(ctx, []*analyze.Register{{CallID: "r1", AOR: "sip:alice@x", Start: t0}}); err != nil {
		t.Fatal(err)
	}
	s2 := b.reopen(t, s)
	flush(t, s2)
	if _, err := s2.GetCall(ctx, "call-1@test"); err != nil {
		t.Fatal(err)
	}
	if st, err := s2.Stats(ctx); err != nil || st.Calls != 1 || st.Registrations != 1 {
		t.Fatalf("after reopen: %+v %v", st, err)
	}
	if err := s2.PutCalls(ctx, []CallRecord{testCall(2, 200, analyze.OutcomeAnswered)}); err != nil {
		t.Fatal(err)
	}
	flush(t, s2)
	if got, err := s2.SearchCalls(ctx, Query{}); err != nil || len(got) != 2 {
		t.Fatalf("after reopen and a write: %d calls, %v", len(got), err)
	}
}

// suiteHostileText: bytes that mean something to SQL or to a text
// format (quotes, backslashes, tabs, newlines, NUL, invalid UTF-8) go in
// and come out unchanged.
func suiteHostileText(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	cr := testCall(1, 486, analyze.OutcomeBusy)
	nasty := "a'b\\c\td\ne\x00f\xff\\N'); DROP TABLE calls; --"
	cr.Call.CallID, cr.Call.Caller, cr.Summary = nasty, nasty, nasty
	cr.Messages[0].Raw = []byte("INVITE sip:x SIP/2.0\r\nX: \x00\x01\t\\\n\xff\r\n\r\n")
	if err := s.PutCalls(ctx, []CallRecord{cr}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	got, err := s.GetCall(ctx, nasty)
	if err != nil {
		t.Fatal(err)
	}
	// The call itself is kept as JSON, which has no invalid UTF-8; the
	// searched columns and the raw messages keep every byte.
	if got.Call.CallID != strings.ToValidUTF8(nasty, "\uFFFD") || string(got.Messages[0].Raw) != string(cr.Messages[0].Raw) {
		t.Errorf("round trip: %q %q", got.Call.CallID, got.Messages[0].Raw)
	}
	for _, q := range []Query{{CallID: nasty}, {Number: nasty}} {
		rs, err := s.SearchCalls(ctx, q)
		if err != nil || len(rs) != 1 || rs[0].Caller != nasty || rs[0].Summary != nasty {
			t.Errorf("search %+v: %v %+v", q, err, rs)
		}
	}
}

func suiteCountCalls(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
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
	// Audio verdicts on three answered calls: two one way, one good.
	mos := 4.1
	batch[0].Call.Audio = &analyze.Audio{Verdict: "one_way"}
	batch[1].Call.Audio = &analyze.Audio{Verdict: "none"}
	batch[2].Call.Audio = &analyze.Audio{Verdict: "both", MOS: &mos}
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
	flush(t, s)
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
	cs, err := s.CountCalls(ctx, CountQuery{From: t0, To: t0.Add(2 * time.Hour), By: ByAudio, Outcomes: []string{analyze.OutcomeAnswered}})
	if err != nil {
		t.Fatal(err)
	}
	var audio []string
	for _, c := range cs {
		audio = append(audio, fmt.Sprintf("%s=%d", c.Key, c.Count))
	}
	if got, want := strings.Join(audio, " "), "=3 problem=2 ok=1"; got != want {
		t.Errorf("by audio: %s, want %s", got, want)
	}
	// Per hour: the first hour has 486 x2, 503, timeout; the second 486, 503.
	cs, err = s.CountCalls(ctx, CountQuery{From: t0, To: t0.Add(2 * time.Hour), Step: time.Hour, By: ByStatus, Outcomes: FailedOutcomes})
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

func suiteSearchRegistrations(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
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
	flush(t, s)
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

// suitePagingOverDays: 60 calls, one every 19 hours over seven weeks;
// pages of the newest calls and of a rare status come back in order and
// complete, whatever day partitions they fall in.
func suitePagingOverDays(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	var batch []CallRecord
	for i := range 60 {
		st, oc := 200, analyze.OutcomeAnswered
		if i%13 == 0 {
			st, oc = 503, analyze.OutcomeFailed
		}
		cr := testCall(i, st, oc)
		cr.Call.Start = t0.Add(time.Duration(i) * 19 * time.Hour)
		batch = append(batch, cr)
	}
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	ids := func(q Query) string {
		t.Helper()
		rs, err := s.SearchCalls(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(r.CallID, "call-"), "@test"))
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		name string
		q    Query
		want string
	}{
		{"newest", Query{Limit: 3}, "59 58 57"},
		{"a page further", Query{Limit: 4, Offset: 20}, "39 38 37 36"},
		{"the last page", Query{Limit: 10, Offset: 55}, "4 3 2 1 0"},
		{"past the end", Query{Limit: 10, Offset: 60}, ""},
		{"rare status", Query{Status: 503}, "52 39 26 13 0"},
		{"rare status, page 2", Query{Status: 503, Limit: 2, Offset: 2}, "26 13"},
		{"from only", Query{From: t0.Add(50 * 19 * time.Hour), Limit: 100}, "59 58 57 56 55 54 53 52 51 50"},
		{"to only", Query{To: t0.Add(3 * 19 * time.Hour)}, "2 1 0"},
		{"a wide range", Query{From: t0.Add(10 * 19 * time.Hour), To: t0.Add(40 * 19 * time.Hour), Status: 503}, "39 26 13"},
	} {
		if got := ids(tt.q); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// suitePackedRecord: a call handed over as a collector does, its messages
// in a MessageLog, its JSON marshaled ahead and the linking headers on its
// INVITE, reads back as one handed over with Messages.
func suitePackedRecord(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	rec := testCall(7, 486, analyze.OutcomeBusy)
	invite := "INVITE sip:x SIP/2.0\r\nX-CID: other-leg@test\r\nSession-ID: 0123456789abcdef0123456789abcdef\r\n\r\n"
	var l MessageLog
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060")
	l.Append(14, rec.Call.Start, src, dst, "udp", []byte(invite))
	l.Append(15, rec.Call.Start.Add(time.Second), dst, src, "udp", rec.Messages[1].Raw)
	js, err := json.Marshal(rec.Call)
	if err != nil {
		t.Fatal(err)
	}
	rec.Messages, rec.Log, rec.JSON = nil, &l, js
	if err := s.PutCalls(ctx, []CallRecord{rec}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	got, err := s.GetCall(ctx, rec.Call.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Call.FinalStatus != 486 || len(got.Messages) != 2 || got.Messages[0].Frame != 14 || got.Messages[1].Src != dst.String() ||
		string(got.Messages[0].Raw) != invite || !got.Messages[1].Time.Equal(rec.Call.Start.Add(time.Second)) {
		t.Errorf("read back %+v with %+v", got.Call, got.Messages)
	}
	if st, err := s.Stats(ctx); err != nil || st.Messages != 2 {
		t.Errorf("stats: %+v, %v; want 2 messages", st, err)
	}
}

// suiteNumberOutsideURI: a call whose caller and callee are not part of
// its From and To URIs (an anonymous From, a callee dialled nationally to
// an international tel: URI) is found by any of the four.
func suiteNumberOutsideURI(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t)
	cr := testCall(1, 486, analyze.OutcomeBusy)
	cr.Call.Caller, cr.Call.From = "31209998877", "sip:anonymous@anonymous.invalid"
	cr.Call.Callee, cr.Call.To = "0612345678", "tel:+31612345678"
	if err := s.PutCalls(ctx, []CallRecord{cr, testCall(2, 200, analyze.OutcomeAnswered)}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	for _, n := range []string{"9998877", "0612345", "ANONYMOUS", "+3161234", "31209998877"} {
		got, err := s.SearchCalls(ctx, Query{Number: n})
		if err != nil || len(got) != 1 || got[0].CallID != "call-1@test" || got[0].Caller != "31209998877" || got[0].Callee != "0612345678" {
			t.Errorf("number %q: %+v (%v)", n, got, err)
		}
	}
}
