package report

import (
	"strconv"
	"strings"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// mediaDecimal are the finding values of the media analysis that are
// decimal numbers, written with the decimal comma in Dutch.
var mediaDecimal = map[string]bool{"loss": true, "jitter": true, "mos": true}

// audioWords say a call's audio verdict (analyze.Audio) in each language.
var audioWords = map[string][2]string{
	"both":             {"both directions", "in beide richtingen"},
	"one_way":          {"one way only, ", "maar in één richting, "},
	"none":             {"none in either direction", "in geen van beide richtingen"},
	"hold":             {"on hold (no media expected)", "in de wacht (geen media verwacht)"},
	"t38":              {"fax over T.38 (no audio expected)", "fax via T.38 (geen geluid verwacht)"},
	"early":            {"early media only (before the answer)", "alleen vroege media (vóór het opnemen)"},
	"not_seen":         {"not in the capture (it holds RTP of other hosts only)", "niet in de opname (die bevat alleen RTP van andere hosts)"},
	"not_captured":     {"no RTP in the input (only the signalling was read)", "geen RTP in de invoer (alleen de signalering is gelezen)"},
	"caller_to_callee": {"from the caller to the called party", "van de beller naar de gebelde"},
	"callee_to_caller": {"from the called party to the caller", "van de gebelde naar de beller"},
}

// AudioText says a call's audio verdict in one line, without the "Audio:"
// label: "both directions, MOS 4.4", "one way only, from the caller to
// the called party, MOS 4.3".
func AudioText(a *analyze.Audio, lang catalog.Lang) string {
	if a == nil {
		return ""
	}
	i := 0
	if lang == catalog.Dutch {
		i = 1
	}
	w, ok := audioWords[a.Verdict]
	if !ok {
		return a.Verdict
	}
	s := w[i]
	if a.Verdict == "one_way" {
		s += audioWords[a.Direction][i]
	}
	if a.MOS != nil && a.Verdict != "early" {
		m := strconv.FormatFloat(*a.MOS, 'f', 1, 64)
		if lang == catalog.Dutch {
			m = strings.Replace(m, ".", ",", 1)
		}
		s += ", MOS " + m
	}
	return s
}
