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

// Lines yields each header line whole; splitting them gives what All
// yields, for list headers and others, known names and unknown ones.
func TestLinesSplitToAll(t *testing.T) {
	raw := "INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\nX-Via: no\r\nv: SIP/2.0/UDP c;branch=z9hG4bK3\r\n" +
		"Contact: <sip:a@x>, \"B, b\" <sip:b@y>\r\nP-Asserted-Identity: <sip:1@x>, <tel:2>\r\nSubject: a, b\r\nX-Thing: 1, 2\r\nX-THING: 3\r\n" +
		"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	var m Message
	if err := Parse([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{"Via": 2, "Contact": 1, "P-Asserted-Identity": 1, "Subject": 1, "x-thing": 2, "Route": 0}
	for name, want := range lines {
		var got, split []string
		for l := range m.Lines(name) {
			got = append(got, string(l))
			if isListHeader(lookupHeaderString(name), []byte(name)) {
				for v := range SplitList(l) {
					split = append(split, string(v))
				}
			} else {
				split = append(split, string(l))
			}
		}
		if len(got) != want {
			t.Errorf("Lines(%s) = %q, want %d lines", name, got, want)
		}
		var all []string
		for v := range m.All(name) {
			all = append(all, string(v))
		}
		if strings.Join(split, "|") != strings.Join(all, "|") {
			t.Errorf("%s: lines split %q, All %q", name, split, all)
		}
	}
}

// A Key finds what its name finds, for known headers in any spelling and
// compact form and for unknown ones.
func TestKeyMatchesName(t *testing.T) {
	raw := "INVITE sip:b@x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b\r\nVIA: SIP/2.0/TCP c\r\nX-Thing: 1, 2\r\nx-thing: 3\r\n" +
		"f: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nWarning: 399 h \"a, b\", 399 i \"c\"\r\nContent-Length: 0\r\n\r\n"
	var m Message
	if err := Parse([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	join := func(seq func(func([]byte) bool)) string {
		var out []string
		for v := range seq {
			out = append(out, string(v))
		}
		return strings.Join(out, "|")
	}
	for _, name := range []string{"Via", "via", "v", "From", "f", "To", "Warning", "X-Thing", "x-THING", "Route", "X-None", "Call-ID", "i"} {
		k := KeyOf(name)
		if got, want := string(m.GetKey(k)), string(m.Get(name)); got != want {
			t.Errorf("GetKey(%s) = %q, Get %q", name, got, want)
		}
		if got, want := join(m.AllKey(k)), join(m.All(name)); got != want {
			t.Errorf("AllKey(%s) = %q, All %q", name, got, want)
		}
		if got, want := join(m.LinesKey(k)), join(m.Lines(name)); got != want {
			t.Errorf("LinesKey(%s) = %q, Lines %q", name, got, want)
		}
	}
}
