package analyze

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// RFC 3261 §17.1.1.1 timer values. Timer B and F are 64*T1: the time a
// client transaction waits for any answer before giving up.
const (
	T1     = 500 * time.Millisecond
	TimerB = 64 * T1
	TimerF = 64 * T1
)

// Limits that keep memory bounded whatever the input holds.
const (
	maxMessagesPerCall = 2000 // messages kept for the ladder of one call
	maxOpenItems       = 200000
	idleClose          = 4 * time.Hour // an answered call with no BYE is closed after this much silence
)

// Options tune an analysis.
type Options struct {
	// Local is the user's own side: addresses or networks of their phones,
	// PBX and router. Empty means: work it out from the traffic.
	Local []netip.Prefix
	// LocalHosts are host names (as they appear in Via, Contact or From)
	// that are the user's own.
	LocalHosts []string
	// Lang is the language of the texts in the report.
	Lang catalog.Lang
	// Catalog is the knowledge base; nil means catalog.Default().
	Catalog *catalog.Catalog
}

// Analyzer turns time-ordered messages into a Report. It is not safe for
// concurrent use; it starts no goroutines and reads no clock.
type Analyzer struct {
	opt   Options
	cat   *catalog.Catalog
	text  *texts
	calls map[string]*callState // by Call-ID
	regs  map[string]*regState  // by Call-ID
	dlgs  map[string]*dlgState  // by Call-ID+method
	order int                   // arrival counter, for stable ordering
	rep   Report
	first time.Time
	last  time.Time
	seen  map[string]struct{} // request/response fingerprints, for retransmissions
	hosts map[netip.Addr]*hostInfo

	endpoints   map[netip.AddrPort]int // first seen (arrival order)
	pairs       [][2]netip.AddrPort    // request paths, in order
	pairSeen    map[[2]netip.AddrPort]struct{}
	registering map[netip.AddrPort]bool
	registrars  map[netip.AddrPort]bool
	callers     map[netip.AddrPort]bool
	callees     map[netip.AddrPort]bool
	epNames     map[netip.AddrPort]map[string]bool
	agents      map[netip.AddrPort]string

	done      []*callState
	doneRegs  []*regState
	doneDlgs  []*dlgState
	integrity Integrity
}

type hostInfo struct {
	addr       netip.Addr
	registers  bool // sent a REGISTER
	registrar  bool // received a REGISTER
	invites    bool // sent an INVITE
	agent      string
	firstFrame int
}

// New returns an Analyzer.
func New(opt Options) *Analyzer {
	cat := opt.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	return &Analyzer{
		opt: opt, cat: cat, text: loadTexts(opt.Lang),
		calls: map[string]*callState{}, regs: map[string]*regState{}, dlgs: map[string]*dlgState{},
		seen: map[string]struct{}{}, hosts: map[netip.Addr]*hostInfo{},
		endpoints: map[netip.AddrPort]int{}, pairSeen: map[[2]netip.AddrPort]struct{}{},
		registering: map[netip.AddrPort]bool{}, registrars: map[netip.AddrPort]bool{},
		callers: map[netip.AddrPort]bool{}, callees: map[netip.AddrPort]bool{},
		epNames: map[netip.AddrPort]map[string]bool{}, agents: map[netip.AddrPort]string{},
		rep: Report{
			SchemaVersion: SchemaVersion, Lang: string(opt.Lang),
			Summary: Summary{Requests: map[string]int{}, Responses: map[string]int{}, Outcomes: map[string]int{}},
		},
	}
}

// AddInput records that a file was read, with its format and any error
// that stopped reading it.
func (a *Analyzer) AddInput(in Input) { a.rep.Inputs = append(a.rep.Inputs, in) }

// AddIntegrity adds the capture reader's counts for one input.
func (a *Analyzer) AddIntegrity(i Integrity) { a.integrity.Add(i) }

// Add feeds one message. Messages must come in capture order.
func (a *Analyzer) Add(m Message) {
	a.order++
	if a.first.IsZero() || m.Time.Before(a.first) {
		a.first = m.Time
	}
	if m.Time.After(a.last) {
		a.last = m.Time
	}
	s := &a.rep.Summary
	s.Messages++
	if m.Request {
		s.Requests[m.Method]++
	} else {
		s.Responses[strconv.Itoa(m.StatusCode)]++
	}
	a.noteHost(m)
	a.noteEndpoints(m)
	retrans := a.isRetransmission(m)
	if retrans {
		s.Retransmitted++
	}
	method := m.CSeqMethod
	if m.Request {
		method = m.Method
	}
	switch method {
	case "INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE":
		if c := a.callFor(m, method); c != nil {
			c.add(a, m, retrans)
			return
		}
		if method == "INVITE" {
			return
		}
	case "REGISTER":
		r := a.regs[m.CallID]
		if r == nil {
			if !m.Request {
				return // a response whose request was not captured
			}
			r = &regState{callID: m.CallID, order: a.order}
			a.regs[m.CallID] = r
		}
		r.add(a, m, retrans)
		return
	}
	// INFO, REFER, NOTIFY, OPTIONS, ... inside a known call belong to it.
	if c := a.calls[m.CallID]; c != nil {
		c.add(a, m, retrans)
		return
	}
	key := m.CallID + "\x00" + method
	d := a.dlgs[key]
	if d == nil {
		if !m.Request {
			return
		}
		d = &dlgState{callID: m.CallID, method: method, order: a.order}
		a.dlgs[key] = d
	}
	d.add(m, retrans)
}

// callFor returns the call m belongs to, creating it for an initial INVITE.
func (a *Analyzer) callFor(m Message, method string) *callState {
	c := a.calls[m.CallID]
	if c != nil {
		return c
	}
	if !(m.Request && method == "INVITE" && m.To.Tag == "") {
		return nil // mid-dialog traffic of a call whose start was not captured
	}
	c = &callState{callID: m.CallID, order: a.order, byKey: txns{}}
	a.calls[m.CallID] = c
	return c
}

// isRetransmission reports whether the same message was already seen on
// the same path: same transaction, same direction, same start line.
func (a *Analyzer) isRetransmission(m Message) bool {
	v, _ := m.topVia()
	var b strings.Builder
	b.Grow(128)
	b.WriteString(m.Src.String())
	b.WriteByte('>')
	b.WriteString(m.Dst.String())
	b.WriteByte('|')
	b.WriteString(m.CallID)
	b.WriteByte('|')
	b.WriteString(strconv.FormatUint(uint64(m.CSeq), 10))
	b.WriteString(m.CSeqMethod)
	b.WriteByte('|')
	b.WriteString(v.Branch)
	b.WriteByte('|')
	if m.Request {
		b.WriteString(m.Method)
	} else {
		b.WriteString(strconv.Itoa(m.StatusCode))
		b.WriteByte('|')
		b.WriteString(m.To.Tag)
	}
	k := b.String()
	if _, ok := a.seen[k]; ok {
		return true
	}
	if len(a.seen) >= maxOpenItems {
		clear(a.seen) // bounded memory; late retransmissions count as new
	}
	a.seen[k] = struct{}{}
	return false
}

func (a *Analyzer) noteHost(m Message) {
	if src, _ := msgEndpoints(m); src.IsValid() && a.agents[src] == "" && len(a.agents) < maxOpenItems {
		switch {
		case !m.Request && m.Server != "":
			a.agents[src] = m.Server
		case m.UserAgent != "":
			a.agents[src] = m.UserAgent
		}
	}
	src := a.host(m.Src.Addr(), m.Frame)
	dst := a.host(m.Dst.Addr(), m.Frame)
	if m.Request {
		switch m.Method {
		case "REGISTER":
			if src != nil {
				src.registers = true
			}
			if dst != nil {
				dst.registrar = true
			}
		case "INVITE":
			if src != nil && m.To.Tag == "" {
				src.invites = true
			}
		}
		if src != nil && src.agent == "" && m.UserAgent != "" {
			src.agent = m.UserAgent
		}
	} else if src != nil && src.agent == "" {
		if m.Server != "" {
			src.agent = m.Server
		} else if m.UserAgent != "" {
			src.agent = m.UserAgent
		}
	}
}

func (a *Analyzer) host(ip netip.Addr, frame int) *hostInfo {
	if !ip.IsValid() {
		return nil
	}
	ip = ip.Unmap()
	h := a.hosts[ip]
	if h == nil {
		if len(a.hosts) >= maxOpenItems {
			return nil
		}
		h = &hostInfo{addr: ip, firstFrame: frame}
		a.hosts[ip] = h
	}
	return h
}

// Finish closes every open call, registration and dialog and returns the
// report. The Analyzer must not be used afterwards.
func (a *Analyzer) Finish() *Report {
	roles := a.roles()
	calls := make([]*callState, 0, len(a.calls))
	for _, c := range a.calls {
		calls = append(calls, c)
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].order < calls[j].order })
	a.linkLegs(calls)
	for _, c := range calls {
		call := a.explainCall(c, roles)
		if c.linkedUp != nil {
			call.Linked = append(call.Linked, c.linkedUp.callID)
			call.LegOf = c.linkedUp.callID
		}
		for _, d := range c.linkedDown {
			call.Linked = append(call.Linked, d.callID)
		}
		a.rep.Calls = append(a.rep.Calls, call)
	}
	regs := make([]*regState, 0, len(a.regs))
	for _, r := range a.regs {
		regs = append(regs, r)
	}
	sort.Slice(regs, func(i, j int) bool { return regs[i].order < regs[j].order })
	for _, r := range regs {
		a.rep.Registrations = append(a.rep.Registrations, a.explainRegisters(r, roles)...)
	}
	dlgs := make([]*dlgState, 0, len(a.dlgs))
	for _, d := range a.dlgs {
		dlgs = append(dlgs, d)
	}
	sort.Slice(dlgs, func(i, j int) bool { return dlgs[i].order < dlgs[j].order })
	for _, d := range dlgs {
		a.rep.Dialogs = append(a.rep.Dialogs, a.explainDialog(d))
	}
	s := &a.rep.Summary
	for _, c := range a.rep.Calls {
		s.Calls++
		s.Outcomes[c.Outcome]++
		if c.Outcome == OutcomeAnswered {
			s.Answered++
		} else if c.Outcome != OutcomeIncomplete {
			s.Failed++
		}
	}
	s.Registrations = len(a.rep.Registrations)
	if !a.first.IsZero() {
		f, l := a.first.UTC(), a.last.UTC()
		s.First, s.Last = &f, &l
	}
	a.rep.Integrity = a.integrity
	a.rep.Hosts = a.hostList(roles)
	a.rep.Metrics = a.metrics(roles)
	a.rep.Findings = a.inputFindings()
	if a.rep.Calls == nil {
		a.rep.Calls = []*Call{}
	}
	if a.rep.Registrations == nil {
		a.rep.Registrations = []*Register{}
	}
	if a.rep.Dialogs == nil {
		a.rep.Dialogs = []*Dialog{}
	}
	if a.rep.Findings == nil {
		a.rep.Findings = []Finding{}
	}
	if a.rep.Inputs == nil {
		a.rep.Inputs = []Input{}
	}
	return &a.rep
}
