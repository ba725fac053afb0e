package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// Clock says how a report shows times: in which zone, under which name.
// The analyzer keeps every time in UTC (and JSON stays in UTC); people
// read the times of the zone they live in.
type Clock struct {
	Loc  *time.Location // nil means UTC
	Name string         // the zone's name as the reader knows it ("Europe/Amsterdam"); empty: Loc.String()
}

func (c Clock) loc() *time.Location {
	if c.Loc == nil {
		return time.UTC
	}
	return c.Loc
}

// In returns t in the clock's zone.
func (c Clock) In(t time.Time) time.Time { return t.In(c.loc()) }

// Zone names the zone for a reader, with the abbreviation in effect at t
// when it says more than the name: "Europe/Amsterdam, CET", "UTC".
func (c Clock) Zone(t time.Time) string {
	name := c.Name
	if name == "" {
		name = c.loc().String()
	}
	abbr := c.In(t).Format("MST")
	if abbr == name || strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-") {
		return name
	}
	return name + ", " + abbr
}

// numberFormat writes numbers, durations and dates as a reader of one
// language expects them: 1,148 and 31.6 in English; 1.148 and 31,6 in
// Dutch, with dates as 27-11-2026.
type numberFormat struct{ lang catalog.Lang }

func (n numberFormat) nl() bool { return n.lang == catalog.Dutch }

// Int writes a count with a thousands separator.
func (n numberFormat) Int(v int) string {
	s := strconv.Itoa(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= 3 {
		if neg {
			return "-" + s
		}
		return s
	}
	sep := ","
	if n.nl() {
		sep = "."
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	first := len(s) % 3
	if first > 0 {
		b.WriteString(s[:first])
	}
	for i := first; i < len(s); i += 3 {
		if b.Len() > 0 && !(neg && b.Len() == 1) {
			b.WriteString(sep)
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Dec writes a number with prec decimals and the reader's decimal sign.
func (n numberFormat) Dec(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if n.nl() {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Pct writes a percentage with one decimal; "–" when undefined (RFC 6076
// §4: a ratio without a denominator).
func (n numberFormat) Pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return n.Dec(*v, 1) + "%"
}

// MS writes a duration given in milliseconds: "350 ms", "31.6 s",
// "21 min 26 s", "1 h 02 min".
func (n numberFormat) MS(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Second:
		return n.Dec(ms, 0) + " ms"
	case d < time.Minute:
		return n.Dec(d.Seconds(), 1) + " s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return strconv.Itoa(int(d/time.Minute)) + " min " + strconv.Itoa(int(d%time.Minute/time.Second)) + " s"
	}
	d = d.Round(time.Minute)
	return strconv.Itoa(int(d/time.Hour)) + " h " + pad2(int(d%time.Hour/time.Minute)) + " min"
}

// Dist summarises a distribution of milliseconds: median, 95th percentile,
// maximum and count.
func (n numberFormat) Dist(d distribution) string {
	if d.Count == 0 {
		return "–"
	}
	med := "median"
	if n.nl() {
		med = "mediaan"
	}
	return med + " " + n.MS(d.Median) + ", p95 " + n.MS(d.P95) + ", max " + n.MS(d.Max) + " (n=" + n.Int(d.Count) + ")"
}

// Date writes a day: 2026-11-27 in English (ISO 8601), 27-11-2026 in Dutch.
func (n numberFormat) Date(t time.Time) string {
	if n.nl() {
		return t.Format("02-01-2006")
	}
	return t.Format("2006-01-02")
}

// Stamp writes a moment to the second, or to the millisecond with ms.
func (n numberFormat) Stamp(t time.Time, ms bool) string {
	clock := "15:04:05"
	if ms {
		clock = "15:04:05.000"
	}
	s := n.Date(t) + " " + t.Format(clock)
	if n.nl() {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Plural picks the singular or the plural form of a word for a count.
func (n numberFormat) Plural(v int, one, many string) string {
	if v == 1 {
		return "1 " + one
	}
	return n.Int(v) + " " + many
}

func pad2(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}
