package analyze

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/sipmsg"
)

// The logs in testdata/cases are hand-written in sngrep's text format: a
// customer's PBX (192.168.1.10, private: your side) behind a provider SBC
// (203.0.113.5) that reaches far ends such as 198.51.100.20. Each holds
// one case of issue 8, where the verdict used to be wrong.

// analyzeFiles reads the files, in order, through the capture reader as
// `sipcause analyze` does, each file with its own name.
func analyzeFiles(t testing.TB, lang catalog.Lang, paths ...string) *Report {
	t.Helper()
	a := New(Options{Lang: lang})
	for _, path := range paths {
		rd, err := capture.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var msg sipmsg.Message
		for {
			p, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if sipmsg.Parse(p.Payload, &msg) != nil {
				continue
			}
			a.Add(FromSIP(Meta{File: filepath.Base(path), Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport, FromLog: p.Encap == "log"}, &msg))
		}
		rd.Close()
	}
	return a.Finish()
}

// verdict is what one call or registration of a case must come out as.
type verdict struct {
	id       string // Call-ID
	status   int
	outcome  string
	fault    string
	finding  string   // the first finding
	also     []string // other findings that must be there
	never    []string // findings that must not be there
	values   []string // what the findings' values (or their phrases) must hold
	register bool     // a registration, not a call
}

var caseVerdicts = []struct {
	file string
	want []verdict
}{
	// A proxy that leaves its own Via on top of the responses: the phone
	// still took them (it ACKed the 200), so the call was answered.
	{"via-own.log", []verdict{{id: "via-own-1@192.168.1.10", status: 200, outcome: OutcomeAnswered, fault: "none",
		also: []string{"via-mismatch"}, never: []string{"alg-suspected", "no-response", "ack-missing"}}}},
	// A 486 without any Via: matched on Call-ID, CSeq and direction.
	{"via-dropped.log", []verdict{{id: "via-dropped-1@192.168.1.10", status: 486, outcome: OutcomeBusy, fault: "remote",
		finding: "busy", also: []string{"via-mismatch"}}}},
	// Three INVITEs of one phone, CSeq 1, 2, 3 from three ports; the
	// second is answered and ACKed, the others cancelled late.
	{"parallel-invites.log", []verdict{{id: "parallel-1@192.168.1.10", status: 200, outcome: OutcomeAnswered, fault: "none",
		never: []string{"ack-missing", "caller-cancelled"}}}},
	// A 302, then a new INVITE (CSeq 2) to the Contact, answered.
	{"redirect-answered.log", []verdict{{id: "redirect-1@192.168.1.10", status: 200, outcome: OutcomeAnswered, fault: "none",
		also: []string{"redirect-followed"}}}},
	// A REGISTER sent again and again (a new transaction each time) and
	// never answered until Timer F: the registrar is unreachable.
	{"register-timeout.log", []verdict{{id: "regto-1@192.168.1.10", register: true, outcome: RegTimeout, fault: "network", finding: "no-response"}}},
	// The callee's phone declined (603), the proxy told the caller 486.
	{"rewritten-603-486.log", []verdict{{id: "rewrite-1@192.168.1.10", status: 486, outcome: OutcomeRejected, fault: "remote",
		finding: "declined", also: []string{"response-rewritten"}, values: []string{"603"}}}},
	// The provider's SBC refuses an offer with only PCMU (Warning 305).
	{"488-pcmu-sbc.log", []verdict{{id: "488-pcmu-sbc-1@192.168.1.10", status: 488, outcome: OutcomeFailed, fault: "local",
		finding: "codec-mismatch", values: []string{"offer-lacks-pcma"}}}},
	// The far end refused an offer the SBC passed on: the remote side.
	{"488-far-end.log", []verdict{{id: "488-far-1@192.168.1.10", status: 488, outcome: OutcomeFailed, fault: "remote", finding: "codec-refused-far-end"}}},
	// 415 is about the Content-Type, not the codecs.
	{"415.log", []verdict{{id: "415-1@192.168.1.10", status: 415, outcome: OutcomeFailed, fault: "local",
		finding: "content-type-unsupported", never: []string{"codec-mismatch"}}}},
	// 484: the number was dialled incompletely, on your side.
	{"484.log", []verdict{{id: "484-1@192.168.1.10", status: 484, outcome: OutcomeRejected, fault: "local",
		finding: "number-incomplete"}}},
	// 502 and 504: the provider or the network, never the called party.
	{"502-504.log", []verdict{
		{id: "502-1@192.168.1.10", status: 502, outcome: OutcomeFailed, fault: "provider", finding: "server-error"},
		{id: "504-1@192.168.1.10", status: 504, outcome: OutcomeFailed, fault: "network", finding: "server-error"}}},
	// Incoming calls refused by your own PBX: inbound routing on your side.
	{"incoming-refused.log", []verdict{
		{id: "incoming-404@203.0.113.5", status: 404, outcome: OutcomeRejected, fault: "local", finding: "inbound-refused"},
		{id: "incoming-484@203.0.113.5", status: 484, outcome: OutcomeRejected, fault: "local", finding: "inbound-refused"},
		{id: "incoming-480@203.0.113.5", status: 480, outcome: OutcomeRejected, fault: "local", finding: "inbound-refused"},
		{id: "incoming-503@203.0.113.5", status: 503, outcome: OutcomeFailed, fault: "local", finding: "inbound-refused"},
		{id: "incoming-486@203.0.113.5", status: 486, outcome: OutcomeBusy, fault: "local", finding: "inbound-refused"}}},
	// 404 for a user that registered at the same server minutes before.
	{"registered-404.log", []verdict{{id: "reg404-1@192.168.1.10", status: 404, outcome: OutcomeRejected, fault: "provider",
		finding: "registered-not-routed", never: []string{"number-unknown"}}}},
	// 603 and 486 from a server within milliseconds, no ringing.
	{"server-decided.log", []verdict{
		{id: "srv603-1@192.168.1.10", status: 603, outcome: OutcomeRejected, fault: "provider", finding: "server-decided"},
		{id: "srv486-1@192.168.1.10", status: 486, outcome: OutcomeRejected, fault: "provider", finding: "server-decided"}}},
	// 486 after exactly the same 30 s of ringing on three calls.
	{"ring-timer.log", []verdict{
		{id: "ringtimer-0@192.168.1.10", status: 486, outcome: OutcomeNoAnswer, fault: "remote", finding: "ring-timer"},
		{id: "ringtimer-1@192.168.1.10", status: 486, outcome: OutcomeNoAnswer, fault: "remote", finding: "ring-timer"},
		{id: "ringtimer-2@192.168.1.10", status: 486, outcome: OutcomeNoAnswer, fault: "remote", finding: "ring-timer"}}},
	// 408 after 180: nobody answered; no firewall advice anywhere.
	{"408-ring.log", []verdict{{id: "408-ring-1@192.168.1.10", status: 408, outcome: OutcomeNoAnswer, fault: "remote",
		finding: "no-answer"}}},
	// A registration refused with "No DNS results": the registrar's routing.
	{"register-no-dns.log", []verdict{{id: "nodns-1@192.168.1.10", register: true, outcome: RegFailed, fault: "local",
		finding: "register-routing-failed"}}},
	// Kamailio's own phrases name the cause.
	{"kamailio-phrases.log", []verdict{
		{id: "kamailio-477@192.168.1.10", status: 477, outcome: OutcomeFailed, fault: "provider", finding: "next-hop-failed"},
		{id: "kamailio-478@192.168.1.10", status: 478, outcome: OutcomeFailed, fault: "provider", finding: "routing-failed"},
		{id: "kamailio-479@192.168.1.10", status: 479, outcome: OutcomeFailed, fault: "provider", finding: "server-error"},
		{id: "kamailio-500@192.168.1.10", status: 500, outcome: OutcomeFailed, fault: "provider", finding: "server-error"}}},
	// 487 with Reason "Call completed elsewhere" and no CANCEL: another
	// phone of the group took the call.
	{"487-elsewhere.log", []verdict{{id: "elsewhere-1@203.0.113.5", status: 487, outcome: OutcomeCancelled, fault: "none",
		finding: "answered-elsewhere", never: []string{"request-failed"}}}},
	// Q.850 causes from Asterisk's X-Asterisk-HangupCauseCode and from a
	// FreeSWITCH Reason header decide over the generic SIP code.
	{"q850-causes.log", []verdict{
		{id: "q850-34@192.168.1.10", status: 503, outcome: OutcomeFailed, fault: "provider", finding: "no-circuit"},
		{id: "q850-17@192.168.1.10", status: 480, outcome: OutcomeBusy, fault: "remote", finding: "busy"},
		{id: "q850-19@192.168.1.10", status: 480, outcome: OutcomeNoAnswer, fault: "remote", finding: "no-answer"},
		{id: "q850-1@192.168.1.10", status: 404, outcome: OutcomeRejected, fault: "remote", finding: "number-unknown"}}},
	// Cisco CUBE: the registrar behind it is not there.
	{"cube-registrar.log", []verdict{{id: "cube-registrar-1@192.168.1.10", status: 503, outcome: OutcomeFailed, fault: "provider", finding: "registrar-unavailable"}}},
}

func TestCaseVerdicts(t *testing.T) {
	for _, tc := range caseVerdicts {
		t.Run(tc.file, func(t *testing.T) {
			r := analyzeFiles(t, catalog.English, filepath.Join("testdata", "cases", tc.file))
			for _, w := range tc.want {
				var status int
				var outcome, fault string
				var findings []Finding
				if w.register {
					var reg *Register
					for _, x := range r.Registrations {
						if x.CallID == w.id {
							reg = x
						}
					}
					if reg == nil {
						t.Fatalf("no registration %s", w.id)
					}
					status, outcome, fault, findings = reg.FinalStatus, reg.Outcome, reg.Fault, reg.Findings
				} else {
					c := callByID(t, r, w.id)
					status, outcome, fault, findings = c.FinalStatus, c.Outcome, c.Fault, c.Findings
				}
				ids := []string{}
				var values []string
				for _, f := range findings {
					ids = append(ids, f.ID)
					for _, v := range f.Values {
						values = append(values, v)
					}
					for _, ps := range f.Parts {
						for _, p := range ps {
							values = append(values, p.Phrase, p.Raw)
							for _, v := range p.Values {
								values = append(values, v)
							}
						}
					}
				}
				all := strings.Join(values, "\n")
				if w.status != 0 && status != w.status || outcome != w.outcome || fault != w.fault {
					t.Errorf("%s: status %d outcome %s fault %s; want %d %s %s", w.id, status, outcome, fault, w.status, w.outcome, w.fault)
				}
				if w.finding != "" && (len(ids) == 0 || ids[0] != w.finding) {
					t.Errorf("%s: findings %v, want %s first", w.id, ids, w.finding)
				}
				for _, id := range w.also {
					if !slices.Contains(ids, id) {
						t.Errorf("%s: findings %v, want %s among them", w.id, ids, id)
					}
				}
				for _, id := range w.never {
					if slices.Contains(ids, id) {
						t.Errorf("%s: findings %v must not hold %s", w.id, ids, id)
					}
				}
				for _, s := range w.values {
					if !strings.Contains(all, s) {
						t.Errorf("%s: the findings' values do not hold %q:\n%s", w.id, s, all)
					}
				}
			}
		})
	}
}
