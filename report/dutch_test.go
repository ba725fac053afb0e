package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/catalog"
)

// englishLabels are English words and labels that once leaked into Dutch
// output, or could: labels of the report, outcomes, sides, severities,
// number words. A Dutch report must contain none of them as a whole word.
// SIP's own vocabulary (header names, methods, reason phrases such as
// "Busy Here", which are quoted from the wire) is allowed: the check runs
// on the output with the parts that come from the wire taken out.
var englishLabels = []string{
	"caller", "callee", "host(s)", "hosts", "median", "Final status", "Outcome", "Cause lies", "Cause",
	"Path", "Answer from", "Ended by", "What to do", "Also found", "Registration", "Attempts",
	"Period", "Calls", "failed", "answered", "no answer", "timeout", "rejected", "cancelled", "busy",
	"your side", "your provider", "the other side", "remote side", "the network in between", "no fault",
	"error", "warning", "note", "unknown", "retransmission", "retransmissions",
	"Time to ringing", "Call duration", "Per remote peer", "Peer", "Metrics", "Overview", "Explanations",
	"What happened", "Findings", "Message flow", "About the capture", "Other requests that failed",
	"Why", "Address of record", "Input", "skipped", "others", "more messages", "no messages",
	"times", "once", "twice", "Made by sipcause", "Times are in", "no final answer", "Reason header",
	"Warning header", "as captured", "sent by", "refused", "the offer had", "Login failed",
}

// wireText matches what comes from the capture rather than from sipcause:
// status lines and reason phrases after a code, quoted strings, the raw
// SIP messages of the HTML page, header values in the details, Call-IDs,
// URIs, addresses and the SDP.
var wireText = []*regexp.Regexp{
	regexp.MustCompile(`(?s)<pre>.*?</pre>`),
	regexp.MustCompile(`(?s)<style>.*?</style>`),
	regexp.MustCompile(`\b[1-6]\d\d\s+[A-Z][A-Za-z' -]*[a-z]`),    // 486 Busy Here, 403 Wrong password or domain
	regexp.MustCompile(`(?i)Q\.850 \d+\s+[A-Z][A-Za-z/,()\s-]*:`), // ITU's cause names
	regexp.MustCompile(`(?i)q\.850\s*;\s*cause=\d+`),
	regexp.MustCompile(`"[^"\n]*"`),
	regexp.MustCompile(`\([A-Z][A-Za-z0-9 ._/-]*\)`),  // (Asterisk PBX 1.2), (repro 1.9.7)
	regexp.MustCompile(`(?i)\b(sips?|tel):[^\s<>"]+`), // URIs
	regexp.MustCompile(`Call-ID \S+|Call-ID</dt><dd>[^<]*`),
	regexp.MustCompile(`<title>[^<]*</title>`), // SVG titles name the raw label too
	regexp.MustCompile(`(?m)^.*(Warning|Reason)(-header)?</dt><dd>[^<]*`),
}

// checkNoEnglish fails when a Dutch output holds an English label.
func checkNoEnglish(t *testing.T, lang catalog.Lang, name, out string) {
	t.Helper()
	if lang != catalog.Dutch {
		return
	}
	for _, re := range wireText {
		out = re.ReplaceAllString(out, " ")
	}
	for _, w := range englishLabels {
		re := regexp.MustCompile(`(?i)(^|[^\p{L}\-])` + regexp.QuoteMeta(w) + `($|[^\p{L}\-])`)
		if loc := re.FindStringIndex(out); loc != nil {
			from, to := max(0, loc[0]-60), min(len(out), loc[1]+60)
			t.Errorf("%s: English %q in Dutch output: …%s…", name, w, strings.ReplaceAll(out[from:to], "\n", "⏎"))
		}
	}
}
