package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/internal/chtest"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

// TestClickHouseTwoShards: two ClickHouse servers on loopback form one
// cluster of two shards; two collectors receive HEP, each half of the
// calls, and write through the Distributed tables; a third process
// (UI only) lists the calls through the API. Every call must be found
// exactly once, and each shard must hold part of them.
func TestClickHouseTwoShards(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts two ClickHouse servers")
	}
	ss := chtest.StartCluster(t, "sipcause_test", 2)
	url := fmt.Sprintf("clickhouse://%s,%s/sharded?cluster=sipcause_test", ss[0].HTTP, ss[1].HTTP)
	// The second collector lists the servers the other way round: each
	// writes through a different entry point.
	url2 := fmt.Sprintf("clickhouse://%s,%s/sharded?cluster=sipcause_test", ss[1].HTTP, ss[0].HTTP)
	a := startCollectorOn(t, openClickHouse(t, url), CollectorOptions{})
	b := startCollectorOn(t, openClickHouse(t, url2), CollectorOptions{})
	const calls = 200
	t0 := time.Now().UTC().Add(-time.Hour)
	var toA, toB [][]byte
	for i := range calls {
		st := []int{200, 486, 404, 503}[i%4]
		p := hepOf(synth.Call(i, t0.Add(time.Duration(i)*time.Second), synth.CallOptions{Status: st}))
		if i%2 == 0 {
			toA = append(toA, p...)
		} else {
			toB = append(toB, p...)
		}
	}
	sendUDP(t, a.col.HEPAddr(), toA)
	sendUDP(t, b.col.HEPAddr(), toB)
	a.waitReceived(t, int64(len(toA)))
	b.waitReceived(t, int64(len(toB)))
	a.stop(t) // writes what is open and closes the store, which empties its spool
	b.stop(t)

	ui := openClickHouse(t, url)
	defer ui.Close()
	srv := httptest.NewServer(NewHandler(HandlerOptions{}, ui, NewMetrics()))
	defer srv.Close()
	seen := map[string]int{}
	for offset := 0; ; offset += 100 {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/calls?limit=100&offset=%d", srv.URL, offset))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Calls []store.CallSummary `json:"calls"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("API: %d %v", resp.StatusCode, err)
		}
		for _, c := range page.Calls {
			seen[c.CallID]++
		}
		if len(page.Calls) < 100 {
			break
		}
	}
	for i := range calls {
		id := fmt.Sprintf("synth-%d@sipcause.test", i)
		if seen[id] != 1 {
			t.Errorf("%s found %d times through the API", id, seen[id])
		}
	}
	if len(seen) != calls {
		t.Errorf("%d distinct calls through the API, want %d", len(seen), calls)
	}
	// One call through the API: its messages come from the shard that
	// holds it.
	resp, err := http.Get(srv.URL + "/api/v1/calls/synth-7@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "synth-7@sipcause.test") {
		t.Errorf("GET one call: %d %.200s", resp.StatusCode, body)
	}
	total := 0
	for i, s := range ss {
		n := localCount(t, s, "sharded.calls_local")
		m := localCount(t, s, "sharded.messages_local")
		t.Logf("shard %d holds %d calls, %d message rows", i+1, n, m)
		if n == 0 || n == calls || m != n {
			t.Errorf("shard %d holds %d of %d calls and %d message rows: want a part, with their messages", i+1, n, calls, m)
		}
		total += n
	}
	if total != calls {
		t.Errorf("the shards hold %d calls together, want %d", total, calls)
	}
	// The first listed server down: the UI's queries go to the next one,
	// which answers, and says that a shard is missing rather than
	// showing half the calls as if they were all.
	ss[0].Kill()
	_, err = ui.SearchCalls(context.Background(), store.Query{})
	if err == nil || !strings.Contains(err.Error(), "clickhouse "+ss[1].HTTP+":") {
		t.Errorf("search with the first server down: %v; want the answer of %s", err, ss[1].HTTP)
	}
}

func localCount(t *testing.T, s *chtest.Server, table string) int {
	t.Helper()
	resp, err := http.Post("http://"+s.HTTP+"/", "text/plain", strings.NewReader("SELECT count() FROM "+table))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var n int
	fmt.Sscan(string(b), &n)
	return n
}

// TestClickHouseCrossCollectorLegs: the two legs of a call through a
// B2BUA reach two collectors; the call page, served by a third process,
// links them by X-CID, by Session-ID (RFC 7989) and by the icid of
// P-Charging-Vector (RFC 7315), and does not link an unrelated call.
func TestClickHouseCrossCollectorLegs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts ClickHouse")
	}
	url := chtest.Start(t).URL("legs")
	a := startCollectorOn(t, openClickHouse(t, url), CollectorOptions{})
	b := startCollectorOn(t, openClickHouse(t, url), CollectorOptions{})
	t0 := time.Now().UTC().Add(-time.Hour)
	call := func(i int, id string, hdrs ...string) [][]byte {
		return hepOf(synth.Call(i, t0.Add(time.Duration(i)*time.Second), synth.CallOptions{CallID: id, Status: 486, Headers: hdrs}))
	}
	var toA, toB [][]byte
	toA = append(toA, call(1, "in-1@sbc")...)
	toB = append(toB, call(2, "out-1@b2bua", "X-CID: in-1@sbc")...)
	toA = append(toA, call(3, "in-2@sbc", "Session-ID: 0123456789abcdef0123456789abcdef;remote=00000000000000000000000000000000")...)
	toB = append(toB, call(4, "out-2@b2bua", "Session-ID: 0123456789ABCDEF0123456789ABCDEF;remote=fedcba9876543210fedcba9876543210")...)
	toA = append(toA, call(5, "in-3@sbc", `P-Charging-Vector: icid-value="ic-77";icid-generated-at=192.0.2.1`)...)
	toB = append(toB, call(6, "out-3@b2bua", "P-Charging-Vector: icid-value=ic-77")...)
	toB = append(toB, call(7, "other@b2bua", "X-CID: nothing@here", "Session-ID: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")...)
	sendUDP(t, a.col.HEPAddr(), toA)
	sendUDP(t, b.col.HEPAddr(), toB)
	a.waitReceived(t, int64(len(toA)))
	b.waitReceived(t, int64(len(toB)))
	a.stop(t)
	b.stop(t)

	ui := openClickHouse(t, url)
	defer ui.Close()
	srv := httptest.NewServer(NewHandler(HandlerOptions{}, ui, NewMetrics()))
	defer srv.Close()
	for id, want := range map[string]string{
		"in-1@sbc": "out-1@b2bua", "out-1@b2bua": "in-1@sbc",
		"in-2@sbc": "out-2@b2bua", "out-2@b2bua": "in-2@sbc",
		"in-3@sbc": "out-3@b2bua", "out-3@b2bua": "in-3@sbc",
		"other@b2bua": "",
	} {
		resp, err := http.Get(srv.URL + "/calls/" + id)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		_, legs, _ := strings.Cut(page, `id="legs"`)
		legs, _, _ = strings.Cut(legs, "</section>")
		var got []string
		for _, other := range []string{"in-1@sbc", "out-1@b2bua", "in-2@sbc", "out-2@b2bua", "in-3@sbc", "out-3@b2bua", "other@b2bua"} {
			if strings.Contains(legs, ">"+other+"</a>") {
				got = append(got, other)
			}
		}
		if resp.StatusCode != 200 || strings.Join(got, " ") != want {
			t.Errorf("%s: status %d, linked %v, want %q", id, resp.StatusCode, got, want)
		}
	}
}

// TestClickHouseSpoolFullMetrics: a collector whose ClickHouse is down
// fills its spool up to the bound; the batches beyond it are dropped and
// /metrics counts exactly the calls dropped; the calls accepted before
// arrive when ClickHouse is back, so that stored and dropped add up to
// all the calls sent.
func TestClickHouseSpoolFullMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts ClickHouse")
	}
	srv := chtest.Start(t)
	ctx := context.Background()
	st, err := store.OpenClickHouse(ctx, srv.URL("spoolmetrics"), store.CHOptions{SpoolDir: t.TempDir(), SpoolMax: 40 << 10,
		BatchAge: 50 * time.Millisecond, CloseWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := startCollectorOn(t, st, CollectorOptions{BatchSize: 5})
	r.m.SetBuffer(st.Buffer)
	srv.Kill()
	const calls = 100
	t0 := time.Now().UTC().Add(-time.Hour)
	var pkts [][]byte
	for i := range calls {
		pkts = append(pkts, hepOf(synth.Call(i, t0.Add(time.Duration(i)*time.Second), synth.CallOptions{Status: 486}))...)
	}
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	// Stop the collector (it writes every open call) but keep the store.
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil && !errors.Is(err, store.ErrSpoolFull) {
		t.Fatal(err)
	}
	h := httptest.NewServer(NewHandler(HandlerOptions{}, st, r.m))
	defer h.Close()
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dropped := st.Buffer().DroppedCalls
	if dropped == 0 || dropped == calls {
		t.Fatalf("%d of %d calls dropped: want the spool bound to take some and refuse the rest", dropped, calls)
	}
	if want := fmt.Sprintf("sipcause_store_dropped_total{kind=\"call\"} %d\n", dropped); !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %q:\n%s", want, body)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ui := openClickHouse(t, srv.URL("spoolmetrics"))
	defer ui.Close()
	got, err := ui.SearchCalls(ctx, store.Query{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got))+dropped != calls {
		t.Errorf("%d calls stored and %d dropped, want %d in all", len(got), dropped, calls)
	}
	t.Logf("%d calls stored, %d dropped with the spool full", len(got), dropped)
}
