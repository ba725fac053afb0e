package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/sipcause/sipcause/sipmsg"
)

// FuzzOpen feeds arbitrary files to Open and reads them to the end: no input
// may panic, loop or grow memory without bound. Seeds are the synthetic
// captures and the small shared ones.
func FuzzOpen(f *testing.F) {
	for _, data := range synthCaptures(f) {
		f.Add(data)
	}
	for _, name := range []string{
		"zeek__sip-junk-before-request.pcap", "nDPI__gre.pcapng", "heplify__sip_sctp.pcap",
		"PcapPlusPlus__sip_non_default_port.pcap", "suricata-verify__sip-tcp-method__sip-tcp.pcap",
		"rtcagent__dump.pcap", "sngrep__ipip.pcap",
	} {
		if data, err := os.ReadFile(filepath.Join(sharedCaptures, name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 100000 {
			p, err := r.Next()
			if err != nil {
				if err != io.EOF && r.Integrity().SIPMessages < 0 {
					t.Fatal("negative count")
				}
				return
			}
			if !sipmsg.LooksLikeSIP(p.Payload) {
				t.Fatalf("payload is not SIP: %q", p.Payload)
			}
		}
		t.Fatal("no end after 100000 packets")
	})
}

// FuzzHEP decodes arbitrary HEP packets: no panic, and a decoded payload
// stays within the input unless it was decompressed.
func FuzzHEP(f *testing.F) {
	f.Add(hep3(alice, bob, 17, synthStart, sipRequest("INVITE", "f", ""), false))
	f.Add(hep3(alice6, bob6, 6, synthStart, sipResponse("200 OK", "f"), true))
	f.Add(hep2(alice, bob, 17, synthStart, sipRequest("OPTIONS", "f", "")))
	f.Add([]byte("HEP3\x00\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeHEP(data)
		if err != nil {
			return
		}
		if !p.Compressed && len(p.Payload) > len(data) {
			t.Fatalf("payload %d bytes from %d bytes of input", len(p.Payload), len(data))
		}
		if len(p.Payload) > maxHEPInflate {
			t.Fatalf("payload %d bytes, limit %d", len(p.Payload), maxHEPInflate)
		}
	})
}

// fuzzCPUGuard fails a fuzz input that took longer than a reassembler
// linear in its bytes ever should: the super-linear cases the review found
// (H5, M2) took seconds to minutes for a few MB.
func fuzzCPUGuard(t *testing.T, start time.Duration, what string, n int) {
	if used := cpuNow() - start; used > time.Second+time.Duration(n)*time.Microsecond {
		t.Fatalf("%s: %v of CPU for %d bytes of input", what, used, n)
	}
}

// FuzzFragments reassembles IPv4 and IPv6 fragments described by the
// input: each 4 bytes are one fragment (offset in units, length in units,
// flags: more, v6, which datagram), all carrying slices of one SIP
// message. No panic, memory within maxFragBytes, time linear in the input.
func FuzzFragments(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 10, 0, 10, 0})
	f.Add([]byte{20, 0, 5, 0, 0, 0, 20, 1, 1, 0, 20, 1, 0, 0, 30, 3, 20, 0, 10, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		sip := udp(5060, 5060, sipRequest("OPTIONS", "frag", strings.Repeat("x", 600)))
		var frames []synthFrame
		for i := 0; i+4 <= len(data) && len(frames) < 20000; i += 4 {
			off, size, flags := int(data[i])*8, int(data[i+1])*8+int(data[i+2]), data[i+3]
			more, v6, id := flags&1 != 0, flags&2 != 0, uint16(flags>>2)
			p := make([]byte, size)
			if off < len(sip) {
				copy(p, sip[off:])
			}
			if v6 {
				fo := uint16(off)
				if more {
					fo |= 1
				}
				fh := cat([]byte{17, 0}, be16(fo), binary.BigEndian.AppendUint32(nil, uint32(id)))
				frames = append(frames, synthFrame{data: eth(0x86dd, ipv6("2001:db8::1", "2001:db8::2", 44, cat(fh, p)))})
			} else {
				frames = append(frames, synthFrame{data: eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, p, ipv4Opts{id: id, more: more, fragOff: off}))})
			}
		}
		pcap := writePcap(t, layers.LinkTypeEthernet, false, frames)
		start := cpuNow()
		r, err := Open("frag", bytes.NewReader(pcap))
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			if r.frags.bytes > maxFragBytes+maxFragSets*1100 {
				t.Fatalf("%d bytes held in fragments", r.frags.bytes)
			}
		}
		fuzzCPUGuard(t, start, "fragments", len(pcap))
	})
}

// FuzzTCPSegments reassembles a SIP-over-TCP stream cut into segments
// the input describes (relative sequence number, length), in any order,
// with gaps and overlaps. No panic, every message read is SIP, time
// linear in the input.
func FuzzTCPSegments(f *testing.F) {
	f.Add([]byte{0, 0, 200, 0, 200, 255})
	f.Add([]byte{1, 0, 100, 0, 0, 50, 0, 50, 255, 1, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var stream []byte
		for i := range 5 {
			stream = append(stream, sipRequest("MESSAGE", "tcp-"+itoa(i), strings.Repeat("b", 300))...)
		}
		src, dst := netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("192.0.2.2:5060")
		var frames []synthFrame
		for i := 0; i+3 <= len(data) && len(frames) < 20000; i += 3 {
			off := int(binary.BigEndian.Uint16(data[i:])) % len(stream)
			end := min(len(stream), off+int(data[i+2])*4)
			frames = append(frames, synthFrame{data: tcpSeg(src, dst, uint32(1000+off), 0, stream[off:end])})
		}
		pcap := writePcap(t, layers.LinkTypeEthernet, false, frames)
		start := cpuNow()
		r, err := Open("tcp", bytes.NewReader(pcap))
		if err != nil {
			t.Fatal(err)
		}
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			if !sipmsg.LooksLikeSIP(p.Payload) {
				t.Fatalf("payload is not SIP: %q", p.Payload)
			}
		}
		fuzzCPUGuard(t, start, "tcp", len(pcap))
	})
}

// FuzzHEPStream reads a raw HEP stream (HEP3 packets, HEP2 headers with a
// SIP message each) as a file: no panic, time linear in the input.
func FuzzHEPStream(f *testing.F) {
	f.Add(cat(hep3(alice, bob, 17, synthStart, sipRequest("INVITE", "s", ""), false), hep2(alice, bob, 17, synthStart, sipRequest("BYE", "s", ""))))
	f.Add(hep2(alice, bob, 17, synthStart, sipRequest("MESSAGE", "s", strings.Repeat("z", 3000))))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := cpuNow()
		r, err := Open("hep", bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 100000 {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		fuzzCPUGuard(t, start, "hep stream", len(data))
	})
}
