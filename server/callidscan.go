package server

import (
	"bytes"

	"github.com/sipcause/sipcause/sipmsg"
)

// callIDOf finds the Call-ID of a SIP message (RFC 3261 §20.8, or its
// compact form "i", §7.3.3) by a scan of its header lines, without parsing
// the message: a message of a call refused under load is then refused for
// the cost of a few IndexByte calls instead of a full parse. It returns
// what sipmsg.Parse would give as CallID() (FuzzCallIDOf checks it), or ok
// false when it cannot be sure of that, and the message is parsed as any
// other: a Call-ID folded over more than one line (§7.3.1; Parse joins
// the lines), one after sipmsg.MaxHeaders lines, none before the empty
// line that ends the header section, an empty one, or a message longer
// than sipmsg.MaxMessageSize. The first Call-ID header field counts, as
// with Parse; a line starting with white space continues the one before,
// so a "Call-ID:" there is not a header field.
func callIDOf(b []byte) (id []byte, ok bool) {
	b = b[sipmsg.SkipKeepAlive(b):]
	if len(b) > sipmsg.MaxMessageSize {
		return nil, false
	}
	eol := bytes.IndexByte(b, '\n') // the start line
	if eol < 0 {
		return nil, false
	}
	pos := eol + 1
	for range sipmsg.MaxHeaders {
		if pos >= len(b) || b[pos] == '\n' || b[pos] == '\r' && pos+1 < len(b) && b[pos+1] == '\n' {
			return nil, false // the end of the header section
		}
		line, next := b[pos:], len(b)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], pos+i+1
		}
		pos = next
		if line[0] == ' ' || line[0] == '\t' {
			continue // a continuation line
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			continue
		}
		k := c
		for k > 0 && (line[k-1] == ' ' || line[k-1] == '\t') {
			k--
		}
		if !isCallIDName(line[:k]) {
			continue
		}
		if next < len(b) && (b[next] == ' ' || b[next] == '\t') {
			return nil, false // folded: Parse joins it with the next line
		}
		id = trimLWS(line[c+1:])
		return id, len(id) > 0
	}
	return nil, false
}

// isCallIDName reports whether a header field name is Call-ID, in any
// case, or its compact form i (RFC 3261 §7.3.3).
func isCallIDName(n []byte) bool {
	switch len(n) {
	case 1:
		return n[0]|0x20 == 'i'
	case 7:
		const want = "call-id"
		for i, c := range n {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != want[i] {
				return false
			}
		}
		return true
	}
	return false
}

// trimLWS removes the white space, CR and LF around a header field value,
// as sipmsg does.
func trimLWS(b []byte) []byte {
	lws := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && lws(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && lws(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
