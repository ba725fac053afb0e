package textlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// capturesDir holds the project's shared captures, beside the repository.
const capturesDir = "../../../shared/testdata/captures"

// manifestRow is one log's line of MANIFEST.tsv.
type manifestRow struct {
	file      string
	messages  int
	responses string // "100:7,180:1", "-" for none
}

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(capturesDir, "MANIFEST.tsv"))
	if err != nil {
		sharedtest.Missing(t, capturesDir, err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	var cols map[string]int
	for sc.Scan() {
		rec := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range rec {
				cols[c] = i
			}
			continue
		}
		name := rec[cols["file"]]
		if !strings.HasSuffix(name, ".txt") && !strings.HasSuffix(name, ".log") {
			continue
		}
		var n int
		fmt.Sscan(rec[cols["sip_messages"]], &n)
		rows = append(rows, manifestRow{file: name, messages: n, responses: rec[cols["response_codes"]]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// startLine splits a message's first line into a method or a status code.
func startLine(payload []byte) (method, status string) {
	line, _, _ := bytes.Cut(payload, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) >= 2 && f[0] == "SIP/2.0" {
		return "", f[1]
	}
	if len(f) == 3 && f[2] == "SIP/2.0" {
		return f[0], ""
	}
	return "", ""
}

// tally counts the messages of a log by status code and by method.
type tally struct {
	messages  int
	responses map[string]int
	methods   map[string]int
	kind      string
}

func (t tally) responseString() string {
	if len(t.responses) == 0 {
		return "-"
	}
	var parts []string
	for code, n := range t.responses {
		parts = append(parts, fmt.Sprintf("%s:%d", code, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func readAll(t testing.TB, name string, r io.Reader) (tally, []Message) {
	t.Helper()
	rd := NewReader(name, r)
	tl := tally{responses: map[string]int{}, methods: map[string]int{}, kind: rd.Kind()}
	var msgs []Message
	for {
		m, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
		tl.messages++
		method, status := startLine(m.Payload)
		switch {
		case status != "":
			tl.responses[status]++
		case method != "":
			tl.methods[method]++
		default:
			t.Errorf("%s line %d: no start line in %q", name, m.Line, m.Payload)
		}
	}
	for _, p := range rd.Problems() {
		t.Logf("%v", p)
	}
	return tl, msgs
}

// manifestErrata are the MANIFEST rows that disagree with the file, with
// what the file really holds. J169: four NOTIFYs carry a message/sipfrag
// body (RFC 3420) whose first line is "SIP/2.0 100 Trying" or
// "SIP/2.0 200 OK" (lines 748, 838, 3311, 3401); the MANIFEST counted
// those body lines as responses (127 messages, not 131).
var manifestErrata = map[string]manifestRow{
	"drgyl-sip__ade_J169fw40103_syslog.txt": {messages: 127, responses: "100:14,180:2,183:3,200:43,202:2,407:3,487:1"},
}

// TestManifestLogs checks the shared Avaya logs against MANIFEST.tsv:
// the number of SIP messages and of responses per status code.
func TestManifestLogs(t *testing.T) {
	rows := readManifest(t)
	if len(rows) == 0 {
		t.Fatal("no logs in MANIFEST.tsv")
	}
	for _, row := range rows {
		t.Run(row.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(capturesDir, row.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, _ := readAll(t, row.file, f)
			want := row
			if e, ok := manifestErrata[row.file]; ok {
				t.Logf("MANIFEST says %d messages, %s; the file holds %d, %s", row.messages, row.responses, e.messages, e.responses)
				want = e
			}
			if got.messages != want.messages || got.responseString() != want.responses {
				t.Errorf("kind %s: got %d messages, responses %s; want %d, %s",
					got.kind, got.messages, got.responseString(), want.messages, want.responses)
			}
			t.Logf("kind %s: methods %v", got.kind, got.methods)
		})
	}
}
