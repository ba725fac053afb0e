package capture

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipcause/sipcause/internal/sharedtest"
)

// With SetMedia the reader also returns the UDP datagrams that are no SIP,
// among them the RTP and RTCP of a capture (tshark decodes 1445 RTP and 26 RTCP packets in this one, on the
// ports an SDP announced; the capture holds a mirrored copy of the call's
// media on other ports too), still counted as non-SIP, and the SIP
// messages are the same as without.
func TestSetMedia(t *testing.T) {
	path := filepath.Join(sharedCaptures, "heplify__rtp_rtcp_sip_ipv4_udp.pcap")
	if _, err := os.Stat(path); err != nil {
		sharedtest.Missing(t, path, err)
	}
	read := func(media bool) (sip, rtp, rtcp int, integ Integrity) {
		r, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.SetMedia(media)
		for {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !p.Media:
				sip++
			case p.Transport != "udp":
				t.Fatalf("frame %d: media over %s", p.Frame, p.Transport)
			case p.Payload[0]>>6 != 2:
				// other UDP (T.38 or not media at all) is handed on too
			case len(p.Payload) >= 2 && p.Payload[1] >= 200 && p.Payload[1] <= 207:
				rtcp++
			default:
				rtp++
			}
		}
		return sip, rtp, rtcp, r.Integrity()
	}
	sip0, rtp0, _, integ0 := read(false)
	sip1, rtp1, rtcp1, integ1 := read(true)
	if rtp0 != 0 || sip0 != sip1 || integ0 != integ1 {
		t.Errorf("without media: %d SIP %d RTP %+v; with: %d SIP %+v", sip0, rtp0, integ0, sip1, integ1)
	}
	if rtp1 < 1445 || rtcp1 < 26 {
		t.Errorf("%d RTP and %d RTCP datagrams, want at least 1445 and 26", rtp1, rtcp1)
	}
}
