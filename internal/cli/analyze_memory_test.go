package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/internal/sharedtest"
)

// writeFailedCalls writes a pcap of n calls from a PBX to a provider that
// all fail: even calls get 486 Busy Here, odd ones 404 Not Found, so the
// text report has two groups of n/2 calls.
func writeFailedCalls(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	w.Write(hdr)
	pbx, provider := [4]byte{192, 168, 10, 2}, [4]byte{203, 0, 113, 10}
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	send := func(src, dst [4]byte, payload string) {
		now = now.Add(3 * time.Millisecond)
		ip := make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := make([]byte, 8)
		binary.BigEndian.PutUint16(udp[0:], 5060)
		binary.BigEndian.PutUint16(udp[2:], 5060)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
		eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0}
		size := len(eth) + len(ip) + len(udp) + len(payload)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(now.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(now.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(size))
		binary.LittleEndian.PutUint32(rec[12:], uint32(size))
		w.Write(rec)
		w.Write(eth)
		w.Write(ip)
		w.Write(udp)
		io.WriteString(w, payload)
	}
	for i := range n {
		callee, status := fmt.Sprintf("+3120%07d", i), "486 Busy Here"
		if i%2 == 1 {
			status = "404 Not Found"
		}
		common := fmt.Sprintf("From: <sip:201@pbx.example>;tag=f%d\r\nCall-ID: mem-%d@pbx.example\r\n", i, i)
		branch := fmt.Sprintf("z9hG4bKmem%d", i)
		send(pbx, provider, fmt.Sprintf("INVITE sip:%s@provider.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.10.2:5060;branch=%s\r\n"+
			"Max-Forwards: 70\r\n%sTo: <sip:%s@provider.example>\r\nCSeq: 1 INVITE\r\nContact: <sip:201@192.168.10.2>\r\nContent-Length: 0\r\n\r\n",
			callee, branch, common, callee))
		send(provider, pbx, fmt.Sprintf("SIP/2.0 %s\r\nVia: SIP/2.0/UDP 192.168.10.2:5060;branch=%s\r\n"+
			"%sTo: <sip:%s@provider.example>;tag=t%d\r\nCSeq: 1 INVITE\r\nServer: test-provider\r\nContent-Length: 0\r\n\r\n",
			status, branch, common, callee, i))
		send(pbx, provider, fmt.Sprintf("ACK sip:%s@provider.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.10.2:5060;branch=%s\r\n"+
			"Max-Forwards: 70\r\n%sTo: <sip:%s@provider.example>;tag=t%d\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
			callee, branch, common, callee, i))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// heapWriter keeps the report's first and last lines and, now and then
// while the report is written, measures the live heap: the report then
// holds everything it keeps about the calls.
type heapWriter struct {
	writes, lines int
	every         int // measure every so many writes; 0 is 2048
	peak          uint64
	head          bytes.Buffer
}

func (h *heapWriter) Write(p []byte) (int, error) {
	if h.writes%cmp.Or(h.every, 2048) == 0 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapAlloc)
	}
	h.writes++
	h.lines += bytes.Count(p, []byte("\n"))
	if h.head.Len() < 4096 {
		h.head.Write(p)
	}
	return len(p), nil
}

// TestAnalyzeTextMemoryPerCall: the text report of many failed calls
// keeps a line of a few words per call, and the whole call only for the
// first of each group (review L9: 2.8 KB per failed call made a million
// unanswered INVITEs need 2.9 GB; about 150 bytes now).
func TestAnalyzeTextMemoryPerCall(t *testing.T) {
	n := 60000
	if testing.Short() {
		n = 20000
	}
	path := filepath.Join(t.TempDir(), "failed.pcap")
	writeFailedCalls(t, path, n)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var out heapWriter
	if err := Analyze(AnalyzeOptions{Files: []string{path}, Lang: catalog.English, Format: "text"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	head := out.head.String()
	half := fmt.Sprintf("%d,%03d", n/2000, n/2%1000)
	if want := half + " busy, " + half + " number unknown"; !strings.Contains(head, want) { // the 404s, in the words of their rows
		t.Fatalf("the report does not say %q:\n%s", want, head)
	}
	if out.lines < n {
		t.Fatalf("%d lines of report for %d calls", out.lines, n)
	}
	perCall := float64(out.peak-min(base, out.peak)) / float64(n)
	t.Logf("%d calls: live heap while writing %.0f bytes per call", n, perCall)
	if perCall > 250 {
		t.Errorf("the text report keeps %.0f bytes per failed call, want at most 250", perCall)
	}
}

// TestAnalyzeHTMLMemoryPerCall: the HTML page of many failed calls keeps
// a row of a few words per call, the whole call (with its SIP messages as
// captured) only for the first of each group, and writes the rows one at
// a time (review L9: 300,000 failed calls took 2.4 GB; they take about as
// much as the text now).
func TestAnalyzeHTMLMemoryPerCall(t *testing.T) {
	n := 20000 // a few seconds under -race
	path := filepath.Join(t.TempDir(), "failed.pcap")
	writeFailedCalls(t, path, n)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	out := heapWriter{every: 8} // the page is written in 64 KB pieces
	if err := Analyze(AnalyzeOptions{Files: []string{path}, Lang: catalog.English, HTMLFile: "-"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	head := out.head.String()
	half := fmt.Sprintf("%d,%03d", n/2000, n/2%1000)
	if want := half + " busy, " + half + " number unknown"; !strings.Contains(head, want) { // the 404s, in the words of their rows
		t.Fatalf("the page does not say %q:\n%s", want, head)
	}
	if out.lines < n {
		t.Fatalf("%d lines of page for %d calls", out.lines, n)
	}
	perCall := float64(out.peak-min(base, out.peak)) / float64(n)
	t.Logf("%d calls: live heap while writing %.0f bytes per call", n, perCall)
	if perCall > 300 {
		t.Errorf("the page keeps %.0f bytes per failed call, want at most 300", perCall)
	}
}

// TestAnalyzeJSONAndHTML: with --json and --html together the JSON is
// streamed and the page kept as a line per call, as each alone does
// (review L9); both read the same as when each is asked for alone.
func TestAnalyzeJSONAndHTML(t *testing.T) {
	for _, name := range []string{"sngrep__aaa.pcap", "heplify__rtp_rtcp_sip_ipv4_udp.pcap", "goffinet-sip_captures__branch-scenario-sipp.pcapng"} {
		path := filepath.Join(sharedCaptures, name)
		if _, err := os.Stat(path); err != nil {
			sharedtest.Missing(t, path, err)
		}
		dir := t.TempDir()
		both, alone := filepath.Join(dir, "both.html"), filepath.Join(dir, "alone.html")
		gotJSON, stderr, status := runCLI(t, nil, "analyze", "--json", "--html", both, path)
		if status != 0 {
			t.Fatalf("%s: --json --html: status %d: %s", name, status, stderr)
		}
		wantJSON, _, _ := runCLI(t, nil, "analyze", "--json", path)
		if _, stderr, status := runCLI(t, nil, "analyze", "--html", alone, path); status != 0 {
			t.Fatalf("%s: --html: status %d: %s", name, status, stderr)
		}
		gotPage, err := os.ReadFile(both)
		if err != nil {
			t.Fatal(err)
		}
		wantPage, err := os.ReadFile(alone)
		if err != nil {
			t.Fatal(err)
		}
		if gotJSON != wantJSON {
			t.Errorf("%s: the JSON of --json --html differs from that of --json", name)
		}
		if !bytes.Equal(gotPage, wantPage) {
			t.Errorf("%s: the page of --json --html differs from that of --html", name)
		}
		if !bytes.Contains(gotPage, []byte(`<details class="item" id="call-1"`)) {
			t.Errorf("%s: the page explains no call", name)
		}
	}
}

// TestAnalyzeCSVMemoryPerCall: --csv keeps the row of each call as text
// until the calls can be put in order, not the calls (review L9: about
// 3 KB per failed call before, the row's 350 bytes now).
func TestAnalyzeCSVMemoryPerCall(t *testing.T) {
	n := 20000 // a few seconds under -race
	path := filepath.Join(t.TempDir(), "failed.pcap")
	writeFailedCalls(t, path, n)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	out := heapWriter{every: 8} // the rows are written in 64 KB pieces
	if err := Analyze(AnalyzeOptions{Files: []string{path}, Lang: catalog.English, Format: "csv"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.lines != n+1 || !strings.HasPrefix(out.head.String(), "call_id,start,") || !strings.Contains(out.head.String(), "\nmem-0@pbx.example,") {
		t.Fatalf("%d lines of CSV for %d calls:\n%s", out.lines, n, out.head.String())
	}
	perCall := float64(out.peak-min(base, out.peak)) / float64(n)
	t.Logf("%d calls: live heap while writing %.0f bytes per call", n, perCall)
	if perCall > 800 {
		t.Errorf("the CSV keeps %.0f bytes per failed call, want at most 800", perCall)
	}
}
