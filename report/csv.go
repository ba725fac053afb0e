package report

import (
	"encoding/csv"
	"io"
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
			main, strconv.FormatInt(c.DurationMS, 10), strconv.FormatInt(c.PDDMS, 10), c.EndedBy, LocalizeCall(c, catalog.Lang(r.Lang)).Summary,
			strings.Join(frames, " "))
		row = append(row, audioColumns(c.Audio)...)
		row = append(row, c.File)
		for i := range row {
			row[i] = cellSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
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
