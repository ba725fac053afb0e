// Package capture reads the packet captures users really have and yields
// every SIP message in them, in capture order, with its time, addresses,
// transport and the integrity counts a report needs to say how complete
// the capture was.
//
// Inputs are detected by content, never by file name: pcap (microsecond or
// nanosecond, either byte order), pcapng (several interfaces and link types
// in one file), raw HEP streams, and SIP text logs (read by package
// textlog); any of them gzip-compressed. Reading is streaming, with
// gopacket's pure-Go pcapgo, so memory stays flat however large the file.
//
// Link layers: Ethernet with VLAN/QinQ tags, Linux cooked (SLL, SLL2), raw
// IPv4/IPv6, BSD loopback, PPP and PPPoE, MPLS. Tunnels: IP in IP, GRE
// (with Ethernet bridging and PPP), ERSPAN II/III, VXLAN (udp/4789) and
// GTP-U (udp/2152). IPv4 and IPv6 fragments are reassembled. SIP is found
// by its start line on any port: over UDP, over TCP (reassembled, framed by
// Content-Length), over WebSocket (RFC 7118) and in SCTP DATA chunks. HEP1,
// HEP2 and HEP3 packets (compressed payloads too) on any UDP or TCP port
// yield the SIP message they carry, with the addresses and time of the HEP
// header. SIP quoted in ICMP errors comes out with Encap "icmp". TLS cannot
// be decoded without keys; its application-data records on SIP flows are
// counted as EncryptedSIP (see Integrity).
//
// Usage:
//
//	r, err := capture.OpenFile("call.pcap")
//	if err != nil {
//		return err
//	}
//	defer r.Close()
//	for {
//		p, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // *capture.FrameError: the file is damaged here
//		}
//		fmt.Println(p.Frame, p.Src, "->", p.Dst, p.Transport)
//	}
//	fmt.Printf("%+v\n", r.Integrity())
package capture
