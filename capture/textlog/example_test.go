package textlog_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/sipcause/sipcause/capture/textlog"
)

func Example() {
	log := `[2024-03-18 10:21:49.002] VERBOSE[2345] res_pjsip_logger.c: <--- Transmitting SIP response (330 bytes) to UDP:10.0.0.1:5060 --->
SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds
From: <sip:1001@10.0.0.2>;tag=1928301774
To: <sip:2001@10.0.0.2>;tag=a6c85cf
Call-ID: a84b4c76e66710@10.0.0.1
CSeq: 314159 INVITE
Content-Length: 0

`
	r := textlog.NewReader("full", strings.NewReader(log))
	fmt.Println(r.Kind())
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		start, _, _ := bytes.Cut(m.Payload, []byte("\r\n"))
		fmt.Println(m.Line, m.Time.Format("15:04:05.000"), m.Dst, m.Transport, string(start))
	}
	// Output:
	// asterisk-pjsip
	// 2 10:21:49.002 10.0.0.1:5060 udp SIP/2.0 486 Busy Here
}

func ExampleDetect() {
	kind, ok := textlog.Detect([]byte("3309492437mS SIP Rx: TCP 213.148.136.222:5060 -> 10.255.1.21:23588\n"))
	fmt.Println(kind, ok)
	// Output: avaya-ipo true
}
