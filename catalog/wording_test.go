package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reviewedNL are the Dutch wordings the helpdesk review (§1.1, L1-L35)
// found to be calques, stiff or wrong, as they stood: none may come back
// into the knowledge base or the finding texts (analyze/data/findings.yaml,
// which the report renders). Each is matched with its line breaks folded.
var reviewedNL = map[string]string{
	"L1":  "De volgende server heeft uw oproep",
	"L2":  "maar één stap terug",
	"L3":  "meldt de andere kant voortgang",
	"L4":  "vroege geluid",
	"L5":  "Het abonnement is verlengd",
	"L6":  "abonnement op gebeurtenissen",
	"L7":  "lijst van adressen waarop",
	"L8":  "verhuisd",
	"L10": "begrijpt het verzoek maar weigert",
	"L11": "opnieuw inloggegevens sturen",
	"L12": "achter een inmiddels gesloten verbinding",
	"L13": "laat vallen",
	"L14": "kruiste",
	"L15": "de link naar het certificaat",
	"L16": "gaf haar de huidige naam",
	"L17": "uitligt",
	"L18": "wil wel praten",
	"L19": "Zet uw provider codecs om",
	"L20": "Respecteer de keuze",
	"L21": "kijk dan kritisch",
	"L22": "gesprekstimers",
	"L23": "nummerweergave die u meestuurt",
	"L24": "Apparatuur aan een kant",
	"L25": "responscode",
	"L26": "tussen centrales",
	"L27": "gesprek niet voeren",
	"L28": "aan staan",
	"L29": "Het nummer {to} is niet bekend",
	"L30": "noemt het privé-adres",
	"L31": "beschouw ze dus niet als verlies",
	"L32": "na het laatste bericht van deze {what}, voordat",
	"L33": "voor {value} s.",
	"L34": "in onderhoud en weigerde de oproep",
	"L35": "Het verzoek was in orde",
}

// reviewedEN are the English wordings the review's §3 found out of line
// with the Dutch (486 advice) or that keep the tone L20 and L21 took out
// of the Dutch: every fix is made in both languages.
var reviewedEN = map[string]string{
	"§3.1 486": "leave a message another way",
	"L20":      "Respect the decision",
	"L21":      "review how and when you call",
}

func TestDutchReviewWording(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("data", "*.yaml"))
	files = append(files, filepath.Join("..", "analyze", "data", "findings.yaml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(b)), " ")
		for item, now := range mergeMaps(reviewedNL, reviewedEN) {
			if i := strings.Index(text, now); i >= 0 {
				t.Errorf("%s: review %s wording %q is back: …%s…", name, item, now, text[max(0, i-60):min(len(text), i+len(now)+60)])
			}
		}
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}
