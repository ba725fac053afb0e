package catalog

import "testing"

// Seen from the provider (review T25) the side is worded for the provider's
// helpdesk: "your provider" becomes "our network", "your side" the
// customer's; the words of the customer stay the default.
func TestFaultLabelForPerspective(t *testing.T) {
	want := map[Lang]map[Fault]string{
		English: {FaultLocal: "the customer's side", FaultProvider: "our network/platform", FaultRemote: "the other side",
			FaultNetwork: "the network between", FaultNone: "no fault"},
		Dutch: {FaultLocal: "de kant van de klant", FaultProvider: "ons netwerk/platform", FaultRemote: "de andere kant",
			FaultNetwork: "het netwerk ertussen", FaultNone: "geen storing"},
	}
	for lang, m := range want {
		for _, f := range Faults {
			if got := f.LabelFor(lang, PerspectiveProvider); got != m[f] {
				t.Errorf("%s %s provider view: %q, want %q", lang, f, got, m[f])
			}
			for _, p := range []Perspective{PerspectiveCustomer, "", "nonsense"} {
				if got := f.LabelFor(lang, p); got != f.Label(lang) {
					t.Errorf("%s %s perspective %q: %q, want the customer's %q", lang, f, p, got, f.Label(lang))
				}
			}
		}
	}
	if !PerspectiveCustomer.Valid() || !PerspectiveProvider.Valid() || Perspective("klant").Valid() {
		t.Error("Valid is wrong")
	}
}
