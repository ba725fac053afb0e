package report

import (
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// One IPv6 address written four ways, an address in a bracketed URI, an
// e-mail-like address in a Warning text, a MAC address in a User-Agent
// and an EUI-64 interface id: none survives redaction, and every notation
// of the address gets the same pseudonym.
func TestRedactNotations(t *testing.T) {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	raw := "INVITE sip:bob@[2001:DB8:0:0:0:0:0:7] SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP [2001:0db8::7]:5060;branch=z9hG4bK1\r\n" +
		"Contact: <sip:alice@[fe80::211:22ff:fe33:4455%eth0]:5060>\r\n" +
		"User-Agent: Yealink 00:15:65:aa:bb:cc\r\n" +
		"Warning: 399 sbc.example.net \"no account for carol.smith@customer.nl\"\r\n\r\n"
	r := &analyze.Report{
		Hosts: []analyze.Host{{Addr: "[2001:db8::7]:5060"}},
		Calls: []*analyze.Call{{
			CallID: "c1", From: "<sip:alice@example.net>", To: "<sip:bob@[2001:db8::7]>", Caller: "alice", Callee: "bob",
			Src: "[fe80::211:22ff:fe33:4455]:5060", Dst: "[2001:db8::7]:5060", Start: t0,
			Warnings: []analyze.Decoded{{Value: `399 sbc.example.net "no account for carol.smith@customer.nl"`}},
		}},
	}
	texts := []*string{&raw}
	RedactAll(r, texts, RedactOptions{Domains: true})
	all := raw + r.Calls[0].To + r.Calls[0].Src + r.Calls[0].Dst + r.Calls[0].Warnings[0].Value + r.Hosts[0].Addr
	for _, secret := range []string{"2001:DB8:0:0:0:0:0:7", "2001:0db8::7", "2001:db8::7]", "fe80::211:22ff:fe33:4455", "00:15:65:aa:bb:cc",
		"carol.smith", "customer.nl", "sbc.example.net", "alice", "bob"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q left in:\n%s", secret, all)
		}
	}
	pseudo := strings.TrimSuffix(strings.TrimPrefix(r.Calls[0].Dst, "["), "]:5060")
	if n := strings.Count(raw, pseudo); n < 2 {
		t.Errorf("the notations of one address got different pseudonyms (%q %d times):\n%s", pseudo, n, raw)
	}
}
