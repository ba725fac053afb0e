package report

import (
	"sort"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// CallList holds the calls of a text or HTML report kept small: of every
// call the few words of its overview line (the table row of the page) and
// its group, and the whole call only where the report may explain it
// (review L9: a million failed calls must fit in memory the way the
// streamed JSON does). Give it to Text in TextOptions.Calls or to HTMLWith
// in HTMLOptions.Calls; they then ignore the report's own Calls.
type CallList struct {
	lang  catalog.Lang
	lines []callLine
	kinds map[lineKind]*lineKind // what calls have in common, kept once

	// What Keep keeps whole: per group the earliest call (the one the
	// reports explain), the answered calls the text explains, and the
	// calls the page may detail, by index in lines until Sort.
	keep      KeepFor
	textFirst map[GroupKey]int
	htmlFirst map[GroupKey]int
	details   []int // earliest first, at most htmlMaxDetails
}

// KeepFor says which reports a CallList is for, so that Keep keeps whole
// only the calls those reports explain.
type KeepFor struct {
	Text bool // the text report
	All  bool // the text report explains answered calls too (TextOptions.All)
	HTML bool // the HTML page
}

// callLine is what the reports need of a call they do not explain. What
// calls of a group share (status, side, summary, the host that answered)
// is one lineKind that they point to.
type callLine struct {
	start          time.Time
	caller, callee string
	*lineKind
	pdd, duration int64         // milliseconds, as the page's table shows them; 0 for none
	full          *analyze.Call // nil unless a report may explain the call
}

// lineKind is the part of a call's line that repeats from call to call.
type lineKind struct {
	key             GroupKey // the id is not the Call-ID for answered calls: see explain
	reason, summary string
	problem         bool
}

// NewCallList starts an empty list of calls whose summaries are put into
// words in lang (the language the report is written in), for the reports
// keep names.
func NewCallList(lang catalog.Lang, keep KeepFor) *CallList {
	return &CallList{lang: lang, kinds: map[lineKind]*lineKind{}, keep: keep,
		textFirst: map[GroupKey]int{}, htmlFirst: map[GroupKey]int{}}
}

// Add keeps c's line and, when full, c itself, for the report to explain;
// it gives the number of c in the list, for Forget. Strings are copied, so
// that they do not pin the captured packets.
func (tc *CallList) Add(c *analyze.Call, full bool) int {
	k := lineKind{key: KeyOf(c), reason: c.Reason, summary: LocalizeCall(c, tc.lang).Summary, problem: HasProblem(c.Findings)}
	ln := callLine{start: c.Start, caller: strings.Clone(c.Caller), callee: strings.Clone(c.Callee), lineKind: tc.kind(k)}
	if c.PDDMS > 0 && c.Times.Ringing != nil {
		ln.pdd = c.PDDMS // no ringing, no post-dial delay to speak of
	}
	ln.duration = max(c.DurationMS, 0)
	if full {
		ln.full = c
	}
	tc.lines = append(tc.lines, ln)
	return len(tc.lines) - 1
}

// Keep adds c the way Add does, and keeps the whole call only while one
// of the reports the list is for may explain it: the text explains the
// earliest call of each group of failures (and answered calls with a
// problem, or with All every one); the page details the earliest failed
// call of each group and the answered calls, the first htmlMaxDetails of
// them in the order of the table. Of a call only the text explains, the
// messages, frames and media are dropped from c: the text never shows
// them. Call Keep in the order the calls come; Sort once at the end.
//
// Keep reports whether the page may detail c: of a call it will not,
// nothing more is needed to draw the page (such as its SIP messages as
// captured, HTMLOptions.Raw).
func (tc *CallList) Keep(c *analyze.Call) bool {
	i := tc.Add(c, false)
	ln := &tc.lines[i]
	answered := ln.key.outcome == analyze.OutcomeAnswered
	text := false
	if tc.keep.Text && (tc.keep.All || ln.problem) {
		if answered {
			text = true
		} else if prev, ok := tc.textFirst[ln.key]; !ok || ln.start.Before(tc.lines[prev].start) {
			// A tie keeps the call that came first: Sort is stable.
			tc.textFirst[ln.key] = i
			text = true
			if ok {
				tc.release(prev)
			}
		}
	}
	html := false
	if tc.keep.HTML {
		candidate := answered
		if !answered {
			if prev, ok := tc.htmlFirst[ln.key]; !ok || ln.start.Before(tc.lines[prev].start) {
				tc.htmlFirst[ln.key] = i
				candidate = true
				if ok {
					tc.dropDetail(prev)
					tc.release(prev)
				}
			}
		}
		html = candidate && tc.addDetail(i)
	}
	if text || html {
		ln.full = c
		if !html {
			c.Messages, c.Frames, c.Media = nil, nil, nil
		}
	}
	return html
}

// before reports whether call i comes before call j in the report: it
// started earlier, or at the same moment and was added first.
func (tc *CallList) before(i, j int) bool {
	a, b := tc.lines[i].start, tc.lines[j].start
	return a.Before(b) || a.Equal(b) && i < j
}

// detailAt is where call i is or would be in tc.details.
func (tc *CallList) detailAt(i int) int {
	return sort.Search(len(tc.details), func(k int) bool { return !tc.before(tc.details[k], i) })
}

// addDetail puts call i among the calls the page may detail and reports
// whether it is one of the first htmlMaxDetails; the one it pushes out
// can never come back, since calls only ever join before it.
func (tc *CallList) addDetail(i int) bool {
	at := tc.detailAt(i)
	if at >= htmlMaxDetails {
		return false
	}
	tc.details = append(tc.details, 0)
	copy(tc.details[at+1:], tc.details[at:])
	tc.details[at] = i
	if len(tc.details) > htmlMaxDetails {
		out := tc.details[htmlMaxDetails]
		tc.details = tc.details[:htmlMaxDetails]
		tc.release(out)
	}
	return true
}

// dropDetail takes call i from the calls the page may detail, if it is
// one: an earlier call of its group took its place.
func (tc *CallList) dropDetail(i int) {
	if at := tc.detailAt(i); at < len(tc.details) && tc.details[at] == i {
		tc.details = append(tc.details[:at], tc.details[at+1:]...)
	}
}

// release lets go of as much of call i as no report needs any more.
func (tc *CallList) release(i int) {
	ln := &tc.lines[i]
	if ln.full == nil {
		return
	}
	if at := tc.detailAt(i); tc.keep.HTML && at < len(tc.details) && tc.details[at] == i {
		return
	}
	if tc.keep.Text && (tc.keep.All || ln.problem) {
		if ln.key.outcome == analyze.OutcomeAnswered || tc.textFirst[ln.key] == i {
			ln.full.Messages, ln.full.Frames, ln.full.Media = nil, nil, nil
			return
		}
	}
	ln.full = nil
}

// Forget lets go of the whole call number i (from Add): another call of
// its group will be explained instead.
func (tc *CallList) Forget(i int) { tc.lines[i].full = nil }

// Sort puts the calls in the order they started, which is the order
// people read them in; calls that started at once keep the order they
// were added in. Keep must not be called after Sort.
func (tc *CallList) Sort() {
	sort.SliceStable(tc.lines, func(i, j int) bool { return tc.lines[i].start.Before(tc.lines[j].start) })
	tc.textFirst, tc.htmlFirst, tc.details = nil, nil, nil
}

// Len is the number of calls kept.
func (tc *CallList) Len() int { return len(tc.lines) }

// kind gives k as kept before, if it was: calls that failed the same way
// share it. Past a few thousand different kinds the rest are only copied,
// so that calls that all differ cost no map.
func (tc *CallList) kind(k lineKind) *lineKind {
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
