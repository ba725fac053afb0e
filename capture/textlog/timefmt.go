package textlog

import (
	"bytes"
	"time"
)

// parseClock parses "HH:MM:SS" with an optional ".fraction" at the start
// of b and returns the time of day and the bytes used.
func parseClock(b []byte) (time.Duration, int, bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return 0, 0, false
	}
	h, ok1 := two(b[0:2])
	m, ok2 := two(b[3:5])
	s, ok3 := two(b[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return 0, 0, false
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	n := 8
	if len(b) > 9 && (b[8] == '.' || b[8] == ',') && isDigit(b[9]) {
		scale := time.Second
		n = 9
		for n < len(b) && isDigit(b[n]) {
			if scale > 1 {
				scale /= 10
				d += time.Duration(b[n]-'0') * scale
			}
			n++
		}
	}
	return d, n, true
}

func two(b []byte) (int, bool) {
	if !isDigit(b[0]) || !isDigit(b[1]) {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// parseDate parses "YYYY-MM-DD" or "YYYY/MM/DD" at the start of b.
func parseDate(b []byte) (time.Time, bool) {
	if len(b) < 10 || (b[4] != '-' && b[4] != '/') || b[7] != b[4] {
		return time.Time{}, false
	}
	y1, ok1 := two(b[0:2])
	y2, ok2 := two(b[2:4])
	mo, ok3 := two(b[5:7])
	d, ok4 := two(b[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	return time.Date(y1*100+y2, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true
}

// parseDateTime parses "YYYY-MM-DD HH:MM:SS[.frac]" and returns the bytes
// used.
func parseDateTime(b []byte) (time.Time, int, bool) {
	day, ok := parseDate(b)
	if !ok || len(b) < 11 || (b[10] != ' ' && b[10] != 'T') {
		return time.Time{}, 0, false
	}
	tod, n, ok := parseClock(b[11:])
	if !ok {
		return time.Time{}, 0, false
	}
	return day.Add(tod), 11 + n, true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseMonthDay parses the syslog "Mar 18" or "Mar  8" at the start of b.
func parseMonthDay(b []byte) (time.Month, int, int, bool) {
	if len(b) < 6 || b[3] != ' ' {
		return 0, 0, 0, false
	}
	mon := time.Month(0)
	for i, m := range months {
		if string(b[:3]) == m {
			mon = time.Month(i + 1)
		}
	}
	if mon == 0 {
		return 0, 0, 0, false
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	day := 0
	for i < len(b) && isDigit(b[i]) && day < 100 {
		day = day*10 + int(b[i]-'0')
		i++
	}
	if day < 1 || day > 31 {
		return 0, 0, 0, false
	}
	return mon, day, i, true
}

// yearless gives times from logs that print no year: year 0, advanced
// whenever the log runs backwards by more than half a year.
type yearless struct {
	last  time.Time
	years int
	seen  bool
}

func (y *yearless) at(mon time.Month, day int, tod time.Duration) time.Time {
	t := time.Date(y.years, mon, day, 0, 0, 0, 0, time.UTC).Add(tod)
	if y.seen && t.Before(y.last.Add(-183*24*time.Hour)) {
		y.years++
		t = t.AddDate(1, 0, 0)
	}
	y.last, y.seen = t, true
	return t
}

// dayClock gives times from logs that print only the time of day: on the
// last date the log printed (else 0000-01-01), advanced a day whenever
// the clock runs backwards by more than 12 hours.
type dayClock struct {
	date time.Time
	last time.Time
	seen bool
}

func (c *dayClock) setDate(d time.Time) {
	c.date = d
	c.seen = false
}

func (c *dayClock) at(tod time.Duration) time.Time {
	if c.date.IsZero() {
		c.date = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	t := c.date.Add(tod)
	if c.seen && t.Before(c.last.Add(-12*time.Hour)) {
		c.date = c.date.AddDate(0, 0, 1)
		t = t.AddDate(0, 0, 1)
	}
	c.last, c.seen = t, true
	return t
}

// syslogHead is the header of a BSD syslog line (RFC 3164 §4.1):
// "<PRI>Mmm dd hh:mm:ss host tag[pid]: text", PRI and host optional.
type syslogHead struct {
	mon  time.Month
	day  int
	tod  time.Duration
	host []byte
	tag  []byte // with its "[pid]", without the colon
	rest []byte
}

func parseSyslog(b []byte) (syslogHead, bool) {
	var h syslogHead
	if len(b) > 0 && b[0] == '<' {
		i := 1
		for i < len(b) && i < 5 && isDigit(b[i]) {
			i++
		}
		if i == 1 || i >= len(b) || b[i] != '>' {
			return h, false
		}
		b = b[i+1:]
	}
	mon, day, n, ok := parseMonthDay(b)
	if !ok || n >= len(b) || b[n] != ' ' {
		return h, false
	}
	tod, m, ok := parseClock(b[n+1:])
	if !ok {
		return h, false
	}
	h.mon, h.day, h.tod = mon, day, tod
	b = b[n+1+m:]
	if len(b) < 2 || b[0] != ' ' {
		return h, false
	}
	b = b[1:]
	for range 2 {
		sp := bytes.IndexByte(b, ' ')
		tok := b
		if sp >= 0 {
			tok = b[:sp]
		}
		if len(tok) > 1 && tok[len(tok)-1] == ':' {
			h.tag = tok[:len(tok)-1]
			h.rest = b[len(tok):]
			if len(h.rest) > 0 {
				h.rest = h.rest[1:]
			}
			return h, true
		}
		if h.host != nil || sp < 0 {
			return h, false
		}
		h.host = tok
		b = b[sp+1:]
	}
	return h, false
}

// parseKiwi strips the columns a Kiwi/SolarWinds syslog server writes
// before each message: "YYYY-MM-DD HH:MM:SS<TAB>Facility.Level<TAB>host<TAB>".
func parseKiwi(b []byte) (t time.Time, host, rest []byte, ok bool) {
	t, n, ok := parseDateTime(b)
	if !ok || n >= len(b) || b[n] != '\t' {
		return time.Time{}, nil, nil, false
	}
	f := bytes.SplitN(b[n+1:], []byte{'\t'}, 3)
	if len(f) != 3 {
		return time.Time{}, nil, nil, false
	}
	return t, f[1], f[2], true
}
