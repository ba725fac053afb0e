package report

import (
	"bytes"
	"testing"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// TestTextCallsSameReport: a text report written from TextCalls that keep
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
				tc := NewTextCalls(lang)
				seen := map[groupKey]bool{}
				forgotten := 0
				// Added backwards, so that Sort has to put them in order.
				for i := len(ar.Calls) - 1; i >= 0; i-- {
					tc.Add(ar.Calls[i], true)
				}
				tc.Sort()
				for i, c := range ar.Calls {
					k, explained := keyOf(c), all || hasProblem(c.Findings)
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
					t.Errorf("%s %s all=%v: the report from TextCalls differs:\n%s\nwant:\n%s", name, lang, all, got.String(), want.String())
				}
				if tc.Len() != len(ar.Calls) || len(ar.Calls) > 0 && forgotten == 0 && name == "sngrep__aaa.pcap" {
					t.Errorf("%s: %d calls kept of %d, %d forgotten", name, tc.Len(), len(ar.Calls), forgotten)
				}
			}
		}
	}
}
