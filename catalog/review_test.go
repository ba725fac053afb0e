package catalog

import (
	"strings"
	"testing"
)

// The Dutch helpdesk review of 2026-11-28 (§2) found fault words and
// explanations that sent a helpdesk the wrong way (T1-T24). The analyzer
// decides most sides from who answered (analyze's verdict table); these
// are the parts that live in the catalog's data, checked in both
// languages, so that a later edit of the YAML cannot bring them back.

// reviewText is what the texts of one code, cause or warning must and
// must not say, per language.
type reviewText struct {
	item      string // the review's number
	text      func(c *Catalog, lang Lang) string
	must      map[Lang][]string // each must occur (case-insensitive)
	mustNot   map[Lang][]string // none may occur
	wantFault Fault             // "" when the item is about the text only
	fault     func(c *Catalog) Fault
}

func codeText(code int, part func(Text) string) func(*Catalog, Lang) string {
	return func(c *Catalog, lang Lang) string {
		e, ok := c.Lookup(code)
		if !ok {
			return ""
		}
		return part(e.Text(lang))
	}
}

func codeFault(code int) func(*Catalog) Fault {
	return func(c *Catalog) Fault { e, _ := c.Lookup(code); return e.Fault }
}

func all(t Text) string {
	return t.Summary + "\n" + t.Explanation + "\n" + strings.Join(t.Advice, "\n")
}
func summary(t Text) string { return t.Summary }

var reviewTexts = []reviewText{
	// T3: an incomplete number is dialled on the caller's side, and on a
	// VoIP line the area code belongs to every number.
	{item: "T3", text: codeText(484, all), wantFault: FaultLocal, fault: codeFault(484),
		must: map[Lang][]string{English: {"area code"}, Dutch: {"netnummer"}}},
	// T4: 502 is a gateway's fault, never the called party's.
	{item: "T4", text: codeText(502, all), wantFault: FaultNetwork, fault: codeFault(502)},
	// T10: 439 is the phone's setting.
	{item: "T10", text: codeText(439, all), wantFault: FaultLocal, fault: codeFault(439)},
	// T11: cause 53 is the line's group settings at the provider.
	{item: "T11", text: func(c *Catalog, lang Lang) string { x, _ := c.Cause(53); return x.Text(lang) },
		wantFault: FaultProvider, fault: func(c *Catalog) Fault { x, _ := c.Cause(53); return x.Fault }},
	// T13: 408 after ringing is mostly the ring timer.
	{item: "T13", text: codeText(408, all),
		must:    map[Lang][]string{English: {"180 Ringing", "ring timer"}, Dutch: {"180 Ringing", "beltijd"}},
		mustNot: map[Lang][]string{English: {"not the same as \"nobody picked up\""}, Dutch: {"iets anders dan"}}},
	// T14: 403 names wrong passwords on platforms that answer 403,
	// spending or fraud limits and barred destinations.
	{item: "T14", text: codeText(403, all),
		must: map[Lang][]string{English: {"password", "fraud limit", "premium-rate", "instead of a second 401"},
			Dutch: {"wachtwoord", "fraudelimiet", "0900", "in plaats van een tweede 401"}}},
	{item: "T14/T8", text: codeText(403, summary),
		must:    map[Lang][]string{English: {"REGISTER", "credentials"}, Dutch: {"aanmelding", "inloggegevens"}},
		mustNot: map[Lang][]string{English: {"will not help"}, Dutch: {"helpt niet"}}},
	// T15: digest authentication does not depend on the phone's clock.
	{item: "T15", text: codeText(401, all),
		mustNot: map[Lang][]string{English: {"NTP", "date and time"}, Dutch: {"NTP", "datum en tijd"}}},
	// T20: 1300 bytes is RFC 3261's margin for TCP, fragments start above
	// the path MTU.
	{item: "T20", text: codeText(513, all),
		must: map[Lang][]string{English: {"1300", "TCP", "1500"}, Dutch: {"1300", "TCP", "1500"}}},
	// T21: porting does not give 410; a just-ported number can give 404.
	{item: "T21", text: codeText(410, all),
		must:    map[Lang][]string{English: {"without a forward"}, Dutch: {"zonder doorschakeling of verwijzing"}},
		mustNot: map[Lang][]string{English: {"without forwarding to another provider"}, Dutch: {"zonder doorschakeling naar een andere provider overgezet"}}},
	{item: "T21/404", text: codeText(404, all),
		must: map[Lang][]string{English: {"ported"}, Dutch: {"overgezet"}}},
	// T22: in RFC 5626 the phone keeps the flows open, not the provider.
	{item: "T22", text: codeText(430, all),
		must:    map[Lang][]string{English: {"each registered phone keeps"}, Dutch: {"houdt elk aangemeld toestel zelf"}},
		mustNot: map[Lang][]string{English: {"the provider keeps"}, Dutch: {"houdt de provider"}}},
	// T23: a trunk's limit of calls at once.
	{item: "T23", text: codeText(503, all),
		must: map[Lang][]string{English: {"channels", "calls at once"}, Dutch: {"kanalen", "gelijktijdige gesprekken"}}},
	// T24: G.729 only when the provider takes it.
	{item: "T24", text: func(c *Catalog, lang Lang) string { w, _ := c.WarnCode(370); return w.Meaning(lang) },
		must: map[Lang][]string{English: {"G.729", "if your provider"}, Dutch: {"G.729", "als uw provider"}}},
}

func TestDutchReviewTexts(t *testing.T) {
	c := Default()
	for _, r := range reviewTexts {
		if r.fault != nil && r.fault(c) != r.wantFault {
			t.Errorf("%s: fault %q, want %q", r.item, r.fault(c), r.wantFault)
		}
		for _, lang := range Langs {
			text := r.text(c, lang)
			if text == "" {
				t.Errorf("%s %s: no text", r.item, lang)
				continue
			}
			low := strings.ToLower(text)
			for _, w := range r.must[lang] {
				if !strings.Contains(low, strings.ToLower(w)) {
					t.Errorf("%s %s: the text does not say %q:\n%s", r.item, lang, w, text)
				}
			}
			for _, w := range r.mustNot[lang] {
				if strings.Contains(low, strings.ToLower(w)) {
					t.Errorf("%s %s: the text still says %q:\n%s", r.item, lang, w, text)
				}
			}
		}
	}
	// T12: the far side of an incoming call is the caller, so the word for
	// FaultRemote names no called party.
	if got := FaultRemote.Label(Dutch); got != "de andere kant" {
		t.Errorf("T12: remote is %q in Dutch, want \"de andere kant\"", got)
	}
	if got := FaultRemote.Label(English); strings.Contains(got, "called") {
		t.Errorf("T12: remote is %q in English", got)
	}
}

// The wire phrases and cause headers issue 8 names are data beside the
// codes, each with who sends it and where that is written.
func TestIssue8WirePhrases(t *testing.T) {
	c := Default()
	for _, w := range c.WirePhrases() {
		if w.Server == "" || w.Source == "" || w.Meaning == "" {
			t.Errorf("%q: server %q, source %q, meaning %q: all three are needed", w.Match, w.Server, w.Source, w.Meaning)
		}
	}
	for _, tc := range []struct {
		code    int
		phrase  string
		meaning string
	}{
		{477, "Unfortunately error on sending to next hop occurred", "next-hop-failed"}, // Kamailio tm
		{478, "Unresolvable destination (478/SL)", "routing-failed"},
		{479, "failure to add branch", "server-error"},
		{500, "I'm terribly sorry, server error occurred (1/SL)", "server-error"},
		{480, "No DNS results", "routing-failed"},                          // repro
		{503, "registrar unavail or not enabled", "registrar-unavailable"}, // Cisco CUBE
	} {
		w, ok := c.WirePhrase(tc.code, tc.phrase)
		if !ok || w.Meaning != tc.meaning {
			t.Errorf("%d %q: %+v %v, want meaning %s", tc.code, tc.phrase, w, ok, tc.meaning)
		}
	}
	asterisk := false
	for _, h := range c.CauseHeaders() {
		if h.Source == "" || h.Server == "" {
			t.Errorf("cause header %+v without server or source", h)
		}
		asterisk = asterisk || h.CodeHeader == "X-Asterisk-HangupCauseCode"
	}
	if !asterisk {
		t.Error("Asterisk's X-Asterisk-HangupCauseCode is not among the cause headers")
	}
}
