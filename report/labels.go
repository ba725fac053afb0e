package report

import "github.com/sipcause/sipcause/catalog"

// Labels of the text report; the HTML page shares them (htmlLabels). Every
// key exists in both languages (TestLabelsComplete), and the Dutch ones use
// the terms of the Dutch helpdesk: "Oorzaak ligt bij", "eindantwoord",
// "geen gehoor", "geen reactie (time-out)".
var labelsEN = map[string]string{
	"title": "sipcause report", "messages": "SIP messages", "retransmission": "retransmission", "retransmissions": "retransmissions",
	"calls": "Calls", "failed": "failed", "ok": "ok", "period": "Period", "outcomes": "Outcomes",
	"registrations": "Registrations", "pdd": "Time to ringing (PDD)", "duration": "Call duration",
	"per peer": "Per remote peer", "peer": "Peer", "attempts": "Attempts", "capture": "Capture",
	"no failures": "No failed calls or registrations.", "no final": "no final answer",
	"call": "Call", "status": "Final status", "outcome": "Outcome", "fault": "Cause lies with", "fault none": "Cause",
	"path": "Path", "answered by": "Answer from", "ended by": "Ended by", "what to do": "What to do",
	"also": "Also found", "frames": "Frames", "registration": "Registration", "tries": "Attempts", "about": "About %d %s",
	"other failed": "Other requests that failed", "host": "host", "hosts": "hosts",
	"integrity": "%s: %s frames, %s SIP, %s cut short, %s incomplete fragment sets, %s TCP gaps, %s TLS records/packets (unreadable), %s malformed, %s non-SIP",
	"repeated":  "… and %s more the same way, the last at %s", "time": "Time", "caller": "Caller", "callee": "Callee",
	"overview": "Calls, one line each", "details": "Explanations", "group": "%s calls: %s from %s — %s",
	"group calls": "Calls", "metrics": "Metrics (RFC 6076)", "unknown": "unknown", "reason": "Reason",
	"by caller": "caller", "by callee": "callee", "by unknown": "unknown", "tz": "Times in %s",
	"ser":           "answered calls, out of all attempts",
	"seer":          "calls that reached the other side (answered, busy, not answered, declined), out of all attempts",
	"isa":           "attempts that failed on a server or on the way (408, 500, 503, 504 or no answer at all)",
	"scr":           "calls answered and ended normally with a BYE, out of all attempts",
	"pdd explained": "time from the INVITE to the first ringing (or to the answer when nothing rang)",
	"sdt explained": "how long answered calls lasted",
	"rrd":           "time from a REGISTER to its final answer", "ira": "registrations that failed on a server or on the way",
	"stats hint": "More: --stats shows the metrics per peer.", "no calls": "No calls in the input.",
	"input": "Input", "skipped": "skipped", "time outliers": ", %s with a time far from their neighbours (analyzed at their neighbour's time)", "fragment overlaps": ", %s overlapping IP fragments (IPv4: first kept; IPv6: datagram dropped)", "unknown link": ", %s frames of a link type sipcause does not read", "no messages": "no messages", "n others": "%d others", "more messages": "more messages",
}

var labelsNL = map[string]string{
	"title": "sipcause-rapport", "messages": "SIP-berichten", "retransmission": "herhaling", "retransmissions": "herhalingen",
	"calls": "Gesprekken", "failed": "mislukt", "ok": "gelukt", "period": "Periode", "outcomes": "Afloop",
	"registrations": "Aanmeldingen", "pdd": "Tijd tot overgaan (PDD)", "duration": "Gespreksduur",
	"per peer": "Per gesprekspartner", "peer": "Gesprekspartner", "attempts": "Pogingen", "capture": "Opname",
	"no failures": "Geen mislukte gesprekken of aanmeldingen.", "no final": "geen eindantwoord",
	"call": "Gesprek", "status": "Eindstatus", "outcome": "Afloop", "fault": "Oorzaak ligt bij", "fault none": "Oorzaak",
	"path": "Route", "answered by": "Antwoord van", "ended by": "Beëindigd door", "what to do": "Wat te doen",
	"also": "Verder gevonden", "frames": "Frames", "registration": "Aanmelding", "tries": "Pogingen", "about": "Over %d %s",
	"other failed": "Andere verzoeken die mislukten", "host": "systeem", "hosts": "systemen",
	"integrity": "%s: %s frames, %s SIP, %s afgekapt, %s onvolledige fragmentreeksen, %s TCP-gaten, %s TLS-records/-pakketten (onleesbaar), %s onleesbaar, %s niet-SIP",
	"repeated":  "… en nog %s keer hetzelfde, het laatst om %s", "time": "Tijd", "caller": "Beller", "callee": "Gebelde",
	"overview": "Gesprekken, één regel per gesprek", "details": "Uitleg", "group": "%s gesprekken: %s van %s — %s",
	"group calls": "Gesprekken", "metrics": "Meetwaarden (RFC 6076)", "unknown": "onbekend", "reason": "Reden",
	"by caller": "beller", "by callee": "gebelde", "by unknown": "onbekend", "tz": "Tijden in %s",
	"ser":           "opgenomen gesprekken, van alle pogingen",
	"seer":          "gesprekken die de andere kant bereikten (opgenomen, bezet, geen gehoor, geweigerd), van alle pogingen",
	"isa":           "pogingen die mislukten bij een server of onderweg (408, 500, 503, 504 of helemaal geen reactie)",
	"scr":           "gesprekken die werden opgenomen en normaal met een BYE eindigden, van alle pogingen",
	"pdd explained": "tijd van de INVITE tot het eerste overgaan (of tot het opnemen als er niets overging)",
	"sdt explained": "hoe lang opgenomen gesprekken duurden",
	"rrd":           "tijd van een REGISTER tot het eindantwoord", "ira": "aanmeldingen die mislukten bij een server of onderweg",
	"stats hint": "Meer: --stats toont de meetwaarden per gesprekspartner.", "no calls": "Geen gesprekken in de invoer.",
	"input": "Invoer", "skipped": "overgeslagen", "time outliers": ", %s met een tijd ver van hun buren (geanalyseerd op de tijd van hun buur)", "fragment overlaps": ", %s overlappende IP-fragmenten (IPv4: eerste behouden; IPv6: datagram verworpen)", "unknown link": ", %s frames van een linktype dat sipcause niet leest", "no messages": "geen berichten", "n others": "%d andere", "more messages": "berichten meer",
}

func labels(lang catalog.Lang) map[string]string {
	if lang == catalog.Dutch {
		return labelsNL
	}
	return labelsEN
}

var outcomeNL = map[string]string{
	"answered": "opgenomen", "busy": "bezet", "rejected": "geweigerd", "cancelled": "geannuleerd",
	"no_answer": "geen gehoor", "timeout": "geen reactie (time-out)", "redirected": "doorverwezen", "failed": "mislukt",
	"incomplete": "onvolledig", "registered": "aangemeld", "unregistered": "afgemeld", "ok": "gelukt",
	"number_unknown": "nummer onbekend", "number_incomplete": "nummer onvolledig", "unreachable": "niet bereikbaar",
}

var outcomeEN = map[string]string{
	"answered": "answered", "busy": "busy", "rejected": "rejected", "cancelled": "cancelled",
	"no_answer": "no answer", "timeout": "no reply (timeout)", "redirected": "redirected", "failed": "failed",
	"incomplete": "incomplete", "registered": "registered", "unregistered": "unregistered", "ok": "ok",
	"number_unknown": "number unknown", "number_incomplete": "number incomplete", "unreachable": "unreachable",
}

// outcomeLabel returns an outcome as a person would say it.
func outcomeLabel(lang catalog.Lang, o string) string {
	m := outcomeEN
	if lang == catalog.Dutch {
		m = outcomeNL
	}
	if s, ok := m[o]; ok {
		return s
	}
	return o
}

// OutcomeLabel is the outcome of a call or registration as the reports
// word it in lang, refined by the call's final status (RFC 3261 §21: a
// 480 is "unreachable", a 404 "number unknown"; status 0 for none) where
// its verdict (fault; "" when not known) leaves the code its meaning. The
// web UI uses it so that its lists say what the text and HTML reports say.
func OutcomeLabel(lang catalog.Lang, outcome string, status int, fault string) string {
	return callOutcomeLabel(lang, outcome, status, fault)
}

// callOutcomeLabel says what happened to a call: "rejected" is refined by
// the status, since nobody refused a number that does not exist (404, 484,
// 410, 604) or a phone that is not reachable (480). Not where the verdict
// put the cause elsewhere than the code usually is: a 404 for a user
// registered at that very server is its routing, and the number exists
// (one call, one story).
func callOutcomeLabel(lang catalog.Lang, outcome string, status int, fault string) string {
	if e, ok := catalog.Default().Lookup(status); ok && fault != "" && string(e.Fault) != fault {
		return outcomeLabel(lang, outcome)
	}
	if outcome == "rejected" {
		switch status {
		case 404, 410, 604:
			return outcomeLabel(lang, "number_unknown")
		case 484:
			return outcomeLabel(lang, "number_incomplete")
		case 480:
			return outcomeLabel(lang, "unreachable")
		}
	}
	return outcomeLabel(lang, outcome)
}

// faultKV is the label and value of "whose side": "Cause lies with: your
// provider", but "Cause: no fault" when nothing failed; worded for the
// reader's perspective (a provider's helpdesk reads "our network").
func faultKV(lang catalog.Lang, persp catalog.Perspective, fault string) (string, string) {
	l := labels(lang)
	if catalog.Fault(fault) == catalog.FaultNone || fault == "" {
		return l["fault none"], catalog.FaultNone.Label(lang)
	}
	return l["fault"], catalog.Fault(fault).LabelFor(lang, persp)
}

// endedByLabel says who hung up.
func endedByLabel(lang catalog.Lang, by string) string {
	switch by {
	case "caller", "callee", "unknown":
		return labels(lang)["by "+by]
	}
	return by
}

// addrText shows an address, or "unknown" when the input did not say.
func addrText(lang catalog.Lang, s string) string {
	if s == "" || s == "?" {
		return labels(lang)["unknown"]
	}
	return s
}
