package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/catalog"
)

// The same capture read by the provider's own helpdesk (review T25): only
// the wording of the side changes. The customer's view is the text golden
// of TestGolden byte for byte; the provider's view has its own golden, in
// both languages, and says "the customer's side" where the customer reads
// "your side".
func TestGoldenPerspective(t *testing.T) {
	const name = "sngrep__aaa.pcap"
	for _, lang := range catalog.Langs {
		t.Run(string(lang), func(t *testing.T) {
			r := loadReport(t, name, lang)
			clock := goldenClock(t, lang)
			suffix := ""
			if lang == catalog.Dutch {
				suffix = ".nl"
			}
			for _, p := range []catalog.Perspective{catalog.PerspectiveCustomer, catalog.PerspectiveProvider} {
				var b bytes.Buffer
				if err := Text(&b, r, TextOptions{Lang: lang, Clock: clock, All: true, Stats: true, Perspective: p}); err != nil {
					t.Fatal(err)
				}
				stem := goldenName(name)
				if p == catalog.PerspectiveProvider {
					stem += ".provider"
				}
				checkGolden(t, stem+suffix+".txt", b.Bytes())
				checkNoEnglish(t, lang, stem+suffix+".txt", b.String())
				field := labels(lang)["fault"] + "  "
				for _, f := range []catalog.Fault{catalog.FaultLocal, catalog.FaultRemote, catalog.FaultNetwork} {
					want, other := f.LabelFor(lang, p), f.LabelFor(lang, otherView(p))
					if !strings.Contains(b.String(), field+want+"\n") {
						t.Errorf("%s view: no %q", p, field+want)
					}
					if want != other && strings.Contains(b.String(), field+other+"\n") {
						t.Errorf("%s view says %q", p, field+other)
					}
				}
			}
		})
	}
}

func otherView(p catalog.Perspective) catalog.Perspective {
	if p == catalog.PerspectiveProvider {
		return catalog.PerspectiveCustomer
	}
	return catalog.PerspectiveProvider
}
