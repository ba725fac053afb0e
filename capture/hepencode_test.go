package capture

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

func TestEncodeHEP3RoundTrip(t *testing.T) {
	sip := []byte("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n")
	at := time.Date(2026, 3, 2, 10, 42, 7, 123456000, time.UTC)
	for _, tc := range []struct{ src, dst string }{
		{"192.0.2.1:5060", "198.51.100.2:5080"},
		{"[2001:db8::1]:5060", "[2001:db8::2]:5061"},
	} {
		src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
		b := EncodeHEP3(nil, src, dst, at, 17, 42, sip)
		p, err := DecodeHEP(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if p.Version != 3 || p.Src != src || p.Dst != dst || !p.Time.Equal(at) || p.CaptureID != 42 || p.Protocol != 17 ||
			p.ProtoType != 1 || !bytes.Equal(p.Payload, sip) {
			t.Errorf("%s: decoded %+v", tc.src, p)
		}
	}
	if b := EncodeHEP3([]byte("x"), netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"), at, 17, 1, make([]byte, 70000)); string(b) != "x" {
		t.Error("an oversized payload must not be encoded")
	}
}
