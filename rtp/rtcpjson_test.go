package rtp

import (
	"strings"
	"testing"
)

// heplifySR is an SR with one report block and an SDES after it, as
// heplify writes the JSON of such a compound packet: "type" is that of the
// last packet (202), the sender information is the SR's.
const heplifySR = `{"sender_information":{"ntp_timestamp_sec":3900000000,"ntp_timestamp_usec":2147483648,"rtp_timestamp":160,"packets":1500,"octets":240000},` +
	`"ssrc":305419896,"type":202,"report_count":1,"report_blocks":[{"source_ssrc":4660,"fraction_lost":12,"packets_lost":16777215,` +
	`"highest_seq_no":1530,"ia_jitter":160,"lsr":1234,"dlsr":65536}],"report_blocks_xr":{"type":7,"id":4660,"fraction_lost":5,` +
	`"fraction_discard":1,"burst_density":0,"gap_density":0,"burst_duration":0,"gap_duration":0,"round_trip_delay":40,"end_system_delay":20},"sdes_ssrc":305419896}`

func TestParseRTCPJSON(t *testing.T) {
	r, err := ParseRTCPJSON([]byte(heplifySR))
	if err != nil {
		t.Fatal(err)
	}
	if !r.SR || r.SenderSSRC != 305419896 || r.SenderPackets != 1500 || r.NTPMiddle != 3900000000<<16&0xffffffff|0x8000 {
		t.Errorf("sender = %+v", r)
	}
	b := r.Blocks[0]
	// packets_lost 0xffffff is -1 in the 24-bit signed field (duplicates).
	if r.NBlocks != 1 || b.SSRC != 4660 || b.FractionLost != 12 || b.CumulativeLost != -1 || b.Jitter != 160 || b.LSR != 1234 || b.DLSR != 65536 {
		t.Errorf("block = %+v (%d)", b, r.NBlocks)
	}
	if !r.HasXR || r.XR.SSRC != 4660 || r.XR.LossRate != 5 || r.XR.RoundTripDelay != 40 || r.XR.MOSLQ != 127 {
		t.Errorf("xr = %+v", r.XR)
	}
	// A receiver report: heplify still writes sender_information, zero.
	rr := strings.Replace(strings.Replace(heplifySR, `"packets":1500`, `"packets":0`, 1), `"ntp_timestamp_sec":3900000000`, `"ntp_timestamp_sec":0`, 1)
	if r, err := ParseRTCPJSON([]byte(rr)); err != nil || r.SR || r.Bye {
		t.Errorf("receiver report read as SR=%v, BYE=%v (%v)", r.SR, r.Bye, err)
	}
	// heplify's "type" is that of the compound's last packet: 203, a BYE
	// (RFC 3550 §6.6), when the sender leaves.
	if r, err := ParseRTCPJSON([]byte(strings.Replace(heplifySR, `"type":202`, `"type":203`, 1))); err != nil || !r.Bye || !r.SR {
		t.Errorf("SR then BYE read as SR=%v, BYE=%v (%v)", r.SR, r.Bye, err)
	}
}

// TestParseRTCPJSONHostile: what is no heplify report is refused, and what
// claims too much is cut to what the fixed RTCP holds.
func TestParseRTCPJSONHostile(t *testing.T) {
	block := `{"source_ssrc":1,"fraction_lost":255,"packets_lost":4294967295,"ia_jitter":4294967295}`
	many := `{"ssrc":1,"type":201,"report_blocks":[` + strings.Repeat(block+",", 60) + block + `]}`
	for name, in := range map[string]string{
		"empty":     "",
		"not json":  "INVITE sip:x SIP/2.0\r\n",
		"array":     `[1,2,3]`,
		"truncated": heplifySR[:100],
		"boolean":   `{"ssrc":true,"type":201}`,
		"word":      `{"ssrc":"one","type":201}`,
		"NaN text":  `{"ssrc":"NaN","type":201}`,
		"no type":   `{"ssrc":1}`,
		"huge":      `{"ssrc":1,"type":201,"x":"` + strings.Repeat("a", MaxRTCPJSON) + `"}`,
		"deep":      strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	} {
		if _, err := ParseRTCPJSON([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "rtp: ") {
			t.Errorf("%s: error %q without the package prefix", name, err)
		}
	}
	// Integers wider than the wire field are cut to it, as captagent
	// writes them: a signed LSR, an NTP fraction beyond 32 bits, and a
	// fraction lost beyond 255 clamped.
	r, err := ParseRTCPJSON([]byte(`{"sender_information":{"ntp_timestamp_sec":3650797214,"ntp_timestamp_usec":13217348104192,"packets":106},` +
		`"ssrc":451916597,"type":200,"report_blocks":[{"source_ssrc":898343773,"fraction_lost":300,"lsr":-1097006646,"dlsr":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Blocks[0]; !r.SR || r.SenderPackets != 106 || b.LSR != 3197960650 || b.FractionLost != 255 || b.DLSR != 0 {
		t.Errorf("wide integers read as %+v", r)
	}
	// Asterisk's form (rtcp_report_to_json): NTP words and LSR as strings,
	// sender_information null in a receiver report.
	r, err = ParseRTCPJSON([]byte(`{"ssrc":7,"type":200,"report_count":1,"sender_information":{"ntp_timestamp_sec":"3373905467",` +
		`"ntp_timestamp_usec":"4288694262","rtp_timestamp":-210772703,"packets":50,"octets":8000},"report_blocks":[{"source_ssrc":9,` +
		`"fraction_lost":2.5,"packets_lost":3,"highest_seq_no":60,"ia_jitter":80,"lsr":"123456","dlsr":10}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Blocks[0]; !r.SR || r.SenderPackets != 50 || r.NTPMiddle != 3373905467<<16&0xffffffff|4288694262>>16 || b.LSR != 123456 || b.FractionLost != 2 {
		t.Errorf("Asterisk's report read as %+v", r)
	}
	if r, err := ParseRTCPJSON([]byte(`{"ssrc":7,"type":201,"sender_information":null,"report_blocks":[]}`)); err != nil || r.SR {
		t.Errorf("Asterisk's receiver report: SR %v (%v)", r.SR, err)
	}
	r, err = ParseRTCPJSON([]byte(many))
	if err != nil {
		t.Fatal(err)
	}
	if r.NBlocks != maxBlocks || r.Blocks[0].CumulativeLost != -1 {
		t.Errorf("61 blocks kept as %d, first %+v", r.NBlocks, r.Blocks[0])
	}
}

// FuzzParseRTCPJSON: no input may panic or report more blocks than it keeps.
func FuzzParseRTCPJSON(f *testing.F) {
	f.Add([]byte(heplifySR))
	f.Add([]byte(`{"ssrc":1,"type":201,"report_blocks":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRTCPJSON(b)
		if err == nil && (r.NBlocks < 0 || r.NBlocks > maxBlocks) {
			t.Fatalf("%d blocks", r.NBlocks)
		}
	})
}
