package server

import "github.com/sipcause/sipcause/catalog"

// uiLabels are the words of the web UI; the explanations themselves come
// from the analyzer and the knowledge base in the chosen language.
var uiLabels = map[catalog.Lang]map[string]string{
	catalog.English: {
		"title": "sipcause", "nav_calls": "Calls", "nav_dashboard": "Dashboard", "nav_upload": "Analyze a capture",
		"nav_lookup": "Look up a code", "lang_other": "Nederlands",
		"search": "Search", "number": "Number", "callid": "Call-ID", "status": "Status", "outcome": "Outcome",
		"fault": "Cause lies", "from": "From", "to": "To", "any": "any", "start": "Start", "caller": "Caller",
		"callee": "Callee", "summary": "Summary", "nocalls": "No calls match.", "more": "Next page",
		"explanation": "Explanation", "background": "What the status means", "advice": "What to do", "findings": "Findings", "ladder": "Ladder diagram",
		"messages": "SIP messages", "details": "Details", "duration": "Duration", "pdd": "Post-dial delay",
		"json": "JSON", "fullreport": "Full HTML report", "frame": "frame", "notfound": "No such call.",
		"upload_title": "Analyze a capture or a log", "upload_file": "Capture file (pcap, pcapng, HEP) or log",
		"upload_paste": "or paste a log", "upload_go": "Analyze", "upload_hint": "Nothing you upload is stored.",
		"upload_empty": "Choose a file or paste a log.", "upload_bad": "This is not a pcap, pcapng, HEP or SIP log file.",
		"lookup_title": "Look up a code, Reason or Warning", "lookup_q": "Status code, status line, Reason or Warning value",
		"lookup_go": "Look up", "lookup_bad": "Not understood", "registered": "registered", "unregistered": "not registered; treated as",
		"rfc": "Defined in", "q850": "Q.850 cause",
		"dash_title": "Dashboard", "dash_range": "Period", "dash_attempts": "Session attempts",
		"dash_ratios": "RFC 6076 ratios (%)", "dash_pdd": "Mean post-dial delay (ms)", "dash_empty": "No calls stored yet.",
		"dash_stored": "Stored", "dash_calls": "calls", "dash_regs": "registrations", "dash_msgs": "messages",
		"retrans":          "retransmission",
		"outcome_answered": "answered", "outcome_busy": "busy", "outcome_rejected": "rejected", "outcome_cancelled": "cancelled",
		"outcome_no_answer": "no answer", "outcome_timeout": "timeout", "outcome_redirected": "redirected",
		"outcome_failed": "failed", "outcome_incomplete": "incomplete",
	},
	catalog.Dutch: {
		"title": "sipcause", "nav_calls": "Gesprekken", "nav_dashboard": "Dashboard", "nav_upload": "Opname analyseren",
		"nav_lookup": "Code opzoeken", "lang_other": "English",
		"search": "Zoeken", "number": "Nummer", "callid": "Call-ID", "status": "Status", "outcome": "Afloop",
		"fault": "Oorzaak ligt bij", "from": "Van", "to": "Tot", "any": "alle", "start": "Begin", "caller": "Beller",
		"callee": "Gebelde", "summary": "Samenvatting", "nocalls": "Geen gesprekken gevonden.", "more": "Volgende pagina",
		"explanation": "Uitleg", "background": "Wat de status betekent", "advice": "Wat te doen", "findings": "Bevindingen", "ladder": "Ladderdiagram",
		"messages": "SIP-berichten", "details": "Details", "duration": "Duur", "pdd": "Kiesvertraging",
		"json": "JSON", "fullreport": "Volledig HTML-rapport", "frame": "frame", "notfound": "Dit gesprek bestaat niet.",
		"upload_title": "Een opname of log analyseren", "upload_file": "Opname (pcap, pcapng, HEP) of log",
		"upload_paste": "of plak een log", "upload_go": "Analyseren", "upload_hint": "Wat u uploadt wordt niet bewaard.",
		"upload_empty": "Kies een bestand of plak een log.", "upload_bad": "Dit is geen pcap-, pcapng-, HEP- of SIP-logbestand.",
		"lookup_title": "Een code, Reason of Warning opzoeken", "lookup_q": "Statuscode, statusregel, Reason- of Warning-waarde",
		"lookup_go": "Opzoeken", "lookup_bad": "Niet begrepen", "registered": "geregistreerd", "unregistered": "niet geregistreerd; behandeld als",
		"rfc": "Gedefinieerd in", "q850": "Q.850-oorzaak",
		"dash_title": "Dashboard", "dash_range": "Periode", "dash_attempts": "Gesprekspogingen",
		"dash_ratios": "RFC 6076-verhoudingen (%)", "dash_pdd": "Gemiddelde kiesvertraging (ms)", "dash_empty": "Nog geen gesprekken opgeslagen.",
		"dash_stored": "Opgeslagen", "dash_calls": "gesprekken", "dash_regs": "registraties", "dash_msgs": "berichten",
		"retrans":          "herhaling",
		"outcome_answered": "opgenomen", "outcome_busy": "in gesprek", "outcome_rejected": "geweigerd", "outcome_cancelled": "geannuleerd",
		"outcome_no_answer": "niet opgenomen", "outcome_timeout": "geen antwoord", "outcome_redirected": "doorverwezen",
		"outcome_failed": "mislukt", "outcome_incomplete": "onvolledig",
	},
}

func labelsFor(l catalog.Lang) map[string]string {
	if m, ok := uiLabels[l]; ok {
		return m
	}
	return uiLabels[catalog.English]
}
