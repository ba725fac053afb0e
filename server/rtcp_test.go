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

// hepRTCP is a HEP3 packet as heplify sends an RTCP report: payload type 5
// (chunk 0x000b) and the SIP Call-ID as correlation id (chunk 0x0011),
// with the report as JSON text or as the binary packet.
func hepRTCP(src, dst netip.AddrPort, t time.Time, callID string, payload []byte) []byte {
	return hepReport(5, src, dst, t, callID, payload)
}

// heplifyJSON writes an RTCP report the way heplify's JSON does: an SR
// (sender_information with packets) when packets > 0, else an RR, with at
// most one report block about the other side's stream.
func heplifyJSON(ssrc uint32, packets uint32, ntpSec, ntpFrac uint32, block string) []byte {
	typ := 201
	if packets > 0 {
		typ = 200
	}
	blocks := "[]"
	if block != "" {
		blocks = "[" + block + "]"
	}
	return fmt.Appendf(nil, `{"sender_information":{"ntp_timestamp_sec":%d,"ntp_timestamp_usec":%d,"rtp_timestamp":0,"packets":%d,"octets":%d},`+
		`"ssrc":%d,"type":%d,"report_count":0,"report_blocks":%s,"report_blocks_xr":{"type":0,"id":0,"fraction_lost":0,"fraction_discard":0,`+
		`"burst_density":0,"gap_density":0,"burst_duration":0,"gap_duration":0,"round_trip_delay":0,"end_system_delay":0},"sdes_ssrc":%d}`,
		ntpSec, ntpFrac, packets, packets*160, ssrc, typ, blocks, ssrc)
}

// binarySR is a compound RTCP packet (RFC 3550 §6.4.1): an SR with one
// report block.
func binarySR(ssrc, packets, about uint32, fraction uint8, lost, jitter uint32) []byte {
	b := []byte{0x81, 200, 0, 12}
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = binary.BigEndian.AppendUint64(b, 0xe000000000000000)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, packets)
	b = binary.BigEndian.AppendUint32(b, packets*160)
	b = binary.BigEndian.AppendUint32(b, about)
	b = binary.BigEndian.AppendUint32(b, uint32(fraction)<<24|lost&0xffffff)
	b = binary.BigEndian.AppendUint32(b, 1500)
	b = binary.BigEndian.AppendUint32(b, jitter)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	return b
}

// withRTCP inserts RTCP packets into a synthetic call before its BYE, so
// that they arrive while the call is open, as an agent sends them.
func withRTCP(call []synth.Packet, rtcp [][]byte) [][]byte {
	pk := hepOf(call)
	var out [][]byte
	for i, p := range pk {
		if i == len(pk)-2 { // the BYE
			out = append(out, rtcp...)
		}
		out = append(out, p)
	}
	return out
}

// TestHEPRTCPAttached sends two calls to the collector by HEP over
// loopback UDP, each with the RTCP reports of its two phones as HEP type
// 5: one call whose caller hears nothing (its reports name no stream while
// the called side reports sending), in heplify's JSON; one with audio both
// ways, in binary RTCP. The stored calls carry the reports' figures and
// the audio verdict, and only the first is found by the audio-problem
// search.
func TestHEPRTCPAttached(t *testing.T) {
	// The calls keep their own (past) times: the analyzer's clock follows
	// them, and the settle time passes on the wall clock.
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond, TimeTolerance: -1})
	base := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	caller := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 4001)
	}
	callee := netip.MustParseAddrPort("10.0.0.1:4001")

	oneWay := synth.Call(1, base, synth.CallOptions{CallID: "oneway@sipcause.test"})
	at := base.Add(10 * time.Second)
	// The called side's SR: 1500 packets sent, and a block about the
	// caller's stream: 12/256 lost, 30 lost in all, jitter 160 units (20 ms).
	block := `{"source_ssrc":43981,"fraction_lost":12,"packets_lost":30,"highest_seq_no":1530,"ia_jitter":160,"lsr":0,"dlsr":0}`
	reports := [][]byte{
		hepRTCP(caller(1), callee, at, "oneway@sipcause.test", heplifyJSON(43981, 1500, 3900000000, 0, "")),
		hepRTCP(callee, caller(1), at.Add(time.Second), "oneway@sipcause.test", heplifyJSON(4660, 1500, 3900000001, 0, block)),
	}
	good := synth.Call(2, base, synth.CallOptions{CallID: "both@sipcause.test"})
	reports2 := [][]byte{
		hepRTCP(caller(2), callee, at, "both@sipcause.test", binarySR(1111, 1500, 2222, 0, 0, 40)),
		hepRTCP(callee, caller(2), at.Add(time.Second), "both@sipcause.test", binarySR(2222, 1500, 1111, 2, 3, 80)),
	}
	pkts := append(withRTCP(oneWay, reports), withRTCP(good, reports2)...)
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	// A clean stop reports the calls as they stand (both ended with a BYE)
	// and writes them; the database is then read as the web UI reads it.
	r.stop(t)
	if got := r.m.Snapshot().RTCP; got != 4 {
		t.Errorf("%d RTCP reports decoded; want 4", got)
	}
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	cr, err := st.GetCall(context.Background(), "oneway@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	c := cr.Call
	if c.Audio == nil || c.Audio.Verdict != "one_way" || c.Audio.Direction != "caller_to_callee" {
		t.Fatalf("one-way call's audio = %+v; want one_way caller_to_callee", c.Audio)
	}
	// RTCP-only one-way audio has its finding: the called side sent (its
	// SR counted 1500 packets), the caller received nothing, so the cause
	// lies on the caller's side of the path when the caller is the user.
	if len(c.Findings) == 0 || c.Findings[0].ID != "media-report-one-way" || c.Fault != c.Findings[0].Fault {
		t.Fatalf("one-way call's findings %+v, fault %q; want media-report-one-way first", c.Findings, c.Fault)
	}
	if want := map[string]string{"outgoing": "local", "incoming": "remote", "transit": "network"}[c.Direction]; want != "" && c.Fault != want {
		t.Errorf("one-way %s call: fault %q; want %q", c.Direction, c.Fault, want)
	}
	var got bool
	for _, m := range c.Media {
		if m.SSRC != 43981 {
			continue
		}
		got = true
		if m.Found != "rtcp" || m.RTCP == nil || m.RTCP.CumulativeLost != 30 || m.RTCP.JitterMS != 20 || m.RTCP.FractionLost != 4.688 {
			t.Errorf("caller's stream = %+v rtcp %+v; want 30 lost, 20 ms jitter, 4.688 %% in the last report", m, m.RTCP)
		}
		if m.Src != "10.1.0.1:4001" || m.Dst != "10.0.0.1:4001" || m.Packets != 1500 {
			t.Errorf("caller's stream from %s to %s with %d packets", m.Src, m.Dst, m.Packets)
		}
	}
	if !got {
		t.Errorf("no stream for the caller's SSRC in %+v", c.Media)
	}

	cr, err = st.GetCall(context.Background(), "both@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	if a := cr.Call.Audio; a == nil || a.Verdict != "both" || a.MOS == nil || *a.MOS < 4 || a.Problem() {
		t.Errorf("two-way call's audio = %+v; want both with a good MOS", a)
	}
	if len(cr.Call.Media) != 2 {
		t.Errorf("two-way call has %d streams; want 2", len(cr.Call.Media))
	}

	// The search: the store, the API and the calls page find the one-way
	// call, and only it, as an audio problem; the call page shows the
	// reports' figures in the reader's language.
	got2, err := st.SearchCalls(context.Background(), store.Query{Audio: store.AudioProblem})
	if err != nil || len(got2) != 1 || got2[0].CallID != "oneway@sipcause.test" {
		t.Fatalf("audio-problem search: %+v (%v)", got2, err)
	}
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English, Location: time.UTC}, st, NewMetrics()))
	defer ts.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/api/v1/calls?audio=problem"); code != 200 || !strings.Contains(body, "oneway@sipcause.test") || strings.Contains(body, "both@sipcause.test") {
		t.Errorf("API audio=problem: %d %s", code, body)
	}
	if code, body := get("/api/v1/calls?audio=ok"); code != 200 || !strings.Contains(body, "both@sipcause.test") || strings.Contains(body, "oneway@sipcause.test") {
		t.Errorf("API audio=ok: %d %s", code, body)
	}
	if code, _ := get("/api/v1/calls?audio=loud"); code != http.StatusBadRequest {
		t.Errorf("API audio=loud: %d; want 400", code)
	}
	if _, body := get("/calls?audio=problem"); !strings.Contains(body, "oneway@sipcause.test") || strings.Contains(body, "both@sipcause.test") {
		t.Errorf("calls page audio=problem lists the wrong calls")
	}
	// The dashboard counts calls by their audio verdict.
	_, dash := get("/dashboard?lang=en")
	if i := strings.Index(dash, `id="chart-by-audio"`); i < 0 {
		t.Error("the dashboard has no audio chart")
	} else if sec := dash[i:]; !strings.Contains(sec, "Calls by audio") || !strings.Contains(sec, "a problem (one way") || !strings.Contains(sec, "</span> good</span>") {
		t.Errorf("audio chart without its title or legend: %.600s", sec)
	}
	for _, tc := range []struct{ lang, audio, dir, loss, why string }{
		{"en", "one way only", "caller → called party", "<td>4.7</td>", "sender reports counted 1500 packets sent"},
		{"nl", "maar in één richting", "beller → gebelde", "<td>4,7</td>", "zendrapporten van die kant tellen 1500 verzonden pakketten"},
	} {
		_, body := get("/calls/oneway@sipcause.test?lang=" + tc.lang)
		for _, want := range []string{tc.audio, tc.dir, tc.loss, "<td>30</td>", "<td>20", "0x0000abcd", tc.why} {
			if !strings.Contains(body, want) {
				t.Errorf("%s call page lacks %q", tc.lang, want)
			}
		}
	}
}

// TestHEPRTCPHostile: RTCP reports that name no call, a call nobody
// opened, or garbage are dropped and counted; a sender that reports on a
// hundred SSRCs with absurd figures for an open call leaves no more than
// the per-call stream bound, with jitter and loss clamped.
func TestHEPRTCPHostile(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, TimeTolerance: -1})
	base := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	a, b := netip.MustParseAddrPort("10.1.0.3:4001"), netip.MustParseAddrPort("10.0.0.1:4001")
	at := base.Add(5 * time.Second)
	var reports [][]byte
	reports = append(reports,
		hepRTCP(a, b, at, "", heplifyJSON(1, 10, 1, 0, "")),                                 // no correlation id
		hepRTCP(a, b, at, "nobody@sipcause.test", heplifyJSON(1, 10, 1, 0, "")),             // no such call: ignored by the analyzer
		hepRTCP(a, b, at, "hostile@sipcause.test", []byte(`{"ssrc":1,"type":201,"report_`)), // truncated JSON
		hepRTCP(a, b, at, "hostile@sipcause.test", []byte{0x81, 201, 0xff, 0xff, 1, 2}),     // binary, length beyond the packet
	)
	for i := range 100 {
		blk := fmt.Sprintf(`{"source_ssrc":%d,"fraction_lost":255,"packets_lost":16777215,"highest_seq_no":4294967295,"ia_jitter":4294967295,"lsr":0,"dlsr":4294967295}`, 1000+i)
		reports = append(reports, hepRTCP(b, a, at, "hostile@sipcause.test", heplifyJSON(uint32(i), 4294967295, 4294967295, 4294967295, blk)))
	}
	pkts := withRTCP(synth.Call(3, base, synth.CallOptions{CallID: "hostile@sipcause.test"}), reports)
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	s := r.m.Snapshot()
	if s.RTCP != 101 || s.Malformed != 2 || s.NonSIP != 1 {
		t.Errorf("decoded %d reports, %d malformed, %d without a call; want 101, 2, 1", s.RTCP, s.Malformed, s.NonSIP)
	}
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cr, err := st.GetCall(context.Background(), "hostile@sipcause.test")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cr.Call.Media); n == 0 || n > 8 {
		t.Fatalf("%d streams kept; want 1 to 8", n)
	}
	for _, m := range cr.Call.Media {
		if q := m.RTCP; q != nil && (q.JitterMS > 10000 || q.CumulativeLost < 0 || q.FractionLost > 100 || q.RTTMS != nil) {
			t.Errorf("stream %d: unclamped figures %+v", m.SSRC, q)
		}
		if m.MOS < 0 || m.MOS > 5 {
			t.Errorf("stream %d: MOS %v", m.SSRC, m.MOS)
		}
	}
	if _, err := st.GetCall(context.Background(), "nobody@sipcause.test"); err == nil {
		t.Error("a report for a call nobody opened made a call")
	}
}

// TestHEPRTCPNoAudio: both phones' RTCP sender reports count packets sent
// and neither names a stream it received (RFC 3550 §6.4): the call had no
// audio at all, and says so with its finding, on the network, in English
// and Dutch.
func TestHEPRTCPNoAudio(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{Tick: 20 * time.Millisecond, Settle: 200 * time.Millisecond, TimeTolerance: -1})
	base := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	caller, callee := netip.MustParseAddrPort("10.1.0.4:4001"), netip.MustParseAddrPort("10.0.0.1:4001")
	at := base.Add(10 * time.Second)
	id := "silent-rtcp@sipcause.test"
	reports := [][]byte{
		hepRTCP(caller, callee, at, id, heplifyJSON(1111, 1500, 3900000000, 0, "")),
		hepRTCP(callee, caller, at.Add(time.Second), id, heplifyJSON(2222, 1500, 3900000001, 0, "")),
	}
	pkts := withRTCP(synth.Call(4, base, synth.CallOptions{CallID: id}), reports)
	sendUDP(t, r.col.HEPAddr(), pkts)
	r.waitReceived(t, int64(len(pkts)))
	r.stop(t)
	st, err := store.OpenSQLite(r.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cr, err := st.GetCall(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	c := cr.Call
	if c.Audio == nil || c.Audio.Verdict != "none" || len(c.Findings) == 0 || c.Findings[0].ID != "media-report-none" || c.Fault != "network" {
		t.Fatalf("audio %+v, findings %+v, fault %q; want none, media-report-none first, network", c.Audio, c.Findings, c.Fault)
	}
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English, Location: time.UTC}, st, NewMetrics()))
	defer ts.Close()
	for lang, want := range map[string]string{
		"en": "the RTCP sender reports count packets sent, and no receiver",
		"nl": "de RTCP-zendrapporten tellen verzonden pakketten, en de rapporten van geen enkele ontvanger",
	} {
		resp, err := http.Get(ts.URL + "/calls/" + id + "?lang=" + lang)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("%s call page lacks %q", lang, want)
		}
	}
}
