package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
)

// FlowOptions are the options of `sipcause flow`.
type FlowOptions struct {
	Files  []string
	CallID string // only this call (or the one whose Call-ID starts so); "" means every call
	Width  int    // terminal columns; 0 means 100
	Lang   catalog.Lang
	Clock  report.Clock
	Redact bool // replace numbers, user names and addresses by pseudonyms
}

func runFlow(args []string, env Env) error {
	fs := flag.NewFlagSet("flow", flag.ContinueOnError)
	callID := fs.String("call", "", "show only the call with this Call-ID (or a unique start of it)")
	width := fs.Int("width", 100, "width of the diagram in columns")
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
		return usagef("flow: %s", tr(l, "no files"))
	}
	if *width < 40 || *width > 1000 {
		return usagef("flow: --width %d: want 40 to 1000", *width)
	}
	return Flow(FlowOptions{Files: files, CallID: *callID, Width: *width, Lang: l, Clock: clock, Redact: *redact}, env.Stdout, env.Stderr)
}

// Flow reads the inputs like Analyze and draws the ladder diagram of every
// call, or of the one call asked for.
func Flow(o FlowOptions, stdout, stderr io.Writer) error {
	a := analyze.New(analyze.Options{})
	readErr := feed(a, o.Files, nil, true)
	var ue *UsageError
	if errors.As(readErr, &ue) {
		return readErr
	}
	rep := a.Finish()
	if o.CallID != "" {
		id, err := uniqueCall(rep.Calls, o.CallID, o.Lang)
		if err != nil {
			return err
		}
		o.CallID = id
	}
	// Which calls to draw is decided before redaction renames them.
	draw := make([]bool, len(rep.Calls))
	for i, c := range rep.Calls {
		draw[i] = o.CallID == "" && c.LegOf == "" || o.CallID != "" && c.CallID == o.CallID
	}
	if o.Redact {
		report.Redact(rep)
	}
	shown := 0
	legs := map[string][]*analyze.Call{} // upstream Call-ID -> its B2BUA legs
	for _, c := range rep.Calls {
		if c.LegOf != "" {
			legs[c.LegOf] = append(legs[c.LegOf], c)
		}
	}
	for i, c := range rep.Calls {
		if !draw[i] {
			continue // not asked for, or drawn with the leg it continues
		}
		if err := report.Flow(stdout, withLegs(c, legs[c.CallID]), report.FlowOptions{Width: o.Width, Lang: o.Lang, Clock: o.Clock}); err != nil {
			return err
		}
		shown++
	}
	if o.CallID != "" && shown == 0 {
		if readErr != nil {
			return readErr
		}
		return &NotFoundError{Msg: fmt.Sprintf(tr(o.Lang, "no call id"), o.CallID)}
	}
	if shown == 0 {
		fmt.Fprintln(stdout, tr(o.Lang, "no calls found"))
	}
	return readErr
}

// withLegs returns c with the messages of the legs a B2BUA made for it
// (other Call-IDs) merged in time order, so that one ladder shows the call
// across the B2BUA.
func withLegs(c *analyze.Call, legs []*analyze.Call) *analyze.Call {
	if len(legs) == 0 {
		return c
	}
	merged := *c
	merged.Messages = append([]analyze.Exchange(nil), c.Messages...)
	for _, l := range legs {
		merged.CallID += " + " + l.CallID
		merged.Messages = append(merged.Messages, l.Messages...)
	}
	sort.SliceStable(merged.Messages, func(i, j int) bool {
		a, b := merged.Messages[i], merged.Messages[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Frame < b.Frame
	})
	return &merged
}
