package analyze

import (
	"strconv"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// regState gathers the REGISTER transactions of one Call-ID (RFC 3261
// §10.2: a UA reuses its Call-ID for refreshes).
type regState struct {
	callID string
	file   string
	order  int
	byKey  txnIndex
	txns   []*txn
	msgs   []Exchange
	owner  []*txn // the transaction of each message in msgs
	last   time.Time
}

func (r *regState) add(a *Analyzer, m *Message, retrans bool) {
	if r.file == "" {
		r.file = m.File
	}
	r.last = m.Time
	var t *txn
	if m.Request {
		if t = findTxn(&r.byKey, m, m.Method); t != nil {
			t.sends++
			t.frames = append(t.frames, m.Frame)
			t.lastSend = m.Time
		} else {
			key := txnKey(m, m.Method)
			t = &txn{key: key, method: m.Method, depth: m.hops(), req: newReq(m), sends: 1, frames: []int{m.Frame}, lastSend: m.Time}
			r.byKey.put(t)
			r.txns = append(r.txns, t)
		}
	} else {
		t, _ = matchResponse(m, &r.byKey, r.txns)
	}
	if r.msgs == nil {
		r.msgs, r.owner = make([]Exchange, 0, 8), make([]*txn, 0, 8)
	}
	if len(r.msgs) < maxMessagesPerCall {
		r.msgs = append(r.msgs, a.exchangeOf(m, retrans))
		r.owner = append(r.owner, t)
	}
	if m.Request || t == nil {
		return
	}
	t.frames = append(t.frames, m.Frame)
	if m.StatusCode < 200 {
		if !retrans {
			t.provisional = append(t.provisional, newResp(m))
		}
		return
	}
	if t.final == nil {
		t.finalBuf = newResp(m)
		t.final = &t.finalBuf
		// Who is registered where, so that a 404 for a registered user
		// can be read as the registrar's routing fault.
		if m.StatusCode < 300 && m.To.User != "" {
			k := regKey(m.To.User, m.Src.Addr(), m.File)
			exp := m.Expires
			if exp < 0 {
				exp = t.req.expires
			}
			if exp < 0 {
				exp = 3600 // RFC 3261 §10.2.1.1: the registrar's default
			}
			switch {
			case t.req.expires == 0 || exp == 0:
				delete(a.registered, k) // de-registered
			case len(a.registered) < maxOpenItems:
				a.registered[k] = regSpan{from: m.Time, until: m.Time.Add(time.Duration(exp) * time.Second)}
			}
		}
	}
}

// regSpan is when a user was registered at a registrar, as its 2xx said.
type regSpan struct{ from, until time.Time }

// Registration outcomes.
const (
	RegRegistered   = "registered"
	RegUnregistered = "unregistered" // a successful de-registration (Expires: 0)
	RegFailed       = "failed"
	RegTimeout      = "timeout"
	RegIncomplete   = "incomplete"
)

// groups splits the REGISTER transactions of a Call-ID into
// registrations: each runs until a final answer other than a 401/407
// challenge, so a refresh or a de-registration is a registration of its own.
func (r *regState) groups() [][]*txn {
	var out [][]*txn
	var cur []*txn
	for _, x := range r.txns {
		// A challenge answered much later than a UA would (it retries at
		// once) means the first attempt was given up.
		if n := len(cur); n > 0 && cur[n-1].final != nil && x.req.time.Sub(cur[n-1].final.time) > TimerF {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, x)
		if x.final != nil && x.final.code != 401 && x.final.code != 407 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// closedRegisters explains the registrations of r that are over (a final
// answer other than a challenge, quiet for a while) and forgets them; at
// the end of the input (all) it explains the rest too.
func (a *Analyzer) closedRegisters(r *regState, rm roleMap, now time.Time, all bool) []*Register {
	var out []*Register
	groups := r.groups()
	done := 0
	for i, g := range groups {
		last := g[len(g)-1]
		closed := last.final != nil && last.final.code != 401 && last.final.code != 407
		quiet := now.Sub(r.last)
		// Only the trailing group can still be going on: report it once it
		// has been quiet long enough for retransmissions, or for its
		// retry after a challenge.
		if i == len(groups)-1 && !all && (quiet < a.settle || !closed && quiet < a.settle+TimerF) {
			break
		}
		out = append(out, a.explainRegister(r, g, rm))
		done += len(g)
	}
	if done == 0 {
		return nil
	}
	gone := map[*txn]bool{}
	for _, x := range r.txns[:done] {
		gone[x] = true
		r.byKey.remove(x.key)
	}
	r.txns = r.txns[done:]
	var msgs []Exchange
	var owner []*txn
	for i, t := range r.owner {
		if t != nil && !gone[t] {
			msgs = append(msgs, r.msgs[i])
			owner = append(owner, t)
		}
	}
	r.msgs, r.owner = msgs, owner
	return out
}

func (a *Analyzer) explainRegister(r *regState, group []*txn, rm roleMap) *Register {
	t := a.text
	first := group[0]
	last := group[len(group)-1] // the last attempt decides
	frames := []int{}
	msgs := []Exchange{}
	inGroup := map[*txn]bool{}
	for _, x := range group {
		inGroup[x] = true
	}
	for i, t := range r.owner {
		if inGroup[t] {
			frames = append(frames, r.msgs[i].Frame)
			msgs = append(msgs, r.msgs[i])
		}
	}
	end := last.lastSend
	if last.final != nil {
		end = last.final.time
	}
	reg := &Register{
		CallID: r.callID, AOR: first.req.to.URI, Contact: first.req.contact,
		Src: a.addrString(viaEndpoint(first.req.src, first.req.vias)), Dst: a.addrString(unmapAP(first.req.dst)),
		Start: first.req.time.UTC(), End: end.UTC(), Attempts: len(group), Expires: -1,
		Frames: frames, Messages: msgs, Findings: []Finding{},
	}
	v := vars{"to": reg.Dst, "what": "REGISTER", "value": first.req.to.User}
	fault := catalog.FaultNone
	fin := last.final
	if fin != nil {
		reg.FinalStatus, reg.Reason = fin.code, fin.reason
		v["code"], v["phrase"] = a.codeText(fin.code), phraseOf(fin.reason, a.cat.Phrase(fin.code))
		from := a.addrString(fin.src)
		if fin.agent != "" {
			from += " (" + fin.agent + ")"
		}
		v["from"] = from
		if res, err := a.cat.Resolve(fin.code); err == nil {
			fault = res.Entry.Fault
		}
	}
	var main Finding
	switch {
	case fin == nil:
		// A phone that gets no answer may send each try as a new
		// transaction (new branch, next CSeq): count them all, from the
		// first, as long as none of them got any answer.
		sends, silent := 0, true
		for _, x := range group {
			sends += x.sends
			silent = silent && x.final == nil && len(x.provisional) == 0
		}
		from := last
		if silent {
			from = first
		} else {
			sends = last.sends
		}
		v["count"] = strconv.Itoa(sends)
		v["secs"] = secs(last.lastSend.Sub(from.req.time))
		if a.endOf(r.file).Sub(from.req.time) >= TimerF || sends >= 7 {
			reg.Outcome = RegTimeout
			fault = catalog.FaultNetwork
			var frames []int
			for _, x := range group {
				frames = append(frames, x.frames...)
			}
			main = t.finding("no-response", v, frames...)
		} else {
			reg.Outcome = RegIncomplete
			v["secs"] = secs(a.endOf(r.file).Sub(last.lastSend))
			main = t.findingWith(a.incompleteID(), v, one("what", phrase("what-registration")), last.frame())
		}
	case fin.code < 300:
		reg.Expires = fin.expires
		if reg.Expires < 0 {
			reg.Expires = last.req.expires
		}
		if last.req.expires == 0 {
			reg.Outcome = RegUnregistered
		} else {
			reg.Outcome = RegRegistered
		}
		fault = catalog.FaultNone
		v["value"] = strconv.Itoa(reg.Expires)
		if reg.Outcome == RegUnregistered {
			main = t.finding("unregistered", v, fin.frame)
		} else {
			main = t.finding("registered", v, fin.frame)
		}
	default:
		reg.Outcome = RegFailed
		main, fault = a.registerFailure(reg, group, fin, v, fault)
	}
	main.Fault = string(fault)
	reg.Findings = append(reg.Findings, main)
	if f, ok := natFinding(t, first.req); ok {
		reg.Findings = append(reg.Findings, f)
	}
	if reg.Outcome == RegRegistered || reg.Outcome == RegUnregistered {
		for i, x := range group {
			if x.final != nil && (x.final.code == 401 || x.final.code == 407) && i+1 < len(group) {
				reg.Findings = append(reg.Findings, t.finding("auth-challenge", vars{"to": apText(x.final.src),
					"code": strconv.Itoa(x.final.code), "phrase": phraseOf(x.final.reason, a.cat.Phrase(x.final.code))}, x.final.frame))
				break
			}
		}
	}
	reg.Fault = string(fault)
	_ = rm
	return reg
}

// dlgState gathers non-INVITE exchanges of one Call-ID and method.
type dlgState struct {
	callID   string
	file     string
	method   string
	order    int
	first    *reqInfo
	requests int
	final    *respInfo
	frames   []int
	last     time.Time
}

func (d *dlgState) add(m *Message, retrans bool) {
	d.last = m.Time
	if len(d.frames) < maxMessagesPerCall {
		d.frames = append(d.frames, m.Frame)
	}
	if m.Request {
		if d.first == nil {
			r := newReq(m)
			d.first = &r
			d.file = m.File
		}
		if !retrans {
			d.requests++
		}
		return
	}
	if m.StatusCode >= 200 {
		r := newResp(m)
		d.final = &r
	}
}

func (a *Analyzer) explainDialog(d *dlgState) *Dialog {
	out := &Dialog{CallID: d.callID, Method: d.method, Requests: d.requests, Frames: d.frames}
	if d.first != nil {
		out.Src = apText(viaEndpoint(d.first.src, d.first.vias))
		out.Dst = apText(unmapAP(d.first.dst))
		out.Start = d.first.time.UTC()
	}
	out.Fault = string(catalog.FaultNone)
	switch {
	case d.final != nil:
		out.FinalStatus, out.Reason = d.final.code, d.final.reason
		if d.final.code < 300 {
			out.Outcome = "ok"
		} else {
			out.Outcome = "failed"
		}
		if res, err := a.cat.Resolve(d.final.code); err == nil {
			if d.final.code >= 300 {
				out.Fault = string(res.Entry.Fault)
			}
		}
		if d.final.code >= 300 {
			out.Meaning = methodMeaning(d.method, d.final.code)
		}
	case d.first != nil && a.endOf(d.file).Sub(d.first.time) >= TimerF:
		out.Outcome = "timeout"
		out.Fault = string(catalog.FaultNetwork)
	default:
		out.Outcome = "incomplete"
	}
	return out
}

// methodMeaning returns the phrase id that says what a failure answer
// means for a method other than INVITE and REGISTER, or "" when the
// code's general text fits. SUBSCRIBE is a status subscription (RFC 6665:
// message waiting, RFC 3842; busy lamps, RFC 4235), PUBLISH a status
// publication (RFC 3903), MESSAGE a text message (RFC 3428), OPTIONS a
// check that the other side is up (RFC 3261 §11).
func methodMeaning(method string, code int) string {
	switch method {
	case "SUBSCRIBE":
		switch code {
		case 404, 604:
			return phrase("dialog-subscribe-unknown").Phrase
		case 403:
			return phrase("dialog-subscribe-forbidden").Phrase
		case 480:
			return phrase("dialog-subscribe-unavailable").Phrase
		case 489:
			return phrase("dialog-event-unsupported").Phrase
		}
		return phrase("dialog-subscribe-refused").Phrase
	case "PUBLISH":
		if code == 489 {
			return phrase("dialog-event-unsupported").Phrase
		}
		return phrase("dialog-publish-refused").Phrase
	case "MESSAGE":
		return phrase("dialog-message-refused").Phrase
	case "OPTIONS":
		return phrase("dialog-options-refused").Phrase
	case "REGISTER":
		// A registrar answers in the words of calls (RFC 3261 §10.3 names
		// few codes of its own); the call meaning of 480 or 486 ("the
		// called person") would mislead, so a refused registration gets
		// its own. Server errors keep the code's general meaning.
		switch {
		case code == 403:
			return phrase("register-meaning-forbidden").Phrase
		case code == 480:
			return phrase("register-meaning-unavailable").Phrase
		case code >= 400 && code < 500 || code >= 600:
			return phrase("register-meaning-refused").Phrase
		}
	}
	return ""
}
