package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
	"github.com/sipcause/sipcause/sipmsg"
)

// MessageJSON is one line of `sipcause messages --json` (JSON Lines).
type MessageJSON struct {
	File      string   `json:"file"`
	Frame     int      `json:"frame"`
	Time      string   `json:"time"`
	Src       string   `json:"src"`
	Dst       string   `json:"dst"`
	Transport string   `json:"transport"`
	Encap     string   `json:"encap,omitempty"`
	Method    string   `json:"method,omitempty"`
	Status    int      `json:"status,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	RURI      string   `json:"request_uri,omitempty"`
	CallID    string   `json:"call_id"`
	CSeq      string   `json:"cseq"`
	Warnings  []string `json:"warnings"`
}

// MessagesOptions are the options of `sipcause messages`.
type MessagesOptions struct {
	Files  []string
	JSON   bool
	Lang   catalog.Lang
	Clock  report.Clock // text: the zone of the times (JSON stays in UTC)
	Redact bool         // replace numbers, user names and addresses by pseudonyms
}

func runMessages(args []string, env Env) error {
	fs := flag.NewFlagSet("messages", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON Lines")
	redact := fs.Bool("redact", false, "replace numbers, user names and IP addresses by pseudonyms")
	lang := langFlag(fs, env)
	tz := tzFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	l, err := lang()
	if err != nil {
		return err
	}
	clock, err := tz(env)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("messages: %s", tr(l, "no files"))
	}
	return Messages(MessagesOptions{Files: files, JSON: *asJSON, Lang: l, Clock: clock, Redact: *redact}, env.Stdout, env.Stderr)
}

// Messages prints one line per SIP message, then the integrity counts.
func Messages(o MessagesOptions, stdout, stderr io.Writer) error {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var werr error
	// With --redact every line is kept until the pseudonyms are known.
	var held []heldLine
	var red *report.Redactor
	if o.Redact {
		red = report.NewRedactor()
	}
	var first time.Time // the first message's time, for the zone's abbreviation
	inputs, integ, err := readInputs(o.Files, func(p capture.Packet, m *sipmsg.Message) {
		if first.IsZero() && p.Time.Year() > 1970 {
			first = p.Time
		}
		j := MessageJSON{
			File: p.File, Frame: p.Frame, Time: jsonTime(p.Time), Src: p.Src.String(), Dst: p.Dst.String(),
			Transport: p.Transport, Encap: p.Encap, CallID: string(m.CallID()), Warnings: []string{},
		}
		if m.Request {
			j.Method, j.RURI = string(m.Method), string(m.RequestURI)
		} else {
			j.Status, j.Reason = m.StatusCode, string(m.Reason)
		}
		if n, method, ok := m.CSeq(); ok {
			j.CSeq = strconv.FormatUint(uint64(n), 10) + " " + string(method)
		}
		for _, w := range m.Warnings {
			j.Warnings = append(j.Warnings, w.Code)
		}
		if werr != nil {
			return
		}
		if red != nil {
			red.NoteAddr(j.Src)
			red.NoteAddr(j.Dst)
			red.NoteURI(j.RURI)
			red.NoteText(j.CallID)
			held = append(held, heldLine{j, p.Time})
			return
		}
		werr = writeMessage(stdout, enc, o, j, p.Time)
	})
	if red != nil && werr == nil {
		red.Build()
		for _, h := range held {
			j := h.j
			j.Src, j.Dst, j.RURI, j.CallID = red.Rewrite(j.Src), red.Rewrite(j.Dst), red.Rewrite(j.RURI), red.Rewrite(j.CallID)
			if werr = writeMessage(stdout, enc, o, j, h.t); werr != nil {
				break
			}
		}
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return err
	}
	if werr != nil {
		return werr
	}
	if o.JSON {
		if e := enc.Encode(map[string]any{"integrity": integ, "inputs": inputs}); e != nil {
			return e
		}
	} else {
		if !first.IsZero() { // which zone the times are in, by name
			fmt.Fprintf(stderr, tr(o.Lang, "times in")+"\n", o.Clock.Zone(first))
		}
		fmt.Fprintln(stderr, report.IntegrityLine(o.Lang, tr(o.Lang, "integrity"), integ))
	}
	return err
}

type heldLine struct {
	j MessageJSON
	t time.Time
}

// writeMessage writes one message: a JSON line, or a line for people with
// the time in the reader's zone.
func writeMessage(w io.Writer, enc *json.Encoder, o MessagesOptions, j MessageJSON, t time.Time) error {
	if o.JSON {
		return enc.Encode(j)
	}
	start := j.Method + " " + j.RURI
	if j.Method == "" {
		start = strconv.Itoa(j.Status) + " " + j.Reason
	}
	when := o.Clock.In(t).Format("2006-01-02 15:04:05.000000")
	if o.Lang == catalog.Dutch { // a Dutch reader's date, and a decimal comma
		when = strings.Replace(o.Clock.In(t).Format("02-01-2006 15:04:05.000000"), ".", ",", 1)
	}
	if t.Year() < 1971 {
		when = fmt.Sprintf("%-26s", "–") // a log without timestamps
	}
	_, err := fmt.Fprintf(w, "%6d  %s  %-21s → %-21s %-4s  %-40s  %s  %s\n", j.Frame, when,
		j.Src, j.Dst, j.Transport, truncate(report.Escape(start), 40), report.Escape(j.CallID), report.Escape(j.CSeq))
	return err
}

// jsonTime is a capture time in RFC 3339, or "" for a log line that had
// no time (not year 1).
func jsonTime(t time.Time) string {
	if t.Year() < 1971 {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
