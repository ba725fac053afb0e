package server

import (
	"math"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Failed logins are throttled per client: each address (an IPv6 client by
// its /64, which one host usually holds whole) has a bucket of
// authBurst failures that refills one failure every authRefill. A client
// whose bucket is empty is answered 429 with Retry-After before its
// credentials are looked at, so that guessing a token or a password runs
// at a few tries a minute instead of thousands a second (security review
// M6). Requests without credentials (a browser's first request, which
// the 401 answers) cost nothing.
const (
	authBurst      = 10
	authRefill     = 6 * time.Second
	authMaxClients = 4096 // buckets kept; beyond it new clients share one
)

// authLimiter holds the buckets. Its memory is bounded by authMaxClients
// entries; clients that arrive when it is full share one overflow bucket,
// so that a sender with many addresses gains nothing over one with a
// single address.
type authLimiter struct {
	mu       sync.Mutex
	buckets  map[netip.Prefix]*authBucket
	overflow authBucket
	swept    time.Time // when the full table was last searched for forgiven clients
	now      func() time.Time
}

type authBucket struct {
	failures float64 // failures not yet forgiven, at most authBurst
	at       time.Time
}

func newAuthLimiter() *authLimiter {
	return &authLimiter{buckets: map[netip.Prefix]*authBucket{}, now: time.Now}
}

// clientKey is the prefix a request's failures are counted under.
func clientKey(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// settle forgives the failures the time since the last one allows.
func (b *authBucket) settle(now time.Time) {
	if b.failures > 0 && now.After(b.at) {
		b.failures = math.Max(0, b.failures-float64(now.Sub(b.at))/float64(authRefill))
	}
	b.at = now
}

// bucket returns the client's bucket, or nil when it has none and adding
// one is not needed (create false). Called with mu held.
func (l *authLimiter) bucket(k netip.Prefix, now time.Time, create bool) *authBucket {
	if b, ok := l.buckets[k]; ok {
		return b
	}
	if !create {
		return nil
	}
	if len(l.buckets) >= authMaxClients && now.Sub(l.swept) >= authRefill {
		// Forget the clients that are forgiven, at most once a refill
		// (a search per new client would be quadratic under a flood).
		l.swept = now
		for key, b := range l.buckets {
			if b.settle(now); b.failures == 0 {
				delete(l.buckets, key)
			}
		}
	}
	if len(l.buckets) >= authMaxClients {
		// No room: the new client shares one bucket with the others
		// that came while the table was full.
		return &l.overflow
	}
	b := &authBucket{at: now}
	l.buckets[k] = b
	return b
}

// allow reports whether the client may try its credentials now and, if
// not, how long until it may.
func (l *authLimiter) allow(k netip.Prefix) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(k, now, false)
	if b == nil && len(l.buckets) >= authMaxClients {
		b = &l.overflow
	}
	if b == nil {
		return true, 0
	}
	b.settle(now)
	if b.failures <= authBurst-1 {
		return true, 0
	}
	wait := time.Duration((b.failures - (authBurst - 1)) * float64(authRefill))
	return false, max(wait, time.Second)
}

// failed counts a failed login of the client.
func (l *authLimiter) failed(k netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(k, now, true)
	b.settle(now)
	b.failures = math.Min(authBurst, b.failures+1)
}

// size is the number of clients with a bucket of their own.
func (l *authLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
