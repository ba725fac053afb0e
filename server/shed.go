package server

import (
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// Load shedding by whole calls.
//
// Under overload the collector drops messages. Dropped at random they make
// wrong stories: a call that lost its 200 OK or its BYE is stored as failed
// or unanswered, and blamed on the network or the provider, and responses
// without their INVITE make fragments. So once the analyzer's queue is past
// half its budget the collector refuses new calls (and new exchanges:
// REGISTER, OPTIONS, ...) whole, and goes on taking every message of the
// calls it took before; it remembers the refused Call-IDs, so that their
// later responses, ACK, CANCEL, BYE and retransmissions are refused too.
// Only when the queue is really full are messages of taken calls dropped.

// Sizes of the two memories of Call-IDs, per generation (there are two of
// each), as a fraction of --max-memory: 4 MiB and 2 MiB at the default
// 1 GiB; at least 256 KiB and 128 KiB.
const (
	refusedShare  = 256
	admittedShare = 512
	// Marks per generation: a generation that holds this many is ended
	// early, so that the false-positive rates below hold at any load.
	// Refused Call-IDs get 32 bits each, 8 bits in one 512-bit block:
	// an admitted call is taken for a refused one (and loses its
	// messages) with a probability below 1e-4, about 1.6e-5 per full
	// generation and so 3.2e-5 with both full (TestCallMarks measures
	// it), less while they fill. Admitted ones get 16 bits (about 9e-4
	// per full generation): a false positive there only lets a new call
	// in while shedding.
	refusedBitsPerMark  = 32
	admittedBitsPerMark = 16
	// How long a mark is kept: a generation lasts this long, and a mark
	// lives one to two generations. A refused call must stay refused for
	// as long as calls last (five to ten minutes covers most; a longer
	// one's BYE then reaches the analyzer alone). An admitted one must be
	// known for as long as its INVITE can be retransmitted or retried
	// with credentials: Timer B, 64*T1 = 32 s (RFC 3261 §17.1.1.2).
	refusedSpan  = 5 * time.Minute
	admittedSpan = 32 * time.Second
)

// callMarks is a set of Call-IDs in fixed memory that forgets: a Bloom
// filter in two generations, the current one taking new marks, both
// answering. When the current one has lasted its span, or holds its
// capacity, the older one is cleared and becomes the current one: a mark
// is forgotten after two such rotations, never before the first.
//
// Every receiver goroutine and the analyzer use it at once: bits are set
// and read with atomic operations, and a rotation is done by one goroutine
// while the others go on. A mark is found until the second rotation after
// it begins (no false negatives; TestCallMarksConcurrent), but a Call-ID
// never marked may read as marked: the rate is stated where the sizes are
// chosen.
//
// The k bits of a mark lie in one 512-bit block (a cache line), so a
// lookup costs one cache miss per generation.
type callMarks struct {
	gens     [2][]atomic.Uint64
	epoch    atomic.Uint64 // gens[epoch&1] takes new marks
	added    [2]atomic.Int64
	next     atomic.Int64 // unix nanoseconds of the next rotation
	rotating atomic.Bool
	span     int64
	capacity int64
	blocks   uint64 // per generation, a power of 2
	full     atomic.Int64
}

// blockWords is the 64-bit words of one block; marksK the bits of a mark.
const (
	blockWords = 8
	blockBits  = blockWords * 64
	marksK     = 8
)

// newCallMarks returns a set of about bytes bytes per generation (rounded
// down to a power of 2, at least one block), taking bitsPerMark bits a
// mark before a generation counts as full.
func newCallMarks(bytes int64, bitsPerMark int, span time.Duration) *callMarks {
	blocks := uint64(1)
	for blocks*2*blockWords*8 <= uint64(max(bytes, 0)) {
		blocks *= 2
	}
	f := &callMarks{span: int64(span), blocks: blocks,
		capacity: max(1, int64(blocks*blockBits)/int64(bitsPerMark))}
	for i := range f.gens {
		f.gens[i] = make([]atomic.Uint64, blocks*blockWords)
	}
	return f
}

// masks spreads the k bits of a mark over its block: it returns the
// block's first word and a mask per word. The block is chosen by the hash,
// the positions by a second hash made from it (splitmix64's finalizer):
// positions taken as a+i*b from one hash (double hashing) fall too close
// together in a 512-bit block, and marks then overlap many times more
// often than a Bloom filter's rate.
func (f *callMarks) masks(h uint64) (base uint64, m [blockWords]uint64) {
	x := h
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	for range marksK - 1 {
		p := x & (blockBits - 1)
		m[p>>6] |= 1 << (p & 63)
		x >>= 9
	}
	p := h & (blockBits - 1)
	m[p>>6] |= 1 << (p & 63)
	return (h >> 9 & (f.blocks - 1)) * blockWords, m
}

// has reports whether h was marked in either generation.
func (f *callMarks) has(h uint64, now int64) bool {
	f.tick(now)
	base, m := f.masks(h)
	for g := range f.gens {
		if f.added[g].Load() == 0 {
			continue
		}
		gen, in := f.gens[g][base:base+blockWords], true
		for j, w := range m {
			if w != 0 && gen[j].Load()&w != w {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

// mark adds h to the current generation.
func (f *callMarks) mark(h uint64, now int64) {
	f.tick(now)
	base, m := f.masks(h)
	e := f.epoch.Load()
	f.set(e&1, base, &m)
	// A rotation between loading the epoch and setting the bits made
	// that generation the older one (or, were this goroutine held up
	// for two, cleared it): the mark goes into the current one too, so
	// that it lasts at least until the next rotation.
	if e2 := f.epoch.Load(); e2 != e {
		f.set(e2&1, base, &m)
	}
	if f.added[e&1].Load() >= f.capacity {
		f.rotate(now, true)
	}
}

func (f *callMarks) set(g, base uint64, m *[blockWords]uint64) {
	gen := f.gens[g][base : base+blockWords]
	for j, w := range m {
		if w != 0 {
			gen[j].Or(w)
		}
	}
	f.added[g].Add(1)
}

// empty reports whether no mark is held: then nothing needs a lookup.
func (f *callMarks) empty(now int64) bool {
	f.tick(now)
	return f.added[0].Load() == 0 && f.added[1].Load() == 0
}

// tick rotates the generations when the current one has lasted its span.
func (f *callMarks) tick(now int64) {
	if now >= f.next.Load() {
		f.rotate(now, false)
	}
}

// rotate clears the older generation and makes it the current one. One
// goroutine does it; the others go on with the generations as they are
// (a mark set meanwhile in the generation becoming the older one is kept
// for one span).
func (f *callMarks) rotate(now int64, full bool) {
	if !f.rotating.CompareAndSwap(false, true) {
		return
	}
	defer f.rotating.Store(false)
	e := f.epoch.Load()
	if full {
		if f.added[e&1].Load() < f.capacity {
			return // another goroutine rotated already
		}
		f.full.Add(1)
	} else if now < f.next.Load() {
		return
	}
	old := (e + 1) & 1
	if f.added[old].Load() != 0 { // pages never marked are never touched
		for i := range f.gens[old] {
			f.gens[old][i].Store(0)
		}
		f.added[old].Store(0)
	}
	f.epoch.Store(e + 1)
	f.next.Store(now + f.span)
}

// shedder decides which calls the collector takes while its queue is past
// the soft watermark.
type shedder struct {
	seed      maphash.Seed
	refused   *callMarks
	admitted  *callMarks
	softMsgs  int64 // the queue's soft watermark, in messages
	softBytes int64 // and in bytes
}

func newShedder(opt *CollectorOptions) *shedder {
	return &shedder{seed: maphash.MakeSeed(),
		refused:   newCallMarks(max(opt.MaxMemory/refusedShare, 256<<10), refusedBitsPerMark, refusedSpan),
		admitted:  newCallMarks(max(opt.MaxMemory/admittedShare, 128<<10), admittedBitsPerMark, admittedSpan),
		softMsgs:  int64(opt.QueueSize / 2),
		softBytes: int64(opt.MaxQueueBytes / 2)}
}

// opensExchange reports whether m starts a new call or a new exchange: a
// request outside any dialog (no To tag, RFC 3261 §12.1, §8.1.1.2) that
// is not part of an exchange begun before (ACK and CANCEL take the To of
// the INVITE they follow, §17.1.1.3, §9.1) and not one that only exists
// within a dialog (BYE §15, PRACK RFC 3262, UPDATE RFC 3311, INFO RFC
// 6086), which a broken peer may send without a tag.
func opensExchange(m *analyze.Message) bool {
	if !m.Request || m.To.Tag != "" {
		return false
	}
	switch m.Method {
	case "ACK", "CANCEL", "BYE", "PRACK", "UPDATE", "INFO":
		return false
	}
	return true
}

// admit decides whether in goes on to the analyzer, and counts what it
// refuses. A message of a refused call is refused; a message opening a new
// call or exchange is refused, and its Call-ID marked, while the queue is
// past its soft watermark, unless the Call-ID was admitted before (a
// retransmission, or the INVITE again with credentials after a 401 or
// 407); everything else is taken. Safe on any goroutine.
//
// A stream receiver passes wait: before it refuses a new call it waits
// that long for the queue to fall below the watermark, reading nothing
// meanwhile, so that TCP's flow control slows the sender down (as
// enqueueStream does for room) and a burst loses nothing; only a load
// that lasts is shed.
func (c *Collector) admit(in *inbound, wall time.Time, wait time.Duration) bool {
	s := c.shed
	if s == nil {
		return true
	}
	m := &in.msg
	fresh := in.rtcp == nil && in.qos == nil && opensExchange(m)
	now := wall.UnixNano()
	if !fresh && s.refused.empty(now) {
		return true
	}
	h := maphash.String(s.seed, m.CallID)
	if s.refused.has(h, now) {
		c.metrics.shedMessages.Add(1)
		return false
	}
	if !fresh {
		return true
	}
	if c.belowSoft() {
		s.admitted.mark(h, now)
		return true
	}
	if s.admitted.has(h, now) {
		return true
	}
	for deadline := time.Now().Add(wait); wait > 0 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
		if c.belowSoft() {
			s.admitted.mark(h, now)
			return true
		}
	}
	s.refused.mark(h, now)
	c.metrics.shedCalls.Add(1)
	c.metrics.shedMessages.Add(1)
	return false
}

// belowSoft reports whether the queue is below its soft watermark, in
// messages and in bytes.
func (c *Collector) belowSoft() bool {
	return c.queuedMsgs.Load() < c.shed.softMsgs && c.queuedBytes.Load() < c.shed.softBytes
}

// refusing reports whether any call is marked refused: only then is a
// message looked at for refusedEarly.
func (c *Collector) refusing(wall time.Time) bool {
	return c.shed != nil && !c.shed.refused.empty(wall.UnixNano())
}

// refusedEarly reports, and counts, a message of a call refused before,
// by its Call-ID as it came (callID), as soon as that is known: found by
// sipmsg.ScanCallID's scan before the message is parsed, or else when it was
// parsed. Its parsing, or at least its turning into an analyze.Message,
// is spared. Datagrams read in batches are decoded after they were
// queued, so under load most of what is decoded may be refused. Only
// marks are read here; they are set by admit, which decides in arrival
// order. A Call-ID longer than the analyzer keeps whole hashes otherwise
// and is left to admit.
func (c *Collector) refusedEarly(callID []byte, wall time.Time) bool {
	s := c.shed
	if s == nil {
		return false
	}
	now := wall.UnixNano()
	if s.refused.empty(now) || !s.refused.has(maphash.Bytes(s.seed, callID), now) {
		return false
	}
	c.metrics.shedMessages.Add(1)
	return true
}
