package capture

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// This file builds small captures for the input kinds the shared captures
// lack. Headers are written by hand: the reader never checks checksums.

var synthStart = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

type synthFrame struct {
	data []byte
	link layers.LinkType // pcapng only; 0 means Ethernet
	at   time.Duration   // after synthStart
	orig int             // original length when cut (0: not cut)
}

func sipRequest(method, callID string, body string) []byte {
	return []byte(method + " sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK" + callID + "\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
}

func sipResponse(code, callID string) []byte {
	return []byte("SIP/2.0 " + code + "\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK" + callID + "\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func eth(etherType uint16, payload []byte) []byte {
	return cat([]byte{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6}, be16(etherType), payload)
}

func vlan(id, etherType uint16, payload []byte) []byte {
	return cat(be16(id), be16(etherType), payload)
}

type ipv4Opts struct {
	id       uint16
	more     bool
	fragOff  int // bytes, a multiple of 8
	totalLen int // 0: computed
}

func ipv4(src, dst string, proto byte, payload []byte, o ipv4Opts) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	n := 20 + len(payload)
	if o.totalLen != 0 {
		n = o.totalLen
	}
	binary.BigEndian.PutUint16(h[2:], uint16(n))
	binary.BigEndian.PutUint16(h[4:], o.id)
	ff := uint16(o.fragOff / 8)
	if o.more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], ff)
	h[8], h[9] = 64, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return cat(h, payload)
}

func ipv6(src, dst string, next byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = next, 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return cat(h, payload)
}

func udp(sport, dport uint16, payload []byte) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(8+len(payload))), be16(0), payload)
}

func tcp(sport, dport uint16, seq uint32, flags byte, payload []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h, sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 5 << 4
	h[13] = flags | 0x10 // ACK
	binary.BigEndian.PutUint16(h[14:], 65535)
	return cat(h, payload)
}

// ethUDP is the common case: Ethernet, IPv4, UDP.
func ethUDP(src, dst string, sport, dport uint16, payload []byte) []byte {
	return eth(etherIPv4, ipv4(src, dst, 17, udp(sport, dport, payload), ipv4Opts{}))
}

func ethTCP(src, dst string, sport, dport uint16, seq uint32, flags byte, payload []byte) []byte {
	return eth(etherIPv4, ipv4(src, dst, 6, tcp(sport, dport, seq, flags, payload), ipv4Opts{}))
}

// writePcap writes frames as a little-endian pcap, with nanosecond
// timestamps when nanos is set.
func writePcap(t testing.TB, link layers.LinkType, nanos bool, frames []synthFrame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		orig := len(f.data)
		if f.orig != 0 {
			orig = f.orig
		}
		ci := gopacket.CaptureInfo{Timestamp: synthStart.Add(f.at), CaptureLength: len(f.data), Length: orig}
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writePcapBigEndian writes a big-endian, microsecond pcap by hand: pcapgo
// writes only the host's order.
func writePcapBigEndian(link layers.LinkType, frames []synthFrame) []byte {
	be := binary.BigEndian
	b := be.AppendUint32(nil, 0xa1b2c3d4)
	b = be.AppendUint16(b, 2)
	b = be.AppendUint16(b, 4)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 65535)
	b = be.AppendUint32(b, uint32(link))
	for _, f := range frames {
		ts := synthStart.Add(f.at)
		b = be.AppendUint32(b, uint32(ts.Unix()))
		b = be.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = be.AppendUint32(b, uint32(len(f.data)))
		b = be.AppendUint32(b, uint32(len(f.data)))
		b = append(b, f.data...)
	}
	return b
}

// writePcapng writes frames to a pcapng file with one interface per link
// type used.
func writePcapng(t testing.TB, frames []synthFrame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, Name: "eth0"}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ifaces := map[layers.LinkType]int{layers.LinkTypeEthernet: 0}
	for _, f := range frames {
		lt := f.link
		if lt == 0 {
			lt = layers.LinkTypeEthernet
		}
		id, ok := ifaces[lt]
		if !ok {
			if id, err = w.AddInterface(pcapgo.NgInterface{LinkType: lt, Name: "if" + itoa(len(ifaces))}); err != nil {
				t.Fatal(err)
			}
			ifaces[lt] = id
		}
		ci := gopacket.CaptureInfo{Timestamp: synthStart.Add(f.at), CaptureLength: len(f.data), Length: len(f.data), InterfaceIndex: id}
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// hep3 builds a HEP3 packet with the generic chunks; compress puts the
// payload in a zlib-compressed chunk (0x0010).
func hep3(src, dst netip.AddrPort, proto byte, ts time.Time, payload []byte, compress bool) []byte {
	chunk := func(typ uint16, v []byte) []byte {
		return cat(be16(0), be16(typ), be16(uint16(6+len(v))), v)
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	fam, sa, da := byte(2), uint16(hepChunkSrcIPv4), uint16(hepChunkDstIPv4)
	if src.Addr().Is6() {
		fam, sa, da = 10, hepChunkSrcIPv6, hepChunkDstIPv6
	}
	pl := chunk(hepChunkPayload, payload)
	if compress {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(payload)
		zw.Close()
		pl = chunk(hepChunkCompressed, z.Bytes())
	}
	body := cat(
		chunk(hepChunkFamily, []byte{fam}),
		chunk(hepChunkProtocol, []byte{proto}),
		chunk(sa, src.Addr().AsSlice()),
		chunk(da, dst.Addr().AsSlice()),
		chunk(hepChunkSrcPort, be16(src.Port())),
		chunk(hepChunkDstPort, be16(dst.Port())),
		chunk(hepChunkTimeSec, u32(uint32(ts.Unix()))),
		chunk(hepChunkTimeUsec, u32(uint32(ts.Nanosecond()/1000))),
		chunk(hepChunkProtoType, []byte{1}),
		chunk(hepChunkCaptureID, u32(2001)),
		chunk(0x0e, []byte("secret")),
		cat(be16(0x1234), be16(1), be16(7), []byte{9}), // a vendor chunk, skipped
		pl,
	)
	return cat([]byte("HEP3"), be16(uint16(6+len(body))), body)
}

// hep2 builds a HEP2 packet for IPv4 (header, addresses, little-endian time,
// capture id, padding).
func hep2(src, dst netip.AddrPort, proto byte, ts time.Time, payload []byte) []byte {
	h := []byte{2, 16, 2, proto}
	h = append(h, be16(src.Port())...)
	h = append(h, be16(dst.Port())...)
	h = append(h, src.Addr().AsSlice()...)
	h = append(h, dst.Addr().AsSlice()...)
	h = binary.LittleEndian.AppendUint32(h, uint32(ts.Unix()))
	h = binary.LittleEndian.AppendUint32(h, uint32(ts.Nanosecond()/1000))
	h = binary.LittleEndian.AppendUint16(h, 7)
	h = append(h, 0, 0)
	return cat(h, payload)
}

// wsFrameBytes builds a WebSocket frame, masked with key when key is set.
func wsFrameBytes(fin bool, op byte, key []byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch n := len(payload); {
	case n < 126:
		h = []byte{b0, byte(n)}
	case n < 65536:
		h = cat([]byte{b0, 126}, be16(uint16(n)))
	default:
		h = binary.BigEndian.AppendUint64([]byte{b0, 127}, uint64(n))
	}
	p := bytes.Clone(payload)
	if key != nil {
		h[1] |= 0x80
		h = append(h, key...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return cat(h, p)
}
