package analyze

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// explainCall turns a call's messages into a Call: what happened, the
// outcome, where the cause lies and the findings that show it.
func (a *Analyzer) explainCall(c *callState, rm roleMap) *Call {
	t := a.text
	prim := c.primary()
	first := prim[0]
	last := decisive(prim)
	req := first.req
	callerEP, calleeEP := viaEndpoint(req.src, req.vias), unmapAP(req.dst)
	// The call, its moments, its responder and room for its first
	// findings are one allocation: they live and go together.
	blk := new(callBlock)
	call := &blk.call
	*call = Call{
		CallID: c.callID, From: req.from.URI, To: req.to.URI, Caller: req.from.User, Callee: req.to.User,
		CallerName: req.from.Display, Asserted: req.more().pai, Src: a.addrString(callerEP), Dst: a.addrString(calleeEP),
		Start: req.time.UTC(), Times: CallTimes{Invite: req.time.UTC()}, File: c.file,
		Findings: blk.findings[:0],
	}
	call.Messages, call.Frames = a.messages(c)
	if call.Callee == "" {
		call.Callee = uriUser(req.ruri)
	}
	callerLocal, calleeLocal := rm.of(callerEP) == RoleLocal, rm.of(calleeEP) == RoleLocal
	switch {
	case callerLocal && calleeLocal:
		call.Direction = "internal"
	case callerLocal:
		call.Direction = "outgoing"
	case calleeLocal:
		call.Direction = "incoming"
	default:
		call.Direction = "transit"
	}
	// Moments, from the primary leg. The times a call has are kept in one
	// array, not allocated one by one.
	moments := &blk.moments // first provisional, ringing, final, end
	var ringing bool
	var tags distinct
	for _, x := range prim {
		for _, p := range x.provisional {
			if p.toTag != "" {
				tags.add(p.toTag)
			}
			if call.Times.FirstProvisional == nil {
				moments[0] = p.time.UTC()
				call.Times.FirstProvisional = &moments[0]
			}
			if p.code != 100 && call.Times.Ringing == nil {
				moments[1] = p.time.UTC()
				call.Times.Ringing = &moments[1]
				ringing = true
			}
		}
	}
	call.EarlyDialogs = tags.len()
	fin := last.final
	if fin != nil {
		moments[2] = fin.time.UTC()
		ft := &moments[2]
		call.Times.Final = ft
		call.FinalStatus = fin.code
		call.Reason = fin.reason
		call.Registered = a.cat.Phrase(fin.code)
		if fin.code < 300 {
			call.Times.Answer = ft
		}
	}
	end := c.last.UTC()
	var byeBy string
	if len(c.byes) > 0 {
		b := c.byes[0]
		moments[3] = b.req.time.UTC()
		call.Times.End = &moments[3]
		end = moments[3]
		if viaEndpoint(b.req.src, b.req.vias) == callerEP || b.req.from.Tag == req.from.Tag {
			byeBy = "caller"
		} else {
			byeBy = "callee"
		}
		call.EndedBy = byeBy
	}
	call.End = end
	if call.Times.Answer != nil && call.Times.End != nil {
		call.DurationMS = call.Times.End.Sub(*call.Times.Answer).Milliseconds()
	}
	switch {
	case call.Times.Ringing != nil:
		call.PDDMS = call.Times.Ringing.Sub(req.time).Milliseconds()
	case call.Times.Final != nil:
		call.PDDMS = call.Times.Final.Sub(req.time).Milliseconds()
	}

	origin, hop := a.finalOrigin(c, first, fin)
	// A final answer rewritten on the way (the callee said 603, the proxy
	// told the caller 486): the call is explained by the original answer.
	var rewritten *respInfo
	if fin != nil && fin.code >= 300 {
		if orig, h := a.rewrittenFrom(c, first, fin); orig != nil {
			rewritten, fin, origin, hop = fin, orig, orig, h
		}
	}
	if fin != nil {
		blk.responder = Responder{Addr: a.addrString(origin.src), Agent: origin.agent, Role: rm.of(unmapAP(origin.src)), Hop: hop}
		call.FinalFrom = &blk.responder
	}
	call.Reasons = a.decodeReasons(c.more().reasons)
	call.Warnings = a.decodeWarnings(c.more().warns)
	for _, r := range call.Reasons {
		if call.EndReason == "" && len(c.byes) > 0 {
			call.EndReason = r.Value
		}
	}

	// The outcome and the main finding.
	// The placeholders' values: one map, emptied for each call (the
	// findings keep copies), instead of a map made for every call.
	if a.callVars == nil {
		a.callVars = vars{}
	}
	v := a.callVars
	clear(v)
	v["to"], v["from"], v["what"] = a.addrString(calleeEP), a.responderName(origin), "INVITE"
	if fin != nil {
		v["code"] = a.codeText(fin.code)
		v["phrase"] = phraseOf(fin.reason, call.Registered)
	}
	var main Finding
	fault := catalog.FaultNone
	entry := catalog.Code{}
	if fin != nil {
		if res, err := a.cat.Resolve(fin.code); err == nil {
			entry = res.Entry
			fault = entry.Fault
		}
	}
	code := 0
	if fin != nil {
		code = fin.code
	}
	authSent := last.req.more().authNonce != "" || last.req.more().authUser != ""
	cancelled := last.cancel != nil
	for _, x := range prim {
		if x.cancel != nil {
			cancelled = true
		}
	}
	anyResponse := last.final != nil || len(last.provisional) > 0
	captureEnd := a.fileLast(c)
	switch {
	case fin == nil && !anyResponse:
		sends := last.sends
		span := last.lastSend.Sub(last.req.time)
		waited := captureEnd.Sub(last.req.time)
		v["count"] = strconv.Itoa(sends)
		v["secs"] = secs(span)
		switch {
		case waited >= TimerB || sends >= 7:
			call.Outcome = OutcomeTimeout
			fault = catalog.FaultNetwork
			main = t.finding("no-response", v, last.frames...)
		case cancelled:
			call.Outcome = OutcomeCancelled
			fault = catalog.FaultNone
			lc := lastCancel(prim)
			v["secs"] = secs(lc.time.Sub(first.req.time))
			v["code"], v["phrase"] = "487", a.cat.Phrase(487)
			main = t.finding("caller-cancelled", v, lc.frame)
		default:
			call.Outcome = OutcomeIncomplete
			v["secs"] = secs(captureEnd.Sub(c.last))
			main = t.findingWith(a.incompleteID(), v, one("what", phrase("what-call")), last.frame())
		}
	case fin == nil:
		p := lastProvisional(prim)
		v["code"], v["phrase"] = a.codeText(p.code), phraseOf(p.reason, a.cat.Phrase(p.code))
		v["to"] = apText(p.src)
		switch {
		case cancelled:
			call.Outcome = OutcomeCancelled
			fault = catalog.FaultNone
			lc := lastCancel(prim)
			v["secs"] = secs(lc.time.Sub(first.req.time))
			v["code"], v["phrase"] = "487", a.cat.Phrase(487)
			main = t.finding("caller-cancelled", v, lc.frame)
		case captureEnd.Sub(c.last) >= 3*time.Minute: // RFC 3261 Timer C
			call.Outcome = OutcomeTimeout
			v["secs"] = secs(captureEnd.Sub(first.req.time))
			fault = catalog.FaultProvider
			if ringing {
				fault = catalog.FaultRemote
			}
			main = t.finding("no-final-response", v, p.frame)
		default:
			call.Outcome = OutcomeIncomplete
			v["secs"] = secs(captureEnd.Sub(c.last))
			main = t.findingWith(a.incompleteID(), v, one("what", phrase("what-call")), p.frame)
		}
	case code < 300:
		call.Outcome = OutcomeAnswered
		fault = catalog.FaultNone
	case code < 400:
		call.Outcome = OutcomeRedirected
		fault = catalog.FaultNone
		v["value"] = fin.contact
		main = t.finding("redirected", v, fin.frame)
	default:
		call.Outcome, main, fault = a.failure(c, call, prim, last, fin, origin, hop, rm, v, ringing, authSent, cancelled, fault)
	}
	if main.ID != "" {
		main.Fault = string(fault)
		call.Findings = append(call.Findings, main)
	}
	if rewritten != nil {
		call.Findings = append(call.Findings, t.finding("response-rewritten", vars{
			"from": apText(rewritten.src), "code": strconv.Itoa(rewritten.code), "phrase": phraseOf(rewritten.reason, a.cat.Phrase(rewritten.code)),
			"value": apText(fin.src), "got": strconv.Itoa(fin.code) + " " + phraseOf(fin.reason, a.cat.Phrase(fin.code)),
		}, fin.frame, rewritten.frame))
	}
	call.Fault = string(fault)
	call.Findings = append(call.Findings, a.callSideFindings(c, call, prim, first, last, rm, v)...)
	for i := range call.Findings {
		if call.Findings[i].Frames == nil {
			call.Findings[i].Frames = []int{}
		}
	}
	return call
}

// finalOrigin finds the host that generated the final answer: the
// furthest hop in the capture that sent the same status for this call.
func (a *Analyzer) finalOrigin(c *callState, first *txn, fin *respInfo) (*respInfo, int) {
	if fin == nil {
		return nil, 0
	}
	origin, depth := fin, first.depth
	for _, t := range c.downstream(first.depth) {
		if t.final != nil && t.final.code == fin.code && t.depth > depth {
			origin, depth = t.final, t.depth
		}
	}
	hop := depth - first.depth + 1
	for _, d := range c.linkedDown { // a B2BUA's outgoing leg
		for _, t := range d.primary() {
			if t.final != nil && t.final.code == fin.code {
				return t.final, hop + 1
			}
		}
	}
	return origin, hop
}

// silentDownstream returns a forwarded INVITE of this call that never got
// any answer, if the capture shows one.
func (a *Analyzer) silentDownstream(c *callState, first *txn) *txn {
	for _, t := range c.downstream(first.depth) {
		if t.final == nil && len(t.provisional) == 0 {
			return t
		}
	}
	return nil
}

func (t *txn) frame() int { return t.req.frame }

func lastProvisional(prim []*txn) respInfo {
	var p respInfo
	for _, x := range prim {
		if n := len(x.provisional); n > 0 {
			p = x.provisional[n-1]
		}
	}
	return p
}

func lastCancel(prim []*txn) *reqInfo {
	for i := len(prim) - 1; i >= 0; i-- {
		if prim[i].cancel != nil {
			return prim[i].cancel
		}
	}
	return nil
}

// authWhat describes how authentication went wrong.
func authWhat(prim []*txn) Part {
	challenges, withCreds := 0, 0
	nonces := map[string]int{}
	for _, x := range prim {
		if x.final != nil && (x.final.code == 401 || x.final.code == 407) {
			challenges++
		}
		if n := x.req.more().authNonce; n != "" {
			withCreds++
			nonces[n]++
		}
	}
	for _, n := range nonces {
		if n > 1 {
			return phrase("auth-nonce-reused")
		}
	}
	if withCreds > 0 {
		return phrase("auth-credentials-refused", "n", strconv.Itoa(withCreds))
	}
	return phrase("auth-no-credentials", "n", strconv.Itoa(challenges))
}

func authFrames(prim []*txn) []int {
	var fs []int
	for _, x := range prim {
		if x.final != nil && x.final.code >= 400 {
			fs = append(fs, x.req.frame, x.final.frame)
		}
	}
	return fs
}

// codecWhat describes the media mismatch from the offer and the answer's
// Warning header.
func codecWhat(offer *SDP, fin *respInfo) []Part {
	var parts []Part
	if offer != nil {
		var codecs []string
		for _, m := range offer.Media {
			codecs = append(codecs, m.Type+": "+strings.Join(m.Codecs, ", "))
		}
		if len(codecs) > 0 {
			parts = append(parts, phrase("offer-had", "media", strings.Join(codecs, "; ")))
		}
		// Most European networks take G.711 A-law (PCMA) only: an offer
		// without it is the usual cause of a 488 from a Dutch provider.
		if len(codecs) > 0 && !offerHas(offer, "PCMA") {
			parts = append(parts, phrase("offer-lacks-pcma"))
		}
	}
	for _, w := range fin.more().warnings {
		parts = append(parts, raw("Warning: "+w))
	}
	if len(parts) == 0 {
		return []Part{raw(strconv.Itoa(fin.code) + " " + fin.reason)}
	}
	return parts
}

// decodeReasons keeps each Reason header value once; the report package
// gives its meaning.
func (a *Analyzer) decodeReasons(in []Decoded) []Decoded { return uniqueValues(in) }

// decodeWarnings keeps each Warning header value once.
func (a *Analyzer) decodeWarnings(in []Decoded) []Decoded { return uniqueValues(in) }

func uniqueValues(in []Decoded) []Decoded {
	var out []Decoded
	seen := map[string]bool{}
	for _, d := range in {
		if seen[d.Value] {
			continue
		}
		seen[d.Value] = true
		out = append(out, d)
	}
	return out
}

// callSideFindings are the warnings and context beyond the final answer:
// challenges, NAT, ALG, ACK, retransmissions, Reason and Warning headers.
func (a *Analyzer) callSideFindings(c *callState, call *Call, prim []*txn, first, last *txn, rm roleMap, v vars) []Finding {
	t := a.text
	var out []Finding
	// A challenge that was answered and then succeeded is normal.
	if call.Outcome == OutcomeAnswered || call.FinalStatus != 401 && call.FinalStatus != 407 {
		for i, x := range prim {
			if x.final != nil && (x.final.code == 401 || x.final.code == 407) && i+1 < len(prim) {
				out = append(out, t.finding("auth-challenge", vars{"to": apText(x.final.src), "code": strconv.Itoa(x.final.code),
					"phrase": phraseOf(x.final.reason, a.cat.Phrase(x.final.code))}, x.final.frame, prim[i+1].req.frame))
				break
			}
		}
	}
	if f, ok := natFinding(t, first.req); ok {
		out = append(out, f)
	}
	// 2xx without ACK, or 2xx retransmitted: RFC 3261 §13.3.1.4. Each
	// answered INVITE has its own ACK, with the INVITE's CSeq number
	// (§13.2.2.4), so parallel attempts are not mistaken for retransmissions.
	if call.Outcome == OutcomeAnswered && last.final != nil {
		acked := false
		for _, cseq := range c.acks2xx {
			acked = acked || cseq == last.req.cseq
		}
		var what []Part
		switch {
		case !acked && a.fileLast(c).Sub(last.final.time) >= TimerB:
			what = []Part{phrase("ack-none")}
		case last.oks >= 3:
			what = []Part{phrase("ack-late", "n", strconv.Itoa(last.oks))}
		}
		if what != nil && call.DurationMS > 0 && call.DurationMS >= 30000 && call.DurationMS <= 34000 {
			what = append(what, phrase("ack-ended-32s"))
		}
		if what != nil {
			out = append(out, t.findingWith("ack-missing", nil, one("what", what...), last.final.frame))
		}
	}
	// An earlier attempt redirected (3xx) and the caller followed it: the
	// redirect is how the call got where it went, not its outcome.
	for _, x := range prim {
		if x != last && x.final != nil && x.final.code >= 300 && x.final.code < 400 {
			f := t.finding("redirect-followed", vars{"from": apText(x.final.src), "code": strconv.Itoa(x.final.code),
				"phrase": phraseOf(x.final.reason, a.cat.Phrase(x.final.code)), "value": x.final.contact,
				"to": apText(unmapAP(last.req.dst))}, x.final.frame, last.req.frame)
			out = append(out, f)
			break
		}
	}
	if vb := c.more().viaBroken; len(vb) > 0 {
		out = append(out, a.viaFinding(vb))
	}
	// Signs of an ALG: addresses changed between two capture points,
	// Content-Length not matching the body, a received that contradicts a
	// public Via.
	var alg []Part
	more := c.more()
	algFrames := append([]int(nil), more.algFr...)
	alg = append(alg, more.alg...)
	if len(more.parseBad) > 0 {
		alg = append(alg, phrase("content-length-mismatch"))
		algFrames = append(algFrames, more.parseBad...)
	}
	if p, f, ok := viaContradiction(prim); ok {
		alg = append(alg, p)
		algFrames = append(algFrames, f)
	}
	if len(alg) > 0 {
		out = append(out, t.findingWith("alg-suspected", nil, one("what", alg...), algFrames...))
	}
	// A re-INVITE or UPDATE that was refused: the call goes on, but the
	// change it asked for (often a switch to T.38 fax, or hold) failed.
	for _, x := range c.more().reinv {
		if x.final == nil || x.final.code < 400 {
			continue
		}
		what := phrase("session-change")
		// What the refusal means depends on what was asked (issue 8, T18).
		effect := phrase("reinvite-effect-other")
		if x.req.sdp != nil {
			for _, m := range x.req.sdp.Media {
				switch {
				case m.Port != 0 && m.Type == "video":
					effect = phrase("reinvite-effect-video")
				case m.Port != 0 && (m.Direction == "sendonly" || m.Direction == "inactive") && effect.Phrase == "reinvite-effect-other":
					effect = phrase("reinvite-effect-hold")
				}
			}
			var media []string
			for _, m := range x.req.sdp.Media {
				if m.Port == 0 {
					continue
				}
				media = append(media, m.Type+" "+strings.Join(m.Codecs, "/"))
			}
			if len(media) > 0 {
				what = raw(strings.Join(media, ", "))
			}
			for _, m := range x.req.sdp.Media {
				if m.Type == "image" && m.Port != 0 {
					what = phrase("t38-switch")
					effect = phrase("reinvite-effect-fax")
				}
			}
		}
		method := x.method
		if method == "INVITE" {
			method = "re-INVITE"
		}
		parts := map[string][]Part{"what": {what}, "effect": {effect}}
		if !x.final.src.IsValid() { // a log that names no addresses
			parts["from"] = []Part{phrase("reinvite-refused-by-unknown")}
		}
		f := t.findingWith("reinvite-rejected", vars{"method": method, "code": strconv.Itoa(x.final.code),
			"phrase": phraseOf(x.final.reason, a.cat.Phrase(x.final.code)), "from": apText(x.final.src)}, parts, x.req.frame, x.final.frame)
		out = append(out, f)
		break
	}
	// Forwarded INVITEs that nobody answered: a device further on is down
	// or unreachable, even when the call itself went elsewhere.
	if call.Outcome != OutcomeTimeout {
		seen := map[netip.AddrPort]bool{}
		for _, x := range c.downstream(first.depth) {
			dst := unmapAP(x.req.dst)
			if x.final != nil || len(x.provisional) > 0 || seen[dst] || (x.sends < 3 && a.fileLast(c).Sub(x.req.time) < TimerB) {
				continue
			}
			seen[dst] = true
			f := t.finding("no-response", vars{"what": "INVITE", "to": apText(dst), "count": strconv.Itoa(x.sends),
				"secs": secs(x.lastSend.Sub(x.req.time))}, x.frames...)
			f.Severity, f.Fault = "warning", string(catalog.FaultRemote)
			out = append(out, f)
		}
	}
	// Retransmissions of requests that were answered in the end: loss or
	// slowness on the path (unanswered ones are reported above).
	sent, resent := 0, 0
	var lossFrames []int
	for _, x := range c.txns() {
		if x.final == nil && len(x.provisional) == 0 || x.req.transport != "udp" && x.req.transport != "" {
			continue
		}
		sent += x.sends
		resent += x.sends - 1
		if x.sends > 1 {
			lossFrames = append(lossFrames, x.frames[1:]...)
		}
	}
	if resent >= 3 && resent*100/sent >= 20 {
		sort.Ints(lossFrames)
		out = append(out, t.finding("packet-loss", vars{"count": strconv.Itoa(resent), "n": strconv.Itoa(sent),
			"value": strconv.Itoa(resent * 100 / sent), "from": call.Src, "to": call.Dst}, lossFrames...))
	}
	for _, r := range call.Reasons {
		out = append(out, t.finding("reason-header", vars{"from": r.From, "value": r.Value}, r.Frame))
	}
	for _, w := range call.Warnings {
		out = append(out, t.finding("warning-header", vars{"from": w.From, "value": w.Value}, w.Frame))
	}
	return out
}

// viaContradiction finds a response whose Via names a public address while
// its received parameter (RFC 3261 §18.2.1) says the request came from
// another one: something between rewrote the Via with a wrong address.
func viaContradiction(prim []*txn) (Part, int, bool) {
	for _, x := range prim {
		if x.final == nil || len(x.req.vias) == 0 || x.final.viaBroken != "" {
			continue
		}
		v := x.req.vias[0]
		host, ok := v.hostAddr()
		if !ok || isPrivate(host) || x.final.more().received == "" {
			continue
		}
		if rcv, err := netip.ParseAddr(x.final.more().received); err == nil && rcv != host {
			return phrase("via-contradiction", "public", host.String(), "received", rcv.String()), x.final.frame, true
		}
	}
	return Part{}, 0, false
}

// natFinding reports a private address in Via, Contact or SDP of a request
// sent from a public address.
func natFinding(t *texts, r reqInfo) (Finding, bool) {
	src := r.src.Addr().Unmap()
	if !src.IsValid() || isPrivate(src) {
		return Finding{}, false
	}
	check := func(header, host string) (Finding, bool) {
		ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
		if err != nil || !isPrivate(ip) || ip.IsLoopback() {
			return Finding{}, false
		}
		return t.finding("nat-private-address", vars{"header": header, "n": strconv.Itoa(r.frame), "local": ip.String(), "public": src.String()}, r.frame), true
	}
	if len(r.vias) > 0 && r.vias[0].Received == "" {
		if f, ok := check("Via", r.vias[0].Host); ok {
			return f, true
		}
	}
	if f, ok := check("Contact", r.contactIP); ok {
		return f, true
	}
	if r.sdp != nil {
		if f, ok := check("SDP (c=)", r.sdp.Addr); ok {
			return f, true
		}
		for _, m := range r.sdp.Media {
			if f, ok := check("SDP (c=)", m.Addr); ok {
				return f, true
			}
		}
	}
	return Finding{}, false
}

// phraseSays reports whether a reason phrase on the wire contains one of
// the words (case-insensitive).
func phraseSays(phrase string, words ...string) bool {
	p := strings.ToLower(phrase)
	for _, w := range words {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

func phraseOf(wire, registered string) string {
	if wire != "" {
		return wire
	}
	return registered
}

func uriUser(uri string) string {
	s := uri
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return s[:i]
	}
	return ""
}

// viaFinding names the hops that answered without the request's Via: the
// call was matched as the phones matched it, and this is not a sign of
// loss or of a SIP ALG but of a hop that does not follow RFC 3261
// §16.7 step 3 / §8.2.6.2.
func (a *Analyzer) viaFinding(notes []viaNote) Finding {
	var parts []Part
	var frames []int
	seen := map[string]bool{}
	for _, n := range notes {
		frames = append(frames, n.frame)
		var p Part
		args := []string{"from", apText(n.from), "code", strconv.Itoa(n.code), "reason", n.reason, "method", n.method}
		switch n.why {
		case viaMissing:
			p = phrase("via-missing", args...)
		case viaOwn:
			p = phrase("via-own", args...)
		default:
			p = phrase("via-other", args...)
		}
		id := p.Phrase
		k := id + apText(n.from) + strconv.Itoa(n.code) + n.method
		if !seen[k] {
			seen[k] = true
			parts = append(parts, p)
		}
	}
	return a.text.findingWith("via-mismatch", vars{}, one("what", parts...), frames...)
}

// Overrides reports whether a finding gives the final status another
// meaning than its usual one in RFC 3261 §21 (a 408 after ringing is
// nobody answering, not a network fault): the code's general background
// and advice would contradict it, so a report must not show them with it.
func Overrides(id string) bool { return overrides[id] }

var overrides = map[string]bool{
	"no-answer": true, "ring-timer": true, "server-decided": true, "registered-not-routed": true,
	"inbound-refused": true, "routing-failed": true, "next-hop-failed": true, "registrar-unavailable": true,
	"content-type-unsupported": true, "codec-refused-far-end": true, "number-incomplete": true, "upstream-unreachable": true, "no-response": true,
	// Another phone took the call: not "cancelled, usually by the caller" (review T16).
	"answered-elsewhere": true,
}

// rewrittenFrom returns the final answer a hop further on sent before the
// one the caller got, when it has another code: the proxy rewrote it (RFC
// 3261 §16.7 lets a proxy choose which answer to pass on, not to change
// it; some do, 603 into 486 for instance).
func (a *Analyzer) rewrittenFrom(c *callState, first *txn, fin *respInfo) (*respInfo, int) {
	var orig *respInfo
	depth := first.depth
	for _, t := range c.downstream(first.depth) {
		f := t.final
		if f == nil || f.code < 300 || f.code == fin.code || f.time.After(fin.time) || f.code == 487 && fin.code != 487 {
			continue
		}
		if t.depth >= depth {
			orig, depth = f, t.depth
		}
	}
	if orig == nil {
		return nil, 0
	}
	return orig, depth - first.depth + 1
}

// registeredAt reports whether user registered successfully at the server
// at addr (the registrar answered 2xx) before t, in the same input.
func (a *Analyzer) registeredAt(user string, server netip.AddrPort, t time.Time, file string) bool {
	if user == "" {
		return false
	}
	sp, ok := a.registered[regKey(user, server.Addr(), file)]
	return ok && !sp.from.After(t) && t.Before(sp.until)
}

func regKey(user string, server netip.Addr, file string) string {
	return strings.ToLower(user) + "|" + server.Unmap().String() + "|" + file
}

// ringTimerMin is the shortest ringing that can be a no-answer timer:
// people hang up sooner, timers are set to 15 s or more.
const ringTimerMin = 15 * time.Second

// sameRingTime reports whether another call got the same final code from
// the same server after the same ringing time (within 300 ms): a timer
// ended them, not the callees.
func (a *Analyzer) sameRingTime(origin *respInfo, code int, waited time.Duration) bool {
	if waited < ringTimerMin {
		return false
	}
	n := 0
	for _, d := range a.rings[ringKey(origin.src.Addr(), code)] {
		if d > waited-300*time.Millisecond && d < waited+300*time.Millisecond {
			n++
		}
	}
	return n >= 2 // this call and at least one more
}

func ringKey(server netip.Addr, code int) string {
	return server.Unmap().String() + "|" + strconv.Itoa(code)
}

// noteRing records how long a call rang before a 486/480/408 ended it, so
// that calls ended by the same timer are recognised together.
func (a *Analyzer) noteRing(c *callState) {
	if c.ringNoted {
		return
	}
	c.ringNoted = true
	prim := c.primary()
	if len(prim) == 0 {
		return
	}
	last := decisive(prim)
	fin := last.final
	if fin == nil || fin.code != 486 && fin.code != 480 && fin.code != 408 {
		return
	}
	rang := false
	for _, x := range prim {
		for _, p := range x.provisional {
			rang = rang || p.code == 180 || p.code == 183
		}
	}
	waited := fin.time.Sub(prim[0].req.time)
	if !rang || waited < ringTimerMin {
		return
	}
	origin, _ := a.finalOrigin(c, prim[0], fin)
	k := ringKey(origin.src.Addr(), fin.code)
	if len(a.rings) >= 4096 {
		clear(a.rings)
	}
	if r := a.rings[k]; len(r) < 64 {
		a.rings[k] = append(r, waited)
	}
}

// serverAgents are Server / User-Agent words of SIP servers, proxies and
// SBCs rather than phones.
var serverAgents = []string{"kamailio", "opensips", "openser", "ser (", "repro", "asterisk", "freeswitch", "cisco-sipgateway",
	"cube", "sbc", "broadworks", "metaswitch", "sonus", "ribbon", "acme packet", "oracle", "sippy", "yate", "3cx", "sipxecs"}

// callBlock is what explainCall allocates for a call at once.
type callBlock struct {
	call      Call
	moments   [4]time.Time
	responder Responder
	findings  [2]Finding
}

// distinct counts distinct strings: the first few in an array, looked
// through, the rest in a map made only for them (a call's early dialogs
// are one or two, and a map per call cost more than the rest of it).
type distinct struct {
	few  [4]string
	n    int
	more map[string]bool
}

func (d *distinct) add(s string) {
	for _, f := range d.few[:d.n] {
		if f == s {
			return
		}
	}
	if d.n < len(d.few) {
		d.few[d.n] = s
		d.n++
		return
	}
	if d.more == nil {
		d.more = map[string]bool{}
	}
	d.more[s] = true
}

func (d *distinct) len() int { return d.n + len(d.more) }

// codeText is a status code as text, each made once.
func (a *Analyzer) codeText(code int) string {
	if code < 0 || code >= len(a.codeTexts) {
		return strconv.Itoa(code)
	}
	if a.codeTexts[code] == "" {
		a.codeTexts[code] = strconv.Itoa(code)
	}
	return a.codeTexts[code]
}

// responderName is the address of the sender of r with its agent in
// brackets, for the texts; the last few are kept, as calls are answered
// by the same few servers.
func (a *Analyzer) responderName(r *respInfo) string {
	if r == nil {
		return ""
	}
	k := responderKey{r.src, r.agent}
	if s, ok := a.responders.get(k); ok {
		return s
	}
	s := a.addrString(r.src)
	if r.agent != "" {
		s += " (" + r.agent + ")"
	}
	a.responders.put(k, s)
	return s
}

// responderKey is what a responder's name is made of.
type responderKey struct {
	src   netip.AddrPort
	agent string
}

// isServerAgent is isServerAgent, from a's last answers where the agent is
// one of theirs.
func (a *Analyzer) isServerAgent(agent string) bool {
	if server, ok := a.agentKinds.get(agent); ok {
		return server
	}
	server := isServerAgent(agent)
	a.agentKinds.put(agent, server)
	return server
}

// wireKey is a reason phrase with the code it was sent with; wireAnswer
// is what the catalog says of it.
type (
	wireKey struct {
		code   int
		phrase string
	}
	wireAnswer struct {
		wire  catalog.WirePhrase
		known bool
	}
)

// wirePhrase is the catalog's WirePhrase, from a's last answers where the
// code and phrase are one of theirs.
func (a *Analyzer) wirePhrase(code int, phrase string) (catalog.WirePhrase, bool) {
	k := wireKey{code, phrase}
	if w, ok := a.wirePhrases.get(k); ok {
		return w.wire, w.known
	}
	wire, known := a.cat.WirePhrase(code, phrase)
	a.wirePhrases.put(k, wireAnswer{wire, known})
	return wire, known
}

func isServerAgent(agent string) bool {
	a := strings.ToLower(agent)
	for _, s := range serverAgents {
		if a != "" && strings.Contains(a, s) {
			return true
		}
	}
	return false
}

// offerHas reports whether an offer names the codec.
func offerHas(offer *SDP, codec string) bool {
	if offer == nil {
		return true // nothing to judge by
	}
	for _, m := range offer.Media {
		for _, c := range m.Codecs {
			if strings.EqualFold(c, codec) {
				return true
			}
		}
	}
	return false
}

// warnedBy reports whether the Warning of a 488/606 names the server that
// sent it (by address or by the domain the request was sent to) as its
// warn-agent (RFC 3261 §20.43): that server refused the offer itself.
func warnedBy(fin, origin *respInfo, req reqInfo) bool {
	host := strings.ToLower(uriHost(req.ruri))
	for _, w := range fin.more().warnings {
		ws, err := catalog.ParseWarning(w)
		if err != nil {
			continue
		}
		for _, x := range ws {
			agent := strings.ToLower(x.Agent)
			if i := strings.LastIndexByte(agent, ':'); i > 0 && !strings.Contains(agent[i:], "]") {
				agent = agent[:i]
			}
			if agent == origin.src.Addr().Unmap().String() || agent != "" && agent == host {
				return true
			}
		}
	}
	return false
}

func uriHost(uri string) string {
	s := uri
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, ";:>?"); i >= 0 {
		s = s[:i]
	}
	return s
}

// incompleteID is the finding for a call or registration reported before
// it finished: at the end of a file the capture ended; in a live
// collector there is no end of capture, sipcause stopped following it.
func (a *Analyzer) incompleteID() string {
	if a.opt.Live {
		return a.text.finding("incomplete-live", nil).ID
	}
	return a.text.finding("incomplete", nil).ID
}

// answeredElsewhere reports whether a Reason header says the call was
// answered on another phone: cause 200, or the usual text.
func answeredElsewhere(reasons []Decoded) bool {
	for _, d := range reasons {
		if phraseSays(d.Value, "elsewhere") {
			return true
		}
		if rs, err := catalog.ParseReason(d.Value); err == nil {
			for _, r := range rs {
				if r.IsSIP() && r.Cause == 200 {
					return true
				}
			}
		}
	}
	return false
}

// finalCause returns the Q.850 cause a final answer carries in a Reason
// header (RFC 3326), or 0.
func finalCause(fin *respInfo) int {
	for _, r := range fin.more().reasons {
		rs, err := catalog.ParseReason(r)
		if err != nil {
			continue
		}
		for _, x := range rs {
			if x.IsQ850() {
				return x.Cause
			}
		}
	}
	return 0
}
