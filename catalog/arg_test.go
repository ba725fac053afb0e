package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestClassifyArg(t *testing.T) {
	for _, tt := range []struct {
		in     string
		kind   ArgKind
		code   int
		phrase string
		n      int // reasons or warnings
	}{
		{"486", ArgCode, 486, "", 0},
		{" 499 ", ArgCode, 499, "", 0}, // unregistered, still a code
		{"SIP/2.0 480 Niet bereikbaar", ArgStatusLine, 480, "Niet bereikbaar", 0},
		{"sip/2.0 200", ArgStatusLine, 200, "", 0},
		{"Q.850;cause=17", ArgReason, 0, "", 1},
		{`Reason: SIP;cause=487;text="Call completed elsewhere", Q.850;cause=16`, ArgReason, 0, "", 2},
		{`399 sbc.example "Codec not allowed"`, ArgWarning, 0, "", 1},
		{`warning: 305 10.0.0.1 "Incompatible media format"`, ArgWarning, 0, "", 1},
	} {
		a, err := ClassifyArg(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		n := len(a.Reasons) + len(a.Warnings)
		if a.Kind != tt.kind || a.Code != tt.code || a.Phrase != tt.phrase || n != tt.n || a.Input != tt.in {
			t.Errorf("%q: %+v", tt.in, a)
		}
	}
	for _, tt := range []struct {
		in  string
		p   ArgProblem
		off int
	}{
		{"  ", ArgEmpty, 0},
		{"999", ArgNotACode, 0},
		{"0486", ArgNotACode, 0},
		{"SIP/3.0 486 Busy", ArgBadVersion, 0},
		{"SIP/2.0 48 Busy", ArgBadLineCode, 0},
		{"SIP/2.0 099 x", ArgNotACode, 0},
		{"Q.850;cause=abc", ArgBadReason, 6},
		{"399 host unquoted", ArgBadWarning, 8},
		{"hello", ArgNotUnderstood, 0},
	} {
		_, err := ClassifyArg(tt.in)
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Problem != tt.p || ae.Offset != tt.off {
			t.Errorf("%q: %v (%+v), want problem %d at %d", tt.in, err, ae, tt.p, tt.off)
			continue
		}
		// What a person reads names neither the package nor, in Dutch,
		// an English parser message.
		for _, lang := range Langs {
			m := ae.Message(lang)
			if m == "" || strings.Contains(m, "catalog") || strings.Contains(m, "%!") {
				t.Errorf("%q %s: message %q", tt.in, lang, m)
			}
		}
		if nl := ae.Message(Dutch); strings.Contains(nl, "must") {
			t.Errorf("%q: English in the Dutch message %q", tt.in, nl)
		}
		if !strings.HasPrefix(err.Error(), "catalog: ") {
			t.Errorf("%q: error %q lacks the package prefix", tt.in, err)
		}
	}
}

// FuzzClassifyArg: any input is classified or refused, never a panic,
// and a classified code is always in range.
func FuzzClassifyArg(f *testing.F) {
	for _, s := range []string{"486", "SIP/2.0 486 Busy Here", "Q.850;cause=17", `399 h "t"`, "Reason: SIP;cause=200", "SIP/2.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ClassifyArg(s)
		if err != nil {
			var ae *ArgError
			if !errors.As(err, &ae) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		if (a.Kind == ArgCode || a.Kind == ArgStatusLine) && (a.Code < 100 || a.Code > 699) {
			t.Fatalf("%q: code %d", s, a.Code)
		}
	})
}
