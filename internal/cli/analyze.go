package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
)

// AnalyzeOptions are the options of `sipcause analyze`.
type AnalyzeOptions struct {
	Files      []string
	Lang       catalog.Lang
	Format     string // text, json, csv
	HTMLFile   string // also write an HTML page here
	Local      []netip.Prefix
	LocalHosts []string
	All        bool // text: show answered calls too
	Redact     bool
	Colour     bool
	Number     string // only calls and registrations of this number or user
	CallID     string // only this call
	progress   *progress
}

// parseLocal sorts the --local values into networks (an address is a
// network of one) and host names.
func parseLocal(values []string) (nets []netip.Prefix, hosts []string) {
	for _, s := range values {
		if p, err := netip.ParsePrefix(s); err == nil {
			nets = append(nets, p.Masked())
		} else if ip, err := netip.ParseAddr(s); err == nil {
			nets = append(nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		} else {
			hosts = append(hosts, s)
		}
	}
	return nets, hosts
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func runAnalyze(args []string, env Env) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asCSV := fs.Bool("csv", false, "print one CSV row per call")
	html := fs.String("html", "", "also write a self-contained HTML report to this file")
	all := fs.Bool("all", false, "text: show answered calls too")
	redact := fs.Bool("redact", false, "replace numbers, user names and IP addresses by pseudonyms")
	number := fs.String("number", "", "show only calls and registrations of this number or user (the summary stays whole)")
	callID := fs.String("call", "", "show only the call with this Call-ID")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	memprofile := fs.String("memprofile", "", "write a heap profile at the end of the run to this file")
	var local listFlag
	fs.Var(&local, "local", "your own side: IP address, CIDR or host name (repeatable)")
	lang := langFlag(fs, env)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	l, err := lang()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("analyze: give at least one capture or log file (or - for standard input)")
	}
	if *asJSON && *asCSV {
		return usagef("analyze: choose one of --json and --csv")
	}
	o := AnalyzeOptions{Files: files, Lang: l, Format: "text", HTMLFile: *html, All: *all, Redact: *redact, Colour: useColour(env, env.Stdout),
		Number: *number, CallID: *callID, progress: newProgress(env, files)}
	if *asJSON {
		o.Format = "json"
	}
	if *asCSV {
		o.Format = "csv"
	}
	o.Local, o.LocalHosts = parseLocal(local)
	stop, err := startProfiles(*cpuprofile, *memprofile)
	if err != nil {
		return usagef("analyze: %v", err)
	}
	err = Analyze(o, env.Stdout, env.Stderr)
	if perr := stop(); err == nil && perr != nil {
		err = usagef("analyze: %v", perr)
	}
	return err
}

// Analyze reads the inputs, rebuilds the calls and writes the report. JSON
// is streamed: each call is written when it is finished and memory stays
// bounded by the calls still open. Text keeps only the calls it will show,
// CSV keeps calls without their messages, and --html keeps everything (it
// draws every ladder).
func Analyze(o AnalyzeOptions, stdout, stderr io.Writer) error {
	aopt := analyze.Options{Local: o.Local, LocalHosts: o.LocalHosts, Lang: o.Lang}
	var stream *report.JSONStream
	var kept []*analyze.Call
	var spools []*os.File
	defer func() {
		for _, f := range spools {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	streaming := o.Format == "json" && o.HTMLFile == "" && !o.Redact
	var closeCalls func()
	switch {
	case streaming:
		stream = report.NewJSONStream(stdout, analyze.SchemaVersion, string(o.Lang), func() (report.Spool, error) {
			f, err := os.CreateTemp("", "sipcause-spool-*")
			if err == nil {
				spools = append(spools, f)
			}
			return f, err
		})
	case o.HTMLFile == "" && o.Format == "text":
		aopt.OnCall = func(c *analyze.Call) {
			if o.All || hasProblem(c.Findings) {
				kept = append(kept, c)
			}
		}
	case o.HTMLFile == "" && o.Format == "csv":
		aopt.OnCall = func(c *analyze.Call) {
			c.Messages, c.Frames = nil, nil
			kept = append(kept, c)
		}
	}
	if streaming {
		// Encode calls on their own goroutine, in order, while the
		// analyzer goes on.
		items := make(chan any, 256)
		done := make(chan struct{})
		go func() {
			for it := range items {
				switch v := it.(type) {
				case *analyze.Call:
					stream.Call(v)
				case *analyze.Register:
					stream.Register(v)
				case *analyze.Dialog:
					stream.Dialog(v)
				}
			}
			close(done)
		}()
		aopt.OnCall = func(c *analyze.Call) { items <- c }
		aopt.OnRegister = func(r *analyze.Register) { items <- r }
		aopt.OnDialog = func(d *analyze.Dialog) { items <- d }
		closeCalls = func() { close(items); <-done }
	}
	f := filterOf(o)
	if f.active() {
		if inner := aopt.OnCall; inner != nil {
			aopt.OnCall = func(c *analyze.Call) {
				if f.call(c) {
					inner(c)
				}
			}
		}
		if inner := aopt.OnRegister; inner != nil {
			aopt.OnRegister = func(r *analyze.Register) {
				if f.register(r) {
					inner(r)
				}
			}
		}
		if inner := aopt.OnDialog; inner != nil {
			aopt.OnDialog = func(d *analyze.Dialog) {
				if f.dialog(d) {
					inner(d)
				}
			}
		}
	}
	a := analyze.New(aopt)
	readErr := feed(a, o.Files, o.progress)
	var ue *UsageError
	if errors.As(readErr, &ue) {
		if closeCalls != nil {
			closeCalls()
		}
		return readErr
	}
	rep := a.Finish()
	if closeCalls != nil {
		closeCalls()
	}
	if aopt.OnCall != nil && !streaming {
		// Calls are reported as they finish; people read them in the
		// order they started.
		sort.SliceStable(kept, func(i, j int) bool { return kept[i].Start.Before(kept[j].Start) })
		rep.Calls = kept
		if rep.Calls == nil {
			rep.Calls = []*analyze.Call{}
		}
	}
	if f.active() {
		rep.Calls = keep(rep.Calls, f.call)
		rep.Registrations = keep(rep.Registrations, f.register)
		rep.Dialogs = keep(rep.Dialogs, f.dialog)
	}
	if o.Redact {
		report.Redact(rep)
	}
	var err error
	switch {
	case streaming:
		err = stream.Close(rep)
	case o.Format == "json":
		err = report.JSON(stdout, rep)
	case o.Format == "csv":
		err = report.CSV(stdout, rep)
	default:
		err = report.Text(stdout, rep, report.TextOptions{Lang: o.Lang, Colour: o.Colour, All: o.All})
	}
	if err != nil {
		return err
	}
	if o.HTMLFile != "" {
		f, err := os.Create(o.HTMLFile)
		if err != nil {
			return usagef("analyze: --html: %v", err)
		}
		if err := report.HTML(f, rep, o.Lang); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "sipcause: wrote %s\n", o.HTMLFile)
	}
	return readErr
}

func hasProblem(fs []analyze.Finding) bool {
	for _, f := range fs {
		if f.Severity != "info" {
			return true
		}
	}
	return false
}

// filter picks the calls, registrations and exchanges --number and --call
// ask for; the summary and the metrics stay those of the whole input.
type filter struct {
	digits, user, callID string
}

func filterOf(o AnalyzeOptions) filter {
	return filter{digits: onlyDigits(o.Number), user: strings.ToLower(o.Number), callID: o.CallID}
}

func (f filter) active() bool { return f.user != "" || f.callID != "" }

// number reports whether any of the values names the number: the same
// last digits (a PBX adds or strips 0, 00, +31) or the same user name.
func (f filter) number(values ...string) bool {
	if f.user == "" {
		return true
	}
	for _, v := range values {
		if strings.EqualFold(v, f.user) {
			return true
		}
		if d := onlyDigits(v); len(f.digits) >= 3 && len(d) >= 3 {
			n := min(len(d), len(f.digits), 9)
			if d[len(d)-n:] == f.digits[len(f.digits)-n:] {
				return true
			}
		}
	}
	return false
}

func (f filter) call(c *analyze.Call) bool {
	if f.callID != "" && c.CallID != f.callID && !slices.Contains(c.Linked, f.callID) {
		return false
	}
	return f.number(c.Caller, c.Callee, userOf(c.Asserted))
}

func (f filter) register(r *analyze.Register) bool {
	return f.callID == "" && f.number(userOf(r.AOR))
}

func (f filter) dialog(*analyze.Dialog) bool {
	return f.callID == "" && f.user == ""
}

func keep[T any](xs []T, ok func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// userOf returns the user part of a SIP or tel URI.
func userOf(uri string) string {
	s := uri
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, "@;"); i >= 0 {
		s = s[:i]
	}
	return s
}
