package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/catalog"
)

// termAttack moves the cursor, clears the screen, retitles the window,
// returns the carriage and reverses the text: what a sender can put in a
// SIP header to rewrite what a helpdesk sees.
const termAttack = "\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\r\u202e\x9b31m\x00"

// poison appends termAttack to every string reachable from v.
func poison(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			poison(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				poison(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			poison(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			poison(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + termAttack)
		}
	}
}

// unsafeLeft returns the control characters left in out other than
// newline, tab and Painter's own colour codes.
func unsafeLeft(out string) []rune {
	for _, c := range sgrCodes {
		out = strings.ReplaceAll(out, c, "")
	}
	var bad []rune
	for _, r := range out {
		if isUnsafe(r) && r != '\n' && r != '\t' {
			bad = append(bad, r)
		}
	}
	return bad
}

// TestTextOutputsEscapeControls is the review's M5: with escape
// sequences, CR, BEL, NUL and a bidi override in every string of a report,
// the text report (with and without colour), the CSV and the call flow
// contain none of them raw, and show them escaped.
func TestTextOutputsEscapeControls(t *testing.T) {
	r := hostileReport()
	poison(reflect.ValueOf(r))
	for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
		for _, colour := range []bool{false, true} {
			var b bytes.Buffer
			if err := Text(&b, r, TextOptions{Lang: lang, Colour: colour, All: true}); err != nil {
				t.Fatal(err)
			}
			if bad := unsafeLeft(b.String()); len(bad) > 0 {
				t.Errorf("text %s colour=%v: %q left raw", lang, colour, bad)
			}
			if !strings.Contains(b.String(), `\x1b]0;pwned\x07`) {
				t.Errorf("text %s: the escape sequence is not shown escaped", lang)
			}
		}
	}
	var b bytes.Buffer
	if err := CSV(&b, r); err != nil {
		t.Fatal(err)
	}
	if bad := unsafeLeft(b.String()); len(bad) > 0 {
		t.Errorf("csv: %q left raw", bad)
	}
	b.Reset()
	if err := Flow(&b, r.Calls[0], FlowOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	if bad := unsafeLeft(b.String()); len(bad) > 0 {
		t.Errorf("flow: %q left raw", bad)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, één":  "plain text, één",
		"a\x1b[2Jb":        `a\x1b[2Jb`,
		"cr\rbel\x07":      `cr\x0dbel\x07`,
		"rtl\u202eevil":    `rtl\u202eevil`,
		"c1\u009b31m":      `c1\x9b31m`,
		"tab\tand\nline\n": `tab\x09and\x0aline\x0a`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
