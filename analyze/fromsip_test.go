package analyze

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sipcause/sipcause/sipmsg"
)

const benchInvite = "INVITE sip:0612345678@provider.example SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.168.10.2:5060;branch=z9hG4bK-c1;rport\r\n" +
	"Via: SIP/2.0/UDP 192.168.10.20:5060;branch=z9hG4bK-p1\r\n" +
	"Max-Forwards: 70\r\nFrom: \"Office\" <sip:0201234567@pbx.example>;tag=f1\r\nTo: <sip:0612345678@provider.example>\r\n" +
	"Call-ID: call-1@192.168.10.2\r\nCSeq: 1 INVITE\r\nContact: <sip:0201234567@192.168.10.2:5060>\r\n" +
	"User-Agent: synth-pbx/2.0\r\nContent-Type: application/sdp\r\nContent-Length: 147\r\n\r\n" +
	"v=0\r\no=- 1 1 IN IP4 192.168.10.2\r\ns=-\r\nc=IN IP4 192.168.10.2\r\nt=0 0\r\nm=audio 10000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"

func TestFromSIP(t *testing.T) {
	var m sipmsg.Message
	if err := sipmsg.Parse([]byte(benchInvite), &m); err != nil {
		t.Fatal(err)
	}
	out := FromSIP(Meta{Frame: 1}, &m)
	if out.Method != "INVITE" || out.CallID != "call-1@192.168.10.2" || out.CSeq != 1 || out.From.Tag != "f1" || out.From.User != "0201234567" ||
		out.ViaCount != 2 || len(out.Vias) != 1 || out.Vias[0].Branch != "z9hG4bK-c1" || !out.Vias[0].HasRPort ||
		out.ContactIP != "192.168.10.2" || out.MaxForwards != 70 || out.SDP == nil || out.SDP.Media[0].Codecs[0] != "PCMA" ||
		out.UserAgent != "synth-pbx/2.0" || out.ContentLength != 147 || out.BodyLen != 147 {
		t.Errorf("FromSIP = %+v", out)
	}
}

func BenchmarkFromSIP(b *testing.B) {
	buf := []byte(benchInvite)
	var m sipmsg.Message
	var in Interner
	meta := Meta{Frame: 1, Time: time.Now(), Src: netip.MustParseAddrPort("192.168.10.2:5060"), Dst: netip.MustParseAddrPort("203.0.113.10:5060")}
	b.ReportAllocs()
	for b.Loop() {
		if err := sipmsg.Parse(buf, &m); err != nil {
			b.Fatal(err)
		}
		_ = FromSIPInterned(meta, &m, &in)
	}
}

// TestFromSIPAllocs is the allocation guard of FromSIP, which runs for
// every message: an INVITE with its SDP, once its repeated strings are
// interned, costs the top Via and the decoded session description (the
// SDP, its media, codecs and payload types), nothing more. It was 30
// allocations before the Message stayed on the stack and the SDP was
// decoded without sipmsg.ParseSDP.
func TestFromSIPAllocs(t *testing.T) {
	var m sipmsg.Message
	if err := sipmsg.Parse([]byte(benchInvite), &m); err != nil {
		t.Fatal(err)
	}
	var in Interner
	meta := Meta{Frame: 1, Src: netip.MustParseAddrPort("192.168.10.2:5060"), Dst: netip.MustParseAddrPort("203.0.113.10:5060")}
	FromSIPInterned(meta, &m, &in)
	n := testing.AllocsPerRun(100, func() { _ = FromSIPInterned(meta, &m, &in) })
	if n > 5 {
		t.Errorf("FromSIP of an INVITE with SDP: %v allocations, want at most 5", n)
	}
}
