package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// The web UI shows times in the server's zone (HandlerOptions.Location)
// and numbers as a reader of the page's language writes them: a Dutch
// reader gets 27-11-2026 04:28:14, 8.989 and 33,3 %.

// zoneName names loc for the reader: its IANA name (Europe/Amsterdam)
// when it has one, else the abbreviation in force at t (CET).
func zoneName(loc *time.Location, t time.Time) string {
	if n := loc.String(); n != "Local" && n != "" {
		return n
	}
	abbr, _ := t.In(loc).Zone()
	return abbr
}

// fmtTime writes t in loc; withSec adds seconds, milli milliseconds.
func fmtTime(t time.Time, loc *time.Location, lang catalog.Lang, milli bool) string {
	if t.IsZero() {
		return "–"
	}
	layout := "2006-01-02 15:04:05"
	if lang == catalog.Dutch {
		layout = "02-01-2006 15:04:05"
	}
	if milli {
		layout += ".000"
	}
	s := t.In(loc).Format(layout)
	if milli && lang == catalog.Dutch {
		s = s[:len(s)-4] + "," + s[len(s)-3:]
	}
	return s
}

// fmtMinute is fmtTime to the minute.
func fmtMinute(t time.Time, loc *time.Location, lang catalog.Lang) string {
	if t.IsZero() {
		return "–"
	}
	s := fmtTime(t, loc, lang, false)
	return s[:len(s)-len(":05")]
}

// fmtShort writes a time for a chart's axis: the time of day, with the
// day when the step is an hour or more.
func fmtShort(t time.Time, loc *time.Location, lang catalog.Lang, withDay bool) string {
	t = t.In(loc)
	if !withDay {
		return t.Format("15:04")
	}
	if lang == catalog.Dutch {
		return t.Format("2-1 15:04")
	}
	return t.Format("01-02 15:04")
}

// fmtInt writes n with a thousands separator (a point in Dutch, a comma
// in English) from five digits on, as both languages usually do.
func fmtInt(n int64, lang catalog.Lang) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) >= 5 {
		sep := ","
		if lang == catalog.Dutch {
			sep = "."
		}
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteString(sep)
			}
			b.WriteRune(c)
		}
		s = b.String()
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fmtFloat writes v with prec decimals and the language's decimal sign.
func fmtFloat(v float64, prec int, lang catalog.Lang) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if lang == catalog.Dutch {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// fmtPct writes a percentage; "–" when it is undefined.
func fmtPct(v float64, ok bool, lang catalog.Lang) string {
	if !ok {
		return "–"
	}
	return fmtFloat(v, 1, lang) + " %"
}

// fmtMS writes a duration given in milliseconds as people say it:
// "850 ms", "2,5 s", "21 min 26 s", "1 h 02 min".
func fmtMS(ms int64, lang catalog.Lang) string {
	switch {
	case ms <= 0:
		return "–"
	case ms < 1000:
		return strconv.FormatInt(ms, 10) + " ms"
	case ms < 60_000:
		return fmtFloat(float64(ms)/1000, 1, lang) + " s"
	}
	s := ms / 1000
	if s < 3600 {
		return unit2(s/60, "min", s%60, "s")
	}
	return unit2(s/3600, "h", s/60%60, "min")
}

// unit2 writes "21 min 26 s", leaving out a second part that is zero.
func unit2(a int64, ua string, b int64, ub string) string {
	out := strconv.FormatInt(a, 10) + " " + ua
	if b != 0 {
		out += " " + strconv.FormatInt(b, 10) + " " + ub
	}
	return out
}
