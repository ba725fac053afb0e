package sipmsg_test

import (
	"fmt"
	"strings"

	"github.com/sipcause/sipcause/sipmsg"
)

const invite = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
	"v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"t: Bob <sip:bob@biloxi.example.com>\r\n" +
	"f: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
	"i: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"m: <sip:alice@pc33.atlanta.example.com>\r\n" +
	"c: application/sdp\r\n" +
	"l: 119\r\n" +
	"\r\n" +
	"v=0\r\n" +
	"o=alice 2890844526 2890844526 IN IP4 pc33\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.0.2.101\r\n" +
	"t=0 0\r\n" +
	"m=audio 49172 RTP/AVP 0\r\n" +
	"a=sendonly\r\n"

func ExampleParse() {
	var m sipmsg.Message
	if err := sipmsg.Parse([]byte(invite), &m); err != nil {
		fmt.Println(err)
		return
	}
	num, method, _ := m.CSeq()
	via, _ := m.TopVia()
	fmt.Printf("%s %s\n", m.Method, m.RequestURI)
	fmt.Printf("Call-ID %s, CSeq %d %s\n", m.CallID(), num, method)
	fmt.Printf("from %s (%s) tag %s\n", m.From().DisplayName, m.From().User(), m.From().Tag)
	fmt.Printf("via %s %s branch %s rport=%v\n", via.Transport, via.Host, via.Branch, via.RPortSet)
	sdp, _ := m.SDP()
	addr, port := sdp.RTPEndpoint(0)
	fmt.Printf("RTP %s:%d %s %s\n", addr, port, sdp.Media[0].RTPMap[0].Encoding, sdp.EffectiveDirection(0))
	fmt.Println("warnings:", len(m.Warnings))
	// Output:
	// INVITE sip:bob@biloxi.example.com
	// Call-ID a84b4c76e66710@pc33.atlanta.example.com, CSeq 314159 INVITE
	// from Alice (alice) tag 1928301774
	// via UDP pc33.atlanta.example.com branch z9hG4bK776asdhds rport=true
	// RTP 192.0.2.101:49172 PCMU sendonly
	// warnings: 0
}

func ExampleMessage_Strict() {
	bad := "OPTIONS sip:user@example.com SIP/2.0\r\n" +
		"To: sip:j.user@example.com\r\n" +
		"From: sip:caller@example.net;tag=34525\r\n" +
		"Max-Forwards: 6\r\n" +
		"Call-ID: mismatch01.dj0234sxdfl3\r\n" +
		"CSeq: 8 INVITE\r\n" +
		"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n" +
		"l: 0\r\n\r\n"
	var m sipmsg.Message
	_ = sipmsg.Parse([]byte(bad), &m)
	for _, p := range m.Strict() {
		fmt.Println(p.Severity, p.Code, p.Header)
	}
	// Output:
	// error cseq-method-mismatch CSeq
}

func ExampleFrameLen() {
	stream := []byte("\r\n\r\n" + // keep-alive ping (RFC 5626 §3.5.1)
		"SIP/2.0 200 OK\r\nl: 0\r\n\r\n" +
		"BYE sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\nbody" +
		"INVITE sip:x SIP/2.0\r\n") // incomplete
	for {
		stream = stream[sipmsg.SkipKeepAlive(stream):]
		n, ok := sipmsg.FrameLen(stream)
		if !ok {
			break
		}
		first, _, _ := strings.Cut(string(stream[:n]), "\r\n")
		fmt.Printf("%d bytes: %s\n", n, first)
		stream = stream[n:]
	}
	fmt.Printf("%d bytes wait for more\n", len(stream))
	// Output:
	// 24 bytes: SIP/2.0 200 OK
	// 46 bytes: BYE sip:a@b SIP/2.0
	// 22 bytes wait for more
}

func ExampleMessage_All() {
	var m sipmsg.Message
	_ = sipmsg.Parse([]byte("SIP/2.0 200 OK\r\n"+
		"Allow: INVITE, ACK,BYE\r\n"+
		"Contact: \"Doe, J\" <sip:j@x>, <sip:k@y>\r\n\r\n"), &m)
	for v := range m.All("Allow") {
		fmt.Printf("%s|", v)
	}
	fmt.Println()
	for c := range m.All("m") {
		fmt.Println(string(c))
	}
	// Output:
	// INVITE|ACK|BYE|
	// "Doe, J" <sip:j@x>
	// <sip:k@y>
}
