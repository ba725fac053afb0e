package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// TextOptions tune the text rendering.
type TextOptions struct {
	Lang   catalog.Lang
	Clock  Clock // the zone times are shown in; UTC when zero
	Colour bool  // ANSI colours; only for a terminal
	Width  int   // wrap width; 0 means 80
	All    bool  // explain answered calls too, not only failures
	Stats  bool  // the RFC 6076 metrics per peer too
	// Perspective words whose side the cause is on for the reader: the
	// customer (the default) or the provider's own helpdesk (review T25).
	Perspective catalog.Perspective
	// Calls, when set, are the calls to report in place of the report's
	// own: what a long capture keeps of them (see CallList).
	Calls *CallList
}

// Text writes r for a person, answer first: the counts, then one line per
// call (time, caller, callee, status, outcome, whose side, the reason in
// one sentence), then the explanation of each failure (calls that failed
// for the same reason at the same host once, with their list), the
// registrations, the other failed requests, and last the metrics, each
// with a line saying what it means.
//
// Every byte goes through a writer that escapes control characters (see
// Escape): the report quotes what senders wrote.
func Text(w io.Writer, ar *analyze.Report, o TextOptions) error {
	w = safeWriter{w}
	// The calls are put into words one at a time, when their line or
	// their explanation is written, not all at once: a capture of a
	// million failed calls must not hold a million explanations (review
	// L9).
	noCalls := *ar
	noCalls.Calls = nil
	r := Localize(&noCalls, o.Lang)
	if o.Width <= 0 {
		o.Width = 80
	}
	calls := o.Calls
	if calls == nil {
		calls = NewCallList(o.Lang, KeepFor{})
		for _, c := range ar.Calls {
			calls.Add(c, true)
		}
	}
	t := textReport{w: w, p: paint{On: o.Colour}, o: o, l: labels(o.Lang), n: numberFormat{o.Lang}, r: r, calls: calls.lines}
	t.head()
	t.overview()
	shown := t.explain()
	shown += t.registrations()
	shown += writeDialogs(w, t.p, r.Dialogs, o, t.l)
	if shown == 0 && len(t.calls)+len(r.Registrations) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, t.l["no failures"])
	}
	t.metrics()
	t.capture()
	return nil
}

type textReport struct {
	w      io.Writer
	p      paint
	o      TextOptions
	l      map[string]string
	n      numberFormat
	r      *Localized
	calls  []callLine // in the order of the overview; call i is #i+1
	oneDay bool
}

// when writes a moment in the reader's zone: the clock alone when the
// whole report is one day, else with the date.
func (t *textReport) when(tm time.Time, ms bool) string {
	if tm.IsZero() || tm.Year() < 1971 {
		return "–" // a log without timestamps
	}
	tm = t.o.Clock.In(tm)
	if t.oneDay {
		f := "15:04:05"
		if ms {
			f = "15:04:05.000"
		}
		s := tm.Format(f)
		if t.n.nl() {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	return t.n.Stamp(tm, ms)
}

func (t *textReport) head() {
	r, l, n := t.r, t.l, t.n
	s := r.Summary
	fmt.Fprintln(t.w, t.p.bold(l["title"]))
	var kv [][2]string
	if s.First != nil && s.Last != nil && s.First.Year() > 1970 {
		first, last := t.o.Clock.In(*s.First), t.o.Clock.In(*s.Last)
		t.oneDay = first.Format("20060102") == last.Format("20060102")
		end := last.Format("15:04:05")
		if !t.oneDay {
			end = n.Stamp(last, false)
		}
		kv = append(kv, [2]string{l["period"], n.Stamp(first, false) + " – " + end + " (" + t.o.Clock.Zone(first) + ")"})
	}
	kv = append(kv, [2]string{l["calls"], n.Int(s.Calls) + callCounts(t.o.Lang, s, t.calls)})
	regOK, regFail := registrationCounts(r.Registrations)
	kv = append(kv, [2]string{l["registrations"], fmt.Sprintf("%s: %s %s, %s %s", n.Int(len(r.Registrations)), n.Int(regOK), l["ok"], n.Int(regFail), l["failed"])})
	retr := l["retransmissions"]
	if s.Retransmitted == 1 {
		retr = l["retransmission"]
	}
	kv = append(kv, [2]string{l["messages"], fmt.Sprintf("%s (%s %s)", n.Int(s.Messages), n.Int(s.Retransmitted), retr)})
	for _, in := range r.Inputs {
		if in.Error != "" {
			kv = append(kv, [2]string{l["input"], in.File + ": " + l["skipped"] + " (" + strings.TrimPrefix(in.Error, in.File+": ") + ")"})
		}
	}
	writeKV(t.w, t.p, kv)
	for _, f := range r.Findings {
		fmt.Fprintln(t.w)
		writeFinding(t.w, t.p, f, t.o.Width, t.o.Lang)
	}
}

// callCounts lists every outcome with its count, so the parts add up to
// the number of calls: ": 3 answered, 1 cancelled, 5 failed". When lines
// holds a line for every call, the rejected calls are counted under the
// words their lines use ("1 unreachable" for a 480, "2 number unknown"
// for 404s), so that each word of the summary can be found in the list.
func callCounts(lang catalog.Lang, s analyze.Summary, lines []callLine) string {
	n := numberFormat{lang}
	var refined []string // labels of the rejected calls, in the lines' order
	if len(lines) == s.Calls {
		for i := range lines {
			if k := lines[i].key; k.outcome == analyze.OutcomeRejected {
				refined = append(refined, callOutcomeLabel(lang, k.outcome, k.status, k.fault))
			}
		}
	}
	var parts []string
	for _, oc := range analyze.Outcomes {
		c := s.Outcomes[oc]
		if c == 0 {
			continue
		}
		if oc == analyze.OutcomeRejected && len(refined) == c {
			counts := map[string]int{}
			var order []string
			for _, lb := range refined {
				if counts[lb] == 0 {
					order = append(order, lb)
				}
				counts[lb]++
			}
			for _, lb := range order {
				parts = append(parts, n.Int(counts[lb])+" "+lb)
			}
			continue
		}
		parts = append(parts, n.Int(c)+" "+outcomeLabel(lang, oc))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

func registrationCounts(regs []*Register) (ok, failed int) {
	for _, rg := range regs {
		if rg.Outcome == "registered" || rg.Outcome == "unregistered" {
			ok++
		} else if rg.Outcome != "incomplete" {
			failed++
		}
	}
	return ok, failed
}

// overview writes one line per call: what an agent looks for first ("the
// call to Bob around 04:28").
func (t *textReport) overview() {
	if len(t.calls) == 0 {
		return
	}
	l := t.l
	head := []string{"#", l["time"], l["caller"] + " → " + l["callee"], l["status"], l["outcome"], l["fault"], l["reason"]}
	row := func(i int) []string {
		c := &t.calls[i]
		status := "–"
		if c.key.status != 0 {
			status = strconv.Itoa(c.key.status) + " " + c.reason
		}
		_, fault := faultKV(t.o.Lang, t.o.Perspective, c.key.fault)
		return []string{strconv.Itoa(i + 1), t.when(c.start, false), orUnknown(t.o.Lang, c.caller) + " → " + orUnknown(t.o.Lang, c.callee),
			status, callOutcomeLabel(t.o.Lang, c.key.outcome, c.key.status, c.key.fault), fault, c.summary}
	}
	// Two passes, the widths first, so that no row is kept.
	widths := make([]int, len(head)-1)
	measure := func(rw []string) {
		for i := range widths {
			widths[i] = max(widths[i], min(utf8.RuneCountInString(rw[i]), 32))
		}
	}
	measure(head)
	for i := range t.calls {
		measure(row(i))
	}
	fmt.Fprintln(t.w)
	fmt.Fprintln(t.w, t.p.bold(l["overview"]))
	for k := -1; k < len(t.calls); k++ {
		rw := head
		if k >= 0 {
			rw = row(k)
		}
		var b strings.Builder
		b.WriteString("  ")
		for i := range widths {
			cell := Truncate(rw[i], 32)
			if i == 0 {
				b.WriteString(strings.Repeat(" ", widths[0]-utf8.RuneCountInString(cell)) + cell)
			} else {
				b.WriteString(pad(cell, widths[i]))
			}
			b.WriteString("  ")
		}
		line := b.String() + rw[len(rw)-1]
		if k < 0 {
			line = t.p.dim(strings.TrimRight(line, " "))
		} else if t.calls[k].key.outcome != analyze.OutcomeAnswered {
			line = strings.TrimRight(line, " ")
		}
		fmt.Fprintln(t.w, strings.TrimRight(line, " "))
	}
}

// GroupKey puts together calls that failed for the same reason at the
// same host: the same diagnosis, status, sender of the answer and side.
// The text report and the HTML page explain each group once.
type GroupKey struct {
	id, outcome, fault, from string
	status                   int
}

// KeyOf is the group of c. Answered calls are not grouped: a report
// explains each on its own.
func KeyOf(c *analyze.Call) GroupKey {
	k := GroupKey{outcome: c.Outcome, fault: c.Fault, status: c.FinalStatus}
	if d, ok := c.Diagnosis(); ok {
		k.id = d.ID
	}
	if c.FinalFrom != nil {
		k.from = c.FinalFrom.Addr
	}
	return k
}

// explain explains the calls that need it: every failure, and with All
// the answered calls too. Calls that failed the same way at the same host
// are explained once; a group is the numbers of its calls.
func (t *textReport) explain() int {
	var order []GroupKey
	groups := map[GroupKey][]int{}
	for i, c := range t.calls {
		if !t.o.All && !c.problem {
			continue
		}
		k := c.key
		if k.outcome == analyze.OutcomeAnswered {
			k = GroupKey{id: c.full.CallID} // answered calls are not grouped
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i+1)
	}
	if len(order) == 0 {
		return 0
	}
	fmt.Fprintln(t.w)
	fmt.Fprintln(t.w, t.p.bold(t.l["details"]))
	for _, k := range order {
		fmt.Fprintln(t.w)
		t.call(groups[k])
	}
	return len(order)
}

func (t *textReport) call(group []int) {
	c, l, o := LocalizeCall(t.calls[group[0]-1].full, t.o.Lang), t.l, t.o
	status := l["no final"]
	if c.FinalStatus != 0 {
		status = strconv.Itoa(c.FinalStatus) + " " + c.Reason
		if c.Registered != "" && !strings.EqualFold(c.Registered, c.Reason) {
			status += " (" + c.Registered + ")"
		}
	}
	if len(group) > 1 {
		from := l["unknown"]
		if c.FinalFrom != nil {
			from = addrText(o.Lang, c.FinalFrom.Addr)
		}
		fmt.Fprintln(t.w, t.p.bold(wrapText(fmt.Sprintf(l["group"], t.n.Int(len(group)), status, from, c.Summary), "", o.Width)))
		fmt.Fprintln(t.w, wrapText(l["group calls"]+" "+numberRanges(group), "  ", o.Width-2))
		fmt.Fprintln(t.w)
	}
	head := fmt.Sprintf("%s %d: %s → %s  %s", l["call"], group[0], orUnknown(o.Lang, c.Caller), orUnknown(o.Lang, c.Callee), t.when(c.Start, true))
	fmt.Fprintln(t.w, t.p.bold(head))
	fl, fv := faultKV(o.Lang, o.Perspective, c.Fault)
	kv := [][2]string{
		{l["status"], status},
		{l["outcome"], callOutcomeLabel(o.Lang, c.Outcome, c.FinalStatus, c.Fault)},
		{fl, t.p.fault(c.Fault, fv)},
		{"Call-ID", c.CallID},
		{l["path"], addrText(o.Lang, c.Src) + " → " + addrText(o.Lang, c.Dst)},
	}
	if c.FinalFrom != nil {
		ff := addrText(o.Lang, c.FinalFrom.Addr)
		if c.FinalFrom.Agent != "" {
			ff += " (" + c.FinalFrom.Agent + ")"
		}
		kv = append(kv, [2]string{l["answered by"], ff})
	}
	if c.EndedBy != "" {
		kv = append(kv, [2]string{l["ended by"], endedByLabel(o.Lang, c.EndedBy)})
	}
	if c.DurationMS > 0 {
		kv = append(kv, [2]string{l["duration"], t.n.MS(float64(c.DurationMS))})
	}
	if c.Audio != nil {
		kv = append(kv, [2]string{"Audio", AudioText(c.Audio, o.Lang)})
	}
	writeKV(t.w, t.p, kv)
	if c.Explanation != "" {
		fmt.Fprintln(t.w)
		fmt.Fprintln(t.w, wrapText(c.Explanation, "  ", o.Width-2))
	}
	if c.Background != "" {
		fmt.Fprintln(t.w)
		fmt.Fprintf(t.w, "  %s\n", t.p.bold(fmt.Sprintf(l["about"], c.FinalStatus, c.Registered)))
		fmt.Fprintln(t.w, t.p.dim(wrapText(c.Background, "  ", o.Width-2)))
	}
	_, diagnosed := c.Diagnosis()
	if len(c.Advice) > 0 && (c.Outcome != analyze.OutcomeAnswered || diagnosed) {
		writeAdvice(t.w, t.p, c.Advice, l, o.Width)
	}
	extra := c.Findings
	if diagnosed {
		extra = extra[1:]
	}
	if len(extra) > 0 {
		fmt.Fprintln(t.w)
		fmt.Fprintf(t.w, "  %s\n", t.p.bold(l["also"]))
		for _, f := range extra {
			writeFinding(t.w, t.p, f, o.Width, o.Lang)
		}
	}
	if diagnosed {
		fmt.Fprintf(t.w, "  %s %s\n", t.p.dim(pad(l["frames"], 14)), frameList(c.Findings[0].Frames))
	}
}

func writeAdvice(w io.Writer, p paint, advice []string, l map[string]string, width int) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %s\n", p.bold(l["what to do"]))
	for i, a := range advice {
		fmt.Fprintf(w, "    %d. %s\n", i+1, strings.TrimLeft(wrapText(a, "       ", width-9), " "))
	}
}

// numberRanges writes call numbers compactly: "#3–#5, #9".
func numberRanges(ns []int) string {
	sort.Ints(ns)
	var parts []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, "#"+strconv.Itoa(ns[i])+"–#"+strconv.Itoa(ns[j]))
		} else {
			parts = append(parts, "#"+strconv.Itoa(ns[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// registrations explains each failed registration (and with All every
// one) like a call: verdict, explanation, what to do. A registration that
// fails the same way again and again (a phone retrying with a wrong
// password) is shown once, with a count.
func (t *textReport) registrations() int {
	var regs []*Register
	for _, rg := range t.r.Registrations {
		if !t.o.All && (rg.Outcome == "registered" || rg.Outcome == "unregistered") && len(problems(rg.Findings)) == 0 {
			continue
		}
		regs = append(regs, rg)
	}
	shown := 0
	for i := 0; i < len(regs); {
		j := i + 1
		for j < len(regs) && sameRegistration(regs[i], regs[j]) {
			j++
		}
		shown++
		fmt.Fprintln(t.w)
		t.register(regs[i])
		if j-i > 1 {
			fmt.Fprintf(t.w, "  %s\n", t.p.dim(fmt.Sprintf(t.l["repeated"], t.n.Int(j-i-1), t.when(regs[j-1].Start, false))))
		}
		i = j
	}
	return shown
}

func (t *textReport) register(r *Register) {
	l, o := t.l, t.o
	status := l["no final"]
	if r.FinalStatus != 0 {
		status = strconv.Itoa(r.FinalStatus) + " " + r.Reason
	}
	fmt.Fprintln(t.w, t.p.bold(fmt.Sprintf("%s %s  %s", l["registration"], r.AOR, t.when(r.Start, true))))
	fl, fv := faultKV(o.Lang, o.Perspective, r.Fault)
	writeKV(t.w, t.p, [][2]string{
		{l["status"], status},
		{l["outcome"], outcomeLabel(o.Lang, r.Outcome)},
		{fl, t.p.fault(r.Fault, fv)},
		{l["path"], addrText(o.Lang, r.Src) + " → " + addrText(o.Lang, r.Dst)},
		{l["tries"], strconv.Itoa(r.Attempts)},
	})
	for i, f := range r.Findings {
		fmt.Fprintln(t.w)
		writeFinding(t.w, t.p, f, o.Width, o.Lang)
		if i == 0 && len(r.Advice) > 0 {
			writeAdvice(t.w, t.p, r.Advice, l, o.Width)
		}
	}
}

// metrics writes the RFC 6076 metrics after the calls, each with what it
// means; the table per peer only with Stats.
func (t *textReport) metrics() {
	r, l, n := t.r, t.l, t.n
	m := r.Metrics.Overall
	if m.Attempts == 0 && m.Registers == 0 {
		return
	}
	fmt.Fprintln(t.w)
	fmt.Fprintln(t.w, t.p.bold(l["metrics"]))
	line := func(name, value, what string) {
		fmt.Fprintf(t.w, "  %s  %s\n", t.p.dim(pad(name, 6)), value)
		fmt.Fprintln(t.w, t.p.dim(wrapText(what, "          ", t.o.Width-10)))
	}
	if m.Attempts > 0 {
		line("SER", n.Pct(m.SER), l["ser"])
		line("SEER", n.Pct(m.SEER), l["seer"])
		line("ISA", n.Pct(m.ISA), l["isa"])
		line("SCR", n.Pct(m.SCR), l["scr"])
		line("PDD", n.Dist(m.SRD), l["pdd explained"])
		line("SDT", n.Dist(m.SDT), l["sdt explained"])
	}
	if m.Registers > 0 {
		line("RRD", n.Dist(m.RRD), l["rrd"])
		line("IRA", n.Pct(m.IRA), l["ira"])
	}
	if len(r.Metrics.PerPeer) <= 1 {
		return
	}
	if !t.o.Stats {
		fmt.Fprintln(t.w, t.p.dim("  "+l["stats hint"]))
		return
	}
	fmt.Fprintln(t.w)
	fmt.Fprintln(t.w, t.p.bold(l["per peer"]))
	peers := make([]string, 0, len(r.Metrics.PerPeer))
	for k := range r.Metrics.PerPeer {
		peers = append(peers, k)
	}
	sort.Strings(peers)
	width := utf8.RuneCountInString(l["peer"])
	for _, k := range peers {
		width = max(width, len(k))
	}
	fmt.Fprintf(t.w, "  %s  %8s  %7s  %7s  %7s  %s\n", pad(l["peer"], width), l["attempts"], "SER", "SEER", "ISA", "PDD")
	for _, k := range peers {
		ms := r.Metrics.PerPeer[k]
		if ms.Attempts == 0 && ms.Registers == 0 {
			continue
		}
		fmt.Fprintf(t.w, "  %s  %8s  %7s  %7s  %7s  %s\n", pad(k, width), n.Int(ms.Attempts), n.Pct(ms.SER), n.Pct(ms.SEER), n.Pct(ms.ISA), n.Dist(ms.SRD))
	}
}

func (t *textReport) capture() {
	i := t.r.Integrity
	if i.Frames == 0 {
		return
	}
	fmt.Fprintln(t.w)
	fmt.Fprintln(t.w, t.p.dim(integrityLine(t.o.Lang, t.l["capture"], i)))
}

// IntegrityLine is what the capture readers counted, in lang, after label.
func IntegrityLine(lang catalog.Lang, label string, i analyze.Integrity) string {
	return integrityLine(lang, label, i)
}

// integrityLine is what the capture readers counted. SIP over TLS cannot
// be read without the keys; it is counted as the TLS records (or packets,
// from a source that does not reassemble TCP) that carried it.
func integrityLine(lang catalog.Lang, label string, i analyze.Integrity) string {
	n := numberFormat{lang}
	line := fmt.Sprintf(labels(lang)["integrity"], label, n.Int(i.Frames), n.Int(i.SIPMessages), n.Int(i.Truncated),
		n.Int(i.FragmentsIncomplete), n.Int(i.TCPGaps), n.Int(i.EncryptedSIP), n.Int(i.Malformed), n.Int(i.NonSIP))
	if i.TimeOutliers > 0 {
		line += fmt.Sprintf(labels(lang)["time outliers"], n.Int(i.TimeOutliers))
	}
	if i.FragmentOverlaps > 0 {
		line += fmt.Sprintf(labels(lang)["fragment overlaps"], n.Int(i.FragmentOverlaps))
	}
	if i.UnknownLinkType > 0 {
		line += fmt.Sprintf(labels(lang)["unknown link"], n.Int(i.UnknownLinkType))
	}
	return line
}

// HasProblem says whether a call has a finding worth explaining: one
// that is more than information.
func HasProblem(fs []analyze.Finding) bool {
	for _, f := range fs {
		if f.Severity != "info" {
			return true
		}
	}
	return false
}

func problems(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity != "info" {
			out = append(out, f)
		}
	}
	return out
}

// writeDialogs lists the other requests that failed (a SUBSCRIBE for busy
// lamps, a MESSAGE, an OPTIONS ping), grouped by method and answer.
func writeDialogs(w io.Writer, p paint, ds []*Dialog, o TextOptions, l map[string]string) int {
	type key struct {
		method, outcome string
		status          int
	}
	type group struct {
		d     *Dialog
		n     int
		peers map[string]bool
	}
	groups := map[key]*group{}
	var order []key
	for _, d := range ds {
		if d.Outcome != "failed" && d.Outcome != "timeout" {
			continue
		}
		k := key{d.Method, d.Outcome, d.FinalStatus}
		g := groups[k]
		if g == nil {
			g = &group{d: d, peers: map[string]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		g.n++
		g.peers[d.Dst] = true
	}
	if len(order) == 0 {
		return 0
	}
	n := numberFormat{o.Lang}
	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold(l["other failed"]))
	for _, k := range order {
		g := groups[k]
		status := l["no final"]
		if k.status != 0 {
			status = strconv.Itoa(k.status) + " " + g.d.Reason
		}
		fmt.Fprintf(w, "  %s %s → %s  ×%s  %s\n", p.fault(g.d.Fault, "●"), k.method, status, n.Int(g.n), p.dim("("+n.Plural(len(g.peers), l["host"], l["hosts"])+")"))
		if g.d.Summary != "" {
			fmt.Fprintln(w, wrapText(g.d.Summary, "    ", o.Width-4))
		}
	}
	return len(order)
}

func sameRegistration(a, b *Register) bool {
	if a.AOR != b.AOR || a.FinalStatus != b.FinalStatus || a.Outcome != b.Outcome || a.Src != b.Src || a.Dst != b.Dst {
		return false
	}
	return len(a.Findings) > 0 && len(b.Findings) > 0 && a.Findings[0].ID == b.Findings[0].ID
}

func writeFinding(w io.Writer, p paint, f Finding, width int, lang catalog.Lang) {
	mark := map[string]string{"error": "✗", "warning": "!", "info": "·"}[f.Severity]
	fmt.Fprintf(w, "  %s %s\n", mark, p.bold(f.Title))
	fmt.Fprintln(w, wrapText(f.Text, "    ", width-4))
	if len(f.Frames) > 0 {
		fmt.Fprintln(w, p.dim("    "+strings.ToLower(labels(lang)["frames"])+" "+frameList(f.Frames)))
	}
}

func frameList(fs []int) string {
	if len(fs) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(fs))
	for i, f := range fs {
		if i == 12 {
			parts = append(parts, fmt.Sprintf("… (+%d)", len(fs)-12))
			break
		}
		parts = append(parts, strconv.Itoa(f))
	}
	return strings.Join(parts, ", ")
}

func writeKV(w io.Writer, p paint, kv [][2]string) {
	width := 0
	for _, x := range kv {
		width = max(width, utf8.RuneCountInString(x[0]))
	}
	for _, x := range kv {
		fmt.Fprintf(w, "  %s  %s\n", p.dim(pad(x[0], width)), x[1])
	}
}

type distribution = analyze.Distribution

func orUnknown(lang catalog.Lang, s string) string {
	if s == "" {
		return labels(lang)["unknown"]
	}
	return s
}
