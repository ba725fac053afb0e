package analyze

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/sipcause/sipcause/sipmsg"
)

// FuzzAnalyze feeds arbitrary message sequences (SIP messages separated by
// a line of three '#') through the parser and the analyzer: whatever the
// bytes, the analyzer must not panic and must account for every message,
// and the interner's memos must decode each message as it is decoded
// afresh.
func FuzzAnalyze(f *testing.F) {
	seeds := []string{
		"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n" +
			"###\nSIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
		"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\nCall-ID: r\r\nCSeq: 1 REGISTER\r\nExpires: 0\r\n\r\n###\nSIP/2.0 423 Interval Too Brief\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\nCall-ID: r\r\nCSeq: 1 REGISTER\r\nMin-Expires: 60\r\n\r\n",
		"BYE sip:a SIP/2.0\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nReason: Q.850;cause=16\r\nWarning: 399 h \"x\"\r\n\r\n",
		"ACK sip:a SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 ACK\r\n\r\n###\nCANCEL sip:a SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 CANCEL\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		a := New(Options{})
		in := a.NewInterner() // its memos, and what it works out for a
		var m sipmsg.Message
		src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("198.51.100.1:5060")
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		n := 0
		for i, part := range bytes.Split(data, []byte("###\n")) {
			if sipmsg.Parse(part, &m) != nil {
				continue
			}
			now = now.Add(time.Duration(step) * time.Second)
			if i%2 == 1 {
				src, dst = dst, src
			}
			meta := Meta{Frame: i + 1, Time: now, Src: src, Dst: dst, Transport: "udp"}
			var got Message
			FromSIPInto(&got, meta, &m, in)
			plain := got
			plain.pre = precomputed{}
			if want := FromSIP(meta, &m); !reflect.DeepEqual(plain, want) {
				t.Fatalf("message %d: decoded with the interner\n%+v\nafresh\n%+v", i, plain, want)
			}
			a.AddRef(&got)
			n++
		}
		r := a.Finish()
		if r.Summary.Messages != n {
			t.Fatalf("%d messages in, %d counted", n, r.Summary.Messages)
		}
	})
}
