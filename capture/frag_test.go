package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readBytes returns the payloads of every packet in a capture.
func readBytes(t *testing.T, name string, data []byte) ([]Packet, Integrity) {
	t.Helper()
	r, err := Open(name, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []Packet
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Payload = bytes.Clone(p.Payload)
		out = append(out, p)
	}
	return out, r.Integrity()
}

// TestFragmentOverlapFlood is the review's H5: one datagram whose last
// fragment comes first, then 100 000 fragments with distinct offsets and
// lengths that never cover its start, then an ordinary SIP datagram.
// Before, each fragment re-scanned, re-sorted and re-walked all before it
// (80 000 took 42 s, 200 000 did not finish in 2 minutes); now the work is
// in proportion to the bytes, and the SIP message after it is read.
func TestFragmentOverlapFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 100 000 fragments")
	}
	const n = 100000
	frames := []synthFrame{{data: eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, make([]byte, 8), ipv4Opts{id: 7, fragOff: 60000}))}}
	for i := range n {
		off := 8 * (1 + i%5000)
		size := 8 * (1 + i/5000%25)
		junk := bytes.Repeat([]byte{byte(i)}, size) // conflicting data, not a repeat
		frames = append(frames, synthFrame{data: eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, junk, ipv4Opts{id: 7, more: true, fragOff: off}))})
	}
	frames = append(frames, synthFrame{data: ethUDP("192.0.2.1", "192.0.2.2", 5060, 5060, sipRequest("OPTIONS", "after-flood", ""))})
	data := writePcap(t, layers.LinkTypeEthernet, false, frames)
	cpu, start := cpuNow(), time.Now()
	pkts, integ := readBytes(t, "overlap.pcap", data)
	used := cpuNow() - cpu
	t.Logf("%d fragments (%d MB): %v CPU, %v wall, %d overlaps", n, len(data)>>20, used, time.Since(start), integ.FragmentOverlaps)
	if used > 5*time.Second {
		t.Errorf("%v of CPU for %d fragments, want seconds at most", used, n)
	}
	if len(pkts) != 1 || !bytes.Contains(pkts[0].Payload, []byte("after-flood")) {
		t.Errorf("got %d packets, want the OPTIONS after the flood", len(pkts))
	}
	if integ.FragmentOverlaps == 0 {
		t.Error("overlapping fragments not counted")
	}
}

// TestFragmentOverlapResolution is the review's L11: a fragment carrying
// one Call-ID, then an overlapping one with another, then the last
// fragment. For IPv4 the first data wins (as tshark and Linux do: before,
// sipcause kept the later one and disagreed with tshark); an IPv6
// datagram with overlapping fragments is discarded (RFC 5722). Both are
// counted. An exact repeat of a fragment is no overlap.
func TestFragmentOverlapResolution(t *testing.T) {
	msg := sipRequest("OPTIONS", "overlap-EVIL@h", "")
	other := bytes.Replace(msg, []byte("overlap-EVIL@h"), []byte("overlap-orig@h"), 1)
	u1, u2 := udp(5060, 5060, msg), udp(5060, 5060, other)
	cut := 8 * ((len(u1) - 20) / 8) // the Call-IDs are in the first fragment
	v4 := func(p []byte, off int, more bool) synthFrame {
		return synthFrame{data: eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, p, ipv4Opts{id: 9, more: more, fragOff: off}))}
	}
	frames := []synthFrame{v4(u1[:cut], 0, true), v4(u1[:cut], 0, true), v4(u2[:cut], 0, true), v4(u1[cut:], cut, false)}
	pkts, integ := readBytes(t, "v4.pcap", writePcap(t, layers.LinkTypeEthernet, false, frames))
	if len(pkts) != 1 || !strings.Contains(string(pkts[0].Payload), "overlap-EVIL@h") {
		t.Errorf("IPv4: got %d packets, want the first data (overlap-EVIL@h)", len(pkts))
	}
	if integ.FragmentOverlaps != 1 {
		t.Errorf("IPv4: overlaps = %d, want 1 (the exact repeat is none)", integ.FragmentOverlaps)
	}

	v6 := func(p []byte, off int, more bool) synthFrame {
		fo := uint16(off)
		if more {
			fo |= 1
		}
		fh := cat([]byte{17, 0}, be16(fo), binary.BigEndian.AppendUint32(nil, 77))
		return synthFrame{data: eth(0x86dd, ipv6("2001:db8::1", "2001:db8::2", 44, cat(fh, p)))}
	}
	frames = []synthFrame{v6(u1[:cut], 0, true), v6(u2[:cut], 0, true), v6(u1[cut:], cut, false),
		{data: eth(0x86dd, ipv6("2001:db8::1", "2001:db8::2", 17, udp(5060, 5060, sipRequest("OPTIONS", "next@h", ""))))}}
	pkts, integ = readBytes(t, "v6.pcap", writePcap(t, layers.LinkTypeEthernet, false, frames))
	if len(pkts) != 1 || !strings.Contains(string(pkts[0].Payload), "next@h") {
		t.Errorf("IPv6: got %d packets, want only the datagram after the discarded one", len(pkts))
	}
	if integ.FragmentOverlaps != 1 {
		t.Errorf("IPv6: overlaps = %d, want 1", integ.FragmentOverlaps)
	}
}

// TestFragmentBeyondEnd: data that arrived beyond the end the last
// fragment later gives does not stand in for a hole before it.
func TestFragmentBeyondEnd(t *testing.T) {
	u := udp(5060, 5060, sipRequest("OPTIONS", "beyond@h", ""))
	cut := 8 * ((len(u) - 20) / 8)
	v4 := func(p []byte, off int, more bool) synthFrame {
		return synthFrame{data: eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, p, ipv4Opts{id: 5, more: more, fragOff: off}))}
	}
	frames := []synthFrame{
		v4(make([]byte, 64), len(u)+16, true), // beyond the datagram's end
		v4(u[cut:], cut, false),               // the last fragment: the start is still missing
	}
	pkts, _ := readBytes(t, "beyond.pcap", writePcap(t, layers.LinkTypeEthernet, false, frames))
	if len(pkts) != 0 {
		t.Fatalf("reassembled %q with its start missing", pkts[0].Payload)
	}
	frames = append(frames, v4(u[:cut], 0, true))
	pkts, integ := readBytes(t, "beyond.pcap", writePcap(t, layers.LinkTypeEthernet, false, frames))
	if len(pkts) != 1 || !strings.Contains(string(pkts[0].Payload), "beyond@h") || integ.FragmentOverlaps != 1 {
		t.Errorf("got %d packets, %d overlaps; want the message and 1", len(pkts), integ.FragmentOverlaps)
	}
}

// TestUnknownLinkType is the review's L10: frames of a link type sipcause
// does not decode are counted as such, not as non-SIP.
func TestUnknownLinkType(t *testing.T) {
	frames := []synthFrame{{data: ethUDP("192.0.2.1", "192.0.2.2", 5060, 5060, sipRequest("OPTIONS", "x", ""))}, {data: []byte("abc")}, {data: []byte("def")}}
	_, integ := readBytes(t, "odd.pcap", writePcap(t, layers.LinkType(0x0FFF), false, frames))
	if integ.UnknownLinkType != 3 || integ.NonSIP != 0 {
		t.Errorf("unknown link type %d, non-SIP %d; want 3 and 0", integ.UnknownLinkType, integ.NonSIP)
	}
}

// TestSIPOnTunnelPorts is the review's L12: SIP sent from or to UDP port
// 4789 (VXLAN) or 2152 (GTP-U) is read as SIP, not taken for a tunnel
// header ("INVITE" has the VXLAN I flag set); a real VXLAN packet there is
// still decoded.
func TestSIPOnTunnelPorts(t *testing.T) {
	frames := []synthFrame{
		{data: ethUDP("192.0.2.1", "192.0.2.2", 4789, 5060, sipRequest("INVITE", "vx@h", ""))},
		{data: ethUDP("192.0.2.1", "192.0.2.2", 5060, 2152, sipRequest("OPTIONS", "gtp@h", ""))},
		{data: ethUDP("192.0.2.1", "192.0.2.2", 40000, 4789, cat([]byte{0x08, 0, 0, 0, 0, 0, 1, 0},
			ethUDP("10.0.0.1", "10.0.0.2", 5060, 5060, sipRequest("BYE", "inner@h", ""))))},
	}
	pkts, _ := readBytes(t, "ports.pcap", writePcap(t, layers.LinkTypeEthernet, false, frames))
	var ids []string
	for _, p := range pkts {
		for _, id := range []string{"vx@h", "gtp@h", "inner@h"} {
			if strings.Contains(string(p.Payload), "Call-ID: "+id) {
				ids = append(ids, id+"/"+p.Encap)
			}
		}
	}
	if strings.Join(ids, " ") != "vx@h/ gtp@h/ inner@h/vxlan" {
		t.Errorf("got %v; want the two messages on tunnel ports as SIP and the tunnelled one via vxlan", ids)
	}
}
