package sipmsg

import (
	"bytes"
	"strconv"
)

// MaxMessageSize is the largest message, in bytes, that Parse looks at
// (RFC 3261 §18.1.1 leaves the size to the transport). Bytes past it are
// not parsed: the message gets a CodeTooLarge warning and its body is cut
// there. 256 KiB holds the largest UDP datagram several times over and any
// sane TCP message, while a hostile peer cannot make one Parse call walk
// megabytes.
const MaxMessageSize = 256 << 10

// MaxHeaders is the most header fields Parse records for one message
// (RFC 3261 §7.3 sets no limit). Further header lines are skipped with a
// CodeTooManyHeaders warning. Real messages carry 10 to 40; the RFC 4475
// §3.1.1.7 torture test has 47.
const MaxHeaders = 256

// maxWarnings bounds the warnings one message collects, so a message made
// of ten thousand broken lines costs no more than a clean one.
const maxWarnings = 32

// Header is one header field as it appears on the wire (RFC 3261 §7.3):
// Name exactly as written ("v", "VIA", "Via"), Value with leading and
// trailing white space removed and folded lines joined by spaces.
// Both slices point into the buffer given to Parse.
type Header struct {
	Name  []byte
	Value []byte
}

// Warning records one thing that was wrong with a message Parse accepted
// anyway (RFC 3261 §7 grammar, §18.3 framing). Code is a stable identifier
// (one of the Code… constants), Offset the byte offset in the buffer
// where the problem was seen, and Msg a short English explanation.
type Warning struct {
	Code   string
	Offset int
	Msg    string
}

// Message is one decoded SIP message (RFC 3261 §7). Every []byte field is
// a slice of the buffer passed to Parse; the Message is valid only as long
// as that buffer is unchanged. A Message is reused across Parse calls so
// that the hot path allocates nothing.
type Message struct {
	// Request is true for a request (§7.1), false for a response (§7.2).
	Request bool
	// Method is the request method, case preserved (§7.1). Nil for responses.
	Method []byte
	// RequestURI is the Request-URI exactly as written (§7.1).
	RequestURI []byte
	// Version is the SIP-Version of the start line, normally "SIP/2.0".
	Version []byte
	// StatusCode is the response Status-Code (§7.2); 0 for requests and
	// for a response whose code is not three digits.
	StatusCode int
	// Reason is the response Reason-Phrase as on the wire (§7.2), possibly
	// empty.
	Reason []byte
	// Headers are the header fields in wire order (§7.3).
	Headers []Header
	// Body is the message body (§7.4), framed by Content-Length when
	// present and sane (§18.3), otherwise the rest of the buffer.
	Body []byte
	// Trailing holds bytes after the Content-Length-framed body; on a
	// datagram transport they are noise to be ignored (§18.3).
	Trailing []byte
	// Warnings lists what was wrong, in the order it was found.
	Warnings []Warning

	// first[h] is 1 + index in Headers of the first header with known id
	// h, count[h] how many there were; they make Get O(1) for the
	// headers the analyzer reads on every message.
	first [hidCount]uint16
	count [hidCount]uint16
	// ids[i] is the known id of Headers[i] (hUnknown for others), as
	// Parse found it, so that a header that comes more than once (two
	// Vias on every proxied message) is found without looking its name
	// up again in every header after the first. Only used while it is as
	// long as Headers: headers changed by the caller are looked up.
	ids []hid
}

// ParseError is returned by Parse when the bytes are not a SIP message at
// all, i.e. there is no RFC 3261 §7.1 Request-Line or §7.2 Status-Line.
// Offset is the byte offset in the buffer where parsing gave up.
type ParseError struct {
	Offset int
	Msg    string
}

// Error implements the error interface with a "sipmsg: " prefix; the
// message names what RFC 3261 §7.1/§7.2 start line was missing.
func (e *ParseError) Error() string {
	return "sipmsg: offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Stable warning codes (Warning.Code and Problem.Code). They are part of
// the API: reports and stored findings key on them.
const (
	// Framing and start line (RFC 3261 §7.1, §7.2, §18.3).
	CodeTooLarge         = "too-large"          // message longer than MaxMessageSize
	CodeTooManyHeaders   = "too-many-headers"   // more than MaxHeaders header fields
	CodeNoHeaderEnd      = "no-header-end"      // no empty line after the headers
	CodeBareLF           = "bare-lf"            // line ended by LF alone, not CRLF
	CodeStartLineSpace   = "start-line-space"   // extra or trailing SP in the start line
	CodeBadVersion       = "bad-version"        // SIP-Version is not SIP/2.0
	CodeBadStatusCode    = "bad-status-code"    // Status-Code not 3 digits in 100..699
	CodeBadRequestURI    = "bad-request-uri"    // Request-URI with SP, <>, or no scheme
	CodeBadMethod        = "bad-method"         // method is not an RFC 3261 token
	CodeBadHeaderLine    = "bad-header-line"    // header line without a token and colon
	CodeBadContentLength = "bad-content-length" // Content-Length not a non-negative integer
	CodeMultipleLength   = "multiple-content-length"
	CodeBodyTruncated    = "body-truncated" // Content-Length larger than the bytes present
	// Mandatory header fields (RFC 3261 §8.1.1, §8.2.6.2).
	CodeMissingCallID = "missing-call-id"
	CodeMissingCSeq   = "missing-cseq"
	CodeMissingFrom   = "missing-from"
	CodeMissingTo     = "missing-to"
	CodeMissingVia    = "missing-via"
)

// reset empties m for reuse, keeping the capacity of its slices.
func (m *Message) reset() {
	hs, ws, ids := m.Headers[:0], m.Warnings[:0], m.ids[:0]
	*m = Message{Headers: hs, Warnings: ws, ids: ids}
}

func (m *Message) warn(code string, off int, msg string) {
	if len(m.Warnings) < maxWarnings {
		m.Warnings = append(m.Warnings, Warning{Code: code, Offset: off, Msg: msg})
	}
}

// HasWarning reports whether Parse recorded a warning with the given code
// (one of the RFC 3261 §7/§18.3 Code… constants).
func (m *Message) HasWarning(code string) bool {
	for i := range m.Warnings {
		if m.Warnings[i].Code == code {
			return true
		}
	}
	return false
}

// SkipKeepAlive returns the number of leading CR and LF bytes in b: the
// CRLF keep-alives of RFC 5626 §3.5.1 that RFC 3261 §7.5 says to ignore
// before a start line. On a stream, drop that many bytes before FrameLen.
func SkipKeepAlive(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
		n++
	}
	return n
}

// LooksLikeSIP reports whether b starts (after keep-alive CRLFs) with an
// RFC 3261 §7.1 Request-Line ("METHOD SP uri SP SIP/2.0") or §7.2
// Status-Line ("SIP/2.0 SP 3DIGIT"). It is a cheap sniff used to pick SIP
// out of traffic on any port; it never allocates.
func LooksLikeSIP(b []byte) bool {
	b = b[SkipKeepAlive(b):]
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) >= 11 && hasPrefixFold(line, "SIP/2.0 ") {
		return isDigit(line[8]) && isDigit(line[9]) && isDigit(line[10]) && (len(line) == 11 || line[11] == ' ')
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return false
	}
	rest := line[sp+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return false
	}
	return hasPrefixFold(bytes.TrimRight(rest[sp2+1:], " "), "SIP/2.0") && len(bytes.TrimRight(rest[sp2+1:], " ")) == 7
}

// FrameLen returns the length of the first complete message in a stream
// (RFC 3261 §18.3): the header section up to and including the empty line,
// plus Content-Length body bytes. A missing or malformed Content-Length
// counts as 0, as §18.3 requires it on streams. Leading keep-alive CRLFs
// are included in n. ok is false when the stream does not yet hold a whole
// message; if it stays false once len(stream) exceeds MaxMessageSize, the
// stream is not framed SIP and the caller should drop the connection.
func FrameLen(stream []byte) (n int, ok bool) {
	start := SkipKeepAlive(stream)
	if start == len(stream) {
		return 0, false
	}
	b := stream[start:]
	if len(b) > MaxMessageSize {
		b = b[:MaxMessageSize]
	}
	cl := 0
	pos := 0
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return 0, false
		}
		line := b[pos : pos+i]
		next := pos + i + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 && pos > 0 {
			total := start + next + cl
			if total > len(stream) {
				return 0, false
			}
			return total, true
		}
		if pos > 0 {
			if v, ok := ContentLengthLine(line); ok {
				cl = v
			}
		}
		pos = next
	}
}

// ContentLengthLine reads one header line (without its LF) for framing a
// stream (RFC 3261 §18.3): ok says it is a Content-Length (or "l") header,
// v is its value, or 0 when the value is no decimal number of at most
// MaxMessageSize. FrameLen and resumable framers share it, so they frame
// alike.
func ContentLengthLine(line []byte) (v int, ok bool) {
	c := bytes.IndexByte(line, ':')
	if c <= 0 {
		return 0, false
	}
	name := trimWSPRight(line[:c])
	if !(len(name) == 1 && lower(name[0]) == 'l') && !equalFold(name, "Content-Length") {
		return 0, false
	}
	if n, ok := atoiSafe(trimLWS(line[c+1:])); ok && n <= MaxMessageSize {
		return n, true
	}
	return 0, true
}

// Parse decodes buf as one SIP message (RFC 3261 §7) into m, which is
// reset first and whose slices' capacity is reused. The Message points
// into buf and Parse modifies buf in place: folded header lines (§7.3.1)
// have their CR and LF bytes replaced by spaces so that every header value
// is one contiguous slice.
//
// Parse is tolerant, as a passive analyzer must be: anything wrong is
// recorded in m.Warnings and parsing goes on. It returns a *ParseError
// only when buf has no recognizable start line, i.e. is not SIP at all.
// For a clean message Parse does not allocate once m has grown.
func Parse(buf []byte, m *Message) error {
	m.reset()
	start := SkipKeepAlive(buf)
	b := buf
	if len(b) > MaxMessageSize {
		m.warn(CodeTooLarge, MaxMessageSize, "message longer than MaxMessageSize; the rest is ignored")
		b = b[:MaxMessageSize]
	}
	if start >= len(b) {
		return &ParseError{Offset: start, Msg: "no start line"}
	}
	// Start line.
	eol := bytes.IndexByte(b[start:], '\n')
	var line []byte
	next := len(b)
	if eol < 0 {
		line = b[start:]
	} else {
		line = b[start : start+eol]
		next = start + eol + 1
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	} else if eol >= 0 {
		m.warn(CodeBareLF, start+eol, "start line ended by LF without CR")
	}
	if err := m.parseStartLine(line, start); err != nil {
		return err
	}
	m.parseHeaders(b, next)
	m.checkMandatory()
	return nil
}

func (m *Message) parseStartLine(line []byte, off int) error {
	if hasPrefixFold(line, "SIP/") {
		return m.parseStatusLine(line, off)
	}
	// Request-Line = Method SP Request-URI SP SIP-Version (§7.1). Be
	// liberal: split on the first and last runs of spaces.
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return &ParseError{Offset: off, Msg: "start line is neither a Request-Line nor a Status-Line"}
	}
	method := line[:sp]
	trimmed := trimWSPRight(line)
	last := lastIndexWSP(trimmed)
	if last <= sp {
		return &ParseError{Offset: off, Msg: "request line has no SIP-Version"}
	}
	version := trimmed[last+1:]
	if !hasPrefixFold(version, "SIP/") {
		return &ParseError{Offset: off + last + 1, Msg: "request line does not end in a SIP-Version"}
	}
	if !isToken(method) {
		if bytes.IndexByte(method, 0) >= 0 || !isPrintable(method) {
			return &ParseError{Offset: off, Msg: "request method is not a token"}
		}
		m.warn(CodeBadMethod, off, "method is not an RFC 3261 token")
	}
	uri := trimLWS(trimmed[sp+1 : last])
	m.Request = true
	m.Method = method
	m.RequestURI = uri
	m.Version = version
	if len(trimmed) != len(line) || bytes.Contains(line, []byte("  ")) || bytes.IndexByte(line, '\t') >= 0 {
		m.warn(CodeStartLineSpace, off, "start line has extra white space between or after its elements")
	}
	if !bytes.Equal(version, []byte("SIP/2.0")) {
		m.warn(CodeBadVersion, off+last+1, "SIP-Version is not SIP/2.0")
	}
	switch {
	case len(uri) == 0:
		m.warn(CodeBadRequestURI, off+sp+1, "empty Request-URI")
	case uri[0] == '<':
		m.warn(CodeBadRequestURI, off+sp+1, "Request-URI enclosed in <>")
	case indexWSP(uri) >= 0:
		m.warn(CodeBadRequestURI, off+sp+1, "Request-URI contains white space")
	case bytes.IndexByte(uri, ':') <= 0:
		m.warn(CodeBadRequestURI, off+sp+1, "Request-URI has no scheme")
	}
	return nil
}

func (m *Message) parseStatusLine(line []byte, off int) error {
	// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2).
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return &ParseError{Offset: off, Msg: "status line has no Status-Code"}
	}
	m.Version = line[:sp]
	rest := line[sp+1:]
	extra := false
	for len(rest) > 0 && rest[0] == ' ' {
		rest, extra = rest[1:], true
	}
	n := 0
	for n < len(rest) && isDigit(rest[n]) {
		n++
	}
	if n == 0 {
		return &ParseError{Offset: off + sp + 1, Msg: "status line has no numeric Status-Code"}
	}
	code := rest[:n]
	rest = rest[n:]
	if len(rest) > 0 && rest[0] != ' ' {
		return &ParseError{Offset: off + sp + 1 + n, Msg: "Status-Code not followed by SP"}
	}
	if len(rest) > 0 {
		rest = rest[1:]
	}
	m.Reason = rest
	if extra {
		m.warn(CodeStartLineSpace, off+sp, "extra SP before Status-Code")
	}
	if !bytes.Equal(m.Version, []byte("SIP/2.0")) {
		m.warn(CodeBadVersion, off, "SIP-Version is not SIP/2.0")
	}
	if len(code) != 3 {
		m.warn(CodeBadStatusCode, off+sp+1, "Status-Code is not three digits")
		return nil
	}
	c := int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if c < 100 || c > 699 {
		m.warn(CodeBadStatusCode, off+sp+1, "Status-Code outside 100..699")
	}
	m.StatusCode = c
	return nil
}

// parseHeaders reads header lines from b[pos:] up to the empty line, then
// frames the body.
func (m *Message) parseHeaders(b []byte, pos int) {
	tooMany := false
	for {
		if pos >= len(b) {
			m.warn(CodeNoHeaderEnd, pos, "no empty line after the header fields")
			return
		}
		// Empty line: end of headers.
		if b[pos] == '\n' {
			m.warn(CodeBareLF, pos, "header section ended by LF without CR")
			m.frameBody(b, pos+1)
			return
		}
		if b[pos] == '\r' && pos+1 < len(b) && b[pos+1] == '\n' {
			m.frameBody(b, pos+2)
			return
		}
		lineStart := pos
		end, next := m.logicalLine(b, pos)
		pos = next
		line := b[lineStart:end]
		if line[0] == ' ' || line[0] == '\t' {
			// Continuation line with nothing to continue (first header).
			m.warn(CodeBadHeaderLine, lineStart, "folded line before any header field")
			continue
		}
		name, c, h, bad := headerName(line)
		if bad != "" {
			m.warn(CodeBadHeaderLine, lineStart, bad)
			continue
		}
		if len(m.Headers) >= MaxHeaders {
			if !tooMany {
				m.warn(CodeTooManyHeaders, lineStart, "more than MaxHeaders header fields; the rest are ignored")
				tooMany = true
			}
			continue
		}
		m.Headers = append(m.Headers, Header{Name: name, Value: trimLWS(line[c+1:])})
		m.ids = append(m.ids, h)
		if h != hUnknown {
			if m.first[h] == 0 {
				m.first[h] = uint16(len(m.Headers))
			}
			if m.count[h] < 0xffff {
				m.count[h]++
			}
		}
	}
}

// headerName splits a header line at its colon: the name (a token, RFC
// 3261 §25.1, with white space before the colon allowed), the colon's
// index and the header's id, or why the line is no header field. Nearly
// every line names a header of the table: its name is found at the first
// colon and confirmed by the table, whose names are tokens. Any other
// name's bytes are looked at once, as the token they should be.
func headerName(line []byte) (name []byte, colon int, h hid, bad string) {
	if c := bytes.IndexByte(line, ':'); c > 0 {
		k := c
		for k > 0 && (line[k-1] == ' ' || line[k-1] == '\t') {
			k--
		}
		if k > 0 {
			if h := lookupName(line[:k]); h != hUnknown {
				return line[:k], c, h, ""
			}
		}
	}
	k := 0
	for k < len(line) && tokenChars[line[k]] {
		k++
	}
	j := k
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j < len(line) && line[j] == ':' && k > 0 {
		return line[:k], j, lookupName(line[:k]), ""
	}
	// Not "token WSP* :": tell a line without a colon from a bad name.
	c := bytes.IndexByte(line, ':')
	if c <= 0 {
		return nil, 0, hUnknown, "header line without a colon"
	}
	return nil, 0, hUnknown, "header name is not a token"
}

// logicalLine returns the end (exclusive, before CRLF) of the header line
// starting at pos, joining folded continuation lines in place, and the
// position of the next line.
func (m *Message) logicalLine(b []byte, pos int) (end, next int) {
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return len(b), len(b)
		}
		lf := pos + i
		end = lf
		if end > 0 && b[end-1] == '\r' {
			end--
		} else {
			m.warn(CodeBareLF, lf, "header line ended by LF without CR")
		}
		next = lf + 1
		if next < len(b) && (b[next] == ' ' || b[next] == '\t') {
			// Folding (§7.3.1): the CRLF and the white space that follows
			// are equivalent to a single SP. Blank them in place.
			for k := end; k < next; k++ {
				b[k] = ' '
			}
			pos = next
			continue
		}
		return end, next
	}
}

func (m *Message) frameBody(b []byte, bodyStart int) {
	rest := b[bodyStart:]
	m.Body = rest
	if m.count[hContentLength] == 0 {
		return
	}
	idx := int(m.first[hContentLength]) - 1
	v := m.Headers[idx].Value
	cl, ok := atoiSafe(v)
	if !ok {
		m.warn(CodeBadContentLength, bodyStart, "Content-Length is not a non-negative integer")
		return
	}
	if m.count[hContentLength] > 1 {
		for i := idx + 1; i < len(m.Headers); i++ {
			if lookupHeader(m.Headers[i].Name) == hContentLength && !bytes.Equal(m.Headers[i].Value, v) {
				m.warn(CodeMultipleLength, bodyStart, "several Content-Length header fields with different values")
				return
			}
		}
	}
	if cl > len(rest) {
		m.warn(CodeBodyTruncated, bodyStart, "Content-Length larger than the bytes present")
		return
	}
	m.Body = rest[:cl]
	if cl < len(rest) {
		m.Trailing = rest[cl:]
	}
}

func (m *Message) checkMandatory() {
	// RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are
	// mandatory in requests; responses copy all but Max-Forwards (§8.2.6.2).
	// Max-Forwards is left to Strict: RFC 2543 peers omit it (RFC 4475
	// §3.4.1) and the analyzer loses nothing without it.
	if m.count[hCallID] == 0 {
		m.warn(CodeMissingCallID, 0, "no Call-ID header field")
	}
	if m.count[hCSeq] == 0 {
		m.warn(CodeMissingCSeq, 0, "no CSeq header field")
	}
	if m.count[hFrom] == 0 {
		m.warn(CodeMissingFrom, 0, "no From header field")
	}
	if m.count[hTo] == 0 {
		m.warn(CodeMissingTo, 0, "no To header field")
	}
	if m.count[hVia] == 0 {
		m.warn(CodeMissingVia, 0, "no Via header field")
	}
}

// atoiSafe parses a non-negative decimal integer of at most 9 digits
// (leading zeros allowed), so it can never overflow.
func atoiSafe(b []byte) (int, bool) {
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseUint32 parses a decimal integer that must fit in 32 bits.
func parseUint32(b []byte) (uint32, bool) {
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 0xffffffff {
		return 0, false
	}
	return uint32(n), true
}
