package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// dump renders every packet of a capture as one line, then the format and
// the integrity counts: the form the golden files hold.
func dump(t testing.TB, name string, r io.Reader) []byte {
	t.Helper()
	rd, err := Open(name, r)
	if err != nil {
		return []byte("open error: " + err.Error() + "\n")
	}
	defer rd.Close()
	var b bytes.Buffer
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
			break
		}
		line, _, _ := bytes.Cut(p.Payload, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		tr := p.Transport
		if p.Encap != "" {
			tr += "/" + p.Encap
		}
		fmt.Fprintf(&b, "%d %s %s > %s %s %d %q\n", p.Frame, p.Time.Format(time.RFC3339Nano), p.Src, p.Dst, tr, len(p.Payload), line)
	}
	integ, _ := json.Marshal(rd.Integrity())
	fmt.Fprintf(&b, "format %s\nintegrity %s\n", rd.Format(), integ)
	return b.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

var (
	alice   = netip.MustParseAddrPort("192.0.2.1:5060")
	bob     = netip.MustParseAddrPort("192.0.2.2:5060")
	alice6  = netip.MustParseAddrPort("[2001:db8::1]:5060")
	bob6    = netip.MustParseAddrPort("[2001:db8::2]:5060")
	ms      = time.Millisecond
	maskKey = []byte{0x11, 0x22, 0x33, 0x44}
)

// basicCall is an INVITE transaction over UDP between alice and bob.
func basicCall(frame func(src, dst netip.AddrPort, p []byte) []byte) []synthFrame {
	return []synthFrame{
		{data: frame(alice, bob, sipRequest("INVITE", "c1", "v=0\r\n")), at: 0},
		{data: frame(bob, alice, sipResponse("100 Trying", "c1")), at: 1 * ms},
		{data: frame(bob, alice, sipResponse("486 Busy Here", "c1")), at: 2 * ms},
	}
}

func udpEthFrame(src, dst netip.AddrPort, p []byte) []byte {
	return ethUDP(src.Addr().String(), dst.Addr().String(), src.Port(), dst.Port(), p)
}

func udp4(src, dst netip.AddrPort, p []byte) []byte {
	return ipv4(src.Addr().String(), dst.Addr().String(), 17, udp(src.Port(), dst.Port(), p), ipv4Opts{})
}

func udp6(src, dst netip.AddrPort, p []byte) []byte {
	return ipv6(src.Addr().String(), dst.Addr().String(), 17, udp(src.Port(), dst.Port(), p))
}

func tcpSeg(src, dst netip.AddrPort, seq uint32, flags byte, p []byte) []byte {
	return ethTCP(src.Addr().String(), dst.Addr().String(), src.Port(), dst.Port(), seq, flags, p)
}

// synthCaptures are the generated inputs of the golden tests.
func synthCaptures(t testing.TB) map[string][]byte {
	m := map[string][]byte{}

	m["pcap-ns"] = writePcap(t, layers.LinkTypeEthernet, true, basicCall(udpEthFrame))
	m["pcap-bigendian-raw"] = writePcapBigEndian(layers.LinkTypeRaw, basicCall(udp4))
	m["pcap-gzip-null-ipv6"] = gzipBytes(writePcap(t, layers.LinkTypeNull, false, basicCall(func(src, _ netip.AddrPort, p []byte) []byte {
		if src == alice {
			return cat([]byte{30, 0, 0, 0}, udp6(alice6, bob6, p))
		}
		return cat([]byte{30, 0, 0, 0}, udp6(bob6, alice6, p))
	})))
	m["sll2"] = writePcap(t, layers.LinkType(linkSLL2), false, basicCall(func(src, dst netip.AddrPort, p []byte) []byte {
		hdr := cat(be16(etherIPv4), make([]byte, 18))
		return cat(hdr, udp4(src, dst, p))
	}))
	m["vlan-qinq"] = writePcap(t, layers.LinkTypeEthernet, false, basicCall(func(src, dst netip.AddrPort, p []byte) []byte {
		return eth(etherQinQ, vlan(100, etherVLAN, vlan(200, etherIPv4, udp4(src, dst, p))))
	}))
	m["vxlan"] = writePcap(t, layers.LinkTypeEthernet, false, basicCall(func(src, dst netip.AddrPort, p []byte) []byte {
		inner := udpEthFrame(src, dst, p)
		vx := cat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, inner)
		return ethUDP("198.51.100.1", "198.51.100.2", 40000, portVXLAN, vx)
	}))
	m["erspan2-gre"] = writePcap(t, layers.LinkTypeEthernet, false, basicCall(func(src, dst netip.AddrPort, p []byte) []byte {
		gre := cat(be16(0x1000), be16(etherERSPAN2), []byte{0, 0, 0, 1}) // sequence present
		ers := cat([]byte{0x10, 0x01, 0, 0, 0, 0, 0, 0}, udpEthFrame(src, dst, p))
		return eth(etherIPv4, ipv4("198.51.100.1", "198.51.100.2", 47, cat(gre, ers), ipv4Opts{}))
	}))
	m["erspan3-ipv6-in-ipv4"] = writePcap(t, layers.LinkTypeEthernet, false, basicCall(func(src, dst netip.AddrPort, p []byte) []byte {
		gre := cat(be16(0x1000), be16(etherERSPAN3), []byte{0, 0, 0, 1})
		hdr := []byte{0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1} // O flag: platform subheader follows
		inner := eth(etherIPv4, ipv4("203.0.113.1", "203.0.113.2", 41, udp6(alice6, bob6, p), ipv4Opts{}))
		if src == bob {
			inner = eth(etherIPv4, ipv4("203.0.113.2", "203.0.113.1", 41, udp6(bob6, alice6, p), ipv4Opts{}))
		}
		return eth(etherIPv4, ipv4("198.51.100.1", "198.51.100.2", 47, cat(gre, hdr, make([]byte, 8), inner), ipv4Opts{}))
	}))
	m["gtp-ext-mpls"] = writePcap(t, layers.LinkTypeEthernet, false, basicCall(func(src, dst netip.AddrPort, p []byte) []byte {
		ip := udp4(src, dst, p)
		// GTPv1-U G-PDU with the E flag and one PDU session container.
		gtp := cat([]byte{0x34, 0xff}, be16(uint16(4+8+len(ip))), []byte{0, 0, 0, 1}, []byte{0, 0, 0, 0x85}, []byte{1, 0x10, 0x01, 0}, ip)
		outer := ipv4("198.51.100.1", "198.51.100.2", 17, udp(2152, 2152, gtp), ipv4Opts{})
		return eth(etherMPLS, cat([]byte{0, 0x10, 0x01, 64}, outer)) // one MPLS label, bottom of stack
	}))

	// TCP: a message split in three segments arriving out of order with a
	// retransmission, then keep-alives and two messages in one segment; the
	// other direction starts mid-connection.
	invite := sipRequest("INVITE", "t1", string(bytes.Repeat([]byte("a=x\r\n"), 60)))
	p1, p2, p3 := invite[:100], invite[100:250], invite[250:]
	seq := uint32(1000)
	two := cat([]byte("\r\n\r\n"), sipRequest("ACK", "t1", ""), sipRequest("OPTIONS", "t2", ""))
	m["tcp-reorder"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: tcpSeg(alice, bob, seq-1, tcpSYN, nil)},
		{data: tcpSeg(alice, bob, seq, 0, p1), at: 1 * ms},
		{data: tcpSeg(alice, bob, seq+250, 0, p3), at: 2 * ms},
		{data: tcpSeg(alice, bob, seq+100, 0, p2), at: 3 * ms},
		{data: tcpSeg(alice, bob, seq+100, 0, p2), at: 4 * ms},
		{data: tcpSeg(bob, alice, 77777, 0, sipResponse("200 OK", "t1")), at: 5 * ms},
		{data: tcpSeg(alice, bob, seq+uint32(len(invite)), 0, two), at: 6 * ms},
		{data: tcpSeg(alice, bob, seq+uint32(len(invite)+len(two)), tcpFIN, nil), at: 7 * ms},
	})

	// TCP with a segment never captured: the message it cut is lost, the
	// ones after the hole come out at the end of the capture.
	a, bmsg, c := sipRequest("MESSAGE", "g1", "hi"), sipRequest("MESSAGE", "g2", "there"), sipRequest("BYE", "g3", "")
	m["tcp-gap"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: tcpSeg(alice, bob, 5000, 0, a)},
		{data: tcpSeg(alice, bob, 5000+uint32(len(a))+50, 0, bmsg[50:]), at: 2 * ms},
		{data: tcpSeg(alice, bob, 5000+uint32(len(a)+len(bmsg)), 0, c), at: 3 * ms},
	})

	// SIP over WebSocket (RFC 7118): upgrade, masked client frames (two in
	// one segment, one message in two fragments, a ping between), plain
	// server frames.
	upgrade := "GET / HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	accept := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
	reg := sipRequest("REGISTER", "w1", "")
	ws1 := cat(wsFrameBytes(true, wsText, maskKey, reg),
		wsFrameBytes(false, wsText, maskKey, reg[:40]),
		wsFrameBytes(true, 0x9, maskKey, []byte("ping")),
		wsFrameBytes(true, wsContinuation, maskKey, reg[40:]))
	m["websocket"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: tcpSeg(alice, bob, 100, 0, []byte(upgrade))},
		{data: tcpSeg(bob, alice, 900, 0, []byte(accept)), at: 1 * ms},
		{data: tcpSeg(alice, bob, 100+uint32(len(upgrade)), 0, ws1[:30]), at: 2 * ms},
		{data: tcpSeg(alice, bob, 100+uint32(len(upgrade))+30, 0, ws1[30:]), at: 3 * ms},
		{data: tcpSeg(bob, alice, 900+uint32(len(accept)), 0, wsFrameBytes(true, wsText, nil, sipResponse("401 Unauthorized", "w1"))), at: 4 * ms},
	})

	hepSrc, hepDst := "198.51.100.7", "198.51.100.9"
	m["hep-in-pcap"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: ethUDP(hepSrc, hepDst, 33000, 9060, hep2(alice, bob, 17, synthStart.Add(-time.Second), sipRequest("INVITE", "h1", "")))},
		{data: ethUDP(hepSrc, hepDst, 33000, 9061, hep3(bob, alice, 17, synthStart.Add(-time.Second+ms), sipResponse("180 Ringing", "h1"), true)), at: ms},
		{data: ethTCP(hepSrc, hepDst, 33001, 9062, 1, 0, cat(
			hep3(alice6, bob6, 6, synthStart, sipRequest("BYE", "h2", ""), false),
			hep3(bob6, alice6, 6, synthStart.Add(ms), sipResponse("200 OK", "h2"), false))), at: 2 * ms},
	})
	m["hep3-stream"] = cat(
		hep3(alice, bob, 17, synthStart, sipRequest("INVITE", "s1", ""), false),
		hep3(bob, alice, 17, synthStart.Add(ms), sipResponse("603 Decline", "s1"), true),
		hep3(alice6, bob6, 6, synthStart.Add(2*ms), sipRequest("ACK", "s1", ""), false),
	)
	m["hep2-stream"] = cat(
		hep2(alice, bob, 17, synthStart, sipRequest("OPTIONS", "s2", "")),
		hep2(bob, alice, 17, synthStart.Add(ms), sipResponse("200 OK", "s2")),
	)

	// pcapng with three interfaces of different link types.
	m["pcapng-mixed-links"] = writePcapng(t, []synthFrame{
		{data: udpEthFrame(alice, bob, sipRequest("INVITE", "n1", ""))},
		{data: udp4(bob, alice, sipResponse("100 Trying", "n1")), link: layers.LinkTypeRaw, at: ms},
		{data: cat([]byte{0, 0, 0, 1, 0, 6}, make([]byte, 8), be16(etherIPv4), udp4(bob, alice, sipResponse("200 OK", "n1"))), link: layers.LinkTypeLinuxSLL, at: 2 * ms},
	})

	// IPv4 fragments out of order, and a datagram whose last fragment never
	// came.
	big := udp(5060, 5060, sipRequest("REGISTER", "f1", string(bytes.Repeat([]byte("x"), 1400))))
	lost := udp(5060, 5060, sipRequest("REGISTER", "f2", string(bytes.Repeat([]byte("y"), 1400))))
	frag := func(b []byte, id uint16, off, end int, more bool) []byte {
		return eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, b[off:end], ipv4Opts{id: id, fragOff: off, more: more}))
	}
	m["ipv4-fragments"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: frag(big, 7, 1000, len(big), false)},
		{data: frag(big, 7, 0, 1000, true), at: ms},
		{data: frag(lost, 8, 0, 1000, true), at: 2 * ms},
	})

	// TLS without keys: records on 5061 count as encrypted SIP, HTTPS does
	// not.
	rec := func(typ byte, n int) []byte { return cat([]byte{typ, 3, 3}, be16(uint16(n)), make([]byte, n)) }
	sips := netip.MustParseAddrPort("192.0.2.2:5061")
	https := netip.MustParseAddrPort("192.0.2.2:443")
	m["tls"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: tcpSeg(alice, sips, 1, 0, cat(rec(23, 100), rec(23, 50)))},
		{data: tcpSeg(alice, sips, 1+160, 0, rec(23, 300)[:200]), at: ms},
		{data: tcpSeg(alice, sips, 1+360, 0, rec(23, 300)[200:]), at: 2 * ms},
		{data: tcpSeg(alice, https, 1, 0, rec(23, 100)), at: 3 * ms},
		{data: udpEthFrame(alice, bob, sipRequest("OPTIONS", "x1", "")), at: 4 * ms},
	})

	// A frame cut by the snap length in the middle of a SIP message.
	cut := udpEthFrame(alice, bob, sipRequest("INVITE", "cut", string(bytes.Repeat([]byte("z"), 500))))
	m["snaplen-cut"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: cut[:300], orig: len(cut)},
	})

	// SCTP DATA chunks: one whole message and one in two fragments.
	sctpData := func(flags byte, tsn uint32, p []byte) []byte {
		c := cat([]byte{0, flags}, be16(uint16(16+len(p))), binary32(tsn), be16(1), be16(0), binary32(0), p)
		for len(c)%4 != 0 {
			c = append(c, 0)
		}
		return c
	}
	sctpPkt := func(chunks ...[]byte) []byte {
		return eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 132, cat(be16(5060), be16(5060), make([]byte, 8), cat(chunks...)), ipv4Opts{}))
	}
	opt := sipRequest("OPTIONS", "sc1", "")
	m["sctp"] = writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{
		{data: sctpPkt(sctpData(3, 1, sipRequest("INVITE", "sc0", "")), sctpData(2, 2, opt[:60]))},
		{data: sctpPkt(sctpData(1, 3, opt[60:])), at: ms},
	})

	// A plain text log of SIP messages: detected by content, read by
	// package textlog.
	m["log-raw"] = cat(sipRequest("INVITE", "l1", ""), []byte("\n"), sipResponse("404 Not Found", "l1"))
	return m
}

func binary32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func TestGoldenSynthetic(t *testing.T) {
	for name, data := range synthCaptures(t) {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, dump(t, name, bytes.NewReader(data)))
		})
	}
}

// goldenShared are shared captures whose full output is pinned, one for
// each link layer, tunnel and transport they cover.
var goldenShared = []string{
	"PcapPlusPlus__sip_reqs.pcap",                      // PPPoE
	"aiengine__gprs_sip_flow.pcap",                     // GTP-U
	"arkime__gtp-iphone.pcap",                          // SLL, GTP-U, IPv6, TCP
	"hep-wireshark__hep.pcap",                          // HEP3 on UDP
	"hep-wireshark__hep3_compressed.pcapng",            // HEP3 compressed, SLL, pcapng
	"heplify__ipip0.pcap",                              // raw IP
	"heplify__sip_ipv4_tcp_retrans.pcap",               // TCP retransmissions
	"heplify__sip_sctp.pcap",                           // SCTP
	"heplify__sip_tcp_websocket.pcap",                  // WebSocket
	"nDPI__gre.pcapng",                                 // VLAN, GRE, PPP
	"sngrep__ipip.pcap",                                // IP in IP, TCP
	"sngrep__ipv6frag.pcap",                            // IPv6 fragments
	"sngrep__tlssaved.pcap",                            // TLS without keys
	"zeek__sip-junk-before-request.pcap",               // junk
	"goffinet-sip_captures__private-test-sip-2.pcapng", // IPv4 fragments, ICMP
}

func TestGoldenShared(t *testing.T) {
	if _, err := os.Stat(sharedCaptures); errors.Is(err, os.ErrNotExist) {
		sharedtest.Missing(t, sharedCaptures, err)
	}
	for _, name := range goldenShared {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(sharedCaptures, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checkGolden(t, name, dump(t, name, f))
		})
	}
}
