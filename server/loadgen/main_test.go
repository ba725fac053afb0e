package main

import "testing"

// Scattered Call-IDs stay apart: a million consecutive calls get a
// million different ten-digit numbers, and neighbours are far apart.
func TestScatter(t *testing.T) {
	seen := make(map[int64]bool, 1_000_000)
	for id := int64(1); id <= 1_000_000; id++ {
		v := scatter(id)
		if v < 0 || v >= 10_000_000_000 || seen[v] {
			t.Fatalf("call %d: %d (out of range or taken)", id, v)
		}
		seen[v] = true
		if d := scatter(id+1) - v; d > -1000 && d < 1000 {
			t.Fatalf("calls %d and %d: %d and %d, next to each other", id, id+1, v, v+d)
		}
	}
}
