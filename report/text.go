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
	Colour bool // ANSI colours; only for a terminal
	Width  int  // wrap width; 0 means 80
	All    bool // show answered calls too, not only failures
}

// Text writes r for a person: a summary with the metrics, then one block
// per failed call and registration.
//
// Every byte goes through a writer that escapes control characters (see
// Escape): the report quotes what senders wrote.
func Text(w io.Writer, ar *analyze.Report, o TextOptions) error {
	w = safeWriter{w}
	r := Localize(ar, o.Lang)
	if o.Width <= 0 {
		o.Width = 80
	}
	p := paint{On: o.Colour}
	l := labels(o.Lang)
	s := r.Summary
	fmt.Fprintln(w, p.bold(l["title"]))
	kv := [][2]string{
		{l["messages"], fmt.Sprintf("%d (%d %s)", s.Messages, s.Retransmitted, l["retransmissions"])},
		{l["calls"], fmt.Sprintf("%d: %d %s, %d %s", s.Calls, s.Answered, outcomeLabel(o.Lang, "answered"), s.Failed, l["failed"])},
	}
	if s.First != nil {
		kv = append(kv, [2]string{l["period"], s.First.Format("2006-01-02 15:04:05") + " – " + lastTime(*s.First, *s.Last) + " UTC"})
	}
	if len(s.Outcomes) > 0 {
		var parts []string
		for _, oc := range analyze.Outcomes {
			if n := s.Outcomes[oc]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", outcomeLabel(o.Lang, oc), n))
			}
		}
		kv = append(kv, [2]string{l["outcomes"], strings.Join(parts, ", ")})
	}
	regOK, regFail := 0, 0
	for _, rg := range r.Registrations {
		if rg.Outcome == "registered" || rg.Outcome == "unregistered" {
			regOK++
		} else if rg.Outcome != "incomplete" {
			regFail++
		}
	}
	kv = append(kv, [2]string{l["registrations"], fmt.Sprintf("%d: %d %s, %d %s", len(r.Registrations), regOK, l["ok"], regFail, l["failed"])})
	m := r.Metrics.Overall
	nf := numbers{o.Lang}
	kv = append(kv, [2]string{"SER / SEER", nf.pct(m.SER) + " / " + nf.pct(m.SEER)},
		[2]string{"ISA / SCR", nf.pct(m.ISA) + " / " + nf.pct(m.SCR)},
		[2]string{l["pdd"], nf.dist(m.SRD)},
		[2]string{l["duration"], nf.dist(m.SDT)})
	if m.Registers > 0 {
		kv = append(kv, [2]string{"RRD / IRA", nf.dist(m.RRD) + " / " + nf.pct(m.IRA)})
	}
	writeKV(w, p, kv)
	if len(r.Metrics.PerPeer) > 1 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, p.bold(l["per peer"]))
		peers := make([]string, 0, len(r.Metrics.PerPeer))
		for k := range r.Metrics.PerPeer {
			peers = append(peers, k)
		}
		sort.Strings(peers)
		width := 0
		for _, k := range peers {
			width = max(width, len(k))
		}
		fmt.Fprintf(w, "  %s  %8s  %7s  %7s  %7s  %s\n", pad(l["peer"], width), l["attempts"], "SER", "SEER", "ISA", l["pdd"])
		for _, k := range peers {
			ms := r.Metrics.PerPeer[k]
			if ms.Attempts == 0 && ms.Registers == 0 {
				continue
			}
			fmt.Fprintf(w, "  %s  %8d  %7s  %7s  %7s  %s\n", pad(k, width), ms.Attempts, nf.pct(ms.SER), nf.pct(ms.SEER), nf.pct(ms.ISA), nf.dist(ms.SRD))
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintln(w)
		writeFinding(w, p, f, o.Width)
	}
	if r.Integrity.Frames > 0 {
		i := r.Integrity
		fmt.Fprintln(w)
		line := fmt.Sprintf(l["integrity"], l["capture"], i.Frames, i.SIPMessages, i.Truncated,
			i.FragmentsIncomplete, i.TCPGaps, i.EncryptedSIP, i.Malformed, i.NonSIP)
		if i.TimeOutliers > 0 {
			line += fmt.Sprintf(l["time outliers"], i.TimeOutliers)
		}
		if i.FragmentOverlaps > 0 {
			line += fmt.Sprintf(l["fragment overlaps"], i.FragmentOverlaps)
		}
		fmt.Fprintln(w, p.dim(line))
	}
	shown := 0
	for _, c := range r.Calls {
		if !o.All && len(problems(c.Findings)) == 0 {
			continue
		}
		shown++
		fmt.Fprintln(w)
		writeCall(w, p, c, o, l)
	}
	// Registrations that fail the same way again and again (a phone
	// retrying with a wrong password) are shown once, with a count.
	var regs []*Register
	for _, rg := range r.Registrations {
		if !o.All && (rg.Outcome == "registered" || rg.Outcome == "unregistered") && len(problems(rg.Findings)) == 0 {
			continue
		}
		regs = append(regs, rg)
	}
	for i := 0; i < len(regs); {
		j := i + 1
		for j < len(regs) && sameRegistration(regs[i], regs[j]) {
			j++
		}
		shown++
		fmt.Fprintln(w)
		writeRegister(w, p, regs[i], o, l)
		if j-i > 1 {
			fmt.Fprintf(w, "  %s\n", p.dim(fmt.Sprintf(l["repeated"], j-i-1, regs[j-1].Start.Format("15:04:05"))))
		}
		i = j
	}
	shown += writeDialogs(w, p, r.Dialogs, o, l)
	if shown == 0 && len(r.Calls)+len(r.Registrations) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, l["no failures"])
	}
	return nil
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

func writeCall(w io.Writer, p paint, c *Call, o TextOptions, l map[string]string) {
	status := l["no final"]
	if c.FinalStatus != 0 {
		status = strconv.Itoa(c.FinalStatus) + " " + c.Reason
		if c.Registered != "" && !strings.EqualFold(c.Registered, c.Reason) {
			status += " (" + c.Registered + ")"
		}
	}
	head := fmt.Sprintf("%s %s → %s  %s", l["call"], orDash(c.Caller), orDash(c.Callee), c.Start.Format("2006-01-02 15:04:05.000"))
	fmt.Fprintln(w, p.bold(head))
	kv := [][2]string{
		{l["status"], status},
		{l["outcome"], outcomeLabel(o.Lang, c.Outcome)},
		{l["fault"], p.fault(c.Fault, catalog.Fault(c.Fault).Label(o.Lang))},
		{"Call-ID", c.CallID},
		{l["path"], c.Src + " → " + c.Dst},
	}
	if c.FinalFrom != nil {
		ff := c.FinalFrom.Addr
		if c.FinalFrom.Agent != "" {
			ff += " (" + c.FinalFrom.Agent + ")"
		}
		kv = append(kv, [2]string{l["answered by"], ff})
	}
	if c.EndedBy != "" {
		kv = append(kv, [2]string{l["ended by"], c.EndedBy})
	}
	if c.DurationMS > 0 {
		kv = append(kv, [2]string{l["duration"], numbers{o.Lang}.ms(float64(c.DurationMS))})
	}
	if c.Audio != nil {
		kv = append(kv, [2]string{"Audio", AudioText(c.Audio, o.Lang)})
	}
	writeKV(w, p, kv)
	if c.Explanation != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, wrapText(c.Explanation, "  ", o.Width-2))
	}
	if c.Background != "" {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %s\n", p.bold(fmt.Sprintf(l["about"], c.FinalStatus, c.Registered)))
		fmt.Fprintln(w, p.dim(wrapText(c.Background, "  ", o.Width-2)))
	}
	_, diagnosed := c.Diagnosis()
	if len(c.Advice) > 0 && (c.Outcome != analyze.OutcomeAnswered || diagnosed) {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %s\n", p.bold(l["what to do"]))
		for i, a := range c.Advice {
			fmt.Fprintf(w, "    %d. %s\n", i+1, strings.TrimLeft(wrapText(a, "       ", o.Width-9), " "))
		}
	}
	extra := c.Findings
	if diagnosed {
		extra = extra[1:]
	}
	if len(extra) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %s\n", p.bold(l["also"]))
		for _, f := range extra {
			writeFinding(w, p, f, o.Width)
		}
	}
	if diagnosed {
		fmt.Fprintf(w, "  %s %s\n", p.dim(pad(l["frames"], 14)), frameList(c.Findings[0].Frames))
	}
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
	fmt.Fprintln(w)
	fmt.Fprintln(w, p.bold(l["other failed"]))
	for _, k := range order {
		g := groups[k]
		status := l["no final"]
		if k.status != 0 {
			status = strconv.Itoa(k.status) + " " + g.d.Reason
		}
		fmt.Fprintf(w, "  %s %s → %s  ×%d  %s\n", p.fault(g.d.Fault, "●"), k.method, status, g.n, p.dim(fmt.Sprintf(l["to peers"], len(g.peers))))
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

func writeRegister(w io.Writer, p paint, r *Register, o TextOptions, l map[string]string) {
	status := l["no final"]
	if r.FinalStatus != 0 {
		status = strconv.Itoa(r.FinalStatus) + " " + r.Reason
	}
	fmt.Fprintln(w, p.bold(fmt.Sprintf("%s %s  %s", l["registration"], r.AOR, r.Start.Format("2006-01-02 15:04:05.000"))))
	writeKV(w, p, [][2]string{
		{l["status"], status},
		{l["outcome"], outcomeLabel(o.Lang, r.Outcome)},
		{l["fault"], p.fault(r.Fault, catalog.Fault(r.Fault).Label(o.Lang))},
		{l["path"], r.Src + " → " + r.Dst},
		{l["tries"], strconv.Itoa(r.Attempts)},
	})
	for _, f := range r.Findings {
		fmt.Fprintln(w)
		writeFinding(w, p, f, o.Width)
	}
}

func writeFinding(w io.Writer, p paint, f Finding, width int) {
	mark := map[string]string{"error": "✗", "warning": "!", "info": "·"}[f.Severity]
	fmt.Fprintf(w, "  %s %s\n", mark, p.bold("["+f.ID+"]"))
	fmt.Fprintln(w, wrapText(f.Text, "    ", width-4))
	if len(f.Frames) > 0 {
		fmt.Fprintln(w, p.dim("    frames "+frameList(f.Frames)))
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

func pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
}

func dist(d analyze.Distribution) string {
	if d.Count == 0 {
		return "–"
	}
	return fmt.Sprintf("median %s, p95 %s, max %s (n=%d)", fmtMS(d.Median), fmtMS(d.P95), fmtMS(d.Max), d.Count)
}

func fmtMS(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Second:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	return d.Round(time.Second).String()
}

// numbers writes numbers as a person reading the language expects: with a
// decimal comma and "mediaan" in Dutch.
type numbers struct{ lang catalog.Lang }

func (n numbers) local(s string) string {
	if n.lang != catalog.Dutch {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, ".", ","), "median", "mediaan")
}

func (n numbers) pct(v *float64) string              { return n.local(pct(v)) }
func (n numbers) dist(d analyze.Distribution) string { return n.local(dist(d)) }
func (n numbers) ms(v float64) string                { return n.local(fmtMS(v)) }

// lastTime writes the end of a period: the time alone on the same day.
func lastTime(first, last time.Time) string {
	if first.Format("20060102") == last.Format("20060102") {
		return last.Format("15:04:05")
	}
	return last.Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
