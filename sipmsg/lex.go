package sipmsg

import "bytes"

// Lexical helpers for the RFC 3261 §25.1 basic rules. None allocates.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// tokenChars marks the RFC 3261 §25.1 token characters:
// alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-32] = true
	}
	for _, c := range "-.!%*_+`'~" {
		t[c] = true
	}
	return t
}()

func isTokenChar(c byte) bool { return tokenChars[c] }

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

// isPrintable reports whether b holds no ASCII control characters.
func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// isLWS reports white space or a line end. Every one of them is at most
// a space: one comparison tells the other bytes, which are most.
func isLWS(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') }

func trimLWS(b []byte) []byte {
	for len(b) > 0 && isLWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isLWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold[T ~string | ~[]byte](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; c != s[i] && lower(c) != lower(s[i]) {
			return false
		}
	}
	return true
}

// trimWSPRight removes spaces and tabs from the end of b: bytes.TrimRight
// with a cutset of two builds a set on every call, once per header line.
// indexWSP is bytes.IndexAny(b, " \t") without the byte set IndexAny
// builds on each call: it ran on every request's start line.
func indexWSP(b []byte) int {
	for i, c := range b {
		if c == ' ' || c == '\t' {
			return i
		}
	}
	return -1
}

// lastIndexWSP is bytes.LastIndexAny(b, " \t"), likewise.
func lastIndexWSP(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ' ' || b[i] == '\t' {
			return i
		}
	}
	return -1
}

func trimWSPRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// skipQuoted returns the index just past the quoted-string starting at
// b[i] == '"' (RFC 3261 §25.1, with quoted-pair), or len(b) and false if
// the closing quote is missing.
func skipQuoted(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return len(b), false
}

// indexTop returns the index of the first c in b that is outside quoted
// strings and <...>, or -1. It is called several times for each Via and
// its parameters: a table of the bytes it must look at lets the walk pass
// over the rest in one test each.
func indexTop(b []byte, c byte) int {
	sep := topSep[c]
	if sep == 0 {
		return indexTopAny(b, c)
	}
	// Mostly no quote and no < comes before the first c (a Via's
	// parameters, a tag): then it is the one, found by IndexByte's
	// quick scans instead of a walk byte by byte.
	i := bytes.IndexByte(b, c)
	if i < 0 {
		return -1
	}
	if bytes.IndexByte(b[:i], '"') < 0 && bytes.IndexByte(b[:i], '<') < 0 {
		return i
	}
	mask := topQuote | topOpen | topClose | sep
	angle := false
	for i := 0; i < len(b); i++ {
		k := topClass[b[i]] & mask
		if k == 0 {
			continue
		}
		switch k {
		case topQuote:
			j, _ := skipQuoted(b, i)
			i = j - 1
		case topOpen:
			angle = true
		case topClose:
			angle = false
		default:
			if !angle {
				return i
			}
		}
	}
	return -1
}

// The classes of bytes indexTop stops at: a quote, an angle bracket, and
// the separators it is asked for.
const (
	topQuote = 1 << iota
	topOpen
	topClose
	topSemi
	topComma
	topEq
)

var topClass = func() (t [256]uint8) {
	t['"'], t['<'], t['>'] = topQuote, topOpen, topClose
	t[';'], t[','], t['='] = topSemi, topComma, topEq
	return t
}()

// topSep is the class of each separator indexTop has in its table.
var topSep = func() (t [256]uint8) {
	t[';'], t[','], t['='] = topSemi, topComma, topEq
	return t
}()

// indexTopAny is indexTop for any other byte.
func indexTopAny(b []byte, c byte) int {
	angle := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			j, _ := skipQuoted(b, i)
			i = j - 1
		case '<':
			angle = true
		case '>':
			angle = false
		case c:
			if !angle {
				return i
			}
		}
	}
	return -1
}

// unquote strips one pair of surrounding double quotes, if present.
func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}
