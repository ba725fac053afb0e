package sipmsg

import (
	"bytes"
	"iter"
)

// MaxParts bounds the body parts Parts yields from one multipart body.
const MaxParts = 32

// Part is one body part of a multipart body (RFC 2046 §5.1, used by SIP
// per RFC 3261 §7.4 and RFC 5621): its header fields and its content.
type Part struct {
	Headers []Header
	Body    []byte
}

// Get returns the first part header value with the given name (RFC 2045
// §3 MIME headers; case-insensitive, RFC 3261 §7.3.3 compact forms
// mapped), nil if absent.
func (p *Part) Get(name string) []byte {
	h := lookupHeaderString(name)
	for i := range p.Headers {
		if matches(p.Headers[i].Name, h, name) {
			return p.Headers[i].Value
		}
	}
	return nil
}

// MediaType returns the media type of a Content-Type value without its
// parameters, e.g. "application/sdp" from "application/sdp;charset=x"
// (RFC 3261 §20.15).
func MediaType(contentType []byte) []byte {
	if i := bytes.IndexByte(contentType, ';'); i >= 0 {
		contentType = contentType[:i]
	}
	return trimLWS(contentType)
}

// Parts yields the body parts of a multipart body (RFC 2046 §5.1.1)
// delimited by "--" boundary lines. The preamble and epilogue are
// skipped; a missing close delimiter ends the last part at the end of
// the body. Part headers are not unfolded, and at most MaxParts parts
// are yielded. Parts allocates only the header slices of each part.
func Parts(body, boundary []byte) iter.Seq[Part] {
	return func(yield func(Part) bool) {
		if len(boundary) == 0 {
			return
		}
		delim := make([]byte, 0, len(boundary)+2)
		delim = append(append(delim, "--"...), boundary...)
		// Find the first delimiter at the start of a line.
		i := indexDelim(body, delim, 0)
		for n := 0; i >= 0 && n < MaxParts; n++ {
			after := body[i+len(delim):]
			if bytes.HasPrefix(after, []byte("--")) {
				return // close delimiter
			}
			// Skip transport padding and the line end.
			eol := bytes.IndexByte(after, '\n')
			if eol < 0 {
				return
			}
			start := i + len(delim) + eol + 1
			next := indexDelim(body, delim, start)
			end := len(body)
			if next >= 0 {
				end = next
				// The CRLF before the delimiter belongs to it.
				if end > start && body[end-1] == '\n' {
					end--
					if end > start && body[end-1] == '\r' {
						end--
					}
				}
			}
			if !yield(parsePart(body[start:end])) {
				return
			}
			i = next
		}
	}
}

// indexDelim finds delim at the start of a line in b at or after from.
func indexDelim(b, delim []byte, from int) int {
	for from <= len(b) {
		j := bytes.Index(b[from:], delim)
		if j < 0 {
			return -1
		}
		j += from
		if j == 0 || b[j-1] == '\n' {
			return j
		}
		from = j + 1
	}
	return -1
}

func parsePart(b []byte) Part {
	var p Part
	pos := 0
	for pos < len(b) {
		i := bytes.IndexByte(b[pos:], '\n')
		var line []byte
		next := len(b)
		if i < 0 {
			line = b[pos:]
		} else {
			line, next = b[pos:pos+i], pos+i+1
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			p.Body = b[next:]
			return p
		}
		if c := bytes.IndexByte(line, ':'); c > 0 && len(p.Headers) < MaxHeaders {
			p.Headers = append(p.Headers, Header{Name: trimLWS(line[:c]), Value: trimLWS(line[c+1:])})
		}
		pos = next
	}
	// No empty line: RFC 2046 says a part without headers starts with
	// the blank line, so treat the whole thing as headers-only.
	return p
}

// SDPBody returns the raw SDP of the message: the body itself when its
// Content-Type is application/sdp, or the first application/sdp part of
// a multipart body (RFC 5621 §3) searched one level of nesting deep.
func (m *Message) SDPBody() ([]byte, bool) {
	return findSDP(m.get(hContentType), m.Body, 2)
}

func findSDP(ct, body []byte, depth int) ([]byte, bool) {
	mt := MediaType(ct)
	switch {
	case equalFold(mt, "application/sdp"):
		return body, len(trimLWS(body)) > 0
	case hasPrefixFold(mt, "multipart/") && depth > 0:
		boundary := Param(ct, "boundary")
		for p := range Parts(body, boundary) {
			if sdp, ok := findSDP(p.Get("Content-Type"), p.Body, depth-1); ok {
				return sdp, true
			}
		}
	}
	return nil, false
}

// SDP decodes the message's session description, wherever it is
// (application/sdp body or multipart part, RFC 5621). ok is false when
// there is no SDP or it is not SDP at all; decoding warnings are in
// SDP.Warnings.
func (m *Message) SDP() (SDP, bool) {
	b, ok := m.SDPBody()
	if !ok {
		return SDP{}, false
	}
	s, err := ParseSDP(b)
	return s, err == nil
}
