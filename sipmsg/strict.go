package sipmsg

import (
	"bytes"
	"time"
)

// Severity grades a Problem found by Strict: a violation of RFC 3261
// (§7, §20, §25) or a notice about a well-formed message.
type Severity uint8

const (
	// SeverityError marks a violation of the RFC 3261 grammar or of a
	// MUST; a strict element answers 400 Bad Request (or drops it).
	SeverityError Severity = iota + 1
	// SeverityNotice marks a well-formed message that a typical element
	// refuses or that hints at a failure: an unsupported URI scheme (416),
	// an unknown Require option (420), an unknown body type (415), an
	// exhausted Max-Forwards (483), an RFC 2543 branch.
	SeverityNotice
)

// String returns "error" or "notice", the words reports use for RFC 3261
// violations and notices.
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityNotice:
		return "notice"
	}
	return ""
}

// Problem is one finding of Strict against RFC 3261: a stable Code (a Code… constant),
// its Severity, the header field it concerns (canonical name, "" for the
// start line or the message as a whole) and a short English Msg.
type Problem struct {
	Code     string
	Severity Severity
	Header   string
	Msg      string
}

// Codes that only Strict reports (RFC 3261 and the RFC 4475 torture tests
// that exercise them). Codes of parse warnings are reported too.
const (
	CodeMissingMaxForwards = "missing-max-forwards" // §8.1.1.6
	CodeDuplicateHeader    = "duplicate-header"     // §7.3.1: single-valued header repeated
	CodeBadCSeq            = "bad-cseq"             // §20.16: not "32-bit-number method"
	CodeCSeqMismatch       = "cseq-method-mismatch" // §8.1.1.5
	CodeBadMaxForwards     = "bad-max-forwards"     // §20.22: 0..255
	CodeBadExpires         = "bad-expires"          // §20.19, §20.10: 32-bit delta-seconds
	CodeBadRetryAfter      = "bad-retry-after"      // §20.33
	CodeBadWarning         = "bad-warning"          // §20.43: warn-code is 3 digits
	CodeBadNameAddr        = "bad-name-addr"        // §25.1 name-addr / addr-spec
	CodeBadDisplayName     = "bad-display-name"     // §25.1: unquoted display name with non-token characters
	CodeBadAddrSpec        = "bad-addr-spec"        // §25.1: white space inside <>
	CodeNeedsBrackets      = "needs-angle-brackets" // §20.10: URI with "?" or "," outside <>
	CodeBadVia             = "bad-via"              // §20.42
	CodeEmptyParam         = "empty-param"          // §25.1: ";;" without a parameter
	CodeRequestURIHeaders  = "request-uri-headers"  // §19.1.5: headers not allowed in a Request-URI
	CodeBadDate            = "bad-date"             // §20.17: RFC 1123 date in GMT
	CodeEmptyBranch        = "empty-branch"         // §8.1.1.7: "z9hG4bK" with no id after it
	CodeMissingContentType = "missing-content-type" // §20.15: body without Content-Type

	CodeNoMagicCookie      = "no-magic-cookie"        // §8.1.1.7: RFC 2543 peer (notice)
	CodeUnsupportedScheme  = "unsupported-uri-scheme" // §8.2.2.1: 416 (notice)
	CodeUnknownOptionTag   = "unknown-option-tag"     // §8.2.2.3: 420 (notice)
	CodeUnknownContentType = "unknown-content-type"   // §8.2.3: 415 (notice)
	CodeUnknownAuthScheme  = "unknown-auth-scheme"    // §22: not Digest (notice)
	CodeBroadcastVia       = "broadcast-via"          // §18.2.2: response routed to a broadcast address (notice)
	CodeMaxForwardsZero    = "max-forwards-zero"      // §16.3: a proxy answers 483 (notice)
	CodeSDPNotAccepted     = "sdp-not-accepted"       // §13.2.1: offer in a type the peer does not Accept (notice)
)

// maxProblems bounds what Strict reports, so a header of 100 000 empty
// list elements costs a loop, not 100 000 allocations.
const maxProblems = 64

// singleValued are header fields that may appear at most once (RFC 3261
// §7.3.1 allows repetition only for comma-separated lists).
var singleValued = [...]hid{hCallID, hCSeq, hFrom, hTo, hMaxForwards, hContentType, hExpires, hDate}

// Strict checks the message against RFC 3261 beyond what Parse needs,
// and returns every Problem found, parse warnings first (as errors).
// It catches every invalid message of RFC 4475 §3.1.2 and the semantic
// traps of §3.2 and §3.3. Strict allocates; call it when you need the
// verdict, not on every packet.
func (m *Message) Strict() []Problem {
	var ps []Problem
	add := func(code string, sev Severity, header, msg string) {
		if len(ps) < maxProblems {
			ps = append(ps, Problem{Code: code, Severity: sev, Header: header, Msg: msg})
		}
	}
	for _, w := range m.Warnings {
		add(w.Code, SeverityError, "", w.Msg)
	}
	if m.Request {
		m.strictRequestLine(add)
		if m.count[hMaxForwards] == 0 {
			add(CodeMissingMaxForwards, SeverityError, "Max-Forwards", "request without Max-Forwards")
		}
	}
	for _, h := range singleValued {
		if m.count[h] > 1 {
			add(CodeDuplicateHeader, SeverityError, headerTable[h].name, "header field may appear only once")
		}
	}
	m.strictScalars(add)
	for _, h := range [...]hid{hFrom, hTo} {
		if v := m.Get(headerTable[h].name); v != nil {
			strictNameAddr(v, headerTable[h].name, add)
		}
	}
	for _, h := range [...]hid{hContact, hRoute, hRecordRoute} {
		name := headerTable[h].name
		for i := range m.Headers {
			if lookupHeader(m.Headers[i].Name) != h {
				continue
			}
			v := m.Headers[i].Value
			if h == hContact && bytes.Equal(v, []byte("*")) {
				continue
			}
			for elem := range splitKeepEmpty(v) {
				if len(elem) == 0 {
					add(CodeBadNameAddr, SeverityError, name, "empty element in list")
					continue
				}
				strictNameAddr(elem, name, add)
				if h == hContact {
					if n, _ := ParseNameAddr(elem); n.Params != nil {
						if e, ok := paramIn(n.Params, "expires"); ok {
							if _, ok := parseUint32(e); !ok {
								add(CodeBadExpires, SeverityError, name, "Contact expires is not a 32-bit number")
							}
						}
					}
				}
			}
		}
	}
	m.strictVias(add)
	if d := m.Get("Date"); d != nil {
		if _, err := time.Parse(time.RFC1123, string(d)); err != nil || !bytes.HasSuffix(d, []byte(" GMT")) {
			add(CodeBadDate, SeverityError, "Date", "Date is not an RFC 1123 date in GMT")
		}
	}
	m.strictBody(add)
	m.strictNotices(add)
	return ps
}

type addFunc func(code string, sev Severity, header, msg string)

func (m *Message) strictRequestLine(add addFunc) {
	u, err := ParseURI(m.RequestURI)
	if err != nil {
		if !m.HasWarning(CodeBadRequestURI) {
			add(CodeBadRequestURI, SeverityError, "", "Request-URI: "+err.(*ParseError).Msg)
		}
		return
	}
	if u.IsSIP() && len(u.Headers) > 0 {
		add(CodeRequestURIHeaders, SeverityError, "", "SIP Request-URI carries headers")
	}
	if !supportedScheme(u.Scheme) {
		add(CodeUnsupportedScheme, SeverityNotice, "", "Request-URI scheme "+string(u.Scheme)+" is not sip, sips, tel or urn")
	}
	if _, method, ok := m.CSeq(); ok && !bytes.Equal(method, m.Method) {
		add(CodeCSeqMismatch, SeverityError, "CSeq", "CSeq method differs from the request method")
	}
}

func (m *Message) strictScalars(add addFunc) {
	if m.count[hCSeq] > 0 {
		if _, _, ok := m.CSeq(); !ok {
			add(CodeBadCSeq, SeverityError, "CSeq", "CSeq is not a 32-bit number and a method")
		}
	}
	if m.count[hMaxForwards] > 0 {
		n, ok := m.MaxForwards()
		if !ok || n > 255 {
			add(CodeBadMaxForwards, SeverityError, "Max-Forwards", "Max-Forwards is not 0..255")
		}
	}
	if m.count[hExpires] > 0 {
		if _, ok := m.Expires(); !ok {
			add(CodeBadExpires, SeverityError, "Expires", "Expires is not a 32-bit number")
		}
	}
	if v := m.Get("Retry-After"); v != nil {
		n := 0
		for n < len(v) && isDigit(v[n]) {
			n++
		}
		if _, ok := parseUint32(v[:n]); !ok {
			add(CodeBadRetryAfter, SeverityError, "Retry-After", "Retry-After is not a 32-bit number")
		}
	}
	for w := range m.All("Warning") {
		if len(w) < 4 || !isDigit(w[0]) || !isDigit(w[1]) || !isDigit(w[2]) || w[3] != ' ' {
			add(CodeBadWarning, SeverityError, "Warning", "warn-code is not three digits")
		}
	}
}

// strictNameAddr checks one name-addr / addr-spec value (RFC 3261 §25.1).
func strictNameAddr(v []byte, header string, add addFunc) {
	n, err := ParseNameAddr(v)
	if err != nil {
		add(CodeBadNameAddr, SeverityError, header, err.(*ParseError).Msg)
		return
	}
	if !n.Quoted && len(n.DisplayName) > 0 {
		for _, c := range n.DisplayName {
			if !isTokenChar(c) && !isLWS(c) {
				add(CodeBadDisplayName, SeverityError, header, "unquoted display name with non-token characters")
				break
			}
		}
	}
	if n.Bracketed {
		t := trimLWS(v)
		start := 0
		if n.Quoted {
			if j, ok := skipQuoted(t, 0); ok {
				start = j
			}
		}
		if lt := bytes.IndexByte(t[start:], '<'); lt >= 0 {
			lt += start
			if gt := bytes.IndexByte(t[lt:], '>'); gt > 1 {
				gt += lt
				if isLWS(t[lt+1]) || isLWS(t[gt-1]) {
					add(CodeBadAddrSpec, SeverityError, header, "white space inside <>")
				}
			}
		}
	} else if bytes.IndexAny(n.URI, "?,") >= 0 {
		add(CodeNeedsBrackets, SeverityError, header, "URI with ? or , must be enclosed in <>")
	}
	if hasEmptyParam(n.Params) {
		add(CodeEmptyParam, SeverityError, header, "empty parameter (;;)")
	}
	if u, err := ParseURI(n.URI); err == nil && !supportedScheme(u.Scheme) {
		add(CodeUnsupportedScheme, SeverityNotice, header, "URI scheme "+string(u.Scheme)+" is not sip, sips, tel or urn")
	} else if err != nil && len(n.URI) > 0 && !bytes.Equal(n.URI, []byte("*")) {
		add(CodeBadNameAddr, SeverityError, header, "URI: "+err.(*ParseError).Msg)
	}
}

func (m *Message) strictVias(add addFunc) {
	first := true
	for i := range m.Headers {
		if lookupHeader(m.Headers[i].Name) != hVia {
			continue
		}
		for elem := range splitKeepEmpty(m.Headers[i].Value) {
			if len(elem) == 0 {
				add(CodeBadVia, SeverityError, "Via", "empty Via value between commas")
				continue
			}
			v, err := ParseVia(elem)
			if err != nil {
				add(CodeBadVia, SeverityError, "Via", err.(*ParseError).Msg)
				continue
			}
			if !equalFold(v.Protocol, "SIP") || !bytes.Equal(v.Version, []byte("2.0")) {
				add(CodeBadVia, SeverityError, "Via", "Via sent-protocol is not SIP/2.0")
			}
			if hasEmptyParam(v.Params) {
				add(CodeEmptyParam, SeverityError, "Via", "empty Via parameter (;;)")
			}
			switch {
			case bytes.Equal(v.Branch, []byte("z9hG4bK")):
				add(CodeEmptyBranch, SeverityError, "Via", "branch is the magic cookie alone")
			case !v.MagicCookie() && first:
				add(CodeNoMagicCookie, SeverityNotice, "Via", "top Via branch lacks z9hG4bK (RFC 2543 peer)")
			}
			if !m.Request && !first && bytes.Equal(v.Host, []byte("255.255.255.255")) {
				add(CodeBroadcastVia, SeverityNotice, "Via", "response would be forwarded to a broadcast address")
			}
			first = false
		}
	}
}

func (m *Message) strictBody(add addFunc) {
	ct := m.Get("Content-Type")
	if len(m.Body) > 0 && ct == nil {
		add(CodeMissingContentType, SeverityError, "Content-Type", "body without Content-Type")
	}
	if ct == nil {
		return
	}
	mt := MediaType(ct)
	if !knownContentType(mt) {
		add(CodeUnknownContentType, SeverityNotice, "Content-Type", "body type "+string(mt)+" is not one SIP elements commonly understand")
	}
	if m.Request && equalFold(mt, "application/sdp") && m.count[hAccept] > 0 {
		accepted := false
		for a := range m.All("Accept") {
			t := MediaType(a)
			if equalFold(t, "application/sdp") || equalFold(t, "*/*") || equalFold(t, "application/*") {
				accepted = true
			}
		}
		if !accepted {
			add(CodeSDPNotAccepted, SeverityNotice, "Accept", "SDP offer but Accept does not list application/sdp")
		}
	}
}

func (m *Message) strictNotices(add addFunc) {
	for _, name := range [...]string{"Require", "Proxy-Require"} {
		for tag := range m.All(name) {
			if !knownOptionTag(tag) {
				add(CodeUnknownOptionTag, SeverityNotice, name, "option tag "+string(tag)+" is not registered")
			}
		}
	}
	for _, name := range [...]string{"Authorization", "Proxy-Authorization", "WWW-Authenticate", "Proxy-Authenticate"} {
		for v := range m.All(name) {
			if c := ParseCredentials(v); !c.IsDigest() {
				add(CodeUnknownAuthScheme, SeverityNotice, name, "auth scheme "+string(c.Scheme)+" is not Digest")
			}
		}
	}
	if m.Request {
		if n, ok := m.MaxForwards(); ok && n == 0 {
			add(CodeMaxForwardsZero, SeverityNotice, "Max-Forwards", "Max-Forwards is 0: a proxy answers 483")
		}
	}
}

// splitKeepEmpty splits a list value on top-level commas, yielding empty
// elements too, so Strict can see ",,".
func splitKeepEmpty(v []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for {
			i := indexTop(v, ',')
			if i < 0 {
				yield(trimLWS(v))
				return
			}
			if !yield(trimLWS(v[:i])) {
				return
			}
			v = v[i+1:]
		}
	}
}

func hasEmptyParam(params []byte) bool {
	if params == nil {
		return false
	}
	for {
		j := indexTop(params, ';')
		p := params
		if j >= 0 {
			p = params[:j]
		}
		if len(trimLWS(p)) == 0 {
			return true
		}
		if j < 0 {
			return false
		}
		params = params[j+1:]
	}
}

func supportedScheme(s []byte) bool {
	return equalFold(s, "sip") || equalFold(s, "sips") || equalFold(s, "tel") || equalFold(s, "urn")
}

// knownOptionTags are the IANA-registered SIP option tags (RFC 3261
// §27.1 registry) that elements commonly implement.
var knownOptionTags = [...]string{
	"100rel", "199", "answermode", "early-session", "eventlist", "explicitsub",
	"from-change", "geolocation-http", "geolocation-sip", "gin", "gruu",
	"histinfo", "ice", "join", "multiple-refer", "norefersub", "nosub",
	"outbound", "path", "policy", "precondition", "pref", "privacy",
	"recipient-list-invite", "recipient-list-message", "recipient-list-subscribe",
	"record-aware", "replaces", "resource-priority", "sdp-anat", "sec-agree",
	"siprec", "tdialog", "timer", "trickle-ice", "uui",
}

func knownOptionTag(t []byte) bool {
	for _, k := range knownOptionTags {
		if equalFold(t, k) {
			return true
		}
	}
	return false
}

// knownContentTypes are body types SIP elements commonly understand.
var knownContentTypes = [...]string{
	"application/sdp", "application/isup", "application/qsig",
	"application/dtmf-relay", "application/dtmf", "application/pidf+xml",
	"application/xpidf+xml", "application/dialog-info+xml", "application/reginfo+xml",
	"application/simple-message-summary", "application/resource-lists+xml",
	"application/rlmi+xml", "application/pkcs7-mime", "application/pkcs7-signature",
	"application/octet-stream", "application/xml", "application/json",
	"application/media_control+xml", "application/vnd.etsi.aoc+xml",
	"application/emergencycallData.ecall.MSD", "application/csta+xml",
	"message/sipfrag", "message/sip", "message/cpim", "text/plain", "text/html",
	"multipart/mixed", "multipart/alternative", "multipart/related", "multipart/signed",
}

func knownContentType(t []byte) bool {
	for _, k := range knownContentTypes {
		if equalFold(t, k) {
			return true
		}
	}
	return bytes.HasPrefix(t, []byte("application/vnd."))
}
