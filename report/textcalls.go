package report

import (
	"sort"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// TextCalls holds the calls of a text report kept small: of every call
// the few words of its overview line and its group, and the whole call
// only where the report may explain it (review L9: a million failed calls
// must fit in memory the way the streamed JSON does). Give it to Text in
// TextOptions.Calls; Text then ignores the report's own Calls.
type TextCalls struct {
	lang  catalog.Lang
	lines []callLine
	words map[string]string // repeated words (statuses, summaries, hosts), kept once
}

// callLine is what the text report needs of a call it does not explain.
type callLine struct {
	start           time.Time
	caller, callee  string
	reason, summary string
	key             groupKey
	problem         bool
	full            *analyze.Call // nil unless the report may explain the call
}

// NewTextCalls starts an empty list of calls whose summaries are put into
// words in lang (the language the report is written in).
func NewTextCalls(lang catalog.Lang) *TextCalls {
	return &TextCalls{lang: lang, words: map[string]string{}}
}

// Add keeps c's line and, when full, c itself, for the report to explain;
// it gives the number of c in the list, for Forget. Strings are copied, so
// that they do not pin the captured packets.
func (tc *TextCalls) Add(c *analyze.Call, full bool) int {
	ln := callLine{
		start: c.Start, caller: strings.Clone(c.Caller), callee: strings.Clone(c.Callee),
		reason: tc.word(c.Reason), summary: tc.word(LocalizeCall(c, tc.lang).Summary),
		problem: hasProblem(c.Findings),
	}
	ln.key = keyOf(c)
	ln.key.id, ln.key.outcome, ln.key.fault, ln.key.from = tc.word(ln.key.id), tc.word(ln.key.outcome), tc.word(ln.key.fault), tc.word(ln.key.from)
	if c.Outcome == analyze.OutcomeAnswered {
		ln.key.id = strings.Clone(c.CallID) // answered calls are not grouped: see explain
	}
	if full {
		ln.full = c
	}
	tc.lines = append(tc.lines, ln)
	return len(tc.lines) - 1
}

// Forget lets go of the whole call number i (from Add): another call of
// its group will be explained instead.
func (tc *TextCalls) Forget(i int) { tc.lines[i].full = nil }

// Sort puts the calls in the order they started, which is the order
// people read them in; calls that started at once keep the order they
// were added in.
func (tc *TextCalls) Sort() {
	sort.SliceStable(tc.lines, func(i, j int) bool { return tc.lines[i].start.Before(tc.lines[j].start) })
}

// Len is the number of calls kept.
func (tc *TextCalls) Len() int { return len(tc.lines) }

// word gives s as kept before, if it was: statuses, summaries and hosts
// repeat from call to call. Past a few thousand different words the rest
// are only copied, so that calls that all differ cost no map.
func (tc *TextCalls) word(s string) string {
	if w, ok := tc.words[s]; ok {
		return w
	}
	w := strings.Clone(s)
	if len(tc.words) < 4096 {
		tc.words[w] = w
	}
	return w
}
