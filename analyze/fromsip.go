package analyze

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/sipmsg"
)

// Meta is where and when a message was seen.
type Meta struct {
	File      string
	Frame     int
	Time      time.Time
	Src, Dst  netip.AddrPort
	Transport string
	FromLog   bool // read from a text log: its bytes may have been changed by the logger
}

// Interner makes one string of each value that repeats from message to
// message (Call-IDs, URIs, tags, hosts, branches), so that decoding a
// capture does not allocate them again and again. It is a cache of
// internSlots strings, each value in the slot its hash picks (a new value
// takes the slot of the one there): a lookup is a hash and a comparison,
// not a map's probe and insert, which cost a third of FromSIP at
// thousands of calls a second. Its memory is bounded in bytes: a value
// that would take it past maxInternedBytes is returned but not kept, and
// long values (which a sender can make up by the thousand) are not kept
// at all. The zero value is ready to use; it is not safe for concurrent
// use.
type Interner struct {
	slots []string
	seed  maphash.Seed
	bytes int
	// Decoded header lines, by their bytes: a call's messages repeat
	// From, To, the top Via (in the answers to a request) and Contact,
	// and decoding them again was half of FromSIP.
	parties  lineMemo[Party]
	vias     lineMemo[viaLine]
	contacts lineMemo[contactLine]
	// Session descriptions, by the body's bytes: an offer's
	// retransmissions repeat it, and a PBX or SIPp often sends the same
	// one call after call. The SDP is shared, never changed.
	sdps lineMemo[sdpBody]
	// hostIPs are the last Via hosts decoded as IP addresses, replaced
	// in turn: a sender puts the same host in the Via of every request,
	// each with a new branch, so the line is new but the host is not.
	hostIPs lastFew[string, netip.Addr]
	// fpr fingerprints messages for an analyzer (Analyzer.NewInterner):
	// nil, FromSIPInto leaves that to the analyzer.
	fpr *fingerprinter
}

// viaHostIP returns v's host as an IP address (invalid for a name), from
// in's last hosts where it is one of them.
func (in *Interner) viaHostIP(v *Via) netip.Addr {
	if in == nil {
		ip, _ := v.hostAddr()
		return ip
	}
	if ip, ok := in.hostIPs.get(v.Host); ok {
		return ip
	}
	ip, _ := v.hostAddr()
	in.hostIPs.put(v.Host, ip)
	return ip
}

// sdpBody is a decoded session description and whether it was one.
type sdpBody struct {
	sdp *SDP
	ok  bool
}

// maxMemoSDP is the longest body whose decoded SDP the interner keeps;
// offers with a few codecs are a few hundred bytes.
const maxMemoSDP = 2048

// viaLine is what FromSIP takes from the first Via header line.
type viaLine struct {
	top   []Via // the top Via decoded, or nil; shared, never changed
	count int   // elements in the line
}

// contactLine is what FromSIP takes from the first Contact header line.
type contactLine struct {
	uri, ip string
	expires int // -1 without an expires parameter
	ok      bool
}

// lineMemo keeps decoded header lines in the slot their hash picks (a new
// line takes the slot of the one there), bounded like the interner: long
// lines are not kept (see get), nor lines that would take it
// past maxInternedBytes (the interner's own budget, once more for each
// kind of line).
type lineMemo[V any] struct {
	keys  []string
	vals  []V
	bytes int
}

// lineSlots is the number of lines a lineMemo keeps: more than the calls
// a busy capture has in progress at once.
const lineSlots = 1 << 12

// get returns the value kept for line, or the slot it belongs in (-1 for
// a line longer than limit, which is not kept).
func (l *lineMemo[V]) get(seed maphash.Seed, line []byte, limit int) (v V, slot int, ok bool) {
	if len(line) > limit {
		return v, -1, false
	}
	if l.keys == nil {
		l.keys, l.vals = make([]string, lineSlots), make([]V, lineSlots)
	}
	slot = int(maphash.Bytes(seed, line) & (lineSlots - 1))
	if l.keys[slot] == string(line) && l.keys[slot] != "" {
		return l.vals[slot], slot, true
	}
	return v, slot, false
}

// put keeps v for line in slot (from get; -1 keeps nothing).
func (l *lineMemo[V]) put(slot int, line []byte, v V) {
	if slot < 0 || len(line) == 0 {
		return
	}
	// A line's decoded strings are parts of it: with them, a line holds
	// at most three times its length.
	n := l.bytes - 3*len(l.keys[slot]) + 3*len(line)
	if n > maxInternedBytes {
		return
	}
	l.keys[slot], l.vals[slot], l.bytes = string(line), v, n
}

// Interner limits: its slots, and at most this many bytes of values (the
// review's H2 had 576 MB held by 65 536 values of 20 KB).
const (
	internSlots      = 1 << 14
	maxInternedBytes = 1 << 20
	maxInternedLen   = 256
)

// Lengths beyond which a method or an identifier (Call-ID, tag, branch) is
// kept as its start and a hash of the whole: still distinct, still
// matching itself, but a sender's 20 KB method or 60 KB Call-ID no longer
// stays in memory with every open exchange. Real ones are far shorter.
const (
	maxMethodLen = 32
	maxIDLen     = 256
)

// bounded is str for a value that is kept at most n bytes long: longer,
// it becomes its first bytes, "~" and the 16 hex digits of its FNV-1a
// hash (deterministic, so the same input always gives the same report).
func (in *Interner) bounded(b []byte, n int) string {
	if len(b) <= n {
		return in.str(b)
	}
	return boundedHash(b, n)
}

// boundedUnique is bounded for a value made fresh for each transaction
// or dialog (a branch, a tag): interning it would only push out values
// that do repeat, and the memos of decoded lines already give the
// answers to a request the strings of the request's own lines.
func boundedUnique(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return boundedHash(b, n)
}

func boundedHash(b []byte, n int) string {
	h := fnv.New64a()
	h.Write(b)
	return string(b[:n-17]) + "~" + fmt.Sprintf("%016x", h.Sum64())
}

// Bytes returns the bytes of the values the interner holds, with the
// header lines it keeps decoded (counted at three times their length).
func (in *Interner) Bytes() int {
	return in.bytes + in.parties.bytes + in.vias.bytes + in.contacts.bytes + in.sdps.bytes
}

func (in *Interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInternedLen {
		return string(b)
	}
	if in.slots == nil {
		in.slots = make([]string, internSlots)
		in.seed = maphash.MakeSeed()
	}
	slot := &in.slots[maphash.Bytes(in.seed, b)&(internSlots-1)]
	if *slot == string(b) {
		return *slot
	}
	s := string(b)
	if n := in.bytes - len(*slot) + len(s); n <= maxInternedBytes {
		*slot, in.bytes = s, n
	}
	return s
}

// The headers FromSIP reads by name, looked up once.
var (
	keyFrom               = sipmsg.KeyOf("From")
	keyTo                 = sipmsg.KeyOf("To")
	keyVia                = sipmsg.KeyOf("Via")
	keyContact            = sipmsg.KeyOf("Contact")
	keyRetryAfter         = sipmsg.KeyOf("Retry-After")
	keyWarning            = sipmsg.KeyOf("Warning")
	keyReason             = sipmsg.KeyOf("Reason")
	keyAuthorization      = sipmsg.KeyOf("Authorization")
	keyProxyAuthorization = sipmsg.KeyOf("Proxy-Authorization")
)

// FromSIP copies what the analyzer needs out of a parsed message. The
// result owns its strings, so the parser's buffer may be reused.
func FromSIP(meta Meta, m *sipmsg.Message) Message { return FromSIPInterned(meta, m, nil) }

// FromSIPInterned is FromSIP with repeated strings taken from in.
func FromSIPInterned(meta Meta, m *sipmsg.Message, in *Interner) Message {
	var out Message
	FromSIPInto(&out, meta, m, in)
	return out
}

// FromSIPInto is FromSIPInterned writing into *out (all of it), for a
// caller that keeps messages in a slice: a Message is 700 bytes, and one
// built and then appended is copied.
func FromSIPInto(out *Message, meta Meta, m *sipmsg.Message, in *Interner) {
	*out = Message{
		File: meta.File, Frame: meta.Frame, Time: meta.Time, Src: meta.Src, Dst: meta.Dst, Transport: meta.Transport, FromLog: meta.FromLog,
		Request: m.Request, StatusCode: m.StatusCode,
		MaxForwards: -1, Expires: -1, RetryAfter: -1, MinExpires: -1, MinSE: -1, ContentLength: -1,
		BodyLen: len(m.Body),
	}
	o := scanOthers(m)
	if m.Request {
		out.Method = in.bounded(m.Method, maxMethodLen)
		out.RequestURI = in.str(m.RequestURI)
	} else {
		out.Reason = in.str(m.Reason)
	}
	out.CallID = in.bounded(m.CallID(), maxIDLen)
	if n, method, ok := m.CSeq(); ok {
		out.CSeq, out.CSeqMethod = n, in.bounded(method, maxMethodLen)
	}
	out.From = in.party(m.GetKey(keyFrom))
	out.To = in.party(m.GetKey(keyTo))
	if v := o.pai; v != nil {
		if na, err := sipmsg.ParseNameAddr(v); err == nil {
			out.PAI = string(na.URI)
		}
	}
	// Only the top Via is decoded (transaction matching and NAT checks use
	// it); the others are counted, for the hop position.
	firstVia := true
	for line := range m.LinesKey(keyVia) {
		if !firstVia {
			for range sipmsg.SplitList(line) {
				out.ViaCount++
			}
			continue
		}
		firstVia = false
		vl := in.viaLine(line)
		out.Vias, out.ViaCount = vl.top, vl.count
	}
	for line := range m.LinesKey(keyContact) {
		c := in.contactLine(line)
		if !c.ok {
			continue // a line of empty elements: the next one has the first Contact
		}
		out.Contact, out.ContactIP = c.uri, c.ip
		if c.expires >= 0 {
			out.Expires = c.expires
		}
		break
	}
	if n, ok := m.MaxForwards(); ok {
		out.MaxForwards = n
	}
	if n, ok := m.Expires(); ok {
		out.Expires = n
	}
	out.RetryAfter = leadingInt(m.GetKey(keyRetryAfter))
	out.MinExpires = leadingInt(o.minExpires)
	out.MinSE = leadingInt(o.minSE)
	// m.All is ranged over directly (not through a helper returning one
	// of two iterators), so that out stays on the stack.
	if m.GetKey(keyWarning) != nil {
		for v := range m.AllKey(keyWarning) {
			if len(out.Warnings) < 8 {
				out.Warnings = append(out.Warnings, string(v))
			}
		}
	}
	if m.GetKey(keyReason) != nil {
		for v := range m.AllKey(keyReason) {
			if len(out.Reasons) < 8 {
				out.Reasons = append(out.Reasons, string(v))
			}
		}
	}
	// Some servers carry the Q.850 cause in a header of their own; read it
	// as the Reason header (RFC 3326) it stands for.
	if len(out.Reasons) == 0 {
		ch := causeHeaders()
		for i, h := range ch.hdrs {
			var v []byte
			if i < maxCauseScan && ch.scanned[i] {
				v = o.cause[i]
			} else {
				v = m.Get(h.CodeHeader)
			}
			n := leadingInt(v)
			if v == nil || n <= 0 || n > 127 {
				continue
			}
			r := "Q.850;cause=" + strconv.Itoa(n)
			if t := m.Get(h.TextHeader); h.TextHeader != "" && len(t) > 0 && len(t) <= 64 && !strings.ContainsAny(string(t), "\"\\\r\n") {
				r += ";text=\"" + string(t) + "\""
			}
			out.Reasons = append(out.Reasons, r)
			break
		}
	}
	out.UserAgent = in.str(o.userAgent)
	out.Server = in.str(o.server)
	for _, h := range [...]sipmsg.Key{keyAuthorization, keyProxyAuthorization} {
		if v := m.GetKey(h); v != nil {
			c := sipmsg.ParseCredentials(v)
			out.AuthNonce = string(c.Nonce())
			out.AuthUser = string(c.Param("username"))
			break
		}
	}

	if v := o.sessionID; v != nil {
		s := string(v)
		if i := strings.IndexByte(s, ';'); i >= 0 {
			s = s[:i]
		}
		out.SessionID = strings.ToLower(strings.TrimSpace(s))
	}
	for _, v := range o.xcid {
		if v != nil {
			out.XCID = strings.TrimSpace(string(v))
			break
		}
	}
	if v := o.pcv; v != nil {
		out.ICID = strings.Trim(string(sipmsg.Param(append([]byte(";"), v...), "icid-value")), `"`)
	}
	if n, ok := m.ContentLength(); ok {
		out.ContentLength = n
	}
	// Offers in requests give codecs, NAT and T.38; answers in responses
	// tell the media analysis where each side expects RTP.
	if body, ok := m.SDPBody(); ok {
		out.HasSDP = true
		out.SDP = in.sdp(body)
	}
	for _, w := range m.Warnings {
		if len(out.ParseWarnings) < 8 {
			out.ParseWarnings = append(out.ParseWarnings, w.Code)
		}
	}
	if in != nil && in.fpr != nil {
		out.pre = precomputed{ok: true, seed: in.fpr.seed}
		out.pre.src, out.pre.dst = msgEndpoints(out)
		out.pre.fp = in.fpr.message(out)
	}
}

// party decodes a From or To value, or takes it from in's memo.
func (in *Interner) party(raw []byte) Party {
	if in == nil {
		return decodeParty(nil, raw)
	}
	return memoized(in, &in.parties, raw, maxInternedLen, decodeParty)
}

// viaLine decodes the first Via header line, or takes it from in's memo.
func (in *Interner) viaLine(line []byte) viaLine {
	if in == nil {
		return decodeViaLine(nil, line)
	}
	return memoized(in, &in.vias, line, maxInternedLen, decodeViaLine)
}

// contactLine decodes the first Contact of a Contact header line, or
// takes it from in's memo.
func (in *Interner) contactLine(line []byte) contactLine {
	if in == nil {
		return decodeContactLine(nil, line)
	}
	return memoized(in, &in.contacts, line, maxInternedLen, decodeContactLine)
}

// sdp decodes a session description, or takes it from in's memo.
func (in *Interner) sdp(body []byte) *SDP {
	if in == nil {
		return decodeSDPBody(nil, body).sdp
	}
	return memoized(in, &in.sdps, body, maxMemoSDP, decodeSDPBody).sdp
}

// memoized returns what decode makes of line: kept in memo, for lines of
// up to limit bytes, so that a line seen again is not decoded again.
func memoized[V any](in *Interner, memo *lineMemo[V], line []byte, limit int, decode func(*Interner, []byte) V) V {
	v, slot, ok := memo.get(in.seeded(), line, limit)
	if !ok {
		v = decode(in, line)
		memo.put(slot, line, v)
	}
	return v
}

func decodeParty(in *Interner, raw []byte) Party {
	n, _ := sipmsg.ParseNameAddr(raw)
	return party(n, in)
}

// decodeViaLine decodes a Via header line's first element in full and
// counts the rest.
func decodeViaLine(in *Interner, line []byte) viaLine {
	var vl viaLine
	for raw := range sipmsg.SplitList(line) {
		vl.count++
		if vl.count > 1 {
			continue
		}
		if v, err := sipmsg.ParseVia(raw); err == nil {
			vl.top = []Via{{
				Transport: in.str(v.Transport), Host: in.str(v.Host), Port: v.Port, Branch: boundedUnique(v.Branch, maxIDLen),
				Received: in.str(v.Received), RPort: in.str(v.RPort), HasRPort: v.RPortSet,
			}}
			vl.top[0].hostIP = in.viaHostIP(&vl.top[0])
			vl.top[0].hostIPKnown = true
		}
	}
	return vl
}

// decodeContactLine decodes the first Contact of a Contact header line.
func decodeContactLine(in *Interner, line []byte) contactLine {
	c := contactLine{expires: -1}
	for raw := range sipmsg.SplitList(line) {
		na, _ := sipmsg.ParseNameAddr(raw) // as Message.Contacts: the first, decoded as far as it goes
		c.ok = true
		c.uri = in.str(na.URI)
		if u, err := sipmsg.ParseURI(na.URI); err == nil {
			h := strings.Trim(in.str(u.Host), "[]")
			if _, err := netip.ParseAddr(h); err == nil {
				c.ip = h
			}
		}
		if e := na.Param("expires"); e != nil {
			if n, err := strconv.Atoi(string(e)); err == nil {
				c.expires = n
			}
		}
		break
	}
	return c
}

func decodeSDPBody(in *Interner, body []byte) sdpBody {
	var d sdpBody
	d.sdp, d.ok = sdpOfBody(body, in)
	return d
}

// seeded returns in's hash seed, made when first needed.
func (in *Interner) seeded() maphash.Seed {
	if in.slots == nil {
		in.slots = make([]string, internSlots)
		in.seed = maphash.MakeSeed()
	}
	return in.seed
}

func party(n sipmsg.NameAddr, in *Interner) Party {
	p := Party{Display: in.str(n.DisplayName), URI: in.str(n.URI), Tag: boundedUnique(n.Tag, maxIDLen)}
	if u, err := sipmsg.ParseURI(n.URI); err == nil {
		p.User = in.str(u.User)
		p.Host = in.str(u.Host)
	}
	return p
}

// staticPayload names the RTP payload types RFC 3551 §6 assigns statically.
var staticPayload = map[int]string{0: "PCMU", 3: "GSM", 4: "G723", 8: "PCMA", 9: "G722", 18: "G729", 13: "CN", 34: "H263"}

func leadingInt(v []byte) int {
	s := strings.TrimSpace(string(v))
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return -1
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return -1
	}
	return n
}

// causeHeaders are the catalog's Q.850 cause headers, read once: FromSIP
// runs for every message. scanned says which code headers scanOthers
// finds in its one pass over the headers: the names package sipmsg does
// not index, for which m.Get would walk its table of known names and then
// the message's headers, for each cause header of each message.
var causeHeaders = sync.OnceValue(func() (c struct {
	hdrs    []catalog.CauseHeader
	scanned []bool
}) {
	c.hdrs = catalog.Default().CauseHeaders()
	for _, h := range c.hdrs {
		low := strings.ToLower(h.CodeHeader)
		c.scanned = append(c.scanned, h.CodeHeader != "" && sipmsg.CanonicalName(low) == low)
	}
	return c
})

// maxCauseScan bounds the cause headers scanOthers looks for.
const maxCauseScan = 4

// otherHeaders are the values of the header fields FromSIP reads that
// package sipmsg does not index (the first of each), found in one pass
// over the headers instead of one walk per name.
type otherHeaders struct {
	pai, minExpires, minSE, userAgent, server, sessionID, pcv []byte
	xcid                                                      [3][]byte            // X-CID, X-Orig-Call-ID, X-Original-Call-ID, in that order of preference
	cause                                                     [maxCauseScan][]byte // code headers of causeHeaders, where scanned
}

func scanOthers(m *sipmsg.Message) otherHeaders {
	var o otherHeaders
	first := func(dst *[]byte, v []byte) {
		if *dst == nil {
			*dst = v
		}
	}
	ch := causeHeaders()
	for i := range m.Headers {
		if m.Known(i) {
			continue // every name looked for here is one sipmsg does not index
		}
		n, v := m.Headers[i].Name, m.Headers[i].Value
		for j, h := range ch.hdrs[:min(len(ch.hdrs), maxCauseScan)] {
			if ch.scanned[j] && len(n) == len(h.CodeHeader) && bytes.EqualFold(n, []byte(h.CodeHeader)) {
				first(&o.cause[j], v)
			}
		}
		switch len(n) {
		case 5:
			if bytes.EqualFold(n, []byte("X-CID")) {
				first(&o.xcid[0], v)
			}
		case 6:
			if bytes.EqualFold(n, []byte("Server")) {
				first(&o.server, v)
			} else if bytes.EqualFold(n, []byte("Min-SE")) {
				first(&o.minSE, v)
			}
		case 10:
			if bytes.EqualFold(n, []byte("User-Agent")) || bytes.EqualFold(n, []byte("Session-ID")) {
				if lower(n[0]) == 'u' {
					first(&o.userAgent, v)
				} else {
					first(&o.sessionID, v)
				}
			}
		case 11:
			if bytes.EqualFold(n, []byte("Min-Expires")) {
				first(&o.minExpires, v)
			}
		case 14:
			if bytes.EqualFold(n, []byte("X-Orig-Call-ID")) {
				first(&o.xcid[1], v)
			}
		case 17:
			if bytes.EqualFold(n, []byte("P-Charging-Vector")) {
				first(&o.pcv, v)
			}
		case 18:
			if bytes.EqualFold(n, []byte("X-Original-Call-ID")) {
				first(&o.xcid[2], v)
			}
		case 19:
			if bytes.EqualFold(n, []byte("P-Asserted-Identity")) {
				first(&o.pai, v)
			}
		}
	}
	return o
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
