// Command storebench measures the two stores side by side: calls/s
// written through store.Store (SQLite: until PutCalls returns, durable;
// ClickHouse: until the spool is in ClickHouse), then search latency over
// a large table (by number, by status, by time range, by Call-ID, newest
// calls, the dashboard's timeline):
//
//	go run ./bench/storebench -calls 10000000
//
// The written calls are real analyzer output: a synthetic capture
// (internal/synth) is analyzed once, and its calls are repeated with new
// Call-IDs, numbers and start times. The large table is filled by SQL in
// each database (INSERT ... SELECT over generated rows, no raw messages),
// since writing 10 million calls through PutCalls would take the whole
// run; the searches read only the searched columns, as the UI does.
// ClickHouse runs as a server of the benchmark's own on loopback.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/ingest"
	"github.com/sipcause/sipcause/internal/chtest"
	"github.com/sipcause/sipcause/internal/synth"
	"github.com/sipcause/sipcause/sipmsg"
	"github.com/sipcause/sipcause/store"

	_ "modernc.org/sqlite"
)

func main() {
	calls := flag.Int("calls", 10_000_000, "calls in the table the searches run on")
	write := flag.Int("write", 200_000, "calls written through PutCalls for the write rate")
	dir := flag.String("dir", "", "work directory (default: a new temporary one, removed at the end)")
	only := flag.String("only", "", "sqlite or clickhouse (default both)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run")
	batchBytes := flag.Int64("batch-bytes", 0, "ClickHouse: the byte bound of one insert (default the store's)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	chBatchBytes = *batchBytes
	if err := run(*calls, *write, *dir, *only); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

// chBatchBytes is CHOptions.BatchBytes (0: the default).
var chBatchBytes int64

// callIDProbe is a Call-ID of the bulk rows, searched for.
var callIDProbe string

// span is the period the large table covers.
const span = 30 * 24 * time.Hour

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func run(n, nwrite int, dir, only string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "sipcause-storebench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	tmpl, err := templates(dir)
	if err != nil {
		return err
	}
	callIDProbe = fmt.Sprintf("bulk-%d@bench", (n-nwrite)/2+1)
	fmt.Printf("storebench: %d template calls from analyzed synthetic traffic; %d calls written, %d in the searched table\n", len(tmpl), nwrite, n)
	ctx := context.Background()
	type result struct {
		name    string
		rate    float64
		fill    time.Duration
		bytes   int64
		queries []timing
	}
	var res []result
	if only == "" || only == "sqlite" {
		path := filepath.Join(dir, "bench.db")
		st, err := store.OpenSQLite(path)
		if err != nil {
			return err
		}
		rate, err := writeRate(ctx, st, tmpl, nwrite)
		if err != nil {
			return err
		}
		st.Close()
		t := time.Now()
		if err := fillSQLite(path, n-nwrite); err != nil {
			return err
		}
		st, err = store.OpenSQLite(path)
		if err != nil {
			return err
		}
		fill := time.Since(t)
		qs, err := searches(ctx, st)
		if err != nil {
			return err
		}
		stats, _ := st.Stats(ctx)
		st.Close()
		res = append(res, result{"sqlite", rate, fill, stats.Bytes, qs})
		fmt.Printf("sqlite: %d calls, %d MiB\n", stats.Calls, stats.Bytes>>20)
	}
	if only == "" || only == "clickhouse" {
		ss, err := chtest.Launch(filepath.Join(dir, "ch"), "", 1)
		if err != nil {
			return err
		}
		defer ss[0].Stop()
		url := ss[0].URL("bench")
		st, err := store.OpenClickHouse(ctx, url, store.CHOptions{SpoolDir: filepath.Join(dir, "spool"), BatchBytes: chBatchBytes})
		if err != nil {
			return err
		}
		rate, err := writeRate(ctx, st, tmpl, nwrite)
		if err != nil {
			return err
		}
		t := time.Now()
		if err := fillClickHouse(ss[0].HTTP, n-nwrite); err != nil {
			return err
		}
		fill := time.Since(t)
		qs, err := searches(ctx, st)
		if err != nil {
			return err
		}
		stats, _ := st.Stats(ctx)
		st.Close()
		res = append(res, result{"clickhouse", rate, fill, stats.Bytes, qs})
		fmt.Printf("clickhouse: %d calls, %d MiB\n", stats.Calls, stats.Bytes>>20)
	}
	fmt.Printf("\n%-34s", "")
	for _, r := range res {
		fmt.Printf("%16s", r.name)
	}
	fmt.Printf("\n%-34s", "write, calls/s stored (batch 500)")
	for _, r := range res {
		fmt.Printf("%16.0f", r.rate)
	}
	fmt.Printf("\n%-34s", "bulk fill by SQL (+indexes), s")
	for _, r := range res {
		fmt.Printf("%16.1f", r.fill.Seconds())
	}
	fmt.Printf("\n%-34s", "on disk, MiB")
	for _, r := range res {
		fmt.Printf("%16d", r.bytes>>20)
	}
	if len(res) > 0 {
		for i, q := range res[0].queries {
			fmt.Printf("\n%-34s", q.name+", ms")
			for _, r := range res {
				fmt.Printf("%16.1f", float64(r.queries[i].median.Microseconds())/1000)
			}
		}
		fmt.Printf("\n%-34s", "  rows found")
		for _, r := range res {
			var ns []string
			for _, q := range r.queries {
				ns = append(ns, fmt.Sprint(q.rows))
			}
			fmt.Printf("%16s", strings.Join(ns, "/"))
		}
	}
	fmt.Println()
	return nil
}

// template is one analyzed call with its raw messages.
type template struct {
	call *analyze.Call
	msgs []store.RawMessage
}

// templates analyzes a synthetic capture and returns its calls.
func templates(dir string) ([]template, error) {
	path := filepath.Join(dir, "tmpl.pcap")
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Options{Bytes: 4 << 20, Seed: 7}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	raw := map[string][]store.RawMessage{}
	_, err := ingest.Each(ingest.Files(path), ingest.Options{}, func(p capture.Packet, m *sipmsg.Message) {
		id := string(m.Get("Call-ID"))
		raw[id] = append(raw[id], store.RawMessage{Frame: p.Frame, Time: p.Time, Src: p.Src.String(), Dst: p.Dst.String(),
			Transport: p.Transport, Raw: slices.Clone(p.Payload)})
	})
	if err != nil {
		return nil, err
	}
	rep, err := ingest.Analyze(ingest.Files(path), ingest.Options{}, analyze.Options{})
	if err != nil {
		return nil, err
	}
	var out []template
	for _, c := range rep.Calls {
		out = append(out, template{c, raw[c.CallID]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no calls in the synthetic capture")
	}
	return out, nil
}

// writeRate writes n calls through PutCalls in batches of 500, as the
// collector does, and returns calls per second until they are stored.
func writeRate(ctx context.Context, st store.Store, tmpl []template, n int) (float64, error) {
	start := time.Now()
	batch := make([]store.CallRecord, 0, 500)
	for i := 0; i < n; i++ {
		t := tmpl[i%len(tmpl)]
		c := *t.call
		c.CallID = fmt.Sprintf("w-%d@bench", i)
		c.Caller = fmt.Sprintf("3130%07d", i%10_000_000)
		c.Start = base.Add(time.Duration(int64(i) * int64(span) / int64(n)))
		batch = append(batch, store.CallRecord{Call: &c, Messages: t.msgs, Summary: "bench call"})
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.PutCalls(ctx, batch); err != nil {
				return 0, err
			}
			batch = batch[:0]
		}
	}
	fmt.Printf("storebench: PutCalls of %d calls returned after %.1f s (%.0f calls/s acknowledged)\n", n, time.Since(start).Seconds(), float64(n)/time.Since(start).Seconds())
	if b, ok := st.(store.Buffered); ok {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		if err := b.Flush(fctx); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// The generated rows: the number i calls 3120NNNNNNN (i*7919 mod 10^7,
// so each number a handful of times), to one of 1000 numbers, with a mix
// of answers: 200 x4, 486, 404, 503, 487 in every eight calls.
const (
	sqlStatus  = `CASE i % 8 WHEN 4 THEN 486 WHEN 5 THEN 404 WHEN 6 THEN 503 WHEN 7 THEN 487 ELSE 200 END`
	sqlOutcome = `CASE i % 8 WHEN 4 THEN 'busy' WHEN 5 THEN 'rejected' WHEN 6 THEN 'failed' WHEN 7 THEN 'cancelled' ELSE 'answered' END`
	sqlFault   = `CASE i % 8 WHEN 4 THEN 'remote' WHEN 5 THEN 'remote' WHEN 6 THEN 'provider' WHEN 7 THEN 'none' ELSE 'none' END`
)

const fillJSON = `{"call_id":"bulk","caller":"","callee":"","final_status":0,"outcome":"","fault":"","findings":[],"frames":[],"messages":[]}`

func fillSQLite(path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Rows go in without the indexes, which the store builds again (by
	// sorting, much faster than row by row) when it is opened next.
	idx, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	var names []string
	for idx.Next() {
		var name string
		idx.Scan(&name)
		names = append(names, name)
	}
	idx.Close()
	for _, name := range names {
		if _, err := db.Exec("DROP INDEX " + name); err != nil {
			return err
		}
	}
	step := int64(span) / int64(n)
	for lo := 0; lo < n; lo += 1_000_000 {
		hi := min(lo+1_000_000, n)
		q := fmt.Sprintf(`WITH RECURSIVE g(i) AS (SELECT %d UNION ALL SELECT i+1 FROM g WHERE i < %d)
			INSERT INTO calls (call_id, start, caller, callee, from_uri, to_uri, final_status, outcome, fault, leg_of, pdd_ms, duration_ms,
			caller_name, reason, summary, json, peer)
			SELECT 'bulk-' || i || '@bench', %d + i * %d, printf('3120%%07d', (i * 7919) %% 10000000), printf('3140%%07d', i %% 1000),
			printf('sip:3120%%07d@pbx.bench', (i * 7919) %% 10000000), printf('sip:3140%%07d@provider.bench', i %% 1000),
			%s, %s, %s, '', 1800 + i %% 900, CASE WHEN i %% 8 < 4 THEN 60000 + i %% 300000 ELSE 0 END,
			'', '', 'bench call', '%s', '10.0.0.' || (i %% 50) || ':5060' FROM g`,
			lo, hi-1, base.UnixNano(), step, sqlStatus, sqlOutcome, sqlFault, fillJSON)
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("sqlite fill: %w", err)
		}
		fmt.Fprintf(os.Stderr, "sqlite: %d rows\n", hi)
	}
	return nil
}

func fillClickHouse(addr string, n int) error {
	step := int64(span) / int64(n)
	ns := fmt.Sprintf("(%d + number * %d)", base.UnixNano(), step)
	day := fmt.Sprintf("toDate(toDateTime(intDiv(%s, 1000000000)))", ns)
	gen := func(lo, hi int) string {
		return fmt.Sprintf(`(SELECT number AS i, * FROM numbers(%d, %d))`, lo, hi-lo)
	}
	for lo := 0; lo < n; lo += 2_000_000 {
		hi := min(lo+2_000_000, n)
		for _, q := range []string{
			fmt.Sprintf(`INSERT INTO bench.calls (day, start_ns, call_id, caller, callee, from_uri, to_uri, caller_name, final_status, outcome, fault, peer,
				leg_of, pdd_ms, duration_ms, reason, summary, x_cid, session_id, icid)
				SELECT %s, %s, concat('bulk-', toString(i), '@bench'), concat('3120', leftPad7((i * 7919) %% 10000000)), concat('3140', leftPad7(i %% 1000)),
				concat('sip:3120', leftPad7((i * 7919) %% 10000000), '@pbx.bench'), concat('sip:3140', leftPad7(i %% 1000), '@provider.bench'), '',
				%s, %s, %s, concat('10.0.0.', toString(i %% 50), ':5060'), '', 1800 + i %% 900, if(i %% 8 < 4, 60000 + i %% 300000, 0),
				'', 'bench call', '', '', '' FROM %s`, day, ns, sqlStatus, sqlOutcome, sqlFault, gen(lo, hi)),
			fmt.Sprintf(`INSERT INTO bench.messages (day, call_id, start_ns, n, json, data) SELECT %s, concat('bulk-', toString(i), '@bench'), %s, 0, '%s', '' FROM %s`,
				day, ns, fillJSON, gen(lo, hi)),
			fmt.Sprintf(`INSERT INTO bench.call_ids (day, call_id, start_ns) SELECT %s, concat('bulk-', toString(i), '@bench'), %s FROM %s`, day, ns, gen(lo, hi)),
		} {
			q = strings.ReplaceAll(q, "number *", "i *")
			q = strings.ReplaceAll(q, "(SELECT i AS i", "(SELECT number AS i")
			q = padRe(q)
			if err := chExec(addr, q); err != nil {
				return fmt.Errorf("clickhouse fill: %w", err)
			}
		}
		fmt.Fprintf(os.Stderr, "clickhouse: %d rows\n", hi)
	}
	return nil
}

// padRe writes leftPad7(x) as ClickHouse 18.16 can: it has no leftPad.
func padRe(q string) string {
	for {
		i := strings.Index(q, "leftPad7(")
		if i < 0 {
			return q
		}
		depth, j := 0, i+len("leftPad7(")
		for ; j < len(q); j++ {
			if q[j] == '(' {
				depth++
			} else if q[j] == ')' {
				if depth == 0 {
					break
				}
				depth--
			}
		}
		arg := q[i+len("leftPad7(") : j]
		q = q[:i] + fmt.Sprintf("substring(toString(10000000 + (%s)), 2)", arg) + q[j+1:]
	}
}

func chExec(addr, q string) error {
	resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader(q))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	return nil
}

type timing struct {
	name   string
	median time.Duration
	rows   int
}

// searches times what the UI asks: the median of five runs (of three
// when the first takes over 3 s).
func searches(ctx context.Context, st store.Store) ([]timing, error) {
	mid := base.Add(span / 2)
	qs := []struct {
		name string
		f    func() (int, error)
	}{
		{"newest 100", func() (int, error) { r, err := st.SearchCalls(ctx, store.Query{}); return len(r), err }},
		{"by number", func() (int, error) {
			r, err := st.SearchCalls(ctx, store.Query{Number: "31200079190"})
			return len(r), err
		}},
		{"by number in a day", func() (int, error) {
			r, err := st.SearchCalls(ctx, store.Query{Number: "3140000042", From: mid, To: mid.Add(24 * time.Hour)})
			return len(r), err
		}},
		{"by status 503", func() (int, error) { r, err := st.SearchCalls(ctx, store.Query{Status: 503}); return len(r), err }},
		{"by status in an hour", func() (int, error) {
			r, err := st.SearchCalls(ctx, store.Query{Status: 486, From: mid, To: mid.Add(time.Hour)})
			return len(r), err
		}},
		{"time range 1 h", func() (int, error) {
			r, err := st.SearchCalls(ctx, store.Query{From: mid, To: mid.Add(time.Hour), Limit: 1000})
			return len(r), err
		}},
		{"by Call-ID", func() (int, error) {
			r, err := st.SearchCalls(ctx, store.Query{CallID: callIDProbe})
			return len(r), err
		}},
		{"GetCall", func() (int, error) {
			_, err := st.GetCall(ctx, "w-1234@bench")
			return 1, err
		}},
		{"timeline 24 h by 1 h", func() (int, error) {
			r, err := st.Timeline(ctx, mid, mid.Add(24*time.Hour), time.Hour)
			return len(r), err
		}},
	}
	var out []timing
	for _, q := range qs {
		var ds []time.Duration
		rows := 0
		for k := 0; k < 5; k++ {
			t := time.Now()
			n, err := q.f()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			ds = append(ds, time.Since(t))
			rows = n
			if k == 0 && ds[0] > 3*time.Second {
				k = 2 // a slow query: the median of three
			}
		}
		slices.Sort(ds)
		out = append(out, timing{q.name, ds[len(ds)/2], rows})
	}
	return out, nil
}
