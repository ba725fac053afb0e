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
	kinds map[lineKind]*lineKind // what calls have in common, kept once
}

// callLine is what the text report needs of a call it does not explain.
// What calls of a group share (status, side, summary, the host that
// answered) is one lineKind that they point to.
type callLine struct {
	start          time.Time
	caller, callee string
	*lineKind
	full *analyze.Call // nil unless the report may explain the call
}

// lineKind is the part of a call's line that repeats from call to call.
type lineKind struct {
	key             groupKey // the id is not the Call-ID for answered calls: see explain
	reason, summary string
	problem         bool
}

// NewTextCalls starts an empty list of calls whose summaries are put into
// words in lang (the language the report is written in).
func NewTextCalls(lang catalog.Lang) *TextCalls {
	return &TextCalls{lang: lang, kinds: map[lineKind]*lineKind{}}
}

// Add keeps c's line and, when full, c itself, for the report to explain;
// it gives the number of c in the list, for Forget. Strings are copied, so
// that they do not pin the captured packets.
func (tc *TextCalls) Add(c *analyze.Call, full bool) int {
	k := lineKind{key: keyOf(c), reason: c.Reason, summary: LocalizeCall(c, tc.lang).Summary, problem: hasProblem(c.Findings)}
	ln := callLine{start: c.Start, caller: strings.Clone(c.Caller), callee: strings.Clone(c.Callee), lineKind: tc.kind(k)}
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

// kind gives k as kept before, if it was: calls that failed the same way
// share it. Past a few thousand different kinds the rest are only copied,
// so that calls that all differ cost no map.
func (tc *TextCalls) kind(k lineKind) *lineKind {
	if p, ok := tc.kinds[k]; ok {
		return p
	}
	k.key.id, k.key.outcome, k.key.fault, k.key.from = strings.Clone(k.key.id), strings.Clone(k.key.outcome), strings.Clone(k.key.fault), strings.Clone(k.key.from)
	k.reason, k.summary = strings.Clone(k.reason), strings.Clone(k.summary)
	p := &k
	if len(tc.kinds) < 4096 {
		tc.kinds[k] = p
	}
	return p
}
