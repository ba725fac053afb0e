package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

const sharedCaptures = "../../../shared/testdata/captures"

type manifestRow struct{ file, format, codes, notes string }

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedCaptures, "MANIFEST.tsv"))
	if os.IsNotExist(err) {
		sharedtest.Missing(t, sharedCaptures, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 9 {
			continue
		}
		rows = append(rows, manifestRow{file: c[0], format: c[3], codes: c[6], notes: c[8]})
	}
	return rows
}

// manifestErrata are rows whose response_codes column is known to be
// wrong, with the evidence; the test checks the corrected figures.
var manifestErrata = map[string]string{
	// Four lines of this log are the bodies of NOTIFYs with a
	// message/sipfrag body ("SIP/2.0 100 Trying", "SIP/2.0 200 OK"), not
	// messages; the manifest counted them as responses.
	"drgyl-sip__ade_J169fw40103_syslog.txt": "100:14,180:2,183:3,200:43,202:2,407:3,487:1",
}

func parseCounts(s string) map[string]int {
	m := map[string]int{}
	if s == "-" || s == "" {
		return m
	}
	for _, part := range strings.Split(s, ",") {
		code, n, _ := strings.Cut(part, ":")
		v, _ := strconv.Atoi(n)
		m[code] = v
	}
	return m
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", k, m[k])
	}
	return b.String()
}

func analyzeJSON(t *testing.T, args ...string) *analyze.Report {
	t.Helper()
	out, errOut, status := runCLI(t, nil, append([]string{"analyze", "--json"}, args...)...)
	if status != ExitOK {
		t.Fatalf("status %d: %s", status, errOut)
	}
	var r analyze.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	return &r
}

// TestAnalyzeCountsMatchManifest checks summary.responses of `sipcause
// analyze --json` against the manifest for every shared capture and log.
func TestAnalyzeCountsMatchManifest(t *testing.T) {
	for _, row := range readManifest(t) {
		t.Run(row.file, func(t *testing.T) {
			r := analyzeJSON(t, filepath.Join(sharedCaptures, row.file))
			want := row.codes
			if fix, ok := manifestErrata[row.file]; ok {
				want = fix
			}
			if got := formatCounts(r.Summary.Responses); got != formatCounts(parseCounts(want)) {
				t.Errorf("responses %s, manifest %s", got, formatCounts(parseCounts(want)))
			}
			if r.SchemaVersion != analyze.SchemaVersion {
				t.Errorf("schema_version %d", r.SchemaVersion)
			}
		})
	}
}

// TestAnalyzeCountsMatchTshark runs tshark on every pcap/pcapng of the
// manifest and compares requests per method and responses per code.
func TestAnalyzeCountsMatchTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (scripts/test and .ci/run install it)")
	}
	for _, row := range readManifest(t) {
		if !strings.HasPrefix(row.format, "pcap") || strings.Contains(row.format, "HEP") || strings.HasPrefix(row.file, "hep-") {
			continue
		}
		t.Run(row.file, func(t *testing.T) {
			path := filepath.Join(sharedCaptures, row.file)
			args := []string{"-r", path}
			if strings.Contains(row.notes, "tcp.port==6060") {
				args = append(args, "-d", "tcp.port==6060,sip")
			}
			args = append(args, "-Y", "sip", "-T", "fields", "-e", "sip.Method", "-e", "sip.Status-Code", "-E", "occurrence=a", "-E", "aggregator=,")
			out, err := exec.Command(tshark, args...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			methods, codes := map[string]int{}, map[string]int{}
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				ms, cs, _ := strings.Cut(line, "\t")
				for _, m := range strings.Split(ms, ",") {
					if m != "" {
						methods[m]++
					}
				}
				for _, c := range strings.Split(cs, ",") {
					if c != "" {
						codes[c]++
					}
				}
			}
			r := analyzeJSON(t, path)
			if got, want := formatCounts(r.Summary.Requests), formatCounts(methods); got != want {
				t.Errorf("requests %s, tshark %s", got, want)
			}
			if got, want := formatCounts(r.Summary.Responses), formatCounts(codes); got != want {
				t.Errorf("responses %s, tshark %s", got, want)
			}
		})
	}
}

// TestAnalyzeExplainsSharedCaptures checks the diagnosis of captures whose
// story is known from their source.
func TestAnalyzeExplainsSharedCaptures(t *testing.T) {
	readManifest(t)
	type want struct {
		callOutcome, callFault, callFinding string
		regOutcome, regFault, regFinding    string
		finalStatus                         int
	}
	tests := map[string]want{
		"goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng": {regOutcome: "failed", regFault: "local", regFinding: "auth-failed"},
		"goffinet-sip_captures__sip-register-wrong_user-401-403-404.pcapng":         {regOutcome: "failed", regFault: "local"},
		// The FreePBX that refused the PCMU-only offer (488, no PCMA) is the
		// phone's next hop, so the offer must change on the caller's side.
		"goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng": {callOutcome: "failed", callFault: "local", callFinding: "codec-mismatch", finalStatus: 488},
		"heplify__sip_sctp.pcap":                                {callOutcome: "rejected", finalStatus: 403, callFinding: "forbidden"},
		"MichalCab-ISA__sip_old_unanswered.pcap":                {callOutcome: "timeout", callFault: "network", callFinding: "no-response"},
		"heplify__ipip0.pcap":                                   {regOutcome: "failed", regFault: "local", regFinding: "auth-failed"},
		"goffinet-sip_captures__sip-cme-zoiper-register.pcapng": {regOutcome: "registered", regFault: "none", regFinding: "registered"},
	}
	for file, w := range tests {
		t.Run(file, func(t *testing.T) {
			r := analyzeJSON(t, filepath.Join(sharedCaptures, file))
			if w.callOutcome != "" {
				if len(r.Calls) == 0 {
					t.Fatal("no calls")
				}
				c := r.Calls[0]
				if c.Outcome != w.callOutcome || (w.callFault != "" && c.Fault != w.callFault) || (w.finalStatus != 0 && c.FinalStatus != w.finalStatus) {
					t.Errorf("call: outcome %s fault %s status %d; want %s %s %d", c.Outcome, c.Fault, c.FinalStatus, w.callOutcome, w.callFault, w.finalStatus)
				}
				if w.callFinding != "" && (len(c.Findings) == 0 || c.Findings[0].ID != w.callFinding) {
					t.Errorf("call: main finding %v, want %s", c.Findings, w.callFinding)
				}
			}
			if w.regOutcome != "" {
				if len(r.Registrations) == 0 {
					t.Fatal("no registrations")
				}
				g := r.Registrations[0]
				if g.Outcome != w.regOutcome || g.Fault != w.regFault {
					t.Errorf("registration: outcome %s fault %s; want %s %s", g.Outcome, g.Fault, w.regOutcome, w.regFault)
				}
				if w.regFinding != "" && g.Findings[0].ID != w.regFinding {
					t.Errorf("registration: main finding %s, want %s", g.Findings[0].ID, w.regFinding)
				}
			}
		})
	}
}

func TestAnalyzeGolden(t *testing.T) {
	readManifest(t)
	tests := []struct {
		name string
		args []string
	}{
		{"analyze_wrong_password_en.txt", []string{"analyze", "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"}},
		{"analyze_wrong_password_nl.txt", []string{"analyze", "--lang", "nl", "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"}},
		{"analyze_488_en.txt", []string{"analyze", "goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng"}},
		{"analyze_488_nl.txt", []string{"analyze", "--lang=nl", "goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng"}},
		{"analyze_aaa_en.txt", []string{"analyze", "sngrep__aaa.pcap"}},
		{"analyze_unanswered_en.txt", []string{"analyze", "MichalCab-ISA__sip_old_unanswered.pcap"}},
		{"analyze_488.json", []string{"analyze", "--json", "goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng"}},
		{"analyze_wrong_password.json", []string{"analyze", "--json", "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"}},
		{"analyze_b2bua_all_en.txt", []string{"analyze", "--all", "goffinet-sip_captures__sip-2phones-B2BUA-Asterisk.pcapng"}},
		{"analyze_log_ipo_en.txt", []string{"analyze", "--all", "drgyl-sip__IPO_Monitor_Detail_Out.txt"}},
		{"flow_b2bua.txt", []string{"flow", "goffinet-sip_captures__sip-2phones-B2BUA-Asterisk.pcapng"}},
		{"analyze_private_test_en.txt", []string{"analyze", "goffinet-sip_captures__private-test-sip.pcapng"}},
		{"analyze_b2bua.csv", []string{"analyze", "--csv", "goffinet-sip_captures__sip-2phones-B2BUA-Asterisk.pcapng"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), tc.args...)
			last := len(args) - 1
			args[last] = filepath.Join(sharedCaptures, args[last])
			out, errOut, status := runCLI(t, nil, args...)
			if status != ExitOK {
				t.Fatalf("status %d: %s", status, errOut)
			}
			golden(t, tc.name, strings.ReplaceAll(out, sharedCaptures+"/", ""))
		})
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	readManifest(t)
	for _, f := range []string{"goffinet-sip_captures__branch-scenario-sipp.pcapng", "goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng",
		"sngrep__aaa.pcap", "goffinet-sip_captures__private-test-sip.pcapng"} {
		path := filepath.Join(sharedCaptures, f)
		first, _, _ := runCLI(t, nil, "analyze", "--json", path)
		for i := 0; i < 4; i++ {
			if again, _, _ := runCLI(t, nil, "analyze", "--json", path); again != first || len(first) < 1000 {
				t.Fatalf("%s: two runs on the same capture gave different reports", f)
			}
		}
	}
}

func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bin")
	if err := os.WriteFile(junk, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, status := runCLI(t, nil, "analyze", junk)
	if status != ExitUsage || out != "" || !strings.Contains(errOut, "junk.bin") {
		t.Errorf("unknown format: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	_, errOut, status = runCLI(t, nil, "analyze", filepath.Join(dir, "missing.pcap"))
	if status != ExitUsage || !strings.Contains(errOut, "missing.pcap") {
		t.Errorf("missing file: status %d, stderr %q", status, errOut)
	}
	_, _, status = runCLI(t, nil, "analyze")
	if status != ExitUsage {
		t.Errorf("no file: status %d", status)
	}
	// A capture cut in the middle of a frame: the report is still printed,
	// the error names the file and frame, and the status is 1.
	src := filepath.Join(sharedCaptures, "MichalCab-ISA__sip.pcap")
	b, err := os.ReadFile(src)
	if os.IsNotExist(err) {
		sharedtest.Missing(t, src, err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, status = runCLI(t, nil, "analyze", "--json", cut)
	if status != ExitDamaged || !strings.Contains(errOut, "cut.pcap") || !strings.Contains(errOut, "frame") {
		t.Errorf("damaged: status %d, stderr %q", status, errOut)
	}
	var r analyze.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Summary.Messages == 0 {
		t.Errorf("damaged: no partial report (%v)", err)
	}
	_ = catalog.English
}

// --local says which side is the user's: the roles follow it.
func TestAnalyzeLocalFlag(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	role := func(r *analyze.Report, addr string) string {
		for _, h := range r.Hosts {
			if strings.HasPrefix(h.Addr, addr+":") {
				return h.Role
			}
		}
		return ""
	}
	def := analyzeJSON(t, path)
	if got := role(def, "192.168.1.2"); got != analyze.RoleLocal {
		t.Errorf("by default the private phone is local, got %q", got)
	}
	given := analyzeJSON(t, "--local", "212.242.33.0/24", path)
	if got := role(given, "212.242.33.35"); got != analyze.RoleLocal {
		t.Errorf("--local 212.242.33.0/24: role %q", got)
	}
	if got := role(given, "192.168.1.2"); got == analyze.RoleLocal {
		t.Errorf("with --local given, the private phone is no longer assumed local")
	}
}

// --number and --call narrow what is shown; the summary stays whole.
func TestAnalyzeFilters(t *testing.T) {
	readManifest(t)
	path := filepath.Join(sharedCaptures, "sngrep__aaa.pcap")
	r := analyzeJSON(t, "--number", "+97239287044", path)
	if len(r.Calls) != 3 || len(r.Dialogs) != 0 || r.Summary.Calls != 4 {
		t.Errorf("--number: %d calls, %d dialogs, summary %d calls; want 3, 0, 4", len(r.Calls), len(r.Dialogs), r.Summary.Calls)
	}
	for _, c := range r.Calls {
		if !strings.HasSuffix(c.Callee, "97239287044") {
			t.Errorf("--number kept %s → %s", c.Caller, c.Callee)
		}
	}
	r = analyzeJSON(t, "--call", "85216695-42dcdb1d@192.168.1.2", path)
	if len(r.Calls) != 1 || r.Calls[0].CallID != "85216695-42dcdb1d@192.168.1.2" || len(r.Registrations) != 0 {
		t.Errorf("--call: %d calls, %d registrations", len(r.Calls), len(r.Registrations))
	}
	r = analyzeJSON(t, "--number", "voi18063", path)
	if len(r.Calls) != 0 || len(r.Registrations) == 0 {
		t.Errorf("--number with a user name: %d calls, %d registrations", len(r.Calls), len(r.Registrations))
	}
}
