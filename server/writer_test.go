package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/store"
)

// gateStore is a real SQLite store whose writes of calls wait until the
// test opens the gate: a store that has fallen behind (a slow disk, a
// long commit).
type gateStore struct {
	store.Store
	gate    chan struct{}
	entered chan int // the size of each batch as its write starts
}

func (g *gateStore) PutCalls(ctx context.Context, calls []store.CallRecord) error {
	g.entered <- len(calls)
	<-g.gate
	return g.Store.PutCalls(ctx, calls)
}

// While one batch is being written the writer keeps taking finished calls
// (so the analyzer, and behind it the receive queue, does not stall on a
// slow commit), but only up to its byte budget; then everything that
// gathered is written as the next batch and nothing is lost.
func TestWriterGathersWhileStoreIsSlow(t *testing.T) {
	sq, err := store.OpenSQLite(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	gs := &gateStore{Store: sq, gate: make(chan struct{}), entered: make(chan int, 100)}
	opt := CollectorOptions{BatchSize: 10, BatchInterval: 10 * time.Millisecond, MaxMemory: 64 << 20}
	opt.defaults()
	// Unbuffered: a send completes only when the writer takes the item.
	c := &Collector{opt: opt, st: gs, metrics: NewMetrics(), writes: make(chan writeItem)}
	budget := c.writeBudget()
	var wg sync.WaitGroup
	wg.Go(c.writer)

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	// rec is the next call, with one message of raw bytes; n counts the
	// calls the writer took.
	rec := func(raw int) *store.CallRecord {
		call := &analyze.Call{CallID: fmt.Sprintf("w-%d@sipcause.test", n), Start: t0.Add(time.Duration(n) * time.Second), FinalStatus: 486}
		return &store.CallRecord{Call: call, Summary: "busy", Messages: []store.RawMessage{{Frame: n, Time: call.Start, Src: "10.0.0.1:5060",
			Dst: "10.0.0.2:5060", Transport: "udp", Raw: make([]byte, raw)}}}
	}
	send := func(r *store.CallRecord, wait time.Duration) bool {
		select {
		case c.writes <- writeItem{call: r}:
			n++
			return true
		case <-time.After(wait):
			return false
		}
	}
	for range opt.BatchSize {
		if !send(rec(100), 5*time.Second) {
			t.Fatal("the writer did not take a call while the store was idle")
		}
	}
	if got := <-gs.entered; got != opt.BatchSize {
		t.Fatalf("first batch has %d calls, want %d", got, opt.BatchSize)
	}
	// The store is now stuck in the first batch: small calls still go in.
	for i := range 3 * opt.BatchSize {
		if !send(rec(100), 5*time.Second) {
			t.Fatalf("call %d waited on the store's write of an earlier batch", i)
		}
	}
	// Large calls go in until the budget is spent, then the writer stops
	// taking them.
	const big = 100 << 10
	taken := 3 * opt.BatchSize * callBytes(rec(100))
	bigBytes := callBytes(rec(big))
	blocked := false
	for range 4 * budget / big {
		if !send(rec(big), 300*time.Millisecond) {
			blocked = true
			break
		}
		taken += bigBytes
	}
	if !blocked {
		t.Fatalf("the writer took %d bytes while the store was stuck; its budget is %d", taken, budget)
	}
	if taken > budget+bigBytes {
		t.Fatalf("the writer held %d bytes for a stuck store; its budget is %d", taken, budget)
	}
	close(gs.gate)
	// What gathered is written as one batch, larger than BatchSize.
	if got := <-gs.entered; got <= opt.BatchSize {
		t.Errorf("second batch has %d calls, want all that gathered (> %d)", got, opt.BatchSize)
	}
	close(c.writes)
	wg.Wait()
	stored, err := c.Stored()
	if err != nil || stored != int64(n) {
		t.Fatalf("stored %d (err %v), want %d", stored, err, n)
	}
	st, err := sq.Stats(context.Background())
	if err != nil || st.Calls != int64(n) || st.Messages != int64(n) {
		t.Fatalf("store holds %+v (err %v), want %d calls and messages", st, err, n)
	}
}
