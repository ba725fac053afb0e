package analyze

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reqInfo is what the analyzer keeps of a request's first transmission.
type reqInfo struct {
	frame       int
	time        time.Time
	src, dst    netip.AddrPort
	transport   string
	vias        []Via
	ruri        string
	from, to    Party
	contact     string
	contactIP   string
	maxForwards int
	expires     int
	sdp         *SDP
	agent       string
	cseq        uint32
	// less is what few requests carry: nil when the request had none of
	// it (see more). With it, and without the correlation headers that
	// the B2BUA link index reads from the Message itself, a transaction
	// is 576 bytes instead of 640.
	less *reqMore
}

// reqMore is the part of a request that most requests do not carry.
type reqMore struct {
	pai       string
	authUser  string
	authNonce string
}

// more returns what r.less holds, or nothing.
func (r *reqInfo) more() reqMore {
	if r.less == nil {
		return reqMore{}
	}
	return *r.less
}

// respInfo is what the analyzer keeps of a response.
type respInfo struct {
	code     int
	reason   string
	frame    int
	time     time.Time
	src, dst netip.AddrPort
	toTag    string
	agent    string
	expires  int
	contact  string
	// less is what few responses carry: nil when the message had none of
	// it (see more). A call keeps four responses or more, which were 280
	// bytes each and are now 208.
	less *respMore
	// viaBroken says why the response had to be matched without its Via
	// (RFC 3261 §17.1.3 failed): "" when it matched as the RFC says.
	viaBroken string
}

// txn is one transaction as RFC 3261 §17 matches it.
type txn struct {
	key         string
	method      string
	depth       int // number of Via headers of the request: its hop position
	req         reqInfo
	sends       int // transmissions of the request, the first included
	frames      []int
	frame0      [4]int // frames' first array: a request, its retransmission or answers
	lastSend    time.Time
	provisional []respInfo
	final       *respInfo // finalBuf once the final answer came
	finalBuf    respInfo  // in place: one allocation a transaction fewer
	cancel      *reqInfo  // CANCEL for this INVITE
	oks         int       // 2xx answers to it, retransmissions included (RFC 3261 §13.3.1.4)
	acked       bool      // the ACK of a failure answer to this INVITE was seen
}

func newReq(m *Message) reqInfo {
	r := reqInfo{
		frame: m.Frame, time: m.Time, src: m.Src, dst: m.Dst, transport: m.Transport, vias: m.Vias,
		ruri: m.RequestURI, from: m.From, to: m.To, contact: m.Contact, contactIP: m.ContactIP,
		maxForwards: m.MaxForwards, expires: m.Expires, sdp: m.SDP,
		agent: m.UserAgent, cseq: m.CSeq,
	}
	if m.PAI != "" || m.AuthUser != "" || m.AuthNonce != "" {
		r.less = &reqMore{pai: m.PAI, authUser: m.AuthUser, authNonce: m.AuthNonce}
	}
	return r
}

func newResp(m *Message) respInfo {
	agent := m.Server
	if agent == "" {
		agent = m.UserAgent
	}
	r := respInfo{
		code: m.StatusCode, reason: m.Reason, frame: m.Frame, time: m.Time, src: m.Src, dst: m.Dst,
		toTag: m.To.Tag, agent: agent, expires: m.Expires, contact: m.Contact,
	}
	rcv := received(m)
	if m.RetryAfter != -1 || m.MinSE != -1 || m.MinExpires != -1 || len(m.Warnings) > 0 || len(m.Reasons) > 0 || rcv != "" {
		r.less = &respMore{retryAfter: m.RetryAfter, minSE: m.MinSE, minExpires: m.MinExpires, warnings: m.Warnings, reasons: m.Reasons, received: rcv}
	}
	return r
}

// respMore is the part of a response that most responses do not carry.
type respMore struct {
	retryAfter int // -1 when absent, as Message's
	minSE      int
	minExpires int
	warnings   []string
	reasons    []string
	received   string // received parameter of the top Via (RFC 3261 §18.2.1)
}

// more returns what r.less holds, or what a response without any of it
// says: no Retry-After, Min-SE, Min-Expires, Warning, Reason or received.
func (r *respInfo) more() respMore {
	if r.less == nil {
		return respMore{retryAfter: -1, minSE: -1, minExpires: -1}
	}
	return *r.less
}

// txnKey returns the transaction key of m: per RFC 3261 §17.2.3 the top
// Via branch, its sent-by and the method (ACK and CANCEL keep their own
// method). A branch without the magic cookie z9hG4bK comes from an RFC 2543
// element, whose transactions are matched on Call-ID, CSeq, From tag and
// the top Via instead.
func txnKey(m *Message, method string) string {
	var b [128]byte
	return string(appendTxnKey(b[:0], m, method))
}

// findTxn looks up m's transaction without making its key a string: a
// lookup per message must not allocate.
func findTxn(x *txnIndex, m *Message, method string) *txn {
	var b [128]byte
	return x.get(appendTxnKey(b[:0], m, method))
}

// txnIndex finds the transactions of a call or a registration by key. A
// call has an INVITE and a BYE, a few more with a challenge or a re-INVITE:
// a walk of up to txnFew keys costs less than a map made for every call,
// and the map is made only for the Call-ID that has more.
type txnIndex struct {
	few  [txnFew]*txn
	n    int // of few in use
	many map[string]*txn
}

const txnFew = 4

func (x *txnIndex) get(key []byte) *txn {
	if x.many != nil {
		return x.many[string(key)]
	}
	for _, t := range x.few[:x.n] {
		if t.key == string(key) {
			return t
		}
	}
	return nil
}

// put adds t under its key, in place of a transaction with the same key.
func (x *txnIndex) put(t *txn) {
	if x.many == nil {
		for i, o := range x.few[:x.n] {
			if o.key == t.key {
				x.few[i] = t
				return
			}
		}
		if x.n < txnFew {
			x.few[x.n] = t
			x.n++
			return
		}
		x.many = make(map[string]*txn, 2*txnFew)
		for _, o := range x.few[:x.n] {
			x.many[o.key] = o
		}
		x.few, x.n = [txnFew]*txn{}, 0
	}
	x.many[t.key] = t
}

// remove forgets the transaction under key.
func (x *txnIndex) remove(key string) {
	if x.many != nil {
		delete(x.many, key)
		return
	}
	for i, o := range x.few[:x.n] {
		if o.key == key {
			copy(x.few[i:], x.few[i+1:x.n])
			x.n--
			x.few[x.n] = nil
			return
		}
	}
}

func (x *txnIndex) len() int {
	if x.many != nil {
		return len(x.many)
	}
	return x.n
}

// all returns every transaction held, in no particular order.
func (x *txnIndex) all() []*txn {
	if x.many == nil {
		return slices.Clone(x.few[:x.n])
	}
	out := make([]*txn, 0, len(x.many))
	for _, t := range x.many {
		out = append(out, t)
	}
	return out
}

func appendTxnKey(b []byte, m *Message, method string) []byte {
	v, _ := m.topVia()
	if !strings.HasPrefix(v.Branch, "z9hG4bK") || len(v.Branch) <= 7 {
		b = append(b, "2543|"...)
		b = append(b, m.CallID...)
		b = append(b, '|')
		b = strconv.AppendUint(b, uint64(m.CSeq), 10)
		b = append(b, '|')
		b = append(b, m.From.Tag...)
	} else {
		b = append(b, v.Branch...)
	}
	b = append(b, '|')
	b = append(b, v.Host...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(v.Port), 10)
	b = append(b, '|')
	return append(b, method...)
}

// endpoint returns the SIP endpoint a message side stands for: for the
// sender of a request (and the receiver of a response) the top Via sent-by
// when it names the same IP address, so that a TCP connection's ephemeral
// port maps to the listening port; otherwise the packet address.
func viaEndpoint(packet netip.AddrPort, vias []Via) netip.AddrPort {
	if len(vias) == 0 {
		return unmapAP(packet)
	}
	ip, ok := vias[0].hostAddr()
	// A log that does not say where a message came from still has the Via.
	if !ok || packet.IsValid() && ip.Unmap() != packet.Addr().Unmap() {
		return unmapAP(packet)
	}
	port := vias[0].Port
	if port == 0 {
		port = 5060
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port))
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// msgEndpoints returns the SIP endpoints of sender and receiver.
func msgEndpoints(m *Message) (src, dst netip.AddrPort) {
	if m.Request {
		return viaEndpoint(m.Src, m.Vias), unmapAP(m.Dst)
	}
	return unmapAP(m.Src), viaEndpoint(m.Dst, m.Vias)
}

func received(m *Message) string {
	if v, ok := m.topVia(); ok {
		return v.Received
	}
	return ""
}

// apText writes an address for people and the report: "?" when the input
// did not say it (a log that names only the other side).
func apText(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "?"
	}
	return ap.String()
}

// Why a response was matched by Call-ID, CSeq and direction instead of
// its top Via (the values of respInfo.viaBroken).
const (
	viaMissing = "missing" // the response has no Via at all
	viaOwn     = "own"     // the hop that sent it left its own Via on top
	viaOther   = "other"   // a Via whose branch no request of the call had
)

// matchResponse finds the client transaction a response belongs to, as
// RFC 3261 §17.1.3 does: the top Via branch and the CSeq method (sent-by
// is for server transactions, §17.2.3, so it only breaks a tie between
// two hops that used the same branch). When the top Via matches nothing,
// the response is matched as the phones evidently did (they ACK it): on
// the Call-ID (the caller has already picked the call), the CSeq method
// and the direction, preferring the transaction with the same CSeq number
// that has no final answer yet. broken is "" for an RFC match, otherwise
// why the Via did not match.
func matchResponse(m *Message, byKey *txnIndex, list []*txn) (t *txn, broken string) {
	v, hasVia := m.topVia()
	if !hasVia && m.ViaCount > 0 {
		// A Via came back, but one the analyzer cannot decode (an IPv6
		// address without the brackets RFC 3261 §25.1 asks for): when the
		// request's was just as undecodable, both carry the same key on
		// Call-ID, CSeq and From tag, as an RFC 2543 element's do. The hop
		// did send the Via back, so this is no via-mismatch.
		if t = findTxn(byKey, m, m.CSeqMethod); t != nil && len(t.req.vias) == 0 && reverseOf(m, t) {
			return t, ""
		}
		t = nil
	}
	if hasVia {
		// A host does not answer its own request: a proxy that left its
		// own Via on top of a response it passes back makes the response
		// look like an answer to the request it sent on.
		if t = findTxn(byKey, m, m.CSeqMethod); t != nil && !(m.Src.IsValid() && unmapAP(m.Src) == unmapAP(t.req.src)) {
			return t, ""
		}
		t = nil
		if strings.HasPrefix(v.Branch, "z9hG4bK") && len(v.Branch) > 7 {
			var best *txn
			for _, x := range list {
				if x.method != m.CSeqMethod || len(x.req.vias) == 0 || x.req.vias[0].Branch != v.Branch ||
					m.Src.IsValid() && unmapAP(m.Src) == unmapAP(x.req.src) {
					continue
				}
				if best == nil || reverseOf(m, x) && !reverseOf(m, best) {
					best = x
				}
			}
			if best != nil {
				return best, ""
			}
		}
	}
	var best *txn
	score := -1
	for _, x := range list {
		if x.method != m.CSeqMethod || !reverseOf(m, x) {
			continue
		}
		s := 0
		if reverseExact(m, x) {
			s += 8 // the same ports: on one loopback address only they tell hops apart
		}
		if x.req.cseq == m.CSeq {
			s += 2
		}
		if x.final == nil || x.final.code == m.StatusCode {
			s += 4
		}
		if s >= score { // ties: the latest request
			best, score = x, s
		}
	}
	if best == nil {
		return nil, ""
	}
	switch {
	case !hasVia:
		broken = viaMissing
	case m.Src.IsValid() && strings.Trim(v.Host, "[]") == m.Src.Addr().Unmap().String():
		broken = viaOwn
	default:
		broken = viaOther
	}
	return best, broken
}

// reverseExact is reverseOf with the ports too (the packet addresses: a
// TCP response goes back on the connection the request came on).
func reverseExact(m *Message, x *txn) bool {
	return m.Src.IsValid() && m.Dst.IsValid() && unmapAP(m.Src) == unmapAP(x.req.dst) && unmapAP(m.Dst) == unmapAP(x.req.src)
}

// reverseOf reports whether response m travels the path of request x
// backwards: from where x went to where it came from. A log that does not
// name an address matches on the one it names.
func reverseOf(m *Message, x *txn) bool {
	same := func(a, b netip.AddrPort) bool {
		if !a.IsValid() || !b.IsValid() {
			return true
		}
		return a.Addr().Unmap() == b.Addr().Unmap()
	}
	return same(m.Src, x.req.dst) && same(m.Dst, x.req.src)
}
