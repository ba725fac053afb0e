package analyze

import (
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/internal/sharedtest"
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

// TestInternedMatchesPlain: what FromSIPInterned gives, with its memos of
// decoded From, To, Via and Contact lines warm from earlier messages, is
// what FromSIP gives decoding each message afresh, on every message of
// the shared captures and on lines made to share a memo slot's bytes up
// to a point.
func TestInternedMatchesPlain(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedCaptures, "*"))
	if len(files) == 0 {
		sharedtest.Missing(t, sharedCaptures, fs.ErrNotExist)
	}
	var in Interner
	var m sipmsg.Message
	n := 0
	check := func(name string, frame int, payload []byte) {
		if sipmsg.Parse(payload, &m) != nil {
			return
		}
		meta := Meta{File: name, Frame: frame}
		got, want := FromSIPInterned(meta, &m, &in), FromSIP(meta, &m)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s frame %d: interned\n%+v\nplain\n%+v", name, frame, got, want)
		}
		n++
	}
	for _, f := range files {
		rd, err := capture.OpenFile(f)
		if err != nil {
			continue
		}
		for {
			p, err := rd.Next()
			if err != nil {
				break
			}
			check(filepath.Base(f), p.Frame, p.Payload)
		}
		rd.Close()
	}
	// Lines that differ only in their last bytes, or in case, or in
	// white space, one after the other.
	for i := range 2000 {
		msg := fmt.Sprintf("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h%d;branch=z9hG4bK%d;rport=%d, SIP/2.0/TCP x\r\nv: SIP/2.0/UDP y\r\n"+
			"From: \"A %d\" <sip:a@x>;tag=%d\r\nTo: <sip:b@X>;TAG=%d\r\nContact: ,<sip:c@192.0.2.%d>;expires=%d\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
			i%7, i%3, i%5, i%4, i%6, i%9, i%250, i%11)
		check("made", i, []byte(msg))
	}
	if n < 1000 {
		t.Errorf("only %d messages compared", n)
	}
	if in.Bytes() > 4*maxInternedBytes {
		t.Errorf("interner holds %d bytes", in.Bytes())
	}
}

// BenchmarkFromSIPCapture is Parse and FromSIPInterned over the messages
// of a SIPp load run in order, as ingest decodes them: unlike
// BenchmarkFromSIP (one INVITE again and again) the interner's memos hit
// only where messages really repeat a line. ns/op is per message.
func BenchmarkFromSIPCapture(b *testing.B) {
	path := filepath.Join(sharedCaptures, "goffinet-sip_captures__branch-scenario-sipp.pcapng")
	rd, err := capture.OpenFile(path)
	if err != nil {
		sharedtest.Missing(b, path, err)
	}
	var payloads [][]byte
	for {
		p, err := rd.Next()
		if err != nil {
			break
		}
		payloads = append(payloads, append([]byte(nil), p.Payload...))
	}
	rd.Close()
	var m sipmsg.Message
	b.ReportAllocs()
	i := 0
	var in Interner
	for b.Loop() {
		if i == len(payloads) {
			i, in = 0, Interner{} // each pass starts cold, as a new capture does
		}
		if sipmsg.Parse(payloads[i], &m) == nil {
			_ = FromSIPInterned(Meta{Frame: i}, &m, &in)
		}
		i++
	}
}

// The headers scanOthers looks for by name, in any case, reach the
// Message: it skips the headers sipmsg knows, so none of these may be
// one of them.
func TestScanOthersHeaders(t *testing.T) {
	for _, upper := range []bool{false, true} {
		hdrs := "User-Agent: ua/1\r\nMin-SE: 90\r\nMin-Expires: 60\r\nSession-ID: ab12cd;remote=00\r\nX-Orig-Call-ID: up-leg\r\n" +
			"P-Charging-Vector: icid-value=\"ic-1\";orig-ioi=x\r\nP-Asserted-Identity: <sip:+3120@x>\r\n"
		if upper {
			hdrs = strings.ToUpper(hdrs)
		}
		msg := "SIP/2.0 422 Session Interval Too Small\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n" +
			"Call-ID: c\r\nCSeq: 1 INVITE\r\nServer: srv/2\r\n" + hdrs + "Content-Length: 0\r\n\r\n"
		var m sipmsg.Message
		if err := sipmsg.Parse([]byte(msg), &m); err != nil {
			t.Fatal(err)
		}
		got := FromSIP(Meta{}, &m)
		want := []string{got.UserAgent, got.Server, strconv.Itoa(got.MinSE), strconv.Itoa(got.MinExpires), got.SessionID, got.XCID, got.ICID, got.PAI}
		exp := []string{"ua/1", "srv/2", "90", "60", "ab12cd", "up-leg", "ic-1", "sip:+3120@x"}
		for i := range exp {
			if !strings.EqualFold(want[i], exp[i]) {
				t.Errorf("upper=%v: field %d = %q, want %q", upper, i, want[i], exp[i])
			}
		}
	}
}

// TestViaHostIP: the interner's memo of Via hosts gives each host its own
// address (invalid for a name), with more hosts taking turns than it keeps.
func TestViaHostIP(t *testing.T) {
	hosts := []string{"127.0.0.1", "pbx.example.com", "[2001:db8::1]", "192.0.2.1", "2001:db8::1", "[fe80::1%eth0]", "10.0.0.1", "", "[", "192.0.2.256"}
	var in Interner
	for i := range 200 {
		h := hosts[(i*7+i/13)%len(hosts)]
		v := Via{Host: h}
		want, _ := v.hostAddr()
		if got := in.viaHostIP(&v); got != want {
			t.Fatalf("lookup %d: viaHostIP(%q) = %v, want %v", i, h, got, want)
		}
	}
}
