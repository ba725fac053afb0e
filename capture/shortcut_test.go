package capture

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// readMedia reads a capture with media on, with or without the plainRTP
// shortcut, and describes every packet, the integrity counts and the
// error in one string.
func readMedia(data []byte, shortcut bool) string { return readMediaTo(data, shortcut, false) }

// readMediaTo is readMedia with the plain RTP taken by a media sink
// (SetMediaSink) when sink is set.
func readMediaTo(data []byte, shortcut, sink bool) string {
	r, err := Open("x", bytes.NewReader(data))
	if err != nil {
		return "open: " + err.Error()
	}
	r.SetMedia(true)
	r.noShortcut = !shortcut
	var b strings.Builder
	if sink {
		r.SetMediaSink(func(p *Packet) {
			fmt.Fprintf(&b, "%d %s %s %s %s %q %v %x\n", p.Frame, p.Time.Format(time.RFC3339Nano), p.Src, p.Dst, p.Transport, p.Encap, p.Media, p.Payload)
		})
	}
	for {
		p, err := r.NextRef()
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(&b, "error %v\n", err)
			}
			break
		}
		fmt.Fprintf(&b, "%d %s %s %s %s %q %v %x\n", p.Frame, p.Time.Format(time.RFC3339Nano), p.Src, p.Dst, p.Transport, p.Encap, p.Media, p.Payload)
	}
	fmt.Fprintf(&b, "%+v %v", r.Integrity(), r.LastFrameTime())
	return b.String()
}

// rtpBytes is an RTP packet (RFC 3550 §5.1) of payload type 8 with n
// payload bytes.
func rtpBytes(seq uint16, n int) []byte {
	return cat([]byte{0x80, 8}, be16(seq), []byte{0, 0, 0, 160, 0, 0, 0, 7}, make([]byte, n))
}

// The shortcut for plain RTP frames hands on exactly what the full
// decoding does, on the shared captures and on frames made to sit at each
// of its limits: IP options, fragments, lengths beyond the frame or below
// the header, Ethernet padding, tunnel ports, VLAN tags, datagrams that
// are not RTP, short ones.
func TestPlainRTPShortcut(t *testing.T) {
	rtp := rtpBytes(1, 160)
	opts := eth(etherIPv4, func() []byte { // IHL 6: one option word
		b := ipv4("10.0.0.1", "10.0.0.2", 17, cat([]byte{0, 0, 0, 0}, udp(4000, 5000, rtp)), ipv4Opts{})
		b[0] = 0x46
		return b
	}())
	udpLen := func(n uint16) []byte {
		u := udp(4000, 5000, rtp)
		copy(u[4:], be16(n))
		return eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, u, ipv4Opts{}))
	}
	frames := [][]byte{
		ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, rtp),
		cat(ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, rtpBytes(2, 20)), make([]byte, 30)), // padded
		ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, rtpBytes(3, 0)),                         // header only
		ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, []byte{0x80, 8, 0, 4, 0, 0, 0}),         // 7 bytes
		ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")),
		ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, cat([]byte{0x00, 0x05}, make([]byte, 30))), // UDPTL-like
		ethUDP("10.0.0.1", "10.0.0.2", portVXLAN, 5000, rtp),
		ethUDP("10.0.0.1", "10.0.0.2", 4000, portVXLAN, cat([]byte{0x88}, rtp[1:])),
		ethUDP("10.0.0.1", "10.0.0.2", portGTPU, 5000, rtp),
		ethUDP("10.0.0.1", "10.0.0.2", 4000, portGTPU, rtp),
		opts,
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtp), ipv4Opts{id: 9, more: true})),
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, rtp, ipv4Opts{id: 9, fragOff: 176})),
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtp), ipv4Opts{totalLen: 400})),
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtp), ipv4Opts{totalLen: 10})),
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtp), ipv4Opts{totalLen: 30})),
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 6, udp(4000, 5000, rtp), ipv4Opts{})),
		eth(etherVLAN, vlan(7, etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtp), ipv4Opts{}))),
		udpLen(3), udpLen(8), udpLen(20), udpLen(2000),
		eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtp), ipv4Opts{}))[:60], // cut by the snap length
	}
	var synth []synthFrame
	for i, f := range frames {
		synth = append(synth, synthFrame{data: f, at: time.Duration(i) * time.Millisecond})
		if i == len(frames)-1 {
			synth[i].orig = 300
		}
	}
	inputs := map[string][]byte{"limits": writePcap(t, layers.LinkTypeEthernet, false, synth)}
	for name, data := range synthCaptures(t) {
		inputs[name] = data
	}
	shared, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*"))
	for _, path := range shared {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(path)] = data
	}
	media := 0
	for name, data := range inputs {
		long, short := readMedia(data, false), readMedia(data, true)
		if long != short {
			t.Errorf("%s: the shortcut differs from the full decoding:\n got %.600s\nwant %.600s", name, short, long)
		}
		// A media sink gets the same datagrams, in the same order with
		// the messages.
		if sunk := readMediaTo(data, true, true); sunk != long {
			t.Errorf("%s: with a media sink:\n got %.600s\nwant %.600s", name, sunk, long)
		}
		media += strings.Count(long, " true ")
	}
	if media < 5000 {
		t.Errorf("%d media datagrams in %d inputs: the shared captures are missing", media, len(inputs))
	}
	// The shortcut takes plain RTP, padded or not, and leaves the rest.
	r := &Reader{media: true}
	for i, want := range []bool{true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false} {
		if got := r.plainRTP(frames[i]); got != want {
			t.Errorf("frame %d: shortcut %v, want %v", i+1, got, want)
		}
	}
	if len(r.out) != 3 || r.out[1].Src.String() != "10.0.0.1:4000" || len(r.out[1].Payload) != 32 {
		t.Errorf("shortcut packets %+v", r.out)
	}
}

// FuzzPlainRTPShortcut: on any frame, the shortcut and the full decoding
// agree.
func FuzzPlainRTPShortcut(f *testing.F) {
	f.Add(ethUDP("10.0.0.1", "10.0.0.2", 4000, 5000, rtpBytes(1, 160)))
	f.Add(ethUDP("10.0.0.1", "10.0.0.2", 4000, portGTPU, rtpBytes(1, 16)))
	f.Add(eth(etherIPv4, ipv4("10.0.0.1", "10.0.0.2", 17, udp(4000, 5000, rtpBytes(1, 16)), ipv4Opts{totalLen: 30})))
	f.Fuzz(func(t *testing.T, frame []byte) {
		data := writePcap(t, layers.LinkTypeEthernet, false, []synthFrame{{data: frame}, {data: frame, at: time.Millisecond}})
		if long, short := readMedia(data, false), readMedia(data, true); long != short {
			t.Fatalf("shortcut:\n%s\nfull decoding:\n%s", short, long)
		}
		if long, sunk := readMedia(data, false), readMediaTo(data, true, true); long != sunk {
			t.Fatalf("media sink:\n%s\nfull decoding:\n%s", sunk, long)
		}
	})
}
