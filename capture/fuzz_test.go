package capture

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipcause/sipcause/sipmsg"
)

// FuzzOpen feeds arbitrary files to Open and reads them to the end: no input
// may panic, loop or grow memory without bound. Seeds are the synthetic
// captures and the small shared ones.
func FuzzOpen(f *testing.F) {
	for _, data := range synthCaptures(f) {
		f.Add(data)
	}
	for _, name := range []string{
		"zeek__sip-junk-before-request.pcap", "nDPI__gre.pcapng", "heplify__sip_sctp.pcap",
		"PcapPlusPlus__sip_non_default_port.pcap", "suricata-verify__sip-tcp-method__sip-tcp.pcap",
		"rtcagent__dump.pcap", "sngrep__ipip.pcap",
	} {
		if data, err := os.ReadFile(filepath.Join(sharedCaptures, name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 100000 {
			p, err := r.Next()
			if err != nil {
				if err != io.EOF && r.Integrity().SIPMessages < 0 {
					t.Fatal("negative count")
				}
				return
			}
			if !sipmsg.LooksLikeSIP(p.Payload) {
				t.Fatalf("payload is not SIP: %q", p.Payload)
			}
		}
		t.Fatal("no end after 100000 packets")
	})
}

// FuzzHEP decodes arbitrary HEP packets: no panic, and a decoded payload
// stays within the input unless it was decompressed.
func FuzzHEP(f *testing.F) {
	f.Add(hep3(alice, bob, 17, synthStart, sipRequest("INVITE", "f", ""), false))
	f.Add(hep3(alice6, bob6, 6, synthStart, sipResponse("200 OK", "f"), true))
	f.Add(hep2(alice, bob, 17, synthStart, sipRequest("OPTIONS", "f", "")))
	f.Add([]byte("HEP3\x00\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeHEP(data)
		if err != nil {
			return
		}
		if !p.Compressed && len(p.Payload) > len(data) {
			t.Fatalf("payload %d bytes from %d bytes of input", len(p.Payload), len(data))
		}
		if len(p.Payload) > maxHEPInflate {
			t.Fatalf("payload %d bytes, limit %d", len(p.Payload), maxHEPInflate)
		}
	})
}
