package capture

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket/layers"

	"github.com/sipcause/sipcause/sipmsg"
)

// Link types (tcpdump.org/linktypes.html) read here.
const (
	linkNull     = 0
	linkEthernet = 1
	linkPPP      = 9
	linkRaw12    = 12
	linkRaw14    = 14
	linkPPPHDLC  = 50
	linkPPPoE    = 51 // PPP over Ethernet session data without Ethernet
	linkRaw      = 101
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

// EtherTypes (IEEE 802 numbers) read here.
const (
	etherIPv4      = 0x0800
	etherIPv6      = 0x86dd
	etherVLAN      = 0x8100
	etherQinQ      = 0x88a8
	etherQinQOld   = 0x9100
	etherPPPoE     = 0x8864
	etherMPLS      = 0x8847
	etherMPLSMulti = 0x8848
	etherTEB       = 0x6558 // transparent Ethernet bridging (GRE)
	etherERSPAN2   = 0x88be
	etherERSPAN3   = 0x22eb
	etherPPP       = 0x880b // PPP in GRE (PPTP)
)

// maxNesting bounds tunnel recursion, so a crafted packet of tunnels inside
// tunnels cannot recurse without end.
const maxNesting = 8

// decodeLink decodes one frame of the given link type.
func (r *Reader) decodeLink(lt layers.LinkType, b []byte) {
	switch int(lt) {
	case linkEthernet:
		r.decodeEthernet(b, 0)
	case linkRaw, linkRaw12, linkRaw14, linkIPv4, linkIPv6:
		r.decodeIPAny(b, 0)
	case linkSLL:
		// Linux cooked v1: packet type, ARPHRD, address length, 8 address
		// bytes, protocol.
		if len(b) < 16 {
			r.short()
			return
		}
		r.decodeEther(binary.BigEndian.Uint16(b[14:]), b[16:], 0)
	case linkSLL2:
		// Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type,
		// address length, 8 address bytes.
		if len(b) < 20 {
			r.short()
			return
		}
		r.decodeEther(binary.BigEndian.Uint16(b[0:]), b[20:], 0)
	case linkNull, linkLoop:
		// BSD loopback: a 4-byte address family in the capturing host's byte
		// order (network order for LOOP); IPv6 has several values by OS.
		if len(b) < 4 {
			r.short()
			return
		}
		fam := binary.LittleEndian.Uint32(b)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(b)
		}
		switch fam {
		case 2:
			r.decodeIPv4(b[4:], 0)
		case 24, 28, 30:
			r.decodeIPv6(b[4:], 0)
		default:
			r.decodeIPAny(b[4:], 0)
		}
	case linkPPP, linkPPPHDLC:
		r.decodePPP(b, 0)
	case linkPPPoE:
		r.decodePPPoE(b, 0)
	default:
		// Said, not silently counted as non-SIP: the user may need
		// another capture setting (or sipcause support for it).
		r.integ.UnknownLinkType++
		r.cur.sip = true // not "non-SIP": unknown
	}
}

// short marks the frame as cut before the headers ended.
func (r *Reader) short() {
	if r.cur.truncated {
		r.integ.Truncated++
		r.cur.truncated = false // count a frame once
		r.cur.sip = true        // counted already; not also non-SIP
		return
	}
	r.cur.malformed = true
}

func (r *Reader) decodeEthernet(b []byte, depth int) {
	if len(b) < 14 {
		r.short()
		return
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	if et <= 1500 {
		// 802.3 length field: LLC/SNAP, not IP. Nothing SIP lives there.
		return
	}
	r.decodeEther(et, b, depth)
}

// decodeEther decodes b as the payload of EtherType et, following VLAN tags,
// PPPoE, MPLS and the tunnels that carry Ethernet or IP.
func (r *Reader) decodeEther(et uint16, b []byte, depth int) {
	if depth > maxNesting {
		r.cur.malformed = true
		return
	}
	for {
		switch et {
		case etherVLAN, etherQinQ, etherQinQOld:
			if len(b) < 4 {
				r.short()
				return
			}
			et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
			continue
		case etherIPv4:
			r.decodeIPv4(b, depth)
		case etherIPv6:
			r.decodeIPv6(b, depth)
		case etherPPPoE:
			r.decodePPPoE(b, depth)
		case etherMPLS, etherMPLSMulti:
			r.decodeMPLS(b, depth)
		case etherTEB:
			r.decodeEthernet(b, depth+1)
		case etherERSPAN2:
			// ERSPAN type II: 8-byte header (version 1), then Ethernet.
			if len(b) < 8 {
				r.short()
				return
			}
			r.setEncap("erspan")
			r.decodeEthernet(b[8:], depth+1)
		case etherERSPAN3:
			// ERSPAN type III: 12-byte header, plus an 8-byte platform
			// specific subheader when the O flag (last bit) is set.
			if len(b) < 12 {
				r.short()
				return
			}
			n := 12
			if b[11]&0x01 != 0 {
				n += 8
			}
			if len(b) < n {
				r.short()
				return
			}
			r.setEncap("erspan")
			r.decodeEthernet(b[n:], depth+1)
		case etherPPP:
			r.decodePPP(b, depth+1)
		}
		return
	}
}

// decodePPPoE decodes a PPPoE session packet (RFC 2516 section 4): version,
// type, code, session id, length, then a PPP protocol field.
func (r *Reader) decodePPPoE(b []byte, depth int) {
	if len(b) < 8 {
		r.short()
		return
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	p := b[6:]
	if n >= 2 && n <= len(p) {
		p = p[:n]
	}
	r.setEncap("pppoe")
	r.decodePPP(p, depth)
}

// decodePPP decodes a PPP frame (RFC 1661), with or without the HDLC
// address/control bytes and with a one- or two-byte protocol field.
func (r *Reader) decodePPP(b []byte, depth int) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		r.short()
		return
	}
	var proto uint16
	if b[0]&1 == 1 { // compressed protocol field
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			r.short()
			return
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch proto {
	case 0x21:
		r.decodeIPv4(b, depth)
	case 0x57:
		r.decodeIPv6(b, depth)
	}
}

// decodeMPLS skips the label stack (RFC 3032) up to the bottom-of-stack
// label and guesses the payload from the IP version nibble.
func (r *Reader) decodeMPLS(b []byte, depth int) {
	for {
		if len(b) < 4 {
			r.short()
			return
		}
		bottom := b[2]&1 == 1
		b = b[4:]
		if bottom {
			break
		}
	}
	r.decodeIPAny(b, depth)
}

// decodeIPAny decodes IPv4 or IPv6 by the version nibble.
func (r *Reader) decodeIPAny(b []byte, depth int) {
	if len(b) < 1 {
		r.short()
		return
	}
	switch b[0] >> 4 {
	case 4:
		r.decodeIPv4(b, depth)
	case 6:
		r.decodeIPv6(b, depth)
	default:
		r.cur.malformed = true
	}
}

// decodeIPv4 decodes an IPv4 header (RFC 791), reassembling fragments.
func (r *Reader) decodeIPv4(b []byte, depth int) {
	if len(b) < 20 {
		r.short()
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || ihl < 20 {
		r.cur.malformed = true
		return
	}
	if len(b) < ihl {
		r.short()
		return
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	switch {
	case total >= ihl && total <= len(b):
		b = b[:total] // drop Ethernet padding
	case total > len(b) && (r.cur.truncated || r.cur.icmp):
		// Cut by the snap length, or quoted in part by ICMP: decode what is
		// there.
	case total == 0:
		// TSO / offloaded capture: the length is left zero.
	default:
		// A length beyond the frame or below the header: count it, and
		// decode what the frame holds, as Wireshark does.
		r.cur.malformed = true
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	proto := b[9]
	flags := binary.BigEndian.Uint16(b[6:])
	more, off := flags&0x2000 != 0, int(flags&0x1fff)*8
	payload := b[ihl:]
	if (more || off > 0) && r.cur.icmp {
		return // a quoted fragment: not part of any reassembly
	}
	if more || off > 0 {
		key := fragKey{src: src, dst: dst, id: uint32(binary.BigEndian.Uint16(b[4:])), proto: proto}
		whole, done := r.frags.add(r, key, off, more, payload)
		if !done {
			r.cur.sip = true // a fragment held for later; not judged yet
			return
		}
		payload = whole
	}
	r.decodeIPPayload(src, dst, proto, payload, depth)
}

// decodeIPv6 decodes an IPv6 header (RFC 8200) and its extension headers,
// reassembling fragments (section 4.5).
func (r *Reader) decodeIPv6(b []byte, depth int) {
	if len(b) < 40 {
		r.short()
		return
	}
	if b[0]>>4 != 6 {
		r.cur.malformed = true
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	p := b[40:]
	if plen > 0 && plen <= len(p) {
		p = p[:plen]
	}
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(p) < 8 {
				r.short()
				return
			}
			n := (int(p[1]) + 1) * 8
			if len(p) < n {
				r.short()
				return
			}
			next, p = p[0], p[n:]
			continue
		case 51: // authentication header: length in 4-byte units minus 2
			if len(p) < 8 {
				r.short()
				return
			}
			n := (int(p[1]) + 2) * 4
			if len(p) < n {
				r.short()
				return
			}
			next, p = p[0], p[n:]
			continue
		case 44: // fragment
			if len(p) < 8 {
				r.short()
				return
			}
			nh := p[0]
			fo := binary.BigEndian.Uint16(p[2:])
			off, more := int(fo&0xfff8), fo&1 != 0
			id := binary.BigEndian.Uint32(p[4:])
			p = p[8:]
			if !more && off == 0 { // atomic fragment
				next = nh
				continue
			}
			if r.cur.icmp {
				return
			}
			key := fragKey{src: src, dst: dst, id: id, proto: nh, v6: true}
			whole, done := r.frags.add(r, key, off, more, p)
			if !done {
				r.cur.sip = true
				return
			}
			// Extension headers after the fragment header are inside the
			// reassembled payload; keep walking.
			next, p = nh, whole
			continue
		case 59: // no next header
			return
		}
		break
	}
	r.decodeIPPayload(src, dst, next, p, depth)
}

// decodeIPPayload dispatches on the IP protocol number.
func (r *Reader) decodeIPPayload(src, dst netip.Addr, proto uint8, b []byte, depth int) {
	if depth > maxNesting {
		r.cur.malformed = true
		return
	}
	switch proto {
	case 4: // IP in IP (RFC 2003)
		r.setEncap("ipip")
		r.decodeIPv4(b, depth+1)
	case 41: // IPv6 in IP (RFC 4213)
		r.setEncap("ipip")
		r.decodeIPv6(b, depth+1)
	case 47:
		r.decodeGRE(b, depth+1)
	case 17:
		r.decodeUDP(src, dst, b, depth)
	case 6:
		if !r.cur.icmp { // a quoted segment must not enter the stream
			r.decodeTCP(src, dst, b)
		}
	case 132:
		r.decodeSCTP(src, dst, b)
	case 1:
		r.decodeICMP(b, depth, 3, 11, 12)
	case 58:
		r.decodeICMP(b, depth, 1, 3, 4)
	}
}

// decodeICMP looks into an ICMP or ICMPv6 error message (RFC 792, RFC 4443
// section 3), which quotes the start of the datagram that caused it. A SIP
// message found there is returned with Encap "icmp" and the addresses of the
// quoted datagram: it was sent, and the network answered with an error. Such
// messages are also counted by tshark, which dissects the quoted payload.
func (r *Reader) decodeICMP(b []byte, depth int, errorTypes ...byte) {
	if len(b) < 8 || r.cur.icmp || !slices.Contains(errorTypes, b[0]) {
		return
	}
	r.cur.icmp = true
	save := r.cur.encap
	r.cur.encap = "icmp"
	r.decodeIPAny(b[8:], depth+1)
	r.cur.encap = save
	r.cur.icmp = false
}

// decodeGRE decodes a GRE header (RFC 2784, RFC 2890 key and sequence, RFC
// 2637 enhanced GRE with acknowledgement) and its payload by protocol type.
func (r *Reader) decodeGRE(b []byte, depth int) {
	if len(b) < 4 {
		r.short()
		return
	}
	flags := binary.BigEndian.Uint16(b)
	proto := binary.BigEndian.Uint16(b[2:])
	n := 4
	if flags&0x8000 != 0 || flags&0x4000 != 0 { // checksum or routing present
		n += 4
	}
	if flags&0x2000 != 0 { // key
		n += 4
	}
	if flags&0x1000 != 0 { // sequence
		n += 4
	}
	if flags&0x0007 == 1 && flags&0x0080 != 0 { // version 1 acknowledgement
		n += 4
	}
	if len(b) < n {
		r.short()
		return
	}
	if proto != etherERSPAN2 && proto != etherERSPAN3 {
		r.setEncap("gre") // ERSPAN names itself
	}
	r.decodeEther(proto, b[n:], depth)
}

// Well-known UDP ports of tunnels whose payload is decoded.
const (
	portVXLAN = 4789 // RFC 7348
	portGTPU  = 2152 // 3GPP TS 29.281
)

// decodeUDP decodes a UDP header (RFC 768) and looks into its payload:
// tunnels by port, HEP and SIP by content.
func (r *Reader) decodeUDP(src, dst netip.Addr, b []byte, depth int) {
	if len(b) < 8 {
		r.short()
		return
	}
	sport, dport := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	n := int(binary.BigEndian.Uint16(b[4:]))
	p := b[8:]
	if n >= 8 && n-8 <= len(p) {
		p = p[:n-8]
	}
	// A tunnel port is no proof of a tunnel: SIP sent from or to port 4789
	// or 2152 starts with a start line, which a tunnel header never is
	// ("INVITE" has the VXLAN I flag set: such messages were lost).
	// The sniff runs only on those ports: it is not free, and every RTP
	// datagram passes here.
	switch {
	case (dport == portVXLAN || sport == portVXLAN) && len(p) >= 8 && p[0]&0x08 != 0 && !sipmsg.LooksLikeSIP(p):
		r.setEncap("vxlan")
		r.decodeEthernet(p[8:], depth+1)
		return
	case (dport == portGTPU || sport == portGTPU) && !sipmsg.LooksLikeSIP(p):
		if ip, ok := gtpPayload(p); ok {
			r.setEncap("gtp")
			r.decodeIPAny(ip, depth+1)
			return
		}
	}
	r.datagram(netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport), "udp", p)
}

// gtpPayload returns the T-PDU inside a GTPv1-U G-PDU message (3GPP TS
// 29.281 section 5.1), skipping the optional fields and extension headers.
func gtpPayload(b []byte) ([]byte, bool) {
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xff {
		return nil, false
	}
	n := 8
	if b[0]&0x07 != 0 { // E, S or PN: sequence, N-PDU, next extension type
		if len(b) < 12 {
			return nil, false
		}
		n = 12
		next := b[11]
		for next != 0 {
			if len(b) < n+1 {
				return nil, false
			}
			l := int(b[n]) * 4
			if l == 0 || len(b) < n+l {
				return nil, false
			}
			next = b[n+l-1]
			n += l
		}
	}
	if len(b) <= n {
		return nil, false
	}
	return b[n:], true
}

// datagram handles a message-oriented payload (UDP, one SCTP message): HEP
// by its header, else SIP by its start line.
func (r *Reader) datagram(src, dst netip.AddrPort, transport string, p []byte) {
	// RTP and RTCP start with version 2 in the top bits (RFC 3550 §5.1),
	// which no SIP start line, keep-alive or STUN message does, nor a HEP
	// header ("HEP3", or version 1 or 2 in the first byte): asked first,
	// since in a capture with media nearly every datagram is RTP.
	if r.media && transport == "udp" && len(p) >= 8 && p[0]>>6 == 2 {
		r.emitMedia(src, dst, p)
		return
	}
	if isHEP3(p) || isHEP2(p) {
		if r.hepPacket(p) {
			return
		}
	}
	m := trimKeepAlive(p)
	if len(m) == 0 {
		return
	}
	if !sipmsg.LooksLikeSIP(m) {
		if transport == "udp" && isDTLS(m) && (src.Port() == 5061 || dst.Port() == 5061) {
			r.integ.EncryptedSIP++
			r.cur.encrypted = true
			return
		}
		// Other UDP may be T.38 (UDPTL, ITU-T T.38 §9.1), which starts
		// with a sequence number: only an SDP can tell, so the media
		// analysis gets it too.
		if r.media && transport == "udp" {
			r.emitMedia(src, dst, p)
		}
		return
	}
	if r.cur.truncated {
		r.integ.Truncated++
		r.cur.truncated = false
	}
	r.emit(src, dst, transport, m)
}

// hepPacket emits the SIP message inside a HEP packet; it reports false when
// p is not a HEP packet after all.
func (r *Reader) hepPacket(p []byte) bool {
	h, err := DecodeHEP(p)
	if err != nil {
		return false
	}
	if h.Version == 3 && len(p) >= 6 {
		defer func() {
			// Several HEP3 packets may share one datagram or segment.
			if n := int(binary.BigEndian.Uint16(p[4:6])); n < len(p) && isHEP3(p[n:]) {
				r.hepPacket(p[n:])
			}
		}()
	}
	r.emitHEP(h)
	return true
}

// emitHEP emits the SIP message(s) carried by a decoded HEP packet.
func (r *Reader) emitHEP(h HEPPacket) {
	r.cur.sip = true // HEP is a SIP carrier even when it holds something else
	if r.hep != nil && !h.Time.IsZero() {
		r.lastTime = h.Time // a raw HEP stream has no frame times of its own
	}
	if h.ProtoType != 1 && h.ProtoType != 0 {
		return
	}
	saveT, saveE := r.cur.time, r.cur.encap
	if !h.Time.IsZero() {
		r.cur.time = h.Time
	}
	r.cur.encap = "hep" + string(rune('0'+h.Version))
	tr := h.Transport()
	m := trimKeepAlive(h.Payload)
	for len(m) > 0 {
		if !sipmsg.LooksLikeSIP(m) {
			r.integ.Malformed++
			break
		}
		n, ok := sipmsg.FrameLen(m)
		if !ok || tr == "udp" {
			n = len(m)
		}
		r.emit(h.Src, h.Dst, tr, m[:n])
		m = trimKeepAlive(m[n:])
	}
	r.cur.time, r.cur.encap = saveT, saveE
}

// isDTLS reports a DTLS record header (RFC 6347 section 4.1).
func isDTLS(b []byte) bool {
	return len(b) >= 13 && b[0] >= 20 && b[0] <= 23 && b[1] == 0xfe
}
