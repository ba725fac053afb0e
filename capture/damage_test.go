package capture

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestTruncatedFile cuts a capture inside its fourth record: the three
// frames before it come out, then a *FrameError naming the file and frame 4.
func TestTruncatedFile(t *testing.T) {
	var frames []synthFrame
	for i, code := range []string{"100 Trying", "180 Ringing", "200 OK", "486 Busy Here"} {
		frames = append(frames, synthFrame{data: udpEthFrame(bob, alice, sipResponse(code, "d1")), at: ms * time.Duration(i)})
	}
	whole := writePcap(t, layers.LinkTypeEthernet, false, frames)
	for _, cut := range []int{len(whole) - 10, len(whole) - len(frames[3].data) - 8} { // inside the data, inside the record header
		r, err := Open("cut.pcap", bytes.NewReader(whole[:cut]))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		for {
			_, err = r.Next()
			if err != nil {
				break
			}
			got++
		}
		var fe *FrameError
		if !errors.As(err, &fe) {
			t.Fatalf("cut at %d: err = %v, want *FrameError", cut, err)
		}
		if got != 3 || fe.File != "cut.pcap" || fe.Frame != 4 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %d packets, %v (frame %d); want 3 packets then frame 4", cut, got, err, fe.Frame)
		}
		if _, again := r.Next(); again != err {
			t.Errorf("Next after the error = %v, want the same error", again)
		}
	}
}

// TestOpenErrors checks format detection failures.
func TestOpenErrors(t *testing.T) {
	for _, in := range []string{"", "hello world\n", "\x00\x01\x02\x03 not a capture"} {
		_, err := Open("x.bin", bytes.NewReader([]byte(in)))
		var fe *FormatError
		if !errors.As(err, &fe) || err.Error() != "capture: x.bin: not a pcap, pcapng, HEP or SIP log file" {
			t.Errorf("Open(%q) = %v, want *FormatError", in, err)
		}
	}
	// A pcap header cut short is damage, not an unknown format.
	whole := writePcap(t, layers.LinkTypeEthernet, false, nil)
	if _, err := Open("short.pcap", bytes.NewReader(whole[:10])); err == nil {
		t.Error("Open of a 10-byte pcap succeeded")
	}
}

// TestLimits checks that pending fragments and streams stay bounded.
func TestLimits(t *testing.T) {
	var frames []synthFrame
	for i := range maxFragSets + 10 {
		frames = append(frames, synthFrame{data: eth(etherIPv4, ipv4("192.0.2.1", "192.0.2.2", 17, make([]byte, 64), ipv4Opts{id: uint16(i), more: true}))})
	}
	r, err := Open("frag.pcap", bytes.NewReader(writePcap(t, layers.LinkTypeEthernet, false, frames)))
	if err != nil {
		t.Fatal(err)
	}
	for r.err == nil {
		r.step()
		if r.frags.len() > maxFragSets || r.frags.bytes > maxFragBytes {
			t.Fatalf("%d fragment sets pending, limit %d", r.frags.len(), maxFragSets)
		}
	}
	if got := r.Integrity().FragmentsIncomplete; got != maxFragSets+10 {
		t.Errorf("FragmentsIncomplete = %d, want %d", got, maxFragSets+10)
	}
}

// TestStreamLimits opens more TCP streams than the table holds, each with
// half a SIP message: the table stays within its stream and byte limits and
// the evicted halves are counted as truncated.
func TestStreamLimits(t *testing.T) {
	half := sipRequest("INVITE", "big", string(bytes.Repeat([]byte("b"), 4000)))[:1400]
	var frames []synthFrame
	n := maxStreams + 100
	for i := range n {
		src := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1024+i))
		frames = append(frames, synthFrame{data: tcpSeg(src, bob, 1, 0, half)})
	}
	r, err := Open("streams.pcap", bytes.NewReader(writePcap(t, layers.LinkTypeEthernet, false, frames)))
	if err != nil {
		t.Fatal(err)
	}
	for r.err == nil {
		r.step()
		if len(r.streams.m) > maxStreams || r.streams.bytes > maxStreamBytes {
			t.Fatalf("%d streams holding %d bytes", len(r.streams.m), r.streams.bytes)
		}
	}
	if got := r.Integrity().Truncated; got != n {
		t.Errorf("Truncated = %d, want %d", got, n)
	}
}

// TestTrickle sends a large message one byte per segment: it must come out
// once, whole, at its last byte, without rescanning the buffer per segment.
func TestTrickle(t *testing.T) {
	msg := sipRequest("MESSAGE", "slow", string(bytes.Repeat([]byte("s"), 30000)))
	frames := make([]synthFrame, 0, len(msg))
	for i := range msg {
		frames = append(frames, synthFrame{data: tcpSeg(alice, bob, uint32(1+i), 0, msg[i:i+1])})
	}
	// CPU time, not wall time: on a shared machine under -race the wall
	// clock said 2.5 s for work of a few hundred milliseconds.
	start := cpuNow()
	pkts, _, err := readAll(t, writeTemp(t, writePcap(t, layers.LinkTypeEthernet, false, frames)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 1 || !bytes.Equal(pkts[0].Payload, msg) || pkts[0].Frame != len(msg) {
		t.Fatalf("%d packets; want the whole message at frame %d", len(pkts), len(msg))
	}
	if d := cpuNow() - start; d > 2*time.Second {
		t.Errorf("took %v of CPU", d)
	}
}

func writeTemp(t *testing.T, data []byte) string {
	path := filepath.Join(t.TempDir(), "capture")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
