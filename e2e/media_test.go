package e2e

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// mediaFlow is RTP the test sends itself during a SIPp call: PCMU, one
// packet every 20 ms (RFC 3551 §4.5.14), from one loopback address to the
// address the other side announced in its SDP.
type mediaFlow struct {
	fromCaller bool          // caller to callee, else callee to caller
	srcIP      string        // "" sends from the sender's own SDP address
	after      time.Duration // when to start, from the moment the caller is started
	packets    int
	dropEvery  int // leave out every Nth packet (loss on the way); 0 for none
}

// mediaCase is one call of TestMedia and what the analysis must say.
type mediaCase struct {
	name  string
	pause time.Duration // the caller's pause between ACK and BYE (sipp -d)
	flows []mediaFlow

	verdict   string // calls[].audio.verdict
	direction string // calls[].audio.direction, for one_way
	finding   string // a media finding the call must have ("" for none at all)
	first     bool   // the finding is the call's diagnosis (findings[0])
}

var mediaCases = []mediaCase{
	{name: "both-ways", pause: 4 * time.Second, verdict: "both", flows: []mediaFlow{
		{fromCaller: true, after: 300 * time.Millisecond, packets: 150},
		{fromCaller: false, after: 300 * time.Millisecond, packets: 150},
	}},
	// The called party sends nothing back: the caller hears silence.
	{name: "one-way", pause: 4 * time.Second, verdict: "one_way", direction: "caller_to_callee",
		finding: "media-one-way", first: true, flows: []mediaFlow{
			{fromCaller: true, after: 300 * time.Millisecond, packets: 150},
		}},
	// The caller's audio stops after 1.5 s; the other way goes on to the end.
	{name: "stops-halfway", pause: 9 * time.Second, verdict: "both", finding: "media-stopped", first: true, flows: []mediaFlow{
		{fromCaller: true, after: 300 * time.Millisecond, packets: 75},
		{fromCaller: false, after: 300 * time.Millisecond, packets: 400},
	}},
	// The callee's RTP comes from 127.0.0.2, not the 127.0.0.1 of its SDP:
	// what a NAT in front of it does.
	{name: "other-address", pause: 4 * time.Second, verdict: "both", finding: "media-other-address", flows: []mediaFlow{
		{fromCaller: true, after: 300 * time.Millisecond, packets: 150},
		{fromCaller: false, srcIP: "127.0.0.2", after: 300 * time.Millisecond, packets: 150},
	}},
	// Every 10th packet from the caller is lost: 10 % loss that way only.
	{name: "loss", pause: 4 * time.Second, verdict: "both", finding: "media-quality", flows: []mediaFlow{
		{fromCaller: true, after: 300 * time.Millisecond, packets: 150, dropEvery: 10},
		{fromCaller: false, after: 300 * time.Millisecond, packets: 150},
	}},
}

// TestMedia places SIPp calls on loopback whose RTP the test sends itself
// (both ways, one way, stopping halfway, from another address than the
// SDP's, with loss), captures them with dumpcap and checks what `sipcause
// analyze --json` says: the streams with their packets and loss (within
// one packet), the audio verdict and direction, the finding and its side.
func TestMedia(t *testing.T) {
	for _, mc := range mediaCases {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			runMediaCase(t, mc)
		})
	}
}

func runMediaCase(t *testing.T, mc mediaCase) {
	requireTools(t, "sipp", "dumpcap")
	if suite.noAnalyzer != "" {
		t.Skip(suite.noAnalyzer)
	}
	dir := t.TempDir()
	testdata, err := filepath.Abs(filepath.Join("testdata", "media"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		uasPort  = takePorts(t, 1)
		uacPort  = takePorts(t, 1)
		uasMedia = takePorts(t, 4) // SIPp binds its own media ports; the test's RTP uses others
		uacMedia = takePorts(t, 4)
		uasCtrl  = takePorts(t, 1)
		uacCtrl  = takePorts(t, 1)
		uasRTP   = takePorts(t, 2)
		uacRTP   = takePorts(t, 2)
	)
	callID := "e2e-media-" + mc.name + "-%u-%p@%s"
	pcap := filepath.Join(dir, "call.pcapng")
	capture := startCapture(t, dir, pcap, uacPort, uasPort, uasRTP, uacRTP)

	uas := start(t, time.Minute, dir, "sipp UAS", "sipp",
		"-sf", filepath.Join(testdata, "uas_media.xml"), "-t", "u1",
		"-i", loopback, "-p", strconv.Itoa(uasPort),
		"-mp", strconv.Itoa(uasMedia), "-cp", strconv.Itoa(uasCtrl),
		"-key", "rtp_ip", loopback, "-key", "rtp_port", strconv.Itoa(uasRTP),
		"-m", "1", "-nostdin", "-timeout", "50s", "-trace_err")
	waitListening(t, uas, "udp", uasPort)
	uac := start(t, time.Minute, dir, "sipp UAC", "sipp",
		"-sf", filepath.Join(testdata, "uac_media.xml"), "-t", "u1",
		"-i", loopback, "-p", strconv.Itoa(uacPort),
		"-mp", strconv.Itoa(uacMedia), "-cp", strconv.Itoa(uacCtrl),
		"-key", "rtp_ip", loopback, "-key", "rtp_port", strconv.Itoa(uacRTP),
		"-d", strconv.Itoa(int(mc.pause/time.Millisecond)),
		"-m", "1", "-l", "1", "-nostdin", "-timeout", "50s", "-trace_err",
		"-s", "bob", "-cid_str", callID, loopback+":"+strconv.Itoa(uasPort))

	// The media, as the phones would send it.
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(mc.flows))
	for i, f := range mc.flows {
		src := netip.AddrPortFrom(netip.MustParseAddr(loopback), uint16(uacRTP))
		dst := netip.AddrPortFrom(netip.MustParseAddr(loopback), uint16(uasRTP))
		if !f.fromCaller {
			src, dst = dst, src
		}
		if f.srcIP != "" {
			src = netip.AddrPortFrom(netip.MustParseAddr(f.srcIP), src.Port())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(began.Add(f.after)))
			if err := sendRTP(src, dst, uint32(0x5eed0000+i), f.packets, f.dropEvery); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("sending RTP: %v", err)
	}
	if code := uac.wait(mc.pause + 20*time.Second); code != 0 {
		t.Fatalf("sipp UAC exit %d:\n%s", code, tail(uac.output()))
	}
	uas.wait(5 * time.Second)
	stopCapture(t, capture)
	keepCapture(t, pcap)

	_, raw := analyze(t, suite.sipcause, pcap)
	var rep struct {
		Calls []struct {
			CallID    string `json:"call_id"`
			Outcome   string `json:"outcome"`
			Fault     string `json:"fault"`
			Direction string `json:"direction"`
			Findings  []struct {
				ID    string `json:"id"`
				Fault string `json:"fault"`
			} `json:"findings"`
			Audio *struct {
				Verdict   string `json:"verdict"`
				Direction string `json:"direction"`
			} `json:"audio"`
			Media []mediaJSON `json:"media"`
		} `json:"calls"`
		Media []mediaJSON `json:"media"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Calls) != 1 {
		t.Fatalf("%d calls, want 1", len(rep.Calls))
	}
	c := rep.Calls[0]
	if c.Outcome != "answered" || c.Audio == nil {
		t.Fatalf("call %s: outcome %s, audio %+v; want answered with an audio verdict", c.CallID, c.Outcome, c.Audio)
	}
	if c.Audio.Verdict != mc.verdict || c.Audio.Direction != mc.direction {
		t.Errorf("audio %s %s, want %s %s", c.Audio.Verdict, c.Audio.Direction, mc.verdict, mc.direction)
	}

	// Each flow is one stream of the call, with its packets and loss.
	if len(c.Media) != len(mc.flows) || len(rep.Media) != len(mc.flows) {
		t.Errorf("%d streams in the call, %d in all; want %d", len(c.Media), len(rep.Media), len(mc.flows))
	}
	for _, f := range mc.flows {
		dir := "caller_to_callee"
		if !f.fromCaller {
			dir = "callee_to_caller"
		}
		sent, lost := f.packets, 0
		if f.dropEvery > 0 {
			lost = (f.packets - 1) / f.dropEvery // the last packet, if dropped, is no gap
			sent -= f.packets / f.dropEvery
		}
		var got *mediaJSON
		for i := range c.Media {
			if c.Media[i].Direction == dir {
				got = &c.Media[i]
			}
		}
		if got == nil {
			t.Errorf("no stream %s", dir)
			continue
		}
		if abs(got.Packets-sent) > 1 || abs(got.Lost-lost) > 1 || got.CallID != c.CallID || got.Found != "sdp" {
			t.Errorf("stream %s: %d packets, %d lost, call %q, found %s; want %d and %d (±1), %q, sdp", dir, got.Packets, got.Lost, got.CallID, got.Found, sent, lost, c.CallID)
		}
		if got.Codec != "PCMU" || got.MOS < 1 || got.MOS > 4.5 || math.IsNaN(got.MOS) {
			t.Errorf("stream %s: codec %s MOS %.2f", dir, got.Codec, got.MOS)
		}
	}

	// The finding, and whose side it puts the cause on: on loopback both
	// phones count as yours unless the roles say otherwise, so the side
	// follows from the call's direction as sipcause worked it out.
	var ids []string
	for _, f := range c.Findings {
		ids = append(ids, f.ID)
	}
	if mc.finding == "" {
		for _, id := range ids {
			if len(id) > 6 && id[:6] == "media-" {
				t.Errorf("unexpected media finding %s (findings %v)", id, ids)
			}
		}
		if c.Fault != "none" {
			t.Errorf("fault %s, want none", c.Fault)
		}
		return
	}
	idx := -1
	for i, id := range ids {
		if id == mc.finding {
			idx = i
			break
		}
	}
	if idx < 0 || mc.first && idx != 0 {
		t.Fatalf("findings %v: want %s%s", ids, mc.finding, map[bool]string{true: " first", false: ""}[mc.first])
	}
	if want := mediaSide(mc, c.Direction); c.Findings[idx].Fault != want {
		t.Errorf("%s: side %s, want %s for a %s call", mc.finding, c.Findings[idx].Fault, want, c.Direction)
	}
	if mc.first && c.Fault != c.Findings[0].Fault {
		t.Errorf("call fault %s, want the diagnosis's %s", c.Fault, c.Findings[0].Fault)
	}
}

// mediaSide is whose side a case's finding must put the cause on, for the
// call's direction as sipcause saw it (local = your side): a direction that
// is missing or stopped is on the sender's side when the sender is yours;
// loss shows where the capture was taken, so loss in what your side sent
// is on your side; an address rewritten on the way is the sender's.
func mediaSide(mc mediaCase, callDir string) string {
	local := map[string]bool{}
	switch callDir {
	case "outgoing":
		local["caller"] = true
	case "incoming":
		local["callee"] = true
	case "internal":
		local["caller"], local["callee"] = true, true
	}
	switch mc.name {
	case "one-way": // the callee sent nothing
		if local["callee"] {
			return "local"
		}
		if local["caller"] {
			return "remote"
		}
	case "stops-halfway": // the caller stopped sending
		if local["caller"] {
			return "local"
		}
		if local["callee"] {
			return "remote"
		}
	case "other-address": // the callee's source was rewritten
		if local["callee"] {
			return "local"
		}
		if len(local) > 0 {
			return "remote"
		}
	case "loss": // lost in what the caller sent
		if local["caller"] && !local["callee"] {
			return "local"
		}
	}
	return "network"
}

type mediaJSON struct {
	CallID    string  `json:"call_id"`
	Src       string  `json:"src"`
	Dst       string  `json:"dst"`
	Direction string  `json:"direction"`
	Found     string  `json:"found"`
	Codec     string  `json:"codec"`
	Packets   int     `json:"packets"`
	Lost      int     `json:"lost"`
	MOS       float64 `json:"mos"`
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// sendRTP sends n PCMU packets of 20 ms from src to dst (RFC 3550 §5.1),
// leaving out every dropEvery-th one as the network would lose it.
func sendRTP(src, dst netip.AddrPort, ssrc uint32, n, dropEvery int) error {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(src))
	if err != nil {
		return err
	}
	defer conn.Close()
	pkt := make([]byte, 12+160)
	for i := range pkt[12:] {
		pkt[12+i] = 0xff // PCMU silence
	}
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	next := time.Now()
	for i := range n {
		if dropEvery > 0 && (i+1)%dropEvery == 0 {
			next = next.Add(20 * time.Millisecond)
			continue
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		time.Sleep(time.Until(next))
		if _, err := conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			return err
		}
		next = next.Add(20 * time.Millisecond)
	}
	return nil
}
