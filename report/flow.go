package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// Flow layout, in terminal columns.
const (
	flowGutter     = 18 // "+123.456s #12345  "
	flowMinSpacing = 16 // narrowest distance between two host columns
	flowMaxSpacing = 48 // widest, so that a wide terminal keeps arrows readable
	flowMaxHosts   = 6  // more hosts than this share the last column
	flowNoteWidth  = 24 // right of the shared column: the address it stands for
	flowMaxRows    = 2000
)

// FlowOptions tune the terminal ladder diagram.
type FlowOptions struct {
	Width int // terminal columns; 0 means 100
	Lang  catalog.Lang
	Clock Clock // the zone of the start time; UTC when zero
}

// Flow writes the ladder diagram of c for a terminal, like sngrep's flow
// view: one column per host address, one row per message with its time
// since the first message and its frame number at the left, requests and
// responses drawn as arrows between the columns. Retransmissions are drawn
// dashed and marked ↻. The diagram fits in width columns (0 means 100):
// labels are cut to fit, and when more hosts took part than fit side by
// side, the last column stands for all the rest and its arrows name the
// address.
//
// Every string comes from SIP headers; control characters are dropped so
// that a crafted header cannot move the cursor or change the terminal.
func Flow(w io.Writer, c *analyze.Call, o FlowOptions) error {
	width := o.Width
	w = safeWriter{w} // every field, not only those escaped below
	if width <= 0 {
		width = 100
	}
	l, n := labels(o.Lang), numberFormat{o.Lang}
	width = max(width, flowGutter+2*flowMinSpacing)
	start := "–"
	if c.Start.Year() > 1970 {
		start = n.Stamp(o.Clock.In(c.Start), true) + " (" + o.Clock.Zone(c.Start) + ")"
	}
	fmt.Fprintf(w, "%s → %s  %s\n", termSafe(orUnknown(o.Lang, c.Caller)), termSafe(orUnknown(o.Lang, c.Callee)), start)
	status := l["no final"]
	if c.FinalStatus != 0 {
		status = strconv.Itoa(c.FinalStatus) + " " + termSafe(c.Reason)
	}
	fmt.Fprintf(w, "Call-ID %s  %s  %s\n\n", termSafe(c.CallID), status, callOutcomeLabel(o.Lang, c.Outcome, c.FinalStatus, c.Fault))
	if len(c.Messages) == 0 {
		_, err := fmt.Fprintln(w, "  ("+l["no messages"]+")")
		return err
	}

	hosts := flowHosts(c.Messages)
	ncol := min(len(hosts), flowMaxHosts, max(2, (width-flowGutter)/flowMinSpacing))
	folded := len(hosts) > ncol
	noteW := 0
	if folded {
		// Leave room right of the last column to name the addresses that
		// share it.
		noteW = flowNoteWidth
		ncol = min(flowMaxHosts, max(2, (width-flowGutter-noteW)/flowMinSpacing))
	}
	col := map[string]int{}
	for i, h := range hosts {
		col[h] = min(i, ncol-1)
	}
	spacing := min((width-flowGutter-noteW)/ncol, flowMaxSpacing)
	center := func(i int) int { return flowGutter + i*spacing + spacing/2 }

	// Header: the addresses centred over their columns.
	head := blankRow(width)
	for i := 0; i < ncol; i++ {
		name := hosts[i]
		if i == ncol-1 && folded {
			name = fmt.Sprintf(l["n others"], len(hosts)-ncol+1)
		}
		name = cut(name, spacing-1)
		put(head, center(i)-utf8.RuneCountInString(name)/2, name)
	}
	line := blankRow(width)
	for i := 0; i < ncol; i++ {
		line[center(i)] = '┬'
	}
	fmt.Fprintln(w, strings.TrimRight(string(head), " "))
	fmt.Fprintln(w, strings.TrimRight(string(line), " "))

	t0 := c.Messages[0].Time
	items := flowItems(c)
	for k, it := range items {
		m := it.Exchange
		if k == flowMaxRows {
			fmt.Fprintf(w, "  … %d %s\n", len(items)-k, l["more messages"])
			break
		}
		row := blankRow(width)
		put(row, 0, fmt.Sprintf("%9s #%-6d", flowOffset(o.Lang, m.Time.Sub(t0)), m.Frame))
		for i := 0; i < ncol; i++ {
			row[center(i)] = '│'
		}
		label := termSafe(m.Label)
		a, b := col[m.Src], col[m.Dst]
		if m.Retrans {
			label = "↻ " + label
		}
		dash := '─'
		if m.Retrans {
			dash = '╌'
		}
		if it.media {
			dash = '═' // one summary arrow for a whole RTP direction
		}
		last := center(ncol - 1)
		switch {
		case a == b && (folded && a == ncol-1):
			// Two of the folded hosts: the note says it all.
			put(row, last+2, cut("⟲ "+label+" "+m.Src+"→"+m.Dst, width-last-2))
		case a == b:
			// A host talking to itself on another port.
			x := center(a) + 1
			put(row, x, cut("⟲ "+label+" ("+addrText(o.Lang, m.Src)+" → "+addrText(o.Lang, m.Dst)+")", width-x))
		default:
			lo, hi := min(center(a), center(b)), max(center(a), center(b))
			for x := lo + 1; x < hi; x++ {
				row[x] = dash
			}
			if a < b {
				row[hi-1] = '>'
			} else {
				row[lo+1] = '<'
			}
			room := hi - lo - 7
			text := " " + cut(label, room) + " "
			put(row, lo+(hi-lo-utf8.RuneCountInString(text))/2+1, text)
			if folded && (a == ncol-1 || b == ncol-1) {
				other := m.Dst
				if a == ncol-1 {
					other = m.Src
				}
				put(row, last+2, cut(other, width-last-2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(string(row), " "))
	}
	_, err := fmt.Fprintln(w)
	return err
}

// flowHosts lists the addresses of the messages in order of first
// appearance, the caller's first.
func flowHosts(ms []analyze.Exchange) []string {
	var hosts []string
	seen := map[string]bool{}
	for _, m := range ms {
		for _, h := range []string{m.Src, m.Dst} {
			if !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// flowOffset formats d as seconds with milliseconds, or minutes past one
// hour of capture.
func flowOffset(lang catalog.Lang, d time.Duration) string {
	n := numberFormat{lang}
	if d < time.Hour {
		return "+" + n.Dec(d.Seconds(), 3) + "s"
	}
	return "+" + d.Round(time.Second).String()
}

func blankRow(n int) []rune {
	r := make([]rune, n)
	for i := range r {
		r[i] = ' '
	}
	return r
}

// put writes s into row from column x on, clipped to the row.
func put(row []rune, x int, s string) {
	for _, r := range s {
		if x >= 0 && x < len(row) {
			row[x] = r
		}
		x++
	}
}

// cut shortens s to at most n runes, ending in … when it was cut.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// termSafe escapes control characters and bidi overrides (see Escape).
func termSafe(s string) string { return Escape(s) }
