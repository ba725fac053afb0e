package capture_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/sipcause/sipcause/capture"
)

// A raw HEP3 stream holding one SIP OPTIONS request, as a HEP collector
// would write it to disk.
var hepStream = []byte("HEP3\x00\x89" +
	"\x00\x00\x00\x01\x00\x07\x02" + // family IPv4
	"\x00\x00\x00\x02\x00\x07\x11" + // protocol UDP
	"\x00\x00\x00\x03\x00\x0a\xc0\x00\x02\x01" + // source 192.0.2.1
	"\x00\x00\x00\x04\x00\x0a\xc0\x00\x02\x02" + // destination 192.0.2.2
	"\x00\x00\x00\x07\x00\x08\x13\xc4" + // source port 5060
	"\x00\x00\x00\x08\x00\x08\x13\xc4" + // destination port 5060
	"\x00\x00\x00\x09\x00\x0a\x65\xe1\xc3\x40" + // seconds
	"\x00\x00\x00\x0b\x00\x07\x01" + // payload type SIP
	"\x00\x00\x00\x0f\x00\x40" + "OPTIONS sip:bob@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n")

func Example() {
	r, err := capture.Open("options.hep", bytes.NewReader(hepStream))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		line, _, _ := bytes.Cut(p.Payload, []byte("\r\n"))
		fmt.Println(p.Frame, p.Time.Format("2006-01-02 15:04:05"), p.Src, "->", p.Dst, p.Transport, p.Encap, string(line))
	}
	fmt.Println(r.Format(), r.Integrity().SIPMessages, "message")
	// Output:
	// 1 2024-03-01 12:00:00 192.0.2.1:5060 -> 192.0.2.2:5060 udp hep3 OPTIONS sip:bob@example.com SIP/2.0
	// hep 1 message
}

func ExampleDecodeHEP() {
	p, err := capture.DecodeHEP(hepStream)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Version, p.Src, p.Dst, p.Protocol, len(p.Payload))
	// Output: 3 192.0.2.1:5060 192.0.2.2:5060 17 58
}
