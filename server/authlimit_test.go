package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// TestFailedLoginsThrottled (security review M6: 8000 wrong tokens were
// all answered in about 150 µs): after authBurst wrong tokens a client is
// answered 429 with Retry-After, even with the right token, until its
// failures are forgiven; another client is not affected; requests without
// credentials are not counted; the failures show in /metrics.
func TestFailedLoginsThrottled(t *testing.T) {
	const token = "correct-horse-battery-staple"
	m := NewMetrics()
	h := NewHandler(HandlerOptions{Lang: catalog.English, AuthToken: token}, filledStore(t), m)
	clock := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	h.limit.now = func() time.Time { return clock }
	get := func(from, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/calls", nil)
		r.RemoteAddr = from
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const attacker, other = "192.0.2.7:40000", "198.51.100.1:40000"
	for range 50 {
		if w := get(attacker, ""); w.Code != http.StatusUnauthorized {
			t.Fatalf("no credentials: %d, want 401", w.Code)
		}
	}
	for i := range authBurst {
		if w := get(attacker, fmt.Sprintf("guess-%d", i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, w.Code)
		}
	}
	w := get("192.0.2.7:40001", "guess-x") // another port, same host
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("guess past the burst: %d, want 429", w.Code)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 || s > int(authRefill/time.Second)+1 {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if w := get(attacker, token); w.Code != http.StatusTooManyRequests {
		t.Errorf("right token while throttled: %d, want 429 (a throttled client learns nothing)", w.Code)
	}
	if w := get(other, token); w.Code != http.StatusOK {
		t.Errorf("another client with the right token: %d, want 200", w.Code)
	}
	clock = clock.Add(authRefill)
	if w := get(attacker, token); w.Code != http.StatusOK {
		t.Errorf("right token one refill later: %d, want 200", w.Code)
	}
	if w := get(attacker, "guess-y"); w.Code != http.StatusUnauthorized {
		t.Errorf("one more guess after the refill: %d, want 401", w.Code)
	}
	if w := get(attacker, "guess-z"); w.Code != http.StatusTooManyRequests {
		t.Errorf("a second guess after one refill: %d, want 429", w.Code)
	}
	var b strings.Builder
	m.WritePrometheus(&b)
	for _, want := range []string{"sipcause_auth_failures_total 11", "sipcause_auth_throttled_total 3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestAuthLimiterBounded: a sender with a hundred thousand addresses
// (IPv6 /64s are cheap) fills at most authMaxClients buckets; past that
// the new ones share one bucket and are throttled together, and clients
// that were forgiven make room again.
func TestAuthLimiterBounded(t *testing.T) {
	l := newAuthLimiter()
	clock := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	for i := range 100_000 {
		k := clientKey(fmt.Sprintf("[2001:db8:%x:%x::1]:5060", i>>16, i&0xffff))
		if ok, _ := l.allow(k); ok {
			l.failed(k)
		}
	}
	if n := l.size(); n > authMaxClients {
		t.Fatalf("%d buckets, want at most %d", n, authMaxClients)
	}
	fresh := clientKey("[2001:db8:ffff:1::1]:5060")
	if ok, _ := l.allow(fresh); ok {
		t.Errorf("a new client while the table is full and the shared bucket spent: allowed")
	}
	clock = clock.Add(authBurst * authRefill)
	l.failed(fresh)
	if n := l.size(); n != 1 {
		t.Errorf("after every failure was forgiven: %d buckets, want only the new client's", n)
	}
	if ok, _ := l.allow(clientKey("[2001:db8:ffff:1::2]:5060")); !ok {
		t.Errorf("a client of one failure (same /64) refused")
	}
}
