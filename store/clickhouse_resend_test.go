package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/ingest"
	"github.com/sipcause/sipcause/internal/chtest"
	"github.com/sipcause/sipcause/sipmsg"
)

// resendCaptures are shared captures with calls over several days, calls
// with an audio verdict (and a MOS), legs of a B2BUA and registrations.
var resendCaptures = []string{
	"goffinet-sip_captures__uac-uas-scenario-sipp.pcapng",
	"goffinet-sip_captures__branch-scenario-sipp.pcapng",
	"heplify__sip_ipv4_tcp_fragmented.pcap",
	"MichalCab-ISA__real_sip_call.pcap",
	"MichalCab-ISA__sip_old_unanswered.pcap",
	"goffinet-sip_captures__sip-2phones-B2BUA-Asterisk.pcapng",
	"goffinet-sip_captures__private-test-sip.pcapng",
	"goffinet-sip_captures__sip-register-to-repo-proxy.pcapng",
	"goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng",
	"goffinet-sip_captures__sip-routing-error-wireshark.pcapng",
	"sngrep__aaa.pcap",
	"heplify__rtp_rtcp_sip_ipv4_udp.pcap",
	"heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
	"gprshome-wireshark__sip.pcap",
	"arkime__gtp-iphone.pcap",
	"goffinet-sip_captures__Forensic_challenge_4.pcap",
	"hep-wireshark__hep.pcap",
}

// captureRecords analyzes shared captures, each on its own (frame
// numbers are per file), with their media, and returns their calls as a
// collector stores them (each with the messages of its own frames) and
// their registrations.
func captureRecords(t *testing.T, names ...string) (calls []CallRecord, regs []*analyze.Register) {
	t.Helper()
	for _, name := range names {
		path := filepath.Join("..", "..", "shared", "testdata", "captures", name)
		raw := map[string][]RawMessage{}
		_, err := ingest.Each(ingest.Files(path), ingest.Options{}, func(p capture.Packet, m *sipmsg.Message) {
			id := string(m.CallID())
			raw[id] = append(raw[id], RawMessage{Frame: p.Frame, Time: p.Time.UTC(), Src: p.Src.String(), Dst: p.Dst.String(),
				Transport: p.Transport, Raw: slices.Clone(p.Payload)})
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rep, err := ingest.Analyze(ingest.Files(path), ingest.Options{Media: true}, analyze.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range rep.Calls {
			in := map[int]bool{}
			for _, f := range c.Frames {
				in[f] = true
			}
			var msgs []RawMessage
			for _, m := range raw[c.CallID] {
				if in[m.Frame] {
					msgs = append(msgs, m)
				}
			}
			calls = append(calls, CallRecord{Call: c, Messages: msgs, Summary: c.Outcome + " " + c.Fault})
		}
		regs = append(regs, rep.Registrations...)
	}
	return calls, regs
}

// lossyProxy stands between the ClickHouse store and its servers (one
// listener for each) and loses the answer of some INSERTs after the
// server stored their rows, as a network that drops a connection at the
// wrong moment (or a timeout) does: the sender cannot tell the insert
// landed and sends it again, to the same server or, failing over, to the
// next.
type lossyProxy struct {
	addrs []string // host:port of the listener in front of each server
	mu    sync.Mutex
	lose  map[string]int // table → answers still to lose
	lost  []string       // tables whose answer was lost, in order
}

func newLossyProxy(t *testing.T, upstreams ...string) *lossyProxy {
	p := &lossyProxy{lose: map[string]int{}}
	client := &http.Client{Timeout: time.Minute}
	for _, upstream := range upstreams {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+upstream+r.URL.RequestURI(), bytes.NewReader(body))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			req.Header = r.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && p.take(insertTable(r.URL.Query().Get("query"))) {
				// Stored, but the answer never arrives.
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			w.Write(out)
		}))
		t.Cleanup(srv.Close)
		p.addrs = append(p.addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	return p
}

// insertTable is the table an "INSERT INTO db.table (...)" writes to.
func insertTable(q string) string {
	rest, ok := strings.CutPrefix(q, "INSERT INTO ")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	_, table, _ := strings.Cut(name, ".")
	return table
}

func (p *lossyProxy) arm(tables ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range tables {
		p.lose[t]++
	}
}

func (p *lossyProxy) take(table string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if table == "" || p.lose[table] == 0 {
		return false
	}
	p.lose[table]--
	p.lost = append(p.lost, table)
	return true
}

func (p *lossyProxy) lostAnswers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lost)
}

// aggregates is what a store answers to every query that counts or sums
// over the calls of recs and over regs (and to the listings and message
// counts besides), keyed by query, as JSON.
func aggregates(t *testing.T, s Store, recs []CallRecord) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(key string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		b, _ := json.Marshal(v)
		out[key] = string(b)
	}
	st, err := s.Stats(ctx)
	st.Bytes = 0 // what the files take: not the same in two databases
	put("Stats", st, err)

	days := map[time.Time]bool{}
	for _, cr := range recs {
		days[cr.Call.Start.UTC().Truncate(24*time.Hour)] = true
	}
	var order []time.Time
	for d := range days {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Before(order[j]) })
	first, last := order[0], order[len(order)-1].Add(24*time.Hour)
	wide := (last.Sub(first)/1000 + time.Hour).Truncate(time.Hour)
	ranges := [][3]any{{"all", first, last}}
	for _, d := range order {
		ranges = append(ranges, [3]any{d.Format("2006-01-02"), d, d.Add(24 * time.Hour)})
	}
	for _, r := range ranges {
		name, from, to := r[0].(string), r[1].(time.Time), r[2].(time.Time)
		step := time.Hour
		if name == "all" {
			step = wide
		}
		bs, err := s.Timeline(ctx, from, to, step)
		put("Timeline "+name, bs, err)
		ab, err := s.(AudioTimeliner).AudioTimeline(ctx, from, to, step)
		for i := range ab {
			// Two databases sum the same floats in another order.
			ab[i].MeanMOS = float64(int64(ab[i].MeanMOS*1e6+0.5)) / 1e6
		}
		put("AudioTimeline "+name, ab, err)
		for _, by := range []string{ByStatus, ByFault, ByPeer, ByCallee, ByCaller, ByAudio} {
			cs, err := s.CountCalls(ctx, CountQuery{From: from, To: to, Step: step, By: by})
			put("CountCalls "+name+" "+by, cs, err)
			if name != "all" {
				continue
			}
			for _, top := range []int{0, 3} {
				cs, err := s.CountCalls(ctx, CountQuery{From: from, To: to, By: by, Outcomes: FailedOutcomes, Top: top})
				put(fmt.Sprintf("CountCalls failed %s top %d", by, top), cs, err)
			}
		}
	}

	// The listings, as sets (the two stores break ties of a start
	// differently).
	var calls []string
	for off := 0; ; off += MaxLimit {
		cs, err := s.SearchCalls(ctx, Query{Limit: MaxLimit, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			calls = append(calls, fmt.Sprintf("%s %d %s", c.CallID, c.Start.UnixNano(), c.Outcome))
		}
		if len(cs) < MaxLimit {
			break
		}
	}
	sort.Strings(calls)
	put("SearchCalls", calls, nil)
	for _, latest := range []bool{false, true} {
		var rs []string
		for off := 0; ; off += MaxLimit {
			got, err := s.SearchRegistrations(ctx, RegQuery{Latest: latest, Limit: MaxLimit, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				rs = append(rs, fmt.Sprintf("%s %d %s %s", r.CallID, r.Start.UnixNano(), r.AOR, r.Outcome))
			}
			if len(got) < MaxLimit {
				break
			}
		}
		sort.Strings(rs)
		put(fmt.Sprintf("SearchRegistrations latest=%v", latest), rs, nil)
	}
	// The message counts of calls (a call page).
	seen := map[string]bool{}
	for _, cr := range recs {
		id := cr.Call.CallID
		if seen[id] || len(seen) == 60 {
			continue
		}
		seen[id] = true
		got, err := s.GetCall(ctx, id)
		if err != nil {
			t.Fatalf("GetCall %q: %v", id, err)
		}
		out["GetCall "+id] = fmt.Sprintf("%d messages, %d frames", len(got.Messages), len(got.Call.Frames))
	}
	return out
}

// linkedLegs is what LinkedCalls (ClickHouse only) answers for every call
// of a B2BUA in recs; it fails when no call has a linked leg, so that the
// check does not pass on nothing.
func linkedLegs(t *testing.T, s *ClickHouse, recs []CallRecord) map[string]string {
	t.Helper()
	out := map[string]string{}
	linked := 0
	for _, cr := range recs {
		if cr.Call.LegOf == "" {
			continue
		}
		for _, id := range []string{cr.Call.CallID, cr.Call.LegOf} {
			legs, err := s.LinkedCalls(context.Background(), id)
			if err != nil {
				t.Fatalf("LinkedCalls %q: %v", id, err)
			}
			b, _ := json.Marshal(legs)
			out["LinkedCalls "+id] = string(b)
			if len(legs) > 0 {
				linked++
			}
		}
	}
	if linked == 0 {
		t.Fatalf("LinkedCalls found no leg for any of %d calls", len(out))
	}
	return out
}

// sameAggregates reports each query whose answers differ.
func sameAggregates(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		if got[k] != want[k] {
			if bad++; bad <= 12 {
				g, w := got[k], want[k]
				var gl, wl []string
				if json.Unmarshal([]byte(g), &gl) == nil && json.Unmarshal([]byte(w), &wl) == nil {
					// Listings: what one has and the other has not.
					var more, less []string
					for _, x := range gl {
						if !slices.Contains(wl, x) {
							more = append(more, x)
						}
					}
					for _, x := range wl {
						if !slices.Contains(gl, x) {
							less = append(less, x)
						}
					}
					g, w = fmt.Sprintf("%d, with %q", len(gl), more), fmt.Sprintf("%d, with %q", len(wl), less)
				}
				if len(g) > 400 {
					g, w = g[:400]+"…", w[:min(len(w), 400)]+"…"
				}
				t.Errorf("%s: %s:\n got %s\nwant %s", what, k, g, w)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d answers differ", what, bad, len(keys))
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d answers, want %d", what, len(got), len(want))
	}
}

// chRows counts the rows of a table, copies included.
func chRows(t *testing.T, s *ClickHouse, table string) int64 {
	t.Helper()
	r, err := s.query(context.Background(), "SELECT count() FROM {DB}."+table)
	if err != nil || len(r) != 1 || len(r[0]) != 1 {
		t.Fatalf("rows of %s: %v", table, err)
	}
	return atoi(r[0][0])
}

// TestClickHouseResentBatch stores the calls and registrations of
// shared captures in SQLite and in ClickHouse, then has the ClickHouse
// store send a batch again the two ways its spool does: the batch's spool
// file outlived a crash (it is sent again by the next process), and the
// answer to each of its inserts is lost after ClickHouse stored the rows
// (the sender retries). Every count and sum the UI shows (Stats, the
// dashboard's timeline, counts and audio chart, retention's count) and
// the listings must be what they were before, and what SQLite says of the
// same calls: a call counts once however many copies of its rows the
// tables hold. It runs on one server and on a cluster of two shards
// behind Distributed tables.
func TestClickHouseResentBatch(t *testing.T) {
	if chtest.Binary() == "" {
		t.Skip("clickhouse-server is not installed (scripts/test installs it)")
	}
	recs, regs := captureRecords(t, resendCaptures...)
	if len(recs) < 1000 || len(regs) < 1000 {
		t.Fatalf("%d calls and %d registrations in the captures", len(recs), len(regs))
	}
	// The captures' B2BUAs do not name the other leg in a header, as
	// some do (X-CID): the legs the analyzer paired get one, so that
	// LinkedCalls, which reads it, has legs to find.
	for i := range recs {
		if leg := recs[i].Call.LegOf; leg != "" {
			recs[i].Messages = slices.Clone(recs[i].Messages)
			for j, m := range recs[i].Messages {
				if line, rest, ok := bytes.Cut(m.Raw, []byte("\r\n")); ok && bytes.HasPrefix(m.Raw, []byte("INVITE ")) {
					recs[i].Messages[j].Raw = slices.Concat(line, []byte("\r\nX-CID: "+leg+"\r\n"), rest)
				}
			}
		}
	}
	// Two batches of each, every other call: the batch sent again has
	// calls of every day.
	var callsA, callsB []CallRecord
	for i, cr := range recs {
		if i%2 == 0 {
			callsA = append(callsA, cr)
		} else {
			callsB = append(callsB, cr)
		}
	}
	regsA, regsB := regs[:len(regs)/2], regs[len(regs)/2:]
	ctx := context.Background()

	lite, _ := openTemp(t)
	for _, err := range []error{lite.PutCalls(ctx, callsA), lite.PutRegistrations(ctx, regsA),
		lite.PutCalls(ctx, callsB), lite.PutRegistrations(ctx, regsB)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := aggregates(t, lite, recs)

	layouts := []struct {
		name    string
		servers int
	}{{"server", 1}, {"cluster", 2}}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			if l.servers > 1 && testing.Short() {
				t.Skip("-short: starts two ClickHouse servers")
			}
			var ss []*chtest.Server
			if l.servers == 1 {
				ss = []*chtest.Server{clickhouseServer(t)}
			} else {
				ss = chtest.StartCluster(t, "sipcause_test", l.servers)
			}
			var upstreams []string
			for _, srv := range ss {
				upstreams = append(upstreams, srv.HTTP)
			}
			proxy := newLossyProxy(t, upstreams...)
			db := fmt.Sprintf("resend%d", dbSeq.Add(1))
			url := "clickhouse://" + strings.Join(proxy.addrs, ",") + "/" + db
			if l.servers > 1 {
				url += "?cluster=sipcause_test"
			}
			spool := filepath.Join(t.TempDir(), "spool")
			open := func(age time.Duration) *ClickHouse {
				t.Helper()
				s, err := OpenClickHouse(ctx, url, CHOptions{SpoolDir: spool, BatchAge: age})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}

			// Nothing is sent before the Flush: the spool files of the
			// second batches are kept as a crash would leave them.
			s := open(time.Hour)
			for _, err := range []error{s.PutCalls(ctx, callsA), s.PutRegistrations(ctx, regsA),
				s.PutCalls(ctx, callsB), s.PutRegistrations(ctx, regsB)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			files, _ := filepath.Glob(filepath.Join(spool, "*.batch"))
			if len(files) != 4 {
				t.Fatalf("%d spool files, want 4", len(files))
			}
			kept := map[string][]byte{}
			for _, f := range files[2:] {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				kept[filepath.Base(f)] = b
			}
			flush(t, s)
			before := aggregates(t, s, recs)
			sameAggregates(t, "before the batch was sent again, against SQLite", before, want)
			linkedBefore := linkedLegs(t, s, recs)
			rows := map[string]int64{}
			for _, table := range chTables {
				rows[table] = chRows(t, s, table)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			// The files outlived a crash: the next process sends them
			// again, and the answer of each insert is lost once.
			for name, b := range kept {
				if err := os.WriteFile(filepath.Join(spool, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			proxy.arm(chTables...)
			s = open(50 * time.Millisecond)
			flush(t, s)
			if lost := proxy.lostAnswers(); len(lost) != len(chTables) {
				t.Fatalf("answers lost for %v; want one for each of %v", lost, chTables)
			}
			// Each table holds the second batches twice more.
			for table, extra := range map[string]int{"calls": len(callsB), "call_ids": len(callsB), "messages": len(callsB), "registrations": len(regsB)} {
				if got := chRows(t, s, table) - rows[table]; got != int64(2*extra) {
					t.Errorf("%s: %d rows more after the batch was sent again, want %d", table, got, 2*extra)
				}
			}
			after := aggregates(t, s, recs)
			sameAggregates(t, "after the batch was sent again, against before", after, before)
			sameAggregates(t, "after the batch was sent again, against SQLite", after, want)
			sameAggregates(t, "linked legs after the batch was sent again, against before", linkedLegs(t, s, recs), linkedBefore)

			// Once more in the same process, whose Stats kept the counts
			// of the days (see Stats): the spool takes the same rows
			// again, as a retry does, and the counts of the days they
			// went to are taken again.
			proxy.arm(chTables...)
			for _, b := range kept {
				rows, ok := decodeSpool(b)
				if !ok {
					t.Fatal("a kept spool file does not decode")
				}
				if err := s.sp.add(rows, bytes.Count(rows[3], []byte("\n")), bytes.Count(rows[2], []byte("\n"))); err != nil {
					t.Fatal(err)
				}
			}
			flush(t, s)
			if got := chRows(t, s, "calls") - rows["calls"]; got != int64(4*len(callsB)) {
				t.Errorf("calls: %d rows more after the batch was sent again twice, want %d", got, 4*len(callsB))
			}
			again := aggregates(t, s, recs)
			sameAggregates(t, "after the batch was sent again in the same process, against SQLite", again, want)

			// Retention counts the calls it drops, not their rows: cut
			// at a day between the captures' days, which both stores
			// drop whole.
			var days []time.Time
			for _, cr := range recs {
				days = append(days, cr.Call.Start.UTC().Truncate(24*time.Hour))
			}
			slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
			days = slices.Compact(days)
			cut := days[len(days)/2]
			liteRetain, _ := openTemp(t)
			if err := liteRetain.PutCalls(ctx, recs); err != nil {
				t.Fatal(err)
			}
			wantN, err := liteRetain.Retain(ctx, cut)
			if err != nil || wantN == 0 {
				t.Fatalf("SQLite retained %d, %v", wantN, err)
			}
			n, err := s.Retain(ctx, cut)
			if err != nil || n != wantN {
				t.Errorf("Retain before %s = %d, %v; SQLite dropped %d calls", cut.Format("2006-01-02"), n, err, wantN)
			}
			stLite, _ := liteRetain.Stats(ctx)
			stCH, err := s.Stats(ctx)
			if err != nil || stCH.Calls != stLite.Calls || stCH.Messages != stLite.Messages || !stCH.Oldest.Equal(stLite.Oldest) {
				t.Errorf("after retention: %+v, %v; SQLite %+v", stCH, err, stLite)
			}
			t.Logf("%d calls, %d registrations; the second batches (%d calls, %d registrations) stored four times more; retention dropped %d calls",
				len(recs), len(regs), len(callsB), len(regsB), n)
		})
	}
}

// TestClickHouseStatsKeptCounts: Stats keeps the count of each day
// partition with the partition's parts, and counts a day again when its
// parts changed: after new calls and a re-sent batch went to the days it
// counted, after a merge, and after retention dropped a day; on one
// server and on a cluster of two shards.
func TestClickHouseStatsKeptCounts(t *testing.T) {
	for _, servers := range []int{1, 2} {
		t.Run(fmt.Sprintf("servers=%d", servers), func(t *testing.T) {
			var url string
			db := fmt.Sprintf("statskept%d", dbSeq.Add(1))
			if servers == 1 {
				url = clickhouseServer(t).URL(db)
			} else {
				if testing.Short() {
					t.Skip("-short: starts two ClickHouse servers")
				}
				ss := chtest.StartCluster(t, "sipcause_test", servers)
				url = fmt.Sprintf("clickhouse://%s,%s/%s?cluster=sipcause_test", ss[0].HTTP, ss[1].HTTP, db)
			}
			statsKeptCounts(t, openCH(t, url, filepath.Join(t.TempDir(), "spool")))
		})
	}
}

func statsKeptCounts(t *testing.T, s *ClickHouse) {
	defer s.Close()
	ctx := context.Background()
	calls := func(from, to int) []CallRecord {
		var b []CallRecord
		for i := from; i < to; i++ {
			b = append(b, testCall(i, 486, analyze.OutcomeBusy))
		}
		return b
	}
	regs := func(from, to int) []*analyze.Register {
		var b []*analyze.Register
		for i := from; i < to; i++ {
			b = append(b, &analyze.Register{CallID: fmt.Sprintf("reg-%d@test", i), AOR: fmt.Sprintf("sip:%d@a.test", i%7),
				Start: t0.Add(time.Duration(i) * time.Minute), Outcome: "registered"})
		}
		return b
	}
	check := func(what string, wantCalls, wantRegs int64) {
		t.Helper()
		st, err := s.Stats(ctx)
		if err != nil || st.Calls != wantCalls || st.Messages != 2*wantCalls || st.Registrations != wantRegs {
			t.Errorf("%s: %+v, %v; want %d calls, %d messages, %d registrations", what, st, err, wantCalls, 2*wantCalls, wantRegs)
		}
	}
	// Day one from call 0, day two from call 720 (t0 is noon).
	dayOne, dayOneRegs := calls(0, 100), regs(0, 30)
	for _, err := range []error{s.PutCalls(ctx, dayOne), s.PutRegistrations(ctx, dayOneRegs), s.PutCalls(ctx, calls(800, 900))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	flush(t, s)
	check("two days", 200, 30)
	s.statsMu.Lock()
	kept := 0
	for key, days := range s.statsKept {
		if strings.HasSuffix(key, " "+s.db+".calls") {
			kept += len(days)
		}
	}
	s.statsMu.Unlock()
	if kept != 2 {
		t.Errorf("Stats kept the counts of %d partitions of calls, want 2", kept)
	}

	// New calls on day two; day one's batch sent again.
	if err := s.PutCalls(ctx, calls(900, 950)); err != nil {
		t.Fatal(err)
	}
	resent, _, err := encodeBatch(dayOne, dayOneRegs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sp.add(resent, len(dayOne), len(dayOneRegs)); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if n := chRows(t, s, "calls"); n != 350 {
		t.Fatalf("%d rows in calls, want 350 (250 calls, 100 of them twice)", n)
	}
	check("new calls and a batch sent again", 250, 30)

	// A merge renames the parts; the counts stay.
	for _, h := range s.conn.hosts {
		for _, table := range []string{"calls", "messages", "registrations"} {
			if _, err := s.conn.doOn(ctx, h, s.sql("OPTIMIZE TABLE {DB}."+table+"{L} FINAL", true), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("after a merge", 250, 30)

	// Retention drops day one.
	if n, err := s.Retain(ctx, t0.Add(24*time.Hour)); err != nil || n != 100 {
		t.Errorf("Retain = %d, %v; want the 100 calls of day one", n, err)
	}
	check("after retention", 150, 0)
}
