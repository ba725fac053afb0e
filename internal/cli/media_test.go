package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/internal/sharedtest"
)

// analyze reads the RTP of a capture by default and says each answered
// call's audio, in text and JSON; --no-media skips it.
func TestAnalyzeMedia(t *testing.T) {
	path := filepath.Join(sharedCaptures, "heplify__rtp_rtcp_sip_ipv4_udp.pcap")
	if _, err := os.Stat(path); err != nil {
		sharedtest.Missing(t, path, err)
	}
	out, _, status := runCLI(t, nil, "analyze", "--all", path)
	if status != 0 || !strings.Contains(out, "Audio         both directions, MOS 4.4") {
		t.Errorf("exit %d, text:\n%s", status, out)
	}
	out, _, _ = runCLI(t, nil, "analyze", "--all", "--lang", "nl", path)
	if !strings.Contains(out, "in beide richtingen, MOS 4,4") {
		t.Errorf("Dutch text:\n%s", out)
	}
	out, _, _ = runCLI(t, nil, "analyze", "--json", path)
	if !strings.Contains(out, `"media": [`) || !strings.Contains(out, `"ssrc": 3535621694`) {
		t.Errorf("JSON lacks the streams")
	}
	out, _, _ = runCLI(t, nil, "analyze", "--all", "--no-media", path)
	if strings.Contains(out, "Audio") {
		t.Errorf("--no-media still reads the media:\n%s", out)
	}
	out, _, _ = runCLI(t, nil, "flow", path, "--call", "12013223@200.57.7.195")
	if strings.Count(out, "RTP ") != 2 {
		t.Errorf("flow: want one RTP arrow per direction:\n%s", out)
	}
}
