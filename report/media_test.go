package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

func f64(v float64) *float64 { return &v }

func TestAudioText(t *testing.T) {
	for _, tc := range []struct {
		a    analyze.Audio
		lang catalog.Lang
		want string
	}{
		{analyze.Audio{Verdict: "both", MOS: f64(4.4)}, catalog.English, "both directions, MOS 4.4"},
		{analyze.Audio{Verdict: "both", MOS: f64(4.4)}, catalog.Dutch, "in beide richtingen, MOS 4,4"},
		{analyze.Audio{Verdict: "one_way", Direction: "callee_to_caller", MOS: f64(4.3)}, catalog.English, "one way only, from the called party to the caller, MOS 4.3"},
		{analyze.Audio{Verdict: "none"}, catalog.Dutch, "in geen van beide richtingen"},
		{analyze.Audio{Verdict: "not_captured"}, catalog.English, "no RTP in the input (only the signalling was read)"},
	} {
		if got := AudioText(&tc.a, tc.lang); got != tc.want {
			t.Errorf("%+v %s: %q, want %q", tc.a, tc.lang, got, tc.want)
		}
	}
}

// mediaCall is an answered call with two streams, one with loss in its
// timeline, and a hostile SSRC-free field (the codec comes from SDP).
func mediaCall() *analyze.Report {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ans := t0.Add(time.Second)
	c := &analyze.Call{CallID: "c1", Caller: "alice", Callee: "bob", Start: t0, End: t0.Add(time.Minute), Outcome: analyze.OutcomeAnswered,
		FinalStatus: 200, Reason: "OK", Fault: "none", Direction: "outgoing", Times: analyze.CallTimes{Invite: t0, Answer: &ans},
		Findings: []analyze.Finding{}, Frames: []int{1, 2},
		Messages: []analyze.Exchange{{Frame: 1, Time: t0, Src: "10.0.0.1:5060", Dst: "192.0.2.1:5060", Label: "INVITE (SDP)"},
			{Frame: 2, Time: ans, Src: "192.0.2.1:5060", Dst: "10.0.0.1:5060", Label: "200 OK (SDP)"}},
		Audio: &analyze.Audio{Verdict: "both", MOS: f64(3.9)},
		Media: []*analyze.MediaStream{
			{Number: 1, CallID: "c1", Src: "10.0.0.1:4000", Dst: "192.0.2.1:5000", Direction: "caller_to_callee", SSRC: 0xabc, Codec: "<b>PCMA</b>",
				Packets: 2990, Lost: 10, LossPercent: 0.333, MaxJitterMS: 12.5, MOS: 3.9, Start: ans, FirstFrame: 3, BucketMS: 1000,
				Timeline: []analyze.Bucket{{Packets: 50}, {Packets: 40, Lost: 10, MaxJitterMS: 12.5}, {Packets: 50, MaxJitterMS: 2}}},
			{Number: 2, CallID: "c1", Src: "192.0.2.1:5000", Dst: "10.0.0.1:4000", Direction: "callee_to_caller", SSRC: 0xdef, Codec: "PCMA",
				Packets: 3000, MOS: 4.4, Start: ans, FirstFrame: 4, BucketMS: 1000, Timeline: []analyze.Bucket{{Packets: 50}}},
		},
	}
	return &analyze.Report{SchemaVersion: analyze.SchemaVersion, Calls: []*analyze.Call{c}, Media: c.Media}
}

// The HTML page has the stream table with a chart per stream; what came
// from the capture is escaped.
func TestHTMLStreams(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, mediaCall(), catalog.English); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<table class="media">`, "caller → called", "0x00000ABC", "10 (0.3 %)", "12.5 ms", `<rect class="lost"`, `<polyline class="jit"`, "&lt;b&gt;PCMA&lt;/b&gt;", "both directions, MOS 3.9"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>PCMA</b>") {
		t.Error("codec name not escaped")
	}
}

// flow draws one double arrow per RTP direction, where it began.
func TestFlowMediaArrows(t *testing.T) {
	var b bytes.Buffer
	if err := Flow(&b, mediaCall().Calls[0], FlowOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "═>") != 1 || strings.Count(out, "<═") != 1 || !strings.Contains(out, "RTP 2990 pkts, 10 lost, MOS 3.9") {
		t.Errorf("flow:\n%s", out)
	}
}
