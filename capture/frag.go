package capture

import (
	"net/netip"
	"sort"
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

type fragPart struct {
	off  int
	data []byte
}

type fragSet struct {
	parts []fragPart
	total int // payload length, known once the last fragment arrived; -1 before
	bytes int
	seq   int // insertion order, for evicting the oldest
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
func (t *fragTable) add(r *Reader, k fragKey, off int, more bool, data []byte) ([]byte, bool) {
	if off+len(data) > maxDatagram {
		r.cur.malformed = true
		return nil, false
	}
	if t.sets == nil {
		t.sets = make(map[fragKey]*fragSet)
	}
	s := t.sets[k]
	if s == nil {
		for len(t.sets) >= maxFragSets || (len(t.sets) > 0 && t.bytes+len(data) > maxFragBytes) {
			t.evictOldest(r)
		}
		t.seq++
		s = &fragSet{total: -1, seq: t.seq}
		t.sets[k] = s
	}
	if !more {
		s.total = off + len(data)
	}
	for _, p := range s.parts {
		if p.off == off && len(p.data) == len(data) {
			return nil, false // duplicate
		}
	}
	s.parts = append(s.parts, fragPart{off: off, data: append([]byte(nil), data...)})
	s.bytes += len(data)
	t.bytes += len(data)
	if s.total < 0 {
		return nil, false
	}
	sort.Slice(s.parts, func(i, j int) bool { return s.parts[i].off < s.parts[j].off })
	end := 0
	for _, p := range s.parts {
		if p.off > end {
			return nil, false // a hole
		}
		end = max(end, p.off+len(p.data))
	}
	if end < s.total {
		return nil, false
	}
	whole := make([]byte, s.total)
	for _, p := range s.parts {
		if p.off < s.total {
			copy(whole[p.off:], p.data)
		}
	}
	t.bytes -= s.bytes
	delete(t.sets, k)
	return whole, true
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
	t.bytes -= t.sets[oldest].bytes
	delete(t.sets, oldest)
	r.integ.FragmentsIncomplete++
}
