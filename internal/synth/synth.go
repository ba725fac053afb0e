// Package synth writes synthetic SIP captures for benchmarks and load
// tests: calls and registrations between a few dozen phones, a PBX and a
// provider, with the usual mix of outcomes (answered, busy, rejected,
// cancelled, unanswered, challenged). The output is deterministic for a
// given seed.
package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Options shape a synthetic capture.
type Options struct {
	Bytes int64     // stop after about this many bytes of capture
	Seed  uint64    // the same seed gives the same capture
	Start time.Time // time of the first packet
	// RTP adds the media of answered calls (G.711, 20 ms packets both
	// ways), as in a real capture, where most packets are not SIP.
	RTP bool
}

// Stats says what was written.
type Stats struct {
	Packets, Calls, Registrations, RTPPackets int
	Bytes                                     int64
}

type writer struct {
	rtp   bool
	w     *pcapgo.Writer
	buf   gopacket.SerializeBuffer
	now   time.Time
	stats Stats
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func (w *writer) send(src, dst net.IP, sport, dport uint16, payload string, dt time.Duration) error {
	w.now = w.now.Add(dt)
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return err
	}
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload)); err != nil {
		return err
	}
	b := w.buf.Bytes()
	w.stats.Packets++
	w.stats.Bytes += int64(len(b) + 16)
	return w.w.WritePacket(gopacket.CaptureInfo{Timestamp: w.now, CaptureLength: len(b), Length: len(b)}, b)
}

// Write writes a pcap of about o.Bytes bytes to out.
func Write(out io.Writer, o Options) (Stats, error) {
	pw := pcapgo.NewWriter(out)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return Stats{}, err
	}
	start := o.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	w := &writer{w: pw, buf: gopacket.NewSerializeBuffer(), now: start, rtp: o.RTP}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	pbx := net.IPv4(192, 168, 10, 2).To4()
	provider := net.IPv4(203, 0, 113, 10).To4()
	for i := 0; w.stats.Bytes < o.Bytes; i++ {
		if i%10 == 9 {
			phone := net.IPv4(192, 168, 10, byte(20+rng.IntN(40))).To4()
			if err := w.register(rng, i, phone, pbx); err != nil {
				return w.stats, err
			}
			continue
		}
		if err := w.call(rng, i, pbx, provider); err != nil {
			return w.stats, err
		}
	}
	return w.stats, nil
}

func (w *writer) register(rng *rand.Rand, i int, phone, registrar net.IP) error {
	w.stats.Registrations++
	user := fmt.Sprintf("2%03d", rng.IntN(1000))
	cid := fmt.Sprintf("reg-%d@%s", i, phone)
	branch := func(n int) string { return fmt.Sprintf("z9hG4bK-r%d-%d", i, n) }
	req := func(cseq int, auth string) string {
		return fmt.Sprintf("REGISTER sip:pbx.example SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@pbx.example>;tag=f%d\r\nTo: <sip:%s@pbx.example>\r\nCall-ID: %s\r\nCSeq: %d REGISTER\r\n"+
			"Contact: <sip:%s@%s:5060>\r\nExpires: 3600\r\n%sUser-Agent: synth-phone/1.0\r\nContent-Length: 0\r\n\r\n",
			phone, branch(cseq), user, i, user, cid, cseq, user, phone, auth)
	}
	resp := func(cseq int, status string, extra string) string {
		return fmt.Sprintf("SIP/2.0 %s\r\nVia: SIP/2.0/UDP %s:5060;branch=%s;rport=5060;received=%s\r\n"+
			"From: <sip:%s@pbx.example>;tag=f%d\r\nTo: <sip:%s@pbx.example>;tag=t%d\r\nCall-ID: %s\r\nCSeq: %d REGISTER\r\n%sServer: synth-pbx/2.0\r\nContent-Length: 0\r\n\r\n",
			status, phone, branch(cseq), phone, user, i, user, i, cid, cseq, extra)
	}
	nonce := fmt.Sprintf("%016x", rng.Uint64())
	steps := []struct {
		fromPhone bool
		msg       string
	}{
		{true, req(1, "")},
		{false, resp(1, "401 Unauthorized", fmt.Sprintf("WWW-Authenticate: Digest realm=\"pbx.example\", nonce=\"%s\", algorithm=MD5\r\n", nonce))},
		{true, req(2, fmt.Sprintf("Authorization: Digest username=\"%s\", realm=\"pbx.example\", nonce=\"%s\", uri=\"sip:pbx.example\", response=\"%032x\"\r\n", user, nonce, rng.Uint64()))},
	}
	if rng.IntN(8) == 0 {
		steps = append(steps, struct {
			fromPhone bool
			msg       string
		}{false, resp(2, "403 Forbidden", "")})
	} else {
		steps = append(steps, struct {
			fromPhone bool
			msg       string
		}{false, resp(2, "200 OK", "Expires: 3600\r\n")})
	}
	for _, s := range steps {
		src, dst := phone, registrar
		if !s.fromPhone {
			src, dst = registrar, phone
		}
		if err := w.send(src, dst, 5060, 5060, s.msg, time.Duration(2+rng.IntN(20))*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) call(rng *rand.Rand, i int, pbx, provider net.IP) error {
	w.stats.Calls++
	caller := fmt.Sprintf("0201234%03d", rng.IntN(1000))
	callee := fmt.Sprintf("06%08d", rng.IntN(100000000))
	cid := fmt.Sprintf("call-%d-%x@%s", i, rng.Uint32(), pbx)
	br := fmt.Sprintf("z9hG4bK-c%d", i)
	ftag := fmt.Sprintf("f%d", i)
	ttag := fmt.Sprintf("t%d", i)
	sdp := fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", i, pbx, pbx, 10000+2*(i%20000))
	hdr := func(start, via, to, cseq string, extra string, body string) string {
		ct := ""
		if body != "" {
			ct = "Content-Type: application/sdp\r\n"
		}
		return fmt.Sprintf("%s\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: \"Office\" <sip:%s@pbx.example>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"+
			"Contact: <sip:%s@%s:5060>\r\n%s%sContent-Length: %d\r\n\r\n%s", start, via, caller, ftag, to, cid, cseq, caller, pbx, extra, ct, len(body), body)
	}
	via := fmt.Sprintf("SIP/2.0/UDP %s:5060;branch=%s", pbx, br)
	toNoTag := fmt.Sprintf("<sip:%s@provider.example>", callee)
	toTag := toNoTag + ";tag=" + ttag
	out := func(msg string, dt time.Duration) error { return w.send(pbx, provider, 5060, 5060, msg, dt) }
	in := func(msg string, dt time.Duration) error { return w.send(provider, pbx, 5060, 5060, msg, dt) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	invite := hdr("INVITE sip:"+callee+"@provider.example SIP/2.0", via, toNoTag, "1 INVITE", "User-Agent: synth-pbx/2.0\r\n", sdp)
	if err := out(invite, ms(5+rng.IntN(200))); err != nil {
		return err
	}
	kind := rng.IntN(100)
	if kind < 3 { // no answer at all: seven transmissions (Timer A)
		for k, d := range []int{500, 1000, 2000, 4000, 4000, 4000} {
			_ = k
			if err := out(invite, ms(d)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := in(hdr("SIP/2.0 100 Trying", via, toNoTag, "1 INVITE", "", ""), ms(20)); err != nil {
		return err
	}
	final := func(status string, extra string) error {
		if err := in(hdr("SIP/2.0 "+status, via, toTag, "1 INVITE", "Server: synth-provider/3.1\r\n"+extra, ""), ms(300+rng.IntN(3000))); err != nil {
			return err
		}
		return out(hdr("ACK sip:"+callee+"@provider.example SIP/2.0", via, toTag, "1 ACK", "", ""), ms(2))
	}
	switch {
	case kind < 10:
		return final("486 Busy Here", "")
	case kind < 14:
		return final("404 Not Found", "")
	case kind < 17:
		return final("503 Service Unavailable", "Retry-After: 60\r\n")
	case kind < 19:
		return final("488 Not Acceptable Here", "Warning: 305 provider.example \"Incompatible media format\"\r\n")
	}
	if err := in(hdr("SIP/2.0 180 Ringing", via, toTag, "1 INVITE", "", ""), ms(100+rng.IntN(900))); err != nil {
		return err
	}
	if kind < 27 { // the caller hangs up while it rings
		cancelVia := via
		if err := out(hdr("CANCEL sip:"+callee+"@provider.example SIP/2.0", cancelVia, toNoTag, "1 CANCEL", "", ""), ms(3000+rng.IntN(9000))); err != nil {
			return err
		}
		if err := in(hdr("SIP/2.0 200 OK", cancelVia, toTag, "1 CANCEL", "", ""), ms(15)); err != nil {
			return err
		}
		return final("487 Request Terminated", "")
	}
	if kind < 32 {
		return final("480 Temporarily Unavailable", "")
	}
	answer := fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", i, provider, provider, 20000+2*(i%20000))
	if err := in(hdr("SIP/2.0 200 OK", via, toTag, "1 INVITE", "Server: synth-provider/3.1\r\n", answer), ms(2000+rng.IntN(8000))); err != nil {
		return err
	}
	ackVia := fmt.Sprintf("SIP/2.0/UDP %s:5060;branch=%s-ack", pbx, br)
	if err := out(hdr("ACK sip:"+callee+"@provider.example SIP/2.0", ackVia, toTag, "1 ACK", "", ""), ms(3)); err != nil {
		return err
	}
	talk := ms(10000 + rng.IntN(300000))
	if w.rtp {
		if err := w.media(pbx, provider, uint16(10000+2*(i%20000)), uint16(20000+2*(i%20000)), talk); err != nil {
			return err
		}
		talk = ms(20)
	}
	byeVia := fmt.Sprintf("SIP/2.0/UDP %s:5060;branch=%s-bye", pbx, br)
	if err := out(hdr("BYE sip:"+callee+"@provider.example SIP/2.0", byeVia, toTag, "2 BYE", "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n", ""), talk); err != nil {
		return err
	}
	return in(hdr("SIP/2.0 200 OK", byeVia, toTag, "2 BYE", "", ""), ms(25))
}

// media writes G.711 RTP both ways for d: a 12-byte RTP header and 160
// bytes of audio every 20 ms (RFC 3550, RFC 3551 payload type 8).
func (w *writer) media(a, b net.IP, pa, pb uint16, d time.Duration) error {
	payload := make([]byte, 172)
	payload[0], payload[1] = 0x80, 8
	for t, seq := time.Duration(0), uint16(0); t < d; t, seq = t+20*time.Millisecond, seq+1 {
		payload[2], payload[3] = byte(seq>>8), byte(seq)
		ts := uint32(seq) * 160
		payload[4], payload[5], payload[6], payload[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		if err := w.send(a, b, pa, pb, string(payload), 10*time.Millisecond); err != nil {
			return err
		}
		if err := w.send(b, a, pb, pa, string(payload), 10*time.Millisecond); err != nil {
			return err
		}
		w.stats.RTPPackets += 2
	}
	return nil
}
