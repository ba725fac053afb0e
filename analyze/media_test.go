package analyze

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/sipmsg"
)

// mediaCall is an answered call whose SDP offer and answer announce
// 10.0.0.1:4000 (caller) and 198.51.100.1:5000 (callee).
var mediaCall = []string{
	"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: m\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: m\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
}

// feedCall adds the messages of a call (mediaCall when none are given),
// alternating from caller to callee.
func feedCall(t testing.TB, a *Analyzer, at time.Time, msgs ...string) {
	if len(msgs) == 0 {
		msgs = mediaCall
	}
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("198.51.100.1:5060")
	var m sipmsg.Message
	for i, s := range msgs {
		if err := sipmsg.Parse([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		a.Add(FromSIP(Meta{Frame: i + 1, Time: at.Add(time.Duration(i) * 100 * time.Millisecond), Src: src, Dst: dst, Transport: "udp"}, &m))
		src, dst = dst, src
	}
}

func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload))
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return append(b, payload...)
}

// Only the caller sends: the analyzer says one-way audio, from the
// caller to the called party, with the caller's stream claimed by the SDP
// and its DTMF digits read.
func TestMediaOneWay(t *testing.T) {
	a := New(Options{})
	a.EnableMedia()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feedCall(t, a, t0)
	src, dst := netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("198.51.100.1:5000")
	for i := range 100 {
		pt, ts, payload := uint8(8), uint32(i*160), bytes.Repeat([]byte{0xd5}, 160)
		if i >= 50 && i < 53 {
			// Digit 5 (RFC 4733): the end packet sent three times, one timestamp.
			pt, ts, payload = 101, 50*160, []byte{5, 0x8a, 0, 160}
		}
		a.AddMedia(&MediaPacket{Frame: 10 + i, Time: t0.Add(time.Second + time.Duration(i)*20*time.Millisecond), Src: src, Dst: dst,
			Data: rtpPacket(pt, uint16(i), ts, 7, payload)})
	}
	r := a.Finish()
	if len(r.Calls) != 1 || len(r.Media) != 1 {
		t.Fatalf("%d calls, %d streams", len(r.Calls), len(r.Media))
	}
	c, s := r.Calls[0], r.Media[0]
	if c.Audio == nil || c.Audio.Verdict != "one_way" || c.Audio.Direction != "caller_to_callee" {
		t.Fatalf("audio %+v", c.Audio)
	}
	if len(c.Findings) == 0 || c.Findings[0].ID != "media-one-way" {
		t.Fatalf("findings %+v", c.Findings)
	}
	if s.CallID != "m" || s.Found != "sdp" || s.Direction != "caller_to_callee" || s.Packets != 100 || s.DTMF != "5" || s.Codec != "PCMA" {
		t.Errorf("stream %+v", s)
	}
}

// FuzzAddMedia feeds arbitrary datagrams as media around a call with SDP:
// whatever the bytes, nothing panics and every stream stays consistent.
func FuzzAddMedia(f *testing.F) {
	f.Add(rtpPacket(8, 1, 160, 7, make([]byte, 160)), uint8(3))
	f.Add([]byte{0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 7, 64, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(1))
	f.Add(rtpPacket(101, 65535, 0, 7, []byte{11, 0x80, 1, 0}), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		a := New(Options{})
		a.EnableMedia()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		feedCall(t, a, t0)
		eps := []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("198.51.100.1:5000"), netip.MustParseAddrPort("198.51.100.1:5001")}
		for i := range 20 {
			d := bytes.Clone(data)
			if len(d) > 3 {
				d[3] += byte(i) // the sequence number moves
			}
			a.AddMedia(&MediaPacket{Frame: 10 + i, Time: t0.Add(time.Duration(i) * time.Duration(step) * time.Millisecond),
				Src: eps[i%3], Dst: eps[(i+1)%3], Data: d, ICMP: i%7 == 6})
		}
		r := a.Finish()
		for _, s := range r.Media {
			if s.Packets <= 0 || s.Expected < 0 || s.MOS < 1 || s.MOS > 4.5 {
				t.Fatalf("stream %+v", s)
			}
		}
	})
}

// SRTP (RTP/SAVP with a=crypto, RFC 4568) is recognised; its headers are
// in the clear (RFC 3711 §3.1), so the stream is still counted.
func TestMediaSRTP(t *testing.T) {
	a := New(Options{})
	a.EnableMedia()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feedCall(t, a, t0,
		strings.Replace(mediaCall[0], "m=audio 4000 RTP/AVP 8 101\r\n", "m=audio 4000 RTP/SAVP 8 101\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", 1),
		strings.Replace(mediaCall[1], "m=audio 5000 RTP/AVP 8 101\r\n", "m=audio 5000 RTP/SAVP 8 101\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0\r\n", 1))
	for i := range 20 {
		for _, dir := range [][2]string{{"10.0.0.1:4000", "198.51.100.1:5000"}, {"198.51.100.1:5000", "10.0.0.1:4000"}} {
			a.AddMedia(&MediaPacket{Frame: 10 + i, Time: t0.Add(time.Second + time.Duration(i)*20*time.Millisecond),
				Src: netip.MustParseAddrPort(dir[0]), Dst: netip.MustParseAddrPort(dir[1]),
				Data: rtpPacket(8, uint16(i), uint32(i*160), uint32(len(dir[0])), bytes.Repeat([]byte{0x3c}, 170))})
		}
	}
	r := a.Finish()
	if len(r.Media) != 2 {
		t.Fatalf("%d streams", len(r.Media))
	}
	for _, s := range r.Media {
		if s.Secure != "sdes" || s.Packets != 20 || s.CallID != "m" {
			t.Errorf("stream %s → %s: srtp %q, %d packets, call %q", s.Src, s.Dst, s.Secure, s.Packets, s.CallID)
		}
	}
	if c := r.Calls[0]; c.Audio == nil || c.Audio.Verdict != "both" {
		t.Errorf("audio %+v", r.Calls[0].Audio)
	}
}

// A call ended by the far end for an RTP timeout (FreeSWITCH's
// MEDIA_TIMEOUT in a Reason header) after the caller's audio stopped: the
// timeout is linked to the direction that went missing.
func TestMediaRTPTimeout(t *testing.T) {
	a := New(Options{})
	a.EnableMedia()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feedCall(t, a, t0)
	send := func(src, dst string, from, to int, ssrc uint32) {
		for i := from; i < to; i++ {
			a.AddMedia(&MediaPacket{Frame: 1000 + i, Time: t0.Add(time.Second + time.Duration(i)*20*time.Millisecond),
				Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Data: rtpPacket(8, uint16(i), uint32(i*160), ssrc, make([]byte, 160))})
		}
	}
	send("10.0.0.1:4000", "198.51.100.1:5000", 0, 500, 1)  // the caller's audio: 10 s
	send("198.51.100.1:5000", "10.0.0.1:4000", 0, 2000, 2) // the callee's: 40 s
	bye := "BYE sip:a@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK9\r\nFrom: <sip:b@x>;tag=2\r\nTo: <sip:a@x>;tag=1\r\nCall-ID: m\r\nCSeq: 1 BYE\r\n" +
		"Reason: Q.850;cause=102;text=\"MEDIA_TIMEOUT\"\r\n\r\n"
	var m sipmsg.Message
	if err := sipmsg.Parse([]byte(bye), &m); err != nil {
		t.Fatal(err)
	}
	a.Add(FromSIP(Meta{Frame: 5000, Time: t0.Add(41 * time.Second), Src: netip.MustParseAddrPort("198.51.100.1:5060"), Dst: netip.MustParseAddrPort("10.0.0.1:5060"), Transport: "udp"}, &m))
	r := a.Finish()
	c := r.Calls[0]
	var ids []string
	var timeout *Finding
	for i, f := range c.Findings {
		ids = append(ids, f.ID)
		if f.ID == "media-rtp-timeout" {
			timeout = &c.Findings[i]
		}
	}
	if timeout == nil || !slices.Contains(ids, "media-stopped") {
		t.Fatalf("findings %v: want media-stopped and media-rtp-timeout", ids)
	}
	if p := timeout.Parts["dir"]; len(p) != 1 || p[0].Phrase != "media-dir-caller-callee" || !slices.Contains(timeout.Frames, 5000) {
		t.Errorf("timeout finding %+v: want the caller's direction and the BYE's frame", timeout)
	}
}

// A switch to T.38 (RFC 3362 image/t38 over UDPTL) agreed in a re-INVITE:
// the UDPTL that follows is a T.38 stream with its packets and loss from
// the UDPTL sequence numbers, and it is no audio.
func TestMediaT38(t *testing.T) {
	a := New(Options{})
	a.EnableMedia()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t38 := func(first, addr string, port int) string {
		return strings.Replace(strings.Replace(first, "CSeq: 1 INVITE", "CSeq: 2 INVITE", 1), "m=audio "+strconv.Itoa(port)+" RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
			"m=audio 0 RTP/AVP 8\r\nm=image "+strconv.Itoa(port)+" udptl t38\r\n", 1)
	}
	reinvite := strings.Replace(t38(mediaCall[0], "10.0.0.1", 4000), "To: <sip:b@x>\r\n", "To: <sip:b@x>;tag=2\r\n", 1)
	feedCall(t, a, t0, mediaCall[0], mediaCall[1], reinvite, t38(mediaCall[1], "198.51.100.1", 5000))
	for i := range 50 {
		if i == 20 {
			continue // one lost
		}
		udptl := []byte{byte(i >> 8), byte(i), 0x06, 0x80, 0x01}
		a.AddMedia(&MediaPacket{Frame: 100 + i, Time: t0.Add(time.Second + time.Duration(i)*30*time.Millisecond),
			Src: netip.MustParseAddrPort("10.0.0.1:4000"), Dst: netip.MustParseAddrPort("198.51.100.1:5000"), Data: udptl})
	}
	r := a.Finish()
	if len(r.Media) != 1 {
		t.Fatalf("%d streams", len(r.Media))
	}
	s := r.Media[0]
	if s.Codec != "t38" || s.Packets != 49 || s.Lost != 1 || s.CallID != "m" || s.Direction != "caller_to_callee" {
		t.Errorf("stream %+v", s)
	}
	if c := r.Calls[0]; c.Audio == nil || c.Audio.Verdict != "t38" || c.Audio.MOS != nil || len(c.Findings) != 0 {
		t.Errorf("audio %+v, findings %+v: a T.38 fax call, no audio expected", c.Audio, c.Findings)
	}
}

// mediaScene is a call of mediaCall with RTP the test describes.
type mediaScene struct {
	a  *Analyzer
	t0 time.Time
}

func newScene(t *testing.T, callerSig string, msgs ...string) *mediaScene {
	s := &mediaScene{a: New(Options{}), t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.a.EnableMedia()
	if len(msgs) == 0 {
		msgs = mediaCall
	}
	src, dst := netip.MustParseAddrPort(callerSig), netip.MustParseAddrPort("198.51.100.1:5060")
	var m sipmsg.Message
	for i, b := range msgs {
		if err := sipmsg.Parse([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		s.a.Add(FromSIP(Meta{Frame: i + 1, Time: s.t0.Add(time.Duration(i) * 100 * time.Millisecond), Src: src, Dst: dst, Transport: "udp"}, &m))
		src, dst = dst, src
	}
	return s
}

// rtp sends packets from..to (20 ms apart, starting 1 s in) of one stream.
func (s *mediaScene) rtp(src, dst string, pt uint8, ssrc uint32, from, to int, icmp bool) {
	for i := from; i < to; i++ {
		s.a.AddMedia(&MediaPacket{Frame: 100 + i, Time: s.t0.Add(time.Second + time.Duration(i)*20*time.Millisecond),
			Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Data: rtpPacket(pt, uint16(i), uint32(i*160), ssrc, make([]byte, 160)), ICMP: icmp})
	}
}

func (s *mediaScene) sip(t *testing.T, frame int, at time.Duration, from, to, msg string) {
	var m sipmsg.Message
	if err := sipmsg.Parse([]byte(msg), &m); err != nil {
		t.Fatal(err)
	}
	s.a.Add(FromSIP(Meta{Frame: frame, Time: s.t0.Add(at), Src: netip.MustParseAddrPort(from), Dst: netip.MustParseAddrPort(to), Transport: "udp"}, &m))
}

const (
	callerRTP = "10.0.0.1:4000"
	calleeRTP = "198.51.100.1:5000"
	byeCaller = "BYE sip:b@198.51.100.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK8\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: m\r\nCSeq: 3 BYE\r\n\r\n"
)

// Each media finding on a call built for it, with its side: 10.0.0.1 is
// private and the caller, so the call is outgoing and the caller's side is
// yours.
func TestMediaFindings(t *testing.T) {
	hold := strings.Replace(strings.Replace(mediaCall[0], "CSeq: 1 INVITE", "CSeq: 2 INVITE", 1), "To: <sip:b@x>\r\n", "To: <sip:b@x>;tag=2\r\n", 1) + "a=sendonly\r\n"
	for _, tc := range []struct {
		name    string
		scene   func(t *testing.T) *mediaScene
		verdict string
		id      string
		fault   string
	}{
		{"no audio", func(t *testing.T) *mediaScene {
			s := newScene(t, "10.0.0.1:5060")
			s.rtp("10.0.0.1:7000", "198.51.100.1:7002", 8, 9, 0, 20, false) // another call between the same hosts
			return s
		}, "none", "media-none", "network"},
		// The caller's SDP says 10.0.0.1 but it signals from 203.0.113.5:
		// what the callee sends to 10.0.0.1 never arrives.
		{"private address behind NAT", func(t *testing.T) *mediaScene {
			s := newScene(t, "203.0.113.5:5060")
			s.rtp("203.0.113.5:4000", calleeRTP, 8, 1, 0, 50, false)
			return s
		}, "one_way", "media-nat-private", "local"},
		{"codec not offered", func(t *testing.T) *mediaScene {
			s := newScene(t, "10.0.0.1:5060")
			s.rtp(callerRTP, calleeRTP, 0, 1, 0, 50, false) // PCMU; both offered PCMA only
			s.rtp(calleeRTP, callerRTP, 8, 2, 0, 50, false)
			return s
		}, "both", "media-codec-mismatch", "local"},
		{"SSRC change", func(t *testing.T) *mediaScene {
			s := newScene(t, "10.0.0.1:5060")
			s.rtp(callerRTP, calleeRTP, 8, 1, 0, 50, false)
			s.rtp(callerRTP, calleeRTP, 8, 5, 50, 100, false)
			s.rtp(calleeRTP, callerRTP, 8, 2, 0, 100, false)
			return s
		}, "both", "media-ssrc-change", "none"},
		{"RTP after BYE", func(t *testing.T) *mediaScene {
			s := newScene(t, "10.0.0.1:5060")
			s.rtp(callerRTP, calleeRTP, 8, 1, 0, 100, false)
			s.rtp(calleeRTP, callerRTP, 8, 2, 0, 300, false) // on until 7 s
			s.sip(t, 900, 3*time.Second, "10.0.0.1:5060", "198.51.100.1:5060", byeCaller)
			return s
		}, "both", "media-after-bye", "none"},
		{"hold", func(t *testing.T) *mediaScene {
			s := newScene(t, "10.0.0.1:5060", mediaCall[0], mediaCall[1], hold)
			s.rtp(callerRTP, calleeRTP, 8, 1, 0, 100, false)
			return s
		}, "hold", "media-hold", "none"},
		{"port unreachable", func(t *testing.T) *mediaScene {
			s := newScene(t, "10.0.0.1:5060")
			s.rtp(callerRTP, calleeRTP, 8, 1, 0, 50, false)
			s.rtp(calleeRTP, callerRTP, 8, 2, 0, 50, false)
			s.rtp(callerRTP, calleeRTP, 8, 1, 10, 13, true) // ICMP errors quoting the caller's packets
			return s
		}, "both", "media-port-unreachable", "remote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.scene(t).a.Finish()
			if len(r.Calls) != 1 {
				t.Fatalf("%d calls", len(r.Calls))
			}
			c := r.Calls[0]
			if c.Audio == nil || c.Audio.Verdict != tc.verdict {
				t.Errorf("audio %+v, want %s", c.Audio, tc.verdict)
			}
			var ids []string
			for _, f := range c.Findings {
				ids = append(ids, f.ID)
				if f.ID == tc.id {
					if f.Fault != tc.fault {
						t.Errorf("%s: side %q, want %q", f.ID, f.Fault, tc.fault)
					}
					return
				}
			}
			t.Errorf("findings %v, want %s", ids, tc.id)
		})
	}
}

// TestNATClaimNeedsMedia: a private SDP address sent from a public one is
// told as media that cannot arrive (media-nat-private) only when the
// capture holds media to see that by; a capture of the signalling alone
// keeps the signalling finding (nat-private-address: audio "may" go
// astray) and no media verdict. Before, a log without RTP said the audio
// could not arrive.
func TestNATClaimNeedsMedia(t *testing.T) {
	for _, withRTP := range []bool{true, false} {
		s := newScene(t, "203.0.113.5:5060")
		if withRTP {
			s.rtp("203.0.113.5:4000", calleeRTP, 8, 1, 0, 50, false) // nothing comes back
		}
		r := s.a.Finish()
		if len(r.Calls) != 1 {
			t.Fatalf("%d calls", len(r.Calls))
		}
		ids := map[string]bool{}
		for _, f := range r.Calls[0].Findings {
			ids[f.ID] = true
		}
		if ids["media-nat-private"] != withRTP || !ids["nat-private-address"] {
			t.Errorf("with RTP %v: findings %v; want media-nat-private only with RTP, nat-private-address always", withRTP, ids)
		}
	}
}

// TestMediaForgetsFailedCalls: with OnCall set, a reported call's media
// state goes with it, also for a call that was never answered and had no
// RTP (the common failed call: INVITE with SDP, 486, ACK). Before, these
// stayed until the end with their SDP, and memory grew with the input:
// 12 000 of them after 40 000 SIPp calls.
func TestMediaForgetsFailedCalls(t *testing.T) {
	reported := 0
	a := New(Options{OnCall: func(*Call) { reported++ }})
	a.EnableMedia()
	sdp := func(port int) func(*Message) {
		return func(m *Message) {
			m.HasSDP = true
			m.SDP, _ = sdpOfBody([]byte("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio "+itoa(port)+" RTP/AVP 8\r\n"), nil)
		}
	}
	const calls = 2000
	for i := range calls {
		var f flow
		id, at := "fail-"+itoa(i), time.Duration(i)*10*time.Millisecond
		f.req(at, phone, provider, "INVITE", id, 1, "z9hG4bK-"+id, "f"+id, "", sdp(10000+2*i))
		f.resp(at+20*time.Millisecond, provider, phone, 486, "Busy Here", id, 1, "INVITE", "z9hG4bK-"+id, "f"+id, "t"+id)
		f.req(at+25*time.Millisecond, phone, provider, "ACK", id, 1, "z9hG4bK-"+id, "f"+id, "t"+id)
		for _, m := range f.msgs {
			a.Add(m)
		}
	}
	if reported < calls/2 {
		t.Fatalf("only %d of %d calls reported while reading", reported, calls)
	}
	if n, open := len(a.media.calls), a.OpenCalls(); n > open {
		t.Errorf("media state of %d calls held with %d calls open (%d reported)", n, open, reported)
	}
	if n := len(a.media.endpoints); n > 2*a.OpenCalls() {
		t.Errorf("%d SDP addresses held with %d calls open", n, a.OpenCalls())
	}
}
