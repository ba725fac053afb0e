package cli

import (
	gohtml "html"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A filter that matches nothing says so on standard error and exits 1,
// instead of printing a summary that looks like an answer.
func TestAnalyzeFilterMatchesNothing(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	for _, args := range [][]string{
		{"analyze", "--number", "0612345678", path},
		{"analyze", "--json", "--number", "0612345678", path},
		{"analyze", "--call", "no-such-call", path},
		{"analyze", "--lang", "nl", "--call", "no-such-call", path},
	} {
		out, errs, status := runCLI(t, nil, args...)
		if status != ExitDamaged || !strings.Contains(errs, "no-such-call") && !strings.Contains(errs, "0612345678") {
			t.Errorf("%v: status %d, stderr %q", args, status, errs)
		}
		if strings.Contains(out, "Calls, one line each") {
			t.Errorf("%v: printed a report: %q", args, out)
		}
		if args[1] == "--lang" && !strings.Contains(errs, "geen gesprek") {
			t.Errorf("Dutch message expected: %q", errs)
		}
	}
}

// --call takes a unique start of a Call-ID; a start that fits several
// calls is bad usage and names them.
func TestAnalyzeCallPrefix(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	r := analyzeJSON(t, "--call", "85216695", path)
	if len(r.Calls) != 1 || r.Calls[0].CallID != "85216695-42dcdb1d@192.168.1.2" {
		t.Errorf("--call 85216695: %d calls", len(r.Calls))
	}
	out, errs, status := runCLI(t, nil, "flow", "--call", "8521", path)
	if status != ExitOK || !strings.Contains(out, "85216695-42dcdb1d@192.168.1.2") {
		t.Errorf("flow --call 8521: status %d, stderr %q", status, errs)
	}
	// 105090259-… and 1… : more than one Call-ID starts with "1" here.
	_, errs, status = runCLI(t, nil, "analyze", "--call", "1", path)
	if status != ExitUsage || !strings.Contains(errs, "more than one call") {
		t.Errorf("--call 1: status %d, stderr %q", status, errs)
	}
}

// --html to a path that cannot be written fails before the capture is
// read; --html - writes the page to standard output.
func TestAnalyzeHTMLTargets(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "r.html")
	// A capture that does not exist either: had the analysis run first,
	// the error would be about the capture.
	_, errs, status := runCLI(t, nil, "analyze", "--html", bad, "/nonexistent/capture.pcap")
	if status != ExitUsage || !strings.Contains(errs, "--html") {
		t.Errorf("unwritable --html: status %d, stderr %q", status, errs)
	}
	_, errs, _ = runCLI(t, nil, "analyze", "--lang", "nl", "--html", bad, "/nonexistent/capture.pcap")
	if want := "kan de pagina niet schrijven: " + bad + ": bestand of map bestaat niet"; !strings.Contains(errs, want) {
		t.Errorf("unwritable --html in Dutch: stderr %q, want %q", errs, want)
	}
	out, errs, status := runCLI(t, nil, "analyze", "--html", "-", path)
	if status != ExitOK || !strings.HasPrefix(out, "<!DOCTYPE html>") || strings.Contains(out, "sipcause report\n") {
		t.Errorf("--html -: status %d, stderr %q, out starts %q", status, errs, out[:min(len(out), 80)])
	}
	if !strings.Contains(out, `class="raw"`) || !strings.Contains(out, "INVITE sip:") {
		t.Error("--html -: the page lacks the raw SIP of the calls")
	}
}

// A file that is no capture among several inputs is named and skipped;
// the others are still analysed, and the exit status is 1.
func TestAnalyzeSkipsNonCapture(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, status := runCLI(t, nil, "analyze", notes, path)
	if status != ExitDamaged || !strings.Contains(errs, "notes.txt") || !strings.Contains(errs, "skipped") {
		t.Errorf("status %d, stderr %q", status, errs)
	}
	if !strings.Contains(out, "Calls, one line each") || !strings.Contains(out, "notes.txt: skipped") {
		t.Errorf("the other input was not analysed, or the skip not reported:\n%s", out)
	}
	// In Dutch, on stderr and in the report, and a file that is not there
	// as well: no English words of the readers or the system.
	missing := filepath.Join(t.TempDir(), "weg.pcap")
	out, errs, status = runCLI(t, nil, "analyze", "--lang", "nl", notes, missing, path)
	for _, want := range []string{"notes.txt: geen pcap-, pcapng-, HEP- of SIP-logbestand (overgeslagen)", "weg.pcap: bestand of map bestaat niet (overgeslagen)"} {
		if status != ExitDamaged || !strings.Contains(errs, want) {
			t.Errorf("--lang nl: status %d, stderr %q; want %q", status, errs, want)
		}
	}
	if !strings.Contains(out, "notes.txt: overgeslagen (geen pcap-, pcapng-, HEP- of SIP-logbestand)") {
		t.Errorf("--lang nl: the report does not say in Dutch why notes.txt was skipped:\n%s", firstLines(out, 10))
	}
	for _, en := range []string{"not a pcap", "skipped", "no such file", "open /"} {
		if strings.Contains(errs, en) || strings.Contains(out, en) {
			t.Errorf("--lang nl: English %q in the output:\n%s%s", en, errs, firstLines(out, 10))
		}
	}
	_, errs, status = runCLI(t, nil, "analyze", "--lang", "nl", missing)
	if status != ExitUsage || strings.Contains(errs, "no such file") || !strings.Contains(errs, "weg.pcap: bestand of map bestaat niet") {
		t.Errorf("--lang nl, only a missing file: status %d, stderr %q", status, errs)
	}
}

// Times are shown in the zone asked for, with its name; TZ is respected.
func TestAnalyzeTimeZone(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	out, _, _ := runCLI(t, map[string]string{"TZ": "Europe/Amsterdam"}, "analyze", path)
	if !strings.Contains(out, "2005-07-04 11:32:52 – ") || !strings.Contains(out, " (Europe/Amsterdam, CEST)") {
		t.Errorf("TZ=Europe/Amsterdam: %s", firstLines(out, 3))
	}
	out, _, _ = runCLI(t, map[string]string{"TZ": "Europe/Amsterdam"}, "analyze", "--tz", "America/New_York", path)
	if !strings.Contains(out, "(America/New_York, EDT)") {
		t.Errorf("--tz America/New_York: %s", firstLines(out, 3))
	}
	_, errs, status := runCLI(t, nil, "analyze", "--tz", "Mars/Olympus", path)
	if status != ExitUsage || !strings.Contains(errs, "--tz") {
		t.Errorf("bad --tz: status %d, %q", status, errs)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// TestAnalyzePerspective: --perspective provider words the side for a
// provider's own helpdesk (review T25), in both languages, in the text and
// the HTML page; customer is the default; another value is a usage error,
// on analyze and on serve.
func TestAnalyzePerspective(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	for _, tc := range []struct {
		lang, persp, want, not string
	}{
		{"en", "", "your side", "the customer's side"},
		{"en", "customer", "your side", "the customer's side"},
		{"en", "provider", "the customer's side", "your side"},
		{"nl", "provider", "de kant van de klant", "uw kant"},
		{"nl", "customer", "uw kant", "de kant van de klant"},
	} {
		args := []string{"analyze", "--tz", "UTC", "--lang", tc.lang}
		if tc.persp != "" {
			args = append(args, "--perspective", tc.persp)
		}
		html := filepath.Join(t.TempDir(), "r.html")
		out, errOut, status := runCLI(t, nil, append(args, "--html", html, path)...)
		if status != ExitOK {
			t.Fatalf("%v: status %d: %s", args, status, errOut)
		}
		page, err := os.ReadFile(html)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
			t.Errorf("%v text: want %q and not %q", args, tc.want, tc.not)
		}
		// The page's texts may say "uw kant" in advice; its side cells
		// and hosts' roles say the perspective's words.
		if w := gohtml.EscapeString(tc.want); !strings.Contains(string(page), ">"+w+"<") {
			t.Errorf("%v html: no %q", args, w)
		}
		if n := gohtml.EscapeString(tc.not); strings.Contains(string(page), ">"+n+"<") {
			t.Errorf("%v html: %q", args, n)
		}
	}
	for _, cmd := range []string{"analyze", "serve"} {
		_, errs, status := runCLI(t, nil, cmd, "--perspective", "klant")
		if status != ExitUsage || !strings.Contains(errs, "--perspective") {
			t.Errorf("%s --perspective klant: status %d, %q", cmd, status, errs)
		}
	}
}
