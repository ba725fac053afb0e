package server

import (
	"context"
	"encoding/json"
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
