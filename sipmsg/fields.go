package sipmsg

import (
	"bytes"
	"iter"
)

// URI is a decoded URI (RFC 3261 §19.1.1 for sip and sips, RFC 3966 for
// tel, RFC 3986 otherwise). Every field is a slice of the input; nothing
// is unescaped, so "%40" stays "%40" (RFC 3261 §19.1.4 compares URIs after
// unescaping; that is the caller's decision).
type URI struct {
	Scheme   []byte // "sip", "sips", "tel", … as written
	User     []byte // user part (sip, sips) or the number (tel)
	Password []byte // sip/sips password, rarely present
	Host     []byte // host, IPv6 references keep their brackets
	Port     int    // 0 when absent
	Params   []byte // ";"-separated uri-parameters without the leading ";"
	Headers  []byte // "&"-separated headers after "?", without the "?"
	Opaque   []byte // everything after "scheme:" for other schemes
}

// ParseURI decodes a URI (RFC 3261 §19.1.1, §25.1). It is tolerant:
// surrounding white space and angle brackets are removed, and whatever
// could be decoded is returned alongside a *ParseError for a URI without
// a scheme, a sip/sips URI without a host, or a bad port.
func ParseURI(b []byte) (URI, error) {
	var u URI
	b = trimLWS(b)
	if len(b) >= 2 && b[0] == '<' && b[len(b)-1] == '>' {
		b = trimLWS(b[1 : len(b)-1])
	}
	colon := bytes.IndexByte(b, ':')
	if colon <= 0 || !isScheme(b[:colon]) {
		return u, &ParseError{Msg: "URI has no scheme"}
	}
	u.Scheme = b[:colon]
	rest := b[colon+1:]
	switch {
	case equalFold(u.Scheme, "sip") || equalFold(u.Scheme, "sips"):
	case equalFold(u.Scheme, "tel"):
		u.User = rest
		if i := bytes.IndexByte(rest, ';'); i >= 0 {
			u.User, u.Params = rest[:i], rest[i+1:]
		}
		return u, nil
	default:
		u.Opaque = rest
		return u, nil
	}
	// The user part may itself contain ';', '?' and ',' (RFC 4475
	// §3.1.1.2 and §3.1.1.9), so the first '@' ends it.
	if at := bytes.IndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		rest = rest[at+1:]
		u.User = userinfo
		if c := bytes.IndexByte(userinfo, ':'); c >= 0 {
			u.User, u.Password = userinfo[:c], userinfo[c+1:]
		}
	}
	if q := bytes.IndexByte(rest, '?'); q >= 0 {
		rest, u.Headers = rest[:q], rest[q+1:]
	}
	if s := bytes.IndexByte(rest, ';'); s >= 0 {
		rest, u.Params = rest[:s], rest[s+1:]
	}
	hostport := rest
	if len(hostport) > 0 && hostport[0] == '[' {
		end := bytes.IndexByte(hostport, ']')
		if end < 0 {
			u.Host = hostport
			return u, &ParseError{Msg: "unterminated IPv6 reference"}
		}
		u.Host, hostport = hostport[:end+1], hostport[end+1:]
	} else if c := bytes.IndexByte(hostport, ':'); c >= 0 {
		u.Host, hostport = hostport[:c], hostport[c:]
	} else {
		u.Host, hostport = hostport, nil
	}
	if len(u.Host) == 0 {
		return u, &ParseError{Msg: "sip URI has no host"}
	}
	if len(hostport) > 0 {
		if hostport[0] != ':' {
			return u, &ParseError{Msg: "junk after URI host"}
		}
		p, ok := atoiSafe(hostport[1:])
		if !ok || p > 65535 {
			return u, &ParseError{Msg: "bad URI port"}
		}
		u.Port = p
	}
	return u, nil
}

func isScheme(b []byte) bool {
	if len(b) == 0 || !isAlpha(b[0]) {
		return false
	}
	for _, c := range b {
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// IsSIP reports whether the scheme is sip or sips (RFC 3261 §19.1).
func (u URI) IsSIP() bool { return equalFold(u.Scheme, "sip") || equalFold(u.Scheme, "sips") }

// Param returns the value of a uri-parameter (RFC 3261 §19.1.1), nil if
// absent or valueless.
func (u URI) Param(name string) []byte { v, _ := paramIn(u.Params, name); return v }

// HasParam reports whether the uri-parameter is present (RFC 3261
// §19.1.1), with or without a value, e.g. "lr".
func (u URI) HasParam(name string) bool { _, ok := paramIn(u.Params, name); return ok }

// NameAddr is a decoded From, To, Contact, Route, Record-Route or
// Refer-To value (RFC 3261 §20.10, §25.1 name-addr / addr-spec).
type NameAddr struct {
	// DisplayName is the display name without its quotes; quoted-pairs
	// ("\"") are left escaped. Empty if absent.
	DisplayName []byte
	// Quoted tells whether DisplayName was a quoted-string.
	Quoted bool
	// URI is the addr-spec without angle brackets.
	URI []byte
	// Bracketed tells whether the URI was enclosed in <> (name-addr).
	Bracketed bool
	// Params holds the header parameters after the URI, without the
	// leading ";" (for the addr-spec form every ";" after the URI starts
	// a header parameter, §20.10).
	Params []byte
	// Tag is the tag parameter (§19.3), nil if absent.
	Tag []byte
}

// ParseNameAddr decodes a name-addr or addr-spec header value (RFC 3261
// §20.10, §25.1). On malformed input it returns what it could decode and
// a *ParseError.
func ParseNameAddr(b []byte) (NameAddr, error) {
	var n NameAddr
	v := trimLWS(b)
	var err error
	rest := v
	switch {
	case len(v) > 0 && v[0] == '"':
		j, ok := skipQuoted(v, 0)
		if !ok {
			err = &ParseError{Msg: "unterminated quoted display name"}
			lt := bytes.IndexByte(v, '<')
			if lt < 0 {
				n.DisplayName = v[1:]
				n.Quoted = true
				return n, err
			}
			n.DisplayName, rest = trimLWS(v[1:lt]), v[lt:]
		} else {
			n.DisplayName, rest = v[1:j-1], trimLWS(v[j:])
		}
		n.Quoted = true
	default:
		if lt := bytes.IndexByte(v, '<'); lt >= 0 {
			n.DisplayName, rest = trimLWS(v[:lt]), v[lt:]
		}
	}
	if len(rest) > 0 && rest[0] == '<' {
		gt := bytes.IndexByte(rest, '>')
		if gt < 0 {
			n.URI, n.Bracketed = trimLWS(rest[1:]), true
			return n, &ParseError{Msg: "missing > after URI"}
		}
		n.URI, n.Bracketed = trimLWS(rest[1:gt]), true
		rest = trimLWS(rest[gt+1:])
		if len(rest) > 0 {
			if rest[0] != ';' {
				if err == nil {
					err = &ParseError{Msg: "junk after >"}
				}
			} else {
				n.Params = rest[1:]
			}
		}
	} else {
		if n.Quoted {
			return n, &ParseError{Msg: "display name without <URI>"}
		}
		n.URI = rest
		if i := bytes.IndexByte(rest, ';'); i >= 0 {
			n.URI, n.Params = trimLWS(rest[:i]), rest[i+1:]
		}
	}
	n.Tag, _ = paramIn(n.Params, "tag")
	return n, err
}

// User returns the user part of the URI (RFC 3261 §19.1.1), e.g. the
// dialled number.
func (n NameAddr) User() []byte {
	u, _ := ParseURI(n.URI)
	return u.User
}

// Param returns a header parameter of the value (RFC 3261 §20.10).
func (n NameAddr) Param(name string) []byte { v, _ := paramIn(n.Params, name); return v }

// Via is one decoded Via header field value (RFC 3261 §20.42, §18.2.2,
// RFC 3581 rport).
type Via struct {
	Protocol  []byte // "SIP"
	Version   []byte // "2.0"
	Transport []byte // "UDP", "TCP", "TLS", "SCTP", "WS", …
	Host      []byte // sent-by host; IPv6 references keep their brackets
	Port      int    // sent-by port, 0 if absent
	Params    []byte // via-params without the leading ";"
	Branch    []byte // branch parameter (§8.1.1.7)
	Received  []byte // received parameter (§18.2.1)
	RPort     []byte // rport value (RFC 3581 §4), nil if absent or empty
	RPortSet  bool   // rport present, with or without a value
}

// MagicCookie reports whether the branch starts with "z9hG4bK", the RFC
// 3261 §8.1.1.7 marker of a globally unique transaction id.
func (v Via) MagicCookie() bool { return bytes.HasPrefix(v.Branch, []byte("z9hG4bK")) }

// ParseVia decodes one via-parm (RFC 3261 §20.42, §25.1), allowing LWS
// around the "/" separators as the grammar does. It returns what it could
// decode and a *ParseError when the value is malformed.
func ParseVia(b []byte) (Via, error) {
	var v Via
	b = trimLWS(b)
	s1 := bytes.IndexByte(b, '/')
	if s1 < 0 {
		return v, &ParseError{Msg: "Via has no sent-protocol"}
	}
	v.Protocol = trimLWS(b[:s1])
	rest := b[s1+1:]
	s2 := bytes.IndexByte(rest, '/')
	if s2 < 0 {
		return v, &ParseError{Msg: "Via sent-protocol has no transport"}
	}
	v.Version = trimLWS(rest[:s2])
	rest = trimLWS(rest[s2+1:])
	n := 0
	for n < len(rest) && isTokenChar(rest[n]) {
		n++
	}
	v.Transport = rest[:n]
	rest = trimLWS(rest[n:])
	if i := bytes.IndexByte(rest, ';'); i >= 0 {
		rest, v.Params = rest[:i], rest[i+1:]
	}
	rest = trimLWS(rest)
	if len(rest) > 0 && rest[0] == '[' {
		end := bytes.IndexByte(rest, ']')
		if end < 0 {
			v.Host = rest
			return v, &ParseError{Msg: "unterminated IPv6 reference in Via"}
		}
		v.Host, rest = rest[:end+1], trimLWS(rest[end+1:])
	} else {
		h := 0
		for h < len(rest) && rest[h] != ':' && !isLWS(rest[h]) {
			h++
		}
		v.Host, rest = rest[:h], trimLWS(rest[h:])
	}
	var err error
	if len(rest) > 0 {
		if rest[0] == ':' {
			p, ok := atoiSafe(trimLWS(rest[1:]))
			if !ok || p > 65535 {
				err = &ParseError{Msg: "bad Via port"}
			} else {
				v.Port = p
			}
		} else {
			err = &ParseError{Msg: "junk after Via sent-by"}
		}
	}
	if len(v.Transport) == 0 || len(v.Host) == 0 {
		err = &ParseError{Msg: "Via has no transport or host"}
	}
	v.Branch, v.Received, v.RPort, v.RPortSet = viaParams(v.Params)
	return v, err
}

// viaParams finds the branch, received and rport parameters of a Via
// (RFC 3261 §20.42, RFC 3581) in one walk over its parameters, the first
// of each as paramIn finds it: ParseVia runs for every message.
func viaParams(params []byte) (branch, received, rport []byte, rportSet bool) {
	var haveBranch, haveReceived bool
	for len(params) > 0 && !(haveBranch && haveReceived && rportSet) {
		j := indexTop(params, ';')
		var p []byte
		if j < 0 {
			p, params = params, nil
		} else {
			p, params = params[:j], params[j+1:]
		}
		pn, pv, hasValue := splitParam(p)
		var val []byte
		if hasValue {
			val = unquote(pv)
		}
		switch {
		case !haveBranch && equalFold(pn, "branch"):
			branch, haveBranch = val, true
		case !haveReceived && equalFold(pn, "received"):
			received, haveReceived = val, true
		case !rportSet && equalFold(pn, "rport"):
			rport, rportSet = val, true
		}
	}
	return branch, received, rport, rportSet
}

// CallID returns the Call-ID (RFC 3261 §20.8), nil if absent.
func (m *Message) CallID() []byte { return m.get(hCallID) }

// CSeq returns the CSeq sequence number and method (RFC 3261 §20.16);
// ok is false when the header is absent, the number does not fit in 32
// bits or the method is missing.
func (m *Message) CSeq() (num uint32, method []byte, ok bool) {
	v := m.get(hCSeq)
	i := 0
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	num, ok = parseUint32(v[:i])
	method = trimLWS(v[i:])
	if i == len(v) || !isLWS(v[i]) || len(method) == 0 {
		ok = false
	}
	return num, method, ok
}

// From returns the decoded From header field (RFC 3261 §20.20); it is
// the zero NameAddr when absent. Decoding errors are left to Strict.
func (m *Message) From() NameAddr { n, _ := ParseNameAddr(m.get(hFrom)); return n }

// To returns the decoded To header field (RFC 3261 §20.39).
func (m *Message) To() NameAddr { n, _ := ParseNameAddr(m.get(hTo)); return n }

// Contacts yields every Contact value (RFC 3261 §20.10) across all
// Contact header fields; "*" yields a NameAddr whose URI is "*".
func (m *Message) Contacts() iter.Seq[NameAddr] {
	return func(yield func(NameAddr) bool) {
		for v := range m.All("Contact") {
			n, _ := ParseNameAddr(v)
			if !yield(n) {
				return
			}
		}
	}
}

// Vias yields every Via value (RFC 3261 §20.42), top first, across all
// Via header fields and comma-separated values.
func (m *Message) Vias() iter.Seq[Via] {
	return func(yield func(Via) bool) {
		for v := range m.All("Via") {
			via, _ := ParseVia(v)
			if !yield(via) {
				return
			}
		}
	}
}

// TopVia returns the first Via value (RFC 3261 §8.2.6.2, §18.2.2), the
// one that names the transaction's client; ok is false without Via.
func (m *Message) TopVia() (Via, bool) {
	for v := range m.All("Via") {
		via, _ := ParseVia(v)
		return via, true
	}
	return Via{}, false
}

// ContentLength returns the Content-Length value (RFC 3261 §20.14); ok is
// false when absent or not a non-negative integer.
func (m *Message) ContentLength() (int, bool) {
	if m.count[hContentLength] == 0 {
		return 0, false
	}
	return atoiSafe(m.get(hContentLength))
}

// MaxForwards returns the Max-Forwards value (RFC 3261 §20.22); ok is
// false when absent or not an integer. Values above 255 are returned as
// they are; Strict flags them.
func (m *Message) MaxForwards() (int, bool) {
	if m.count[hMaxForwards] == 0 {
		return 0, false
	}
	return atoiSafe(m.get(hMaxForwards))
}

// Expires returns the Expires header value in seconds (RFC 3261 §20.19);
// ok is false when absent or not a 32-bit unsigned integer.
func (m *Message) Expires() (int, bool) {
	if m.count[hExpires] == 0 {
		return 0, false
	}
	n, ok := parseUint32(m.get(hExpires))
	return int(n), ok
}

// IsMethod reports whether the message is about the given method: the
// request method for a request, the CSeq method for a response. Methods
// are case-sensitive (RFC 3261 §7.1: "The method token is
// case-sensitive"), so IsMethod("invite") is false for an INVITE.
func (m *Message) IsMethod(name string) bool {
	if m.Request {
		return string(m.Method) == name
	}
	_, method, _ := m.CSeq()
	return string(method) == name
}
