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
	"github.com/sipcause/sipcause/internal/memlimit"
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
	// RedactDomains also replaces domain names and input file names.
	RedactDomains bool
	Colour        bool
	Number        string // only calls and registrations of this number or user
	CallID        string // only this call, or the one call whose Call-ID starts so
	Clock         report.Clock
	Stats         bool // text: the metrics per peer too
	// Perspective words the side for the reader: customer or provider.
	Perspective catalog.Perspective
	// NoMedia skips the RTP and RTCP: no audio verdict, but faster on a
	// capture that is mostly media.
	NoMedia  bool
	progress *progress
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
	html := fs.String("html", "", "also write a self-contained HTML report to this file (- for standard output)")
	all := fs.Bool("all", false, "text: explain answered calls too")
	stats := fs.Bool("stats", false, "text: the RFC 6076 metrics per peer too")
	noMedia := fs.Bool("no-media", false, "skip the RTP and RTCP (no audio verdict; faster on captures that are mostly media)")
	tz := tzFlag(fs)
	redact := fs.Bool("redact", false, "replace numbers, user names and IP addresses by pseudonyms")
	redactDomains := fs.Bool("redact-domains", false, "with --redact: replace domain names and input file names too")
	number := fs.String("number", "", "show only calls and registrations of this number or user (the summary stays whole)")
	callID := fs.String("call", "", "show only the call with this Call-ID (or a unique start of it)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	memprofile := fs.String("memprofile", "", "write a heap profile at the end of the run to this file")
	var local listFlag
	fs.Var(&local, "local", "your own side: IP address, CIDR or host name (repeatable)")
	lang := langFlag(fs, env)
	perspective := perspectiveFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	l, err := lang()
	if err != nil {
		return err
	}
	persp, err := perspective()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("analyze: %s", tr(l, "no files"))
	}
	if *asJSON && *asCSV {
		return usagef("analyze: %s", tr(l, "json or csv"))
	}
	if *html == "-" && (*asJSON || *asCSV) {
		return usagef("analyze: %s", tr(l, "html stdout"))
	}
	clock, err := tz(env)
	if err != nil {
		return err
	}
	o := AnalyzeOptions{Files: files, Lang: l, Format: "text", HTMLFile: *html, All: *all, Redact: *redact || *redactDomains, RedactDomains: *redactDomains, Colour: useColour(env, env.Stdout),
		Number: *number, CallID: *callID, Clock: clock, Stats: *stats, NoMedia: *noMedia, Perspective: persp, progress: newProgress(env, files)}
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
	unlimit := memlimit.Start(env.MemoryTarget)
	err = Analyze(o, env.Stdout, env.Stderr)
	unlimit()
	if perr := stop(); err == nil && perr != nil {
		err = usagef("analyze: %v", perr)
	}
	return err
}

// Analyze reads the inputs, rebuilds the calls and writes the report. JSON
// is streamed: each call is written when it is finished and memory stays
// bounded by the calls still open. Text and --html keep a line per call
// and whole only the calls they explain (report.CallList), CSV its rows;
// --html with --csv, --redact and --call keep more.
func Analyze(o AnalyzeOptions, stdout, stderr io.Writer) error {
	// The page is opened before the capture is read: a path that cannot
	// be written fails at once, not after minutes of analysis.
	var htmlOut io.Writer
	var htmlFile *os.File
	switch o.HTMLFile {
	case "":
	case "-":
		htmlOut = stdout
		o.Format = "html"
	default:
		f, err := os.Create(o.HTMLFile)
		if err != nil {
			return usagef("analyze: --html: %s: %v", tr(o.Lang, "cannot write"), err)
		}
		htmlFile, htmlOut = f, f
		defer f.Close()
	}
	aopt := analyze.Options{Local: o.Local, LocalHosts: o.LocalHosts, Lang: o.Lang}
	var raw *rawStore // the SIP messages as captured, for the page
	if htmlOut != nil {
		raw = newRawStore(o.Redact) // redaction reads them in order
	}
	var stream *report.JSONStream
	var kept []*analyze.Call
	var calls *report.CallList  // text and HTML, unless redacted or one call asked for
	var csvRows *report.CSVRows // likewise for CSV
	var spools []*os.File
	defer func() {
		for _, f := range spools {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// One call asked for by a start of its Call-ID: the whole input is
	// needed to know that the start is unique, so nothing is streamed.
	// With --html the page keeps a line per call as well (see below).
	streaming := o.Format == "json" && !o.Redact && o.CallID == ""
	var closeCalls func()
	// What the stream writes as it comes and the page shows at the end.
	var pageRegs []*analyze.Register
	var pageDialogs []*analyze.Dialog
	switch {
	case streaming:
		stream = report.NewJSONStream(stdout, analyze.SchemaVersion, string(o.Lang), func() (report.Spool, error) {
			f, err := os.CreateTemp("", "sipcause-spool-*")
			if err == nil {
				spools = append(spools, f)
			}
			return f, err
		})
		if htmlOut != nil {
			calls = report.NewCallList(o.Lang, report.KeepFor{HTML: true}) // it leaves the calls as they are for the stream
		}
	case (o.Format == "text" || o.Format == "html") && !o.Redact && o.CallID == "":
		// Every call has its line in the overview (its row on the page),
		// but only the first call of each group of failures (the same
		// reason at the same host) is explained in full: of the others
		// the report keeps a line of a few words (review L9: a million
		// failed calls in a few hundred megabytes, as --json streams
		// them). The page also details answered calls, the first 500.
		// Redaction and --call work on whole calls and take the way
		// below.
		calls = report.NewCallList(o.Lang, report.KeepFor{Text: o.Format == "text", All: o.All, HTML: htmlOut != nil})
		aopt.OnCall = func(c *analyze.Call) {
			ms := c.Messages
			if !calls.Keep(c) {
				raw.drop(ms)
			}
		}
	case o.HTMLFile == "" && o.Format == "text":
		// Every call has its line in the overview, but only the first
		// call of each group of failures (the same reason at the same
		// host) is explained in full: the others keep a slim copy with
		// what their line and their group need (review L9: a million
		// failed calls no longer need gigabytes).
		firsts := map[report.GroupKey]*analyze.Call{}
		aopt.OnCall = func(c *analyze.Call) {
			if !o.All && !report.HasProblem(c.Findings) {
				kept = append(kept, slimCall(c))
				return
			}
			c.Messages, c.Frames, c.Media = nil, nil, nil // the text never shows them
			k := report.KeyOf(c)
			if c.Outcome == analyze.OutcomeAnswered { // not grouped
				kept = append(kept, c)
				return
			}
			// The report explains the group's earliest call (the sort
			// below is stable, so the first to finish wins a tie).
			if prev, ok := firsts[k]; ok && !c.Start.Before(prev.Start) {
				kept = append(kept, slimCall(c))
				return
			} else if ok {
				*prev = *slimCall(prev)
			}
			firsts[k] = c
			kept = append(kept, c)
		}
	case o.HTMLFile == "" && o.Format == "csv" && !o.Redact && o.CallID == "":
		// Each call's row is written when it is finished and kept as
		// text until the calls can be put in order (review L9).
		csvRows = report.NewCSVRows(o.Lang)
		aopt.OnCall = csvRows.Add
	case o.HTMLFile == "" && o.Format == "csv":
		aopt.OnCall = func(c *analyze.Call) {
			c.Messages = nil // the frames column stays
			kept = append(kept, c)
		}
	}
	if streaming {
		// Encode calls on their own goroutine, in order, while the
		// analyzer goes on.
		items := make(chan any, 32)
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
		aopt.OnCall = func(c *analyze.Call) {
			if calls != nil {
				ms := c.Messages
				if !calls.Keep(c) {
					raw.drop(ms)
				}
			}
			items <- c
		}
		aopt.OnRegister = func(r *analyze.Register) {
			if htmlOut != nil {
				pageRegs = append(pageRegs, r)
			}
			items <- r
		}
		aopt.OnDialog = func(d *analyze.Dialog) {
			if htmlOut != nil {
				pageDialogs = append(pageDialogs, d)
			}
			items <- d
		}
		closeCalls = func() { close(items); <-done }
	}
	f := filterOf(o)
	matched := 0 // what the filter let through while streaming
	if f.active() {
		if inner := aopt.OnCall; inner != nil {
			aopt.OnCall = func(c *analyze.Call) {
				if f.call(c) {
					matched++
					inner(c)
				}
			}
		}
		if inner := aopt.OnRegister; inner != nil {
			aopt.OnRegister = func(r *analyze.Register) {
				if f.register(r) {
					matched++
					inner(r)
				}
			}
		}
		if inner := aopt.OnDialog; inner != nil {
			aopt.OnDialog = func(d *analyze.Dialog) {
				if f.dialog(d) {
					matched++
					inner(d)
				}
			}
		}
	}
	a := analyze.New(aopt)
	readErr := feedRaw(a, o.Files, o.progress, !o.NoMedia, raw.add)
	var ue *UsageError
	if errors.As(readErr, &ue) {
		if closeCalls != nil {
			closeCalls()
		}
		return readErr
	}
	rep := a.Finish()
	for i := range rep.Inputs { // why an input was skipped, in the reader's language
		rep.Inputs[i].Error = inputErrorText(rep.Inputs[i].Error, o.Lang)
	}
	if closeCalls != nil {
		closeCalls()
	}
	if calls != nil {
		calls.Sort()
		rep.Calls = []*analyze.Call{} // they are in calls
	} else if aopt.OnCall != nil && !streaming {
		// Calls are reported as they finish; people read them in the
		// order they started.
		sort.SliceStable(kept, func(i, j int) bool { return kept[i].Start.Before(kept[j].Start) })
		rep.Calls = kept
		if rep.Calls == nil {
			rep.Calls = []*analyze.Call{}
		}
	}
	if f.callID != "" {
		id, err := uniqueCall(rep.Calls, f.callID, o.Lang)
		if err != nil {
			return err
		}
		f.callID, f.exact = id, true
	}
	if f.active() {
		rep.Calls = keep(rep.Calls, f.call)
		rep.Registrations = keep(rep.Registrations, f.register)
		rep.Dialogs = keep(rep.Dialogs, f.dialog)
		if matched+len(rep.Calls)+len(rep.Registrations)+len(rep.Dialogs) == 0 {
			// Say so, rather than print a summary that looks like an
			// answer (as flow does).
			if readErr != nil {
				return readErr
			}
			if htmlFile != nil {
				htmlFile.Close()
				os.Remove(o.HTMLFile)
			}
			if streaming {
				stream.Close(rep) // what was begun stays valid JSON
			}
			return &NotFoundError{Msg: f.nothing(o.Lang)}
		}
	}
	if o.Redact {
		report.RedactAll(rep, raw.texts(), report.RedactOptions{Domains: o.RedactDomains})
	}
	var err error
	switch {
	case streaming:
		err = stream.Close(rep)
	case o.Format == "json":
		err = report.JSON(stdout, rep)
	case csvRows != nil:
		err = csvRows.Write(stdout)
	case o.Format == "csv":
		err = report.CSV(stdout, rep)
	case o.Format == "html":
	default:
		err = report.Text(stdout, rep, report.TextOptions{Lang: o.Lang, Clock: o.Clock, Colour: o.Colour, All: o.All, Stats: o.Stats, Perspective: o.Perspective, Calls: calls})
	}
	if err != nil {
		return err
	}
	if htmlOut != nil {
		if streaming {
			rep.Registrations, rep.Dialogs = pageRegs, pageDialogs
		}
		if err := report.HTMLWith(htmlOut, rep, report.HTMLOptions{Lang: o.Lang, Clock: o.Clock, Raw: raw.get, Perspective: o.Perspective, Calls: calls}); err != nil {
			return err
		}
		if htmlFile != nil {
			if err := htmlFile.Close(); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "sipcause: %s %s\n", tr(o.Lang, "wrote"), o.HTMLFile)
		}
	}
	return readErr
}

// slimCall keeps of c what its overview line, its group and the filters
// need: the names, times, status and side, the diagnosis (its values make
// the one-sentence reason) and the first problem, without frame numbers.
// Strings are copied, so that they do not pin the captured packets.
func slimCall(c *analyze.Call) *analyze.Call {
	s := &analyze.Call{
		CallID: strings.Clone(c.CallID), Caller: strings.Clone(c.Caller), Callee: strings.Clone(c.Callee),
		Asserted: strings.Clone(c.Asserted), Start: c.Start, FinalStatus: c.FinalStatus,
		Reason: strings.Clone(c.Reason), Outcome: c.Outcome, Fault: c.Fault,
	}
	for _, l := range c.Linked {
		s.Linked = append(s.Linked, strings.Clone(l))
	}
	if c.FinalFrom != nil {
		s.FinalFrom = &analyze.Responder{Addr: strings.Clone(c.FinalFrom.Addr)}
	}
	for i, f := range c.Findings {
		if i == 0 || f.Severity != "info" {
			f.Frames = nil
			s.Findings = append(s.Findings, f)
			if f.Severity != "info" {
				break
			}
		}
	}
	return s
}

// filter picks the calls, registrations and exchanges --number and --call
// ask for; the summary and the metrics stay those of the whole input.
type filter struct {
	digits, user, callID, asked string
	exact                       bool // callID is a whole Call-ID, not a start of one
}

// uniqueCall resolves --call: a whole Call-ID, or the start of exactly one.
func uniqueCall(calls []*analyze.Call, prefix string, lang catalog.Lang) (string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, c := range calls {
		if c.CallID == prefix {
			return prefix, nil
		}
		if strings.HasPrefix(c.CallID, prefix) && !seen[c.CallID] {
			seen[c.CallID] = true
			ids = append(ids, c.CallID)
		}
	}
	if len(ids) > 1 {
		sort.Strings(ids)
		more := ""
		if len(ids) > 5 {
			ids, more = ids[:5], ", …"
		}
		return "", usagef(tr(lang, "ambiguous call"), prefix, strings.Join(ids, ", ")+more)
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	return prefix, nil
}

func filterOf(o AnalyzeOptions) filter {
	return filter{digits: onlyDigits(o.Number), user: strings.ToLower(o.Number), callID: o.CallID, asked: o.Number}
}

// nothing says, in lang, that the filter matched nothing.
func (f filter) nothing(lang catalog.Lang) string {
	if f.callID != "" {
		return fmt.Sprintf(tr(lang, "no call id"), f.callID)
	}
	return fmt.Sprintf(tr(lang, "no number"), f.asked)
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
	if f.callID != "" {
		match := func(id string) bool { return id == f.callID || !f.exact && strings.HasPrefix(id, f.callID) }
		if !match(c.CallID) && !slices.ContainsFunc(c.Linked, match) {
			return false
		}
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
