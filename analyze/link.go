package analyze

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
)

// linkWindow is how soon after a call arrives at a B2BUA its outgoing leg
// must start to be taken as the same call.
const linkWindow = 10 * time.Second

// linkNew links a new call to the leg it continues, when the same call is
// seen at several hops under different Call-IDs: a B2BUA (Asterisk,
// FreeSWITCH, an SBC) makes a new Call-ID for its outgoing leg. Headers
// link them where present: X-CID or a similar header carrying the other
// Call-ID, Session-ID (RFC 7989) or the icid of P-Charging-Vector (RFC
// 7315). Without them, a leg that leaves the host the first leg went to,
// within a few seconds, for the same dialled number or from the same
// caller, is the same call.
func (a *Analyzer) linkNew(dn *callState, m *Message) {
	var up *callState
	for _, k := range [...]linkKey{{linkCallID, m.XCID}, {linkSessionID, m.SessionID}, {linkICID, m.ICID}} {
		if k.value == "" {
			continue
		}
		if c := a.headerIdx[k]; c != nil && c != dn {
			up = c
			break
		}
	}
	src := m.Src.Addr().Unmap()
	// Calls that came in more than linkWindow ago are not this one's
	// upstream leg: compared with a time worked out once, not by a
	// time.Sub for each of up to 64 candidates (on a busy host, most of
	// them the same caller calling again).
	oldest := stampOf(m.Time.Add(-linkWindow))
	srcKey := hostKeyOf(src)
	if l := a.legIndex[src]; up == nil && l != nil && !l.allFrom(srcKey, src) {
		cands := l.entries
		dstAP := unmapAP(m.Dst)
		dstKey := hostKeyOf(dstAP.Addr())
		for i := len(cands) - 1; i >= 0; i-- {
			e := &cands[i]
			if e.at.before(oldest) && m.Time.Sub(e.time) > linkWindow {
				break
			}
			if e.host.same(srcKey, e.srcAP.Addr(), src) || e.srcAP.Port() == dstAP.Port() && e.host.same(dstKey, e.srcAP.Addr(), dstAP.Addr()) {
				// The answer path back to the caller, or the caller's own
				// host calling again (several phones on one address, as on
				// loopback): not a B2BUA's new leg.
				continue
			}
			c := e.c
			ur := &c.invites[0].req
			if sameNumber(calledNumber(*ur), calledOf(m)) || sameNumber(ur.from.User, m.From.User) {
				up = c
				break
			}
		}
	}
	if up != nil {
		dn.linkedUp = up
		up.linkedDown = append(up.linkedDown, dn)
	}
	// Index the new call for the legs that may follow it.
	dst := m.Dst.Addr().Unmap()
	sap := unmapAP(m.Src)
	l := a.legIndex[dst]
	if l == nil {
		l = &legList{}
		a.legIndex[dst] = l
	}
	l.add(legEntry{c: dn, time: m.Time, at: stampOf(m.Time), srcAP: sap, host: hostKeyOf(sap.Addr())})
	list := l.entries
	for len(list) > 0 && list[0].at.before(oldest) && m.Time.Sub(list[0].time) > linkWindow { // keep only recent calls
		list = list[1:]
	}
	if len(list) > 64 {
		list = list[len(list)-64:]
	}
	l.entries = list
	dn.indexKeys = dn.indexKeys[:0]
	for _, k := range [...]linkKey{{linkCallID, m.CallID}, {linkSessionID, m.SessionID}, {linkICID, m.ICID}} {
		if k.value != "" && len(a.headerIdx) < maxOpenItems {
			a.headerIdx[k] = dn
			dn.indexKeys = append(dn.indexKeys, k)
		}
	}
	dn.indexAddr = dst
}

// linkKey is a key of Analyzer.headerIdx: a value that links the legs of
// one call and what it is (a Call-ID, a Session-ID or an icid), without
// making a string of the two for every call.
type linkKey struct {
	kind  uint8
	value string
}

// The kinds of linkKey.
const (
	linkCallID = iota + 1
	linkSessionID
	linkICID
)

// legEntry is a call in Analyzer.legIndex with the time and source of its
// first INVITE, which are its invites[0].req's: linkNew looks at up to 64
// of them for each new call, and most are told apart by these two alone,
// without following the pointers to the call's transactions.
type legEntry struct {
	c     *callState
	time  time.Time
	srcAP netip.AddrPort // its source, an IPv4-mapped IPv6 address unmapped
	// The time and the source host again, as plain numbers: for each new
	// call linkNew compares up to 64 entries, on a busy host mostly the
	// same caller calling again.
	at   stamp
	host hostKey
}

// legList is the recent calls that went to one address, oldest first:
// the entries linkNew looks through for a new call's upstream leg.
type legList struct {
	entries []legEntry
	// one says that every entry came from the address from (which has no
	// zone), whose key is fromKey. A new call from that same address has
	// no upstream leg among them (linkNew skips its own host's calls), so
	// a load test or a single busy caller costs no walk of up to 64
	// entries for each new call. Once false it stays so until the list
	// empties: that only costs the walk.
	one     bool
	from    netip.Addr
	fromKey hostKey
}

func (l *legList) add(e legEntry) {
	switch {
	case len(l.entries) == 0:
		l.one, l.from, l.fromKey = e.srcAP.Addr().Zone() == "", e.srcAP.Addr(), e.host
	case l.one && e.srcAP.Addr() != l.from:
		l.one = false
	}
	l.entries = append(l.entries, e)
}

// allFrom reports whether every entry came from src (whose key is k), so
// that none is a candidate upstream leg of a call from src.
func (l *legList) allFrom(k hostKey, src netip.Addr) bool {
	return l.one && len(l.entries) > 0 && l.fromKey.same(k, l.from, src)
}

// stamp is a time as plain numbers, compared without time.Time's
// decoding of its wall and monotonic parts.
type stamp struct {
	sec  int64
	nsec int32
}

func stampOf(t time.Time) stamp { return stamp{t.Unix(), int32(t.Nanosecond())} }

func (s stamp) before(o stamp) bool { return s.sec < o.sec || s.sec == o.sec && s.nsec < o.nsec }

// hostKey is an address as two numbers, for a quick comparison: two keys
// that differ are different addresses; equal keys are the same address
// unless either has a zone (an IPv6 link-local scope), which same
// compares in full.
type hostKey struct {
	hi, lo uint64
	zoned  bool
}

func hostKeyOf(a netip.Addr) hostKey {
	b := a.As16()
	return hostKey{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), zoned: a.Zone() != ""}
}

// same reports whether the address of k (which is a) is b, whose key is o.
func (k hostKey) same(o hostKey, a, b netip.Addr) bool {
	if k.hi != o.hi || k.lo != o.lo || a.Is4() != b.Is4() {
		return false
	}
	return !k.zoned && !o.zoned || a == b
}

// unindex forgets a call that has been reported.
func (a *Analyzer) unindex(c *callState) {
	c.emitted = true
	for _, k := range c.indexKeys {
		if a.headerIdx[k] == c {
			delete(a.headerIdx, k)
		}
	}
	l := a.legIndex[c.indexAddr]
	if l == nil {
		return
	}
	list := l.entries
	for i := range list { // by index: an entry is 80 bytes to copy
		if list[i].c == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(a.legIndex, c.indexAddr)
	} else {
		l.entries = list
	}
}

func calledNumber(r reqInfo) string {
	if r.to.User != "" {
		return r.to.User
	}
	return uriUser(r.ruri)
}

func calledOf(m *Message) string {
	if m.To.User != "" {
		return m.To.User
	}
	return uriUser(m.RequestURI)
}

// sameNumber compares dialled numbers loosely: the same digits at the end
// (a PBX adds or strips prefixes such as 0, 00, +31).
func sameNumber(a, b string) bool {
	da, db := digits(a), digits(b)
	if da == "" || db == "" {
		return a != "" && strings.EqualFold(a, b)
	}
	n := min(len(da), len(db), 9)
	if n < 3 {
		return da == db
	}
	return da[len(da)-n:] == db[len(db)-n:]
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
