package analyze

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call outcomes.
const (
	OutcomeAnswered   = "answered"
	OutcomeBusy       = "busy"
	OutcomeRejected   = "rejected"
	OutcomeCancelled  = "cancelled"
	OutcomeNoAnswer   = "no_answer"
	OutcomeTimeout    = "timeout"
	OutcomeRedirected = "redirected"
	OutcomeFailed     = "failed"
	OutcomeIncomplete = "incomplete"
)

// Outcomes lists every call outcome.
var Outcomes = []string{OutcomeAnswered, OutcomeBusy, OutcomeRejected, OutcomeCancelled, OutcomeNoAnswer,
	OutcomeTimeout, OutcomeRedirected, OutcomeFailed, OutcomeIncomplete}

// callState gathers the messages of one Call-ID that started with an
// INVITE.
type callState struct {
	callID  string
	order   int
	file    string
	byKey   txnIndex
	all     []*txn // every transaction, in order: for responses whose Via matches none
	invites []*txn // INVITEs without To tag, in order: attempts, retries after a challenge, and downstream hops
	byes    []*txn
	acks2xx []uint32 // the CSeq numbers of the ACKs of 2xx answers: all that explainCall needs of them
	// ladder is the call's messages as steps until it is explained
	// (explainCall makes them Exchanges).
	ladder []step
	first  time.Time
	last   time.Time
	// less is what few calls have (see callMore): nil until one does.
	less *callMore
	// copies are the transactions of the first copy seen of each request
	// (by branch and method), to compare copies seen at two points: a
	// slice, since a call has a few requests and a map per call cost more
	// than the call; their transactions, which hold all compareCopies
	// reads, instead of 152 bytes of their own each.
	copies []*txn

	linkedDown []*callState
	linkedUp   *callState
	emitted    bool
	resent     bool // a retransmission was seen: the path loses or delays packets
	ringNoted  bool
	// prev and next link the call into Analyzer.quiet while listed: in
	// the call itself, not in a list element allocated for it.
	prev, next *callState
	listed     bool
	indexKeys  []linkKey
	indexAddr  netip.Addr
}

// callList is a list of calls linked through their prev and next.
type callList struct{ head, tail *callState }

func (l *callList) pushBack(c *callState) {
	c.prev, c.next, c.listed = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *callList) remove(c *callState) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.listed = nil, nil, false
}

func (l *callList) moveToBack(c *callState) {
	if l.tail != c {
		l.remove(c)
		l.pushBack(c)
	}
}

// callMore is the part of a call's state that most calls never fill:
// behind a pointer, a call that waits for late retransmissions holds 352
// bytes of callState instead of 576.
type callMore struct {
	reinv     []*txn    // re-INVITEs and UPDATEs inside the dialog
	viaBroken []viaNote // responses matched without their Via: the hops that broke it
	reasons   []Decoded
	warns     []Decoded
	parseBad  []int  // frames whose Content-Length did not match the body
	alg       []Part // signs that a device rewrote SIP on the way
	algFr     []int
	extra     []string // strings of the ladder's steps the analyzer's table had no room for
}

// more returns what c.less holds, or nothing.
func (c *callState) more() callMore {
	if c.less == nil {
		return callMore{}
	}
	return *c.less
}

// note returns c.less, made when it is first needed.
func (c *callState) note() *callMore {
	if c.less == nil {
		c.less = &callMore{}
	}
	return c.less
}

func (c *callState) add(a *Analyzer, m *Message, retrans bool) {
	if c.first.IsZero() {
		c.first = m.Time
		c.file = m.File
	}
	c.last = m.Time
	c.resent = c.resent || retrans
	if c.listed {
		a.quiet.moveToBack(c)
	}
	if c.ladder == nil {
		// Room for a short call's ladder at once rather than growing to it.
		c.ladder = make([]step, 0, 8)
	}
	if len(c.ladder) < maxMessagesPerCall {
		c.ladder = append(c.ladder, a.stepOf(c, m, retrans))
	}
	// A body that does not match its Content-Length is what an ALG that
	// rewrote addresses leaves behind; not when the message's lines end in
	// a bare LF: then a log or a tool converted the line ends, and the
	// length counted CRLF.
	if m.ContentLength >= 0 && m.ContentLength != m.BodyLen && !m.FromLog && !slices.Contains(m.ParseWarnings, "bare-lf") && (c.less == nil || len(c.less.parseBad) < 16) {
		c.note().parseBad = append(c.note().parseBad, m.Frame)
	}
	if m.Request {
		c.addRequest(m, retrans)
	} else {
		c.addResponse(m, retrans)
	}
	if m.SDP != nil && !retrans {
		a.noteSDP(c, m)
	}
}

func (c *callState) addRequest(m *Message, retrans bool) {
	switch m.Method {
	case "ACK":
		// An ACK for a non-2xx final shares the INVITE's branch (RFC 3261 §17.1.1.3).
		if t := findTxn(&c.byKey, m, "INVITE"); t != nil && t.final != nil && t.final.code >= 300 {
			t.acked = true
			return
		}
		if !retrans {
			c.acks2xx = append(c.acks2xx, m.CSeq)
		}
		return
	case "CANCEL":
		if t := findTxn(&c.byKey, m, "INVITE"); t != nil && t.cancel == nil {
			r := newReq(m)
			t.cancel = &r
		}
	}
	t := findTxn(&c.byKey, m, m.Method)
	record := c.compareCopies(m, t)
	if t != nil && (unmapAP(t.req.src) != unmapAP(m.Src) || unmapAP(t.req.dst) != unmapAP(m.Dst)) {
		// The same request seen at another capture point (a mirrored
		// port on both sides of an SBC or router): not a retransmission.
		t.frames = append(t.frames, m.Frame)
		return
	}
	if t != nil {
		t.sends++
		t.frames = append(t.frames, m.Frame)
		t.lastSend = m.Time
		return
	}
	key := txnKey(m, m.Method)
	t = &txn{key: key, method: m.Method, depth: m.hops(), req: newReq(m), sends: 1, lastSend: m.Time}
	t.frames = t.frame0[:1]
	t.frame0[0] = m.Frame
	c.byKey.put(t)
	if c.all == nil {
		// The lists of a call's transactions start in one array: a call
		// has an INVITE and a BYE, so mostly nothing is allocated again.
		buf := new([7]*txn)
		c.copies, c.all, c.invites, c.byes = buf[0:0:2], buf[2:2:5], buf[5:5:6], buf[6:6:7]
	}
	if record {
		c.copies = append(c.copies, t)
	}
	if len(c.all) < maxMessagesPerCall {
		c.all = append(c.all, t)
	}
	switch m.Method {
	case "INVITE":
		if m.To.Tag == "" {
			c.invites = append(c.invites, t)
		} else {
			c.note().reinv = append(c.note().reinv, t)
		}
	case "UPDATE":
		c.note().reinv = append(c.note().reinv, t)
	case "BYE":
		c.byes = append(c.byes, t)
	}
	c.noteHeaders(m)
}

func (c *callState) addResponse(m *Message, retrans bool) {
	t, broken := matchResponse(m, &c.byKey, c.all)
	if t == nil {
		return // the request was not captured
	}
	if broken != "" && !retrans && (c.less == nil || len(c.less.viaBroken) < 8) {
		c.note().viaBroken = append(c.note().viaBroken, viaNote{why: broken, frame: m.Frame, from: m.Src, code: m.StatusCode, reason: m.Reason, method: m.CSeqMethod})
	}
	t.frames = append(t.frames, m.Frame)
	c.noteHeaders(m)
	if m.StatusCode < 200 {
		if !retrans {
			r := newResp(m)
			r.viaBroken = broken
			if t.provisional == nil {
				// An INVITE mostly gets two (100 Trying, 180 Ringing):
				// room for both at once, not a slice grown at the second.
				t.provisional = make([]respInfo, 0, 2)
			}
			t.provisional = append(t.provisional, r)
		}
		return
	}
	if m.CSeqMethod == "INVITE" && m.StatusCode < 300 {
		t.oks++
	}
	if t.final == nil {
		t.finalBuf = newResp(m)
		t.finalBuf.viaBroken = broken
		t.final = &t.finalBuf
	}
}

// viaNote is a response the analyzer matched on Call-ID, CSeq and
// direction because its Via did not match (RFC 3261 §8.2.6.2, §16.7 step
// 3 say a response carries the request's Via values, the proxy's own
// removed).
type viaNote struct {
	why            string
	frame          int
	from           netip.AddrPort
	code           int
	reason, method string
}

// compareCopies looks for the same request seen at two capture points (the
// same branch on another path, as on both sides of a NAT router): if a
// device on the way changed the addresses in its Via, Contact or SDP, it is
// rewriting SIP, which is what a router's SIP ALG does. It reports whether
// m is the first copy of its request, whose transaction (made for it next,
// as same is nil) is then kept in c.copies.
func (c *callState) compareCopies(m *Message, same *txn) bool {
	v, ok := m.topVia()
	if !ok || !strings.HasPrefix(v.Branch, "z9hG4bK") || c.less != nil && len(c.less.alg) >= 4 {
		return false
	}
	var r *txn
	for _, t := range c.copies {
		if t.req.vias[0].Branch == v.Branch && t.method == m.Method {
			r = t
			break
		}
	}
	if r == nil {
		return same == nil && len(c.copies) < maxCopies
	}
	if unmapAP(r.req.src) == unmapAP(m.Src) && unmapAP(r.req.dst) == unmapAP(m.Dst) {
		return false // a retransmission on the same path
	}
	if r.depth != m.hops() || r.req.maxForwards >= 0 && m.MaxForwards >= 0 && r.req.maxForwards != m.MaxForwards {
		// A proxy that forwarded the request with the caller's branch: it
		// added its own Via and counted Max-Forwards down (RFC 3261 §16.6
		// steps 3 and 8), which a router rewriting the same packet does
		// not. Another hop, not a copy to compare (issue 8).
		return false
	}
	note := func(what, a, b string) {
		if a != b && a != "" && b != "" {
			c.note().alg = append(c.note().alg, phrase("alg-copy", "method", m.Method, "header", what, "a", a, "fa", strconv.Itoa(r.req.frame), "b", b, "fb", strconv.Itoa(m.Frame)))
			c.note().algFr = append(c.note().algFr, r.req.frame, m.Frame)
		}
	}
	note("Via", r.req.vias[0].Host, v.Host)
	note("Contact", r.req.contact, m.Contact)
	if m.SDP != nil {
		sdpAddr := ""
		if r.req.sdp != nil {
			sdpAddr = r.req.sdp.Addr
		}
		note("SDP c=", sdpAddr, m.SDP.Addr)
	}
	return false
}

// maxCopies bounds the requests compareCopies keeps per call.
const maxCopies = 256

// noteHeaders keeps Reason and Warning header values for the explanation.
func (c *callState) noteHeaders(m *Message) {
	for _, r := range m.Reasons {
		if c.less == nil || len(c.less.reasons) < 16 {
			c.note().reasons = append(c.note().reasons, Decoded{Value: r, Frame: m.Frame, From: apText(m.Src)})
		}
	}
	for _, w := range m.Warnings {
		if c.less == nil || len(c.less.warns) < 16 {
			c.note().warns = append(c.note().warns, Decoded{Value: w, Frame: m.Frame, From: apText(m.Src)})
		}
	}
}

type labelKey struct {
	code           int
	reason, method string
	reinvite, sdp  bool
}

// labelKeyOf is what the ladder label of a message depends on.
func labelKeyOf(m *Message) labelKey {
	if m.Request {
		return labelKey{method: m.Method, reinvite: m.Method == "INVITE" && m.To.Tag != "", sdp: m.HasSDP || m.SDP != nil}
	}
	return labelKey{code: m.StatusCode, reason: m.Reason, method: m.CSeqMethod, sdp: m.HasSDP || m.SDP != nil}
}

// exchangeOf makes the ladder entry of a message. Addresses and labels
// repeat from message to message, so their strings are made once.
func (a *Analyzer) exchangeOf(m *Message, retrans bool) Exchange {
	return Exchange{Frame: m.Frame, Time: m.Time.UTC(), Src: a.addrString(m.Src), Dst: a.addrString(m.Dst), Label: a.labelOf(m), Retrans: retrans, File: m.File}
}

// step is a ladder entry as an open call holds it: 40 bytes instead of
// the 104 of an Exchange (with the slice of frames next to it), its
// strings named by their number in the analyzer's table. Thousands of
// calls a second each wait a second or more after their last message
// for late retransmissions (see cleanQuiet), and their ladders were a
// fifth of the memory they held.
type step struct {
	frame                 int
	sec                   int64 // m.Time as Unix seconds and nanoseconds: time.Unix gives it back exactly
	nsec                  int32
	src, dst, label, file sym
	retrans               bool
}

// sym names a string of the analyzer's table (symbols); with symExtra
// set, one of the call's own (callState.extra).
type sym uint32

const (
	symExtra = sym(1 << 31)
	// maxSyms and maxSymBytes bound the table: addresses, labels and
	// file names repeat, but a sender can make up as many as it likes.
	maxSyms     = 1 << 17
	maxSymBytes = 8 << 20
)

// symOf returns the number of s in the analyzer's table, adding it when
// there is room, else in the call's own strings.
func (a *Analyzer) symOf(c *callState, s string) sym {
	if n, ok := a.symNum[s]; ok {
		return n
	}
	if len(a.syms) < maxSyms && a.symBytes+len(s) <= maxSymBytes {
		n := sym(len(a.syms))
		a.syms = append(a.syms, s)
		a.symNum[s] = n
		a.symBytes += len(s)
		return n
	}
	c.note().extra = append(c.note().extra, s)
	return sym(len(c.less.extra)-1) | symExtra
}

func (a *Analyzer) symText(c *callState, n sym) string {
	if n&symExtra != 0 {
		return c.less.extra[n&^symExtra]
	}
	return a.syms[n]
}

// stepOf makes the ladder step of a message of call c.
func (a *Analyzer) stepOf(c *callState, m *Message, retrans bool) step {
	file := a.lastFileSym
	if !a.fileKnown || m.File != a.lastFile {
		file = a.symOf(c, m.File)
		if file&symExtra == 0 {
			a.lastFile, a.lastFileSym, a.fileKnown = m.File, file, true
		}
	}
	st := step{frame: m.Frame, sec: m.Time.Unix(), nsec: int32(m.Time.Nanosecond()), file: file, retrans: retrans}
	// Most messages go between the same few addresses with the same few
	// labels: their symbols are remembered for the last eight, as the
	// table's numbers never change.
	k := stepKey{src: m.Src, dst: m.Dst, label: labelKeyOf(m)}
	e := &a.stepMemo.e[k.slot()]
	if e.ok && e.k == k {
		st.src, st.dst, st.label = e.src, e.dst, e.label
		return st
	}
	var ok bool
	if st.src, ok = a.addrSyms[m.Src]; !ok {
		st.src = a.addrSym(c, m.Src)
	}
	if st.dst, ok = a.addrSyms[m.Dst]; !ok {
		st.dst = a.addrSym(c, m.Dst)
	}
	st.label = a.symOf(c, a.labelOf(m))
	if (st.src|st.dst|st.label)&symExtra == 0 {
		*e = stepMemoEntry{k: k, src: st.src, dst: st.dst, label: st.label, ok: true}
	}
	return st
}

// stepKey is what the symbols of a ladder step depend on.
type stepKey struct {
	src, dst netip.AddrPort
	label    labelKey
}

type stepMemoEntry struct {
	k               stepKey
	src, dst, label sym
	ok              bool
}

// stepMemo holds the symbols of recent steps' addresses and labels (all in
// the analyzer's table), each in the slot its key picks: a call's messages
// have a dozen labels (INVITE, 100, 180, 200, ACK, BYE, its 200, the
// failures), more than a list walked in turn could keep without missing
// most of them.
type stepMemo struct {
	e [stepMemoSlots]stepMemoEntry
}

const stepMemoSlots = 64

// slot picks k's slot from what tells a call's steps apart: the label's
// code, method and reason, and the ports.
func (k *stepKey) slot() int {
	l := &k.label
	h := uint(l.code)*131 + uint(len(l.method))*17 + uint(len(l.reason))*3 + uint(k.src.Port())*5 + uint(k.dst.Port())*11
	if len(l.method) > 0 {
		h += uint(l.method[0]) * 7
	}
	if l.reinvite {
		h += 2
	}
	if l.sdp {
		h++
	}
	h ^= h >> 6
	return int(h % stepMemoSlots)
}

func (a *Analyzer) addrSym(c *callState, ap netip.AddrPort) sym {
	n := a.symOf(c, a.addrString(ap))
	if n&symExtra == 0 && len(a.addrSyms) < 65536 {
		a.addrSyms[ap] = n
	}
	return n
}

// messages turns the call's ladder into the report's Exchanges and frames.
func (a *Analyzer) messages(c *callState) ([]Exchange, []int) {
	if c.ladder == nil {
		return nil, nil
	}
	msgs, frames := make([]Exchange, len(c.ladder)), make([]int, len(c.ladder))
	for i, s := range c.ladder {
		msgs[i] = Exchange{Frame: s.frame, Time: time.Unix(s.sec, int64(s.nsec)).UTC(), Src: a.symText(c, s.src), Dst: a.symText(c, s.dst),
			Label: a.symText(c, s.label), Retrans: s.retrans, File: a.symText(c, s.file)}
		frames[i] = s.frame
	}
	return msgs, frames
}

// labelOf returns the ladder label of a message: INVITE, 180 Ringing, ...
func (a *Analyzer) labelOf(m *Message) string {
	k := labelKeyOf(m)
	label, ok := a.labels[k]
	if !ok {
		label = m.Method
		if !m.Request {
			label = itoa(m.StatusCode) + " " + m.Reason
			if m.CSeqMethod != "INVITE" {
				label += " (" + m.CSeqMethod + ")"
			}
		} else if k.reinvite {
			label = "re-INVITE"
		}
		if k.sdp {
			label += " (SDP)"
		}
		if len(a.labels) < 4096 && len(label) <= 128 {
			a.labels[k] = label
		}
	}
	return label
}

func (a *Analyzer) addrString(ap netip.AddrPort) string {
	if s, ok := a.recentAddrs.get(ap); ok {
		return s
	}
	s, ok := a.addrs[ap]
	if !ok {
		s = apText(ap)
		if len(a.addrs) < 65536 {
			a.addrs[ap] = s
		}
	}
	a.recentAddrs.put(ap, s)
	return s
}

// lastFew keeps what was worked out for the last few keys, replaced in
// turn, looked through before a map or the work itself: the analyzer's
// memos of addresses, agents, reason phrases and responders, and the
// interner's of Via hosts, each for values that repeat call after call.
type lastFew[K comparable, V any] struct {
	keys [4]K
	vals [4]V
	n    int // entries filled
	next int
}

func (l *lastFew[K, V]) get(k K) (V, bool) {
	for i := range l.n {
		if l.keys[i] == k {
			return l.vals[i], true
		}
	}
	var zero V
	return zero, false
}

func (l *lastFew[K, V]) put(k K, v V) {
	l.keys[l.next], l.vals[l.next] = k, v
	l.next = (l.next + 1) % len(l.keys)
	if l.n < len(l.keys) {
		l.n++
	}
}

// txns returns every transaction of the call: c.all, which holds them in
// order unless the call had more than maxMessagesPerCall, else those of
// c.byKey (walking a slice is cheaper than a map, and sweep asks every
// open call).
func (c *callState) txns() []*txn {
	if len(c.all) == c.byKey.len() {
		return c.all
	}
	return c.byKey.all()
}

// primary returns the caller's INVITE attempts in this Call-ID, in order:
// every initial INVITE the first one's sender sent at the same hop
// position. They may go to other addresses (a retry at the Contact of a
// 3xx, RFC 3261 §8.1.3.4) or leave from other ports (a phone that forks
// its own call with CSeq 1, 2, 3): each is a transaction of its own, and
// together they are one call.
func (c *callState) primary() []*txn {
	if len(c.invites) == 0 {
		return nil
	}
	p := c.invites[0]
	if len(c.invites) == 1 {
		return c.invites[:1:1] // nearly every call; capped, so that no append writes into c.invites
	}
	src := viaEndpoint(p.req.src, p.req.vias).Addr()
	var out []*txn
	for _, t := range c.invites {
		if t.depth == p.depth && viaEndpoint(t.req.src, t.req.vias).Addr() == src {
			out = append(out, t)
		}
	}
	return out
}

// decisive returns the attempt that decides the call: the first one
// answered with a 2xx, else the last one (earlier ones were challenged,
// redirected, or given up).
func decisive(prim []*txn) *txn {
	for _, t := range prim {
		if t.final != nil && t.final.code < 300 {
			return t
		}
	}
	return prim[len(prim)-1]
}

// downstream returns the INVITE transactions further along the path than
// the first leg (a proxy's forwarded INVITEs: more Via headers).
func (c *callState) downstream(depth int) []*txn {
	var out []*txn
	for _, t := range c.invites {
		if t.depth > depth {
			out = append(out, t)
		}
	}
	return out
}

// isPrivate reports whether ip is not reachable from the internet: RFC 1918,
// RFC 6598 shared space, loopback, link-local and IPv6 unique-local.
func isPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return true
	}
	return cgnat.Contains(ip)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
