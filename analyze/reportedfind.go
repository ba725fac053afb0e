package analyze

import (
	"strconv"

	"github.com/sipcause/sipcause/catalog"
)

// reportedFindings gives a call whose audio verdict comes from what
// capture agents reported (RTCP, RFC 3550 §6.4; RTP statistics reports)
// rather than from captured RTP the findings of that verdict, with whose
// side the cause is on: one-way audio and no audio at all.
//
// how says what the reports were: "rtcp" or "agent". flowing is the
// stream that carried the audio of a one-way call; sent is, for RTCP, how
// many packets the sender of the missing direction said it sent.
//
// Where the cause lies follows from what the reports can tell. RTCP of a
// one-way call says that the missing direction was sent (its sender's SR
// counted packets) but not received (the receiver's reports named no
// such stream): it was lost on the way to the receiver, whose side's
// NAT or firewall usually kept it out. An agent's RTP statistics say the
// agent saw no packets of that direction: its sender did not send them,
// or they were kept from the network on the sender's side.
func (a *Analyzer) reportedFindings(call *Call, how string, flowing *MediaStream, sent int) {
	au := call.Audio
	if au == nil || call.Outcome != OutcomeAnswered || au.Verdict != "one_way" && au.Verdict != "none" {
		return
	}
	local := map[string]bool{}
	switch call.Direction {
	case "outgoing":
		local["caller"] = true
	case "incoming":
		local["callee"] = true
	case "internal":
		local["caller"], local["callee"] = true, true
	}
	dirWords := func(d string) Part {
		if d == "caller_to_callee" {
			return phrase("media-dir-caller-callee")
		}
		return phrase("media-dir-callee-caller")
	}
	var f Finding
	if au.Verdict == "none" {
		hw := phrase("media-how-agent-none")
		if how == "rtcp" {
			hw = phrase("media-how-rtcp-none")
		}
		f = a.text.findingWith("media-report-none", vars{}, map[string][]Part{"how": {hw}})
		f.Fault = string(catalog.FaultNetwork)
	} else {
		missing, from, to := "callee_to_caller", "callee", "caller"
		if au.Direction == "callee_to_caller" {
			missing, from, to = "caller_to_callee", "caller", "callee"
		}
		v := vars{"src": "?", "dst": "?", "count": "?", "n": "?"}
		if flowing != nil {
			if flowing.Src != "" {
				v["src"] = flowing.Src
			}
			if flowing.Dst != "" {
				v["dst"] = flowing.Dst
			}
			v["count"], v["n"] = strconv.Itoa(flowing.Packets), strconv.Itoa(flowing.Number)
		}
		hw, fault := phrase("media-how-agent"), sideOf(local, from)
		if how == "rtcp" {
			hw, fault = phrase("media-how-rtcp", "n", strconv.Itoa(sent)), sideOf(local, to)
		}
		f = a.text.findingWith("media-report-one-way", v, map[string][]Part{
			"sent": {dirWords(au.Direction)}, "missing": {dirWords(missing)}, "how": {hw}})
		f.Fault = string(fault)
	}
	// A media fault on an answered call is what the call is about, as
	// attachMedia puts it: first, and the call's fault.
	if f.Severity == "error" && call.Fault == string(catalog.FaultNone) {
		call.Findings = append([]Finding{f}, call.Findings...)
		call.Fault = f.Fault
		return
	}
	call.Findings = append(call.Findings, f)
}
