package analyze

import (
	"net/netip"
	"testing"
)

// hostKey.same is address equality: for IPv4, IPv6, IPv4-mapped IPv6 and
// zoned link-local addresses, each against each.
func TestHostKeySame(t *testing.T) {
	var addrs []netip.Addr
	for _, s := range []string{"192.0.2.1", "192.0.2.2", "::ffff:192.0.2.1", "2001:db8::1", "2001:db8::2", "fe80::1", "fe80::1%eth0", "fe80::1%eth1", "0.0.0.0", "::"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	for _, a := range addrs {
		for _, b := range addrs {
			if got := hostKeyOf(a).same(hostKeyOf(b), a, b); got != (a == b) {
				t.Errorf("%v same as %v: %v", a, b, got)
			}
		}
	}
}
