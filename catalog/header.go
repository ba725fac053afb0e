package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseError reports a malformed Reason or Warning header value, with the
// byte offset where parsing stopped.
type ParseError struct {
	Header string // "Reason" or "Warning"
	Value  string
	Offset int
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("catalog: bad %s value %q at offset %d: %s", e.Header, e.Value, e.Offset, e.Msg)
}

// Reason is one reason-value of a Reason header (RFC 3326 §2):
// protocol *(SEMI reason-params), e.g. `Q.850;cause=16;text="Terminated"`.
type Reason struct {
	Protocol string            // "SIP", "Q.850" or another token, as written
	Cause    int               // the cause parameter, 0 when absent
	Text     string            // the text parameter, unquoted
	Params   map[string]string // every other parameter, lower-case names
}

// IsSIP reports whether the reason carries a SIP status code.
func (r Reason) IsSIP() bool { return strings.EqualFold(r.Protocol, "SIP") }

// AnsweredElsewhere reports whether the reason says that another phone
// answered the call: SIP cause 200, which a forking proxy puts on the
// CANCEL of the branches that lost (RFC 3326 §2, RFC 3261 §16.7), or a
// text saying the call was completed elsewhere, which some servers send
// with cause 487 instead.
func (r Reason) AnsweredElsewhere() bool {
	return r.IsSIP() && (r.Cause == 200 || strings.Contains(strings.ToLower(r.Text), "elsewhere"))
}

// IsQ850 reports whether the reason carries an ITU-T Q.850 cause.
func (r Reason) IsQ850() bool { return strings.EqualFold(r.Protocol, "Q.850") }

// ParseReason parses the value of a Reason header (RFC 3326 §2), which may
// hold several comma-separated reason-values. Commas inside quoted text do
// not split values.
func ParseReason(v string) ([]Reason, error) {
	parts, err := splitHeader("Reason", v)
	if err != nil {
		return nil, err
	}
	out := make([]Reason, 0, len(parts))
	for _, p := range parts {
		fields, err := splitParams("Reason", v, p)
		if err != nil {
			return nil, err
		}
		proto := strings.TrimSpace(fields[0].text)
		if !isToken(proto) {
			return nil, &ParseError{Header: "Reason", Value: v, Offset: fields[0].off, Msg: "protocol must be a token such as SIP or Q.850"}
		}
		r := Reason{Protocol: proto}
		for _, f := range fields[1:] {
			name, val, hasVal := strings.Cut(f.text, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			val = strings.TrimSpace(val)
			if !isToken(name) {
				return nil, &ParseError{Header: "Reason", Value: v, Offset: f.off, Msg: "parameter name must be a token"}
			}
			switch name {
			case "cause":
				n, err := strconv.Atoi(val)
				if !hasVal || err != nil || n < 0 || len(val) > 4 {
					return nil, &ParseError{Header: "Reason", Value: v, Offset: f.off, Msg: "cause must be a number"}
				}
				r.Cause = n
			case "text":
				t, err := unquote(val)
				if err != nil {
					return nil, &ParseError{Header: "Reason", Value: v, Offset: f.off, Msg: "text " + err.Error()}
				}
				r.Text = t
			default:
				if r.Params == nil {
					r.Params = map[string]string{}
				}
				r.Params[name] = val
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Warning is one warning-value of a Warning header (RFC 3261 §20.43):
// warn-code SP warn-agent SP warn-text.
type Warning struct {
	Code  int    // the three-digit warn-code
	Agent string // the host (or pseudonym) that added the warning
	Text  string // the warn-text, unquoted
}

// ParseWarning parses the value of a Warning header (RFC 3261 §20.43),
// which may hold several comma-separated warning-values.
func ParseWarning(v string) ([]Warning, error) {
	parts, err := splitHeader("Warning", v)
	if err != nil {
		return nil, err
	}
	out := make([]Warning, 0, len(parts))
	for _, p := range parts {
		s := strings.TrimSpace(p.text)
		off := p.off + strings.Index(p.text, s)
		code, rest, ok := strings.Cut(s, " ")
		if !ok || len(code) != 3 || !allDigits(code) {
			return nil, &ParseError{Header: "Warning", Value: v, Offset: off, Msg: "warn-code must be three digits followed by a space"}
		}
		n, _ := strconv.Atoi(code)
		rest = strings.TrimLeft(rest, " ")
		agent, text, ok := strings.Cut(rest, " ")
		if !ok || agent == "" {
			return nil, &ParseError{Header: "Warning", Value: v, Offset: off + 4, Msg: "want warn-agent and a quoted warn-text"}
		}
		t, err := unquote(strings.TrimSpace(text))
		if err != nil {
			return nil, &ParseError{Header: "Warning", Value: v, Offset: off + 4 + len(agent), Msg: "warn-text " + err.Error()}
		}
		out = append(out, Warning{Code: n, Agent: agent, Text: t})
	}
	return out, nil
}

type piece struct {
	text string
	off  int
}

// splitHeader splits a header value on commas outside quoted strings.
func splitHeader(header, v string) ([]piece, error) {
	if strings.TrimSpace(v) == "" {
		return nil, &ParseError{Header: header, Value: v, Msg: "empty value"}
	}
	var out []piece
	start, inQuote := 0, false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, piece{v[start:i], start})
				start = i + 1
			}
		}
	}
	if inQuote {
		return nil, &ParseError{Header: header, Value: v, Offset: len(v), Msg: "unterminated quoted string"}
	}
	out = append(out, piece{v[start:], start})
	for _, p := range out {
		if strings.TrimSpace(p.text) == "" {
			return nil, &ParseError{Header: header, Value: v, Offset: p.off, Msg: "empty element between commas"}
		}
	}
	return out, nil
}

// splitParams splits one element on semicolons outside quoted strings.
func splitParams(header, v string, p piece) ([]piece, error) {
	var out []piece
	start, inQuote := 0, false
	s := p.text
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				out = append(out, piece{s[start:i], p.off + start})
				start = i + 1
			}
		}
	}
	out = append(out, piece{s[start:], p.off + start})
	for _, f := range out {
		if strings.TrimSpace(f.text) == "" {
			return nil, &ParseError{Header: header, Value: v, Offset: f.off, Msg: "empty parameter"}
		}
	}
	return out, nil
}

func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("must be a quoted string")
	}
	var b strings.Builder
	body := s[1 : len(s)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\\' && i+1 < len(body) {
			i++
			c = body[i]
		} else if c == '"' {
			return "", fmt.Errorf("has a stray quote")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isToken reports whether s is an RFC 3261 §25.1 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("-.!%*_+`'~", rune(c)) {
			return false
		}
	}
	return true
}
