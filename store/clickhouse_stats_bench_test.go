package store

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/internal/chtest"
)

// chStatsRows is the query Stats ran before it counted each call once:
// rows, copies included. chStatsOnce counts each call once in one query
// over the whole tables. BenchmarkClickHouseStats compares them with
// Stats, which counts each day partition once and keeps the counts.
const (
	chStatsRows = `SELECT (SELECT count() FROM {DB}.calls), (SELECT sum(n) FROM {DB}.messages),
	(SELECT count() FROM {DB}.registrations), (SELECT min(start_ns) FROM {DB}.calls), (SELECT max(start_ns) FROM {DB}.calls)`
	chStatsOnce = `SELECT (SELECT uniqExact(call_id, start_ns) FROM {DB}.calls),
	(SELECT sum(n) FROM (SELECT call_id, start_ns, n FROM {DB}.messages LIMIT 1 BY call_id, start_ns)),
	(SELECT uniqExact(call_id, start_ns, aor) FROM {DB}.registrations), (SELECT min(start_ns) FROM {DB}.calls), (SELECT max(start_ns) FROM {DB}.calls)`
)

// BenchmarkClickHouseStats measures what counting each call once costs
// Stats: a million calls over twelve days, a tenth of them stored twice
// as a re-sent batch leaves them, counted by rows (the query before) and
// by calls in one query (with the memory ClickHouse took for each, from
// its query_log), then by Stats with no count kept (its first call) and
// with the counts of the days it counted before. It checks the answers,
// so that the figures are of queries that did their work.
func BenchmarkClickHouseStats(b *testing.B) {
	const calls = 1_000_000
	srv := chtest.Start(b)
	ctx := context.Background()
	s, err := OpenClickHouse(ctx, srv.URL("statsbench"), CHOptions{SpoolDir: filepath.Join(b.TempDir(), "spool")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// The rows are made by ClickHouse itself (numbers()), 100 ms apart:
	// the store's encoder is not what is measured.
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, where := range []string{"1", "number % 10 = 0"} {
		for _, q := range []string{
			`INSERT INTO {DB}.calls (day, start_ns, call_id, caller, callee, final_status, outcome)
				SELECT toDate(intDiv(ns, 1000000000)), ns, id, toString(number %% 5000), toString(number %% 7000), 486, 'busy'
				FROM (SELECT number, %d + number * 1000000000 AS ns, concat(toString(number), '@bench') AS id FROM numbers(%d)) WHERE %s`,
			`INSERT INTO {DB}.messages (day, call_id, start_ns, n)
				SELECT toDate(intDiv(ns, 1000000000)), id, ns, 5
				FROM (SELECT number, %d + number * 1000000000 AS ns, concat(toString(number), '@bench') AS id FROM numbers(%d)) WHERE %s`,
			`INSERT INTO {DB}.registrations (day, start_ns, call_id, aor)
				SELECT toDate(intDiv(ns, 1000000000)), ns, id, concat('sip:', toString(number %% 5000), '@bench')
				FROM (SELECT number, %d + number * 1000000000 AS ns, concat('r', toString(number), '@bench') AS id FROM numbers(%d)) WHERE %s`,
		} {
			if _, err := s.conn.do(ctx, s.sql(fmt.Sprintf(q, start, calls, where), false), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	want := map[string]string{
		"rows":       fmt.Sprintf("%d\t%d\t%d", calls*11/10, calls*11/10*5, calls*11/10),
		"calls-once": fmt.Sprintf("%d\t%d\t%d", calls, calls*5, calls),
	}
	for _, kept := range []bool{false, true} {
		name := "stats-cold"
		if kept {
			name = "stats-kept"
		}
		b.Run(name, func(b *testing.B) {
			if _, err := s.Stats(ctx); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if !kept {
					s.statsMu.Lock()
					s.statsKept = nil
					s.statsMu.Unlock()
				}
				st, err := s.Stats(ctx)
				if err != nil || st.Calls != calls || st.Messages != 5*calls || st.Registrations != calls {
					b.Fatalf("%+v, %v; want %d calls, %d messages, %d registrations", st, err, calls, 5*calls, calls)
				}
			}
		})
	}
	for _, v := range []struct{ name, query string }{{"rows", chStatsRows}, {"calls-once", chStatsOnce}} {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				// Through the HTTP interface with the query logged, to
				// read its memory afterwards.
				u := "http://" + srv.HTTP + "/?" + url.Values{"log_queries": {"1"}, "query_id": {fmt.Sprintf("%s-%d", v.name, i)}}.Encode()
				resp, err := http.Post(u, "text/plain", strings.NewReader(s.sql(v.query, false)+" FORMAT TabSeparated"))
				if err != nil {
					b.Fatal(err)
				}
				_, err = fmt.Fscan(resp.Body, new(string))
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d %v", v.name, resp.StatusCode, err)
				}
			}
			b.StopTimer()
			r, err := s.query(ctx, v.query)
			if err != nil || len(r) != 1 || strings.Join(r[0][:3], "\t") != want[v.name] {
				b.Fatalf("%s answered %v, %v; want %s", v.name, r, err, want[v.name])
			}
			if _, err := s.conn.do(ctx, "SYSTEM FLUSH LOGS", nil); err != nil {
				b.Fatal(err)
			}
			m, err := s.query(ctx, `SELECT max(memory_usage) FROM system.query_log WHERE type = 2 AND query_id LIKE '`+v.name+`-%'`)
			if err == nil && len(m) == 1 {
				b.ReportMetric(float64(atoi(m[0][0]))/(1<<20), "MiB-peak")
			}
		})
	}
}
