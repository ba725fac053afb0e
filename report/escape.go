package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Escape makes s safe to print on a terminal: control characters (ESC, CR,
// BEL, DEL, the C1 range) and the Unicode bidi overrides, which a sender
// can put in any SIP header to move the cursor, retitle the window or
// reorder what is shown, are written as visible escapes (\x1b, \u202e)
// instead. Everything else is left as it is.
func Escape(s string) string {
	if !needsEscape(s, "") {
		return s
	}
	var b strings.Builder
	escapeTo(&b, s, "")
	return b.String()
}

func isUnsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

func needsEscape(s, keep string) bool {
	for _, r := range s {
		if isUnsafe(r) && !strings.ContainsRune(keep, r) {
			return true
		}
	}
	return false
}

func escapeTo(b *strings.Builder, s, keep string) {
	for _, r := range s {
		switch {
		case !isUnsafe(r) || strings.ContainsRune(keep, r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
}

// sgrCodes are the colour codes Painter writes: the only escape sequences
// a text report may contain.
var sgrCodes = []string{"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[34m", "\x1b[35m"}

// safeWriter escapes, in everything written through it, the control
// characters Escape does, except newlines, tabs and Painter's own colour
// codes. Text renders through one, so that no field it prints, now or
// added later, can drive the terminal.
type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	str := string(p)
	if !needsEscape(str, "\n\t") {
		return s.w.Write(p)
	}
	var b strings.Builder
	for len(str) > 0 {
		i := strings.IndexByte(str, 0x1b)
		if i < 0 {
			escapeTo(&b, str, "\n\t")
			break
		}
		escapeTo(&b, str[:i], "\n\t")
		str = str[i:]
		code := ""
		for _, c := range sgrCodes {
			if strings.HasPrefix(str, c) {
				code = c
				break
			}
		}
		if code != "" {
			b.WriteString(code)
			str = str[len(code):]
		} else {
			b.WriteString(`\x1b`)
			str = str[1:]
		}
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
