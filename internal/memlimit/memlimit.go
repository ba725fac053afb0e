// Package memlimit keeps a long analysis within a memory target and lets it
// use that target: it sets the Go runtime's soft memory limit to the target,
// turns the collector's own pacing (GOGC) off so that it collects only when
// the process nears the limit, and raises the limit when the live heap
// alone comes close to it.
//
// The Go collector normally lets the heap grow to twice what is live
// (GOGC=100). For sipcause analyze the live heap is mostly the calls still
// open or settling, which grows with the call rate of the capture; at twice
// the rate the doubled heap passes 100 MB although half of it is garbage.
// A soft limit makes the collector run earlier there. Where the live heap
// is small, GOGC=100 would collect every time it doubled, well below the
// target: without it, a busy hour's capture is collected half as often
// (sipp-1x: 10% less CPU, peak 92 instead of 74 MiB, still below the
// target's 100 MB). The raise keeps the collector from running all the
// time when a capture really needs more.
package memlimit

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Limit is the soft memory limit for a live heap of live bytes under a
// target: the target while the live heap leaves the collector at least a
// third of it as room, otherwise half again the live heap, so that the
// collector never runs more often than with GOGC=50.
func Limit(target, live uint64) uint64 {
	return max(target, live+live/2)
}

// LimitWithin is Limit kept at or below ceiling: a process with a hard
// budget of its own lets the live heap's room shrink rather than outgrow
// it, and the Go runtime then collects more often as the heap nears it.
func LimitWithin(target, ceiling, live uint64) uint64 {
	return min(Limit(target, live), ceiling)
}

// Start sets the soft memory limit to target, turns GOGC off and, until
// stop is called, raises the limit as Limit says when the live heap grows
// (checked every 10 ms, after the collector has measured it). stop restores
// the limit and the GOGC that were set before. A zero target does nothing.
func Start(target uint64) (stop func()) {
	return StartWithin(target, math.MaxUint64)
}

// StartWithin is Start with the limit never raised past ceiling (as
// LimitWithin says): sipcause serve's heap target is well below the memory
// budget a sender may make it hold, which is the ceiling.
func StartWithin(target, ceiling uint64) (stop func()) {
	if target == 0 {
		return func() {}
	}
	target = min(target, ceiling)
	before := debug.SetMemoryLimit(int64(min(target, math.MaxInt64)))
	gcBefore := debug.SetGCPercent(-1)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		set := target
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				continue
			}
			if l := LimitWithin(target, ceiling, sample[0].Value.Uint64()); l != set && l <= math.MaxInt64 {
				set = l
				debug.SetMemoryLimit(int64(l))
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		debug.SetGCPercent(gcBefore)
		debug.SetMemoryLimit(before)
	}
}
