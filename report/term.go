package report

import (
	"strings"
	"unicode/utf8"
)

// Painter colours text for a terminal with ANSI codes; with On false it
// returns the text as it is (not a terminal, or NO_COLOR set).
type Painter struct{ On bool }

type paint = Painter

func (p Painter) code(c, s string) string {
	if !p.On {
		return s
	}
	return "\x1b[" + c + "m" + s + "\x1b[0m"
}

// Bold makes s bold.
func (p Painter) Bold(s string) string { return p.code("1", s) }

// Dim makes s faint.
func (p Painter) Dim(s string) string { return p.code("2", s) }

// Fault colours s by the fault word f: red for your side, yellow for the
// provider, blue for the remote side, magenta for the network, green for
// no fault.
func (p Painter) Fault(f, s string) string {
	switch f {
	case "local":
		return p.code("31", s)
	case "provider":
		return p.code("33", s)
	case "remote":
		return p.code("34", s)
	case "network":
		return p.code("35", s)
	}
	return p.code("32", s)
}

func (p Painter) bold(s string) string     { return p.Bold(s) }
func (p Painter) dim(s string) string      { return p.Dim(s) }
func (p Painter) fault(f, s string) string { return p.Fault(f, s) }

// Pad pads s with spaces to n runes.
func Pad(s string, n int) string {
	if c := utf8.RuneCountInString(s); c < n {
		return s + strings.Repeat(" ", n-c)
	}
	return s
}

func pad(s string, n int) string { return Pad(s, n) }

// Truncate cuts s to n runes, marking the cut with an ellipsis.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n || n < 1 {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Wrap breaks s into lines of at most width runes, each after indent.
func Wrap(s, indent string, width int) string {
	if width < 20 {
		width = 20
	}
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		if i > 0 && n+1+wl > width {
			b.WriteByte('\n')
			n = 0
		}
		if n == 0 {
			b.WriteString(indent)
		} else {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += wl
	}
	return b.String()
}

func wrapText(s, indent string, width int) string { return Wrap(s, indent, width) }
