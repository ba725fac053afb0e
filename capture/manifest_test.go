package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/capture/textlog"
)

// sharedCaptures is the project's shared folder of real captures.
const sharedCaptures = "../../shared/testdata/captures"

type manifestRow struct {
	file, format, transports, codes, notes string
	messages                               int
}

func readManifest(t testing.TB) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedCaptures, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		sharedtest.Missing(t, sharedCaptures, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	var col map[string]int
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if col == nil {
			col = make(map[string]int)
			for i, name := range c {
				col[name] = i
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(c) {
				return c[i]
			}
			return ""
		}
		n, _ := strconv.Atoi(get("sip_messages"))
		rows = append(rows, manifestRow{
			file: get("file"), format: get("format / link_type"), transports: get("transports"),
			codes: get("response_codes"), notes: get("notes"), messages: n,
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// sipTally counts requests by method and responses by status code.
type sipTally struct {
	methods map[string]int
	codes   map[string]int
}

func newTally() sipTally { return sipTally{map[string]int{}, map[string]int{}} }

func (s sipTally) add(payload []byte) {
	line, _, _ := bytes.Cut(payload, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return
	}
	if f[0] == "SIP/2.0" {
		s.codes[f[1]]++
	} else {
		s.methods[f[0]]++
	}
}

func (s sipTally) String() string {
	return "methods " + formatCounts(s.methods) + " codes " + formatCounts(s.codes)
}

func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// readAll returns every packet of a capture with its integrity counts.
func readAll(t testing.TB, path string) ([]Packet, Integrity, error) {
	t.Helper()
	r, err := OpenFile(path)
	if err != nil {
		return nil, Integrity{}, err
	}
	defer r.Close()
	var pkts []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return pkts, r.Integrity(), nil
		}
		if err != nil {
			return pkts, r.Integrity(), err
		}
		p.Payload = bytes.Clone(p.Payload)
		pkts = append(pkts, p)
	}
}

func tallyFile(t testing.TB, path string) (sipTally, Integrity) {
	t.Helper()
	pkts, integ, err := readAll(t, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tl := newTally()
	for _, p := range pkts {
		tl.add(p.Payload)
	}
	return tl, integ
}

// tsharkArgs are the extra dissector settings a capture needs, from the
// manifest notes.
func tsharkArgs(row manifestRow) []string {
	if strings.Contains(row.notes, "tcp.port==6060") {
		return []string{"-d", "tcp.port==6060,sip"}
	}
	return nil
}

// tsharkTally runs tshark on a capture and counts SIP requests by method and
// responses by status code; a frame with several SIP messages gives several
// comma-separated values per field.
func tsharkTally(t *testing.T, tshark, path string, extra []string) sipTally {
	t.Helper()
	args := append([]string{"-r", path}, extra...)
	args = append(args, "-Y", "sip", "-T", "fields", "-e", "sip.Method", "-e", "sip.Status-Code",
		"-E", "occurrence=a", "-E", "aggregator=,")
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	tl := newTally()
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		methods, codes, _ := strings.Cut(line, "\t")
		for m := range strings.SplitSeq(methods, ",") {
			if m != "" {
				tl.methods[m]++
			}
		}
		for c := range strings.SplitSeq(codes, ",") {
			if c != "" {
				tl.codes[c]++
			}
		}
	}
	return tl
}

func parseManifestCodes(s string) map[string]int {
	m := map[string]int{}
	if s == "-" || s == "" {
		return m
	}
	for part := range strings.SplitSeq(s, ",") {
		code, n, _ := strings.Cut(part, ":")
		v, _ := strconv.Atoi(n)
		m[code] = v
	}
	return m
}

// TestManifestResponseCodes checks, for every pcap and pcapng in the shared
// manifest, that the SIP responses per status code equal its response_codes
// column (which counts HEP-encapsulated messages for the HEP captures).
func TestManifestResponseCodes(t *testing.T) {
	for _, row := range readManifest(t) {
		if !strings.HasPrefix(row.format, "pcap") {
			continue
		}
		t.Run(row.file, func(t *testing.T) {
			got, integ := tallyFile(t, filepath.Join(sharedCaptures, row.file))
			want := parseManifestCodes(row.codes)
			if !maps.Equal(got.codes, want) {
				t.Errorf("response codes = %s, manifest says %s", formatCounts(got.codes), formatCounts(want))
			}
			if strings.Contains(row.transports, "tls") && integ.EncryptedSIP == 0 {
				t.Errorf("TLS capture: EncryptedSIP = 0, want > 0")
			}
			t.Logf("%s; %+v", got, integ)
		})
	}
}

// TestManifestLogs reads the text logs of the manifest through Open, which
// hands them to package textlog: the format is detected by content and every
// message textlog finds comes out, in order, with its line number. How many
// messages a log holds is textlog's business and tested there.
func TestManifestLogs(t *testing.T) {
	for _, row := range readManifest(t) {
		if !strings.HasPrefix(row.format, "log") {
			continue
		}
		t.Run(row.file, func(t *testing.T) {
			path := filepath.Join(sharedCaptures, row.file)
			pkts, integ, err := readAll(t, path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lr := textlog.NewReader(path, f)
			var want []textlog.Message
			for {
				m, err := lr.Next()
				if err != nil {
					break
				}
				m.Payload = bytes.Clone(m.Payload)
				want = append(want, m)
			}
			r, _ := OpenFile(path)
			if format := r.Format(); format != "log:"+lr.Kind() {
				t.Errorf("Format() = %q, want log:%s", format, lr.Kind())
			}
			r.Close()
			if len(pkts) != len(want) || integ.SIPMessages != len(want) {
				t.Fatalf("%d packets (%d counted), textlog has %d", len(pkts), integ.SIPMessages, len(want))
			}
			for i, p := range pkts {
				if p.Frame != want[i].Line || p.Src != want[i].Src || p.Transport != want[i].Transport || !bytes.Equal(p.Payload, want[i].Payload) {
					t.Errorf("packet %d: frame %d %s %s, textlog line %d %s %s", i, p.Frame, p.Src, p.Transport, want[i].Line, want[i].Src, want[i].Transport)
				}
			}
		})
	}
}

// TestManifestAgainstTshark compares request methods and status codes with
// what tshark finds in the same capture. HEP captures are left out: the
// tshark in use (4.0) has no HEP dissector, so it sees none of their SIP.
func TestManifestAgainstTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required in CI (scripts/test installs it)")
		}
		t.Skip("tshark not installed (CI installs it: apt-get install -y tshark)")
	}
	for _, row := range readManifest(t) {
		if !strings.HasPrefix(row.format, "pcap") {
			continue
		}
		t.Run(row.file, func(t *testing.T) {
			if strings.Contains(row.transports, "hep") {
				t.Skip("HEP capture: tshark 4.0 has no HEP dissector; checked against the manifest instead")
			}
			path := filepath.Join(sharedCaptures, row.file)
			t.Parallel()
			want := tsharkTally(t, tshark, path, tsharkArgs(row))
			got, _ := tallyFile(t, path)
			if !maps.Equal(got.methods, want.methods) {
				t.Errorf("methods = %s, tshark %s", formatCounts(got.methods), formatCounts(want.methods))
			}
			if !maps.Equal(got.codes, want.codes) {
				t.Errorf("codes = %s, tshark %s", formatCounts(got.codes), formatCounts(want.codes))
			}
		})
	}
}
