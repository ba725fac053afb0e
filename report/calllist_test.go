package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// TestTextCallsSameReport: a text report written from a CallList that keep
// the whole call only for the first of each group (the way the CLI keeps
// a long capture) reads the same as one written from the whole calls
// (review L9).
func TestTextCallsSameReport(t *testing.T) {
	for _, name := range goldenCaptures {
		for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
			for _, all := range []bool{false, true} {
				ar := loadReport(t, name, lang)
				var want, got bytes.Buffer
				if err := Text(&want, ar, TextOptions{Lang: lang, All: all}); err != nil {
					t.Fatal(err)
				}
				tc := NewCallList(lang, KeepFor{})
				seen := map[GroupKey]bool{}
				forgotten := 0
				// Added backwards, so that Sort has to put them in order.
				for i := len(ar.Calls) - 1; i >= 0; i-- {
					tc.Add(ar.Calls[i], true)
				}
				tc.Sort()
				for i, c := range ar.Calls {
					k, explained := KeyOf(c), all || HasProblem(c.Findings)
					if explained && c.Outcome == analyze.OutcomeAnswered {
						continue // explained on its own
					}
					if explained && !seen[k] {
						seen[k] = true
						continue // the first of its group
					}
					tc.Forget(i)
					forgotten++
				}
				noCalls := *ar
				noCalls.Calls = nil // Text must not need them
				if err := Text(&got, &noCalls, TextOptions{Lang: lang, All: all, Calls: tc}); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("%s %s all=%v: the report from a CallList differs:\n%s\nwant:\n%s", name, lang, all, got.String(), want.String())
				}
				if tc.Len() != len(ar.Calls) || len(ar.Calls) > 0 && forgotten == 0 && name == "sngrep__aaa.pcap" {
					t.Errorf("%s: %d calls kept of %d, %d forgotten", name, tc.Len(), len(ar.Calls), forgotten)
				}
			}
		}
	}
}

// keptWhole counts the calls of tc kept whole.
func keptWhole(tc *CallList) int {
	n := 0
	for _, ln := range tc.lines {
		if ln.full != nil {
			n++
		}
	}
	return n
}

// renderBoth writes the text and the page of r, from calls when set.
func renderBoth(t *testing.T, r *analyze.Report, lang catalog.Lang, all bool, raw func(string, int) (string, bool), calls *CallList) (string, string) {
	t.Helper()
	var text, page bytes.Buffer
	if err := Text(&text, r, TextOptions{Lang: lang, All: all, Calls: calls}); err != nil {
		t.Fatal(err)
	}
	if err := HTMLWith(&page, r, HTMLOptions{Lang: lang, Raw: raw, Calls: calls}); err != nil {
		t.Fatal(err)
	}
	return text.String(), page.String()
}

// byStart is calls in the order they started, a tie in the order given:
// the order the CLI reports them in.
func byStart(calls []*analyze.Call) []*analyze.Call {
	out := slices.Clone(calls)
	slices.SortStableFunc(out, func(a, b *analyze.Call) int { return a.Start.Compare(b.Start) })
	return out
}

// TestCallListKeepSameReports: the text and the HTML page written from a
// CallList that Keep filled call by call, as the analyzer reports them,
// read the same as those written from the whole calls in the order they
// started, while the list keeps whole only the calls they explain (review
// L9).
func TestCallListKeepSameReports(t *testing.T) {
	for _, name := range goldenCaptures {
		for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
			for _, all := range []bool{false, true} {
				ar, raw := loadReportRaw(t, name, lang)
				whole := *ar
				whole.Calls = byStart(ar.Calls)
				wantText, wantPage := renderBoth(t, &whole, lang, all, raw, nil)
				tc := NewCallList(lang, KeepFor{Text: true, All: all, HTML: true})
				for _, c := range ar.Calls {
					tc.Keep(c)
				}
				tc.Sort()
				noCalls := *ar
				noCalls.Calls = nil // the reports must not need them
				gotText, gotPage := renderBoth(t, &noCalls, lang, all, raw, tc)
				if gotText != wantText {
					t.Errorf("%s %s all=%v: the text from a kept CallList differs:\n%s\nwant:\n%s", name, lang, all, gotText, wantText)
				}
				if gotPage != wantPage {
					t.Errorf("%s %s all=%v: the page from a kept CallList differs", name, lang, all)
				}
				// sngrep__aaa.pcap has two calls refused the same way:
				// the second is kept as a line only.
				if tc.Len() != len(ar.Calls) || name == "sngrep__aaa.pcap" && keptWhole(tc) != len(ar.Calls)-1 {
					t.Errorf("%s: %d calls kept of %d, %d of them whole", name, tc.Len(), len(ar.Calls), keptWhole(tc))
				}
			}
		}
	}
}

// TestCallListKeepManyDetails: of thousands of calls that come in no
// order, the page details the first 500 answered calls and firsts of
// their group, the same as from the whole calls, and the list keeps
// whole no more than those (review L9).
func TestCallListKeepManyDetails(t *testing.T) {
	failed := loadReport(t, "sngrep__aaa.pcap", catalog.English)
	answered := loadReport(t, "heplify__sip_ipv4_tcp.pcap", catalog.English)
	var calls []*analyze.Call
	rnd := rand.New(rand.NewPCG(1, 2))
	t0 := failed.Calls[0].Start
	for i := range 1500 {
		src := failed.Calls[i/2%len(failed.Calls)]
		if i%2 == 0 {
			src = answered.Calls[0]
		}
		c := *src
		c.CallID = fmt.Sprintf("many-%d@test", i)
		// Whole seconds, so that many calls start at once.
		c.Start = t0.Add(time.Duration(rnd.IntN(900)) * time.Second)
		calls = append(calls, &c)
	}
	rnd.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	for _, all := range []bool{false, true} {
		whole := *failed
		whole.Calls = byStart(calls)
		wantText, wantPage := renderBoth(t, &whole, catalog.English, all, nil, nil)
		tc := NewCallList(catalog.English, KeepFor{Text: true, All: all, HTML: true})
		for _, c := range calls {
			c := *c // Keep may drop what the reports do not show
			tc.Keep(&c)
		}
		// The page details 500 calls; the text the earliest of each of
		// the three groups of failures (and with all every answered
		// call).
		limit := htmlMaxDetails + 3
		if all {
			limit = htmlMaxDetails + 3 + len(calls)/2
		}
		if n := keptWhole(tc); n > limit || n < htmlMaxDetails {
			t.Errorf("all=%v: %d calls kept whole, want %d to %d", all, n, htmlMaxDetails, limit)
		}
		tc.Sort()
		noCalls := *failed
		noCalls.Calls = nil
		gotText, gotPage := renderBoth(t, &noCalls, catalog.English, all, nil, tc)
		if gotText != wantText {
			t.Errorf("all=%v: the text from a kept CallList differs", all)
		}
		if gotPage != wantPage {
			t.Errorf("all=%v: the page from a kept CallList differs", all)
		}
		// 750 answered calls and 3 firsts of a group: 253 too many.
		if n := strings.Count(gotPage, `<details class="item" id="call-`); n != htmlMaxDetails || !strings.Contains(gotPage, "… 253 more calls are listed but not detailed") {
			t.Errorf("all=%v: %d calls detailed, or no note of the 253 others", all, n)
		}
	}
}

// TestCSVRowsSameReport: the CSV written from rows kept as the calls
// finish, in no order, is the CSV of the calls in the order they started
// (review L9).
func TestCSVRowsSameReport(t *testing.T) {
	for _, name := range goldenCaptures {
		for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
			ar := loadReport(t, name, lang)
			whole := *ar
			whole.Calls = byStart(ar.Calls)
			var want, got bytes.Buffer
			if err := CSV(&want, &whole); err != nil {
				t.Fatal(err)
			}
			cr := NewCSVRows(lang)
			for i := len(ar.Calls) - 1; i >= 0; i-- {
				cr.Add(ar.Calls[i])
			}
			if err := cr.Write(&got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("%s %s: the CSV from rows differs:\n%s\nwant:\n%s", name, lang, got.String(), want.String())
			}
		}
	}
}
