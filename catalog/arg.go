package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ArgKind is what a value a person asks about turns out to be.
type ArgKind string

// The kinds of value ClassifyArg recognises.
const (
	ArgCode       ArgKind = "code"        // a response code, RFC 3261 §7.2
	ArgStatusLine ArgKind = "status-line" // SIP/2.0 486 Busy Here, RFC 3261 §7.2
	ArgReason     ArgKind = "reason"      // a Reason header value, RFC 3326 §2
	ArgWarning    ArgKind = "warning"     // a Warning header value, RFC 3261 §20.43
)

// Arg is a value a person asks about ("what does this mean?"), classified
// and parsed. The command line (`sipcause code`) and the web UI's lookup
// read their input with ClassifyArg, so that both understand the same
// things in the same way.
type Arg struct {
	Input    string  // as given
	Kind     ArgKind //
	Code     int     // ArgCode and ArgStatusLine: the code, 100 to 699
	Phrase   string  // ArgStatusLine: the reason phrase as given (may be empty)
	Reasons  []Reason
	Warnings []Warning
}

// ArgProblem says why a value could not be classified.
type ArgProblem int

// The problems ClassifyArg reports.
const (
	ArgEmpty         ArgProblem = iota + 1 // nothing given
	ArgNotACode                            // digits outside 100..699
	ArgBadVersion                          // a status line not starting with SIP/2.0
	ArgBadLineCode                         // a status line without a three-digit code
	ArgBadReason                           // looks like a Reason value but does not parse
	ArgBadWarning                          // looks like a Warning value but does not parse
	ArgNotUnderstood                       // none of the above
)

// ArgError is returned by ClassifyArg for a value it cannot read. Its
// Message is meant for the person who typed the value: it names what is
// wrong in their language and no internal detail.
type ArgError struct {
	Input   string
	Problem ArgProblem
	Offset  int    // ArgBadReason, ArgBadWarning: where the value goes wrong, in bytes
	Detail  string // ArgBadReason, ArgBadWarning: what is wrong there (English, from ParseError)
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("catalog: cannot explain %q: %s", e.Input, e.Message(English))
}

// Message says in lang what is wrong with the value and what would be
// understood instead.
func (e *ArgError) Message(lang Lang) string {
	nl := lang == Dutch
	pick := func(en, du string) string {
		if nl {
			return du
		}
		return en
	}
	switch e.Problem {
	case ArgEmpty:
		return pick("nothing given", "er is niets ingevuld")
	case ArgNotACode:
		return pick("not a SIP status code (they run from 100 to 699)", "geen SIP-statuscode (die lopen van 100 tot 699)")
	case ArgBadVersion:
		return pick("a status line starts with SIP/2.0", "een statusregel begint met SIP/2.0")
	case ArgBadLineCode:
		return pick("a status line has a three-digit code after SIP/2.0", "een statusregel heeft na SIP/2.0 een code van drie cijfers")
	case ArgBadReason:
		return fmt.Sprintf(pick("not a valid Reason value (RFC 3326) at character %d%s; for example Q.850;cause=17",
			"geen geldige Reason-waarde (RFC 3326) bij teken %d%s; bijvoorbeeld Q.850;cause=17"), e.Offset+1, e.detail(nl))
	case ArgBadWarning:
		return fmt.Sprintf(pick(`not a valid Warning value (RFC 3261 §20.43) at character %d%s; for example 399 sbc.example "text"`,
			`geen geldige Warning-waarde (RFC 3261 §20.43) bij teken %d%s; bijvoorbeeld 399 sbc.example "tekst"`), e.Offset+1, e.detail(nl))
	}
	return pick(`want a code (486), a status line (SIP/2.0 486 Busy Here), a Reason value (Q.850;cause=17) or a Warning value (399 host "text")`,
		`vul een code in (486), een statusregel (SIP/2.0 486 Busy Here), een Reason-waarde (Q.850;cause=17) of een Warning-waarde (399 host "tekst")`)
}

// detail is the parser's own words, in English only: the Dutch message
// stops at the position.
func (e *ArgError) detail(nl bool) string {
	if nl || e.Detail == "" {
		return ""
	}
	return " (" + e.Detail + ")"
}

// ClassifyArg works out what s is: a status code ("486"), a status line
// ("SIP/2.0 486 Busy Here", RFC 3261 §7.2), a Reason header value
// ("Q.850;cause=17", RFC 3326 §2) or a Warning header value (`399 sbc
// "text"`, RFC 3261 §20.43). A leading "Reason:" or "Warning:" header
// name is accepted and decides the kind. A code outside 100..699 is an
// error; an unregistered code inside it is not (Resolve gives its class's
// code). Errors are *ArgError.
func ClassifyArg(s string) (Arg, error) {
	in := s
	s = strings.TrimSpace(s)
	bad := func(p ArgProblem, err error) (Arg, error) {
		e := &ArgError{Input: in, Problem: p}
		var pe *ParseError
		if errors.As(err, &pe) {
			e.Offset, e.Detail = pe.Offset, pe.Msg
		}
		return Arg{}, e
	}
	switch {
	case s == "":
		return bad(ArgEmpty, nil)
	case allDigits(s):
		n, err := strconv.Atoi(s)
		if err != nil || len(s) > 3 || n < 100 || n > 699 {
			return bad(ArgNotACode, nil)
		}
		return Arg{Input: in, Kind: ArgCode, Code: n}, nil
	case len(s) >= 4 && strings.EqualFold(s[:4], "SIP/"):
		ver, rest, _ := strings.Cut(s, " ")
		if !strings.EqualFold(ver, "SIP/2.0") {
			return bad(ArgBadVersion, nil)
		}
		code, phrase, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		n, err := strconv.Atoi(code)
		if err != nil || len(code) != 3 || !allDigits(code) {
			return bad(ArgBadLineCode, nil)
		}
		if n < 100 || n > 699 {
			return bad(ArgNotACode, nil)
		}
		return Arg{Input: in, Kind: ArgStatusLine, Code: n, Phrase: strings.TrimSpace(phrase)}, nil
	}
	name, val := "", s
	if n, v, ok := strings.Cut(s, ":"); ok {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "reason":
			name, val = "reason", strings.TrimSpace(v)
		case "warning":
			name, val = "warning", strings.TrimSpace(v)
		}
	}
	if name == "warning" || name == "" && looksLikeWarning(val) {
		ws, err := ParseWarning(val)
		if err != nil {
			return bad(ArgBadWarning, err)
		}
		return Arg{Input: in, Kind: ArgWarning, Warnings: ws}, nil
	}
	if name == "reason" || name == "" && looksLikeReason(val) {
		rs, err := ParseReason(val)
		if err != nil || len(rs) == 0 {
			return bad(ArgBadReason, err)
		}
		return Arg{Input: in, Kind: ArgReason, Reasons: rs}, nil
	}
	return bad(ArgNotUnderstood, nil)
}

// looksLikeWarning: three digits and a space start every warning-value.
func looksLikeWarning(s string) bool {
	return len(s) > 4 && allDigits(s[:3]) && s[3] == ' '
}

// looksLikeReason: a protocol token followed by parameters.
func looksLikeReason(s string) bool {
	proto, _, _ := strings.Cut(s, ";")
	proto = strings.TrimSpace(proto)
	return strings.Contains(s, ";") && proto != "" && !strings.ContainsAny(proto, " \"")
}
