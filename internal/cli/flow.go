package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/report"
)

// FlowOptions are the options of `sipcause flow`.
type FlowOptions struct {
	Files  []string
	CallID string // only this call; "" means every call
	Width  int    // terminal columns; 0 means 100
}

func runFlow(args []string, env Env) error {
	fs := flag.NewFlagSet("flow", flag.ContinueOnError)
	callID := fs.String("call", "", "show only the call with this Call-ID")
	width := fs.Int("width", 100, "width of the diagram in columns")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("flow: give at least one capture or log file (or - for standard input)")
	}
	if *width < 40 || *width > 1000 {
		return usagef("flow: --width %d: want 40 to 1000", *width)
	}
	return Flow(FlowOptions{Files: files, CallID: *callID, Width: *width}, env.Stdout, env.Stderr)
}

// Flow reads the inputs like Analyze and draws the ladder diagram of every
// call, or of the one call asked for.
func Flow(o FlowOptions, stdout, stderr io.Writer) error {
	a := analyze.New(analyze.Options{})
	readErr := feed(a, o.Files, nil)
	var ue *UsageError
	if errors.As(readErr, &ue) {
		return readErr
	}
	rep := a.Finish()
	shown := 0
	legs := map[string][]*analyze.Call{} // upstream Call-ID -> its B2BUA legs
	for _, c := range rep.Calls {
		if c.LegOf != "" {
			legs[c.LegOf] = append(legs[c.LegOf], c)
		}
	}
	for _, c := range rep.Calls {
		if o.CallID != "" && c.CallID != o.CallID {
			continue
		}
		if o.CallID == "" && c.LegOf != "" {
			continue // drawn with the leg it continues
		}
		if err := report.Flow(stdout, withLegs(c, legs[c.CallID]), o.Width); err != nil {
			return err
		}
		shown++
	}
	if o.CallID != "" && shown == 0 {
		if readErr != nil {
			return readErr
		}
		return usagef("flow: no call with Call-ID %q", o.CallID)
	}
	if shown == 0 {
		fmt.Fprintln(stdout, "No calls found.")
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
