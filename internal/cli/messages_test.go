package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMessagesJSONLines(t *testing.T) {
	readManifest(t)
	out, errOut, status := runCLI(t, nil, "messages", "--json", filepath.Join(sharedCaptures, "sngrep__aaa.pcap"))
	if status != ExitOK {
		t.Fatalf("status %d: %s", status, errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n, last := 0, map[string]any{}
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %d is no JSON: %v", n+1, err)
		}
		last = obj
		if _, ok := obj["integrity"]; ok {
			break
		}
		n++
		for _, k := range []string{"file", "frame", "time", "src", "dst", "transport", "call_id", "cseq", "warnings"} {
			if _, ok := obj[k]; !ok {
				t.Fatalf("line %d has no %q: %v", n, k, obj)
			}
		}
		_, isReq := obj["method"]
		_, isResp := obj["status"]
		if isReq == isResp {
			t.Fatalf("line %d must have exactly one of method and status: %v", n, obj)
		}
	}
	if n != 81 {
		t.Errorf("%d messages, want 81", n)
	}
	integ, ok := last["integrity"].(map[string]any)
	if !ok || integ["sip_messages"].(float64) != 81 {
		t.Errorf("last line is not the integrity object: %v", last)
	}
}

func TestMessagesErrors(t *testing.T) {
	readManifest(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(junk, []byte("just some notes\nno SIP here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, status := runCLI(t, nil, "messages", junk)
	if status != ExitUsage || out != "" || !strings.Contains(errOut, "notes.txt") {
		t.Errorf("unknown format: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(sharedCaptures, "MichalCab-ISA__sip.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, status = runCLI(t, nil, "messages", cut)
	if status != ExitDamaged || !strings.Contains(errOut, "cut.pcap frame ") || strings.Count(out, "\n") == 0 {
		t.Errorf("damaged: status %d, %d lines, stderr %q", status, strings.Count(out, "\n"), errOut)
	}
}

// TestMessagesDutch: `messages --lang nl` writes times as a Dutch reader
// reads them (27-11-2026, a decimal comma), in the zone asked for, and
// names that zone; the listing keeps one line per message.
func TestMessagesDutch(t *testing.T) {
	path := "../../examples/failed-calls.pcapng"
	out, errOut, status := runCLI(t, nil, "messages", "--lang", "nl", "--tz", "Europe/Amsterdam", path)
	if status != ExitOK {
		t.Fatalf("exit %d: %s", status, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 64 || !strings.Contains(lines[0], "  27-11-2026 04:28:14,526635  ") {
		t.Errorf("%d lines, the first %q; want 64, at 27-11-2026 04:28:14,526635", len(lines), lines[0])
	}
	if !strings.Contains(errOut, "Tijden in Europe/Amsterdam, CET\n") || !strings.Contains(errOut, "Opname: 64 frames") {
		t.Errorf("stderr %q: want the zone's name and the capture's counts in Dutch", errOut)
	}
	out, errOut, _ = runCLI(t, nil, "messages", "--lang", "en", "--tz", "UTC", path)
	if !strings.Contains(out, "  2026-11-27 03:28:14.526635  ") || !strings.Contains(errOut, "Times in UTC\n") {
		t.Errorf("English: %q / %q", firstLines(out, 1), errOut)
	}
}
