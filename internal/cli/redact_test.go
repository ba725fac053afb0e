package cli

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/capture"
)

// secrets are what a capture says about who called whom: every IP address
// the packets came from or went to or that the SIP text names, and every
// user part of a SIP or tel URI (numbers and user names).
func secrets(t *testing.T, path string) []string {
	t.Helper()
	rd, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	seen := map[string]bool{}
	addIP := func(a netip.Addr) {
		a = a.Unmap()
		if a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() {
			seen[a.String()] = true
			if a.Is6() {
				seen[a.StringExpanded()] = true
			}
		}
	}
	reV4 := regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
	reV6 := regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}`)
	reUser := regexp.MustCompile(`(?i)(?:sips?|tel):([^@\s<>;:"',]+)@`)
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			break
		}
		addIP(p.Src.Addr())
		addIP(p.Dst.Addr())
		text := string(p.Payload)
		if !strings.Contains(text, "SIP/2.0") {
			continue
		}
		// Version numbers in User-Agent and Server look like addresses.
		text = regexp.MustCompile(`(?im)^(User-Agent|Server):.*$`).ReplaceAllString(text, "")
		for _, m := range reV4.FindAllString(text, -1) {
			if a, err := netip.ParseAddr(m); err == nil {
				addIP(a)
			}
		}
		for _, m := range reV6.FindAllString(text, -1) {
			if a, err := netip.ParseAddr(m); err == nil && a.Is6() {
				addIP(a)
			}
		}
		for _, m := range reUser.FindAllStringSubmatch(text, -1) {
			u := m[1]
			if notSecret[strings.ToLower(u)] || len(u) < 3 {
				continue
			}
			seen[u] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// notSecret are user parts that name no one.
var notSecret = map[string]bool{"anonymous": true, "unknown": true, "restricted": true, "private": true, "unavailable": true}

// TestRedactEveryFormat takes every address and user of a capture's
// messages and checks that none of them appears in any output of
// --redact: text, JSON, CSV, HTML with the raw SIP, the ladder, and the
// message list.
func TestRedactEveryFormat(t *testing.T) {
	readManifest(t)
	for _, name := range []string{
		"sngrep__aaa.pcap",
		"goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng",
		"goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng",
		"heplify__sip_ipv4_tcp.pcap",
	} {
		path := filepath.Join(sharedCaptures, name)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sec := secrets(t, path)
		if len(sec) < 3 {
			t.Fatalf("%s: only %d secrets found; the test would prove nothing", name, len(sec))
		}
		outputs := map[string][]string{
			"text":          {"analyze", "--redact", "--all", "--stats", path},
			"text nl":       {"analyze", "--redact", "--all", "--lang", "nl", path},
			"json":          {"analyze", "--redact", "--json", path},
			"csv":           {"analyze", "--redact", "--csv", path},
			"html":          {"analyze", "--redact", "--html", "-", path},
			"flow":          {"flow", "--redact", path},
			"messages":      {"messages", "--redact", path},
			"messages json": {"messages", "--redact", "--json", path},
		}
		for format, args := range outputs {
			out, errs, status := runCLI(t, nil, args...)
			if status != ExitOK {
				t.Fatalf("%s %s: status %d: %s", name, format, status, errs)
			}
			for _, s := range sec {
				if i := tokenIndex(out, s); i >= 0 {
					from, to := max(0, i-60), min(len(out), i+len(s)+60)
					t.Errorf("%s %s: %q left: …%s…", name, format, s, strings.ReplaceAll(out[from:to], "\n", "⏎"))
				}
			}
		}
	}
}

// tokenIndex finds v in s as a whole token, or -1: not inside a longer
// number or name (digits glued to digits, letters to letters), so that
// "10.0.0.1" is not found in "10.0.0.15" but is in "…1de10.0.0.1".
func tokenIndex(s, v string) int {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	letter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
	glued := func(a, b byte) bool { return digit(a) && digit(b) || letter(a) && letter(b) }
	for i := 0; ; {
		j := strings.Index(s[i:], v)
		if j < 0 {
			return -1
		}
		j += i
		end := j + len(v)
		left := j == 0 || !glued(s[j-1], v[0]) && !(s[j-1] == '.' && digit(v[0]))
		right := end == len(s) || !glued(v[len(v)-1], s[end]) && !(s[end] == '.' && end+1 < len(s) && digit(s[end+1]))
		if left && right {
			return j
		}
		i = j + 1
	}
}
