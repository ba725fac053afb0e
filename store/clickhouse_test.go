package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/internal/chtest"
)

// distinctCalls counts the Call-IDs in the calls table, duplicates from
// a re-sent batch counted once.
func distinctCalls(t *testing.T, s *ClickHouse) (distinct, rows int64) {
	t.Helper()
	r, err := s.query(context.Background(), "SELECT uniqExact(call_id), count() FROM {DB}.calls")
	if err != nil || len(r) != 1 {
		t.Fatal(err)
	}
	return atoi(r[0][0]), atoi(r[0][1])
}

// TestClickHouseRestartMidIngest kills ClickHouse while a writer keeps
// putting batches, starts it again, and checks that every batch PutCalls
// acknowledged is in the database.
func TestClickHouseRestartMidIngest(t *testing.T) {
	srv := chtest.Start(t)
	s := openCH(t, srv.URL("restart"), filepath.Join(t.TempDir(), "spool"))
	defer s.Close()
	ctx := context.Background()
	var acked atomic.Int64
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for b := 0; ; b++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			batch := make([]CallRecord, 50)
			for i := range batch {
				batch[i] = testCall(b*50+i, 486, analyze.OutcomeBusy)
			}
			if err := s.PutCalls(ctx, batch); err != nil {
				done <- err
				return
			}
			acked.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	waitFor := func(n int64) {
		for deadline := time.Now().Add(20 * time.Second); acked.Load() < n; {
			if time.Now().After(deadline) {
				t.Fatalf("the writer acknowledged only %d batches", acked.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(20)
	srv.Kill()
	down := acked.Load()
	waitFor(down + 30) // written while ClickHouse is down: spooled
	if s.Buffer().Batches == 0 {
		t.Error("nothing waits in the spool while ClickHouse is down")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(acked.Load() + 20)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	want := acked.Load() * 50
	distinct, rows := distinctCalls(t, s)
	if distinct != want {
		t.Fatalf("%d calls in ClickHouse, %d acknowledged", distinct, want)
	}
	if st := s.Buffer(); st.Retries == 0 || st.Bytes != 0 || st.DroppedCalls != 0 {
		t.Errorf("buffer after the restart: %+v", st)
	}
	// A re-sent batch shows once in a search.
	got, err := s.SearchCalls(ctx, Query{CallID: "call-1000@test"})
	if err != nil || len(got) != 1 {
		t.Errorf("search after the restart: %v %+v", err, got)
	}
	t.Logf("%d calls acknowledged, %d while ClickHouse was down; %d rows (re-sent: %d)", want, (acked.Load()-down)*50, rows, rows-distinct)
}

// TestClickHouseSpoolAcrossRestarts stops sipcause while ClickHouse is
// down: the batches wait in the spool, and the next process sends them.
func TestClickHouseSpoolAcrossRestarts(t *testing.T) {
	srv := chtest.Start(t)
	spool := filepath.Join(t.TempDir(), "spool")
	url := srv.URL("spoolrestart")
	s := openCH(t, url, spool)
	s.opt.CloseWait = time.Second
	ctx := context.Background()
	srv.Kill()
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 200, analyze.OutcomeAnswered), testCall(2, 486, analyze.OutcomeBusy)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRegistrations(ctx, []*analyze.Register{{CallID: "r1", AOR: "sip:a@x", Start: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err == nil {
		t.Error("Close with ClickHouse down reported nothing left behind")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	s2 := openCH(t, url, spool)
	defer s2.Close()
	flush(t, s2)
	st, err := s2.Stats(ctx)
	if err != nil || st.Calls != 2 || st.Registrations != 1 {
		t.Fatalf("after the restarts: %+v %v", st, err)
	}
	if ents, _ := os.ReadDir(spool); len(ents) != 1 { // the lock file
		t.Errorf("spool not emptied: %d entries", len(ents))
	}
}

// TestClickHouseSpoolFull: with ClickHouse down the spool fills up to its
// bound; then batches are refused and counted, and those accepted before
// still arrive.
func TestClickHouseSpoolFull(t *testing.T) {
	srv := chtest.Start(t)
	url := srv.URL("spoolfull")
	ctx := context.Background()
	s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool"), SpoolMax: 64 << 10, BatchAge: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.Kill()
	accepted, refused := 0, 0
	for i := range 200 {
		err := s.PutCalls(ctx, []CallRecord{testCall(i, 486, analyze.OutcomeBusy)})
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, ErrSpoolFull):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("accepted %d, refused %d: the bound did not act", accepted, refused)
	}
	if st := s.Buffer(); st.DroppedCalls != int64(refused) || st.Bytes > 64<<10 {
		t.Errorf("buffer: %+v, refused %d", st, refused)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if d, _ := distinctCalls(t, s); d != int64(accepted) {
		t.Errorf("%d calls stored, %d accepted", d, accepted)
	}
}

// TestClickHouseOpen: the URL, the password and the schema version.
func TestClickHouseOpen(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	spool := func() string { return filepath.Join(t.TempDir(), "spool") }
	for _, bad := range []string{
		"http://" + srv.HTTP + "/db",
		"clickhouse://" + srv.HTTP + "/db;drop",
		"clickhouse://" + srv.HTTP + "/db?password=x",
		"clickhouse://" + srv.HTTP + "/db?nonsense=1",
		"clickhouse:///db",
	} {
		if s, err := OpenClickHouse(ctx, bad, CHOptions{SpoolDir: spool()}); err == nil {
			s.Close()
			t.Errorf("%s was accepted", bad)
		}
	}
	// The user sipcause has a password: wrong, from the options, from a file.
	url := srv.URL("auth") + "?user=sipcause"
	if _, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool(), Password: "wrong"}); err == nil || !strings.Contains(err.Error(), "516") && !strings.Contains(err.Error(), "assword") {
		t.Errorf("a wrong password: %v", err)
	}
	s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool(), Password: chtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	pf := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pf, []byte(chtest.Password+"\n"), 0o600)
	s, err = OpenClickHouse(ctx, url+"&password_file="+pf, CHOptions{SpoolDir: spool()})
	if err != nil {
		t.Fatal(err)
	}
	// One process per spool.
	if s2, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: s.opt.SpoolDir, Password: chtest.Password}); err == nil {
		s2.Close()
		t.Error("two stores share one spool")
	}
	// A schema newer than this sipcause is refused, not overwritten.
	if _, err := s.conn.do(ctx, "INSERT INTO auth.sipcause_schema VALUES (99, now())", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool(), Password: chtest.Password}); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("a newer schema: %v", err)
	}
}

// TestClickHouseFailover lists a dead server first: the store starts and
// works through the next one; with no server up it does not start.
func TestClickHouseFailover(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	s, err := OpenClickHouse(ctx, "clickhouse://127.0.0.1:1,"+srv.HTTP+"/failover", CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 200, analyze.OutcomeAnswered)}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if _, err := s.GetCall(ctx, "call-1@test"); err != nil {
		t.Fatal(err)
	}
	_, err = OpenClickHouse(ctx, "clickhouse://127.0.0.1:1/failover", CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err == nil || !strings.Contains(fmt.Sprint(err), "127.0.0.1:1") {
		t.Errorf("no server up: %v", err)
	}
}

// TestClickHouseTornSpoolFile: a spool file cut short (an operating
// system crash without SyncSpool) is set aside and counted; the batches
// around it are sent.
func TestClickHouseTornSpoolFile(t *testing.T) {
	srv := clickhouseServer(t)
	spool := filepath.Join(t.TempDir(), "spool")
	url := srv.URL("torn")
	ctx := context.Background()
	// Nothing is sent while the sender waits for the batch age.
	s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool, BatchAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.PutCalls(ctx, []CallRecord{testCall(i, 200, analyze.OutcomeAnswered)}); err != nil {
			t.Fatal(err)
		}
	}
	close(s.stop) // stop the sender without flushing: as a crash would
	<-s.stopped
	s.sp.close()
	files, _ := filepath.Glob(filepath.Join(spool, "*.batch"))
	if len(files) != 3 {
		t.Fatalf("%d spool files, want 3", len(files))
	}
	b, _ := os.ReadFile(files[1])
	os.WriteFile(files[1], b[:len(b)/2], 0o600)
	s2 := openCH(t, url, spool)
	defer s2.Close()
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for s2.Flush(ctx2) != nil && ctx2.Err() == nil {
	}
	if d, _ := distinctCalls(t, s2); d != 2 {
		t.Errorf("%d calls stored, want the 2 whole batches", d)
	}
	if st := s2.Buffer(); st.Damaged != 1 {
		t.Errorf("buffer: %+v, want one damaged file", st)
	}
	if aside, _ := filepath.Glob(filepath.Join(spool, "*.damaged")); len(aside) != 1 {
		t.Errorf("set aside: %v", aside)
	}
}

// TestClickHouseTLS: secure=1 speaks TLS to ClickHouse's https_port and
// checks its certificate against ca=; without the CA it refuses.
func TestClickHouseTLS(t *testing.T) {
	srv := chtest.StartTLS(t)
	ctx := context.Background()
	url := "clickhouse://" + srv.HTTPS + "/tls?secure=1"
	if s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool")}); err == nil {
		s.Close()
		t.Fatal("a self-signed certificate was accepted without ca=")
	}
	s := openCH(t, url+"&ca="+srv.CAFile, filepath.Join(t.TempDir(), "spool"))
	defer s.Close()
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 486, analyze.OutcomeBusy)}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if cr, err := s.GetCall(ctx, "call-1@test"); err != nil || len(cr.Messages) != 2 {
		t.Fatalf("over TLS: %v", err)
	}
}

// TestClickHouseStartOffline: a collector started while ClickHouse is
// down collects into its spool; the schema and the calls arrive when
// ClickHouse is back.
func TestClickHouseStartOffline(t *testing.T) {
	srv := chtest.Start(t)
	srv.Kill()
	ctx := context.Background()
	url := srv.URL("offline")
	spool := filepath.Join(t.TempDir(), "spool")
	if _, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool}); err == nil {
		t.Fatal("opened with ClickHouse down without StartOffline")
	}
	s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool, StartOffline: true, BatchAge: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Offline() {
		t.Error("Offline() is false with ClickHouse down")
	}
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 486, analyze.OutcomeBusy)}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if s.Offline() {
		t.Error("still offline after a flush")
	}
	if cr, err := s.GetCall(ctx, "call-1@test"); err != nil || len(cr.Messages) != 2 {
		t.Fatalf("after ClickHouse came up: %v", err)
	}
}

// FuzzTSV: any bytes survive tsvField → tsvRows, and tsvRows never
// panics on what a server (or something posing as one) sends.
func FuzzTSV(f *testing.F) {
	f.Add("a\tb\\c\nd\x00e\r", []byte("x\ty\n\\t\\n\\0\\\\\n"))
	f.Add("", []byte("\\"))
	f.Fuzz(func(t *testing.T, field string, answer []byte) {
		tsvRows(answer)
		row := tsvField(nil, field)
		row = append(tsvField(append(row, '\t'), field), '\n')
		rows, err := tsvRows(row)
		if err != nil || len(rows) != 1 || len(rows[0]) != 2 || rows[0][0] != field || rows[0][1] != field {
			t.Fatalf("round trip of %q: %q %v", field, rows, err)
		}
	})
}

// FuzzDecodeSpool: a spool file of any content is accepted whole or
// refused, never half.
func FuzzDecodeSpool(f *testing.F) {
	f.Add([]byte(spoolMagic + "\x01a\x00\x00\x02bc"))
	f.Add([]byte(spoolMagic + "\x05a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, ok := decodeSpool(b)
		if ok {
			n := len(spoolMagic)
			for _, r := range rows {
				n += len(r) + 1
			}
			if n > len(b) {
				t.Fatalf("decoded %d bytes from %d", n, len(b))
			}
		}
	})
}

// TestClickHouseRefusedBatch: a spooled batch ClickHouse cannot take
// (here: rows it cannot parse) is set aside after MaxRefusals tries; the
// batch sent in the same insert is stored. A call with a start ClickHouse's Date
// cannot hold is stored too.
func TestClickHouseRefusedBatch(t *testing.T) {
	srv := clickhouseServer(t)
	spool := filepath.Join(t.TempDir(), "spool")
	ctx := context.Background()
	os.MkdirAll(spool, 0o700)
	var bad [4][]byte
	bad[3] = []byte("not\ta\tcall\n")
	f := spoolMagic
	for _, r := range bad {
		f += string(binary.AppendUvarint(nil, uint64(len(r)))) + string(r)
	}
	os.WriteFile(filepath.Join(spool, fmt.Sprintf("%020d.batch", 1)), []byte(f), 0o600)
	// The sender waits for the batch age: the flush below sends the bad
	// batch and the good one in one insert, which must be split.
	s, err := OpenClickHouse(ctx, srv.URL("refused"), CHOptions{SpoolDir: spool, MaxRefusals: 2, BatchAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := testCall(1, 486, analyze.OutcomeBusy)
	old.Call.Start = time.Time{}
	if err := s.PutCalls(ctx, []CallRecord{old, testCall(2, 486, analyze.OutcomeBusy)}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if d, _ := distinctCalls(t, s); d != 2 {
		t.Errorf("%d calls stored, want 2", d)
	}
	if st := s.Buffer(); st.Rejected != 1 {
		t.Errorf("buffer: %+v, want one rejected file", st)
	}
	if aside, _ := filepath.Glob(filepath.Join(spool, "*.rejected")); len(aside) != 1 {
		t.Errorf("set aside: %v", aside)
	}
}

// downgrade makes database db of s look as a sipcause of schema version
// v left it: alter undoes the calls table's later columns.
func downgrade(t *testing.T, s *ClickHouse, db, alter string, v int) {
	t.Helper()
	for _, q := range []string{"ALTER TABLE " + db + ".calls " + alter, "TRUNCATE TABLE " + db + ".sipcause_schema",
		fmt.Sprintf("INSERT INTO %s.sipcause_schema VALUES (%d, now())", db, v)} {
		if _, err := s.conn.do(context.Background(), q, nil); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// toV1 takes the calls table of the current schema back to version 1.
const toV1 = "DROP COLUMN audio, DROP COLUMN caller_extra, DROP COLUMN callee_extra, DROP COLUMN mos, DROP COLUMN one_way"

// TestClickHouseMigrateAudio opens a database of schema version 1, made
// before the audio column: the store migrates it to version 2, and a call
// stored then is found by its audio verdict.
func TestClickHouseMigrateAudio(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	db := fmt.Sprintf("migrate%d", dbSeq.Add(1))
	url := srv.URL(db)
	s := openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	downgrade(t, s, db, toV1, 1)
	s.Close()
	s = openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	defer s.Close()
	rows, err := s.query(ctx, "SELECT max(version) FROM "+db+".sipcause_schema")
	if err != nil || len(rows) != 1 || rows[0][0] != fmt.Sprint(SchemaVersion) {
		t.Fatalf("schema after migrating: %v (%v)", rows, err)
	}
	cr := testCall(1, 200, "answered")
	cr.Call.Audio = &analyze.Audio{Verdict: "one_way", Direction: "callee_to_caller"}
	if err := s.PutCalls(ctx, []CallRecord{cr, testCall(2, 200, "answered")}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	got, err := s.SearchCalls(ctx, Query{Audio: AudioProblem})
	if err != nil || len(got) != 1 || got[0].CallID != cr.Call.CallID {
		t.Errorf("audio search after migrating: %+v (%v)", got, err)
	}
}

// TestClickHouseShardDown: in cluster mode one shard is down for longer
// than MaxRefusals retries. The Distributed insert then fails with
// ClickHouse's own error (the entry point answers, the shard behind it
// does not), which is an outage, not a batch ClickHouse cannot take: the
// batches must wait in the spool, not be set aside, and all arrive on
// both shards when the shard is back. Cluster-mode retention then drops
// the day partitions of the local tables on every server.
func TestClickHouseShardDown(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts two ClickHouse servers")
	}
	ss := chtest.StartCluster(t, "sipcause_test", 2)
	url := fmt.Sprintf("clickhouse://%s,%s/sharddown?cluster=sipcause_test", ss[0].HTTP, ss[1].HTTP)
	ctx := context.Background()
	s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool"), BatchAge: 20 * time.Millisecond, MaxRefusals: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(from, to int) {
		t.Helper()
		var batch []CallRecord
		for i := from; i < to; i++ {
			batch = append(batch, testCall(i, 486, analyze.OutcomeBusy))
		}
		if err := s.PutCalls(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 40)
	flush(t, s)
	ss[1].Kill()
	put(40, 80)
	// Wait until the sender has been refused well past MaxRefusals.
	for deadline := time.Now().Add(30 * time.Second); s.Buffer().Retries < 6 && s.Buffer().Rejected == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the sender retried %d times in 30 s: %+v", s.Buffer().Retries, s.Buffer())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.Buffer(); st.Rejected != 0 || st.Batches == 0 {
		t.Fatalf("with a shard down: %+v; want the batch waiting in the spool, none set aside", st)
	}
	t.Logf("with a shard down: %s", s.Buffer().LastError)
	if err := ss[1].Restart(); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if d, _ := distinctCalls(t, s); d != 80 {
		t.Errorf("%d calls stored, want 80", d)
	}
	for i, srv := range ss {
		if n := localRows(t, srv, "sharddown.calls_local"); n == 0 || n >= 80 {
			t.Errorf("shard %d holds %d calls rows: want a part", i+1, n)
		}
	}
	// Retention drops the partitions on both shards.
	n, err := s.Retain(ctx, t0.Add(3*24*time.Hour))
	if err != nil || n != 80 {
		t.Errorf("Retain = %d, %v; want the 80 calls, each once", n, err)
	}
	for i, srv := range ss {
		for _, table := range []string{"calls_local", "call_ids_local", "messages_local"} {
			if n := localRows(t, srv, "sharddown."+table); n != 0 {
				t.Errorf("shard %d: %d rows left in %s after retention", i+1, n, table)
			}
		}
	}
}

// localRows counts the rows of a table on one server.
func localRows(t *testing.T, srv *chtest.Server, table string) int64 {
	t.Helper()
	c := newCHConn([]string{srv.HTTP}, false, nil, "", "")
	out, err := c.do(context.Background(), "SELECT count() FROM "+table+" FORMAT TabSeparated", nil)
	if err != nil {
		t.Fatal(err)
	}
	return atoi(strings.TrimSpace(string(out)))
}

// TestCHErrorOutage: which answers of ClickHouse (or of a proxy in front
// of it) say that something is unavailable, so that a batch waits rather
// than being set aside as one ClickHouse cannot take.
func TestCHErrorOutage(t *testing.T) {
	for _, tt := range []struct {
		status int
		msg    string
		want   bool
	}{
		{500, "Code: 210, e.displayText() = DB::NetException: Connection refused (127.0.0.1:9000): Insertion status:", true},
		{500, "Code: 279, e.displayText() = DB::NetException: All connection tries failed.", true},
		{500, "Code: 252, e.displayText() = DB::Exception: Too many parts (300).", true},
		{403, "Code: 516. DB::Exception: sipcause: Authentication failed", true},
		{500, "Code: 193, e.displayText() = DB::Exception: Wrong password for user sipcause", true},
		{503, "no healthy upstream", true},
		{500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected \\t before: call", false},
		{500, "Code: 2100, e.displayText() = nonsense", false},
		{400, "Code: 62, e.displayText() = DB::Exception: Syntax error", false},
		{500, "no code at all", false},
	} {
		if got := (&chError{status: tt.status, msg: tt.msg}).outage(); got != tt.want {
			t.Errorf("%d %q: outage %v, want %v", tt.status, tt.msg, got, tt.want)
		}
	}
}

// TestSpoolGroupBounds: one insert takes the oldest spooled batches up to
// the row bound and the byte bound, and a batch larger than the byte
// bound alone.
func TestSpoolGroupBounds(t *testing.T) {
	sp, err := openSpool(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	var size int64
	for i := range 6 {
		rows, n, err := encodeBatch([]CallRecord{testCall(2*i, 486, analyze.OutcomeBusy), testCall(2*i+1, 486, analyze.OutcomeBusy)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.add(rows, n, 0); err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			size = sp.files[0].size
		}
	}
	take := func(rows int, maxBytes int64) int {
		t.Helper()
		g, err := sp.group(rows, maxBytes)
		if err != nil || g == nil {
			t.Fatalf("group: %v", err)
		}
		if err := sp.remove(g); err != nil {
			t.Fatal(err)
		}
		return len(g.files)
	}
	if n := take(4, 1<<30); n != 2 {
		t.Errorf("4 calls: a group of %d batches of 2 calls, want 2", n)
	}
	if n := take(100, 2*size+size/2); n != 2 {
		t.Errorf("2.5 batches of bytes: a group of %d batches, want 2", n)
	}
	if n := take(100, 1); n != 1 {
		t.Errorf("a batch over the byte bound: a group of %d batches, want it alone", n)
	}
	if n := take(100, 1<<30); n != 1 {
		t.Errorf("the last batch: a group of %d, want 1", n)
	}
	if g, err := sp.group(100, 1<<30); g != nil || err != nil {
		t.Errorf("an empty spool gave a group: %v", err)
	}
}

// TestClickHouseBatchBounds: the sender inserts as soon as the spool
// holds BatchRows calls or BatchBytes bytes, without a Flush, and leaves
// what is below both bounds until it is BatchAge old.
func TestClickHouseBatchBounds(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	waitCalls := func(s *ClickHouse, want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			d, _ := distinctCalls(t, s)
			if d == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d calls in ClickHouse after %v, want %d (%+v)", d, within, want, s.Buffer())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	put := func(s *ClickHouse, from, n int) {
		t.Helper()
		var batch []CallRecord
		for i := from; i < from+n; i++ {
			batch = append(batch, testCall(i, 486, analyze.OutcomeBusy))
		}
		if err := s.PutCalls(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		opt  CHOptions
	}{
		{"rows", CHOptions{BatchRows: 10, BatchAge: time.Hour}},
		{"bytes", CHOptions{BatchRows: 1000, BatchBytes: 1, BatchAge: time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.SpoolDir = filepath.Join(t.TempDir(), "spool")
			s, err := OpenClickHouse(ctx, srv.URL(fmt.Sprintf("bounds%d", dbSeq.Add(1))), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := int64(0)
			for b := range 5 {
				put(s, 5*b, 5)
			}
			switch tt.name {
			case "rows": // two inserts of 10 calls; the last 5 wait for their age
				want = 20
			case "bytes": // every batch is over the byte bound: all sent
				want = 25
			}
			waitCalls(s, want, 10*time.Second)
			time.Sleep(300 * time.Millisecond)
			if d, _ := distinctCalls(t, s); d != want {
				t.Errorf("%d calls in ClickHouse, want %d: the batch below the bounds went before its age", d, want)
			}
		})
	}
	t.Run("age", func(t *testing.T) {
		s, err := OpenClickHouse(ctx, srv.URL(fmt.Sprintf("bounds%d", dbSeq.Add(1))),
			CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool"), BatchAge: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		put(s, 0, 5)
		waitCalls(s, 5, 10*time.Second)
	})
}

// TestClickHouseDestructiveMigration: a migration marked destructive does
// not run without CHOptions.AllowDestructive (serve
// --allow-destructive-migration): the start fails, the database keeps its
// version and its data; with the option it runs.
func TestClickHouseDestructiveMigration(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	db := fmt.Sprintf("destructive%d", dbSeq.Add(1))
	url := srv.URL(db)
	s := openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	if err := s.PutCalls(ctx, []CallRecord{testCall(1, 486, analyze.OutcomeBusy)}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	downgrade(t, s, db, toV1, 1)
	s.Close()
	saved := chMigrations[1]
	defer func() { chMigrations[1] = saved }()
	m := saved
	m.destructive = true
	chMigrations[1] = m
	version := func() string {
		c := newCHConn([]string{srv.HTTP}, false, nil, "", "")
		out, err := c.do(ctx, "SELECT max(version), (SELECT count() FROM "+db+".calls) FROM "+db+".sipcause_schema FORMAT TabSeparated", nil)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	_, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err == nil || !strings.Contains(err.Error(), "allow it explicitly") {
		t.Fatalf("a destructive migration without the option: %v", err)
	}
	if v := version(); v != "1\t1" {
		t.Fatalf("after the refused start: version and calls %q, want 1 and the call kept", v)
	}
	s, err = OpenClickHouse(ctx, url, CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool"), AllowDestructive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := version(); v != fmt.Sprint(SchemaVersion)+"\t1" {
		t.Errorf("with the option: version and calls %q, want 2 and the call", v)
	}
}

// TestClickHouseSeveralWriters: four stores (four collectors, each with
// its spool) write to one database at once; a fifth, reading only, finds
// every call once.
func TestClickHouseSeveralWriters(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	url := srv.URL(fmt.Sprintf("writers%d", dbSeq.Add(1)))
	const writers, batches, per = 4, 10, 20
	errs := make(chan error, writers)
	for w := range writers {
		s := openCH(t, url, filepath.Join(t.TempDir(), "spool"))
		go func() {
			defer s.Close()
			for b := range batches {
				var batch []CallRecord
				for i := range per {
					batch = append(batch, testCall(w*batches*per+b*per+i, 486, analyze.OutcomeBusy))
				}
				if err := s.PutCalls(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
			errs <- s.Flush(ctx)
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ui := openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	defer ui.Close()
	const all = writers * batches * per
	got, err := ui.SearchCalls(ctx, Query{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range got {
		seen[c.CallID]++
	}
	if len(got) != all || len(seen) != all {
		t.Errorf("%d calls found, %d distinct, want %d", len(got), len(seen), all)
	}
	if st, err := ui.Stats(ctx); err != nil || st.Calls != all {
		t.Errorf("stats: %+v %v", st, err)
	}
}

// TestClickHouseMigrateCluster: a cluster of schema version 1 (before the
// audio column) is migrated to version 2 on every server, the local
// tables and the Distributed tables over them, and the audio search then
// works across both shards.
func TestClickHouseMigrateCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts two ClickHouse servers")
	}
	ss := chtest.StartCluster(t, "sipcause_test", 2)
	url := fmt.Sprintf("clickhouse://%s,%s/migcluster?cluster=sipcause_test", ss[0].HTTP, ss[1].HTTP)
	ctx := context.Background()
	s := openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	s.Close()
	for _, srv := range ss {
		c := newCHConn([]string{srv.HTTP}, false, nil, "", "")
		for _, q := range []string{"ALTER TABLE migcluster.calls_local " + toV1, "ALTER TABLE migcluster.calls " + toV1,
			"TRUNCATE TABLE migcluster.sipcause_schema", "INSERT INTO migcluster.sipcause_schema VALUES (1, now())"} {
			if _, err := c.do(ctx, q, nil); err != nil {
				t.Fatalf("%s: %s: %v", srv.HTTP, q, err)
			}
		}
	}
	s = openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	defer s.Close()
	for _, srv := range ss {
		c := newCHConn([]string{srv.HTTP}, false, nil, "", "")
		out, err := c.do(ctx, "SELECT max(version) FROM migcluster.sipcause_schema FORMAT TabSeparated", nil)
		if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(SchemaVersion) {
			t.Errorf("%s: schema version %q after migrating (%v)", srv.HTTP, out, err)
		}
	}
	var batch []CallRecord
	for i := range 40 {
		cr := testCall(i, 200, analyze.OutcomeAnswered)
		if i%4 == 0 {
			cr.Call.Audio = &analyze.Audio{Verdict: "one_way", Direction: "callee_to_caller"}
		}
		batch = append(batch, cr)
	}
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	got, err := s.SearchCalls(ctx, Query{Audio: AudioProblem})
	if err != nil || len(got) != 10 {
		t.Errorf("audio search across the shards after migrating: %d calls (%v), want 10", len(got), err)
	}
	for i, srv := range ss {
		if n := localRows(t, srv, "migcluster.calls_local"); n == 0 || n == 40 {
			t.Errorf("shard %d holds %d of 40 calls", i+1, n)
		}
	}
}

// TestClickHouseBackoff: while ClickHouse refuses the inserts, neither new
// batches (a collector writes one every 200 ms) nor a Flush cut the
// back-off short: the retries come at 0.1, 0.2, 0.4, 0.8 s..., not at the
// pace of the writes, so that MaxRefusals means minutes of retries.
func TestClickHouseBackoff(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	db := fmt.Sprintf("backoff%d", dbSeq.Add(1))
	s := openCH(t, srv.URL(db), filepath.Join(t.TempDir(), "spool"))
	s.opt.CloseWait = 100 * time.Millisecond
	defer s.Close()
	// A column the store writes is gone: every insert into calls is refused.
	if _, err := s.conn.do(ctx, "ALTER TABLE "+db+".calls DROP COLUMN audio", nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; time.Since(start) < 1500*time.Millisecond; i++ {
		if err := s.PutCalls(ctx, []CallRecord{testCall(i, 486, analyze.OutcomeBusy)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.Flush(fctx); err == nil {
		t.Fatal("Flush succeeded with every insert refused")
	}
	// 2.5 s: at most 0.1+0.2+0.4+0.8 s of waits fit, five tries.
	if st := s.Buffer(); st.Retries > 6 || st.Retries == 0 || st.Rejected != 0 {
		t.Errorf("after 2.5 s of refusals: %d retries, %d set aside; want a few retries backing off, none set aside", st.Retries, st.Rejected)
	}
}

// TestClickHouseSpoolOldSchema: spool files earlier sipcause versions
// left behind, with the calls columns of schema 2 (without caller_extra
// and callee_extra) and of schema 1 (without audio either), are still
// sent after an upgrade, each version's in an insert of its own naming
// its columns, ahead of the batches written since; the calls and their
// raw messages arrive whole, at the first try.
func TestClickHouseSpoolOldSchema(t *testing.T) {
	srv := clickhouseServer(t)
	spool := filepath.Join(t.TempDir(), "spool")
	ctx := context.Background()
	os.MkdirAll(spool, 0o700)
	row := func(fields ...string) []byte {
		var b []byte
		for i, f := range fields {
			if i > 0 {
				b = append(b, '\t')
			}
			b = tsvField(b, f)
		}
		return append(b, '\n')
	}
	var want []CallRecord
	for i, schema := range []int{2, 1, 2} {
		cr := testCall(i+1, 486, analyze.OutcomeBusy)
		cr.Messages[0].Raw = []byte("INVITE sip:x SIP/2.0\r\nX: \x00\t\\\n\xff\r\n\r\n")
		c := cr.Call
		js, err := cr.json()
		if err != nil {
			t.Fatal(err)
		}
		data, n := cr.packed()
		d, ns := day(c.Start), fmt.Sprint(c.Start.UnixNano())
		calls := []string{d, ns, c.CallID, c.Caller, c.Callee, c.From, c.To, c.CallerName, "486", c.Outcome, c.Fault, Peer(c), c.LegOf,
			fmt.Sprint(c.PDDMS), fmt.Sprint(c.DurationMS), c.Reason, cr.Summary, "", "", ""}
		if schema == 2 {
			calls = append(calls, "")
		}
		rows := [4][]byte{row(d, c.CallID, ns, fmt.Sprint(n), string(js), string(data)), row(d, c.CallID, ns), nil, row(calls...)}
		f := spoolMagic
		for _, r := range rows {
			f += string(binary.AppendUvarint(nil, uint64(len(r)))) + string(r)
		}
		os.WriteFile(filepath.Join(spool, fmt.Sprintf("%020d.batch", i+1)), []byte(f), 0o600)
		want = append(want, cr)
	}
	s, err := OpenClickHouse(ctx, srv.URL(fmt.Sprintf("oldspool%d", dbSeq.Add(1))), CHOptions{SpoolDir: spool, BatchAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := testCall(9, 200, analyze.OutcomeAnswered)
	if err := s.PutCalls(ctx, []CallRecord{now}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	for _, cr := range append(want, now) {
		got, err := s.GetCall(ctx, cr.Call.CallID)
		if err != nil || len(got.Messages) != 2 || string(got.Messages[0].Raw) != string(cr.Messages[0].Raw) || got.Call.FinalStatus != cr.Call.FinalStatus {
			t.Errorf("%s: %+v (%v)", cr.Call.CallID, got, err)
		}
	}
	if all, err := s.SearchCalls(ctx, Query{Status: 486}); err != nil || len(all) != 3 {
		t.Errorf("%d calls of the old files found (%v), want 3", len(all), err)
	}
	if st := s.Buffer(); st.Rejected != 0 || st.Batches != 0 || st.Retries != 0 {
		t.Errorf("buffer: %+v; want every file sent at the first try", st)
	}
}

// TestSpoolLockedForOneProcess: two collectors given one spool directory
// would send each other's batches twice; the second is refused while the
// first holds it, and may have it once the first closed it.
func TestSpoolLockedForOneProcess(t *testing.T) {
	dir := t.TempDir()
	first, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := openSpool(dir, 1<<20); err == nil {
		second.close()
		t.Fatal("a second spool on the same directory was opened")
	} else if !strings.Contains(err.Error(), "used by another sipcause process") {
		t.Errorf("error %q does not say why", err)
	}
	if err := first.close(); err != nil {
		t.Fatal(err)
	}
	again, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	again.close()
}
