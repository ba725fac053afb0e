package cli

import (
	"strings"
	"unicode/utf8"
)

// wrap breaks s into lines of at most width runes, each prefixed by indent.
func wrap(s, indent string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(s) {
		n := utf8.RuneCountInString(w)
		if i > 0 && line+1+n > width {
			b.WriteString("\n")
			line = 0
		}
		if line == 0 {
			b.WriteString(indent)
		} else {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += n
	}
	return b.String()
}

// padRight pads s with spaces to width runes.
func padRight(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	return s + strings.Repeat(" ", width-n)
}

// truncate cuts s to width runes, marking the cut with an ellipsis.
func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

type painter struct{ on bool }

func (p painter) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p painter) bold(s string) string { return p.wrap("1", s) }
func (p painter) dim(s string) string  { return p.wrap("2", s) }

// fault colours a fault word: red for your side, yellow for the provider,
// blue for the remote side, magenta for the network.
func (p painter) fault(f, s string) string {
	switch f {
	case "local":
		return p.wrap("31", s)
	case "provider":
		return p.wrap("33", s)
	case "remote":
		return p.wrap("34", s)
	case "network":
		return p.wrap("35", s)
	}
	return p.wrap("32", s)
}
