package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/sipmsg"
)

// hep2Packet is a HEP2 header (IPv4, UDP) followed by one SIP message.
func hep2Packet(sip []byte) []byte {
	h := []byte{2, 28, 2, 17}
	h = binary.BigEndian.AppendUint16(h, 5060)
	h = binary.BigEndian.AppendUint16(h, 5060)
	h = append(h, 10, 0, 0, 1, 10, 0, 0, 2)
	h = binary.BigEndian.AppendUint32(h, uint32(time.Now().Unix()))
	h = binary.BigEndian.AppendUint32(h, 0)
	h = append(h, 0, 1, 0, 0)
	return append(h, sip...)
}

// chunks returns at most n bytes per Read: a sender trickling its bytes.
type chunks struct {
	r io.Reader
	n int
}

func (c chunks) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// TestHEP2Trickle is the review's M2: a 61 KB HEP2 message arriving 3
// bytes at a time. Before, every 3 bytes re-decoded and re-scanned all
// that had arrived (4.7 s of CPU for one message); now the scan resumes
// where it stopped.
func TestHEP2Trickle(t *testing.T) {
	body := strings.Repeat("a", 60000)
	sip := []byte("MESSAGE sip:x@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nCall-ID: trickle@x\r\nCSeq: 1 MESSAGE\r\n" +
		"X-Pad: " + strings.Repeat("p", 1000) + "\r\nContent-Length: 60000\r\n\r\n" + body)
	pkt := hep2Packet(sip)
	stream := append(bytes.Clone(pkt), pkt...)
	br := bufio.NewReaderSize(chunks{bytes.NewReader(stream), 3}, hepStreamBuffer)
	cpu := cpuTime()
	var fr sipFramer
	for range 2 {
		fr = sipFramer{}
		n, err := hepFrameLen(br, &fr)
		if err != nil || n != len(pkt) {
			t.Fatalf("frame length %d, %v; want %d", n, err, len(pkt))
		}
		br.Discard(n)
	}
	used := cpuTime() - cpu
	t.Logf("two 61 KB HEP2 messages in 3-byte reads: %v of CPU", used)
	if used > 500*time.Millisecond {
		t.Errorf("two 61 KB messages trickled 3 bytes at a time took %v of CPU", used)
	}
}

// TestHEP2TrickleCollector sends the same over a real connection in small
// writes, with a call after it, and expects both stored.
func TestHEP2TrickleCollector(t *testing.T) {
	r := startCollector(t, "", CollectorOptions{})
	c, err := net.Dial("tcp", r.col.HEPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sip := []byte("INVITE sip:x@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x@10.0.0.2>\r\nCall-ID: trickle@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	resp := []byte("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x@10.0.0.2>;tag=2\r\nCall-ID: trickle@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	stream := append(hep2Packet(sip), hep2Packet(resp)...)
	for len(stream) > 0 {
		k := min(len(stream), 7)
		c.Write(stream[:k])
		stream = stream[k:]
		time.Sleep(100 * time.Microsecond)
	}
	r.waitReceived(t, 2)
	r.stop(t)
	if s := r.m.Snapshot(); s.Analyzed != 2 || s.Malformed != 0 {
		t.Errorf("%+v; want 2 analyzed", s)
	}
}

// FuzzSIPFramer: the resumable framer gives sipmsg.FrameLen's answer
// whatever the pieces the stream arrives in, and in time linear in it.
func FuzzSIPFramer(f *testing.F) {
	f.Add([]byte("\r\n\r\nOPTIONS sip:x SIP/2.0\r\nl: 3\r\n\r\nabcdef"), uint8(1))
	f.Add([]byte("SIP/2.0 200 OK\nContent-Length:  5\n\nhello"), uint8(3))
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nContent-Length: +5\r\n\r\n12345"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		k := int(step%16) + 1
		var fr sipFramer
		start := time.Now()
		for end := min(k, len(data)); ; end = min(end+k, len(data)) {
			n, ok := fr.frameLen(data[:end])
			wn, wok := sipmsg.FrameLen(data[:end])
			if n != wn || ok != wok {
				t.Fatalf("after %d bytes: framer %d %v, FrameLen %d %v", end, n, ok, wn, wok)
			}
			if ok || end == len(data) {
				break
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%d bytes in steps of %d took %v", len(data), k, d)
		}
	})
}
