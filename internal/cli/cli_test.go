package cli

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// runCLI runs the command as a user would, with a fixed environment.
func runCLI(t *testing.T, envVars map[string]string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string {
			if v, ok := envVars[k]; ok || k != "TZ" {
				return v
			}
			return "UTC" // times in golden files must not depend on the machine's zone
		},
	}
	status = Main(args, env)
	return out.String(), errb.String(), status
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./internal/cli -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestCodeGolden(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"code_486_en.txt", nil, []string{"code", "486"}},
		{"code_486_nl.txt", nil, []string{"code", "--lang", "nl", "486"}},
		{"code_486_nl_from_lang.txt", map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"code", "486"}},
		{"code_500_en.txt", nil, []string{"code", "500"}},
		{"code_499_en.txt", nil, []string{"code", "499"}},
		{"code_499_nl.txt", nil, []string{"code", "499", "--lang=nl"}},
		{"code_statusline_en.txt", nil, []string{"code", "SIP/2.0 486 Bezet", "SIP/2.0 404 Not Found"}},
		{"code_reason_en.txt", nil, []string{"code", `Q.850;cause=17;text="User busy"`, `Reason: SIP;cause=487;text="Request Terminated", Q.850;cause=16`}},
		{"code_reason_nl.txt", nil, []string{"code", "--lang", "nl", `Q.850;cause=34`, `Q.850;cause=12`}},
		{"code_warning_en.txt", nil, []string{"code", `305 sbc.example.net "Incompatible media format"`, `Warning: 399 pbx "Out of credit"`}},
		{"code_warning_nl.txt", nil, []string{"code", "--lang", "nl", `370 proxy "Insufficient bandwidth"`}},
		{"code_json.json", nil, []string{"code", "--json", "486", "499", "SIP/2.0 503 Overloaded", `Q.850;cause=17`, `SIP;cause=200`, `305 h "x"`}},
		{"code_json_nl.json", nil, []string{"code", "--json", "--lang", "nl", "487"}},
		{"codes_en.txt", nil, []string{"codes"}},
		{"codes_nl.txt", map[string]string{"LC_ALL": "nl_BE", "LANG": "en_US"}, []string{"codes"}},
		{"codes_class4_en.txt", nil, []string{"codes", "--class", "4"}},
		{"codes_class6_nl.txt", nil, []string{"codes", "--class", "6", "--lang", "nl"}},
		{"codes_json_en.json", nil, []string{"codes", "--json"}},
		{"codes_json_nl.json", nil, []string{"codes", "--json", "--lang", "nl"}},
		{"help.txt", nil, []string{"help"}},
		{"help_analyze.txt", nil, []string{"analyze", "--help"}},
		{"help_code.txt", nil, []string{"help", "code"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, status := runCLI(t, tc.env, tc.args...)
			if status != ExitOK || errOut != "" {
				t.Fatalf("status %d, stderr %q", status, errOut)
			}
			golden(t, tc.name, out)
		})
	}
}

func TestBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"code_zero", []string{"code", "0"}},
		{"code_99", []string{"code", "99"}},
		{"code_700", []string{"code", "700"}},
		{"code_abc", []string{"code", "abc"}},
		{"code_empty", []string{"code", ""}},
		{"code_long", []string{"code", "0486"}},
		{"code_none", []string{"code"}},
		{"code_bad_statusline", []string{"code", "SIP/2.0 48x Busy"}},
		{"code_bad_version", []string{"code", "SIP/3.0 486 Busy"}},
		{"code_bad_reason", []string{"code", "Q.850;cause=abc"}},
		{"code_bad_warning", []string{"code", `399 host unquoted`}},
		{"code_mixed", []string{"code", "486", "nonsense"}},
		{"code_bad_lang", []string{"code", "--lang", "de", "486"}},
		{"code_bad_flag", []string{"code", "--frobnicate", "486"}},
		{"codes_bad_class", []string{"codes", "--class", "9"}},
		{"codes_extra_arg", []string{"codes", "486"}},
		{"unknown_command", []string{"frobnicate"}},
		{"no_command", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, status := runCLI(t, nil, tc.args...)
			if status != ExitUsage {
				t.Errorf("status %d, want %d", status, ExitUsage)
			}
			if out != "" {
				t.Errorf("stdout must stay empty, got %q", out)
			}
			if !strings.Contains(errOut, "sipcause: ") {
				t.Errorf("stderr %q has no message", errOut)
			}
			golden(t, "bad_"+tc.name+".txt", errOut)
		})
	}
}

func TestColourOnlyOnTerminal(t *testing.T) {
	var out bytes.Buffer
	for _, tc := range []struct {
		tty     bool
		noColor string
		want    bool
	}{{true, "", true}, {true, "1", false}, {false, "", false}} {
		out.Reset()
		e := Env{Stdout: &out, Stderr: &out,
			Getenv:     func(k string) string { return map[string]string{"NO_COLOR": tc.noColor}[k] },
			IsTerminal: func(w io.Writer) bool { return tc.tty }}
		if Main([]string{"code", "486"}, e) != ExitOK {
			t.Fatal("code 486 failed")
		}
		if got := strings.Contains(out.String(), "\x1b["); got != tc.want {
			t.Errorf("tty=%v NO_COLOR=%q: colour %v, want %v", tc.tty, tc.noColor, got, tc.want)
		}
	}
}

// TestFlagErrorsInDutch: a mistyped flag is refused in the reader's
// language (review U18), from --lang even when it comes after the bad
// flag, or from the locale; English keeps the flag package's words.
func TestFlagErrorsInDutch(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"analyze", "--bogus", "x.pcap"}, "sipcause: analyze: flag provided but not defined: -bogus\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"analyze", "--bogus", "x.pcap"}, "sipcause: analyze: onbekende optie: -bogus (zie sipcause help)\n"},
		{nil, []string{"analyze", "--bogus", "--lang", "nl", "x.pcap"}, "sipcause: analyze: onbekende optie: -bogus (zie sipcause help)\n"},
		{nil, []string{"flow", "--lang=nl", "--width"}, "sipcause: flow: optie -width heeft een waarde nodig\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"analyze", "--all=misschien", "x.pcap"}, "sipcause: analyze: ongeldige waarde \"misschien\" voor -all: gebruik true of false\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"flow", "--width", "breed", "x.pcap"}, "sipcause: flow: ongeldige waarde \"breed\" voor optie -width\n"},
		{nil, []string{"analyze", "--lang", "nl", "--tz", "Mars/Basis", "x.pcap"}, "sipcause: --tz \"Mars/Basis\": geen tijdzone (probeer Europe/Amsterdam of UTC)\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"analyze", "--perspective", "helpdesk", "x.pcap"}, "sipcause: --perspective \"helpdesk\": kies customer (klant) of provider\n"},
		{nil, []string{"analyze", "--tz", "Mars/Basis", "x.pcap"}, "sipcause: --tz \"Mars/Basis\": not a time zone (try Europe/Amsterdam or UTC)\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"frobnicate"}, "sipcause: onbekende opdracht \"frobnicate\" (zie sipcause help)\n"},
		{nil, []string{"code", "--lang", "nl"}, "sipcause: code: geef minstens één code, statusregel, Reason- of Warning-waarde op (bijvoorbeeld sipcause code 486)\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"codes", "9"}, "sipcause: codes: onverwacht argument \"9\" (één code uitleggen: sipcause code 9)\n"},
		{map[string]string{"LANG": "nl_NL.UTF-8"}, []string{"codes", "--class", "8"}, "sipcause: codes: --class 8: kies 1 tot en met 6\n"},
		{nil, []string{"flow", "--lang", "nl", "--width", "10", "x.pcap"}, "sipcause: flow: --width 10: kies 40 tot en met 1000\n"},
	} {
		_, stderr, status := runCLI(t, tc.env, tc.args...)
		if status != ExitUsage || stderr != tc.want {
			t.Errorf("%v %v: exit %d, stderr %q; want %d, %q", tc.env, tc.args, status, stderr, ExitUsage, tc.want)
		}
	}
}

// TestHelpInDutch: with --lang nl or LANG=nl_* the overview and the help of
// the commands a helpdesk uses are Dutch, every flag described in Dutch;
// English stays as it was.
func TestHelpInDutch(t *testing.T) {
	out, _, _ := runCLI(t, map[string]string{"LANG": "nl_NL.UTF-8"}, "help")
	if !strings.HasPrefix(out, "sipcause legt uit waarom") || strings.Contains(out, "explain every call") {
		t.Errorf("help in Dutch:\n%s", out)
	}
	for _, cmd := range []string{"analyze", "messages", "flow", "code", "codes"} {
		en, _, _ := runCLI(t, nil, cmd, "--help", "--lang", "en")
		nl, _, _ := runCLI(t, nil, cmd, "--help", "--lang", "nl")
		if !strings.HasPrefix(en, "Usage: sipcause "+cmd) || !strings.HasPrefix(nl, "Gebruik: sipcause "+cmd) {
			t.Errorf("%s --help: %q / %q", cmd, firstLines(en, 1), firstLines(nl, 1))
		}
		enFlags, nlFlags := helpFlags(en), helpFlags(nl)
		if len(enFlags) == 0 || len(enFlags) != len(nlFlags) {
			t.Fatalf("%s: %d flags in English, %d in Dutch", cmd, len(enFlags), len(nlFlags))
		}
		for name, text := range enFlags {
			if nlFlags[name] == "" || nlFlags[name] == text {
				t.Errorf("%s --%s has no Dutch description: %q", cmd, name, nlFlags[name])
			}
		}
	}
}

// helpFlags maps each flag of a help text to its description.
func helpFlags(help string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(help, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "--") {
			continue
		}
		rest := f[1:]
		if rest[0] == "VALUE" || rest[0] == "WAARDE" {
			rest = rest[1:]
		}
		m[strings.TrimPrefix(f[0], "--")] = strings.Join(rest, " ")
	}
	return m
}
