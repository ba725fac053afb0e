package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

//go:embed html.tmpl
var htmlTemplate string

// pageTemplate is parsed once; html/template escapes every value by its
// context (text, attribute, SVG), and no value is ever marked as safe
// HTML, because everything in a report comes from SIP headers that the
// sender chose.
var pageTemplate = template.Must(template.New("page").Parse(htmlTemplate))

// HTML limits, so that a capture with thousands of calls still gives a
// page a browser opens.
const (
	htmlMaxLadderRows = 400
	htmlMaxDetails    = 500
)

// HTML writes r as a single self-contained page to attach to a ticket:
// summary and RFC 6076 metrics, a table of calls coloured by outcome and
// fault, then per call the explanation, advice, findings with their frames
// and a ladder diagram drawn as inline SVG, and the registrations. There
// are no external assets and no JavaScript; calls that were answered
// without trouble are folded. The same report gives the same bytes.
func HTML(w io.Writer, r *analyze.Report, lang catalog.Lang) error {
	return pageTemplate.Execute(w, buildPage(r, lang))
}

type htmlPage struct {
	L          map[string]string
	Lang       string
	Inputs     []string
	Period     string
	Cards      []htmlCard
	Peers      []htmlPeer
	Hosts      []htmlHost
	Findings   []htmlFinding
	Calls      []htmlCall
	Regs       []htmlReg
	Others     []htmlOther
	Integrity  string
	HiddenMore int
}

type htmlCard struct {
	Label, Value, Sub, Class string
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
	ID, Severity, SeverityLabel, Text, Frames, FramesLabel string
}

type htmlCall struct {
	N                                      int
	Anchor, Caller, Callee, Start, Status  string
	Outcome, OutcomeClass, Fault, FaultCls string
	PDD, Duration, Summary, Explanation    string
	Open, Detail                           bool
	KV                                     [][2]string
	Advice                                 []string
	Findings                               []htmlFinding
	Ladder                                 *Ladder
}

type htmlReg struct {
	N                                      int
	Anchor, AOR, Start, Status, Outcome    string
	OutcomeClass, Fault, FaultCls, Summary string
	Open                                   bool
	KV                                     [][2]string
	Findings                               []htmlFinding
	Ladder                                 *Ladder
}

func buildPage(ar *analyze.Report, lang catalog.Lang) htmlPage {
	r := Localize(ar, lang)
	l := htmlLabels(lang)
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
			s += ": " + in.Error
		}
		p.Inputs = append(p.Inputs, s)
	}
	s := r.Summary
	if s.First != nil && s.Last != nil {
		last := s.Last.UTC().Format("15:04:05")
		if s.Last.UTC().Format("2006-01-02") != s.First.UTC().Format("2006-01-02") {
			last = s.Last.UTC().Format("2006-01-02 15:04:05")
		}
		p.Period = s.First.UTC().Format("2006-01-02 15:04:05") + " – " + last + " UTC"
	}

	regOK, regFail := 0, 0
	for _, rg := range r.Registrations {
		if rg.Outcome == "registered" || rg.Outcome == "unregistered" {
			regOK++
		} else if rg.Outcome != "incomplete" {
			regFail++
		}
	}
	m := r.Metrics.Overall
	failedClass := ""
	if s.Failed > 0 {
		failedClass = "bad"
	}
	p.Cards = []htmlCard{
		{Label: l["calls"], Value: strconv.Itoa(s.Calls), Sub: fmt.Sprintf("%d %s · %d %s", s.Answered, l["answered"], s.Failed, l["failed"]), Class: failedClass},
		{Label: l["registrations"], Value: strconv.Itoa(len(r.Registrations)), Sub: fmt.Sprintf("%d %s · %d %s", regOK, l["ok"], regFail, l["failed"])},
		{Label: l["messages"], Value: strconv.Itoa(s.Messages), Sub: fmt.Sprintf("%d %s", s.Retransmitted, l["retransmissions"])},
		{Label: "SER / SEER", Value: pct(m.SER) + " / " + pct(m.SEER), Sub: "RFC 6076 §4.6, §4.7"},
		{Label: "ISA / SCR", Value: pct(m.ISA) + " / " + pct(m.SCR), Sub: "RFC 6076 §4.8, §4.9"},
		{Label: l["pdd"], Value: distMedian(m.SRD), Sub: distRest(m.SRD)},
		{Label: l["duration"], Value: distMedian(m.SDT), Sub: distRest(m.SDT)},
	}
	if m.Registers > 0 {
		p.Cards = append(p.Cards, htmlCard{Label: "RRD / IRA", Value: distMedian(m.RRD) + " / " + pct(m.IRA), Sub: "RFC 6076 §4.1, §4.2"})
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
			p.Peers = append(p.Peers, htmlPeer{Peer: k, Attempts: strconv.Itoa(ms.Attempts), SER: pct(ms.SER), SEER: pct(ms.SEER), ISA: pct(ms.ISA), PDD: dist(ms.SRD)})
		}
	}
	roles := map[string]analyze.Host{}
	for _, h := range r.Hosts {
		roles[h.Addr] = h.Host
		p.Hosts = append(p.Hosts, htmlHost{Addr: h.Addr, Role: catalog.Fault(h.Role).Label(lang), RoleClass: "fault-" + h.Role, Agent: h.Agent, Why: h.Why})
	}
	p.Findings = htmlFindings(r.Findings, l)
	if i := r.Integrity; i.Frames > 0 {
		// The same words as the text report's integrity line, without its
		// leading "Capture:" label.
		line := fmt.Sprintf(labels(lang)["integrity"], "", i.Frames, i.SIPMessages, i.Truncated, i.FragmentsIncomplete, i.TCPGaps,
			i.EncryptedSIP, i.Malformed, i.NonSIP)
		p.Integrity = strings.TrimPrefix(line, ": ")
	}

	for n, c := range r.Calls {
		hc := htmlCall{
			N: n + 1, Anchor: "call-" + strconv.Itoa(n+1), Caller: orDash(c.Caller), Callee: orDash(c.Callee),
			Start: c.Start.UTC().Format("2006-01-02 15:04:05.000"), Status: statusText(c.FinalStatus, c.Reason, l),
			Outcome: outcomeLabel(lang, c.Outcome), OutcomeClass: outcomeClass(c.Outcome),
			Fault: catalog.Fault(c.Fault).Label(lang), FaultCls: "fault-" + c.Fault, Summary: c.Summary,
		}
		if c.PDDMS > 0 {
			hc.PDD = fmtMS(float64(c.PDDMS))
		}
		if c.DurationMS > 0 {
			hc.Duration = fmtMS(float64(c.DurationMS))
		}
		troubled := c.Outcome != analyze.OutcomeAnswered || len(problems(c.Findings)) > 0
		hc.Open = troubled
		hc.Detail = n < htmlMaxDetails
		if !hc.Detail {
			p.HiddenMore++
		}
		if hc.Detail {
			status := hc.Status
			if c.Registered != "" && !strings.EqualFold(c.Registered, c.Reason) {
				status += " (" + c.Registered + ")"
			}
			hc.KV = [][2]string{{l["status"], status}, {"Call-ID", c.CallID}, {"From", c.From}, {"To", c.To}}
			if c.CallerName != "" {
				hc.KV = append(hc.KV, [2]string{l["caller"], c.CallerName})
			}
			if c.Asserted != "" {
				hc.KV = append(hc.KV, [2]string{"P-Asserted-Identity", c.Asserted})
			}
			hc.KV = append(hc.KV, [2]string{l["path"], c.Src + " → " + c.Dst})
			if c.FinalFrom != nil {
				ff := c.FinalFrom.Addr
				if c.FinalFrom.Agent != "" {
					ff += " (" + c.FinalFrom.Agent + ")"
				}
				hc.KV = append(hc.KV, [2]string{l["answered by"], ff})
			}
			if c.EndedBy != "" {
				eb := c.EndedBy
				if c.EndReason != "" {
					eb += " – " + c.EndReason
				}
				hc.KV = append(hc.KV, [2]string{l["ended by"], eb})
			}
			for _, d := range append(append([]Decoded(nil), c.Reasons...), c.Warnings...) {
				hc.KV = append(hc.KV, [2]string{"Reason / Warning", d.Value + " — " + d.Meaning})
			}
			if len(c.Linked) > 0 {
				hc.KV = append(hc.KV, [2]string{l["linked"], strings.Join(c.Linked, ", ")})
			}
			hc.Explanation = c.Explanation
			if c.Outcome != analyze.OutcomeAnswered {
				hc.Advice = c.Advice
			}
			hc.Findings = htmlFindings(c.Findings, l)
			hc.Ladder = buildLadder(c.Messages, roles, lang, l)
		}
		p.Calls = append(p.Calls, hc)
	}
	for n, rg := range r.Registrations {
		hr := htmlReg{
			N: n + 1, Anchor: "reg-" + strconv.Itoa(n+1), AOR: rg.AOR, Start: rg.Start.UTC().Format("2006-01-02 15:04:05.000"),
			Status: statusText(rg.FinalStatus, rg.Reason, l), Outcome: outcomeLabel(lang, rg.Outcome), OutcomeClass: outcomeClass(rg.Outcome),
			Fault: catalog.Fault(rg.Fault).Label(lang), FaultCls: "fault-" + rg.Fault, Summary: rg.Summary,
		}
		hr.Open = !(rg.Outcome == "registered" || rg.Outcome == "unregistered") || len(problems(rg.Findings)) > 0
		hr.KV = [][2]string{{l["status"], hr.Status}, {"Call-ID", rg.CallID}, {"Contact", rg.Contact}, {l["path"], rg.Src + " → " + rg.Dst}, {l["tries"], strconv.Itoa(rg.Attempts)}}
		if rg.Expires >= 0 {
			hr.KV = append(hr.KV, [2]string{"Expires", strconv.Itoa(rg.Expires) + " s"})
		}
		hr.Findings = htmlFindings(rg.Findings, l)
		if n < htmlMaxDetails {
			hr.Ladder = buildLadder(rg.Messages, roles, lang, l)
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
		out = append(out, htmlFinding{ID: f.ID, Severity: sev, SeverityLabel: l[sev], Text: f.Text, Frames: frameList(f.Frames), FramesLabel: l["frames"]})
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

func distMedian(d analyze.Distribution) string {
	if d.Count == 0 {
		return "–"
	}
	return fmtMS(d.Median)
}

func distRest(d analyze.Distribution) string {
	if d.Count == 0 {
		return ""
	}
	return fmt.Sprintf("p95 %s · max %s · n=%d", fmtMS(d.P95), fmtMS(d.Max), d.Count)
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
	return buildLadder(ms, roles, lang, htmlLabels(lang))
}

func buildLadder(ms []analyze.Exchange, roles map[string]analyze.Host, lang catalog.Lang, l map[string]string) *Ladder {
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
			lh.Role = catalog.Fault(hi.Role).Label(lang)
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
		row := LadderRow{Y: y, TextY: y - 6, X1: xa, X2: xb, Time: htmlOffset(m.Time.Sub(t0)), Frame: "#" + strconv.Itoa(m.Frame),
			Class: labelClass(m.Label), Retrans: m.Retrans, Band: i%2 == 1, BandY: y - ladderRowH/2 - 4}
		row.Title = m.Label + " — " + m.Src + " → " + m.Dst + ", " + l["frame"] + " " + strconv.Itoa(m.Frame) + ", " + m.Time.UTC().Format("15:04:05.000000")
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

func htmlOffset(d time.Duration) string {
	if d < time.Hour {
		return "+" + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
	}
	return "+" + d.Round(time.Second).String()
}
