package rtp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// rtpAgentFull is a full RTP report (HEP type 34) as hepgen.js's rtpagent
// example and hep-js's report generators write it: the stream's figures so
// far, upper-case names, an SSRC-less PERIODIC report.
const rtpAgentFull = `{"CORRELATION_ID":"abc@host","RTP_SIP_CALL_ID":"abc@host","DELTA":19.971924,"JITTER":0.162653,"REPORT_TS":1443793820,` +
	`"TL_BYTE":0,"SKEW":0.701172, "TOTAL_PK":1783,"EXPECTED_PK":1790,"PACKET_LOSS":7,"SEQ":0,"MAX_JITTER":0.575890,"MAX_DELTA":140.515137,` +
	`"MAX_SKEW":-1.395996,"MEAN_JITTER":0.196664,"MIN_MOS":4.324768, "MEAN_MOS":4.394112, "MOS":4.394147,"RFACTOR":92.442569,` +
	`"MIN_RFACTOR":89.429284,"MEAN_RFACTOR":92.440869,"SRC_IP":"192.168.1.1", "SRC_PORT":21122, "DST_IP":"192.168.1.2","DST_PORT":52268,` +
	`"SRC_MAC":"00-30-48-7E-5D-C6","DST_MAC":"00-12-80-D7-38-5E","OUT_ORDER":0,"SSRC_CHG":0,"CODEC_PT":8, "CLOCK":8000,"CODEC_NAME":"pcma",` +
	`"DIR":0,"REPORT_NAME":"192.168.1.1:21122","PARTY":0,"TYPE":"PERIODIC"}`

func TestParseQoSReport(t *testing.T) {
	r, err := ParseQoSReport([]byte(rtpAgentFull))
	if err != nil {
		t.Fatal(err)
	}
	want := QoSReport{CallID: "abc@host", Src: netip.MustParseAddrPort("192.168.1.1:21122"), Dst: netip.MustParseAddrPort("192.168.1.2:52268"),
		Packets: 1783, Expected: 1790, Lost: 7, HasPackets: true, HasLost: true,
		JitterMS: 0.162653, MaxJitterMS: 0.575890, MeanJitterMS: 0.196664, MaxDeltaMS: 140.515137,
		MOS: 4.324768, PayloadType: 8, Codec: "pcma", ClockRate: 8000}
	if r != want {
		t.Errorf("full report:\n got %+v\nwant %+v", r, want)
	}

	// hepagent-go's final report (type 34, TYPE FINAL), as QXIP's
	// gossipper HEP client mirrors it (rtpFinalReport): totals under other
	// names, the SSRC in hex, the one-way flag.
	final := `{"CORRELATION_ID":"f@h","TOTAL_BYTES":240000,"TOTAL_PACKETS":1500,"TOTAL_EXPECTED_PK":1530,"TOTAL_PACKET_LOSS":30,` +
		`"MIN_RFACTOR":80.2,"MEAN_RFACTOR":85,"MAX_SKEW":0,"MAX_DELTA":60.5,"MEAN_JITTER":3.5,"MAX_JITTER":12.25,"MIN_MOS":3.9,"MEAN_MOS":4.1,` +
		`"ONE_WAY_RTP":1,"CODEC_CH":0,"CODEC_PT":0,"CLOCK":8000,"CODEC_NAME":"PCMU/8000","CODEC_CHANNEL":1,"SSRC":"0x1a2b3c4d",` +
		`"REPORT_NAME":"10.0.0.1-4000","DIR":0,"PARTY":0,"STYPE":"","TYPE":"FINAL"}`
	r, err = ParseQoSReport([]byte(final))
	if err != nil {
		t.Fatal(err)
	}
	if r.Packets != 1500 || r.Expected != 1530 || r.Lost != 30 || r.SSRC != 0x1a2b3c4d || !r.HasSSRC || !r.OneWay || !r.Final ||
		r.MOS != 3.9 || r.MeanJitterMS != 3.5 || r.MaxJitterMS != 12.25 || r.PayloadType != 0 || r.Codec != "PCMU/8000" || r.Src.IsValid() {
		t.Errorf("final report = %+v", r)
	}

	// hepagent-go's short reports (types 35 and 37, gossipper's
	// rtpShortReport and rtcpShortReport): a packet count, or the loss from
	// RTCP; the Call-ID only in the JSON.
	short := `{"CORRELATION_ID":"s@h","RTP_SIP_CALL_ID":"s@h","SSRC":"0xdeadbeef","PACKET_COUNT":750,"OCTET_COUNT":120000,` +
		`"REPORT_NAME":"10.0.0.1-4000","SOURCE":"GOSSIPPER","TYPE":"PERIODIC","REPORT_TS":1700000000000,"SRC_IP":"10.0.0.1","SRC_PORT":4000,` +
		`"DST_IP":"10.0.0.2","DST_PORT":5000,"RTP_TS":12000,"CODEC_PT":8,"CLOCK":8000,"CODEC_NAME":"PCMA/8000"}`
	r, err = ParseQoSReport([]byte(short))
	if err != nil || r.Packets != 750 || r.HasLost || r.SSRC != 0xdeadbeef || r.Src != netip.MustParseAddrPort("10.0.0.1:4000") || r.MOS != 0 {
		t.Errorf("short RTP report = %+v (%v)", r, err)
	}
	shortRTCP := `{"CORRELATION_ID":"s@h","SSRC":"0xdeadbeef","CUM_PACKET_LOSS":12,"MEAN_PACKET_LOSS":1.5,"MOS":"4.1","RFACTOR":80,"TYPE":"PERIODIC"}`
	r, err = ParseQoSReport([]byte(shortRTCP))
	if err != nil || r.HasPackets || !r.HasLost || r.Lost != 12 || r.MOS != 4.1 {
		t.Errorf("short RTCP report = %+v (%v)", r, err)
	}
	// The Call-ID of RTP_SIP_CALL_ID when CORRELATION_ID is missing.
	if r, _ := ParseQoSReport([]byte(`{"RTP_SIP_CALL_ID":"x@y","TOTAL_PK":5}`)); r.CallID != "x@y" {
		t.Errorf("call id %q", r.CallID)
	}
}

// TestParseQoSReportHostile: what is no report is refused; what claims
// too much is cut or left out, never believed.
func TestParseQoSReportHostile(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `"TOTAL_PK"`, `{"TOTAL_PK":1`, `{"TOTAL_PK":"lots"}`, `{"TOTAL_PK":NaN}`, `{"TOTAL_PK":1e400}`,
		`{"SSRC":"0xfffffffff","TOTAL_PK":1}`, `{"SSRC":-1,"TOTAL_PK":1}`, `{"CODEC_NAME":"x"}`, `{"TOTAL_PK":{"a":1}}`,
		`{"CORRELATION_ID":"a"}`, `{` + strings.Repeat(`"X":1,`, MaxQoSJSON/6) + `"TOTAL_PK":1}`,
	} {
		if r, err := ParseQoSReport([]byte(in)); err == nil {
			t.Errorf("%.60q accepted: %+v", in, r)
		}
	}
	long := strings.Repeat("c", 5000)
	in := fmt.Sprintf(`{"CORRELATION_ID":%q,"TOTAL_PK":-5,"EXPECTED_PK":1e30,"PACKET_LOSS":99999999999,"JITTER":1e9,"MAX_JITTER":-3,`+
		`"MEAN_JITTER":"","MOS":7,"MIN_MOS":0.2,"MEAN_MOS":-1,"CODEC_PT":300,"CODEC_NAME":"<script>alert(1)</script>%s","CLOCK":-8000,`+
		`"SRC_IP":"999.1.1.1","SRC_PORT":70000,"DST_IP":"::ffff:10.0.0.1","DST_PORT":5004,"MAX_DELTA":1e12}`, long[:1500], long)
	r, err := ParseQoSReport([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.CallID != "" || r.Packets != 0 || r.Expected != 4294967295 || r.Lost != 4294967295 || r.JitterMS != 0 || r.MaxJitterMS != 0 ||
		r.MOS != 0 || r.PayloadType != -1 || len(r.Codec) > maxQoSCodec || strings.ContainsAny(r.Codec, "<> ") || r.ClockRate != 0 ||
		r.Src.IsValid() || r.Dst != netip.MustParseAddrPort("10.0.0.1:5004") || r.MaxDeltaMS != 0 {
		t.Errorf("hostile report kept %+v", r)
	}
	if r.CallID != "" {
		t.Error("a Call-ID beyond the bound was kept")
	}
}
