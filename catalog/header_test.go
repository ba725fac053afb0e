package catalog

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseReason(t *testing.T) {
	tests := []struct {
		in   string
		want []Reason
	}{
		{`Q.850;cause=16;text="Terminated"`, []Reason{{Protocol: "Q.850", Cause: 16, Text: "Terminated"}}},
		{`SIP;cause=487`, []Reason{{Protocol: "SIP", Cause: 487}}},
		{`SIP ; cause = 200 ; text="Call completed elsewhere"`, []Reason{{Protocol: "SIP", Cause: 200, Text: "Call completed elsewhere"}}},
		{`SIP;cause=600;text="Busy Everywhere", Q.850;cause=17;text="User busy"`,
			[]Reason{{Protocol: "SIP", Cause: 600, Text: "Busy Everywhere"}, {Protocol: "Q.850", Cause: 17, Text: "User busy"}}},
		{`Q.850;cause=31;text="a, b; \"c\""`, []Reason{{Protocol: "Q.850", Cause: 31, Text: `a, b; "c"`}}},
		{`q.850;CAUSE=41;location=LN`, []Reason{{Protocol: "q.850", Cause: 41, Params: map[string]string{"location": "LN"}}}},
		{`preemption;cause=1;text="UA Preemption"`, []Reason{{Protocol: "preemption", Cause: 1, Text: "UA Preemption"}}},
		{`SIP`, []Reason{{Protocol: "SIP"}}},
	}
	for _, tc := range tests {
		got, err := ParseReason(tc.in)
		if err != nil {
			t.Errorf("ParseReason(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseReason(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if r, _ := ParseReason("Q.850;cause=17"); !r[0].IsQ850() || r[0].IsSIP() {
		t.Error("IsQ850/IsSIP wrong")
	}
}

func TestParseReasonMalformed(t *testing.T) {
	for _, in := range []string{
		``, `   `, `;cause=1`, `SIP;cause=abc`, `SIP;cause=`, `SIP;cause`, `SIP;text=unquoted`,
		`SIP;text="open`, `SIP;cause=487,`, `,SIP`, `SIP;;cause=1`, `S IP;cause=1`, `SIP;cause=99999999999`,
		`SIP;ca use=1`, `SIP;text="a"b"`,
	} {
		_, err := ParseReason(in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseReason(%q): want a *ParseError, got %v", in, err)
			continue
		}
		if pe.Header != "Reason" || pe.Offset < 0 || pe.Offset > len(in) {
			t.Errorf("ParseReason(%q): bad error %+v", in, pe)
		}
	}
}

func TestParseWarning(t *testing.T) {
	tests := []struct {
		in   string
		want []Warning
	}{
		{`399 host "text"`, []Warning{{399, "host", "text"}}},
		{`305 isi.edu "Incompatible media format"`, []Warning{{305, "isi.edu", "Incompatible media format"}}},
		{`307 10.0.0.1:5060 "Session parameter 'foo' not understood", 301 isi.edu "Incompatible network address type 'E.164'"`,
			[]Warning{{307, "10.0.0.1:5060", "Session parameter 'foo' not understood"}, {301, "isi.edu", "Incompatible network address type 'E.164'"}}},
		{`399 [2001:db8::1]:5060 "a, b"`, []Warning{{399, "[2001:db8::1]:5060", "a, b"}}},
		{`370 sbc ""`, []Warning{{370, "sbc", ""}}},
	}
	for _, tc := range tests {
		got, err := ParseWarning(tc.in)
		if err != nil {
			t.Errorf("ParseWarning(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseWarning(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseWarningMalformed(t *testing.T) {
	for _, in := range []string{
		``, `399`, `399 host`, `399 host text`, `39 host "x"`, `3999 host "x"`, `abc host "x"`,
		`399 host "x`, `399 host "x",`, `399  "x"`,
	} {
		_, err := ParseWarning(in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Header != "Warning" {
			t.Errorf("ParseWarning(%q): want a *ParseError, got %v", in, err)
		}
	}
}

func FuzzParseReason(f *testing.F) {
	for _, s := range []string{`Q.850;cause=16;text="Terminated"`, `SIP;cause=487`, `a,b;"c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseReason(s)
		if err == nil && len(rs) == 0 {
			t.Fatal("no error and no values")
		}
	})
}

func FuzzParseWarning(f *testing.F) {
	for _, s := range []string{`399 host "text"`, `305 a "b", 306 c "d"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := ParseWarning(s)
		if err == nil && len(ws) == 0 {
			t.Fatal("no error and no values")
		}
	})
}
