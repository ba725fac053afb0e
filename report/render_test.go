package report

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// goldenClock is the zone of each language's golden files: a Dutch
// helpdesk reads Amsterdam time, the English files stay in UTC.
func goldenClock(t *testing.T, lang catalog.Lang) Clock {
	if lang != catalog.Dutch {
		return Clock{Loc: time.UTC, Name: "UTC"}
	}
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return Clock{Loc: loc, Name: "Europe/Amsterdam"}
}

// TestGolden renders the golden captures as text, HTML (with the raw SIP
// of each call) and CSV in both languages, and the ladder for a terminal.
func TestGolden(t *testing.T) {
	for _, name := range goldenCaptures {
		for _, lang := range catalog.Langs {
			t.Run(goldenName(name)+"/"+string(lang), func(t *testing.T) {
				r, raw := loadReportRaw(t, name, lang)
				clock := goldenClock(t, lang)
				stem := goldenName(name)
				if lang == catalog.Dutch {
					stem += ".nl"
				}
				var b bytes.Buffer
				if err := Text(&b, r, TextOptions{Lang: lang, Clock: clock, All: true, Stats: true}); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, stem+".txt", b.Bytes())
				checkNoEnglish(t, lang, stem+".txt", b.String())

				b.Reset()
				if err := CSV(&b, r); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, stem+".csv", b.Bytes())
				// The columns are names for programs; the summary is for people.
				if rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll(); err != nil || len(rows) == 0 {
					t.Fatalf("CSV: %v", err)
				} else {
					col := slices.Index(rows[0], "summary")
					var people []string
					for _, row := range rows[1:] {
						people = append(people, row[col])
					}
					checkNoEnglish(t, lang, stem+".csv summary", strings.Join(people, "\n"))
				}

				b.Reset()
				if err := HTMLWith(&b, r, HTMLOptions{Lang: lang, Clock: clock, Raw: raw}); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, stem+".html", b.Bytes())
				checkNoEnglish(t, lang, stem+".html", b.String())

				b.Reset()
				for _, c := range r.Calls {
					if err := Flow(&b, c, FlowOptions{Width: 100, Lang: lang, Clock: clock}); err != nil {
						t.Fatal(err)
					}
				}
				checkGolden(t, stem+".flow.txt", b.Bytes())
				checkNoEnglish(t, lang, stem+".flow.txt", b.String())
			})
		}
	}
}

func TestDutchHTMLIsDutch(t *testing.T) {
	r, raw := loadReportRaw(t, goldenCaptures[0], catalog.Dutch)
	var b bytes.Buffer
	if err := HTMLWith(&b, r, HTMLOptions{Lang: catalog.Dutch, Clock: goldenClock(t, catalog.Dutch), Raw: raw}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `<html lang="nl">`) || !strings.Contains(out, htmlLabelsNL["ladder"]) {
		t.Error("Dutch page lacks lang=nl or Dutch labels")
	}
	// The ladder's arrows lead to the messages as captured.
	if !strings.Contains(out, `<a href="#call-1-f`) || !strings.Contains(out, `<div class="raw" id="call-1-f`) {
		t.Error("ladder arrows are not linked to the raw messages")
	}
}

// TestLabelsComplete checks that the Dutch and English HTML labels have
// the same keys, so a page never shows an empty heading.
func TestLabelsComplete(t *testing.T) {
	for k := range htmlLabelsEN {
		if htmlLabelsNL[k] == "" {
			t.Errorf("htmlLabelsNL lacks %q", k)
		}
	}
	for k := range htmlLabelsNL {
		if htmlLabelsEN[k] == "" {
			t.Errorf("htmlLabelsEN lacks %q", k)
		}
	}
}

func TestCSVParsesBack(t *testing.T) {
	for _, name := range goldenCaptures {
		t.Run(goldenName(name), func(t *testing.T) {
			r := loadReport(t, name, catalog.English)
			var b bytes.Buffer
			if err := CSV(&b, r); err != nil {
				t.Fatal(err)
			}
			rd := csv.NewReader(&b)
			rd.FieldsPerRecord = len(CSVHeader)
			rows, err := rd.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(r.Calls)+1 {
				t.Fatalf("%d rows, want header + %d calls", len(rows), len(r.Calls))
			}
			if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
				t.Errorf("header = %v", rows[0])
			}
			for i, c := range r.Calls {
				row := rows[i+1]
				if row[0] != c.CallID {
					t.Errorf("row %d call_id = %q, want %q", i+1, row[0], c.CallID)
				}
				if _, err := time.Parse(time.RFC3339, row[1]); err != nil {
					t.Errorf("row %d start %q: %v", i+1, row[1], err)
				}
			}
		})
	}
}

func TestCSVFormulaInjection(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+31201234567", "+31201234567"},
		{"-12", "-12"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"alice", "alice"},
		{"", ""},
	} {
		if got := cellSafe(tc.in); got != tc.want {
			t.Errorf("cellSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFlowWidth(t *testing.T) {
	r := loadReport(t, goldenCaptures[0], catalog.English)
	for _, width := range []int{60, 80, 100, 140} {
		var b bytes.Buffer
		for _, c := range r.Calls {
			if err := Flow(&b, c, FlowOptions{Width: width}); err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range strings.Split(b.String(), "\n") {
			if line != "" && line[0] != ' ' && line[0] != '+' {
				continue // the header lines with caller and Call-ID
			}
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("width %d: line of %d runes: %q", width, n, line)
			}
		}
	}
}

// TestFlowManyHosts checks that hosts beyond what fits share the last
// column and that their arrows name the address.
func TestFlowManyHosts(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &analyze.Call{CallID: "x", Caller: "a", Callee: "b", Start: t0}
	hosts := []string{"10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.3:5060", "10.0.0.4:5060", "10.0.0.5:5060", "10.0.0.6:5060", "10.0.0.7:5060", "10.0.0.8:5060"}
	for i := 0; i+1 < len(hosts); i++ {
		c.Messages = append(c.Messages, analyze.Exchange{Frame: i + 1, Time: t0.Add(time.Duration(i) * time.Millisecond), Src: hosts[i], Dst: hosts[i+1], Label: "INVITE"})
	}
	var b bytes.Buffer
	if err := Flow(&b, c, FlowOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "others") || !strings.Contains(out, "10.0.0.7:5060") {
		t.Errorf("folded column not shown:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(line) > 100 {
			t.Errorf("line too wide: %q", line)
		}
	}
}

func TestFlowDropsControlCharacters(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &analyze.Call{CallID: "id\x1b[2J", Caller: "\x1b]0;pwned\x07", Start: t0, Messages: []analyze.Exchange{
		{Frame: 1, Time: t0, Src: "10.0.0.1:5060", Dst: "10.0.0.2:5060", Label: "486 Busy\x1b[31m\r\u202eHere"},
	}}
	var b bytes.Buffer
	if err := Flow(&b, c, FlowOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); strings.ContainsAny(s, "\x1b\x07\r\u202e") {
		t.Errorf("control characters reached the terminal: %q", s)
	}
}

// TestHTMLSaysItOnce: on the page, a call's "what happened" paragraph is
// not printed again in the card of the finding it comes from (review
// §4.2: the same paragraph two or three times); the card keeps its title.
func TestHTMLSaysItOnce(t *testing.T) {
	expl := regexp.MustCompile(`<div class="expl">(.*?)</div>`)
	for _, name := range goldenCaptures {
		for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
			r, raw := loadReportRaw(t, name, lang)
			var b bytes.Buffer
			if err := HTMLWith(&b, r, HTMLOptions{Lang: lang, Raw: raw}); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, item := range strings.Split(b.String(), `<details class="item" id="`)[1:] {
				m := expl.FindStringSubmatch(item)
				if m == nil || !strings.Contains(item, `class="fid"`) {
					continue
				}
				checked++
				if strings.Contains(item, `</span><div>`+m[1]+`</div>`) {
					t.Errorf("%s %s: %s: its explanation is printed again in a finding's card", name, lang, item[:strings.Index(item, `"`)])
				}
			}
			if checked == 0 && name == goldenCaptures[0] {
				t.Errorf("%s %s: no explained item with findings", name, lang)
			}
		}
	}
}
