package analyze

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

var t0 = time.Date(2026, 3, 2, 10, 42, 0, 0, time.UTC)

// flow builds time-ordered messages for a test.
type flow struct {
	msgs  []Message
	frame int
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// req adds a request from src to dst at t0+at.
func (f *flow) req(at time.Duration, src, dst, method, callID string, cseq uint32, branch, fromTag, toTag string, mod ...func(*Message)) {
	f.frame++
	s := ap(src)
	m := Message{
		Frame: f.frame, Time: t0.Add(at), Src: s, Dst: ap(dst), Transport: "udp", Request: true, Method: method,
		RequestURI: "sip:0612345678@provider.example", CallID: callID, CSeq: cseq, CSeqMethod: method,
		From:        Party{URI: "sip:0201234567@pbx.example", User: "0201234567", Host: "pbx.example", Tag: fromTag},
		To:          Party{URI: "sip:0612345678@provider.example", User: "0612345678", Host: "provider.example", Tag: toTag},
		Vias:        []Via{{Transport: "UDP", Host: s.Addr().String(), Port: int(s.Port()), Branch: branch}},
		MaxForwards: 70, Expires: -1, RetryAfter: -1, MinExpires: -1, MinSE: -1, ContentLength: 0,
	}
	if method == "ACK" {
		m.CSeqMethod = "ACK"
	}
	for _, fn := range mod {
		fn(&m)
	}
	f.msgs = append(f.msgs, m)
}

// resp adds a response to the request with the given branch.
func (f *flow) resp(at time.Duration, src, dst string, code int, reason, callID string, cseq uint32, method, branch, fromTag, toTag string, mod ...func(*Message)) {
	f.frame++
	d := ap(dst)
	m := Message{
		Frame: f.frame, Time: t0.Add(at), Src: ap(src), Dst: d, Transport: "udp", StatusCode: code, Reason: reason,
		CallID: callID, CSeq: cseq, CSeqMethod: method,
		From:        Party{URI: "sip:0201234567@pbx.example", User: "0201234567", Tag: fromTag},
		To:          Party{URI: "sip:0612345678@provider.example", User: "0612345678", Tag: toTag},
		Vias:        []Via{{Transport: "UDP", Host: d.Addr().String(), Port: int(d.Port()), Branch: branch}},
		MaxForwards: -1, Expires: -1, RetryAfter: -1, MinExpires: -1, MinSE: -1, ContentLength: 0,
	}
	for _, fn := range mod {
		fn(&m)
	}
	f.msgs = append(f.msgs, m)
}

func run(t *testing.T, msgs []Message, opt Options) *Report {
	t.Helper()
	a := New(opt)
	for _, m := range msgs {
		a.Add(m)
	}
	return a.Finish()
}

func callByID(t *testing.T, r *Report, id string) *Call {
	t.Helper()
	for _, c := range r.Calls {
		if c.CallID == id {
			return c
		}
	}
	t.Fatalf("no call %q among %d", id, len(r.Calls))
	return nil
}

func checkCall(t *testing.T, c *Call, status int, outcome, fault, finding string) {
	t.Helper()
	if c.FinalStatus != status || c.Outcome != outcome || c.Fault != fault {
		t.Errorf("%s: status %d outcome %s fault %s; want %d %s %s", c.CallID, c.FinalStatus, c.Outcome, c.Fault, status, outcome, fault)
	}
	if finding == "" {
		return
	}
	if len(c.Findings) == 0 || c.Findings[0].ID != finding {
		ids := []string{}
		for _, f := range c.Findings {
			ids = append(ids, f.ID)
		}
		t.Errorf("%s: findings %v, want %s first", c.CallID, ids, finding)
	}
}

func hasFinding(c *Call, id string) bool {
	for _, f := range c.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

const (
	phone    = "192.168.1.10:5060"
	pbx      = "192.168.1.2:5060"
	provider = "198.51.100.7:5060"
	callee   = "203.0.113.9:5060"
)

// A 503 made by the user's own PBX because the provider never answered is
// not the provider refusing: the path to the provider is at fault.
func TestOwnPBX503WhenProviderSilent(t *testing.T) {
	var f flow
	f.req(0, phone, pbx, "INVITE", "leg-a", 1, "z9hG4bK-a1", "fa", "")
	f.resp(10*time.Millisecond, pbx, phone, 100, "Trying", "leg-a", 1, "INVITE", "z9hG4bK-a1", "fa", "")
	for i, d := range []time.Duration{0, 500, 1500, 3500, 7500, 15500, 31500} {
		_ = i
		f.req(20*time.Millisecond+d*time.Millisecond, "192.168.1.2:5080", provider, "INVITE", "leg-b", 1, "z9hG4bK-b1", "fb", "")
	}
	f.resp(32600*time.Millisecond, pbx, phone, 503, "Service Unavailable", "leg-a", 1, "INVITE", "z9hG4bK-a1", "fa", "ta")
	f.req(32601*time.Millisecond, phone, pbx, "ACK", "leg-a", 1, "z9hG4bK-a1", "fa", "ta")
	r := run(t, f.msgs, Options{Local: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	a := callByID(t, r, "leg-a")
	checkCall(t, a, 503, OutcomeFailed, "network", "upstream-unreachable")
	b := callByID(t, r, "leg-b")
	checkCall(t, b, 0, OutcomeTimeout, "network", "no-response")
	if b.LegOf != "leg-a" {
		t.Errorf("leg-b should continue leg-a, leg_of %q", b.LegOf)
	}
	if r.Summary.Retransmitted != 6 {
		t.Errorf("retransmissions %d, want 6", r.Summary.Retransmitted)
	}
	if r.Summary.Requests["INVITE"] != 8 {
		t.Errorf("INVITE count %d, want 8 (retransmissions included)", r.Summary.Requests["INVITE"])
	}
	if r.Metrics.Overall.Attempts != 1 {
		t.Errorf("a B2BUA's second leg must not count as a second attempt: %d", r.Metrics.Overall.Attempts)
	}
}

// A 408 from the provider after the callee's phone rang is no network fault.
func TestProviderTimeoutAfterRingingIsNoAnswer(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "c1", 1, "z9hG4bK-1", "f1", "")
	f.resp(50*time.Millisecond, provider, phone, 100, "Trying", "c1", 1, "INVITE", "z9hG4bK-1", "f1", "")
	f.resp(900*time.Millisecond, provider, phone, 180, "Ringing", "c1", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	f.resp(60*time.Second, provider, phone, 408, "Request Timeout", "c1", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	f.req(60*time.Second+time.Millisecond, phone, provider, "ACK", "c1", 1, "z9hG4bK-1", "f1", "t1")
	r := run(t, f.msgs, Options{})
	checkCall(t, callByID(t, r, "c1"), 408, OutcomeNoAnswer, "remote", "no-answer")
	if c := callByID(t, r, "c1"); c.PDDMS != 900 {
		t.Errorf("post-dial delay %d ms, want 900", c.PDDMS)
	}
}

func TestWrongPasswordOnInvite(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "c2", 1, "z9hG4bK-1", "f1", "")
	f.resp(30*time.Millisecond, provider, phone, 407, "Proxy Authentication Required", "c2", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	f.req(31*time.Millisecond, phone, provider, "ACK", "c2", 1, "z9hG4bK-1", "f1", "t1")
	f.req(40*time.Millisecond, phone, provider, "INVITE", "c2", 2, "z9hG4bK-2", "f1", "", func(m *Message) { m.AuthNonce, m.AuthUser = "abc", "user" })
	f.resp(70*time.Millisecond, provider, phone, 403, "Forbidden", "c2", 2, "INVITE", "z9hG4bK-2", "f1", "t2")
	r := run(t, f.msgs, Options{})
	checkCall(t, callByID(t, r, "c2"), 403, OutcomeRejected, "local", "auth-failed")
}

func TestNATPrivateContactFromPublicAddress(t *testing.T) {
	var f flow
	f.req(0, "198.51.100.50:5060", provider, "INVITE", "c3", 1, "z9hG4bK-1", "f1", "", func(m *Message) {
		m.Vias[0].Host = "192.168.1.10"
		m.Contact, m.ContactIP = "sip:200@192.168.1.10:5060", "192.168.1.10"
	})
	f.resp(30*time.Millisecond, provider, "198.51.100.50:5060", 486, "Busy Here", "c3", 1, "INVITE", "z9hG4bK-1", "f1", "t1",
		func(m *Message) { m.Vias[0].Host = "192.168.1.10" })
	r := run(t, f.msgs, Options{})
	c := callByID(t, r, "c3")
	checkCall(t, c, 486, OutcomeBusy, "remote", "busy")
	if !hasFinding(c, "nat-private-address") {
		t.Errorf("no nat-private-address finding: %+v", c.Findings)
	}
}

// An answer that is never acknowledged is retransmitted and the call torn
// down after about 32 s: the classic NAT/ALG symptom.
func TestAckMissing(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "c4", 1, "z9hG4bK-1", "f1", "")
	f.resp(100*time.Millisecond, provider, phone, 180, "Ringing", "c4", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	for _, d := range []time.Duration{2000, 2500, 3500, 5500, 9500, 13500} {
		f.resp(d*time.Millisecond, provider, phone, 200, "OK", "c4", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	}
	f.req(34*time.Second, provider, phone, "BYE", "c4", 1, "z9hG4bK-bye", "t1", "f1")
	f.resp(34*time.Second+20*time.Millisecond, phone, provider, 200, "OK", "c4", 1, "BYE", "z9hG4bK-bye", "t1", "f1")
	r := run(t, f.msgs, Options{})
	c := callByID(t, r, "c4")
	checkCall(t, c, 200, OutcomeAnswered, "none", "")
	if !hasFinding(c, "ack-missing") {
		t.Errorf("no ack-missing finding: %+v", c.Findings)
	}
	if c.EndedBy != "callee" {
		t.Errorf("ended by %q, want callee", c.EndedBy)
	}
}

func TestRegistrationIntervalTooBrief(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "REGISTER", "r1", 1, "z9hG4bK-r1", "f1", "", func(m *Message) { m.Expires = 60 })
	f.resp(30*time.Millisecond, provider, phone, 423, "Interval Too Brief", "r1", 1, "REGISTER", "z9hG4bK-r1", "f1", "t1", func(m *Message) { m.MinExpires = 300 })
	r := run(t, f.msgs, Options{})
	if len(r.Registrations) != 1 {
		t.Fatalf("%d registrations", len(r.Registrations))
	}
	g := r.Registrations[0]
	if g.Outcome != RegFailed || g.Fault != "local" || g.Findings[0].ID != "interval-too-brief" || g.Findings[0].Values["min"] != " 300 s" {
		t.Errorf("registration %+v", g)
	}
}

// Streaming (OnCall) and collecting give the same calls.
func TestStreamingGivesTheSameCalls(t *testing.T) {
	var f flow
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("s%d", i)
		at := time.Duration(i) * 40 * time.Second
		f.req(at, phone, provider, "INVITE", id, 1, "z9hG4bK-"+id, "f", "")
		code, reason := 486, "Busy Here"
		if i%3 == 0 {
			code, reason = 200, "OK"
		}
		f.resp(at+time.Second, provider, phone, code, reason, id, 1, "INVITE", "z9hG4bK-"+id, "f", "t")
		if code == 200 {
			f.req(at+time.Second+time.Millisecond, phone, provider, "ACK", id, 1, "z9hG4bK-ack"+id, "f", "t")
			f.req(at+5*time.Second, phone, provider, "BYE", id, 2, "z9hG4bK-bye"+id, "f", "t")
			f.resp(at+5*time.Second+time.Millisecond, provider, phone, 200, "OK", id, 2, "BYE", "z9hG4bK-bye"+id, "f", "t")
		} else {
			f.req(at+time.Second+time.Millisecond, phone, provider, "ACK", id, 1, "z9hG4bK-"+id, "f", "t")
		}
	}
	whole := run(t, f.msgs, Options{})
	var streamed []*Call
	a := New(Options{OnCall: func(c *Call) { streamed = append(streamed, c) }})
	for i, m := range f.msgs {
		a.Add(m)
		if i%7 == 0 {
			a.Flush(m.Time)
		}
	}
	rest := a.Finish()
	if len(rest.Calls) != 0 {
		t.Errorf("streaming report kept %d calls", len(rest.Calls))
	}
	if !reflect.DeepEqual(whole.Calls, streamed) {
		t.Errorf("streamed calls differ from collected ones (%d vs %d)", len(streamed), len(whole.Calls))
	}
	if !reflect.DeepEqual(whole.Metrics, rest.Metrics) || !reflect.DeepEqual(whole.Summary, rest.Summary) {
		t.Errorf("metrics or summary differ between streaming and collecting")
	}
}

// Every finding has a text in both languages, and no placeholder is left
// unfilled in the texts the tests above produce.
func TestFindingTexts(t *testing.T) {
	m, err := findingTexts()
	if err != nil {
		t.Fatal(err)
	}
	for id, ft := range m {
		if ft.EN == "" || ft.NL == "" || ft.EN == ft.NL {
			t.Errorf("%s: English and Dutch texts must both exist and differ", id)
		}
		switch ft.Severity {
		case "error", "warning", "info":
		default:
			t.Errorf("%s: severity %q", id, ft.Severity)
		}
		if len(ft.AdviceEN) != len(ft.AdviceNL) {
			t.Errorf("%s: advice in English and Dutch differ in length", id)
		}
	}
	ps := Phrases()
	for id, p := range ps {
		if p.EN == "" || p.NL == "" || (p.OneEN == "") != (p.OneNL == "") {
			t.Errorf("phrase %s: English and Dutch must both exist, with or without a singular", id)
		}
	}
}

// findingData is everything a finding holds, for tests that look for a
// value: values, phrase ids with their values, and raw parts.
func findingData(f Finding) string {
	var b strings.Builder
	for k, v := range f.Values {
		b.WriteString(k + "=" + v + " ")
	}
	for k, ps := range f.Parts {
		for _, p := range ps {
			b.WriteString(k + ":" + p.Phrase + " " + p.Raw + " ")
			for pk, pv := range p.Values {
				b.WriteString(pk + "=" + pv + " ")
			}
		}
	}
	return b.String()
}

// The capture ending before Timer B is not a timeout.
func TestCaptureEndsBeforeTimerB(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "c5", 1, "z9hG4bK-1", "f1", "")
	f.req(500*time.Millisecond, phone, provider, "INVITE", "c5", 1, "z9hG4bK-1", "f1", "")
	r := run(t, f.msgs, Options{})
	checkCall(t, callByID(t, r, "c5"), 0, OutcomeIncomplete, "none", "incomplete")
	a := New(Options{})
	for _, m := range f.msgs {
		a.Add(m)
	}
	a.ObserveEnd(t0.Add(40 * time.Second)) // non-SIP packets went on
	checkCall(t, callByID(t, a.Finish(), "c5"), 0, OutcomeTimeout, "network", "no-response")
}

// The same INVITE captured on both sides of a router, with its Contact and
// SDP rewritten on the way, is the mark of a SIP ALG.
func TestALGRewritesBetweenCapturePoints(t *testing.T) {
	var f flow
	sdpIn := &SDP{Addr: "192.168.1.10", Media: []Media{{Type: "audio", Port: 4000, Addr: "192.168.1.10", Codecs: []string{"PCMA"}}}}
	sdpOut := &SDP{Addr: "198.51.100.50", Media: []Media{{Type: "audio", Port: 4000, Addr: "198.51.100.50", Codecs: []string{"PCMA"}}}}
	f.req(0, phone, provider, "INVITE", "alg", 1, "z9hG4bK-alg", "f1", "", func(m *Message) {
		m.Contact, m.ContactIP, m.SDP = "sip:200@192.168.1.10:5060", "192.168.1.10", sdpIn
	})
	f.req(time.Millisecond, "198.51.100.50:5060", provider, "INVITE", "alg", 1, "z9hG4bK-alg", "f1", "", func(m *Message) {
		m.Vias[0].Host = "198.51.100.50"
		m.Contact, m.ContactIP, m.SDP = "sip:200@198.51.100.50:5060", "198.51.100.50", sdpOut
	})
	f.resp(40*time.Millisecond, provider, phone, 486, "Busy Here", "alg", 1, "INVITE", "z9hG4bK-alg", "f1", "t1")
	r := run(t, f.msgs, Options{})
	c := callByID(t, r, "alg")
	if !hasFinding(c, "alg-suspected") {
		t.Fatalf("no alg-suspected finding: %+v", c.Findings)
	}
	for _, fd := range c.Findings {
		if fd.ID == "alg-suspected" && (!strings.Contains(findingData(fd), "header=Contact") || !reflect.DeepEqual(fd.Frames, []int{1, 2})) {
			t.Errorf("alg finding %q frames %v", findingData(fd), fd.Frames)
		}
		// Each of the three values the first copy had is compared (the
		// first copy is read from its transaction).
		if fd.ID == "alg-suspected" && (strings.Count(findingData(fd), "alg-copy") != 3 ||
			!strings.Contains(findingData(fd), "header=Via") || !strings.Contains(findingData(fd), "header=SDP c=")) {
			t.Errorf("alg finding %q: want Via, Contact and SDP c= compared", findingData(fd))
		}
	}
}

func TestReinviteForFaxRefused(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "fax", 1, "z9hG4bK-1", "f1", "")
	f.resp(time.Second, provider, phone, 200, "OK", "fax", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	f.req(time.Second+time.Millisecond, phone, provider, "ACK", "fax", 1, "z9hG4bK-a", "f1", "t1")
	f.req(5*time.Second, provider, phone, "INVITE", "fax", 1, "z9hG4bK-re", "t1", "f1", func(m *Message) {
		m.SDP = &SDP{Addr: "198.51.100.7", Media: []Media{{Type: "image", Port: 4000, Proto: "udptl", Codecs: []string{"t38"}}}}
	})
	f.resp(5*time.Second+50*time.Millisecond, phone, provider, 488, "Not Acceptable Here", "fax", 1, "INVITE", "z9hG4bK-re", "t1", "f1")
	r := run(t, f.msgs, Options{})
	c := callByID(t, r, "fax")
	checkCall(t, c, 200, OutcomeAnswered, "none", "")
	found := false
	for _, fd := range c.Findings {
		if fd.ID == "reinvite-rejected" && strings.Contains(findingData(fd), "what:t38-switch") && fd.Values["method"] == "re-INVITE" {
			found = true
		}
	}
	if !found {
		t.Errorf("no reinvite-rejected finding naming T.38: %+v", c.Findings)
	}
}

// A refused re-INVITE says what failed, from what it asked for (review
// T18): fax (T.38), video, hold (sendonly or inactive), or a plain media
// change; only the fax one speaks of a fax.
func TestReinviteRefusedSaysWhat(t *testing.T) {
	audio := Media{Type: "audio", Port: 4000, Proto: "RTP/AVP", Codecs: []string{"PCMA", "telephone-event"}, Direction: "sendrecv"}
	for _, tc := range []struct {
		name   string
		media  []Media
		effect string
	}{
		{"fax", []Media{{Type: "image", Port: 4002, Proto: "udptl", Codecs: []string{"t38"}}}, "reinvite-effect-fax"},
		{"video", []Media{audio, {Type: "video", Port: 4004, Proto: "RTP/AVP", Codecs: []string{"H264"}, Direction: "sendrecv"}}, "reinvite-effect-video"},
		{"hold", []Media{{Type: "audio", Port: 4000, Proto: "RTP/AVP", Codecs: []string{"PCMA"}, Direction: "sendonly"}}, "reinvite-effect-hold"},
		{"inactive", []Media{{Type: "audio", Port: 4000, Proto: "RTP/AVP", Codecs: []string{"PCMA"}, Direction: "inactive"}}, "reinvite-effect-hold"},
		{"other", []Media{{Type: "audio", Port: 4000, Proto: "RTP/AVP", Codecs: []string{"G722"}, Direction: "sendrecv"}}, "reinvite-effect-other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f flow
			id := "re-" + tc.name
			f.req(0, phone, provider, "INVITE", id, 1, "z9hG4bK-1", "f1", "")
			f.resp(time.Second, provider, phone, 200, "OK", id, 1, "INVITE", "z9hG4bK-1", "f1", "t1")
			f.req(time.Second+time.Millisecond, phone, provider, "ACK", id, 1, "z9hG4bK-a", "f1", "t1")
			f.req(5*time.Second, provider, phone, "INVITE", id, 1, "z9hG4bK-re", "t1", "f1", func(m *Message) {
				m.SDP = &SDP{Addr: "198.51.100.7", Media: tc.media}
			})
			f.resp(5*time.Second+50*time.Millisecond, phone, provider, 488, "Not Acceptable Here", id, 1, "INVITE", "z9hG4bK-re", "t1", "f1")
			c := callByID(t, run(t, f.msgs, Options{}), id)
			checkCall(t, c, 200, OutcomeAnswered, "none", "")
			var got []string
			for _, fd := range c.Findings {
				if fd.ID == "reinvite-rejected" {
					got = append(got, fd.Parts["effect"][0].Phrase)
				}
			}
			if len(got) != 1 || got[0] != tc.effect {
				t.Errorf("reinvite-rejected effects %v, want [%s]; findings %+v", got, tc.effect, c.Findings)
			}
		})
	}
}

// A live collector reports calls soon after they end (Settle), ignores a
// retransmission that comes after that, and bounds the calls it holds.
func TestLiveSettleAndLimits(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "live", 1, "z9hG4bK-1", "f1", "")
	f.resp(100*time.Millisecond, provider, phone, 486, "Busy Here", "live", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	f.req(101*time.Millisecond, phone, provider, "ACK", "live", 1, "z9hG4bK-1", "f1", "t1")
	var got []*Call
	a := New(Options{Settle: 2 * time.Second, OnCall: func(c *Call) { got = append(got, c) }})
	for _, m := range f.msgs {
		a.Add(m)
	}
	a.Flush(t0.Add(time.Second))
	if len(got) != 0 {
		t.Fatal("reported before Settle")
	}
	a.Flush(t0.Add(3 * time.Second))
	if len(got) != 1 || got[0].Outcome != OutcomeBusy {
		t.Fatalf("after Settle: %d calls", len(got))
	}
	late := f.msgs[0]
	late.Time, late.Frame = t0.Add(4*time.Second), 99
	a.Add(late) // a late retransmission of the INVITE
	a.Finish()
	if len(got) != 1 {
		t.Errorf("a late retransmission made a new call: %d calls", len(got))
	}

	// MaxOpenCalls: the oldest open calls are reported as they stand.
	got = nil
	b := New(Options{MaxOpenCalls: 10, OnCall: func(c *Call) { got = append(got, c) }})
	for i := 0; i < 25; i++ {
		var g flow
		g.frame = i
		g.req(time.Duration(i)*time.Second, phone, provider, "INVITE", fmt.Sprintf("open-%d", i), 1, fmt.Sprintf("z9hG4bK-%d", i), "f", "")
		b.Add(g.msgs[0])
	}
	if len(b.calls) > 10 {
		t.Errorf("%d calls open, limit 10", len(b.calls))
	}
	if len(got) < 15 || got[0].CallID != "open-0" {
		t.Errorf("oldest calls not reported first: %d reported", len(got))
	}
	b.FinishOldest(3)
	if len(got) < 18 {
		t.Errorf("FinishOldest(3) reported %d in all", len(got))
	}
}

// RFC 6076 metrics on a known mix: an answered call (ringing after 1 s),
// a busy one, a redirected one and a 503; one registration with a
// challenge.
func TestRFC6076Metrics(t *testing.T) {
	var f flow
	type c struct {
		id     string
		code   int
		reason string
	}
	for i, x := range []c{{"m1", 200, "OK"}, {"m2", 486, "Busy Here"}, {"m3", 302, "Moved Temporarily"}, {"m4", 503, "Service Unavailable"}} {
		at := time.Duration(i) * time.Minute
		br := "z9hG4bK-" + x.id
		f.req(at, phone, provider, "INVITE", x.id, 1, br, "f", "")
		if x.code == 200 {
			f.resp(at+time.Second, provider, phone, 180, "Ringing", x.id, 1, "INVITE", br, "f", "t")
		}
		f.resp(at+2*time.Second, provider, phone, x.code, x.reason, x.id, 1, "INVITE", br, "f", "t")
		if x.code == 200 {
			f.req(at+2*time.Second, phone, provider, "ACK", x.id, 1, br+"a", "f", "t")
			f.req(at+12*time.Second, phone, provider, "BYE", x.id, 2, br+"b", "f", "t")
			f.resp(at+12*time.Second+40*time.Millisecond, provider, phone, 200, "OK", x.id, 2, "BYE", br+"b", "f", "t")
		} else {
			f.req(at+2*time.Second, phone, provider, "ACK", x.id, 1, br, "f", "t")
		}
	}
	f.req(5*time.Minute, phone, provider, "REGISTER", "reg", 1, "z9hG4bK-r1", "f", "")
	f.resp(5*time.Minute+20*time.Millisecond, provider, phone, 401, "Unauthorized", "reg", 1, "REGISTER", "z9hG4bK-r1", "f", "t")
	f.req(5*time.Minute+30*time.Millisecond, phone, provider, "REGISTER", "reg", 2, "z9hG4bK-r2", "f", "", func(m *Message) { m.AuthNonce = "n" })
	f.resp(5*time.Minute+50*time.Millisecond, provider, phone, 200, "OK", "reg", 2, "REGISTER", "z9hG4bK-r2", "f", "t")
	r := run(t, f.msgs, Options{})
	m := r.Metrics.Overall
	pct := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	if m.Attempts != 4 || pct(m.SER) != 33.33 || pct(m.SEER) != 66.67 || pct(m.ISA) != 25 || pct(m.SCR) != 25 {
		t.Errorf("attempts %d SER %v SEER %v ISA %v SCR %v; want 4 33.33 66.67 25 25", m.Attempts, pct(m.SER), pct(m.SEER), pct(m.ISA), pct(m.SCR))
	}
	if m.SRD.Count != 1 || m.SRD.Median != 1000 {
		t.Errorf("SRD %+v, want one sample of 1000 ms (INVITE to 180)", m.SRD)
	}
	if m.SDT.Count != 1 || m.SDT.Median != 10000 || m.SDD.Count != 1 || m.SDD.Median != 40 {
		t.Errorf("SDT %+v SDD %+v, want 10 s and 40 ms", m.SDT, m.SDD)
	}
	if m.Registers != 1 || pct(m.IRA) != 0 || m.RRD.Count != 1 || m.RRD.Median != 50 {
		t.Errorf("registrations %d IRA %v RRD %+v; want 1, 0, 50 ms", m.Registers, pct(m.IRA), m.RRD)
	}
	if p, ok := r.Metrics.PerPeer[provider]; !ok || p.Attempts != 4 {
		t.Errorf("per peer: %+v", r.Metrics.PerPeer)
	}
}

// Two calls from phones on one address (as on loopback) with the same
// caller are not a B2BUA's legs.
func TestNoLinkBetweenCallsFromOneHost(t *testing.T) {
	var f flow
	f.req(0, "127.0.0.1:5061", "127.0.0.1:5062", "INVITE", "first", 1, "z9hG4bK-1", "f1", "")
	f.resp(10*time.Millisecond, "127.0.0.1:5062", "127.0.0.1:5061", 486, "Busy Here", "first", 1, "INVITE", "z9hG4bK-1", "f1", "t1")
	f.req(time.Second, "127.0.0.1:5063", "127.0.0.1:5064", "INVITE", "second", 1, "z9hG4bK-2", "f2", "")
	f.resp(time.Second+10*time.Millisecond, "127.0.0.1:5064", "127.0.0.1:5063", 200, "OK", "second", 1, "INVITE", "z9hG4bK-2", "f2", "t2")
	r := run(t, f.msgs, Options{})
	for _, c := range r.Calls {
		if c.LegOf != "" || len(c.Linked) > 0 {
			t.Errorf("%s linked to %v", c.CallID, c.Linked)
		}
	}
	if r.Metrics.Overall.Attempts != 2 {
		t.Errorf("attempts %d, want 2", r.Metrics.Overall.Attempts)
	}
}

// Every finding the code can report has its texts, and every text is used:
// a missing text would stop the analysis at run time.
func TestFindingIDsInCodeHaveTexts(t *testing.T) {
	texts, err := findingTexts()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	re := regexp.MustCompile(`(?:finding(?:With)?\(|finding: )"([a-z0-9-]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
		}
	}
	// The meanings of known wire phrases are findings too (catalog data).
	for _, w := range catalog.Default().WirePhrases() {
		used[w.Meaning] = true
	}
	for id := range used {
		if _, ok := texts[id]; !ok {
			t.Errorf("finding %q is reported in the code but has no text in data/findings.yaml", id)
		}
	}
	for id := range texts {
		if !used[id] {
			t.Errorf("finding %q has a text but is never reported", id)
		}
	}
}

// Every phrase the code refers to exists, and every phrase is used.
func TestPhraseIDsInCodeExist(t *testing.T) {
	ps := Phrases()
	used := map[string]bool{}
	re := regexp.MustCompile(`phrase\("([a-z0-9-]+)"|"(role-[a-z-]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			used[string(m[1])+string(m[2])] = true
		}
	}
	for id := range used {
		if _, ok := ps[id]; !ok {
			t.Errorf("phrase %q is used in the code but missing from data/phrases.yaml", id)
		}
	}
	texts := FindingTexts()
	for id := range ps {
		if fid, ok := strings.CutPrefix(id, "title-"); ok {
			if _, known := texts[fid]; !known {
				t.Errorf("phrase %q is the title of no finding", id)
			}
			continue
		}
		// Summaries rendered by the report package.
		if !used[id] && id != "call-answered" && id != "timer-f" {
			t.Errorf("phrase %q is never used", id)
		}
	}
	// Every finding has a title, so that no report shows an id.
	for id := range texts {
		if _, ok := ps["title-"+id]; !ok {
			t.Errorf("finding %q has no title: add title-%s to data/phrases.yaml", id, id)
		}
	}
}

// A call that is over on the wire is reported soon after it goes quiet,
// so that thousands of calls a second do not wait Timer B in memory: a
// clean one after 2×T1, one with retransmissions after 5 s; a call still
// in progress waits Settle. Late traffic of a reported call makes no new
// exchange.
func TestOverCallsAreReportedEarly(t *testing.T) {
	var f flow
	// Clean and over: 486 ACKed.
	f.req(0, phone, provider, "INVITE", "clean", 1, "z9hG4bK-c", "f1", "")
	f.resp(50*time.Millisecond, provider, phone, 486, "Busy Here", "clean", 1, "INVITE", "z9hG4bK-c", "f1", "t1")
	f.req(51*time.Millisecond, phone, provider, "ACK", "clean", 1, "z9hG4bK-c", "f1", "t1")
	// Over, but its INVITE was sent twice.
	f.req(0, phone, provider, "INVITE", "resent", 1, "z9hG4bK-r", "f2", "")
	f.req(500*time.Millisecond, phone, provider, "INVITE", "resent", 1, "z9hG4bK-r", "f2", "")
	f.resp(600*time.Millisecond, provider, phone, 404, "Not Found", "resent", 1, "INVITE", "z9hG4bK-r", "f2", "t2")
	f.req(601*time.Millisecond, phone, provider, "ACK", "resent", 1, "z9hG4bK-r", "f2", "t2")
	// Answered, no BYE yet: in progress.
	f.req(0, phone, provider, "INVITE", "talking", 1, "z9hG4bK-t", "f3", "")
	f.resp(50*time.Millisecond, provider, phone, 200, "OK", "talking", 1, "INVITE", "z9hG4bK-t", "f3", "t3")
	f.req(60*time.Millisecond, phone, provider, "ACK", "talking", 1, "z9hG4bK-ta", "f3", "t3")
	// Failed but not ACKed: not over, waits Settle.
	f.req(0, phone, provider, "INVITE", "unacked", 1, "z9hG4bK-u", "f4", "")
	f.resp(50*time.Millisecond, provider, phone, 503, "Service Unavailable", "unacked", 1, "INVITE", "z9hG4bK-u", "f4", "t4")
	sort.SliceStable(f.msgs, func(i, j int) bool { return f.msgs[i].Time.Before(f.msgs[j].Time) })
	var got []string
	a := New(Options{OnCall: func(c *Call) { got = append(got, c.CallID) }})
	for _, m := range f.msgs {
		a.Add(m)
	}
	a.Flush(t0.Add(900 * time.Millisecond))
	if len(got) != 0 {
		t.Fatalf("reported before 2×T1 of quiet: %v", got)
	}
	a.Flush(t0.Add(1200 * time.Millisecond))
	if !reflect.DeepEqual(got, []string{"clean"}) {
		t.Fatalf("after 2×T1: %v, want the clean call", got)
	}
	late := f.msgs[2] // the clean call's ACK, again
	late.Time, late.Frame = t0.Add(1300*time.Millisecond), 99
	a.Add(late)
	a.Flush(t0.Add(6 * time.Second))
	if !reflect.DeepEqual(got, []string{"clean", "resent"}) {
		t.Fatalf("after 5 s: %v, want the call with retransmissions too", got)
	}
	a.Flush(t0.Add(31 * time.Second))
	if len(got) != 2 {
		t.Fatalf("a call not over was reported before Settle: %v", got)
	}
	rep := a.Finish()
	if len(got) != 4 || len(rep.Dialogs) != 0 {
		t.Errorf("at the end: calls %v, %d other exchanges (the late ACK must make none)", got, len(rep.Dialogs))
	}
}

// The generations' tables and the filter in front of them change no
// answer: the same puts, gets and rotations (by time and by size) as two
// plain maps give, over more fingerprints than turn the filter on, with
// fingerprints that share their low bits and the fingerprint 0.
func TestGenerationsFilter(t *testing.T) {
	g := newGenerations[int64]()
	ref := struct{ cur, prev map[fingerprint]int64 }{map[fingerprint]int64{}, map[fingerprint]int64{}}
	refGet := func(k fingerprint) (int64, bool) {
		if v, ok := ref.cur[k]; ok {
			return v, true
		}
		v, ok := ref.prev[k]
		return v, ok
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Unix(1_700_000_000, 0)
	var keys []fingerprint
	for i := range 600_000 {
		now := start.Add(time.Duration(i) * 100 * time.Microsecond)
		var k fingerprint
		switch {
		case len(keys) > 0 && rng.IntN(3) == 0:
			k = keys[rng.IntN(len(keys))] // seen before, maybe long ago
		case len(keys) > 0 && rng.IntN(10) == 0:
			// The low bits of one seen before: the tables probe past it.
			k = keys[rng.IntN(len(keys))] ^ fingerprint(rng.Uint64()<<24)
			keys = append(keys, k)
		case i%50_000 == 7:
			k = 0 // no slot can hold it
			keys = append(keys, k)
		default:
			k = fingerprint(rng.Uint64())
			keys = append(keys, k)
		}
		got, gok := g.get(k)
		want, wok := refGet(k)
		if got != want || gok != wok {
			t.Fatalf("step %d: get = %v %v, want %v %v", i, got, gok, want, wok)
		}
		if len(ref.cur) >= maxOpenItems/2 {
			ref.prev, ref.cur = ref.cur, map[fingerprint]int64{}
		}
		ref.cur[k] = int64(i)
		g.put(k, int64(i))
		if i%1000 == 0 {
			before := g.since
			g.age(now)
			if !before.IsZero() && g.since != before {
				ref.prev, ref.cur = ref.cur, map[fingerprint]int64{}
			}
		}
	}
	if g.curBits == nil || g.early == 0 {
		t.Errorf("the filter was not on (%v) or no generation ended full (%d)", g.curBits != nil, g.early)
	}
}
