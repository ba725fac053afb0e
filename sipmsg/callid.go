package sipmsg

import "bytes"

// ScanCallID finds the Call-ID of a SIP message (RFC 3261 §20.8, or its
// compact form "i", §7.3.3) by a scan of its header lines, without parsing
// the message: a message of a call refused under load is then refused for
// the cost of a few IndexByte calls instead of a full parse. It returns
// what Parse would give as CallID() (FuzzScanCallID checks it), or ok
// false when it cannot be sure of that, and the message is parsed as any
// other: a Call-ID folded over more than one line (§7.3.1; Parse joins
// the lines), one after MaxHeaders lines, none before the empty
// line that ends the header section, an empty one, or a message longer
// than MaxMessageSize. The first Call-ID header field counts, as
// with Parse; a line starting with white space continues the one before,
// so a "Call-ID:" there is not a header field.
func ScanCallID(b []byte) (id []byte, ok bool) {
	b = b[SkipKeepAlive(b):]
	if len(b) > MaxMessageSize {
		return nil, false
	}
	eol := bytes.IndexByte(b, '\n') // the start line
	if eol < 0 {
		return nil, false
	}
	pos := eol + 1
	for range MaxHeaders {
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
		if lookupName(line[:k]) != hCallID {
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
