package e2e

import (
	"bytes"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// brokenProxy is a tiny SIP proxy over UDP on loopback that breaks RFC
// 3261 §16.7 step 3 the way some home-made proxies do: it puts its own Via
// on top of each request it forwards, as it should, but passes responses
// back without taking that Via off again. Phones that match responses on
// Call-ID and CSeq still take them (SIPp does), so the call works; the
// analyzer must follow it too and name the hop (issue 8).
type brokenProxy struct {
	conn   net.PacketConn
	callee *net.UDPAddr
	mu     sync.Mutex
	caller net.Addr // where requests came from: where responses go back
	n      int
}

func startBrokenProxy(t *testing.T, port, calleePort int) *brokenProxy {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(loopback, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("broken proxy: %v", err)
	}
	p := &brokenProxy{conn: c, callee: &net.UDPAddr{IP: net.ParseIP(loopback), Port: calleePort}}
	t.Cleanup(func() { c.Close() })
	go p.serve(port)
	return p
}

func (p *brokenProxy) serve(port int) {
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return // closed by the test's cleanup
		}
		msg := append([]byte(nil), buf[:n]...)
		if bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
			// A response from the callee: sent on as it is, with this
			// proxy's own Via still on top.
			p.mu.Lock()
			to := p.caller
			p.mu.Unlock()
			if to != nil {
				p.conn.WriteTo(msg, to)
			}
			continue
		}
		p.mu.Lock()
		if from.String() != p.callee.String() {
			p.caller = from
		}
		p.n++
		branch := "z9hG4bK-broken-" + strconv.Itoa(p.n)
		p.mu.Unlock()
		// A request: the proxy's Via goes first, as RFC 3261 §16.6 step 8 says.
		i := bytes.Index(msg, []byte("\r\n"))
		if i < 0 {
			continue
		}
		via := []byte("\r\nVia: SIP/2.0/UDP " + loopback + ":" + strconv.Itoa(port) + ";branch=" + branch)
		out := append(append(append([]byte(nil), msg[:i]...), via...), msg[i:]...)
		to := net.Addr(p.callee)
		if from.String() == p.callee.String() {
			p.mu.Lock()
			to = p.caller
			p.mu.Unlock()
		}
		if to != nil {
			p.conn.WriteTo(out, to)
		}
	}
}

// TestBrokenProxyOwnViaOnTop places an answered call through brokenProxy:
// every response reaches the caller with the proxy's Via on top. Before
// issue 8 the analyzer matched none of them and reported a call that was
// answered, talked and hung up as one that got no answer.
func TestBrokenProxyOwnViaOnTop(t *testing.T) {
	requireTools(t, "sipp", "dumpcap", "tshark")
	dir := t.TempDir()
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var (
		uasPort, uacPort, proxyPort = takePorts(t, 1), takePorts(t, 1), takePorts(t, 1)
		uasMedia, uacMedia          = takePorts(t, 4), takePorts(t, 4)
		uasCtrl, uacCtrl            = takePorts(t, 1), takePorts(t, 1)
	)
	prefix := "e2e-broken-proxy-udp-"
	pcap := filepath.Join(dir, "call.pcapng")
	capture := startCapture(t, dir, pcap, uacPort, uasPort, proxyPort)
	uas := start(t, time.Minute, dir, "sipp UAS", "sipp",
		"-sf", filepath.Join(testdata, "uas_answer.xml"), "-t", "u1",
		"-i", loopback, "-p", strconv.Itoa(uasPort),
		"-mp", strconv.Itoa(uasMedia), "-cp", strconv.Itoa(uasCtrl),
		"-m", "1", "-nostdin", "-timeout", "30s", "-trace_err")
	waitListening(t, uas, "udp", uasPort)
	startBrokenProxy(t, proxyPort, uasPort)
	uac := start(t, time.Minute, dir, "sipp UAC", "sipp",
		"-sf", filepath.Join(testdata, "uac_answer.xml"), "-t", "u1",
		"-i", loopback, "-p", strconv.Itoa(uacPort),
		"-mp", strconv.Itoa(uacMedia), "-cp", strconv.Itoa(uacCtrl),
		"-m", "1", "-l", "1", "-nostdin", "-timeout", "30s", "-trace_err",
		"-s", "bob", "-cid_str", prefix+"%u-%p@%s",
		"-rsa", loopback+":"+strconv.Itoa(proxyPort),
		loopback+":"+strconv.Itoa(uasPort))
	uacCode := uac.wait(20 * time.Second)
	uasCode := uas.wait(5 * time.Second)
	stopCapture(t, capture)
	keepCapture(t, pcap)
	wire := sipOnWire(t, pcap, uacPort, uasPort, proxyPort)
	if !isSubsequence([]string{"INVITE", "INVITE", "180", "180", "200", "200", "ACK", "ACK", "BYE", "BYE", "200", "200"}, wire) || uacCode != 0 || uasCode != 0 {
		t.Fatalf("scenario broken (not an analyzer problem): sipp UAC exit %d, UAS exit %d, wire %v\n%s%s", uacCode, uasCode, wire, tail(uac.output()), errorsLog(dir))
	}
	if suite.noAnalyzer != "" {
		t.Skip(suite.noAnalyzer)
	}
	checkAnalysis(t, pcap, prefix, expectation{finalStatus: 200, outcome: "answered", fault: "none",
		tolerate: []string{"via-mismatch"}, also: []string{"via-mismatch"}})
}
