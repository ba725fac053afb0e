package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

// hepReport is a HEP3 packet carrying an agent's report of payload type
// ptype (chunk 0x000b), with the Call-ID as correlation id (chunk 0x0011)
// unless callID is empty: hepagent puts the Call-ID in the JSON only.
func hepReport(ptype byte, src, dst netip.AddrPort, t time.Time, callID string, payload []byte) []byte {
	b := []byte{'H', 'E', 'P', '3', 0, 0}
	chunk := func(typ uint16, v ...byte) {
		b = binary.BigEndian.AppendUint16(b, 0)
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(6+len(v)))
		b = append(b, v...)
	}
	s, d := src.Addr().As4(), dst.Addr().As4()
	chunk(0x0001, 2)
	chunk(0x0002, 17)
	chunk(0x0003, s[:]...)
	chunk(0x0004, d[:]...)
	chunk(0x0007, byte(src.Port()>>8), byte(src.Port()))
	chunk(0x0008, byte(dst.Port()>>8), byte(dst.Port()))
	chunk(0x0009, binary.BigEndian.AppendUint32(nil, uint32(t.Unix()))...)
	chunk(0x000a, binary.BigEndian.AppendUint32(nil, uint32(t.Nanosecond()/1000))...)
	chunk(0x000b, ptype)
	chunk(0x000c, 0, 0, 0, 1)
	chunk(0x000f, payload...)
	if callID != "" {
		chunk(0x0011, []byte(callID)...)
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	return b
}

// rtpAgentReport is a full RTP report (HEP type 34) in the form of QXIP's
// rtpagent, as sipcapture's hepgen.js example and hep-js's report
// generators write it: upper-case names, the stream's figures so far.
func rtpAgentReport(callID string, src, dst netip.AddrPort, packets, lost int, meanJitter, mos float64, typ string) []byte {
	return fmt.Appendf(nil, `{"CORRELATION_ID":"%s","RTP_SIP_CALL_ID":"%s","DELTA":19.98,"JITTER":%.3f,"REPORT_TS":1772528400,"TL_BYTE":0,`+
		`"SKEW":0.000,"TOTAL_PK":%d,"EXPECTED_PK":%d,"PACKET_LOSS":%d,"SEQ":0,"MAX_JITTER":%.3f,"MAX_DELTA":40.5,"MAX_SKEW":0.172,`+
		`"MEAN_JITTER":%.3f,"MIN_MOS":%.3f, "MEAN_MOS":%.3f, "MOS":%.3f,"RFACTOR":80.2,"MIN_RFACTOR":80.2,"MEAN_RFACTOR":80.2,`+
		`"SRC_IP":"%s", "SRC_PORT":%d, "DST_IP":"%s","DST_PORT":%d,"SRC_MAC":"00-30-48-7E-5D-C6","DST_MAC":"00-12-80-D7-38-5E",`+
		`"OUT_ORDER":0,"SSRC_CHG":0,"CODEC_PT":8, "CLOCK":8000,"CODEC_NAME":"PCMA", "DIR":0, "REPORT_NAME":"%s", "PARTY":0, "TYPE":"%s"}`,
		callID, callID, meanJitter, packets, packets+lost, lost, 2*meanJitter, meanJitter, mos, mos, mos,
		src.Addr(), src.Port(), dst.Addr(), dst.Port(), src, typ)
}

// hepagentShort is the pair of short reports on one stream (HEP types 35
// and 37) that QXIP's gossipper HEP client sends for hepagent-go (its
// rtpShortReport and rtcpShortReport): the packet count so far and the
// loss RTCP gave, the SSRC in hex, the Call-ID in the JSON and not in the
// HEP correlation chunk.
func hepagentShort(callID string, ssrc uint32, src, dst netip.AddrPort, packets, lost int) (rtpRep, rtcpRep []byte) {
	rtpRep = fmt.Appendf(nil, `{"CORRELATION_ID":"%s","RTP_SIP_CALL_ID":"%s","SSRC":"0x%x","PACKET_COUNT":%d,"OCTET_COUNT":%d,`+
		`"REPORT_NAME":"%s-%d","SOURCE":"GOSSIPPER","TYPE":"PERIODIC","REPORT_TS":1772528400000,"SRC_IP":"%s","SRC_PORT":%d,`+
		`"DST_IP":"%s","DST_PORT":%d,"RTP_TS":12000,"CODEC_PT":0,"CLOCK":8000,"CODEC_NAME":"PCMU/8000"}`,
		callID, callID, ssrc, packets, packets*160, src.Addr(), src.Port(), src.Addr(), src.Port(), dst.Addr(), dst.Port())
	rtcpRep = fmt.Appendf(nil, `{"CORRELATION_ID":"%s","RTP_SIP_CALL_ID":"%s","SSRC":"0x%x","CUM_PACKET_LOSS":%d,`+
		`"REPORT_NAME":"%s-%d","SOURCE":"GOSSIPPER","TYPE":"PERIODIC","REPORT_TS":1772528400000,"SRC_IP":"%s","SRC_PORT":%d,`+
		`"DST_IP":"%s","DST_PORT":%d,"CODEC_PT":0,"CLOCK":8000,"CODEC_NAME":"PCMU/8000"}`,
		callID, callID, ssrc, lost, src.Addr(), src.Port(), src.Addr(), src.Port(), dst.Addr(), dst.Port())
	return rtpRep, rtcpRep
}

// TestHEPQoSReportsAttached sends calls to the collector by HEP over
// loopback UDP with the RTP statistics reports agents send about them:
//   - rtpagent's full reports (type 34): the caller's audio reaches the
//     called side, nothing comes back (0 packets): one way, with the
//     finding and the side;
//   - hepagent's short reports (types 35 and 37), Call-ID in the JSON only,
//     media from a media server whose address is not the signalling one:
//     audio both ways, 2 % loss one way, with the MOS estimated;
//   - the same agent reporting zero packets both ways: no audio.
//
// The stored calls carry the streams, verdicts and findings; the call page
// shows them in English and Dutch; the audio-problem search finds the
// one-way and silent calls only.
func TestHEPQoSReportsAttached(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond, TimeTolerance: -1})
	base := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	caller := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 4000)
	}
	callee := netip.MustParseAddrPort("10.0.0.1:30000")
	mediaServer := netip.MustParseAddrPort("10.0.0.9:31000")
	agent := netip.MustParseAddrPort("10.9.9.9:9060")
	at := base.Add(10 * time.Second)

	oneWay := synth.Call(1, base, synth.CallOptions{CallID: "agent-oneway@sipcause.test"})
	rep1 := [][]byte{
		hepReport(34, caller(1), callee, at, "agent-oneway@sipcause.test", rtpAgentReport("agent-oneway@sipcause.test", caller(1), callee, 400, 0, 0.2, 4.4, "PERIODIC")),
		hepReport(34, caller(1), callee, at.Add(time.Second), "agent-oneway@sipcause.test", rtpAgentReport("agent-oneway@sipcause.test", caller(1), callee, 450, 0, 0.2, 4.38, "PERIODIC")),
		hepReport(34, callee, caller(1), at, "agent-oneway@sipcause.test", rtpAgentReport("agent-oneway@sipcause.test", callee, caller(1), 0, 0, 0, 0, "PERIODIC")),
	}
	both := synth.Call(2, base, synth.CallOptions{CallID: "agent-both@sipcause.test"})
	upRTP, upRTCP := hepagentShort("agent-both@sipcause.test", 0x1111, caller(2), mediaServer, 1000, 0)
	downRTP, downRTCP := hepagentShort("agent-both@sipcause.test", 0x2222, mediaServer, caller(2), 980, 20)
	rep2 := [][]byte{
		hepReport(35, agent, agent, at, "", upRTP), hepReport(37, agent, agent, at, "", upRTCP),
		hepReport(35, agent, agent, at, "", downRTP), hepReport(37, agent, agent, at, "", downRTCP),
	}
	silent := synth.Call(3, base, synth.CallOptions{CallID: "agent-silent@sipcause.test"})
	upRTP, _ = hepagentShort("agent-silent@sipcause.test", 0x3333, caller(3), callee, 0, 0)
	downRTP, _ = hepagentShort("agent-silent@sipcause.test", 0x4444, callee, caller(3), 0, 0)
	rep3 := [][]byte{hepReport(35, agent, agent, at, "", upRTP), hepReport(35, agent, agent, at, "", downRTP)}

	pkts := append(append(withRTCP(oneWay, rep1), withRTCP(both, rep2)...), withRTCP(silent, rep3)...)
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	if got := r.m.Snapshot().QoS; got != 9 {
		t.Errorf("%d RTP statistics reports decoded; want 9", got)
	}
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	get := func(id string) *store.CallRecord {
		t.Helper()
		cr, err := st.GetCall(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}

	c := get("agent-oneway@sipcause.test").Call
	if c.Audio == nil || c.Audio.Verdict != "one_way" || c.Audio.Direction != "caller_to_callee" || c.Audio.MOS == nil || *c.Audio.MOS != 4.4 {
		t.Fatalf("one-way call's audio = %+v; want one_way caller_to_callee, MOS 4.4", c.Audio)
	}
	if len(c.Media) != 2 || c.Media[0].Found != "agent" || c.Media[0].Packets != 450 || c.Media[0].Codec != "PCMA" ||
		c.Media[0].Src != "10.1.0.1:4000" || c.Media[0].Dst != "10.0.0.1:30000" || c.Media[1].Packets != 0 || c.Media[1].Direction != "callee_to_caller" {
		t.Errorf("one-way call's streams: %+v", c.Media)
	}
	// The called side sent nothing as far as the agent saw: the cause is
	// on its side (the caller is this collector's user: an outgoing call).
	if len(c.Findings) == 0 || c.Findings[0].ID != "media-report-one-way" || c.Findings[0].Fault != c.Fault || c.Fault == "" || c.Fault == "none" {
		t.Fatalf("one-way call's findings %+v, fault %q", c.Findings, c.Fault)
	}
	wantFault := map[string]string{"outgoing": "remote", "incoming": "local"}[c.Direction]
	if wantFault != "" && c.Fault != wantFault {
		t.Errorf("one-way %s call: fault %q; want %q", c.Direction, c.Fault, wantFault)
	}

	c = get("agent-both@sipcause.test").Call
	if c.Audio == nil || c.Audio.Verdict != "both" || c.Audio.MOS == nil || c.Audio.WorstDirection != "callee_to_caller" ||
		c.Audio.WorstLossPercent == nil || *c.Audio.WorstLossPercent != 2 || *c.Audio.MOS >= 4.4 || *c.Audio.MOS < 3 {
		t.Fatalf("two-way call's audio = %+v; want both, the worst the 2 %% loss direction", c.Audio)
	}
	for _, m := range c.Media {
		if m.SSRC == 0x2222 && (m.Lost != 20 || m.Packets != 980 || m.Direction != "callee_to_caller" || m.Src != "10.0.0.9:31000") {
			t.Errorf("media server's stream = %+v", m)
		}
		// hepagent's "PCMU/8000" for payload type 0: the RFC 3551 name.
		if m.Codec != "PCMU" || m.ClockRate != 8000 || m.PayloadType != 0 {
			t.Errorf("stream %x: codec %q/%d, payload type %d", m.SSRC, m.Codec, m.ClockRate, m.PayloadType)
		}
	}
	for _, f := range c.Findings {
		if strings.HasPrefix(f.ID, "media-report") {
			t.Errorf("two-way call has %s", f.ID)
		}
	}

	c = get("agent-silent@sipcause.test").Call
	if c.Audio == nil || c.Audio.Verdict != "none" || len(c.Findings) == 0 || c.Findings[0].ID != "media-report-none" || c.Findings[0].Fault != "network" {
		t.Fatalf("silent call's audio = %+v, findings %+v", c.Audio, c.Findings)
	}

	got, err := st.SearchCalls(context.Background(), store.Query{Audio: store.AudioProblem})
	if err != nil || len(got) != 2 {
		t.Fatalf("audio-problem search: %+v (%v)", got, err)
	}
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English, Location: time.UTC}, st, NewMetrics()))
	defer ts.Close()
	page := func(path string) string {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, tc := range []struct{ lang, title, found, side string }{
		{"en", "One-way audio, by the reports the capture agents sent", "agent&#39;s RTP statistics", "no packets that way"},
		{"nl", "Geluid in één richting, volgens de rapporten die de opname-agents", "RTP-statistieken van de agent", "in die richting geen pakketten"},
	} {
		body := page("/calls/agent-oneway@sipcause.test?lang=" + tc.lang)
		for _, want := range []string{tc.title, tc.found, tc.side, "PCMA", "<td>450</td>", "10.1.0.1:4000 → 10.0.0.1:30000"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s call page lacks %q", tc.lang, want)
			}
		}
	}
	if body := page("/calls/agent-both@sipcause.test?lang=nl"); !strings.Contains(body, "<td>2,0</td>") || !strings.Contains(body, "<td>20</td>") {
		t.Error("Dutch call page lacks the media server stream's 2,0 % loss and 20 lost")
	}

	// The dashboard draws MOS and one-way calls over time from the stored
	// calls: the two calls with a MOS (4.4 and the two-way call's) make the
	// mean and the worst, the one-way call a bar.
	ab, err := st.AudioTimeline(context.Background(), base.Add(-time.Hour), base.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	worst := *get("agent-both@sipcause.test").Call.Audio.MOS
	if b := ab[1]; b.Calls != 2 || b.OneWay != 1 || b.WorstMOS != worst || b.MeanMOS != (4.4+worst)/2 {
		t.Errorf("audio timeline %+v; want 2 calls, one one-way, worst %.1f", ab, worst)
	}
	for _, tc := range []struct{ lang, title, mean, worst, oneWay string }{
		{"en", "MOS over time", "mean MOS", "worst call", "Calls with one-way audio"},
		{"nl", "MOS in de tijd", "gemiddelde MOS", "slechtste gesprek", "Gesprekken met geluid in één richting"},
	} {
		dash := page("/dashboard?range=24h&lang=" + tc.lang)
		i, j := strings.Index(dash, `id="chart-mos"`), strings.Index(dash, `id="chart-one-way"`)
		if i < 0 || j < 0 {
			t.Errorf("%s dashboard without the MOS or one-way chart", tc.lang)
			continue
		}
		mos, oneWay := dash[i:j], dash[j:]
		for _, want := range []string{tc.title, tc.mean, tc.worst, `class="line mos-mean"`, `class="line mos-worst"`} {
			if !strings.Contains(mos, want) {
				t.Errorf("%s MOS chart lacks %q", tc.lang, want)
			}
		}
		if strings.Count(mos, `<circle class="dot mos-`) != 2 {
			t.Errorf("%s MOS chart: %d dots; want one per line in the one bucket with calls", tc.lang, strings.Count(mos, `<circle class="dot mos-`))
		}
		if !strings.Contains(oneWay, tc.oneWay) || !strings.Contains(oneWay, `class="bar s3"`) || !strings.Contains(oneWay, ": 1</title>") {
			t.Errorf("%s one-way chart: %.800s", tc.lang, oneWay)
		}
	}
}

// TestHEPQoSReportsHostile: reports that name no call, garbage, absurd
// figures and a flood of streams for one call are dropped, counted, or
// cut to the per-call bound.
func TestHEPQoSReportsHostile(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, TimeTolerance: -1})
	base := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	a, b := netip.MustParseAddrPort("10.1.0.3:4000"), netip.MustParseAddrPort("10.0.0.1:4000")
	at := base.Add(5 * time.Second)
	id := "qos-hostile@sipcause.test"
	reports := [][]byte{
		hepReport(34, a, b, at, "", []byte(`{"TOTAL_PK":10}`)),                                        // no call named anywhere
		hepReport(34, a, b, at, "", []byte(`{"CORRELATION_ID":"nobody@sipcause.test","TOTAL_PK":1}`)), // no such call
		hepReport(34, a, b, at, id, []byte(`{"TOTAL_PK":`)),                                           // truncated
		hepReport(35, a, b, at, id, []byte(strings.Repeat(" ", 9000)+"{}")),                           // too large
		hepReport(36, a, b, at, id, []byte(`{"CODEC_NAME":"x"}`)),                                     // no figures
		hepReport(37, a, b, at, id, []byte(`{"MOS":"NaN","TOTAL_PK":3}`)),                             // not a number
	}
	for i := range 100 {
		src := netip.AddrPortFrom(a.Addr(), uint16(5000+i))
		rep := fmt.Appendf(nil, `{"TOTAL_PK":1e300,"EXPECTED_PK":-4,"PACKET_LOSS":99999999999,"MAX_JITTER":1e99,"MEAN_JITTER":"-1",`+
			`"MOS":77,"MIN_MOS":-1,"CODEC_NAME":"<b>x</b>","CODEC_PT":999,"SRC_IP":"%s","SRC_PORT":%d,"DST_IP":"%s","DST_PORT":%d}`,
			src.Addr(), src.Port(), b.Addr(), b.Port())
		reports = append(reports, hepReport(34, src, b, at, id, rep))
	}
	pkts := withRTCP(synth.Call(3, base, synth.CallOptions{CallID: id}), reports)
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	s := r.m.Snapshot()
	if s.QoS != 101 || s.Malformed != 4 || s.NonSIP != 1 {
		t.Errorf("decoded %d reports, %d malformed, %d without a call; want 101, 4, 1", s.QoS, s.Malformed, s.NonSIP)
	}
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetCall(context.Background(), "nobody@sipcause.test"); err == nil {
		t.Error("a report for a call nobody opened made a call")
	}
	cr, err := st.GetCall(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cr.Call.Media); n != 8 {
		t.Fatalf("%d streams kept; want the bound, 8", n)
	}
	for _, m := range cr.Call.Media {
		if m.MOS < 0 || m.MOS > 5 || m.MaxJitterMS > 10000 || m.LossPercent > 100 || m.Codec != "bx" || m.PayloadType != -1 || m.Packets < 0 || m.Lost < 0 {
			t.Errorf("stream %s: unclamped figures %+v", m.Src, m)
		}
	}
}
