package analyze

import (
	"container/list"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestTxnIndexAsMap holds the transaction index to a plain map through
// random puts, replacements and removals, across the spill from the walked
// keys to the map.
func TestTxnIndexAsMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var x txnIndex
		want := map[string]*txn{}
		keys := 1 + r.IntN(3*txnFew)
		for op := 0; op < 60; op++ {
			k := "k" + strconv.Itoa(r.IntN(keys))
			switch r.IntN(3) {
			case 0, 1:
				tx := &txn{key: k, sends: op}
				x.put(tx)
				want[k] = tx
			case 2:
				x.remove(k)
				delete(want, k)
			}
			if x.len() != len(want) {
				t.Fatalf("round %d op %d: len %d, want %d", round, op, x.len(), len(want))
			}
			for i := 0; i < keys; i++ {
				k := "k" + strconv.Itoa(i)
				if got := x.get([]byte(k)); got != want[k] {
					t.Fatalf("round %d op %d: get(%s) = %p, want %p", round, op, k, got, want[k])
				}
			}
			all := x.all()
			got := make([]string, 0, len(all))
			for _, tx := range all {
				got = append(got, tx.key)
			}
			sort.Strings(got)
			exp := make([]string, 0, len(want))
			for k := range want {
				exp = append(exp, k)
			}
			sort.Strings(exp)
			if !slices.Equal(got, exp) {
				t.Fatalf("round %d op %d: all %v, want %v", round, op, got, exp)
			}
		}
	}
}

// A legList says that all its calls came from one address only while they
// did: linkNew then skips the walk for a new call from that address, and
// must not skip it once another caller's call is in the list.
func TestLegListAllFrom(t *testing.T) {
	x, y := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	zoned := netip.MustParseAddr("fe80::1%eth0")
	entry := func(a netip.Addr) legEntry {
		return legEntry{srcAP: netip.AddrPortFrom(a, 5060), host: hostKeyOf(a)}
	}
	var l legList
	if l.allFrom(hostKeyOf(x), x) {
		t.Error("an empty list: all from x")
	}
	l.add(entry(x))
	l.add(entry(x))
	if !l.allFrom(hostKeyOf(x), x) || l.allFrom(hostKeyOf(y), y) {
		t.Errorf("two calls from x: allFrom(x) %v, allFrom(y) %v", l.allFrom(hostKeyOf(x), x), l.allFrom(hostKeyOf(y), y))
	}
	l.add(entry(y))
	if l.allFrom(hostKeyOf(x), x) || l.allFrom(hostKeyOf(y), y) {
		t.Error("calls from x and y: all from one of them")
	}
	var z legList
	z.add(entry(zoned))
	if z.allFrom(hostKeyOf(zoned), zoned) {
		t.Error("a zoned address is compared in full by linkNew, not skipped")
	}
}

// TestAddrStringMemo: the memo of recent addresses in front of addrString's
// map gives each address its own text, also for addresses that differ only
// in form (an IPv4 address and the same one mapped into IPv6, a zone) or
// port, and when more addresses take turns than it holds.
func TestAddrStringMemo(t *testing.T) {
	pool := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:5060"),
		netip.MustParseAddrPort("127.0.0.1:5061"),
		netip.MustParseAddrPort("[::ffff:127.0.0.1]:5060"),
		netip.MustParseAddrPort("[2001:db8::1]:5060"),
		netip.MustParseAddrPort("[fe80::1%eth0]:5060"),
		netip.MustParseAddrPort("[fe80::1]:5060"),
		netip.MustParseAddrPort("192.0.2.7:5060"),
		{},
	}
	a := New(Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		// Runs of a few addresses, as a call's report asks, and now and
		// then all of them.
		n := 2 + i/500%len(pool)
		ap := pool[rng.IntN(min(n, len(pool)))]
		if got, want := a.addrString(ap), apText(ap); got != want {
			t.Fatalf("lookup %d: addrString(%v) = %q, want %q", i, ap, got, want)
		}
	}
}

// TestAnswerMemos: the analyzer's memos of agents and reason phrases give
// what isServerAgent and the catalog give, with more of them taking turns
// than the memos keep.
func TestAnswerMemos(t *testing.T) {
	a := New(Options{})
	agents := []string{"Kamailio (5.7)", "Grandstream GXP1625", "", "Asterisk PBX 20", "Yealink SIP-T46S", "sipcause-bench SIPp", "FreeSWITCH", "KAMAILIO"}
	phrases := []struct {
		code   int
		phrase string
	}{{404, "Not Found"}, {403, "Forbidden"}, {486, "Busy Here"}, {503, "Service Unavailable"}, {404, "Not found"}, {403, "forbidden - no credit"}}
	for _, w := range a.cat.WirePhrases() {
		phrases = append(phrases, struct {
			code   int
			phrase string
		}{w.Code, w.Match}, struct {
			code   int
			phrase string
		}{w.Code + 1, strings.ToUpper(w.Match)})
	}
	for i := range 3000 {
		ag := agents[(i*5+i/7)%len(agents)]
		if got, want := a.isServerAgent(ag), isServerAgent(ag); got != want {
			t.Fatalf("lookup %d: isServerAgent(%q) = %v, want %v", i, ag, got, want)
		}
		p := phrases[(i*3+i/11)%len(phrases)]
		gw, gk := a.wirePhrase(p.code, p.phrase)
		ww, wk := a.cat.WirePhrase(p.code, p.phrase)
		if gk != wk || gw != ww {
			t.Fatalf("lookup %d: wirePhrase(%d, %q) = %+v %v, want %+v %v", i, p.code, p.phrase, gw, gk, ww, wk)
		}
	}
}

// TestDistinct counts distinct strings as a set would, in and past its
// array.
func TestDistinct(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var d distinct
		set := map[string]bool{}
		for range rng.IntN(20) {
			s := strconv.Itoa(rng.IntN(9))
			d.add(s)
			set[s] = true
		}
		if d.len() != len(set) {
			t.Fatalf("distinct counts %d, a set %d", d.len(), len(set))
		}
	}
}

// TestResponderName: the memo of responders' names gives each address
// and agent its own name, with more of them taking turns than it keeps.
func TestResponderName(t *testing.T) {
	a := New(Options{})
	srcs := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("192.0.2.1:5080"), netip.MustParseAddrPort("[2001:db8::2]:5060")}
	agents := []string{"", "Kamailio", "Asterisk PBX", "kamailio"}
	if a.responderName(nil) != "" {
		t.Fatal("no responder has a name")
	}
	for i := range 500 {
		r := &respInfo{src: srcs[i%len(srcs)], agent: agents[(i/3+i/7)%len(agents)]}
		want := apText(r.src)
		if r.agent != "" {
			want += " (" + r.agent + ")"
		}
		if got := a.responderName(r); got != want {
			t.Fatalf("lookup %d: %q, want %q", i, got, want)
		}
		if got, want := a.codeText(100+i), strconv.Itoa(100+i); got != want {
			t.Fatalf("codeText(%d) = %q", 100+i, got)
		}
	}
}

// TestCallList holds the quiet list of calls, linked through the calls, to
// a container/list under random appends, moves to the back and removals.
func TestCallList(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var l callList
	ref := list.New()
	elems := map[*callState]*list.Element{}
	var calls []*callState
	for i := range 5000 {
		switch op := rng.IntN(4); {
		case op == 0 || len(calls) == 0:
			c := &callState{order: i}
			calls = append(calls, c)
			l.pushBack(c)
			elems[c] = ref.PushBack(c)
		case op == 1:
			c := calls[rng.IntN(len(calls))]
			l.moveToBack(c)
			ref.MoveToBack(elems[c])
		default:
			k := rng.IntN(len(calls))
			c := calls[k]
			l.remove(c)
			ref.Remove(elems[c])
			delete(elems, c)
			calls = append(calls[:k], calls[k+1:]...)
			if c.listed || c.prev != nil || c.next != nil {
				t.Fatalf("step %d: a removed call is still linked", i)
			}
		}
		e := ref.Front()
		var last *callState
		for c := l.head; c != nil; c = c.next {
			if e == nil || e.Value.(*callState) != c || c.prev != last || !c.listed {
				t.Fatalf("step %d: the list differs from container/list", i)
			}
			last, e = c, e.Next()
		}
		if e != nil || l.tail != last {
			t.Fatalf("step %d: the list ends early or its tail is wrong", i)
		}
	}
}
