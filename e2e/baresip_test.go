package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// baresipConfig is the configuration of one baresip phone for
// TestBaresipCall: SIP on sipPort of loopback, RTP from the four ports at
// rtpPort, PCMU/PCMA only, a sine tone of freq Hz as its microphone (the
// ausine module, which makes 48 kHz stereo; baresip resamples to 8 kHz
// mono) and a virtual loudspeaker (aubridge) instead of a sound card.
func baresipConfig(sipPort, rtpPort, freq int, name string) string {
	return fmt.Sprintf(`poll_method		epoll
sip_listen		127.0.0.1:%[1]d
net_interface		127.0.0.1
call_local_timeout	60
audio_player		aubridge,out-%[2]s
audio_alert		aubridge,alert-%[2]s
audio_source		ausine,%[3]d
ausrc_srate		48000
ausrc_channels		2
auplay_srate		48000
rtp_ports		%[4]d-%[5]d
rtcp_mux		no
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module_app		account.so
module_app		menu.so
`, sipPort, name, freq, rtpPort, rtpPort+3)
}

// TestBaresipCall places a call between two baresip phones through
// Kamailio on loopback: alice dials bob through the proxy, which asks her
// to authenticate (407) and relays the call; bob answers by himself; both
// send a sine tone for about six seconds, then alice hangs up. The capture
// must show, by `sipcause analyze --json`, one answered call with audio
// both ways: a PCMU stream in each direction, each with its hundreds of
// packets, no loss on loopback, and no media finding.
func TestBaresipCall(t *testing.T) {
	requireTools(t, "kamailio", "dumpcap")
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Skip("e2e: baresip not installed (Debian: apt-get install baresip; scripts/test installs it)")
	}
	if _, err := os.Stat("/usr/lib/baresip/modules/ausine.so"); err != nil {
		t.Skip("e2e: baresip without its ausine module (Debian package baresip-core)")
	}
	if suite.noAnalyzer != "" {
		t.Skip(suite.noAnalyzer)
	}
	dir := t.TempDir()
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var (
		proxyPort = takePorts(t, 1)
		alicePort = takePorts(t, 1)
		bobPort   = takePorts(t, 1)
		aliceRTP  = takePorts(t, 4)
		bobRTP    = takePorts(t, 4)
	)
	for _, p := range []struct {
		name           string
		sip, rtp, freq int
		account        string
	}{
		// alice sends her requests to Kamailio and answers its challenge
		// with the password its configuration checks.
		{"alice", alicePort, aliceRTP, 440, fmt.Sprintf(`<sip:alice@127.0.0.1:%d;transport=udp>;regint=0;auth_pass=secret;outbound="sip:127.0.0.1:%d;transport=udp"`, alicePort, proxyPort)},
		{"bob", bobPort, bobRTP, 1000, fmt.Sprintf(`<sip:bob@127.0.0.1:%d;transport=udp>;regint=0;answermode=auto`, bobPort)},
	} {
		d := filepath.Join(dir, p.name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "config"), []byte(baresipConfig(p.sip, p.rtp, p.freq, p.name)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "accounts"), []byte(p.account+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ports := []int{proxyPort, alicePort, bobPort}
	for i := range 4 {
		ports = append(ports, aliceRTP+i, bobRTP+i)
	}
	pcap := filepath.Join(dir, "call.pcapng")
	capture := startCapture(t, dir, pcap, ports...)

	listen := loopback + ":" + strconv.Itoa(proxyPort)
	kamailio := start(t, time.Minute, dir, "kamailio", "kamailio",
		"-f", filepath.Join(testdata, "kamailio.cfg"), "-DD", "-E",
		"-Y", dir, "-w", dir, "-m", "32", "-M", "4",
		"-l", "udp:"+listen, "-l", "tcp:"+listen)
	waitListening(t, kamailio, "udp", proxyPort)

	// bob waits (at most 40 s); alice calls, talks for 6 s and quits,
	// which hangs up.
	bob := start(t, time.Minute, dir, "baresip bob", "baresip", "-f", filepath.Join(dir, "bob"), "-t", "40")
	waitListening(t, bob, "udp", bobPort)
	alice := start(t, time.Minute, dir, "baresip alice", "baresip", "-f", filepath.Join(dir, "alice"), "-t", "6",
		"-e", "/dial sip:bob@127.0.0.1:"+strconv.Itoa(bobPort))
	code := alice.wait(30 * time.Second)
	time.Sleep(500 * time.Millisecond) // the BYE's answer
	bob.stop(syscall.SIGTERM, 5*time.Second)
	kamailio.stop(syscall.SIGTERM, 5*time.Second)
	stopCapture(t, capture)
	keepCapture(t, pcap)
	if code != 0 || !strings.Contains(alice.output(), "Call established") {
		t.Fatalf("baresip alice exit %d, no call established:\n%s\n--- bob:\n%s\n--- kamailio:\n%s",
			code, tail(alice.output()), tail(bob.output()), tail(kamailio.output()))
	}

	_, raw := analyze(t, suite.sipcause, pcap)
	var rep struct {
		Calls []struct {
			CallID   string `json:"call_id"`
			Outcome  string `json:"outcome"`
			Fault    string `json:"fault"`
			Findings []struct {
				ID string `json:"id"`
			} `json:"findings"`
			Audio *struct {
				Verdict string   `json:"verdict"`
				MOS     *float64 `json:"mos"`
			} `json:"audio"`
			Media []mediaJSON `json:"media"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Calls) != 1 {
		t.Fatalf("%d calls, want 1", len(rep.Calls))
	}
	c := rep.Calls[0]
	if c.Outcome != "answered" || c.Audio == nil || c.Audio.Verdict != "both" || c.Audio.MOS == nil || *c.Audio.MOS < 4 {
		t.Fatalf("call %s: outcome %s, audio %+v; want answered, audio both ways with a good MOS", c.CallID, c.Outcome, c.Audio)
	}
	seen := map[string]bool{}
	for _, m := range c.Media {
		seen[m.Direction] = true
		// 50 packets a second for most of the six seconds, none lost on
		// loopback.
		if m.Packets < 100 || m.Lost > 1 || m.Codec != "PCMU" || m.Found != "sdp" || m.CallID != c.CallID {
			t.Errorf("stream %s %s → %s: %d packets, %d lost, codec %s, found %s", m.Direction, m.Src, m.Dst, m.Packets, m.Lost, m.Codec, m.Found)
		}
	}
	if !seen["caller_to_callee"] || !seen["callee_to_caller"] {
		t.Errorf("streams %+v; want one each way", c.Media)
	}
	for _, f := range c.Findings {
		if strings.HasPrefix(f.ID, "media-") {
			t.Errorf("media finding %s on a call with good audio both ways", f.ID)
		}
	}
}
