package sipmsg

import "iter"

// hid identifies a header field the package knows by name.
type hid uint8

const (
	hUnknown hid = iota
	hAcceptContact
	hAccept
	hAllow
	hAllowEvents
	hAuthorization
	hCallID
	hContact
	hContentDisposition
	hContentEncoding
	hContentLength
	hContentType
	hCSeq
	hDate
	hEvent
	hExpires
	hFrom
	hIdentity
	hMaxForwards
	hProxyAuthenticate
	hProxyAuthorization
	hProxyRequire
	hReason
	hRecordRoute
	hReferTo
	hReferredBy
	hRejectContact
	hRequestDisposition
	hRequire
	hRetryAfter
	hRoute
	hSessionExpires
	hSubject
	hSupported
	hTo
	hUnsupported
	hVia
	hWarning
	hWWWAuthenticate
	hidCount
)

// headerInfo describes one known header field: its canonical name, its
// compact form (RFC 3261 §7.3.3 and the IANA SIP parameters registry;
// 0 if none) and whether its grammar is a comma-separated list (RFC 3261
// §7.3.1: "field-name: field-value *(,field-value)").
type headerInfo struct {
	name    string
	compact byte
	list    bool
}

// headerTable is the one place header names are written; lookups derive
// from it and the tests walk it, so a new row is tested automatically.
var headerTable = [hidCount]headerInfo{
	hAcceptContact:      {"Accept-Contact", 'a', true},      // RFC 3841 §9.2
	hAccept:             {"Accept", 0, true},                // RFC 3261 §20.1
	hAllow:              {"Allow", 0, true},                 // RFC 3261 §20.5
	hAllowEvents:        {"Allow-Events", 'u', true},        // RFC 6665 §8.2.2
	hAuthorization:      {"Authorization", 0, false},        // RFC 3261 §20.7
	hCallID:             {"Call-ID", 'i', false},            // RFC 3261 §20.8
	hContact:            {"Contact", 'm', true},             // RFC 3261 §20.10
	hContentDisposition: {"Content-Disposition", 0, false},  // RFC 3261 §20.11
	hContentEncoding:    {"Content-Encoding", 'e', true},    // RFC 3261 §20.12
	hContentLength:      {"Content-Length", 'l', false},     // RFC 3261 §20.14
	hContentType:        {"Content-Type", 'c', false},       // RFC 3261 §20.15
	hCSeq:               {"CSeq", 0, false},                 // RFC 3261 §20.16
	hDate:               {"Date", 0, false},                 // RFC 3261 §20.17
	hEvent:              {"Event", 'o', false},              // RFC 6665 §8.2.1
	hExpires:            {"Expires", 0, false},              // RFC 3261 §20.19
	hFrom:               {"From", 'f', false},               // RFC 3261 §20.20
	hIdentity:           {"Identity", 'y', false},           // RFC 8224 §4
	hMaxForwards:        {"Max-Forwards", 0, false},         // RFC 3261 §20.22
	hProxyAuthenticate:  {"Proxy-Authenticate", 0, false},   // RFC 3261 §20.27
	hProxyAuthorization: {"Proxy-Authorization", 0, false},  // RFC 3261 §20.28
	hProxyRequire:       {"Proxy-Require", 0, true},         // RFC 3261 §20.29
	hReason:             {"Reason", 0, true},                // RFC 3326 §2
	hRecordRoute:        {"Record-Route", 0, true},          // RFC 3261 §20.30
	hReferTo:            {"Refer-To", 'r', false},           // RFC 3515 §2.1
	hReferredBy:         {"Referred-By", 'b', false},        // RFC 3892 §3
	hRejectContact:      {"Reject-Contact", 'j', true},      // RFC 3841 §9.3
	hRequestDisposition: {"Request-Disposition", 'd', true}, // RFC 3841 §9.1
	hRequire:            {"Require", 0, true},               // RFC 3261 §20.32
	hRetryAfter:         {"Retry-After", 0, false},          // RFC 3261 §20.33
	hRoute:              {"Route", 0, true},                 // RFC 3261 §20.34
	hSessionExpires:     {"Session-Expires", 'x', false},    // RFC 4028 §4
	hSubject:            {"Subject", 's', false},            // RFC 3261 §20.36
	hSupported:          {"Supported", 'k', true},           // RFC 3261 §20.37
	hTo:                 {"To", 't', false},                 // RFC 3261 §20.39
	hUnsupported:        {"Unsupported", 0, true},           // RFC 3261 §20.40
	hVia:                {"Via", 'v', true},                 // RFC 3261 §20.42
	hWarning:            {"Warning", 0, true},               // RFC 3261 §20.43
	hWWWAuthenticate:    {"WWW-Authenticate", 0, false},     // RFC 3261 §20.44
}

// compactTable maps a lower-case compact letter to its header, derived
// from headerTable.
var compactTable = func() (t [26]hid) {
	for h, info := range headerTable {
		if info.compact != 0 {
			t[info.compact-'a'] = hid(h)
		}
	}
	return t
}()

// otherListHeaders are header fields outside headerTable whose grammar is
// a comma-separated list; All splits them too.
var otherListHeaders = [...]string{
	"Accept-Encoding", "Accept-Language", "Alert-Info", "Call-Info",
	"Error-Info", "In-Reply-To", "Path", "Service-Route", "History-Info",
	"P-Asserted-Identity", "P-Preferred-Identity", "P-Associated-URI",
	"Diversion", "Security-Client", "Security-Server", "Security-Verify",
}

func lookupHeader(name []byte) hid { return lookupName(name) }

func lookupHeaderString(name string) hid { return lookupName(name) }

// lookupName finds a header's id from any spelling of its name. It is
// called for every header of every message and for every accessor call,
// so it neither hashes the whole name nor walks the table: the length and
// the first and last letters pick a slot of nameSlots, and one
// case-insensitive comparison confirms it.
func lookupName[T ~string | ~[]byte](name T) hid {
	n := len(name)
	if n == 1 {
		c := lower(name[0])
		if c >= 'a' && c <= 'z' {
			return compactTable[c-'a']
		}
		return hUnknown
	}
	if n == 0 {
		return hUnknown
	}
	for i := nameSlot(n, name[0], name[n-1]); ; i = (i + 1) & (nameSlotCount - 1) {
		h := nameSlots[i]
		if h == hUnknown {
			return hUnknown
		}
		// Nearly every sender, and every caller here, writes the
		// table's spelling: an exact comparison first.
		if string(name) == headerTable[h].name || equalFold(name, headerTable[h].name) {
			return h
		}
	}
}

// nameSlot is where lookupName starts probing for a name of length n
// with the given first and last bytes (either case).
func nameSlot(n int, first, last byte) int {
	return (n*37 + int(lower(first))*11 + int(lower(last))*3) & (nameSlotCount - 1)
}

// nameSlots is an open-addressed table of headerTable's names, derived
// from it; it has room to spare, so a probe ends at an empty slot soon.
const nameSlotCount = 256 // a power of two

var nameSlots = func() (t [nameSlotCount]hid) {
	for h := hid(1); h < hidCount; h++ {
		name := headerTable[h].name
		i := nameSlot(len(name), name[0], name[len(name)-1])
		for t[i] != hUnknown {
			i = (i + 1) & (nameSlotCount - 1)
		}
		t[i] = h
	}
	return t
}()

// CanonicalName returns the full name of a header field given any
// spelling of it, mapping compact forms (RFC 3261 §7.3.3): "i" and
// "CALL-ID" both give "Call-ID". Unknown names are returned unchanged.
func CanonicalName(name string) string {
	if h := lookupHeaderString(name); h != hUnknown {
		return headerTable[h].name
	}
	return name
}

func isListHeader[T ~string | ~[]byte](h hid, name T) bool {
	if h != hUnknown {
		return headerTable[h].list
	}
	for _, n := range otherListHeaders {
		if equalFold(name, n) {
			return true
		}
	}
	return false
}

// matches reports whether header hdr has the name being looked for.
func matches(hdr []byte, h hid, name string) bool {
	if h != hUnknown {
		return lookupHeader(hdr) == h
	}
	return len(hdr) == len(name) && equalFold(hdr, name)
}

// get is Get for a header of known id, without looking its name up: the
// accessors (CallID, CSeq, From, …) run for every message.
func (m *Message) get(h hid) []byte {
	if i := m.first[h]; i > 0 {
		return m.Headers[i-1].Value
	}
	return nil
}

// Known reports whether header field i of m.Headers has a name the
// package knows (in any spelling or compact form): a caller that scans the
// headers for other names can skip it.
func (m *Message) Known(i int) bool {
	if len(m.ids) == len(m.Headers) {
		return m.ids[i] != hUnknown
	}
	return lookupHeader(m.Headers[i].Name) != hUnknown
}

// Key is a header field name looked up once, for a caller that asks
// every message for the same headers: Get, All and Lines look the name up
// on each call.
type Key struct {
	h    hid
	name string
}

// KeyOf returns the Key of a header field name, in any spelling or its
// compact form (RFC 3261 §7.3.3).
func KeyOf(name string) Key { return Key{lookupHeaderString(name), name} }

// GetKey is Get for a Key.
func (m *Message) GetKey(k Key) []byte {
	if k.h != hUnknown {
		return m.get(k.h)
	}
	return m.Get(k.name)
}

// Get returns the value of the first header field with the given name
// (RFC 3261 §7.3.1), compared case-insensitively with compact forms
// mapped (§7.3.3): Get("Call-ID") finds "i: …". It returns nil if there
// is none. Get does not allocate.
func (m *Message) Get(name string) []byte {
	if h := lookupHeaderString(name); h != hUnknown {
		return m.get(h)
	}
	for i := range m.Headers {
		if equalFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value
		}
	}
	return nil
}

// Count returns how many header fields carry the given name, compact
// forms included (RFC 3261 §7.3.1, §7.3.3); Strict uses it to find
// single-valued headers that appear twice.
func (m *Message) Count(name string) int {
	h := lookupHeaderString(name)
	if h != hUnknown {
		return int(m.count[h])
	}
	n := 0
	for i := range m.Headers {
		if equalFold(m.Headers[i].Name, name) {
			n++
		}
	}
	return n
}

// Lines yields the whole value of each header field with the given name
// (compact forms included, RFC 3261 §7.3.3), in order, without splitting
// lists: a caller that decodes a Via or Contact line once and keeps the
// result can look it up by the line's bytes. All yields the elements.
func (m *Message) Lines(name string) iter.Seq[[]byte] {
	return m.lines(lookupHeaderString(name), name)
}

// LinesKey is Lines for a Key.
func (m *Message) LinesKey(k Key) iter.Seq[[]byte] { return m.lines(k.h, k.name) }

func (m *Message) lines(h hid, name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		start := 0
		if h != hUnknown {
			if m.first[h] == 0 {
				return
			}
			start = int(m.first[h]) - 1
			if m.count[h] == 1 {
				yield(m.Headers[start].Value)
				return
			}
		}
		ids := m.ids
		if len(ids) != len(m.Headers) {
			ids = nil
		}
		for i := start; i < len(m.Headers); i++ {
			hdr := &m.Headers[i]
			if h != hUnknown && ids != nil {
				if ids[i] != h {
					continue
				}
			} else if !matches(hdr.Name, h, name) {
				continue
			}
			if !yield(hdr.Value) {
				return
			}
		}
	}
}

// All yields every value of every header field with the given name, in
// order. For header fields whose grammar is a comma-separated list (RFC
// 3261 §7.3.1: Via, Contact, Route, Record-Route, Allow, Supported,
// Require, Warning, Reason, …) each header value is split on commas
// outside quoted strings and <…>, and empty elements are skipped. Other
// header fields (Date, WWW-Authenticate, unknown ones) yield whole values.
func (m *Message) All(name string) iter.Seq[[]byte] {
	return m.all(lookupHeaderString(name), name)
}

// AllKey is All for a Key.
func (m *Message) AllKey(k Key) iter.Seq[[]byte] { return m.all(k.h, k.name) }

func (m *Message) all(h hid, name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		// The lines all bear name (in some spelling): whether it is a list
		// is the same for each.
		list := isListHeader(h, name)
		for line := range m.lines(h, name) {
			if !list {
				if !yield(line) {
					return
				}
				continue
			}
			for v := range SplitList(line) {
				if !yield(v) {
					return
				}
			}
		}
	}
}

// SplitList yields the elements of a comma-separated header value (RFC
// 3261 §7.3.1), splitting on commas outside quoted strings and <…>,
// trimming white space and skipping empty elements.
func SplitList(v []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(v) > 0 {
			i := indexTop(v, ',')
			var elem []byte
			if i < 0 {
				elem, v = v, nil
			} else {
				elem, v = v[:i], v[i+1:]
			}
			if elem = trimLWS(elem); len(elem) > 0 {
				if !yield(elem) {
					return
				}
			}
		}
	}
}

// Param returns the value of the parameter name in a header value (RFC
// 3261 §7.3.1 generic-param: ";name=value"), comparing names
// case-insensitively. The search skips anything inside quoted strings and
// <…>, so Param(fromValue, "tag") finds the header parameter, not a URI
// parameter. White space around "=" is allowed; quotes around the value
// are removed. It returns nil when the parameter is absent or has no
// value; use HasParam to tell those apart.
func Param(value []byte, name string) []byte {
	v, _ := lookupParam(value, name)
	return v
}

// HasParam reports whether the header value carries the parameter name
// (RFC 3261 §7.3.1), with or without a value (e.g. Via "rport", RFC 3581).
func HasParam(value []byte, name string) bool {
	_, ok := lookupParam(value, name)
	return ok
}

func lookupParam(value []byte, name string) ([]byte, bool) {
	i := indexTop(value, ';')
	if i < 0 {
		return nil, false
	}
	return paramIn(value[i+1:], name)
}

// paramIn searches a ';'-separated parameter list (without the first ';').
func paramIn(params []byte, name string) ([]byte, bool) {
	for len(params) > 0 {
		j := indexTop(params, ';')
		var p []byte
		if j < 0 {
			p, params = params, nil
		} else {
			p, params = params[:j], params[j+1:]
		}
		pn, pv, hasValue := splitParam(p)
		if equalFold(pn, name) {
			if !hasValue {
				return nil, true
			}
			return unquote(pv), true
		}
	}
	return nil, false
}

// Params yields the name and value of each parameter in a ';'-separated
// list (RFC 3261 §25.1 generic-param), trimmed and with quotes removed
// from values; empty elements (";;") are skipped.
func Params(params []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for len(params) > 0 {
			j := indexTop(params, ';')
			var p []byte
			if j < 0 {
				p, params = params, nil
			} else {
				p, params = params[:j], params[j+1:]
			}
			pn, pv, _ := splitParam(p)
			if len(pn) == 0 {
				continue
			}
			if !yield(pn, unquote(pv)) {
				return
			}
		}
	}
}

func splitParam(p []byte) (name, value []byte, hasValue bool) {
	eq := indexTop(p, '=')
	if eq < 0 {
		return trimLWS(p), nil, false
	}
	return trimLWS(p[:eq]), trimLWS(p[eq+1:]), true
}
