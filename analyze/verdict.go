package analyze

import (
	"strconv"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// The verdict of a call that ended with a 4xx-6xx final answer: what
// happened (the outcome), the finding that explains it and whose side the
// cause is on. It is decided by the first rule of callRules whose
// condition holds for the evidence, top to bottom, so the table reads as
// the order in which a helpdesk would reason: who generated the answer
// and why (a silent hop, a known wire phrase, a Q.850 cause) comes before
// what the code usually means; the catalog's usual fault is the last
// resort (issue 8).

// evidence is what the messages of one failed call show, gathered once
// before the rules are read.
type evidence struct {
	code        int           // the final answer (the original one when a proxy rewrote it)
	reason      string        // its reason phrase as on the wire
	role        string        // who generated it: RoleLocal, RoleProvider or RoleRemote
	hop         int           // how far from the caller it was generated (1: the first hop)
	incoming    bool          // the call came in to your side
	callerLocal bool          // the caller is on your side
	ringing     bool          // a provisional answer other than 100 came first
	authSent    bool          // the INVITE carried credentials
	cancelled   bool          // the caller sent CANCEL
	waited      time.Duration // from the INVITE to the final answer
	cause       int           // a Q.850 cause on the answer (RFC 3326 Reason), or 0
	wire        catalog.WirePhrase
	wireKnown   bool // the phrase is one a known server uses for one cause
	registered  bool // the callee registered at the answering server before (same input)
	sameRing    bool // other calls got the same code from that server after the same ringing
	serverAgent bool // Server/User-Agent names a SIP server, not a phone
	registrar   bool // the answering host is a registrar seen in the capture
	offerPCMA   bool // the offer holds PCMA (or there is no offer to judge by)
	warned      bool // the Warning names the answering server as its warn-agent
	retryAfter  int  // Retry-After in seconds, -1 when absent
	maxFwd      int  // Max-Forwards of the INVITE, -1 when absent
	elsewhere   bool // a Reason says another phone answered (cause 200)
	codeFault   catalog.Fault

	hopReq    *reqInfo // the request whose Max-Forwards counts
	silentHop *txn     // a forwarded INVITE that never got any answer
	silentLeg *txn     // a B2BUA leg (another Call-ID) that never got any answer

	// For the placeholders and frames of the finding.
	c      *callState
	call   *Call
	prim   []*txn
	last   *txn
	fin    *respInfo
	origin *respInfo
	frames []int // the final answer and, when it came from further on, the origin's
}

// incomingLocal: an incoming call refused by a host on your own side.
func (e *evidence) incomingLocal() bool { return e.incoming && e.role == RoleLocal }

func (e *evidence) codeIn(codes ...int) bool {
	for _, c := range codes {
		if e.code == c {
			return true
		}
	}
	return false
}

func (e *evidence) causeIn(causes ...int) bool {
	for _, c := range causes {
		if e.cause == c {
			return true
		}
	}
	return false
}

// causeDecides: a Q.850 cause on an answer a gateway maps it to (RFC 3398
// §8.2.6.1 maps several causes onto one code), not from your own PBX.
func (e *evidence) causeDecides() bool {
	return e.cause != 0 && !e.incomingLocal() && e.codeIn(480, 486, 404, 500, 503, 603)
}

// side is how a rule names whose side the cause is on: a fixed side, or
// one worked out from who generated the answer.
type side int

const (
	sideNone      side = iota // nobody's fault (the caller hung up)
	sideLocal                 // your side: phone, PBX, its settings
	sideProvider              // your provider
	sideRemote                // the far end
	sideNetwork               // the network between
	sideNear                  // whoever generated it: your side if a host of yours, else your provider
	sideSender                // your side or the far end if one of theirs generated it, else the code's usual fault
	sideBeyond                // your side if yours generated it, the far end if generated beyond the first hop, else your provider
	sideCode                  // the catalog's usual fault for the code
	sideRegistrar             // the code's usual fault, but a registration has no far end: what the code blames on the other side is the registrar's
)

func (s side) fault(e *evidence) catalog.Fault {
	switch s {
	case sideLocal:
		return catalog.FaultLocal
	case sideProvider:
		return catalog.FaultProvider
	case sideRemote:
		return catalog.FaultRemote
	case sideNetwork:
		return catalog.FaultNetwork
	case sideNear:
		if e.role == RoleLocal {
			return catalog.FaultLocal
		}
		return catalog.FaultProvider
	case sideSender:
		switch e.role {
		case RoleLocal:
			return catalog.FaultLocal
		case RoleRemote:
			return catalog.FaultRemote
		}
		return e.codeFault
	case sideBeyond:
		switch {
		case e.role == RoleLocal:
			return catalog.FaultLocal
		case e.role == RoleRemote && e.hop > 1:
			return catalog.FaultRemote
		}
		return catalog.FaultProvider
	case sideRegistrar:
		if e.codeFault == catalog.FaultRemote {
			return catalog.FaultProvider
		}
		return e.codeFault
	case sideCode:
		return e.codeFault
	}
	return catalog.FaultNone
}

// callRule is one row of the verdict table.
type callRule struct {
	name    string                 // short, unique: tests record which rule fired
	when    func(e *evidence) bool // the condition over the evidence
	outcome string
	finding string // "": the finding the known wire phrase names
	side    side
	// fill sets the finding's placeholder values and returns its parts and
	// frames; nil keeps the common values and e.frames.
	fill func(a *Analyzer, e *evidence, v vars) (map[string][]Part, []int)
}

// callRules decide a failed call, first match wins. Read top to bottom.
var callRules = []callRule{
	// A hop answered for the hop after it, which never answered at all
	// (its INVITE retransmitted until Timer B, RFC 3261 §17.1.1.2).
	{name: "hop-after-your-pbx-silent", // your PBX gave up on your provider: the way there
		when:    func(e *evidence) bool { return e.silentHopAnswered() && e.role == RoleLocal },
		outcome: OutcomeFailed, finding: "upstream-unreachable", side: sideNetwork, fill: fillSilentHop},
	{name: "hop-further-on-silent", // a proxy further on gave up on the next: no answer there
		when:    func(e *evidence) bool { return e.silentHopAnswered() },
		outcome: OutcomeTimeout, finding: "no-response", side: sideRemote, fill: fillSilentHopTimeout},
	{name: "pbx-leg-silent", // your B2BUA PBX's own outgoing leg (another Call-ID) got nothing back
		when:    func(e *evidence) bool { return e.silentLeg != nil && e.role == RoleLocal },
		outcome: OutcomeFailed, finding: "upstream-unreachable", side: sideNetwork, fill: fillSilentLeg},

	// What a widespread server's phrase means decides, whatever the code
	// (Kamailio tm/sl, repro, Cisco CUBE: catalog data with its source).
	{name: "known-wire-phrase",
		when:    func(e *evidence) bool { return e.wireKnown && !e.incomingLocal() },
		outcome: OutcomeFailed, finding: "", side: sideNear, fill: fillWirePhrase},

	// A Q.850 cause behind a gateway names the cause more precisely than
	// the SIP code (RFC 3398 §8.2.6.1; Asterisk and FreeSWITCH send it).
	{name: "cause-busy", // cause 17, user busy
		when:    func(e *evidence) bool { return e.causeDecides() && e.cause == 17 },
		outcome: OutcomeBusy, finding: "busy", side: sideRemote, fill: fillCause},
	{name: "cause-no-answer-after-ringing", // cause 18/19 after ringing: nobody picked up
		when:    func(e *evidence) bool { return e.causeDecides() && e.causeIn(18, 19) && e.ringing },
		outcome: OutcomeNoAnswer, finding: "no-answer", side: sideRemote, fill: fillCauseWaited},
	{name: "cause-unavailable", // cause 18/19/20: no answer from or absent subscriber
		when:    func(e *evidence) bool { return e.causeDecides() && e.causeIn(18, 19, 20) },
		outcome: OutcomeRejected, finding: "callee-unavailable", side: sideRemote, fill: fillCause},
	{name: "cause-number-unknown", // cause 1/3/22: unallocated, no route, number changed
		when:    func(e *evidence) bool { return e.causeDecides() && e.causeIn(1, 3, 22) },
		outcome: OutcomeRejected, finding: "number-unknown", side: sideRemote, fill: fillCauseCallee},
	{name: "cause-no-circuit", // cause 34/42/47: the trunk's limit of calls at once, or a congested route
		when:    func(e *evidence) bool { return e.causeDecides() && e.causeIn(34, 42, 47) },
		outcome: OutcomeFailed, finding: "no-circuit", side: sideNear, fill: fillCause},

	// An incoming call refused by your own PBX: its inbound routing (a
	// number without a route, no extension behind it, a full trunk), not
	// the caller's typing (issue 8; review T5).
	{name: "inbound-refused-busy", // all lines or the extension busy (486, or 600 for every phone): still busy
		when:    func(e *evidence) bool { return e.incomingLocal() && e.codeIn(486, 600) },
		outcome: OutcomeBusy, finding: "inbound-refused", side: sideLocal, fill: fillCallee},
	{name: "inbound-refused-error",
		when:    func(e *evidence) bool { return e.incomingLocal() && e.code == 503 },
		outcome: OutcomeFailed, finding: "inbound-refused", side: sideLocal, fill: fillCallee},
	{name: "inbound-refused",
		when:    func(e *evidence) bool { return e.incomingLocal() && e.codeIn(404, 484, 480, 410, 604, 403) },
		outcome: OutcomeRejected, finding: "inbound-refused", side: sideLocal, fill: fillCallee},

	// The callee registered at this very server earlier in the capture:
	// the server has them, so it failed to route the call (review T6).
	{name: "registered-not-routed",
		when:    func(e *evidence) bool { return e.codeIn(404, 480, 604) && e.registered },
		outcome: OutcomeRejected, finding: "registered-not-routed", side: sideNear, fill: fillCallee},
	// The same long ringing before the same code on several calls: a
	// no-answer timer ended them, not the callees.
	{name: "ring-timer",
		when:    func(e *evidence) bool { return e.codeIn(486, 480, 408) && e.ringing && e.sameRing },
		outcome: OutcomeNoAnswer, finding: "ring-timer", side: sideRemote, fill: fillWaited},
	// A server answered for the callee at once, without any phone
	// ringing: the server decided (not registered, a policy, a limit).
	{name: "server-decided",
		when: func(e *evidence) bool {
			return e.codeIn(486, 603) && !e.ringing && e.hop == 1 && e.role != RoleLocal && e.waited < time.Second && e.serverAgent
		},
		outcome: OutcomeRejected, finding: "server-decided", side: sideNear, fill: fillWaited},

	// What the code means (RFC 3261 §21), with who sent it where it matters.
	{name: "busy",
		when:    func(e *evidence) bool { return e.codeIn(486, 600) },
		outcome: OutcomeBusy, finding: "busy", side: sideRemote},
	// RFC 3326 Reason SIP;cause=200 "Call completed elsewhere": a phone
	// of the same group took the call (RFC 3261 §16.7; review T16).
	{name: "answered-elsewhere",
		when:    func(e *evidence) bool { return e.code == 487 && !e.cancelled && e.elsewhere },
		outcome: OutcomeCancelled, finding: "answered-elsewhere", side: sideNone, fill: fillCancelTime},
	// 487 without a CANCEL from the caller: a hop terminated it (forking
	// answered elsewhere, or a BYE/CANCEL further on).
	{name: "terminated-by-a-hop",
		when:    func(e *evidence) bool { return e.code == 487 && !e.cancelled },
		outcome: OutcomeCancelled, finding: "request-failed", side: sideNone, fill: fillCancelTime},
	{name: "caller-cancelled",
		when:    func(e *evidence) bool { return e.code == 487 },
		outcome: OutcomeCancelled, finding: "caller-cancelled", side: sideNone, fill: fillCancelFrames},
	{name: "auth-challenge-unanswered", // RFC 3261 §22: your side's credentials
		when:    func(e *evidence) bool { return e.codeIn(401, 407) },
		outcome: OutcomeRejected, finding: "auth-failed", side: sideLocal, fill: fillAuth},
	{name: "credentials-refused", // 403 to credentials: wrong password on platforms that answer 403 (review T14)
		when:    func(e *evidence) bool { return e.code == 403 && e.authSent },
		outcome: OutcomeRejected, finding: "auth-failed", side: sideLocal, fill: fillAuth},
	{name: "forbidden",
		when:    func(e *evidence) bool { return e.code == 403 },
		outcome: OutcomeRejected, finding: "forbidden", side: sideCode},
	{name: "number-incomplete", // dialled incompletely: the number as your side sent it (review T3)
		when:    func(e *evidence) bool { return e.code == 484 },
		outcome: OutcomeRejected, finding: "number-incomplete", side: sideLocal, fill: fillCallee},
	{name: "number-unknown-to-your-pbx", // your own PBX does not know the number you dialled: its dial plan
		when:    func(e *evidence) bool { return e.codeIn(404, 604, 410, 485) && e.role == RoleLocal && e.callerLocal },
		outcome: OutcomeRejected, finding: "number-unknown", side: sideLocal, fill: fillCallee},
	{name: "number-unknown",
		when:    func(e *evidence) bool { return e.codeIn(404, 604, 410, 485) },
		outcome: OutcomeRejected, finding: "number-unknown", side: sideRemote, fill: fillCallee},
	// The phrase on the wire names the real cause: the server could not
	// find where to send the call (DNS, routing), whatever the code.
	{name: "routing-phrase",
		when:    func(e *evidence) bool { return phraseSays(e.reason, "dns", "no route", "unresolvable", "not resolve") },
		outcome: OutcomeFailed, finding: "routing-failed", side: sideProvider, fill: fillWirePhrase},
	{name: "unavailable-after-ringing", // 480 after ringing: nobody answered
		when:    func(e *evidence) bool { return e.code == 480 && e.ringing },
		outcome: OutcomeNoAnswer, finding: "no-answer", side: sideRemote, fill: fillWaited},
	{name: "callee-not-registered", // 480 at once from a registrar: nobody registered for the number
		when:    func(e *evidence) bool { return e.code == 480 && e.registrar },
		outcome: OutcomeRejected, finding: "callee-not-registered", side: sideRemote},
	{name: "callee-unavailable",
		when:    func(e *evidence) bool { return e.code == 480 },
		outcome: OutcomeRejected, finding: "callee-unavailable", side: sideRemote},
	{name: "timeout-after-ringing", // 408 after 180: nobody answered before the ring timer (review T13)
		when:    func(e *evidence) bool { return e.code == 408 && e.ringing },
		outcome: OutcomeNoAnswer, finding: "no-answer", side: sideRemote, fill: fillWaited},
	{name: "request-timeout",
		when:    func(e *evidence) bool { return e.code == 408 },
		outcome: OutcomeTimeout, finding: "request-timeout", side: sideNetwork},
	{name: "declined",
		when:    func(e *evidence) bool { return e.codeIn(603, 607, 608) },
		outcome: OutcomeRejected, finding: "declined", side: sideRemote},
	{name: "content-type", // the body's type, not its codecs (RFC 3261 §21.4.13; review T2)
		when:    func(e *evidence) bool { return e.code == 415 },
		outcome: OutcomeFailed, finding: "content-type-unsupported", side: sideLocal},
	// RFC 3261 §21.4.26 / §21.6.4: the offer was not acceptable. Who
	// refused it decides whose offer must change (review T1).
	{name: "codec-refused-by-your-side",
		when:    func(e *evidence) bool { return e.codeIn(488, 606) && e.role == RoleLocal },
		outcome: OutcomeFailed, finding: "codec-mismatch", side: sideLocal, fill: fillCodec},
	// Your provider's own server refused your offer (no PCMA to a European
	// trunk, or its own Warning): the offer has to change on your side.
	{name: "codec-refused-by-provider",
		when: func(e *evidence) bool {
			return e.codeIn(488, 606) && e.role == RoleProvider && e.hop == 1 && (!e.offerPCMA || e.warned)
		},
		outcome: OutcomeFailed, finding: "codec-mismatch", side: sideLocal, fill: fillCodec},
	// The far end refused an offer your provider passed on: changing your
	// phone's codecs is not the first thing to do.
	{name: "codec-refused-far-end",
		when:    func(e *evidence) bool { return e.codeIn(488, 606) },
		outcome: OutcomeFailed, finding: "codec-refused-far-end", side: sideRemote, fill: fillCodec},
	// A gateway or proxy got a bad answer or none from the next network:
	// your provider or the network, never the called party (review T4).
	{name: "gateway-error-your-side",
		when:    func(e *evidence) bool { return e.codeIn(502, 504) && e.role == RoleLocal },
		outcome: OutcomeFailed, finding: "server-error", side: sideLocal},
	{name: "bad-gateway",
		when:    func(e *evidence) bool { return e.code == 502 },
		outcome: OutcomeFailed, finding: "server-error", side: sideProvider},
	{name: "gateway-timeout",
		when:    func(e *evidence) bool { return e.code == 504 },
		outcome: OutcomeFailed, finding: "server-error", side: sideNetwork},
	// 503 with Retry-After: overloaded for a while (RFC 3261 §21.5.4).
	{name: "overload",
		when:    func(e *evidence) bool { return e.code == 503 && e.retryAfter >= 0 },
		outcome: OutcomeFailed, finding: "overload", side: sideBeyond, fill: fillRetryAfter},
	{name: "service-unavailable", // a trunk's channel limit, a down route (review T23)
		when:    func(e *evidence) bool { return e.code == 503 },
		outcome: OutcomeFailed, finding: "service-unavailable", side: sideBeyond},
	{name: "loop-detected", // RFC 3261 §16.3
		when:    func(e *evidence) bool { return e.code == 482 },
		outcome: OutcomeFailed, finding: "loop-detected", side: sideProvider},
	// Only a small start value can be the caller's doing (RFC 3261
	// §8.1.1.6 says 70); otherwise the call went round in a loop (review T19).
	{name: "too-many-hops-low-start",
		when:    func(e *evidence) bool { return e.code == 483 && e.lowMaxForwards() && e.callerLocal },
		outcome: OutcomeFailed, finding: "too-many-hops", side: sideLocal, fill: fillHops},
	{name: "too-many-hops",
		when:    func(e *evidence) bool { return e.code == 483 },
		outcome: OutcomeFailed, finding: "too-many-hops", side: sideProvider, fill: fillHops},
	{name: "session-interval-too-small", // RFC 4028 §6: your side's Session-Expires
		when:    func(e *evidence) bool { return e.code == 422 },
		outcome: OutcomeFailed, finding: "session-interval-too-small", side: sideLocal, fill: fillMinSE},
	{name: "server-error",
		when:    func(e *evidence) bool { return e.code >= 500 && e.code < 600 },
		outcome: OutcomeFailed, finding: "server-error", side: sideSender},
	{name: "global-failure",
		when:    func(e *evidence) bool { return e.code >= 600 },
		outcome: OutcomeRejected, finding: "request-failed", side: sideCode},
	{name: "refused", // the request was understood and refused
		when:    func(e *evidence) bool { return e.codeIn(402, 405, 410, 433, 470) },
		outcome: OutcomeRejected, finding: "request-failed", side: sideCode},
	{name: "failed",
		when:    func(e *evidence) bool { return true },
		outcome: OutcomeFailed, finding: "request-failed", side: sideCode},
}

// silentHopAnswered: a hop's 408, 480 or 5xx for the hop after it, which
// the capture shows never answered.
func (e *evidence) silentHopAnswered() bool {
	return e.silentHop != nil && (e.code == 408 || e.code == 480 || e.code >= 500 && e.code < 600)
}

// failure classifies a 4xx-6xx final answer: outcome, main finding and
// where the cause lies, by the first rule of callRules that holds.
func (a *Analyzer) failure(c *callState, call *Call, prim []*txn, last *txn, fin, origin *respInfo, hop int, rm roleMap,
	v vars, ringing, authSent, cancelled bool, fault catalog.Fault) (string, Finding, catalog.Fault) {
	e := a.gather(c, call, prim, last, fin, origin, hop, rm, ringing, authSent, cancelled, fault)
	r := &callRules[len(callRules)-1] // it always holds
	for i := range callRules {
		if callRules[i].when(e) {
			r = &callRules[i]
			break
		}
	}
	call.rule = r.name
	id := r.finding
	if id == "" {
		id = e.wire.Meaning
	}
	frames := e.frames
	var parts map[string][]Part
	if r.fill != nil {
		var fr []int
		if parts, fr = r.fill(a, e, v); fr != nil {
			frames = fr
		}
	}
	return r.outcome, a.text.findingWith(id, v, parts, frames...), r.side.fault(e)
}

// gather collects the evidence of a failed call.
func (a *Analyzer) gather(c *callState, call *Call, prim []*txn, last *txn, fin, origin *respInfo, hop int, rm roleMap,
	ringing, authSent, cancelled bool, fault catalog.Fault) *evidence {
	e := &evidence{
		code: fin.code, reason: fin.reason, role: rm.of(unmapAP(origin.src)), hop: hop,
		incoming:    call.Direction == "incoming",
		callerLocal: rm.of(viaEndpoint(prim[0].req.src, prim[0].req.vias)) == RoleLocal,
		ringing:     ringing, authSent: authSent, cancelled: cancelled,
		waited:     fin.time.Sub(prim[0].req.time),
		cause:      finalCause(fin),
		retryAfter: fin.more().retryAfter, maxFwd: prim[0].req.maxForwards,
		codeFault: fault,
		c:         c, call: call, prim: prim, last: last, fin: fin, origin: origin,
		hopReq: &prim[0].req, frames: []int{fin.frame},
	}
	if origin.frame != fin.frame {
		e.frames = append(e.frames, origin.frame)
	}
	e.wire, e.wireKnown = a.wirePhrase(e.code, fin.reason)
	e.silentHop = a.silentDownstream(c, prim[0])
	for _, d := range c.linkedDown {
		dp := d.primary()
		if len(dp) == 0 {
			continue
		}
		if dl := dp[len(dp)-1]; dl.final == nil && len(dl.provisional) == 0 {
			e.silentLeg = dl
			break
		}
	}
	if e.codeIn(404, 480, 604) {
		e.registered = a.registeredAt(call.Callee, origin.src, prim[0].req.time, c.file)
	}
	if e.codeIn(486, 480, 408) && ringing {
		e.sameRing = a.sameRingTime(origin, e.code, e.waited)
	}
	e.serverAgent = a.isServerAgent(origin.agent)
	e.registrar = a.registrars[unmapAP(origin.src)]
	e.offerPCMA = offerHas(last.req.sdp, "PCMA")
	if e.codeIn(488, 606) {
		e.warned = warnedBy(fin, origin, last.req)
	}
	e.elsewhere = answeredElsewhere(c.more().reasons)
	return e
}

// The placeholder values and frames of the rules' findings.

func fillSilentHop(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["to"] = apText(unmapAP(e.silentHop.req.dst))
	v["from"] = apText(e.origin.src)
	return nil, append(e.frames, e.silentHop.frames...)
}

func fillSilentHopTimeout(a *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	parts, frames := fillSilentHop(a, e, v)
	v["what"] = "INVITE"
	v["count"] = strconv.Itoa(e.silentHop.sends)
	v["secs"] = secs(e.silentHop.lastSend.Sub(e.silentHop.req.time))
	return parts, frames
}

func fillSilentLeg(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["to"] = apText(unmapAP(e.silentLeg.req.dst))
	v["from"] = apText(e.origin.src)
	return nil, append(e.frames, e.silentLeg.frames...)
}

func fillWirePhrase(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["value"] = e.reason
	return nil, nil
}

// fillCause names the Q.850 cause that decided, as "value" for the text
// and as "cause" for the report, whose background is then about the SIP
// code RFC 3398 maps the cause to (480 with cause 17 is told as busy).
func fillCause(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["value"] = strconv.Itoa(e.cause)
	v["cause"] = v["value"]
	return nil, nil
}

func fillCauseWaited(a *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	fillWaited(a, e, v)
	return fillCause(a, e, v)
}

func fillCauseCallee(a *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	fillCallee(a, e, v)
	return fillCause(a, e, v)
}

// fillCallee names the number as the call asked for it.
func fillCallee(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["to"] = e.call.Callee
	return nil, nil
}

func fillWaited(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["secs"] = secs(e.waited)
	return nil, nil
}

// fillCancelTime says how long after the INVITE the caller cancelled.
func fillCancelTime(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["secs"] = "?"
	if lc := lastCancel(e.prim); lc != nil {
		v["secs"] = secs(lc.time.Sub(e.prim[0].req.time))
	}
	return nil, nil
}

// fillCancelFrames is fillCancelTime with the CANCEL first among the frames.
func fillCancelFrames(a *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	fillCancelTime(a, e, v)
	frames := []int{e.fin.frame}
	if lc := lastCancel(e.prim); lc != nil {
		frames = append([]int{lc.frame}, frames...)
	}
	return nil, frames
}

func fillAuth(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	// Never nil: the challenges and answers are the frames, even none.
	return one("what", authWhat(e.prim)), append([]int{}, authFrames(e.prim)...)
}

func fillCodec(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	return map[string][]Part{"what": codecWhat(e.last.req.sdp, e.fin)}, nil
}

func fillRetryAfter(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["retry"] = " (Retry-After: " + strconv.Itoa(e.retryAfter) + " s)"
	return nil, nil
}

// lowMaxForwards reports whether the request that ran out of hops started
// with a Max-Forwards of 10 or less (RFC 3261 §8.1.1.6 recommends 70): low
// enough to be the sender's setting rather than a loop. The verdict's side
// and the text both rest on it (review T19).
func (e *evidence) lowMaxForwards() bool { return e.maxFwd >= 0 && e.maxFwd <= 10 }

func fillHops(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["value"] = strconv.Itoa(e.maxFwd)
	low := phrase("hops-loop")
	if e.lowMaxForwards() {
		low = phrase("hops-low-or-loop")
	}
	return one("cause", low), append([]int{e.hopReq.frame}, e.frames...)
}

func fillMinSE(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["min"] = ""
	if e.fin.more().minSE > 0 {
		v["min"] = " (Min-SE: " + strconv.Itoa(e.fin.more().minSE) + " s)"
	}
	return nil, nil
}

// regRule is one row of the verdict table of a failed registration.
type regRule struct {
	name    string
	when    func(e *evidence) bool
	finding string
	side    side
	fill    func(a *Analyzer, e *evidence, v vars) (map[string][]Part, []int)
}

// regRules decide a registration refused with a 3xx-6xx answer (the
// outcome is always RegFailed), first match wins. Read top to bottom.
var regRules = []regRule{
	// The registrar could not look up or reach the domain the phone
	// registers to: a wrong SIP domain, most often (review T7).
	{name: "register-routing-phrase",
		when: func(e *evidence) bool {
			return e.wireKnown && (e.wire.Meaning == "routing-failed" || e.wire.Meaning == "next-hop-failed")
		},
		finding: "register-routing-failed", side: sideLocal, fill: fillRegisterDomain},
	{name: "register-challenge-unanswered", // RFC 3261 §22: your side's credentials
		when:    func(e *evidence) bool { return e.codeIn(401, 407) },
		finding: "auth-failed", side: sideLocal, fill: fillAuth},
	{name: "register-credentials-refused", // 401 then 403: wrong user name or password (review T8)
		when:    func(e *evidence) bool { return e.code == 403 && e.authSent },
		finding: "auth-failed", side: sideLocal, fill: fillAuth},
	{name: "register-user-unknown", // the registrar does not know the account
		when:    func(e *evidence) bool { return e.code == 404 || e.code == 403 && phraseSays(e.reason, "user") },
		finding: "user-unknown", side: sideLocal},
	{name: "register-interval-too-brief", // RFC 3261 §10.3: Min-Expires
		when:    func(e *evidence) bool { return e.code == 423 },
		finding: "interval-too-brief", side: sideLocal, fill: fillMinExpires},
	{name: "register-loop", // RFC 3261 §16.3
		when:    func(e *evidence) bool { return e.code == 482 },
		finding: "loop-detected", side: sideProvider},
	// Only a small start value can be the phone's doing (RFC 3261
	// §8.1.1.6 says 70); otherwise the request went round in a loop.
	{name: "register-hops-low-start",
		when:    func(e *evidence) bool { return e.code == 483 && e.lowMaxForwards() },
		finding: "too-many-hops", side: sideLocal, fill: fillHops},
	{name: "register-too-many-hops",
		when:    func(e *evidence) bool { return e.code == 483 },
		finding: "too-many-hops", side: sideProvider, fill: fillHops},
	{name: "register-overload", // 503 with Retry-After (RFC 3261 §21.5.4)
		when:    func(e *evidence) bool { return e.code == 503 && e.retryAfter >= 0 },
		finding: "overload", side: sideCode, fill: fillRetryAfter},
	{name: "register-not-allowed", // the account or user is not allowed to register
		when:    func(e *evidence) bool { return e.codeIn(403, 480) },
		finding: "register-rejected", side: sideLocal},
	// Any other refusal: a registration goes from your phone to the
	// registrar only, so no answer to it is the called party's.
	{name: "register-rejected",
		when:    func(e *evidence) bool { return true },
		finding: "register-rejected", side: sideRegistrar},
}

// registerFailure decides a refused registration by the first rule of
// regRules that holds: its main finding and whose side the cause is on.
func (a *Analyzer) registerFailure(reg *Register, group []*txn, fin *respInfo, v vars, fault catalog.Fault) (Finding, catalog.Fault) {
	last := group[len(group)-1]
	e := &evidence{
		code: fin.code, reason: fin.reason,
		authSent:   last.req.more().authNonce != "" || last.req.more().authUser != "",
		retryAfter: fin.more().retryAfter, maxFwd: last.req.maxForwards,
		codeFault: fault,
		prim:      group, last: last, fin: fin, hopReq: &last.req,
		frames: []int{fin.frame},
	}
	e.wire, e.wireKnown = a.wirePhrase(fin.code, fin.reason)
	r := &regRules[len(regRules)-1] // it always holds
	for i := range regRules {
		if regRules[i].when(e) {
			r = &regRules[i]
			break
		}
	}
	reg.rule = r.name
	frames := e.frames
	var parts map[string][]Part
	if r.fill != nil {
		var fr []int
		if parts, fr = r.fill(a, e, v); fr != nil {
			frames = fr
		}
	}
	if m := methodMeaning("REGISTER", fin.code); m != "" && r.finding == "register-rejected" {
		if parts == nil {
			parts = map[string][]Part{}
		}
		parts["meaning"] = []Part{phrase(m)}
	}
	return a.text.findingWith(r.finding, v, parts, frames...), r.side.fault(e)
}

// fillRegisterDomain names the domain the phone registers to.
func fillRegisterDomain(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["value"] = uriHost(e.prim[0].req.to.URI)
	v["phrase"] = e.reason
	return nil, nil
}

// fillMinExpires: the interval asked for and the registrar's minimum
// (RFC 3261 §10.3 step 7), or a phrase when it sent none.
func fillMinExpires(_ *Analyzer, e *evidence, v vars) (map[string][]Part, []int) {
	v["value"] = "?"
	if e.last.req.expires >= 0 {
		v["value"] = strconv.Itoa(e.last.req.expires)
	}
	parts := one("min", phrase("min-expires-missing"))
	if e.fin.more().minExpires > 0 {
		v["min"] = " " + strconv.Itoa(e.fin.more().minExpires) + " s"
		parts = nil
	}
	return parts, []int{e.last.req.frame, e.fin.frame}
}
