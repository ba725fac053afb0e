package capture

import "bytes"

// These two functions are local stand-ins for sipmsg.LooksLikeSIP and
// sipmsg.FrameLen until package sipmsg provides them; they are deliberately
// small: recognise a start line (RFC 3261 section 7.1 and 7.2) and find where
// a message ends on a stream transport (RFC 3261 section 18.3).

// sipVersion is the protocol token of RFC 3261 section 7.1.
var sipVersion = []byte("SIP/2.0")

// looksLikeSIP reports whether b starts with a SIP request line
// ("METHOD SP Request-URI SP SIP/2.0") or status line ("SIP/2.0 SP 3DIGIT").
func looksLikeSIP(b []byte) bool {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	} else if len(b) > 1024 {
		return false
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if bytes.HasPrefix(line, sipVersion) {
		// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
		return len(line) >= 11 && line[7] == ' ' && isDigit(line[8]) && isDigit(line[9]) && isDigit(line[10]) &&
			(len(line) == 11 || line[11] == ' ')
	}
	// Request-Line = Method SP Request-URI SP SIP-Version
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp > 32 {
		return false
	}
	for _, c := range line[:sp] {
		if !isTokenChar(c) {
			return false
		}
	}
	rest := line[sp+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return false
	}
	return bytes.EqualFold(rest[sp2+1:], sipVersion) && bytes.IndexByte(rest[:sp2], ':') > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isTokenChar reports whether c may appear in a method token (RFC 3261
// section 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', isDigit(c):
		return true
	}
	return bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0
}

// sipFrameLen returns the length of the first SIP message in b, which must
// start with a start line: the header section up to the empty line plus the
// Content-Length body (RFC 3261 section 18.3; a missing Content-Length means
// no body). It returns 0 when b does not yet hold the whole message and -1
// when the Content-Length value is not a number.
func sipFrameLen(b []byte) int {
	end, sepLen := headerEnd(b)
	if end < 0 {
		return 0
	}
	cl := 0
	for rest := b[:end]; len(rest) > 0; {
		line := rest
		i := bytes.IndexByte(rest, '\n')
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 || len(v) > 9 {
			return -1
		}
		n := 0
		for _, c := range v {
			if !isDigit(c) {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		cl = n
	}
	total := end + sepLen + cl
	if total > len(b) {
		return 0
	}
	return total
}

// headerEnd finds the empty line that ends the header section and returns
// its offset and length (4 for CRLFCRLF, 2 for a bare LFLF).
func headerEnd(b []byte) (int, int) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	j := bytes.Index(b, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i+1 <= j):
		return i, 4
	case j >= 0:
		return j, 2
	}
	return -1, 0
}

// trimKeepAlive drops the CRLF keep-alives of RFC 5626 section 3.5.1 that
// may precede a message on a connection.
func trimKeepAlive(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}
