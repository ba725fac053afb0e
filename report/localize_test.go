package report

import (
	"encoding/json"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// Every finding of every shared capture renders in both languages with all
// its placeholders filled, and the two languages differ: the analyzer's
// findings are data, the texts come from the report package.
func TestFindingsRenderInBothLanguages(t *testing.T) {
	ents, err := os.ReadDir(capturesDir)
	if err != nil {
		sharedtest.Missing(t, capturesDir, err)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || e.Name() == "MANIFEST.tsv" {
			continue
		}
		r := loadReport(t, e.Name(), catalog.English)
		check := func(where string, fs []analyze.Finding) {
			for _, f := range fs {
				seen[f.ID] = true
				en, nl := FindingText(f, catalog.English), FindingText(f, catalog.Dutch)
				if placeholder.MatchString(en) || placeholder.MatchString(nl) {
					t.Errorf("%s %s/%s: unfilled placeholder:\n en %q\n nl %q", e.Name(), where, f.ID, en, nl)
				}
				if en == nl {
					t.Errorf("%s %s/%s: same text in both languages: %q", e.Name(), where, f.ID, en)
				}
			}
		}
		check("input", r.Findings)
		for _, c := range r.Calls {
			check(c.CallID, c.Findings)
		}
		for _, g := range r.Registrations {
			check(g.CallID, g.Findings)
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d finding ids seen in the shared captures: %v", len(seen), seen)
	}
}

// A call stored as JSON (as the store keeps it) and read back renders the
// same texts as the call fresh from the analyzer, in either language: no
// analysis is needed to show a stored call in another language.
func TestStoredCallRendersInEitherLanguage(t *testing.T) {
	r := loadReport(t, "sngrep__aaa.pcap", catalog.English)
	if len(r.Calls) == 0 {
		t.Fatal("no calls")
	}
	for _, c := range r.Calls {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back analyze.Call
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for _, lang := range catalog.Langs {
			want, got := LocalizeCall(c, lang), LocalizeCall(&back, lang)
			if got.Summary != want.Summary || got.Explanation != want.Explanation || got.Background != want.Background ||
				!reflect.DeepEqual(got.Advice, want.Advice) || !reflect.DeepEqual(got.Findings, want.Findings) {
				t.Errorf("%s/%s: stored call renders differently:\n got %q\nwant %q", c.CallID, lang, got.Explanation, want.Explanation)
			}
		}
		en, nl := LocalizeCall(c, catalog.English), LocalizeCall(c, catalog.Dutch)
		if c.Outcome != analyze.OutcomeAnswered && (en.Explanation == "" || en.Explanation == nl.Explanation) {
			t.Errorf("%s: explanation en %q nl %q", c.CallID, en.Explanation, nl.Explanation)
		}
	}
}

// Seconds are shown with the reader's decimal sign, counts as words where
// a language says so, and a phrase with a count uses its singular for one.
func TestFindingValuesLocalised(t *testing.T) {
	f := analyze.Finding{ID: "no-response", Values: map[string]string{"what": "INVITE", "to": "192.0.2.1:5060", "count": "1", "secs": "31.5"}}
	en, nl := FindingText(f, catalog.English), FindingText(f, catalog.Dutch)
	for _, c := range []struct{ got, want string }{{en, "sent once over 31.5 s"}, {nl, "in 31,5 s"}} {
		if !regexp.MustCompile(regexp.QuoteMeta(c.want)).MatchString(c.got) {
			t.Errorf("%q does not contain %q", c.got, c.want)
		}
	}
	g := analyze.Finding{ID: "auth-failed", Values: map[string]string{"to": "x"},
		Parts: map[string][]analyze.Part{"what": {{Phrase: "auth-credentials-refused", Values: map[string]string{"n": "1"}}}}}
	if got := FindingText(g, catalog.Dutch); !regexp.MustCompile(`één keer verstuurd`).MatchString(got) {
		t.Errorf("Dutch singular: %q", got)
	}
}

// TestUnknownIsAWord: an address or value the input did not give (the
// analyzer's "?") is written as a word, "onbekend" or "unknown", never as
// a question mark (review U16: "Route 135.9.28.76:5060 → ?").
func TestUnknownIsAWord(t *testing.T) {
	f := analyze.Finding{ID: "no-response", Values: map[string]string{"what": "INVITE", "to": "?", "count": "3", "secs": "?"}}
	for lang, word := range map[catalog.Lang]string{catalog.English: "unknown", catalog.Dutch: "onbekend"} {
		got := FindingText(f, lang)
		if strings.Contains(got, "?") || !strings.Contains(got, word) {
			t.Errorf("%s: %q; want %q, no question mark", lang, got, word)
		}
		if a := addrText(lang, "?"); a != word {
			t.Errorf("%s: an unknown address is %q", lang, a)
		}
	}
}

// TestHeadlineOneClause: a call's headline, read in the list of calls, is
// its diagnosis's first sentence, and of a long one its first clause: the
// 488 of the example is "No common media format: the offer had audio:
// PCMU.", not four clauses and the Warning header.
func TestHeadlineOneClause(t *testing.T) {
	want := map[catalog.Lang]string{
		catalog.English: "No common media format: the offer had audio: PCMU.",
		catalog.Dutch:   "Geen gemeenschappelijk mediaformaat: het aanbod bevatte audio: PCMU.",
	}
	for lang, w := range want {
		r := loadReport(t, "../examples/failed-calls.pcapng", lang)
		found := false
		for _, c := range r.Calls {
			lc := LocalizeCall(c, lang)
			if n := utf8.RuneCountInString(lc.Summary); n > headlineMax && strings.Contains(lc.Summary, "; ") {
				t.Errorf("%s %s: a headline of %d characters: %q", lang, c.CallID, n, lc.Summary)
			}
			if strings.HasPrefix(c.CallID, "e2e-codec-mismatch") {
				found = true
				if lc.Summary != w {
					t.Errorf("%s: the 488's headline %q, want %q", lang, lc.Summary, w)
				}
			}
		}
		if !found {
			t.Fatal("no codec-mismatch call in the example")
		}
	}
}

// FuzzFoldSpaces: fill's shortcut (a text already single-spaced is
// returned as it is) gives what strings.Fields and Join give, for any
// bytes: values in a finding's text come from SIP messages.
func FuzzFoldSpaces(f *testing.F) {
	for _, s := range []string{"", " ", "a", "a b", " a", "a ", "a  b", "a\tb", "a\nb", "a\u00a0b", "a\u0085b",
		"a\u2028b", "a\u3000b", "beëindigd", "\xff \xfe", "a \xc2", "\xc2\xa0", "a\x1cb", "a\x85b", "404 Not Found",
		"The number bench is not known (404 Not Found).", "aaaaaaa  bbbbbbb", "aaaaaaaaaaaaaaa ", " aaaaaaaaaaaaaaa",
		"aaaaaaaa bbbbbbb", "aaaaaaa\tbbbbbbbb", "aaaaaaa\u00a0bbbbbbbb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.Join(strings.Fields(s), " ")
		if got := foldSpaces(s); got != want {
			t.Errorf("foldSpaces(%q) = %q, want %q", s, got, want)
		}
	})
}

// randomText joins up to max-1 of parts, drawn at random: one in oneIn
// of them from all of parts, the others from its first four, the plain
// ones, so that the rare bytes stand at every position among them.
func randomText(r *rand.Rand, parts []string, max, oneIn int) string {
	var b strings.Builder
	for range r.IntN(max) {
		if r.IntN(oneIn) == 0 {
			b.WriteString(parts[r.IntN(len(parts))])
		} else {
			b.WriteString(parts[r.IntN(4)])
		}
	}
	return b.String()
}

// TestFoldSpaces compares foldSpaces with strings.Fields and Join on
// random texts made of letters, spaces and the other white space, at
// every position in the eight-byte words singleSpaced tests at once.
func TestFoldSpaces(t *testing.T) {
	parts := []string{"a", "b", "é", " ", " ", " ", "\t", "\n", "\u00a0", "\u2028", "\x85", "\xff", "\x1c", ".", "{", "\u3000"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		s := randomText(r, parts, 40, 4)
		if got, want := foldSpaces(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Fatalf("foldSpaces(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestAtoi: atoi agrees with strconv.Atoi.
func TestAtoi(t *testing.T) {
	for _, s := range []string{"", "0", "7", "404", "00404", "+404", "-1", "4x", " 4", "999999999", "1000000000",
		"99999999999999999999", "١٢", "4\x00"} {
		n, ok := atoi(s)
		wn, err := strconv.Atoi(s)
		if ok != (err == nil) || ok && n != wn {
			t.Errorf("atoi(%q) = %d, %v; strconv.Atoi %d, %v", s, n, ok, wn, err)
		}
	}
}

// TestFindingMemo: a stream's memo of finding texts gives the text
// FindingText renders, whatever came before: every finding id with its
// template's own placeholders filled from a few values (so that the same
// id comes back with the same values, with one of them changed, with one
// more or one fewer, or with a value under another name), with parts
// (never memoized), with too many or too long values, in both languages.
func TestFindingMemo(t *testing.T) {
	ids := analyze.FindingIDs()
	names := map[string][]string{}
	for _, id := range ids {
		ft := analyze.FindingTexts()[id]
		for _, m := range placeholder.FindAllString(ft.EN+ft.NL, -1) {
			if name := m[1 : len(m)-1]; !slices.Contains(names[id], name) {
				names[id] = append(names[id], name)
			}
		}
	}
	vals := []string{"404", "503", "1.5", "?", "", "127.0.0.1:5060 (Asterisk)", "bench", "INVITE", "2"}
	var memo findingMemo // one for both languages: each text is kept with its own
	for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch, catalog.English} {
		r := rand.New(rand.NewPCG(15, 16))
		for i := range 50000 {
			id := ids[r.IntN(len(ids))]
			if i%7 == 0 {
				id = ids[r.IntN(3)] // a few ids often: hits
			}
			f := analyze.Finding{ID: id, Values: map[string]string{}}
			for _, name := range names[id] {
				if r.IntN(6) > 0 {
					f.Values[name] = vals[r.IntN(3)*r.IntN(len(vals))/2]
				}
			}
			switch r.IntN(12) {
			case 0:
				f.Values["extra"] = vals[r.IntN(len(vals))]
			case 1:
				f.Values = nil
			case 2:
				for k := range findingMemoValues + 1 {
					f.Values["k"+strconv.Itoa(k)] = "v"
				}
			case 3:
				f.Values["long"] = strings.Repeat("x", findingMemoBytes)
			case 4:
				f.Parts = map[string][]analyze.Part{"detail": {{Raw: vals[r.IntN(len(vals))]}}}
			}
			if got, want := memo.text(&f, lang), FindingText(f, lang); got != want {
				t.Fatalf("%s %d: %s %v: memo %q, FindingText %q", lang, i, f.ID, f.Values, got, want)
			}
		}
		kept := 0
		for _, s := range memo.slots {
			if s.text != "" {
				kept++
				if n := len(s.kv); n > findingMemoValues {
					t.Errorf("a slot keeps %d values", n)
				}
			}
		}
		if kept == 0 {
			t.Errorf("%s: nothing kept", lang)
		}
	}
}
