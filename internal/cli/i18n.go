package cli

import "github.com/sipcause/sipcause/catalog"

// ui holds the labels of the command line's own output; the knowledge
// itself lives in the catalog's data files.
var ui = map[string][2]string{ // key -> {en, nl}
	"class":          {"Class", "Klasse"},
	"cause lies":     {"Cause lies with", "Oorzaak ligt bij"},
	"meaning":        {"Meaning", "Betekenis"},
	"what to do":     {"What to do", "Wat te doen"},
	"look at":        {"Look at", "Kijk naar"},
	"q850":           {"Q.850", "Q.850"},
	"defined in":     {"Defined in", "Vastgelegd in"},
	"wire phrase":    {"Text sent", "Verzonden tekst"},
	"registered":     {"Official text (IANA)", "Officiële tekst (IANA)"},
	"unknown code":   {"%d is not a registered code; as RFC 3261 §8.1.3.2 prescribes, it is treated as %d %s.", "%d is geen geregistreerde code; zoals RFC 3261 §8.1.3.2 voorschrijft, wordt hij behandeld als %d %s."},
	"reason hdr":     {"Reason header", "Reason-header"},
	"warning hdr":    {"Warning header", "Warning-header"},
	"agent":          {"Added by", "Toegevoegd door"},
	"text":           {"Text", "Tekst"},
	"unknown warn":   {"not a registered warn-code", "geen geregistreerde warn-code"},
	"unassigned":     {"not an assigned Q.850 cause value", "geen toegekende Q.850-oorzaakwaarde"},
	"maps to":        {"RFC 3398: a gateway sends %d %s for this cause", "RFC 3398: een gateway stuurt hiervoor %d %s"},
	"no response":    {"RFC 3398: a gateway sends no response for this cause", "RFC 3398: een gateway stuurt hiervoor geen antwoord"},
	"protocol":       {"protocol %s (not SIP or Q.850): cause %d", "protocol %s (geen SIP of Q.850): oorzaak %d"},
	"code":           {"CODE", "CODE"},
	"phrase":         {"PHRASE", "OMSCHRIJVING"},
	"fault":          {"CAUSE LIES WITH", "OORZAAK LIGT BIJ"},
	"summary":        {"MEANING", "BETEKENIS"},
	"deprecated":     {"deprecated", "verouderd"},
	"wrote":          {"wrote", "geschreven:"},
	"no call id":     {"no call whose Call-ID is or starts with %q", "geen gesprek waarvan de Call-ID %q is of ermee begint"},
	"no number":      {"no call or registration of %q", "geen gesprek of aanmelding van %q"},
	"ambiguous call": {"--call %q: more than one call starts so: %s", "--call %q: meer dan één gesprek begint zo: %s"},
	"integrity":      {"Capture", "Opname"},
	"times in":       {"Times in %s", "Tijden in %s"},
	"no files":       {"give at least one capture or log file (or - for standard input)", "geef minstens één opname of logbestand op (of - voor standaardinvoer)"},
	"json or csv":    {"choose one of --json and --csv", "kies --json of --csv, niet allebei"},
	"html stdout":    {"--html - writes the page to standard output; it cannot go with --json or --csv", "--html - schrijft de pagina naar standaarduitvoer en gaat niet samen met --json of --csv"},
	"cannot write":   {"cannot write the page", "kan de pagina niet schrijven"},
	"cannot explain": {"cannot explain", "kan niet uitleggen"},
	"no calls found": {"No calls found.", "Geen gesprekken gevonden."},
}

func tr(lang catalog.Lang, key string) string {
	v, ok := ui[key]
	if !ok {
		return key
	}
	if lang == catalog.Dutch {
		return v[1]
	}
	return v[0]
}

var classNames = map[int][2]string{
	1: {"1xx provisional", "1xx voorlopig"},
	2: {"2xx success", "2xx gelukt"},
	3: {"3xx redirection", "3xx doorverwijzing"},
	4: {"4xx request failure", "4xx verzoek mislukt"},
	5: {"5xx server failure", "5xx storing bij een server"},
	6: {"6xx global failure", "6xx overal geweigerd"},
}

func className(lang catalog.Lang, class int) string {
	v := classNames[class]
	if lang == catalog.Dutch {
		return v[1]
	}
	return v[0]
}
