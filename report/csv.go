package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// CSVHeader is the first row that CSV writes: the column names, in order.
// Columns are only ever added at the end, so spreadsheets that pick columns
// by position keep working.
var CSVHeader = []string{
	"call_id", "start", "end", "caller", "callee", "from", "to", "src", "dst",
	"direction", "final_status", "reason", "registered_reason", "outcome", "fault",
	"main_finding", "duration_ms", "post_dial_delay_ms", "ended_by", "summary", "frames",
	"audio", "worst_mos", "worst_loss_percent", "worst_max_jitter_ms", "worst_direction",
	"file",
}

// csvTime is RFC 3339 with milliseconds, always in UTC.
const csvTime = "2006-01-02T15:04:05.000Z07:00"

// CSV writes one row per call, after a header row (CSVHeader), for a
// spreadsheet. Times are RFC 3339 in UTC with milliseconds; frames are
// space-separated. The same report always gives the same bytes.
//
// SIP headers are chosen by whoever sent the message, so a cell that a
// spreadsheet would run as a formula gets a leading apostrophe (see
// cellSafe); phone numbers such as +31201234567 are left as they are.
func CSV(w io.Writer, r *analyze.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	row := make([]string, len(CSVHeader))
	for _, c := range r.Calls {
		if err := cw.Write(csvRecord(row, c, catalog.Lang(r.Lang))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvRecord fills row with the cells of c, the summary in lang.
func csvRecord(row []string, c *analyze.Call, lang catalog.Lang) []string {
	main := ""
	if len(c.Findings) > 0 {
		main = c.Findings[0].ID
	}
	frames := make([]string, len(c.Frames))
	for i, f := range c.Frames {
		frames[i] = strconv.Itoa(f)
	}
	row = append(row[:0],
		c.CallID, csvStamp(c.Start), csvStamp(c.End), c.Caller, c.Callee, c.From, c.To, c.Src, c.Dst,
		c.Direction, strconv.Itoa(c.FinalStatus), c.Reason, c.Registered, c.Outcome, c.Fault,
		main, strconv.FormatInt(c.DurationMS, 10), strconv.FormatInt(c.PDDMS, 10), c.EndedBy, LocalizeCall(c, lang).Summary,
		strings.Join(frames, " "))
	row = append(row, audioColumns(c.Audio)...)
	row = append(row, c.File)
	for i := range row {
		row[i] = cellSafe(row[i])
	}
	return row
}

// CSVRows holds the rows of a CSV report as they will be written, one
// string per call, so that a long capture need not keep its calls until
// the end (review L9): the rows are in the order the calls started, which
// is only known at the end.
type CSVRows struct {
	lang catalog.Lang
	rows []csvLine
	row  []string
	buf  bytes.Buffer
	cw   *csv.Writer
}

type csvLine struct {
	start time.Time
	text  string
}

// NewCSVRows starts an empty set of rows whose summaries are in lang (the
// language of the report).
func NewCSVRows(lang catalog.Lang) *CSVRows {
	cr := &CSVRows{lang: lang, row: make([]string, len(CSVHeader))}
	cr.cw = csv.NewWriter(&cr.buf)
	return cr
}

// Add writes the row of c, to be put in its place by Write.
func (cr *CSVRows) Add(c *analyze.Call) {
	cr.buf.Reset()
	cr.cw.Write(csvRecord(cr.row, c, cr.lang)) // a bytes.Buffer does not fail
	cr.cw.Flush()
	cr.rows = append(cr.rows, csvLine{c.Start, cr.buf.String()})
}

// Write writes the header and the rows in the order the calls started
// (calls that started at once in the order they were added): the same
// bytes as CSV of the calls in that order.
func (cr *CSVRows) Write(w io.Writer) error {
	sort.SliceStable(cr.rows, func(i, j int) bool { return cr.rows[i].start.Before(cr.rows[j].start) })
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	cw.Flush()
	for _, r := range cr.rows {
		if _, err := bw.WriteString(r.text); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func csvStamp(t time.Time) string {
	if t.IsZero() || t.Year() < 1971 {
		return "" // a log without timestamps
	}
	return t.UTC().Format(csvTime)
}

// cellSafe defuses CSV formula injection (OWASP "CSV Injection"): a cell
// that starts with = @ tab or CR, or with + or - followed by anything but a
// plain number, is prefixed with an apostrophe so that a spreadsheet shows
// it as text instead of evaluating it.
func cellSafe(s string) string {
	if s == "" {
		return s
	}
	// A spreadsheet is no terminal, but the CSV is often looked at with
	// cat or less first.
	s = Escape(s)
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if !plainNumber(s[1:]) {
			return "'" + s
		}
	}
	return s
}

func plainNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != ' ' && s[i] != '.' {
			return false
		}
	}
	return true
}

// audioColumns are the media verdict and the worst direction's figures
// (analyze.Audio), empty when the call had no media to judge.
func audioColumns(a *analyze.Audio) []string {
	if a == nil {
		return []string{"", "", "", "", ""}
	}
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return []string{a.Verdict, f(a.WorstMOS), f(a.WorstLossPercent), f(a.WorstJitterMS), a.WorstDirection}
}
