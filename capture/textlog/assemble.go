package textlog

import (
	"bytes"
	"strings"
)

// lineKind is what a log line is to the message assembler.
type lineKind uint8

const (
	lineText  lineKind = iota // text of a SIP message (or of nothing)
	lineIntro                 // announces the next message; ends the current one
	lineEnd                   // explicitly ends the current message
	lineOther                 // another log record: ends the current message
	lineSkip                  // not message text, but does not end it either
	lineJoin                  // the rest of the previous text line, which the log broke
)

// classified is one log line as its format reads it.
type classified struct {
	kind lineKind
	text []byte // lineText, or text following an intro on the same line
	meta meta   // lineIntro
}

// classifier reads one log format. classify may keep state between lines
// and may return text that is valid only until the next call.
type classifier interface {
	classify(line []byte) classified
}

// builder gathers the lines of one message.
type builder struct {
	active  bool
	line    int
	meta    meta
	head    []byte // start line and header fields, each CRLF-terminated
	body    []byte // body lines, each LF-terminated
	nbody   int
	inBody  bool
	clen    int // Content-Length, -1 when absent
	via     string
	nfields int
	tooBig  bool
}

// handle feeds one classified line to the assembler and returns a message
// when the line completes one. A line that both ends a message and must be
// read again (an intro, a new start line) is held for the next call.
func (r *Reader) handle(c classified) (Message, bool) {
	switch c.kind {
	case lineSkip:
		return Message{}, false
	case lineIntro:
		if r.b.active {
			r.hold(c)
			return r.finish()
		}
		r.meta, r.haveMeta = c.meta, true
		if len(c.text) > 0 {
			return r.handle(classified{kind: lineText, text: c.text})
		}
		return Message{}, false
	case lineJoin:
		b := &r.b
		switch {
		case !b.active:
		case !b.inBody && b.nfields == 0:
			// A start line is complete when it is recognised: what
			// follows it is not its rest.
			return r.handle(classified{kind: lineText, text: c.text})
		case !b.inBody:
			b.head = b.head[:len(b.head)-2]
			r.add(&b.head, bytes.TrimRight(c.text, " \t"), '\r', '\n')
		case b.nbody > 0:
			b.body = b.body[:len(b.body)-1]
			r.add(&b.body, c.text, '\n')
		default:
			return r.handle(classified{kind: lineText, text: c.text})
		}
		return Message{}, false
	case lineEnd, lineOther:
		r.haveMeta = false
		if r.b.active {
			return r.finish()
		}
		return Message{}, false
	}
	text := c.text
	b := &r.b
	if !b.active {
		if isStartLine(text) {
			r.start(text)
		}
		return Message{}, false
	}
	if !b.inBody {
		if len(bytes.TrimSpace(text)) == 0 {
			b.inBody = true
			if b.clen == 0 {
				return r.finish()
			}
			return Message{}, false
		}
		if isStartLine(text) || !isHeaderLine(text, b.nfields > 0) {
			// The header section was cut short: this line is not part of it.
			r.hold(c)
			return r.finish()
		}
		r.addField(text)
		return Message{}, false
	}
	// In the body. A start line here may be the next message or body text
	// (message/sipfrag, RFC 3420): it is the next message only if the body
	// could already be complete, i.e. CRLF line ends would reach
	// Content-Length.
	if isStartLine(text) && (b.clen < 0 || len(b.body)+b.nbody >= b.clen) {
		r.hold(c)
		return r.finish()
	}
	r.add(&b.body, text, '\n')
	b.nbody++
	// With LF line ends and no final one the body is as short as it can
	// be; once even that reaches Content-Length, the message is complete.
	if b.clen >= 0 && len(b.body)-1 >= b.clen {
		return r.finish()
	}
	return Message{}, false
}

func (r *Reader) hold(c classified) {
	r.held, r.hasHeld = c, true
}

func (r *Reader) start(text []byte) {
	b := &r.b
	b.active = true
	b.line = r.line
	if r.haveMeta {
		b.meta = r.meta
		r.haveMeta = false
	} else {
		b.meta = meta{}
	}
	r.add(&b.head, bytes.TrimRight(text, " \t"), '\r', '\n')
}

// add appends text and a line end to dst unless the message would grow
// past MaxMessageSize.
func (r *Reader) add(dst *[]byte, text []byte, end ...byte) {
	b := &r.b
	if b.tooBig || len(b.head)+len(b.body)+len(text)+len(end) > MaxMessageSize {
		b.tooBig = true
		return
	}
	*dst = append(*dst, text...)
	*dst = append(*dst, end...)
}

// addField appends one header line; logs pad some with trailing blanks,
// which RFC 3261 §7.3.1 lets us drop.
func (r *Reader) addField(text []byte) {
	b := &r.b
	text = bytes.TrimRight(text, " \t")
	r.add(&b.head, text, '\r', '\n')
	if text[0] == ' ' || text[0] == '\t' {
		return // folded continuation
	}
	b.nfields++
	colon := bytes.IndexByte(text, ':')
	name := string(bytes.TrimSpace(text[:colon]))
	value := bytes.TrimSpace(text[colon+1:])
	switch {
	case strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "l"):
		if b.clen < 0 {
			b.clen = atoiBounded(value)
		}
	case (strings.EqualFold(name, "Via") || strings.EqualFold(name, "v")) && b.via == "":
		b.via = viaTransport(value)
	}
}

// atoiBounded parses a decimal Content-Length, -1 if it is not one.
func atoiBounded(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
		if n > MaxMessageSize {
			return MaxMessageSize + 1
		}
	}
	return n
}

// viaTransport returns the transport of a Via value "SIP/2.0/TLS host"
// (RFC 3261 §20.42), lower case.
func viaTransport(v []byte) string {
	sp := bytes.IndexAny(v, " \t")
	if sp < 0 {
		return ""
	}
	proto := bytes.TrimSpace(v[:sp])
	slash := bytes.LastIndexByte(proto, '/')
	if slash < 0 {
		return ""
	}
	return normTransport(proto[slash+1:])
}

// normTransport maps a transport name as logs spell it to the names of
// Message.Transport, "" for one it does not know.
func normTransport(t []byte) string {
	switch strings.ToLower(string(t)) {
	case "udp":
		return "udp"
	case "tcp":
		return "tcp"
	case "tls":
		return "tls"
	case "sctp":
		return "sctp"
	case "ws":
		return "ws"
	case "wss":
		return "wss"
	}
	return ""
}

// finish ends the current message and returns it, unless it is to be
// skipped.
func (r *Reader) finish() (Message, bool) {
	b := &r.b
	if !b.active {
		return Message{}, false
	}
	defer b.reset()
	switch {
	case b.tooBig:
		r.skipped++
		r.problem(b.line, ErrMessageTooLarge)
		return Message{}, false
	case b.nfields == 0:
		r.skipped++
		r.problem(b.line, ErrNoHeaders)
		return Message{}, false
	}
	m := Message{
		Line:      b.line,
		Time:      b.meta.time,
		Src:       b.meta.src,
		Dst:       b.meta.dst,
		Transport: b.meta.transport,
	}
	if m.Transport == "" {
		m.Transport = b.via
	}
	body := b.fitBody()
	m.Payload = make([]byte, 0, len(b.head)+2+len(body))
	m.Payload = append(m.Payload, b.head...)
	m.Payload = append(m.Payload, '\r', '\n')
	m.Payload = append(m.Payload, body...)
	return m, true
}

// fitBody returns the body with the line ends that make its length equal
// Content-Length: CRLF, LF, each with or without a final line end (logs
// lose both the CRs and a missing last line end). A body longer than
// Content-Length is cut to it, as RFC 3261 §18.3 says a receiver does; a
// shorter one (the log cut it) is kept as it is.
func (b *builder) fitBody() []byte {
	lines, n := b.body, b.nbody
	if b.clen >= 0 {
		// Blank lines at the end are the log's separators unless an
		// exact fit needs them. SIP bodies mostly have CRLF line ends
		// (SDP, RFC 4566 §5), so those are tried first.
		for _, crlf := range []bool{true, false} {
			l, k := lines, n
			for {
				if out, ok := fitExact(l, k, b.clen, crlf); ok {
					return out
				}
				if !endsBlank(l) {
					break
				}
				l, k = l[:len(l)-1], k-1
			}
		}
	}
	for endsBlank(lines) {
		lines, n = lines[:len(lines)-1], n-1
	}
	out := joinCRLF(lines, n, true)
	if b.clen >= 0 && len(out) > b.clen {
		out = out[:b.clen]
	}
	return out
}

// endsBlank reports whether the last of the LF-terminated lines is empty.
func endsBlank(lines []byte) bool {
	return len(lines) > 0 && (len(lines) == 1 || bytes.HasSuffix(lines, []byte("\n\n")))
}

// fitExact joins n LF-terminated lines with CRLF or LF line ends, with or
// without a final one, so that they make exactly clen bytes, if it can.
func fitExact(lines []byte, n, clen int, crlf bool) ([]byte, bool) {
	if n == 0 {
		return nil, clen == 0
	}
	text := len(lines) - n // bytes without line ends
	switch {
	case crlf && clen == text+2*n:
		return joinCRLF(lines, n, true), true
	case crlf && clen == text+2*n-2:
		return joinCRLF(lines, n, false), true
	case !crlf && clen == text+n:
		return bytes.Clone(lines), true
	case !crlf && clen == text+n-1:
		return bytes.Clone(lines[:len(lines)-1]), true
	}
	return nil, false
}

// joinCRLF joins n LF-terminated lines with CRLF, with or without a final
// CRLF.
func joinCRLF(lines []byte, n int, final bool) []byte {
	if n == 0 {
		return nil
	}
	out := make([]byte, 0, len(lines)+n)
	for rest := lines; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		out = append(out, rest[:i]...)
		rest = rest[i+1:]
		if len(rest) > 0 || final {
			out = append(out, '\r', '\n')
		}
	}
	return out
}

func (b *builder) reset() {
	*b = builder{head: b.head[:0], body: b.body[:0], clen: -1}
}

// isStartLine reports whether text is a SIP Request-Line or Status-Line
// (RFC 3261 §7.1, §7.2).
func isStartLine(text []byte) bool {
	text = bytes.TrimRight(text, " \t")
	if rest, ok := bytes.CutPrefix(text, []byte("SIP/2.0 ")); ok {
		return len(rest) >= 3 && isDigit(rest[0]) && isDigit(rest[1]) && isDigit(rest[2]) &&
			(len(rest) == 3 || rest[3] == ' ')
	}
	rest, ok := bytes.CutSuffix(text, []byte(" SIP/2.0"))
	if !ok {
		return false
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp < 1 {
		return false
	}
	for _, c := range rest[:sp] {
		if (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	uri := rest[sp+1:]
	return len(uri) > 2 && bytes.IndexByte(uri, ':') > 0 && bytes.IndexByte(uri, ' ') < 0
}

// isHeaderLine reports whether text can be a header field line (RFC 3261
// §7.3): "name: value", or a folded continuation after a field.
func isHeaderLine(text []byte, afterField bool) bool {
	if text[0] == ' ' || text[0] == '\t' {
		return afterField
	}
	colon := bytes.IndexByte(text, ':')
	if colon < 1 {
		return false
	}
	for _, c := range bytes.TrimRight(text[:colon], " \t") {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte("()<>@,;:\\\"/[]?={}"), c) >= 0 {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
