package report

import "github.com/sipcause/sipcause/catalog"

var labelsEN = map[string]string{
	"title": "sipcause report", "messages": "SIP messages", "retransmissions": "retransmissions",
	"calls": "Calls", "failed": "failed", "ok": "ok", "period": "Period", "outcomes": "Outcomes",
	"registrations": "Registrations", "pdd": "Post-dial delay", "duration": "Call duration",
	"per peer": "Per remote peer", "peer": "peer", "attempts": "attempts", "capture": "Capture",
	"no failures": "No failed calls or registrations.", "no final": "no final answer",
	"call": "Call", "status": "Final status", "outcome": "Outcome", "fault": "Cause lies",
	"path": "Path", "answered by": "Answer from", "ended by": "Ended by", "what to do": "What to do",
	"also": "Also found", "frames": "Frames", "registration": "Registration", "tries": "Attempts", "about": "About %d %s", "other failed": "Other requests that failed", "to peers": "(to %d host(s))", "integrity": "%s: %d frames, %d SIP, %d truncated, %d fragments incomplete, %d TCP gaps, %d TLS, %d malformed, %d non-SIP", "repeated": "… and %d more times the same, the last at %s", "time outliers": ", %d with a time far from their neighbours (analyzed at their neighbour's time)", "fragment overlaps": ", %d overlapping IP fragments (IPv4: first kept; IPv6: datagram dropped)",
}

var labelsNL = map[string]string{
	"title": "sipcause-rapport", "messages": "SIP-berichten", "retransmissions": "herhalingen",
	"calls": "Gesprekken", "failed": "mislukt", "ok": "gelukt", "period": "Periode", "outcomes": "Afloop",
	"registrations": "Aanmeldingen", "pdd": "Kiesvertraging", "duration": "Gespreksduur",
	"per peer": "Per andere partij", "peer": "partij", "attempts": "pogingen", "capture": "Opname",
	"no failures": "Geen mislukte gesprekken of aanmeldingen.", "no final": "geen definitief antwoord",
	"call": "Gesprek", "status": "Eindstatus", "outcome": "Afloop", "fault": "Oorzaak ligt",
	"path": "Route", "answered by": "Antwoord van", "ended by": "Beëindigd door", "what to do": "Wat te doen",
	"also": "Verder gevonden", "frames": "Frames", "registration": "Aanmelding", "tries": "Pogingen", "about": "Over %d %s", "other failed": "Andere verzoeken die mislukten", "to peers": "(naar %d host(s))", "integrity": "%s: %d frames, %d SIP, %d afgekapt, %d fragmenten onvolledig, %d gaten in TCP, %d TLS, %d onleesbaar, %d geen SIP", "repeated": "… en nog %d keer hetzelfde, het laatst om %s", "time outliers": ", %d met een tijd ver van hun buren (geanalyseerd op de tijd van hun buur)", "fragment overlaps": ", %d overlappende IP-fragmenten (IPv4: eerste behouden; IPv6: datagram verworpen)",
}

func labels(lang catalog.Lang) map[string]string {
	if lang == catalog.Dutch {
		return labelsNL
	}
	return labelsEN
}

var outcomeNL = map[string]string{
	"answered": "opgenomen", "busy": "in gesprek", "rejected": "geweigerd", "cancelled": "geannuleerd",
	"no_answer": "niet opgenomen", "timeout": "geen antwoord", "redirected": "doorverwezen", "failed": "mislukt",
	"incomplete": "onvolledig", "registered": "aangemeld", "unregistered": "afgemeld",
}

var outcomeEN = map[string]string{
	"answered": "answered", "busy": "busy", "rejected": "rejected", "cancelled": "cancelled",
	"no_answer": "no answer", "timeout": "timeout", "redirected": "redirected", "failed": "failed",
	"incomplete": "incomplete", "registered": "registered", "unregistered": "unregistered",
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
