package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"iter"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

//go:embed html.tmpl
var htmlTemplate string

// pageTemplate is parsed once, when the first HTML report is written, not
// at start-up for the runs that write none. html/template escapes every
// value by its context (text, attribute, SVG), and no value is ever marked
// as safe HTML, because everything in a report comes from SIP headers that
// the sender chose.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(htmlTemplate))
})

// HTML limits, so that a capture with thousands of calls still gives a
// page a browser opens.
const (
	htmlMaxLadderRows = 400
	htmlMaxDetails    = 500
)

// HTMLOptions tune the HTML page.
type HTMLOptions struct {
	Lang  catalog.Lang
	Clock Clock // the zone times are shown in; UTC when zero
	// Raw returns the SIP message of a frame of a file as it was captured
	// (redacted when the report is), to show under each explained call
	// with the ladder's arrows linked to it; nil shows none.
	Raw func(file string, frame int) (string, bool)
	// Perspective words whose side the cause is on, and the hosts' roles,
	// for the reader: the customer (the default) or the provider (T25).
	Perspective catalog.Perspective
	// Calls, when set, are the calls to report in place of the report's
	// own: what a long capture keeps of them (see CallList, kept for
	// HTML).
	Calls *CallList
}

// HTML writes r as a single self-contained page to attach to a ticket:
// the counts, a table of calls coloured by outcome and fault with the
// reason of each, then per call the explanation, advice, findings with
// their frames, a ladder diagram drawn as inline SVG and the raw SIP,
// the registrations, and last the RFC 6076 metrics, each explained. There
// are no external assets and no JavaScript; calls that were answered
// without trouble are folded. The same report gives the same bytes.
func HTML(w io.Writer, r *analyze.Report, lang catalog.Lang) error {
	return HTMLWith(w, r, HTMLOptions{Lang: lang})
}

// HTMLWith is HTML with options.
func HTMLWith(w io.Writer, r *analyze.Report, o HTMLOptions) error {
	// The template writes many small pieces: a page of a million calls
	// should not be a million system calls.
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTemplate().Execute(bw, buildPage(r, o)); err != nil {
		return err
	}
	return bw.Flush()
}

type htmlPage struct {
	L          map[string]string
	Lang       string
	Inputs     []string
	Period     string
	Cards      []htmlCard
	Metrics    []htmlMetric
	Peers      []htmlPeer
	Hosts      []htmlHost
	Findings   []htmlFinding
	HasCalls   bool
	Calls      iter.Seq[*htmlCall] // the rows of the table, made as they are written
	Details    iter.Seq[*htmlCall] // the calls explained below it, likewise
	Regs       []htmlReg
	Others     []htmlOther
	Integrity  string
	Footer     string
	HiddenMore int
}

type htmlCard struct {
	Label, Value, Sub, Class string
}

// htmlMetric is one RFC 6076 metric with what it means.
type htmlMetric struct {
	Name, Value, What string
}

type htmlPeer struct {
	Peer, Attempts, SER, SEER, ISA, PDD string
}

// htmlOther is a group of other requests that failed the same way.
type htmlOther struct {
	Method, Status, Summary string
	Count                   int
}

type htmlHost struct {
	Addr, Role, RoleClass, Agent, Why string
}

type htmlFinding struct {
	ID, Title, Severity, SeverityLabel, Text, Frames, FramesLabel string
}

type htmlCall struct {
	N                                      int
	Anchor, Caller, Callee, Start, Status  string
	Outcome, OutcomeClass, Fault, FaultCls string
	PDD, Duration, Summary, Explanation    string
	Audio                                  string
	Link                                   string // the anchor of the call whose details stand for this one
	Group                                  string // "3 calls failed the same way: #2–#4"
	Open, Detail                           bool
	KV                                     [][2]string
	Advice                                 []string
	Findings                               []htmlFinding
	Ladder                                 *Ladder
	Raw                                    []htmlRaw
	Media                                  *htmlMedia
}

// htmlRaw is one SIP message as captured, the target of a ladder arrow.
type htmlRaw struct {
	ID, Head, Text string
}

type htmlReg struct {
	N                                      int
	Anchor, AOR, Start, Status, Outcome    string
	OutcomeClass, Fault, FaultCls, Summary string
	Open                                   bool
	KV                                     [][2]string
	Advice                                 []string
	Findings                               []htmlFinding
	Ladder                                 *Ladder
}

func buildPage(ar *analyze.Report, o HTMLOptions) htmlPage {
	lang := o.Lang
	// The calls are put into words one at a time, as the page is
	// written (see below).
	noCalls := *ar
	noCalls.Calls = nil
	r := Localize(&noCalls, lang)
	l := htmlLabels(lang)
	n := numberFormat{lang}
	p := htmlPage{L: l, Lang: string(lang)}
	if p.Lang == "" {
		p.Lang = "en"
	}
	for _, in := range r.Inputs {
		s := in.File
		if in.Format != "" {
			s += " (" + in.Format + ")"
		}
		if in.Error != "" {
			s += ": " + l["skipped"] + " (" + strings.TrimPrefix(in.Error, in.File+": ") + ")"
		}
		p.Inputs = append(p.Inputs, s)
	}
	s := r.Summary
	oneDay := true
	zone := o.Clock.Zone(time.Time{})
	if s.First != nil && s.Last != nil && s.First.Year() > 1970 {
		first, last := o.Clock.In(*s.First), o.Clock.In(*s.Last)
		zone = o.Clock.Zone(first)
		oneDay = first.Format("20060102") == last.Format("20060102")
		end := last.Format("15:04:05")
		if !oneDay {
			end = n.Stamp(last, false)
		}
		p.Period = n.Stamp(first, false) + " – " + end + " (" + zone + ")"
	}
	when := func(t time.Time) string {
		if t.IsZero() || t.Year() < 1971 {
			return "–"
		}
		t = o.Clock.In(t)
		if oneDay {
			return strings.Replace(t.Format("15:04:05.000"), ".", map[bool]string{true: ",", false: "."}[n.nl()], 1)
		}
		return n.Stamp(t, true)
	}
	p.Footer = fmt.Sprintf(l["generated by"], zone)

	regOK, regFail := registrationCounts(r.Registrations)
	m := r.Metrics.Overall
	failedClass := ""
	if s.Failed > 0 {
		failedClass = "bad"
	}
	p.Cards = []htmlCard{
		{Label: l["calls"], Value: n.Int(s.Calls), Sub: strings.TrimPrefix(callCounts(lang, s, nil), ": "), Class: failedClass},
		{Label: l["registrations"], Value: n.Int(len(r.Registrations)), Sub: fmt.Sprintf("%s %s · %s %s", n.Int(regOK), l["ok"], n.Int(regFail), l["failed"])},
		{Label: l["messages"], Value: n.Int(s.Messages), Sub: n.Plural(s.Retransmitted, l["retransmission"], l["retransmissions"])},
	}
	if m.Attempts > 0 {
		p.Metrics = append(p.Metrics,
			htmlMetric{"SER", n.Pct(m.SER), l["ser"] + " (RFC 6076 §4.6)"},
			htmlMetric{"SEER", n.Pct(m.SEER), l["seer"] + " (§4.7)"},
			htmlMetric{"ISA", n.Pct(m.ISA), l["isa"] + " (§4.8)"},
			htmlMetric{"SCR", n.Pct(m.SCR), l["scr"] + " (§4.9)"},
			htmlMetric{"PDD", n.Dist(m.SRD), l["pdd explained"] + " (§4.3)"},
			htmlMetric{"SDT", n.Dist(m.SDT), l["sdt explained"] + " (§4.5)"})
	}
	if m.Registers > 0 {
		p.Metrics = append(p.Metrics, htmlMetric{"RRD", n.Dist(m.RRD), l["rrd"] + " (§4.1)"}, htmlMetric{"IRA", n.Pct(m.IRA), l["ira"] + " (§4.2)"})
	}
	if len(r.Metrics.PerPeer) > 1 {
		peers := make([]string, 0, len(r.Metrics.PerPeer))
		for k := range r.Metrics.PerPeer {
			peers = append(peers, k)
		}
		sort.Strings(peers)
		for _, k := range peers {
			ms := r.Metrics.PerPeer[k]
			if ms.Attempts == 0 && ms.Registers == 0 {
				continue
			}
			p.Peers = append(p.Peers, htmlPeer{Peer: k, Attempts: n.Int(ms.Attempts), SER: n.Pct(ms.SER), SEER: n.Pct(ms.SEER), ISA: n.Pct(ms.ISA), PDD: n.Dist(ms.SRD)})
		}
	}
	roles := map[string]analyze.Host{}
	for _, h := range r.Hosts {
		roles[h.Addr] = h.Host
		p.Hosts = append(p.Hosts, htmlHost{Addr: addrText(lang, h.Addr), Role: catalog.Fault(h.Role).LabelFor(lang, o.Perspective), RoleClass: "fault-" + h.Role, Agent: h.Agent, Why: h.Why})
	}
	p.Findings = htmlFindings(r.Findings, l)
	if i := r.Integrity; i.Frames > 0 {
		// The same words as the text report's integrity line, without its
		// leading "Capture:" label.
		p.Integrity = strings.TrimPrefix(integrityLine(lang, "", i), ": ")
	}

	// Calls that failed for the same reason at the same host are detailed
	// once; the others link to that one. What a row needs is in the
	// call's line; only the detailed calls are whole (review L9), and
	// rows and details are made one at a time while the page is written.
	calls := o.Calls
	if calls == nil {
		calls = NewCallList(lang, KeepFor{})
		for _, c := range ar.Calls {
			calls.Add(c, true)
		}
	}
	lines := calls.lines
	// The summary card counts in the words of the rows below.
	p.Cards[0].Sub = strings.TrimPrefix(callCounts(lang, s, lines), ": ")
	first := map[GroupKey]int{}
	for k := range lines {
		if key := lines[k].key; key.outcome != analyze.OutcomeAnswered {
			if _, ok := first[key]; !ok {
				first[key] = k
			}
		}
	}
	// The detailed calls, each with the numbers of the calls of its
	// group.
	members := map[int][]int{}
	var detailed []int
	for k := range lines {
		ln := &lines[k]
		if ln.key.outcome != analyze.OutcomeAnswered {
			if f := first[ln.key]; f != k {
				if m, ok := members[f]; ok {
					members[f] = append(m, k+1)
				}
				continue
			}
		}
		if len(detailed) < htmlMaxDetails && ln.full != nil {
			detailed = append(detailed, k)
			members[k] = []int{k + 1}
		} else {
			p.HiddenMore++
		}
	}
	row := func(k int) *htmlCall {
		c := &lines[k]
		_, fv := faultKV(lang, o.Perspective, c.key.fault)
		hc := &htmlCall{
			N: k + 1, Anchor: "call-" + strconv.Itoa(k+1), Caller: orUnknown(lang, c.caller), Callee: orUnknown(lang, c.callee),
			Start: when(c.start), Status: statusText(c.key.status, c.reason, l),
			Outcome: callOutcomeLabel(lang, c.key.outcome, c.key.status, c.key.fault), OutcomeClass: outcomeClass(c.key.outcome),
			Fault: fv, FaultCls: "fault-" + c.key.fault, Summary: c.summary,
		}
		if c.pdd > 0 {
			hc.PDD = n.MS(float64(c.pdd))
		}
		if c.duration > 0 {
			hc.Duration = n.MS(float64(c.duration))
		}
		if c.key.outcome != analyze.OutcomeAnswered {
			if f := first[c.key]; f != k {
				hc.Link = "call-" + strconv.Itoa(f+1)
			}
		}
		_, hc.Detail = members[k]
		return hc
	}
	p.HasCalls = len(lines) > 0
	p.Calls = func(yield func(*htmlCall) bool) {
		for k := range lines {
			if !yield(row(k)) {
				return
			}
		}
	}
	p.Details = func(yield func(*htmlCall) bool) {
		for _, k := range detailed {
			if !yield(detailOf(row(k), lines[k].full, members[k], roles, o, when)) {
				return
			}
		}
	}
	for k, rg := range r.Registrations {
		_, fv := faultKV(lang, o.Perspective, rg.Fault)
		hr := htmlReg{
			N: k + 1, Anchor: "reg-" + strconv.Itoa(k+1), AOR: rg.AOR, Start: when(rg.Start),
			Status: statusText(rg.FinalStatus, rg.Reason, l), Outcome: outcomeLabel(lang, rg.Outcome), OutcomeClass: outcomeClass(rg.Outcome),
			Fault: fv, FaultCls: "fault-" + rg.Fault, Summary: rg.Summary, Advice: rg.Advice,
		}
		hr.Open = !(rg.Outcome == "registered" || rg.Outcome == "unregistered") || len(problems(rg.Findings)) > 0
		hr.KV = [][2]string{{l["status"], hr.Status}, {"Call-ID", rg.CallID}, {"Contact", rg.Contact}, {l["path"], addrText(lang, rg.Src) + " → " + addrText(lang, rg.Dst)}, {l["tries"], strconv.Itoa(rg.Attempts)}}
		if rg.Expires >= 0 {
			hr.KV = append(hr.KV, [2]string{"Expires", strconv.Itoa(rg.Expires) + " s"})
		}
		hr.Findings = htmlFindings(rg.Findings, l)
		if k < htmlMaxDetails {
			hr.Ladder = buildLadder(rg.Messages, roles, lang, o.Perspective, l, o.Clock, nil)
		}
		p.Regs = append(p.Regs, hr)
	}
	idx := map[string]int{}
	for _, d := range r.Dialogs {
		if d.Outcome != "failed" && d.Outcome != "timeout" {
			continue
		}
		k := d.Method + "|" + strconv.Itoa(d.FinalStatus) + "|" + d.Outcome
		if i, ok := idx[k]; ok {
			p.Others[i].Count++
			continue
		}
		idx[k] = len(p.Others)
		p.Others = append(p.Others, htmlOther{Method: d.Method, Status: statusText(d.FinalStatus, d.Reason, l), Summary: d.Summary, Count: 1})
	}
	return p
}

// detailOf completes the row hc of call c with what the page explains
// of it: the headers that matter, the explanation and advice, the
// findings, the media, the ladder and the raw SIP. group holds the
// numbers of the calls that failed the same way.
func detailOf(hc *htmlCall, call *analyze.Call, group []int, roles map[string]analyze.Host, o HTMLOptions, when func(time.Time) string) *htmlCall {
	lang := o.Lang
	l := htmlLabels(lang)
	n := numberFormat{lang}
	c := LocalizeCall(call, lang)
	if c.Audio != nil {
		hc.Audio = AudioText(c.Audio, lang)
	}
	hc.Open = c.Outcome != analyze.OutcomeAnswered || len(problems(c.Findings)) > 0
	if c.Outcome != analyze.OutcomeAnswered && len(group) > 1 {
		hc.Group = fmt.Sprintf(l["same way"], n.Int(len(group)), numberRanges(group))
	}
	status := hc.Status
	if c.Registered != "" && !strings.EqualFold(c.Registered, c.Reason) {
		status += " (" + c.Registered + ")"
	}
	hc.KV = [][2]string{{l["status"], status}, {"Call-ID", c.CallID}, {l["from hdr"], c.From}, {l["to hdr"], c.To}}
	if c.CallerName != "" {
		hc.KV = append(hc.KV, [2]string{l["caller"], c.CallerName})
	}
	if c.Asserted != "" {
		hc.KV = append(hc.KV, [2]string{"P-Asserted-Identity", c.Asserted})
	}
	hc.KV = append(hc.KV, [2]string{l["path"], addrText(lang, c.Src) + " → " + addrText(lang, c.Dst)})
	if c.FinalFrom != nil {
		ff := addrText(lang, c.FinalFrom.Addr)
		if c.FinalFrom.Agent != "" {
			ff += " (" + c.FinalFrom.Agent + ")"
		}
		hc.KV = append(hc.KV, [2]string{l["answered by"], ff})
	}
	if c.EndedBy != "" {
		eb := endedByLabel(lang, c.EndedBy)
		if c.EndReason != "" {
			eb += " – " + c.EndReason
		}
		hc.KV = append(hc.KV, [2]string{l["ended by"], eb})
	}
	for _, d := range c.Reasons {
		hc.KV = append(hc.KV, [2]string{l["reason hdr"], d.Value})
	}
	for _, d := range c.Warnings {
		hc.KV = append(hc.KV, [2]string{l["warning hdr"], d.Value})
	}
	if len(c.Linked) > 0 {
		hc.KV = append(hc.KV, [2]string{l["linked"], strings.Join(c.Linked, ", ")})
	}
	if hc.Audio != "" {
		hc.KV = append(hc.KV, [2]string{"Audio", hc.Audio})
	}
	hc.Explanation = c.Explanation
	if _, diagnosed := c.Diagnosis(); c.Outcome != analyze.OutcomeAnswered || diagnosed {
		hc.Advice = c.Advice
	}
	hc.Media = buildMedia(c.Media, lang)
	hc.Findings = htmlFindings(c.Findings, l)
	for i := range hc.Findings {
		// The finding "what happened" tells already keeps its title and
		// frames, not the paragraph a second time (review §4.2).
		if hc.Explanation != "" && hc.Findings[i].Text == hc.Explanation {
			hc.Findings[i].Text = ""
		}
	}
	var links map[int]string
	if o.Raw != nil {
		links = map[int]string{}
		for _, m := range c.Messages {
			if _, dup := links[m.Frame]; dup {
				continue
			}
			txt, ok := o.Raw(m.File, m.Frame)
			if !ok {
				continue
			}
			id := hc.Anchor + "-f" + strconv.Itoa(m.Frame)
			links[m.Frame] = id
			hc.Raw = append(hc.Raw, htmlRaw{ID: id, Head: fmt.Sprintf("%s %d · %s · %s → %s", l["frame"], m.Frame, when(m.Time),
				addrText(lang, m.Src), addrText(lang, m.Dst)), Text: txt})
		}
	}
	hc.Ladder = buildLadder(c.Messages, roles, lang, o.Perspective, l, o.Clock, links)
	return hc
}

func statusText(code int, reason string, l map[string]string) string {
	if code == 0 {
		return l["no final"]
	}
	return strconv.Itoa(code) + " " + reason
}

func htmlFindings(fs []Finding, l map[string]string) []htmlFinding {
	out := make([]htmlFinding, 0, len(fs))
	for _, f := range fs {
		sev := f.Severity
		if sev != "error" && sev != "warning" {
			sev = "info"
		}
		out = append(out, htmlFinding{ID: f.ID, Title: f.Title, Severity: sev, SeverityLabel: l[sev], Text: f.Text, Frames: frameList(f.Frames), FramesLabel: l["frames"]})
	}
	return out
}

// outcomeClass is the colour of an outcome: green when the call was
// answered or the registration accepted, amber when nobody took it, red
// when something refused or failed it.
func outcomeClass(o string) string {
	switch o {
	case analyze.OutcomeAnswered, "registered", "unregistered":
		return "ok"
	case analyze.OutcomeBusy, analyze.OutcomeNoAnswer, analyze.OutcomeCancelled, analyze.OutcomeRedirected:
		return "warn"
	case analyze.OutcomeIncomplete:
		return "muted"
	}
	return "bad"
}

// Ladder is the layout of a ladder diagram (a message sequence chart: a
// column per host, an arrow per message) in SVG user units, for a template
// to draw. The HTML report and the web UI both draw it.
type Ladder struct {
	Width, Height    int
	LifeTop, LifeEnd int
	Hosts            []LadderHost
	Rows             []LadderRow
	More             int
}

// LadderHost is one column of a Ladder.
type LadderHost struct {
	X, BoxX, BoxW    int
	Addr, Role, Full string
	RoleClass        string
}

// LadderRow is one message of a Ladder.
type LadderRow struct {
	Y, TextY, X1, X2, TextX int
	Head                    string // arrowhead polygon points
	Loop                    string // path of a message to the same column
	Label, Title            string
	Time, Frame             string
	Class                   string
	Retrans, Band           bool
	BandY                   int
	Link                    string // the id of the raw message on the page, when it is shown
}

const (
	ladderLeft   = 136 // room for time and frame
	ladderTop    = 64  // below the host boxes
	ladderRowH   = 28
	ladderPxChar = 6.8 // average width of a character at 12px
	ladderMaxW   = 1080
)

// LadderLayout lays out the ladder of messages ms; hosts (from the report)
// label the columns with their role and software. It returns nil for no
// messages and draws at most 400 rows (More counts the rest).
func LadderLayout(ms []analyze.Exchange, hosts []analyze.Host, lang catalog.Lang) *Ladder {
	roles := map[string]analyze.Host{}
	for _, h := range hosts {
		roles[h.Addr] = h
	}
	return buildLadder(ms, roles, lang, catalog.PerspectiveCustomer, htmlLabels(lang), Clock{}, nil)
}

func buildLadder(ms []analyze.Exchange, roles map[string]analyze.Host, lang catalog.Lang, persp catalog.Perspective, l map[string]string, clock Clock, links map[int]string) *Ladder {
	if len(ms) == 0 {
		return nil
	}
	hosts := flowHosts(ms)
	spacing := min(340, max(170, (ladderMaxW-ladderLeft)/len(hosts)))
	lad := &Ladder{Width: ladderLeft + spacing*len(hosts) + 10}
	col := map[string]int{}
	for i, h := range hosts {
		col[h] = i
		x := ladderLeft + spacing*i + spacing/2
		lh := LadderHost{X: x, BoxX: x - (spacing-16)/2, BoxW: spacing - 16, Addr: cut(h, int(float64(spacing-24)/ladderPxChar)), Full: h}
		if hi, ok := roles[h]; ok {
			lh.Role = catalog.Fault(hi.Role).LabelFor(lang, persp)
			lh.RoleClass = "fault-" + hi.Role
			lh.Full = h + " – " + lh.Role
			if hi.Agent != "" {
				lh.Role += " · " + hi.Agent
				lh.Full += " – " + hi.Agent
			}
			lh.Role = cut(lh.Role, int(float64(spacing-24)/(ladderPxChar-1)))
		}
		lad.Hosts = append(lad.Hosts, lh)
	}
	rows := ms
	if len(rows) > htmlMaxLadderRows {
		rows, lad.More = rows[:htmlMaxLadderRows], len(rows)-htmlMaxLadderRows
	}
	t0 := ms[0].Time
	for i, m := range rows {
		y := ladderTop + 24 + i*ladderRowH
		a, b := col[m.Src], col[m.Dst]
		xa, xb := lad.Hosts[a].X, lad.Hosts[b].X
		row := LadderRow{Y: y, TextY: y - 6, X1: xa, X2: xb, Time: htmlOffset(lang, m.Time.Sub(t0)), Frame: "#" + strconv.Itoa(m.Frame),
			Class: labelClass(m.Label), Retrans: m.Retrans, Band: i%2 == 1, BandY: y - ladderRowH/2 - 4}
		row.Title = m.Label + " — " + addrText(lang, m.Src) + " → " + addrText(lang, m.Dst) + ", " + l["frame"] + " " + strconv.Itoa(m.Frame) + ", " + clock.In(m.Time).Format("15:04:05.000000")
		row.Link = links[m.Frame]
		if m.Retrans {
			row.Title += " (" + l["retransmission"] + ")"
		}
		label := m.Label
		if m.Retrans {
			label = "↻ " + label
		}
		switch {
		case a == b:
			row.Loop = fmt.Sprintf("M%d %d h28 v10 h-24", xa, y-6)
			row.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", xa, y+4, xa+8, y, xa+8, y+8)
			row.TextX = xa + 34
			row.Label = cut(label, int(float64(spacing-40)/ladderPxChar))
			row.TextY = y + 2
		case a < b:
			row.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", xb, y, xb-9, y-4, xb-9, y+4)
			row.X2 = xb - 8
			row.TextX = (xa + xb) / 2
			row.Label = cut(label, int(float64(xb-xa-20)/ladderPxChar))
		default:
			row.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", xb, y, xb+9, y-4, xb+9, y+4)
			row.X2 = xb + 8
			row.TextX = (xa + xb) / 2
			row.Label = cut(label, int(float64(xa-xb-20)/ladderPxChar))
		}
		lad.Rows = append(lad.Rows, row)
	}
	lad.LifeTop = ladderTop - 10
	lad.LifeEnd = ladderTop + 24 + len(rows)*ladderRowH - 10
	lad.Height = lad.LifeEnd + 14
	return lad
}

// labelClass colours a message: requests blue, provisional grey, success
// green, redirect amber, failure red.
func labelClass(label string) string {
	if label == "" || label[0] < '1' || label[0] > '6' {
		return "req"
	}
	switch label[0] {
	case '1':
		return "prov"
	case '2':
		return "succ"
	case '3':
		return "redir"
	}
	return "fail"
}

func htmlOffset(lang catalog.Lang, d time.Duration) string {
	n := numberFormat{lang}
	if d < time.Hour {
		return "+" + n.Dec(d.Seconds(), 3) + " s"
	}
	return "+" + n.MS(float64(d.Milliseconds()))
}
