package ingest

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/internal/sharedtest"
)

// tsharkStream is one line of `tshark -q -z rtp,streams`.
type tsharkStream struct {
	src, dst                  string
	ssrc                      uint32
	packets, lost             int
	maxDelta, meanJit, maxJit float64
}

// tsharkStreams runs tshark's RTP stream statistics on a capture.
func tsharkStreams(t *testing.T, path string) []tsharkStream {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", path, "-q", "-z", "rtp,streams").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	var list []tsharkStream
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 17 || strings.Count(f[0], ".") != 1 {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue
		}
		if f[len(f)-1] == "X" {
			f = f[:len(f)-1]
		}
		n := len(f)
		num := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("tshark line %q: %v", line, err)
			}
			return v
		}
		ssrc, err := strconv.ParseUint(strings.TrimPrefix(f[6], "0x"), 16, 32)
		if err != nil {
			t.Fatalf("tshark line %q: %v", line, err)
		}
		ap := func(addr, port string) string {
			a, err := netip.ParseAddr(addr)
			p, err2 := strconv.ParseUint(port, 10, 16)
			if err != nil || err2 != nil {
				t.Fatalf("tshark line %q: bad address %s %s", line, addr, port)
			}
			return netip.AddrPortFrom(a, uint16(p)).String()
		}
		list = append(list, tsharkStream{
			src: ap(f[2], f[3]), dst: ap(f[4], f[5]), ssrc: uint32(ssrc),
			packets: int(num(f[n-9])), lost: int(num(f[n-8])),
			maxDelta: num(f[n-4]), meanJit: num(f[n-2]), maxJit: num(f[n-1]),
		})
	}
	return list
}

// tsharkOtherSignalling are captures where tshark ties media to SDP that
// came in another protocol than SIP, which sipcause does not read: there
// the streams must be found, but their figures may differ.
var tsharkOtherSignalling = map[string]string{
	// H.248 (MEGACO) moves port 16756 to T.38 at 64.56 s, so tshark stops
	// counting the G.711 packets that still flow to it as RTP.
	"heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap": "H.248/MEGACO SDP",
}

// Every RTP stream tshark finds in the shared captures is found too, with
// the same packets, lost, max delta, max and mean jitter (tshark prints
// three decimals; 0.0015 ms of difference is rounding).
func TestMediaMatchesTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is required in CI (scripts/test installs it)")
		}
		t.Skip("tshark not installed: the RTP oracle cannot run")
	}
	paths, _ := filepath.Glob(filepath.Join(shared, "*.pcap*"))
	if len(paths) == 0 {
		sharedtest.Missing(t, shared, os.ErrNotExist)
	}
	compared := 0
	for _, path := range paths {
		want := tsharkStreams(t, path)
		if len(want) == 0 {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			rep, err := Analyze(Files(path), Options{Media: true}, analyze.Options{})
			if rep == nil {
				t.Fatal(err)
			}
			got := map[string]*analyze.MediaStream{}
			for _, m := range rep.Media {
				got[fmt.Sprintf("%s>%s/%d", m.Src, m.Dst, m.SSRC)] = m
			}
			for _, w := range want {
				key := fmt.Sprintf("%s>%s/%d", w.src, w.dst, w.ssrc)
				g := got[key]
				if g == nil {
					t.Errorf("stream %s (%d packets) not found", key, w.packets)
					continue
				}
				if why, ok := tsharkOtherSignalling[filepath.Base(path)]; ok {
					t.Logf("stream %s: figures not compared (tshark follows %s)", key, why)
					continue
				}
				compared++
				if g.Packets != w.packets || g.Lost != w.lost {
					t.Errorf("stream %s: packets/lost %d/%d, tshark %d/%d", key, g.Packets, g.Lost, w.packets, w.lost)
				}
				for _, c := range []struct {
					name      string
					got, want float64
				}{{"max delta", g.MaxDeltaMS, w.maxDelta}, {"mean jitter", g.MeanJitterMS, w.meanJit}, {"max jitter", g.MaxJitterMS, w.maxJit}} {
					if math.Abs(c.got-c.want) > 0.0015 {
						t.Errorf("stream %s: %s %.3f ms, tshark %.3f ms", key, c.name, c.got, c.want)
					}
				}
			}
		})
	}
	if compared == 0 {
		t.Fatal("no RTP stream compared")
	}
	t.Logf("%d streams compared with tshark", compared)
}

// The shared fax capture: the gateway's re-INVITE to T.38 is refused and
// the fax goes on as G.711, whose stream from the answering fax carries
// its CED tone (2100 Hz): a fax sent as audio.
func TestMediaFaxAsAudio(t *testing.T) {
	path := sharedFile(t, "heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap")
	rep, err := Analyze(Files(path), Options{Media: true}, analyze.Options{})
	if rep == nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.Calls {
		for _, f := range c.Findings {
			if f.ID != "media-fax-audio" {
				continue
			}
			found = true
			if f.Values["tones"] != "ced" || f.Parts["dir"][0].Phrase != "media-dir-callee-caller" {
				t.Errorf("fax finding %+v", f)
			}
		}
	}
	if !found {
		t.Error("no media-fax-audio finding")
	}
	tones := 0
	for _, m := range rep.Media {
		if m.FaxTones != "" {
			tones++
			if m.FaxTones != "ced" || m.Src != "10.35.60.100:15580" {
				t.Errorf("stream %d %s → %s: fax tones %q", m.Number, m.Src, m.Dst, m.FaxTones)
			}
		}
	}
	if tones != 1 {
		t.Errorf("%d streams with fax tones, want 1", tones)
	}
}
