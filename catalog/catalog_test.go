package catalog

import (
	"bufio"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// refDir is the project's shared reference folder, beside the repository.
const refDir = "../../shared/reference"

// readTSV returns the data rows of a reference TSV (comment lines and the
// header skipped), or skips the test when the shared folder is absent.
func readTSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(refDir, name))
	if os.IsNotExist(err) {
		sharedtest.Missing(t, filepath.Join(refDir, name), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if header {
			header = false
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}

// rfcName turns the registry's "RFC3261" into "RFC 3261".
func rfcName(s string) string { return strings.Replace(s, "RFC", "RFC ", 1) }

func TestRegistryMatchesIANA(t *testing.T) {
	rows := readTSV(t, "sip_codes.tsv")
	cat := Default()
	if got, want := len(cat.Codes()), len(rows); got != want {
		t.Errorf("knowledge base has %d codes, registry %d", got, want)
	}
	for _, r := range rows {
		code := atoi(t, r[0])
		e, ok := cat.Lookup(code)
		if !ok {
			t.Errorf("%d: in the IANA registry but not in the knowledge base", code)
			continue
		}
		if e.Reason != r[1] {
			t.Errorf("%d: phrase %q, registry says %q", code, e.Reason, r[1])
		}
		if want := rfcName(r[2]); len(e.RFC) == 0 || e.RFC[0] != want {
			t.Errorf("%d: rfc %v, registry says %s first", code, e.RFC, want)
		}
		if !strings.HasPrefix(e.Ref, "RFC ") || !strings.Contains(e.Ref, "§") {
			t.Errorf("%d: ref %q should name an RFC section", code, e.Ref)
		}
	}
}

func TestEveryCodeHasTexts(t *testing.T) {
	for _, e := range Default().Codes() {
		if !e.Fault.Valid() {
			t.Errorf("%d: bad fault %q", e.Code, e.Fault)
		}
		if c := e.Class(); c < 1 || c > 6 {
			t.Errorf("%d: class %d", e.Code, c)
		}
		if e.Code < 300 && e.Fault != FaultNone {
			t.Errorf("%d: a 1xx/2xx code is not a failure, fault %q", e.Code, e.Fault)
		}
		en, nl := e.Text(English), e.Text(Dutch)
		for _, x := range []struct {
			lang string
			t    Text
		}{{"en", en}, {"nl", nl}} {
			if strings.TrimSpace(x.t.Summary) == "" || strings.Contains(x.t.Summary, "\n") {
				t.Errorf("%d/%s: summary must be one non-empty line: %q", e.Code, x.lang, x.t.Summary)
			}
			if len(strings.Fields(x.t.Explanation)) < 12 {
				t.Errorf("%d/%s: explanation too short: %q", e.Code, x.lang, x.t.Explanation)
			}
			if len(x.t.Advice) == 0 {
				t.Errorf("%d/%s: no advice", e.Code, x.lang)
			}
			for _, a := range x.t.Advice {
				if strings.TrimSpace(a) == "" {
					t.Errorf("%d/%s: empty advice step", e.Code, x.lang)
				}
			}
			if strings.Contains(x.t.Summary+x.t.Explanation, "TODO") {
				t.Errorf("%d/%s: TODO left in the text", e.Code, x.lang)
			}
		}
		if en.Summary == nl.Summary || en.Explanation == nl.Explanation {
			t.Errorf("%d: English and Dutch texts are the same", e.Code)
		}
		for i := range min(len(en.Advice), len(nl.Advice)) {
			if en.Advice[i] == nl.Advice[i] {
				t.Errorf("%d: advice step %d is the same in English and Dutch", e.Code, i+1)
			}
		}
	}
}

func TestQ850MatchesReference(t *testing.T) {
	rows := readTSV(t, "q850_causes.tsv")
	cat := Default()
	if got, want := len(cat.Causes()), len(rows); got != want {
		t.Errorf("knowledge base has %d Q.850 causes, reference %d", got, want)
	}
	for _, r := range rows {
		v := atoi(t, r[0])
		c, ok := cat.Cause(v)
		if !ok {
			t.Errorf("cause %d missing", v)
			continue
		}
		if c.Name != r[1] {
			t.Errorf("cause %d: name %q, reference %q", v, c.Name, r[1])
		}
		if c.Class != r[2] || CauseClass(v) != r[2] {
			t.Errorf("cause %d: class %q / computed %q, reference %q", v, c.Class, CauseClass(v), r[2])
		}
		if !c.Fault.Valid() {
			t.Errorf("cause %d: bad fault %q", v, c.Fault)
		}
		if strings.TrimSpace(c.EN) == "" || strings.TrimSpace(c.NL) == "" || c.EN == c.NL {
			t.Errorf("cause %d: English and Dutch meanings must both be present and differ", v)
		}
	}
	for v := 1; v <= 127; v++ { // total lookups, no panic
		_, _ = cat.Cause(v)
		if CauseClass(v) == "" {
			t.Errorf("cause %d has no class", v)
		}
	}
}

func TestSIPToQ850MatchesRFC3398(t *testing.T) {
	cat := Default()
	listed := map[int]bool{}
	for _, r := range readTSV(t, "sip_to_q850.tsv") {
		code := atoi(t, r[0])
		listed[code] = true
		want := 0
		if strings.TrimSpace(r[5]) != "" {
			want = atoi(t, r[5])
		}
		if got := cat.SIPToCause(code); got != want {
			t.Errorf("SIP %d -> Q.850 %d, RFC 3398 §8.2.6.1 says %d", code, got, want)
		}
	}
	// The section's default for a 4xx-6xx it does not list is 31.
	for _, e := range cat.Codes() {
		if e.Code >= 400 && !listed[e.Code] {
			if got := cat.SIPToCause(e.Code); got != 31 {
				t.Errorf("unlisted SIP %d -> %d, want the default 31", e.Code, got)
			}
		}
	}
	for _, code := range []int{100, 180, 200, 302, 0, 700} {
		if got := cat.SIPToCause(code); got != 0 {
			t.Errorf("SIP %d is no failure, got cause %d", code, got)
		}
	}
}

func TestQ850ToSIPMatchesRFC3398(t *testing.T) {
	cat := Default()
	listed := map[int]bool{}
	for _, r := range readTSV(t, "q850_to_sip.tsv") {
		cause := atoi(t, r[0])
		want := 0
		if strings.TrimSpace(r[2]) != "" {
			want = atoi(t, r[2])
		}
		found := false
		for _, m := range cat.CauseToSIPAll(cause) {
			if m.Code == want {
				found = true
			}
		}
		if !found {
			t.Errorf("Q.850 %d: RFC 3398 §7.2.4.1 row to %d missing (have %v)", cause, want, cat.CauseToSIPAll(cause))
		}
		if !listed[cause] && cat.CauseToSIP(cause) != want {
			t.Errorf("Q.850 %d -> %d, want %d (first row)", cause, cat.CauseToSIP(cause), want)
		}
		listed[cause] = true
	}
	if got := cat.CauseToSIP(44); got != 0 {
		t.Errorf("cause 44 is untranslatable: got %d, want 0 (no response)", got)
	}
	for v := 1; v <= 127; v++ {
		if !listed[v] && v != 44 && cat.CauseToSIP(v) != 500 {
			t.Errorf("unlisted cause %d -> %d, want the default 500", v, cat.CauseToSIP(v))
		}
	}
}

func TestWarnCodesMatchReference(t *testing.T) {
	rows := readTSV(t, "sip_warning_codes.tsv")
	cat := Default()
	if got, want := len(cat.WarnCodes()), len(rows); got != want {
		t.Errorf("%d warn-codes, reference %d", got, want)
	}
	for _, r := range rows {
		v := atoi(t, r[0])
		w, ok := cat.WarnCode(v)
		if !ok {
			t.Errorf("warn-code %d missing", v)
			continue
		}
		if w.Text != r[1] || w.RFC != rfcName(r[2]) {
			t.Errorf("warn-code %d: %q %q, reference %q %q", v, w.Text, w.RFC, r[1], rfcName(r[2]))
		}
		if w.EN == "" || w.NL == "" || w.EN == w.NL {
			t.Errorf("warn-code %d: English and Dutch meanings must both be present and differ", v)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		code       int
		registered bool
		entry      int
		wantErr    bool
	}{
		{486, true, 486, false},
		{500, true, 500, false},
		{499, false, 400, false},
		{199, true, 199, false},
		{150, false, 183, false}, // RFC 3261 §8.1.3.2: unknown 1xx as 183
		{299, false, 200, false},
		{399, false, 300, false},
		{555, true, 555, false},
		{599, false, 500, false},
		{699, false, 600, false},
		{100, true, 100, false},
		{0, false, 0, true},
		{99, false, 0, true},
		{700, false, 0, true},
		{-486, false, 0, true},
	}
	for _, tc := range tests {
		r, err := Resolve(tc.code)
		if tc.wantErr {
			if err == nil {
				t.Errorf("Resolve(%d): want an error", tc.code)
			}
			continue
		}
		if err != nil || r.Registered != tc.registered || r.Entry.Code != tc.entry || r.Asked != tc.code {
			t.Errorf("Resolve(%d) = %+v, %v; want registered=%v entry=%d", tc.code, r.Registered, err, tc.registered, tc.entry)
		}
	}
	if Phrase(500) != "Server Internal Error" {
		t.Errorf("500 is %q, want Server Internal Error (not the seed's Multiple Choices)", Phrase(500))
	}
	if Phrase(499) != "" || Phrase(-1) != "" || Phrase(1<<30) != "" {
		t.Error("Phrase of an unknown code must be empty")
	}
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]Lang{"en": English, "NL": Dutch, "nl_NL.UTF-8": Dutch, "en_GB": English} {
		if got, err := ParseLang(in); err != nil || got != want {
			t.Errorf("ParseLang(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "de", "english"} {
		if _, err := ParseLang(in); err == nil {
			t.Errorf("ParseLang(%q): want an error", in)
		}
	}
}

// The SIP codes and Q.850 causes RFC 3398 maps onto each other for the same
// event (§7.2.4.1, §8.2.6.1) must place the cause on the same side: one call
// can show both, in its status and in its Reason header (issue 8, T9).
func TestRFC3398PairsAgreeOnFault(t *testing.T) {
	c := Default()
	pairs := [][2]int{{484, 28}, {408, 18}, {403, 21}, {482, 25}, {483, 25}, {502, 38}}
	for _, p := range pairs {
		code, ok := c.Lookup(p[0])
		cause, ok2 := c.Cause(p[1])
		if !ok || !ok2 {
			t.Fatalf("%d or cause %d missing", p[0], p[1])
		}
		if code.Fault != cause.Fault {
			t.Errorf("SIP %d is %q but Q.850 %d is %q", p[0], code.Fault, p[1], cause.Fault)
		}
	}
}

// Every wire phrase is matched by its own text, for its code.
func TestWirePhrases(t *testing.T) {
	c := Default()
	if len(c.WirePhrases()) == 0 {
		t.Fatal("no wire phrases")
	}
	for _, w := range c.WirePhrases() {
		got, ok := c.WirePhrase(w.Code, "XX "+strings.ToUpper(w.Match)+" (1/SL)")
		if !ok || got.Meaning != w.Meaning {
			t.Errorf("%q with %d: got %+v %v", w.Match, w.Code, got, ok)
		}
	}
	if _, ok := c.WirePhrase(486, "Busy Here"); ok {
		t.Error("an ordinary phrase must not match")
	}
	if w, _ := c.WirePhrase(478, "Unresolvable destination (478/SL)"); w.Code != 478 {
		t.Errorf("the entry for the exact code must win: %+v", w)
	}
}
