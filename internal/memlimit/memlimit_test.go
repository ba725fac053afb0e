package memlimit

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ target, live, want uint64 }{
		{84 * mib, 0, 84 * mib},
		{84 * mib, 40 * mib, 84 * mib},   // room enough: the target holds
		{84 * mib, 56 * mib, 84 * mib},   // exactly half again the live heap
		{84 * mib, 60 * mib, 90 * mib},   // raised: GOGC=50 at worst
		{84 * mib, 400 * mib, 600 * mib}, // a capture that needs more gets it
	} {
		if got := Limit(c.target, c.live); got != c.want {
			t.Errorf("Limit(%d MiB, %d MiB) = %d MiB, want %d MiB", c.target/mib, c.live/mib, got/mib, c.want/mib)
		}
	}
}

// TestStartRaisesAndRestores holds more live heap than the target and
// checks that the limit follows it up, and that stop puts back the limit
// that was there before.
func TestStartRaisesAndRestores(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	const target = 8 << 20
	gcBefore := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gcBefore)
	stop := Start(target)
	if got := debug.SetMemoryLimit(-1); got != target {
		t.Fatalf("limit after Start = %d, want %d", got, target)
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC after Start = %d, want off (-1)", got)
	}
	live := make([][]byte, 0, 64)
	for range 64 {
		live = append(live, make([]byte, 1<<20)) // 64 MiB, all reachable
	}
	raised := false
	for range 200 { // the governor looks every 10 ms: give it up to 2 s of GCs
		runtime.GC()
		if debug.SetMemoryLimit(-1) >= 64<<20*3/2 {
			raised = true
			break
		}
		waitTick()
	}
	runtime.KeepAlive(live)
	stop()
	if !raised {
		t.Errorf("limit stayed at %d with 64 MiB live; want at least 96 MiB", debug.SetMemoryLimit(-1))
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after stop = %d, want the one before, %d", got, before)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after stop = %d, want the one before, 100", got)
	}
}

func TestLimitWithin(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ target, ceiling, live, want uint64 }{
		{256 * mib, 1024 * mib, 100 * mib, 256 * mib},  // the target holds
		{256 * mib, 1024 * mib, 200 * mib, 300 * mib},  // half again the live heap
		{256 * mib, 1024 * mib, 800 * mib, 1024 * mib}, // never past the ceiling
		{256 * mib, 128 * mib, 0, 128 * mib},           // nor a target above it
	} {
		if got := LimitWithin(c.target, c.ceiling, c.live); got != c.want {
			t.Errorf("LimitWithin(%d MiB, %d MiB, %d MiB) = %d MiB, want %d MiB", c.target/mib, c.ceiling/mib, c.live/mib, got/mib, c.want/mib)
		}
	}
}

// TestStartWithinStopsAtCeiling holds more live heap than the target and
// checks that the limit is raised to the ceiling and no further.
func TestStartWithinStopsAtCeiling(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	const target, ceiling = 8 << 20, 80 << 20
	stop := StartWithin(target, ceiling)
	live := make([][]byte, 0, 64)
	for range 64 {
		live = append(live, make([]byte, 1<<20)) // 64 MiB, all reachable
	}
	reached := false
	for range 200 {
		runtime.GC()
		if debug.SetMemoryLimit(-1) == ceiling {
			reached = true
			break
		}
		waitTick()
	}
	runtime.GC()
	waitTick()
	waitTick()
	got := debug.SetMemoryLimit(-1)
	runtime.KeepAlive(live)
	stop()
	if !reached || got != ceiling {
		t.Errorf("limit %d with 64 MiB live; want the ceiling %d (not half again the live heap)", got, ceiling)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after stop = %d, want the one before, %d", got, before)
	}
}

func TestZeroTargetLeavesLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	Start(0)()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit = %d after Start(0), want %d", got, before)
	}
}

func waitTick() { <-time.After(10 * time.Millisecond) }
