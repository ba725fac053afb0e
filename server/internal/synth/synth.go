// Package synth makes SIP calls for the collector's tests and load
// generator: the messages of a whole call, one HEP3 packet each.
package synth

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Packet is one SIP message of a synthetic call, where and when it was
// seen.
type Packet struct {
	Src, Dst netip.AddrPort
	Time     time.Time
	SIP      []byte
}

// CallOptions shape a synthetic call. Strings are put into the messages
// as they are, so tests can send hostile values.
type CallOptions struct {
	CallID      string
	Caller      string // user part of From
	Callee      string // user part of To and the Request-URI
	DisplayName string // From display name (quoted as given)
	UserAgent   string
	Status      int      // final answer to the INVITE: 200 gives a whole call with BYE
	Reason      string   // a Reason header value on the final answer or the BYE
	SDPSession  string   // s= line of the offer
	Headers     []string // more header lines on the INVITE ("Session-ID: ...")
}

// Call returns the messages of one call starting at t: INVITE, 100, 180
// and a final answer, then ACK, and BYE/200 for an answered call. The
// caller is 10.1.x.y, the callee's proxy 10.0.0.1.
func Call(i int, t time.Time, o CallOptions) []Packet {
	if o.CallID == "" {
		o.CallID = fmt.Sprintf("synth-%d@sipcause.test", i)
	}
	if o.Caller == "" {
		o.Caller = fmt.Sprintf("3120%07d", i%10000000)
	}
	if o.Callee == "" {
		o.Callee = "31201234567"
	}
	if o.Status == 0 {
		o.Status = 200
	}
	if o.UserAgent == "" {
		o.UserAgent = "synth/1.0"
	}
	if o.SDPSession == "" {
		o.SDPSession = "call"
	}
	ua := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 5060)
	px := netip.MustParseAddrPort("10.0.0.1:5060")
	branch := fmt.Sprintf("z9hG4bK-%d", i)
	from := fmt.Sprintf("<sip:%s@a.sipcause.test>;tag=f%d", o.Caller, i)
	if o.DisplayName != "" {
		from = `"` + o.DisplayName + `" ` + from
	}
	toNoTag := fmt.Sprintf("<sip:%s@b.sipcause.test>", o.Callee)
	to := toNoTag + fmt.Sprintf(";tag=t%d", i)
	sdp := "v=0\r\no=- 1 1 IN IP4 " + ua.Addr().String() + "\r\ns=" + o.SDPSession + "\r\nc=IN IP4 " + ua.Addr().String() +
		"\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
	msg := func(start, via, toHdr string, cseq int, method string, extra []string, body string) []byte {
		var b strings.Builder
		b.WriteString(start + "\r\n")
		b.WriteString("Via: SIP/2.0/UDP " + ua.String() + ";branch=" + via + "\r\n")
		b.WriteString("From: " + from + "\r\nTo: " + toHdr + "\r\n")
		b.WriteString("Call-ID: " + o.CallID + "\r\n")
		fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
		b.WriteString("Max-Forwards: 70\r\nUser-Agent: " + o.UserAgent + "\r\n")
		for _, h := range extra {
			b.WriteString(h + "\r\n")
		}
		if body != "" {
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return []byte(b.String())
	}
	ruri := fmt.Sprintf("sip:%s@b.sipcause.test", o.Callee)
	contact := "Contact: <sip:" + o.Caller + "@" + ua.String() + ">"
	var ps []Packet
	at := t
	add := func(dt time.Duration, src, dst netip.AddrPort, b []byte) {
		at = at.Add(dt)
		ps = append(ps, Packet{Src: src, Dst: dst, Time: at, SIP: b})
	}
	add(0, ua, px, msg("INVITE "+ruri+" SIP/2.0", branch, toNoTag, 1, "INVITE", append([]string{contact}, o.Headers...), sdp))
	add(5*time.Millisecond, px, ua, msg("SIP/2.0 100 Trying", branch, toNoTag, 1, "INVITE", nil, ""))
	add(300*time.Millisecond, px, ua, msg("SIP/2.0 180 Ringing", branch, to, 1, "INVITE", nil, ""))
	var reason []string
	if o.Reason != "" {
		reason = []string{"Reason: " + o.Reason}
	}
	if o.Status < 300 {
		add(2*time.Second, px, ua, msg("SIP/2.0 200 OK", branch, to, 1, "INVITE", []string{"Contact: <sip:" + o.Callee + "@" + px.String() + ">"}, sdp))
		add(10*time.Millisecond, ua, px, msg("ACK sip:"+o.Callee+"@"+px.String()+" SIP/2.0", branch+"-ack", to, 1, "ACK", nil, ""))
		add(30*time.Second, ua, px, msg("BYE sip:"+o.Callee+"@"+px.String()+" SIP/2.0", branch+"-bye", to, 2, "BYE", reason, ""))
		add(5*time.Millisecond, px, ua, msg("SIP/2.0 200 OK", branch+"-bye", to, 2, "BYE", nil, ""))
		return ps
	}
	add(time.Second, px, ua, msg(fmt.Sprintf("SIP/2.0 %d %s", o.Status, phrase(o.Status)), branch, to, 1, "INVITE", reason, ""))
	add(5*time.Millisecond, ua, px, msg("ACK "+ruri+" SIP/2.0", branch, to, 1, "ACK", nil, ""))
	return ps
}

func phrase(code int) string {
	switch code {
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Failed"
}
