package report

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// Localized is an analysis with every text rendered in one language: what
// the text, HTML, CSV and JSON renderers print. The analyzer's model holds
// data only (codes, addresses, times, finding ids and their values); the
// texts come from analyze/data/findings.yaml, analyze/data/phrases.yaml and
// the catalog, so a stored call can be shown in either language without
// analysing it again.
type Localized struct {
	*analyze.Report
	Lang          catalog.Lang `json:"lang"`
	Calls         []*Call      `json:"calls"`
	Registrations []*Register  `json:"registrations"`
	Dialogs       []*Dialog    `json:"dialogs"`
	Findings      []Finding    `json:"findings"`
	Hosts         []Host       `json:"hosts"`
}

// Call is a call with its texts in one language.
type Call struct {
	*analyze.Call
	Summary     string    `json:"summary"`              // one sentence: what happened
	Explanation string    `json:"explanation"`          // what happened here, in plain words
	Background  string    `json:"background,omitempty"` // what the final status means in general
	Advice      []string  `json:"advice"`
	Findings    []Finding `json:"findings"`
	Reasons     []Decoded `json:"reasons,omitempty"`
	Warnings    []Decoded `json:"warnings,omitempty"`
}

// Finding is a finding with its title and text in one language.
type Finding struct {
	analyze.Finding
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Decoded is a Reason (RFC 3326) or Warning (RFC 3261 §20.43) header value
// with its meaning from the catalog.
type Decoded struct {
	analyze.Decoded
	Meaning string `json:"meaning"`
}

// Register is a registration with its texts in one language.
type Register struct {
	*analyze.Register
	Summary  string    `json:"summary"`
	Advice   []string  `json:"advice"`
	Findings []Finding `json:"findings"`
}

// Dialog is a non-INVITE exchange with its summary in one language.
type Dialog struct {
	*analyze.Dialog
	Summary string `json:"summary"` // what the final status means, or that nothing came back
}

// Host is a host with the reason for its role in one language.
type Host struct {
	analyze.Host
	Why string `json:"why"`
}

// Localize renders every text of r in lang. r is not changed; the result
// shares its data.
func Localize(r *analyze.Report, lang catalog.Lang) *Localized {
	lr := &Localized{Report: r, Lang: lang, Calls: make([]*Call, 0, len(r.Calls)),
		Registrations: make([]*Register, 0, len(r.Registrations)), Dialogs: make([]*Dialog, 0, len(r.Dialogs)),
		Findings: localFindings(r.Findings, lang), Hosts: make([]Host, 0, len(r.Hosts))}
	for _, c := range r.Calls {
		lr.Calls = append(lr.Calls, LocalizeCall(c, lang))
	}
	for _, g := range r.Registrations {
		lr.Registrations = append(lr.Registrations, LocalizeRegister(g, lang))
	}
	for _, d := range r.Dialogs {
		lr.Dialogs = append(lr.Dialogs, LocalizeDialog(d, lang))
	}
	for _, h := range r.Hosts {
		lr.Hosts = append(lr.Hosts, Host{Host: h, Why: PhraseText(h.Why, nil, lang)})
	}
	return lr
}

// LocalizeCall renders the texts of one call in lang: the summary, the
// explanation, what the final status means in general, the advice, the
// findings and the meaning of its Reason and Warning headers.
//
// The diagnosis (the first finding of a call that was not answered) comes
// first; what the status code means in general (RFC 3261 §21 and the
// catalog) is kept as background. A diagnosis with its own advice (wrong
// credentials, an unreachable next hop) replaces the code's general text,
// which would only distract.
func LocalizeCall(c *analyze.Call, lang catalog.Lang) *Call {
	lc := &Call{}
	localizeCall(lc, c, lang, nil)
	return lc
}

// localizeCall is LocalizeCall into lc, whose slices are reused: a stream
// renders one call after the other, with the texts of its last findings
// in memo (nil: none).
func localizeCall(lc *Call, c *analyze.Call, lang catalog.Lang, memo *findingMemo) {
	*lc = Call{Call: c, Findings: appendLocalFindings(lc.Findings[:0], c.Findings, lang, memo), Advice: []string{},
		Reasons: lc.Reasons[:0], Warnings: lc.Warnings[:0]}
	for _, d := range c.Reasons {
		lc.Reasons = append(lc.Reasons, Decoded{Decoded: d, Meaning: ReasonMeaning(d.Value, lang)})
	}
	for _, d := range c.Warnings {
		lc.Warnings = append(lc.Warnings, Decoded{Decoded: d, Meaning: WarningMeaning(d.Value, lang)})
	}
	if c.Outcome == analyze.OutcomeAnswered {
		if main, ok := c.Diagnosis(); ok {
			// The audio failed: that is what the call is about.
			lc.Explanation = lc.Findings[0].Text
			lc.Summary = firstSentence(lc.Explanation)
			lc.Advice = nonNil(findingAdvice(main.ID, lang))
			return
		}
		lc.Summary = PhraseText("call-answered", nil, lang)
		lc.Explanation = lc.Summary
		return
	}
	main, hasMain := c.Diagnosis()
	mainText := ""
	if hasMain {
		mainText = lc.Findings[0].Text
	}
	own := findingAdvice(main.ID, lang)
	// The background is about the answer the diagnosis explains: the
	// original one when a proxy rewrote it on the way (603 told as 486).
	code := c.FinalStatus
	if n, ok := atoi(main.Values["code"]); hasMain && ok && n >= 300 && c.FinalStatus >= 300 {
		code = n
	}
	// A Q.850 cause that decided over a generic code (480 with cause 17,
	// user busy): the background is about the code RFC 3398 §7.2.4.1 maps
	// the cause to, when that code places the cause where the verdict does.
	if n, ok := atoi(main.Values["cause"]); hasMain && ok && code != 0 {
		mapped := catalog.Default().CauseToSIP(n)
		if e, ok := catalog.Default().Lookup(mapped); ok && mapped >= 300 && string(e.Fault) == c.Fault {
			code = mapped
		}
	}
	if code != 0 {
		if res, err := catalog.Default().Resolve(code); err == nil {
			tx := res.Entry.Text(lang)
			lc.Summary, lc.Explanation, lc.Advice = tx.Summary, tx.Explanation, nonNil(tx.Advice)
			if hasMain {
				lc.Explanation, lc.Background = mainText, tx.Explanation
				// The verdict put the cause on another side than the
				// code usually is (a 488 your provider's SBC sent to your
				// offer is your side): the code's one-line summary and its
				// general background ("the call reached the other side,
				// which could not accept...") would name the wrong side,
				// so the diagnosis is the headline and the whole story.
				if string(res.Entry.Fault) != c.Fault {
					lc.Summary = firstSentence(mainText)
					lc.Background = ""
				}
			}
		}
	} else if hasMain {
		lc.Explanation = mainText
		lc.Summary = firstSentence(mainText)
	}
	if len(own) > 0 || hasMain && analyze.Overrides(main.ID) {
		lc.Advice = own
		lc.Summary = firstSentence(mainText)
		lc.Background = ""
	}
}

// atoi is strconv.Atoi without the error value, which is allocated: most
// calls have no cause value, many no code.
func atoi(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	if len(s) <= 9 {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				goto other
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
other:
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// LocalizeRegister renders the texts of one registration in lang. A failed
// registration gets advice as a call does: the diagnosis's own advice (and
// then its first sentence as the summary, so that the headline and the
// advice agree), else the status code's.
func LocalizeRegister(g *analyze.Register, lang catalog.Lang) *Register {
	lg := &Register{Register: g, Findings: localFindings(g.Findings, lang), Advice: []string{}}
	diag, hasDiag := g.Diagnosis()
	diagText := ""
	if hasDiag {
		diagText = lg.Findings[0].Text
	}
	ok := g.Outcome == analyze.RegRegistered || g.Outcome == analyze.RegUnregistered
	if own := findingAdvice(diag.ID, lang); len(own) > 0 && !ok {
		lg.Summary, lg.Advice = firstSentence(diagText), own
		return lg
	}
	if g.FinalStatus != 0 && !ok {
		if res, err := catalog.Default().Resolve(g.FinalStatus); err == nil {
			tx := res.Entry.Text(lang)
			lg.Summary, lg.Advice = tx.Summary, nonNil(tx.Advice)
		}
		// The code's one-line summary speaks of calls ("the call went
		// round in a circle"); the diagnosis says what happened to this
		// registration (issue 8).
		if hasDiag {
			lg.Summary = firstSentence(diagText)
		}
	}
	if lg.Summary == "" {
		lg.Summary = firstSentence(diagText)
	}
	return lg
}

// LocalizeDialog renders the summary of a non-INVITE exchange in lang.
func LocalizeDialog(d *analyze.Dialog, lang catalog.Lang) *Dialog {
	ld := &Dialog{Dialog: d}
	switch {
	case d.Meaning != "":
		ld.Summary = PhraseText(d.Meaning, nil, lang)
	case d.FinalStatus != 0:
		if res, err := catalog.Default().Resolve(d.FinalStatus); err == nil {
			ld.Summary = res.Entry.Text(lang).Summary
		}
	case d.Outcome == "timeout":
		ld.Summary = PhraseText("timer-f", nil, lang)
	}
	return ld
}

func localFindings(fs []analyze.Finding, lang catalog.Lang) []Finding {
	return appendLocalFindings(make([]Finding, 0, len(fs)), fs, lang, nil)
}

// appendLocalFindings appends fs with their texts to out, taking from
// memo (nil: none) the texts it rendered for the same id and values. The
// result is never nil: a call without findings has "findings": [], not
// null.
func appendLocalFindings(out []Finding, fs []analyze.Finding, lang catalog.Lang, memo *findingMemo) []Finding {
	if out == nil {
		out = make([]Finding, 0, len(fs))
	}
	for i := range fs {
		f := &fs[i]
		out = append(out, Finding{Finding: *f, Title: FindingTitle(f.ID, lang), Text: memo.text(f, lang)})
	}
	return out
}

// findingMemo keeps the text last rendered for a finding id with the
// values it was rendered from. FindingText depends on nothing else (for a
// finding without parts, in one language), and the findings of a large
// capture repeat with the same values (the same code from the same host
// for the same number): a stream renders such a text once and then gives
// the same string, and its JSON is then found by that string. What it
// keeps is bounded: findingMemoSlots texts of findings with at most
// findingMemoValues values of findingMemoBytes bytes in all.
type findingMemo struct {
	slots [findingMemoSlots]findingMemoSlot
}

type findingMemoSlot struct {
	id   string
	lang catalog.Lang
	kv   [][2]string // the finding's values; a copy of the map's pairs
	text string      // "": none
}

const (
	findingMemoSlots  = 32
	findingMemoValues = 12
	findingMemoBytes  = 2048
)

// text is FindingText(*f, lang), from the memo when the same id had the
// same values last time (in the same language: a stream has one).
func (m *findingMemo) text(f *analyze.Finding, lang catalog.Lang) string {
	if m == nil || len(f.Parts) > 0 || len(f.Values) > findingMemoValues || f.ID == "" {
		return FindingText(*f, lang)
	}
	s := &m.slots[findingSlot(f.ID, findingMemoSlots)]
	if s.text != "" && s.id == f.ID && s.lang == lang && sameValues(s.kv, f.Values) {
		return s.text
	}
	text := FindingText(*f, lang)
	s.id, s.lang, s.text, s.kv = f.ID, lang, text, s.kv[:0]
	n := len(f.ID) + len(text)
	for k, v := range f.Values {
		s.kv = append(s.kv, [2]string{k, v})
		n += len(k) + len(v)
	}
	if n > findingMemoBytes || text == "" {
		clear(s.kv) // keeps no long value
		s.id, s.text, s.kv = "", "", s.kv[:0]
	}
	return text
}

func findingAdvice(id string, lang catalog.Lang) []string {
	if id == "" {
		return nil
	}
	ft := analyze.FindingTexts()[id]
	if lang == catalog.Dutch {
		return ft.AdviceNL
	}
	return ft.AdviceEN
}

// FindingTitle is the heading of a finding in lang ("Busy", "Bezet"), or
// its id when it has no title yet.
func FindingTitle(id string, lang catalog.Lang) string {
	if t, ok := findingTitles()[id]; ok {
		if lang == catalog.Dutch {
			return t[1]
		}
		return t[0]
	}
	return id
}

// findingTitles are the titles of the findings ("title-" phrases) in
// English and Dutch, by finding id: rendered once, as every call of a
// large capture has findings.
var findingTitles = sync.OnceValue(func() map[string][2]string {
	m := map[string][2]string{}
	for id, p := range analyze.Phrases() {
		if f, ok := strings.CutPrefix(id, "title-"); ok {
			m[f] = [2]string{phraseText(p, nil, catalog.English), phraseText(p, nil, catalog.Dutch)}
		}
	}
	return m
})

// FindingText renders the text of a finding in lang: the text of its id
// from analyze/data/findings.yaml with the placeholders filled from its
// values and parts. Seconds get the reader's decimal sign; {times} (how
// often, in words) comes from {count}; {meaning} is what the status code,
// or the Reason or Warning value, means according to the catalog.
func FindingText(f analyze.Finding, lang catalog.Lang) string {
	ft, ok := analyze.FindingTexts()[f.ID]
	if !ok {
		return f.ID
	}
	tmpl := ft.EN
	if lang == catalog.Dutch {
		tmpl = ft.NL
	}
	return fill(tmpl, func(name string) (string, bool) {
		if ps, ok := f.Parts[name]; ok {
			return joinParts(ps, lang), true
		}
		if v, ok := f.Values[name]; ok {
			return localValue(name, v, lang), true
		}
		switch name {
		case "times":
			if c, ok := f.Values["count"]; ok {
				return timesText(c, lang), true
			}
		case "meaning":
			switch f.ID {
			case "reason-header":
				return ReasonMeaning(f.Values["value"], lang), true
			case "warning-header":
				return WarningMeaning(f.Values["value"], lang), true
			}
			if code, ok := atoi(f.Values["code"]); ok {
				if res, err := catalog.Default().Resolve(code); err == nil {
					return res.Entry.Text(lang).Summary, true
				}
			}
		}
		return "", false
	})
}

// PhraseText renders a phrase of analyze/data/phrases.yaml in lang. An id
// that is not a phrase is returned as it is.
func PhraseText(id string, values map[string]string, lang catalog.Lang) string {
	if values == nil {
		if t, ok := plainPhrases()[id]; ok {
			if lang == catalog.Dutch {
				return t[1]
			}
			return t[0]
		}
	}
	p, ok := analyze.Phrases()[id]
	if !ok {
		return id
	}
	return phraseText(p, values, lang)
}

// plainPhrases are the phrases rendered without values, in English and
// Dutch, by id: rendered once, as many calls of a large capture have one
// ("The call was answered.").
var plainPhrases = sync.OnceValue(func() map[string][2]string {
	m := map[string][2]string{}
	for id, p := range analyze.Phrases() {
		m[id] = [2]string{phraseText(p, nil, catalog.English), phraseText(p, nil, catalog.Dutch)}
	}
	return m
})

func phraseText(p analyze.Phrase, values map[string]string, lang catalog.Lang) string {
	tmpl := p.EN
	if lang == catalog.Dutch {
		tmpl = p.NL
	}
	if values["n"] == "1" && p.OneEN != "" {
		tmpl = p.OneEN
		if lang == catalog.Dutch {
			tmpl = p.OneNL
		}
	}
	return fill(tmpl, func(name string) (string, bool) {
		v, ok := values[name]
		if !ok {
			return "", false
		}
		return localValue(name, v, lang), true
	})
}

func joinParts(ps []analyze.Part, lang catalog.Lang) string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Phrase != "" {
			out = append(out, PhraseText(p.Phrase, p.Values, lang))
		} else {
			out = append(out, p.Raw)
		}
	}
	return strings.Join(out, "; ")
}

// localValue shows a value as a reader of lang expects it: seconds with
// the decimal comma in Dutch.
func localValue(name, v string, lang catalog.Lang) string {
	switch {
	case (v == "?" || v == "") && name != "min" && name != "retry":
		return word(lang, "unknown", "onbekend")
	case (name == "secs" || mediaDecimal[name]) && lang == catalog.Dutch:
		return strings.Replace(v, ".", ",", 1)
	}
	return v
}

// timesText says how often: once, twice, 3 times; in Dutch "1 keer".
func timesText(n string, lang catalog.Lang) string {
	if lang == catalog.Dutch {
		return n + " keer"
	}
	switch n {
	case "1":
		return "once"
	case "2":
		return "twice"
	}
	return n + " times"
}

// fill replaces {name} placeholders by what get returns; unknown ones are
// left as they are, so a missing value shows instead of vanishing. Runs of
// white space become one space, the ends none (strings.Fields): a value
// with a newline stays on the line. Most texts have nothing to fold, and
// a template without placeholders is returned as it is, without a copy:
// a call's texts are rendered for every call of a large capture.
func fill(tmpl string, get func(string) (string, bool)) string {
	if strings.IndexByte(tmpl, '{') < 0 {
		return foldSpaces(tmpl)
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 64)
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			break
		}
		name := tmpl[i+1 : i+j]
		b.WriteString(tmpl[:i])
		if val, ok := get(name); ok {
			b.WriteString(val)
		} else {
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
	return foldSpaces(b.String())
}

// foldSpaces is strings.Join(strings.Fields(s), " "), which is s itself
// when s has single spaces between words and none at its ends.
func foldSpaces(s string) string {
	if singleSpaced(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// singleSpaced reports whether the only white space (as strings.Fields
// reads it: unicode.IsSpace) in s is single U+0020 spaces between
// other characters. Words of eight bytes of plain ASCII are tested at
// once (SWAR), the rest a character at a time.
func singleSpaced(s string) bool {
	const lo, hi, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	space := true // a space at the start is one too many
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			w := s[i : i+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			// No byte >= 0x80 nor < 0x20 (so no tab, newline and the
			// like): then the spaces, exactly flagged, are all there is.
			if (x|(x-lo*0x20)&^x)&hi == 0 {
				y := x ^ (lo * ' ')
				sp := ^((y&low7 + low7) | y | low7) // 0x80 in each space byte
				if sp&(sp>>8) != 0 || space && sp&0x80 != 0 {
					return false // two spaces in a row
				}
				space = sp>>63 != 0
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case ' ':
				if space {
					return false
				}
				space = true
			case '\t', '\n', '\v', '\f', '\r':
				return false
			default:
				space = false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			return false
		}
		space = false
		i += n
	}
	return !space || s == ""
}

// ReasonMeaning says what a Reason header value (RFC 3326) means: each
// Q.850 cause or SIP code it carries, from the catalog.
func ReasonMeaning(value string, lang catalog.Lang) string {
	rs, err := catalog.ParseReason(value)
	if err != nil {
		return word(lang, "malformed Reason header", "ongeldige Reason-header")
	}
	cat := catalog.Default()
	var ms []string
	for _, r := range rs {
		switch {
		case r.IsQ850():
			if q, ok := cat.Cause(r.Cause); ok {
				ms = append(ms, fmt.Sprintf("Q.850 %d %s: %s", r.Cause, q.Name, q.Text(lang)))
			} else {
				ms = append(ms, fmt.Sprintf("Q.850 %d", r.Cause))
			}
		case r.IsSIP():
			if res, err := cat.Resolve(r.Cause); err == nil {
				meaning, _ := ReasonSIPMeaning(r, res.Entry, lang)
				ms = append(ms, fmt.Sprintf("SIP %d %s: %s", r.Cause, res.Entry.Reason, meaning))
			}
		default:
			ms = append(ms, r.Protocol+" "+strconv.Itoa(r.Cause))
		}
	}
	return strings.Join(ms, "; ")
}

// ReasonSIPMeaning is what the SIP cause of a Reason header means, and
// where its cause lies: those of the code (code is the catalog's entry for
// r.Cause), except for a call answered on another phone
// (Reason.AnsweredElsewhere), which is no failure whatever the code
// usually means (review T16: a 487 there is not "cancelled by the caller").
func ReasonSIPMeaning(r catalog.Reason, code catalog.Code, lang catalog.Lang) (string, catalog.Fault) {
	if r.AnsweredElsewhere() {
		return word(lang, "The call was answered on another phone that rang at the same time (a hunt group or a second device); this attempt was ended because of that, not refused.",
			"De oproep is aangenomen op een ander toestel dat tegelijk overging (een belgroep of een tweede toestel); deze poging is daarom beëindigd, niet geweigerd."), catalog.FaultNone
	}
	return code.Text(lang).Summary, code.Fault
}

// WarningMeaning says what a Warning header value (RFC 3261 §20.43) means,
// from the IANA warn-codes in the catalog.
func WarningMeaning(value string, lang catalog.Lang) string {
	ws, err := catalog.ParseWarning(value)
	if err != nil {
		return word(lang, "malformed Warning header", "ongeldige Warning-header")
	}
	cat := catalog.Default()
	var ms []string
	for _, w := range ws {
		if wc, ok := cat.WarnCode(w.Code); ok {
			ms = append(ms, fmt.Sprintf("%d %s: %s", w.Code, wc.Text, wc.Meaning(lang)))
		} else {
			ms = append(ms, fmt.Sprintf(word(lang, "%d is not a registered warn-code", "%d is geen geregistreerde warn-code"), w.Code))
		}
	}
	return strings.Join(ms, "; ")
}

func word(lang catalog.Lang, en, nl string) string {
	if lang == catalog.Dutch {
		return nl
	}
	return en
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	// A headline is read in a list, one line per call: a first sentence
	// that runs on over clauses ("No common media format: the offer had
	// audio: PCMU; the offer had no PCMA …; Warning: 305 …") ends at its
	// first clause, the rest is in the explanation below it.
	if utf8.RuneCountInString(s) > headlineMax {
		if i := strings.Index(s, "; "); i >= 20 {
			return s[:i] + "."
		}
	}
	return s
}

// headlineMax is the length of a first sentence kept whole as a headline.
const headlineMax = 100

// findingSlot is the slot of n that a finding id picks in the stream's
// caches of findings (findingMemo, the finding heads' JSON): by its length
// and its first and last bytes. id is not empty.
func findingSlot(id string, n int) int {
	return int((uint(len(id))*7 + uint(id[0])*3 + uint(id[len(id)-1])) % uint(n))
}

// sameValues reports whether a finding's values are the pairs kept of
// another's: as many, and each the same.
func sameValues(kv [][2]string, values map[string]string) bool {
	if len(kv) != len(values) {
		return false
	}
	for _, p := range kv {
		if v, ok := values[p[0]]; !ok || v != p[1] {
			return false
		}
	}
	return true
}
