package report

import (
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

func TestNumberFormat(t *testing.T) {
	en, nl := numberFormat{catalog.English}, numberFormat{catalog.Dutch}
	day := time.Date(2026, 11, 27, 3, 28, 14, 526e6, time.UTC)
	for _, c := range []struct{ got, want string }{
		{en.Int(1148), "1,148"}, {nl.Int(1148), "1.148"}, {nl.Int(42493), "42.493"}, {en.Int(-1234567), "-1,234,567"}, {nl.Int(999), "999"},
		{en.Dec(31.64, 1), "31.6"}, {nl.Dec(31.64, 1), "31,6"},
		{nl.MS(350), "350 ms"}, {nl.MS(31600), "31,6 s"}, {nl.MS(1286000), "21 min 26 s"}, {en.MS(3725000), "1 h 02 min"},
		{en.Date(day), "2026-11-27"}, {nl.Date(day), "27-11-2026"}, {nl.Stamp(day, true), "27-11-2026 03:28:14,526"},
		{nl.Plural(1, "herhaling", "herhalingen"), "1 herhaling"}, {nl.Plural(2, "systeem", "systemen"), "2 systemen"},
		{nl.Dist(analyze.Distribution{Count: 3, Median: 3, P95: 1500, Max: 2000}), "mediaan 3 ms, p95 1,5 s, max 2,0 s (n=3)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	clk := Clock{Loc: ams, Name: "Europe/Amsterdam"}
	if z := clk.Zone(day); z != "Europe/Amsterdam, CET" {
		t.Errorf("zone %q", z)
	}
	if h := clk.In(day).Hour(); h != 4 {
		t.Errorf("03:28 UTC is %d h in Amsterdam in November", h)
	}
}

// The outcomes on the calls line add up to the number of calls, for
// every golden capture: "9: 3 answered, 1 cancelled, 5 failed".
func TestCallCountsAddUp(t *testing.T) {
	for _, name := range append(goldenCaptures, "../examples/failed-calls.pcapng") {
		for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
			r := loadReport(t, name, lang)
			list := NewCallList(lang, KeepFor{})
			for _, c := range r.Calls {
				list.Add(c, true)
			}
			// How many rows of the overview show each outcome's words.
			rows := map[string]int{}
			for _, ln := range list.lines {
				rows[callOutcomeLabel(lang, ln.key.outcome, ln.key.status, ln.key.fault)]++
			}
			line := callCounts(lang, r.Summary, list.lines)
			sum := 0
			for _, part := range strings.Split(strings.TrimPrefix(line, ": "), ", ") {
				var n int
				if ok, _ := fmtSscan(part, &n); ok == 1 {
					sum += n
					// "1 unreachable" in the summary: one row says "unreachable".
					if label := strings.TrimSpace(strings.TrimPrefix(part, strings.Fields(part)[0])); rows[label] != n {
						t.Errorf("%s %s: the summary says %q, the overview has %d rows %q", name, lang, part, rows[label], label)
					}
				}
			}
			if sum != r.Summary.Calls {
				t.Errorf("%s: %q adds up to %d, not %d calls", name, line, sum, r.Summary.Calls)
			}
		}
	}
}

func fmtSscan(s string, n *int) (int, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, nil
	}
	v := 0
	for _, c := range strings.ReplaceAll(f[0], ",", "") {
		if c < '0' || c > '9' {
			return 0, nil
		}
		v = v*10 + int(c-'0')
	}
	*n = v
	return 1, nil
}
