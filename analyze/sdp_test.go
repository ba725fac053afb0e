package analyze

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"github.com/sipcause/sipcause/sipmsg"
)

// sdpOf is how FromSIP decoded a session description before sdpOfBody:
// sipmsg.ParseSDP, then the parts the analyzer uses. The tests hold
// sdpOfBody to it.
func sdpOf(s *sipmsg.SDP) *SDP {
	out := &SDP{Addr: s.Connection.Address}
	for i, m := range s.Media {
		md := Media{Type: m.Type, Port: m.Port, Proto: m.Proto, Addr: s.EffectiveConnection(i).Address, Direction: s.EffectiveDirection(i).String()}
		for _, f := range m.Formats {
			name := f
			if pt, err := strconv.Atoi(f); err == nil {
				if rm, ok := m.RTPMap[pt]; ok {
					name = rm.Encoding
				} else if n, ok := staticPayload[pt]; ok {
					name = n
				}
			}
			md.Codecs = append(md.Codecs, name)
			if pt, err := strconv.Atoi(f); err == nil && pt >= 0 && pt < 128 {
				p := Payload{PT: pt, Encoding: name}
				if rm, ok := m.RTPMap[pt]; ok {
					p.ClockRate = rm.ClockRate
				}
				md.Payloads = append(md.Payloads, p)
			}
		}
		for _, at := range m.Attributes {
			switch {
			case at.Name == "crypto":
				md.Secure = "sdes"
			case at.Name == "fingerprint" && md.Secure == "":
				md.Secure = "dtls"
			}
		}
		if md.Secure == "" && strings.Contains(m.Proto, "SAVP") {
			md.Secure = "srtp"
		}
		md.noteIP()
		out.Media = append(out.Media, md)
	}
	return out
}

// sdpSeeds are session descriptions with the cases the two decoders must
// agree on: static and dynamic payload types, rtpmap overrides, media and
// session c= and direction, rejected streams, SRTP, odd white space and
// numbers, more m= lines than sipmsg decodes.
var sdpSeeds = []string{
	"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
	"v=0\nc=IN IP4 0.0.0.0/127/2\nm=audio 0 RTP/AVP 18 96\na=rtpmap:96 opus/48000/2\na=rtpmap:96 OPUS/16000\na=rtpmap:18 G729/8000\nm=image 5000 udptl t38\nc=IN IP4 192.0.2.9 extra\na=inactive\n",
	"v=0\r\na=sendonly\r\nc=IN IP6 2001:db8::1\r\nm=audio 6000/2 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\nm=audio 7000 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 AA\r\na=crypto:1 x\r\nm=video 8000 RTP/SAVP 34 +8 -0 08 99999999999999999999 x\r\na=recvonly:junk\r\n",
	"  \r\n v=0\r\nm=audio\r\nm=audio 1 \r\nm=audio 70000 RTP/AVP 0\r\nm=audio x RTP/AVP 0\r\nc=IN\r\na=rtpmap:0\r\na=rtpmap:0 \r\na=rtpmap:200 X/1\r\na=rtpmap:0  PCMU/ 8000 /1\r\na=rtpmap:0\t\u00a0PCMX/9\u00a0\r\n",
	"v=0\r\nm=audio\u00a05000\u2003RTP/AVP\u30000 8\xff9\r\nc=IN IP4\u0085 10.1.1.1\r\nx\r\n1=2\r\n=\r\n",
	"v=0\r\n" + strings.Repeat("m=audio 1 RTP/AVP 0\r\n", 70) + "c=IN IP4 10.9.9.9\r\n",
	"w=0\r\nm=audio 1 RTP/AVP 0\r\n",
}

func checkSDPOfBody(t *testing.T, body []byte) {
	t.Helper()
	var want *SDP
	s, err := sipmsg.ParseSDP(body)
	if err == nil {
		want = sdpOf(&s)
	}
	for _, in := range []*Interner{nil, {}} {
		got, ok := sdpOfBody(body, in)
		if ok != (err == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("sdpOfBody(%q)\n got %+v (ok %v)\nwant %+v (err %v)", body, got, ok, want, err)
		}
	}
}

// TestSDPOfBody holds the analyzer's own SDP decoder to sipmsg.ParseSDP
// and sdpOf: on the seeds and on every session description of the
// shared captures.
func TestSDPOfBody(t *testing.T) {
	for _, s := range sdpSeeds {
		checkSDPOfBody(t, []byte(s))
	}
	files, _ := filepath.Glob(filepath.Join(sharedCaptures, "*"))
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".tsv") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		rd, err := capture.Open(f, fh)
		if err != nil {
			fh.Close()
			continue
		}
		var msg sipmsg.Message
		for {
			p, err := rd.Next()
			if err != nil { // the end, or damage: enough SDP either way
				break
			}
			if sipmsg.Parse(p.Payload, &msg) != nil {
				continue
			}
			if body, ok := msg.SDPBody(); ok {
				checkSDPOfBody(t, body)
				n++
			}
		}
		rd.Close()
	}
	if n == 0 {
		sharedtest.Missing(t, sharedCaptures, os.ErrNotExist)
	}
	t.Logf("%d session descriptions compared", n)
}

// FuzzSDPOfBody: whatever the bytes, sdpOfBody decodes them as
// sipmsg.ParseSDP and sdpOf do.
func FuzzSDPOfBody(f *testing.F) {
	for _, s := range sdpSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("v=0\r\nm=audio " + strconv.Itoa(1<<20) + " RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) { checkSDPOfBody(t, body) })
}
