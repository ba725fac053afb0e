package capture

import (
	"bytes"
	"net/netip"
)

// fragKey identifies the fragments of one IP datagram (RFC 791 section 2.3:
// source, destination, protocol and identification; RFC 8200 section 4.5 for
// IPv6).
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

// fragUnit is the granularity of fragment offsets: 8 octets (RFC 791
// section 3.1, RFC 8200 section 4.5).
const fragUnit = 8

// fragSet is one datagram being reassembled: its bytes in place and which
// 8-octet units have arrived, so each fragment costs time in proportion to
// its own length, however many arrive (the review's H5: 200 000
// overlapping fragments took minutes when each re-sorted and re-walked
// all before it).
type fragSet struct {
	buf     []byte
	have    []uint64 // one bit per unit received
	units   int      // units received
	total   int      // payload length, known once the last fragment arrived; -1 before
	dropped bool     // IPv6 overlap: the datagram is discarded, and so are its later fragments
	seq     int      // insertion order, for evicting the oldest
}

func (s *fragSet) has(u int) bool { return s.have[u/64]&(1<<(u%64)) != 0 }

// complete reports whether the first need units have all arrived (units
// beyond the end may have been counted too, before the end was known).
func (s *fragSet) complete(need int) bool {
	for w := range need / 64 {
		if s.have[w] != ^uint64(0) {
			return false
		}
	}
	if r := need % 64; r > 0 && s.have[need/64]&(1<<r-1) != 1<<r-1 {
		return false
	}
	return true
}

// fragTable reassembles IP fragments with bounded memory: at most
// maxFragSets datagrams and maxFragBytes bytes are held; the oldest datagram
// is dropped (and counted as incomplete) to make room.
type fragTable struct {
	sets  map[fragKey]*fragSet
	bytes int
	seq   int
}

func (t *fragTable) len() int { return len(t.sets) }

func (t *fragTable) reset() {
	t.sets, t.bytes = nil, 0
}

// maxDatagram is the largest IP payload a fragment set may describe.
const maxDatagram = 65535 + 8

// add stores one fragment; when it completes its datagram, add returns the
// reassembled payload and true.
//
// Overlaps are resolved as the receiving stacks do, and counted: for IPv4
// the data that arrived first wins (as in tshark and Linux), for IPv6 a
// datagram with overlapping fragments is discarded whole (RFC 5722 section
// 4; RFC 8200 section 4.5). A fragment that exactly repeats one already
// held (a capture seeing a packet twice) is no overlap.
func (t *fragTable) add(r *Reader, k fragKey, off int, more bool, data []byte) ([]byte, bool) {
	end := off + len(data)
	if end > maxDatagram || off%fragUnit != 0 || more && len(data)%fragUnit != 0 {
		// Only the last fragment may end off the 8-octet grid.
		r.cur.malformed = true
		return nil, false
	}
	if t.sets == nil {
		t.sets = make(map[fragKey]*fragSet)
	}
	s := t.sets[k]
	if s == nil {
		for len(t.sets) >= maxFragSets || (len(t.sets) > 0 && t.bytes+end > maxFragBytes) {
			t.evictOldest(r)
		}
		t.seq++
		s = &fragSet{total: -1, seq: t.seq, have: make([]uint64, (maxDatagram/fragUnit+1+63)/64)}
		t.sets[k] = s
		t.bytes += len(s.have) * 8
	}
	if s.dropped {
		return nil, false
	}
	if !more {
		if s.total >= 0 && s.total != end {
			// Two different ends: keep the first (IPv6: discard).
			r.integ.FragmentOverlaps++
			if k.v6 {
				t.drop(s)
			}
			return nil, false
		}
		s.total = end
		if len(s.buf) > end {
			// Fragments already held reach past this end.
			r.integ.FragmentOverlaps++
			if k.v6 {
				t.drop(s)
				return nil, false
			}
		}
	}
	if s.total >= 0 && end > s.total {
		// Data beyond the end the last fragment gave.
		r.integ.FragmentOverlaps++
		if k.v6 || off >= s.total {
			if k.v6 {
				t.drop(s)
			}
			return nil, false
		}
		end = s.total
		data = data[:end-off]
	}
	if grow := end - len(s.buf); grow > 0 {
		s.buf = append(s.buf, make([]byte, grow)...)
		t.bytes += grow
	}
	first, last := off/fragUnit, (end+fragUnit-1)/fragUnit
	overlap, dup := false, true
	for u := first; u < last; u++ {
		if s.has(u) {
			overlap = true
		} else {
			dup = false
		}
	}
	if dup && bytes.Equal(s.buf[off:end], data) {
		return nil, false // the same fragment again
	}
	if overlap {
		r.integ.FragmentOverlaps++
		if k.v6 {
			t.drop(s)
			return nil, false
		}
	}
	for u := first; u < last; u++ {
		if s.has(u) {
			continue // IPv4: the first data wins
		}
		lo, hi := u*fragUnit, min((u+1)*fragUnit, end)
		copy(s.buf[lo:hi], data[lo-off:hi-off])
		s.have[u/64] |= 1 << (u % 64)
		s.units++
	}
	need := (s.total + fragUnit - 1) / fragUnit
	if s.total < 0 || s.units < need || !s.complete(need) {
		return nil, false
	}
	whole := s.buf[:s.total]
	t.bytes -= len(s.buf) + len(s.have)*8
	delete(t.sets, k)
	return whole, true
}

// drop discards the data of an IPv6 datagram with overlapping fragments
// and remembers that it is discarded until the set is evicted.
func (t *fragTable) drop(s *fragSet) {
	t.bytes -= len(s.buf)
	s.buf, s.dropped = nil, true
}

func (t *fragTable) evictOldest(r *Reader) {
	var oldest fragKey
	best := -1
	for k, s := range t.sets {
		if best < 0 || s.seq < best {
			oldest, best = k, s.seq
		}
	}
	if best < 0 {
		return
	}
	s := t.sets[oldest]
	t.bytes -= len(s.buf) + len(s.have)*8
	delete(t.sets, oldest)
	if !s.dropped {
		r.integ.FragmentsIncomplete++
	}
}
