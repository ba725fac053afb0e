package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
)

// CodeJSON is the JSON form of one registered response code, shared by
// `sipcause codes --json` and `sipcause code --json`.
type CodeJSON struct {
	Code        int      `json:"code"`
	Reason      string   `json:"reason"`
	WireReason  string   `json:"wire_reason,omitempty"`
	Class       int      `json:"class"`
	RFC         []string `json:"rfc"`
	Ref         string   `json:"ref"`
	Deprecated  bool     `json:"deprecated,omitempty"`
	Fault       string   `json:"fault"`
	Summary     string   `json:"summary"`
	Explanation string   `json:"explanation"`
	Advice      []string `json:"advice"`
	Note        string   `json:"note,omitempty"`
	Headers     []string `json:"headers"`
	Q850        int      `json:"q850"`
}

func codeJSON(c catalog.Code, lang catalog.Lang) *CodeJSON {
	t := c.Text(lang)
	return &CodeJSON{
		Code: c.Code, Reason: c.Reason, WireReason: c.WireReason, Class: c.Class(),
		RFC: nonNil(c.RFC), Ref: c.Ref, Deprecated: c.Deprecated, Fault: string(c.Fault),
		Summary: t.Summary, Explanation: t.Explanation, Advice: nonNil(t.Advice), Note: t.Note,
		Headers: nonNil(c.Headers), Q850: catalog.Default().SIPToCause(c.Code),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ArgJSON is the JSON form of one argument of `sipcause code --json`: what
// was asked, how it was read, and the code entry it comes down to.
type ArgJSON struct {
	Input string `json:"input"`
	Kind  string `json:"kind"` // code, status-line, reason, warning
	*CodeJSON
	Registered *bool         `json:"registered,omitempty"`     // for codes and status lines
	TreatedAs  int           `json:"treated_as,omitempty"`     // unregistered code: the x00 used
	OnTheWire  string        `json:"phrase_on_wire,omitempty"` // status line: the phrase as given
	Reasons    []ReasonJSON  `json:"reasons,omitempty"`
	Warnings   []WarningJSON `json:"warnings,omitempty"`
}

// ReasonJSON is one decoded reason-value of a Reason header (RFC 3326).
type ReasonJSON struct {
	Protocol string `json:"protocol"`
	Cause    int    `json:"cause"`
	Text     string `json:"text,omitempty"`
	Name     string `json:"name,omitempty"`    // Q.850 name or SIP phrase
	Meaning  string `json:"meaning,omitempty"` // in the chosen language
	Fault    string `json:"fault,omitempty"`
	SIPCode  *int   `json:"sip_code,omitempty"` // Q.850: the RFC 3398 §7.2.4.1 mapping (0: no response)
	Known    bool   `json:"known"`
}

// WarningJSON is one decoded warning-value of a Warning header (RFC 3261 §20.43).
type WarningJSON struct {
	Code           int    `json:"code"`
	Agent          string `json:"agent"`
	Text           string `json:"text"`
	RegisteredText string `json:"registered_text,omitempty"`
	Meaning        string `json:"meaning,omitempty"`
	Known          bool   `json:"known"`
}

// CodeOptions are the options of `sipcause code`.
type CodeOptions struct {
	Args []string
	Lang catalog.Lang
	JSON bool
}

func runCode(args []string, env Env) error {
	fs := flag.NewFlagSet("code", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	lang := langFlag(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	l, err := lang()
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("code: give at least one code, status line, Reason or Warning value (e.g. sipcause code 486)")
	}
	return Code(CodeOptions{Args: pos, Lang: l, JSON: *asJSON}, env.Stdout, useColour(env, env.Stdout))
}

// Code explains each argument: a status code, a status line, a Reason
// header value or a Warning header value. Nothing is written when an
// argument cannot be understood.
func Code(o CodeOptions, w io.Writer, colour bool) error {
	out := make([]ArgJSON, 0, len(o.Args))
	for _, a := range o.Args {
		r, err := explainArg(a, o.Lang)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	if o.JSON {
		return writeJSON(w, out)
	}
	p := painter{On: colour}
	for i, a := range out {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeArgText(w, a, o.Lang, p)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// explainArg reads a with catalog.ClassifyArg (the web lookup uses the
// same classifier) and explains it.
func explainArg(a string, lang catalog.Lang) (ArgJSON, error) {
	cat := catalog.Default()
	arg, err := catalog.ClassifyArg(a)
	var ae *catalog.ArgError
	if errors.As(err, &ae) {
		return ArgJSON{}, usagef("code: %s %q: %s", tr(lang, "cannot explain"), a, ae.Message(lang))
	}
	if err != nil {
		return ArgJSON{}, err
	}
	switch arg.Kind {
	case catalog.ArgCode, catalog.ArgStatusLine:
		res, err := cat.Resolve(arg.Code)
		if err != nil {
			return ArgJSON{}, usagef("code: %s %q: %s", tr(lang, "cannot explain"), a, (&catalog.ArgError{Problem: catalog.ArgNotACode}).Message(lang))
		}
		j := resolved(a, string(arg.Kind), res, lang)
		j.OnTheWire = arg.Phrase
		return j, nil
	case catalog.ArgWarning:
		j := ArgJSON{Input: a, Kind: string(arg.Kind)}
		for _, w := range arg.Warnings {
			wj := WarningJSON{Code: w.Code, Agent: w.Agent, Text: w.Text}
			if wc, ok := cat.WarnCode(w.Code); ok {
				wj.Known, wj.RegisteredText, wj.Meaning = true, wc.Text, wc.Meaning(lang)
			}
			j.Warnings = append(j.Warnings, wj)
		}
		return j, nil
	}
	j := ArgJSON{Input: a, Kind: string(arg.Kind)}
	for _, r := range arg.Reasons {
		j.Reasons = append(j.Reasons, reasonJSON(r, lang))
	}
	return j, nil
}

func resolved(input, kind string, res catalog.Resolution, lang catalog.Lang) ArgJSON {
	reg := res.Registered
	j := ArgJSON{Input: input, Kind: kind, CodeJSON: codeJSON(res.Entry, lang), Registered: &reg}
	if !reg {
		j.TreatedAs = res.Entry.Code
		j.CodeJSON.Code = res.Asked
		j.CodeJSON.Class = res.Asked / 100
		j.CodeJSON.Reason = ""
		j.CodeJSON.Q850 = catalog.Default().SIPToCause(res.Asked)
	}
	return j
}

func reasonJSON(r catalog.Reason, lang catalog.Lang) ReasonJSON {
	cat := catalog.Default()
	j := ReasonJSON{Protocol: r.Protocol, Cause: r.Cause, Text: r.Text}
	switch {
	case r.IsQ850():
		if c, ok := cat.Cause(r.Cause); ok {
			j.Known, j.Name, j.Meaning, j.Fault = true, c.Name, c.Text(lang), string(c.Fault)
		}
		if r.Cause >= 1 && r.Cause <= 127 {
			code := cat.CauseToSIP(r.Cause)
			j.SIPCode = &code
		}
	case r.IsSIP():
		if res, err := cat.Resolve(r.Cause); err == nil {
			j.Known = res.Registered
			j.Name = res.Entry.Reason
			meaning, fault := report.ReasonSIPMeaning(r, res.Entry, lang)
			j.Meaning, j.Fault = meaning, string(fault)
		}
	}
	return j
}

const labelWidth = 18

func field(w io.Writer, p painter, label, value string) {
	fmt.Fprintf(w, "  %s %s\n", p.Dim(padRight(label, labelWidth)), value)
}

func writeArgText(w io.Writer, a ArgJSON, lang catalog.Lang, p painter) {
	if a.CodeJSON != nil {
		writeCodeText(w, a, lang, p)
		return
	}
	cat := catalog.Default()
	for i, r := range a.Reasons {
		if i > 0 {
			fmt.Fprintln(w)
		}
		head := fmt.Sprintf("%s: %s;cause=%d", tr(lang, "reason hdr"), r.Protocol, r.Cause)
		fmt.Fprintln(w, p.Bold(head))
		switch {
		case r.Protocol != "" && strings.EqualFold(r.Protocol, "Q.850"):
			if r.Known {
				field(w, p, "Q.850", fmt.Sprintf("%d %s", r.Cause, r.Name))
				field(w, p, tr(lang, "cause lies"), p.Fault(r.Fault, catalog.Fault(r.Fault).Label(lang)))
				fmt.Fprintln(w, wrap(r.Meaning, "  ", 76))
			} else {
				field(w, p, "Q.850", fmt.Sprintf("%d: %s (%s)", r.Cause, tr(lang, "unassigned"), catalog.CauseClass(r.Cause)))
			}
			if r.SIPCode != nil {
				if *r.SIPCode == 0 {
					fmt.Fprintln(w, wrap(tr(lang, "no response"), "  ", 76))
				} else {
					fmt.Fprintln(w, wrap(fmt.Sprintf(tr(lang, "maps to"), *r.SIPCode, cat.Phrase(*r.SIPCode)), "  ", 76))
				}
			}
		case strings.EqualFold(r.Protocol, "SIP"):
			field(w, p, "SIP", fmt.Sprintf("%d %s", r.Cause, r.Name))
			if r.Fault != "" {
				field(w, p, tr(lang, "cause lies"), p.Fault(r.Fault, catalog.Fault(r.Fault).Label(lang)))
			}
			if r.Meaning != "" {
				fmt.Fprintln(w, wrap(r.Meaning, "  ", 76))
			}
		default:
			fmt.Fprintln(w, wrap(fmt.Sprintf(tr(lang, "protocol"), r.Protocol, r.Cause), "  ", 76))
		}
		if r.Text != "" {
			field(w, p, tr(lang, "text"), strconv.Quote(r.Text))
		}
	}
	for i, x := range a.Warnings {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, p.Bold(fmt.Sprintf("%s %d %s", tr(lang, "warning hdr"), x.Code, x.RegisteredText)))
		field(w, p, tr(lang, "agent"), x.Agent)
		field(w, p, tr(lang, "text"), strconv.Quote(x.Text))
		if x.Known {
			fmt.Fprintln(w, wrap(x.Meaning, "  ", 76))
		} else {
			fmt.Fprintln(w, wrap(fmt.Sprintf("%d: %s", x.Code, tr(lang, "unknown warn")), "  ", 76))
		}
	}
}

func writeCodeText(w io.Writer, a ArgJSON, lang catalog.Lang, p painter) {
	c := a.CodeJSON
	cat := catalog.Default()
	phrase := c.Reason
	if a.TreatedAs != 0 {
		phrase = "(" + className(lang, c.Class) + ")"
	}
	fmt.Fprintln(w, p.Bold(fmt.Sprintf("%d %s", c.Code, phrase)))
	if a.TreatedAs != 0 {
		fmt.Fprintln(w, wrap(fmt.Sprintf(tr(lang, "unknown code"), c.Code, a.TreatedAs, cat.Phrase(a.TreatedAs)), "  ", 76))
	}
	if a.OnTheWire != "" && a.OnTheWire != c.Reason {
		field(w, p, tr(lang, "wire phrase"), strconv.Quote(a.OnTheWire))
		if a.TreatedAs == 0 {
			field(w, p, tr(lang, "registered"), strconv.Quote(c.Reason))
		}
	}
	field(w, p, tr(lang, "class"), className(lang, c.Class))
	field(w, p, tr(lang, "cause lies"), p.Fault(c.Fault, catalog.Fault(c.Fault).Label(lang)))
	field(w, p, tr(lang, "meaning"), c.Summary)
	if c.Deprecated {
		field(w, p, "", tr(lang, "deprecated"))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, wrap(c.Explanation, "  ", 76))
	if c.Note != "" {
		fmt.Fprintln(w, wrap(c.Note, "  ", 76))
	}
	if len(c.Advice) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %s\n", p.Bold(tr(lang, "what to do")))
		for i, s := range c.Advice {
			item := wrap(s, "       ", 71)
			fmt.Fprintf(w, "    %d. %s\n", i+1, strings.TrimLeft(item, " "))
		}
	}
	fmt.Fprintln(w)
	if len(c.Headers) > 0 {
		field(w, p, tr(lang, "look at"), strings.Join(c.Headers, ", "))
	}
	if c.Q850 != 0 {
		name := ""
		if q, ok := cat.Cause(c.Q850); ok {
			name = q.Name
		}
		field(w, p, tr(lang, "q850"), fmt.Sprintf("%d %s (RFC 3398 §8.2.6.1)", c.Q850, name))
	}
	field(w, p, tr(lang, "defined in"), c.Ref)
}

// CodesOptions are the options of `sipcause codes`.
type CodesOptions struct {
	Class int // 0 = all
	Lang  catalog.Lang
	JSON  bool
}

func runCodes(args []string, env Env) error {
	fs := flag.NewFlagSet("codes", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	class := fs.Int("class", 0, "only this class (1..6)")
	lang := langFlag(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("codes: unexpected argument %q (to explain one code: sipcause code %s)", pos[0], pos[0])
	}
	if *class != 0 && (*class < 1 || *class > 6) {
		return usagef("codes: --class %d: want 1 to 6", *class)
	}
	l, err := lang()
	if err != nil {
		return err
	}
	return Codes(CodesOptions{Class: *class, Lang: l, JSON: *asJSON}, env.Stdout, useColour(env, env.Stdout))
}

// Codes lists every registered code (or those of one class) as an aligned
// table or as a JSON array.
func Codes(o CodesOptions, w io.Writer, colour bool) error {
	var list []*CodeJSON
	for _, c := range catalog.Default().Codes() {
		if o.Class == 0 || c.Class() == o.Class {
			list = append(list, codeJSON(c, o.Lang))
		}
	}
	if o.JSON {
		if list == nil {
			list = []*CodeJSON{}
		}
		return writeJSON(w, list)
	}
	p := painter{On: colour}
	phraseW, faultW := len(tr(o.Lang, "phrase")), len(tr(o.Lang, "fault"))
	for _, c := range list {
		phraseW = max(phraseW, len(c.Reason))
		faultW = max(faultW, len([]rune(catalog.Fault(c.Fault).Label(o.Lang))))
	}
	fmt.Fprintf(w, "%s  %s  %s  %s\n", p.Bold(tr(o.Lang, "code")), p.Bold(padRight(tr(o.Lang, "phrase"), phraseW)),
		p.Bold(padRight(tr(o.Lang, "fault"), faultW)), p.Bold(tr(o.Lang, "summary")))
	for _, c := range list {
		label := catalog.Fault(c.Fault).Label(o.Lang)
		fmt.Fprintf(w, "%-4d  %s  %s  %s\n", c.Code, padRight(c.Reason, phraseW), p.Fault(c.Fault, padRight(label, faultW)), c.Summary)
	}
	return nil
}
