package sipmsg

import (
	"strings"
	"testing"
)

// A header that comes more than once is found by the ids Parse noted, and
// by name again once the caller has changed the headers.
func TestAllRepeatedHeaders(t *testing.T) {
	raw := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\nX-Via: no\r\nv: SIP/2.0/UDP c;branch=z9hG4bK3\r\n" +
		"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	var m Message
	if err := Parse([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	hosts := func() (out []string) {
		for v := range m.All("Via") {
			via, _ := ParseVia(v)
			out = append(out, string(via.Host))
		}
		return out
	}
	if got := strings.Join(hosts(), " "); got != "a b c" {
		t.Errorf("Vias %q, want a b c", got)
	}
	m.Headers = append(m.Headers, Header{Name: []byte("VIA"), Value: []byte("SIP/2.0/TCP d;branch=z9hG4bK4")})
	if got := strings.Join(hosts(), " "); got != "a b c d" {
		t.Errorf("after a Via was added: Vias %q, want a b c d", got)
	}
}
