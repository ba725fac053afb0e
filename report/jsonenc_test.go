package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/ingest"
	"github.com/sipcause/sipcause/internal/sharedtest"
)

// referenceCallJSON is what JSONStream wrote for a call before the hand
// encoder: encoding/json, HTML not escaped, without the newline.
func referenceCallJSON(lc *Call) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(lc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkCallJSON compares the hand encoder with encoding/json on c, in
// both forms: the call with its texts in lang (the report's) and the
// analyzer's call (the store's). It reports whether encoding/json
// accepted the call.
func checkCallJSON(t *testing.T, name string, c *analyze.Call, lang catalog.Lang) bool {
	t.Helper()
	lc := LocalizeCall(c, lang)
	want, werr := referenceCallJSON(lc)
	got, ok := AppendCallJSON(nil, lc)
	switch {
	case werr != nil && ok:
		t.Errorf("%s: encoding/json fails (%v), the hand encoder wrote %s", name, werr, got)
	case werr == nil && !ok:
		t.Errorf("%s: the hand encoder gave up on a call encoding/json writes: %s", name, want)
	case werr == nil && !bytes.Equal(got, want):
		t.Errorf("%s (%s): bytes differ at %d\n got: %s\nwant: %s", name, lang, diffAt(got, want), got, want)
	}
	want2, werr2 := json.Marshal(c)
	got2, err2 := MarshalCall(c)
	if (werr2 == nil) != (err2 == nil) || !bytes.Equal(got2, want2) {
		t.Errorf("%s: MarshalCall = %s, %v; json.Marshal = %s, %v", name, got2, err2, want2, werr2)
	}
	if werr2 == nil {
		// MarshalCall must have used the hand encoder, not its fallback.
		e := jsonEnc{html: true}
		e.call(c, nil)
		if e.bad || !bytes.Equal(e.b, want2) {
			t.Errorf("%s: hand encoder (HTML escaped) differs at %d", name, diffAt(e.b, want2))
		}
	}
	return werr == nil
}

// checkHand compares a hand encoder's bytes (hand) with encoding/json's
// (v, HTML not escaped, as JSONStream writes): the same bytes, or both
// refuse.
func checkHand(t *testing.T, name string, v any, hand func() ([]byte, bool)) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	werr := enc.Encode(v)
	want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	got, ok := hand()
	if (werr == nil) != ok || ok && !bytes.Equal(got, want) {
		t.Errorf("%s: hand encoder %s (ok %v); encoding/json %s (%v); differ at %d", name, got, ok, want, werr, diffAt(got, want))
	}
}

func diffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestCallJSONSharedCaptures encodes every call of every shared capture
// (media read, so audio verdicts and RTP streams are there) both ways, in
// English and Dutch, and compares the bytes.
func TestCallJSONSharedCaptures(t *testing.T) {
	entries, err := os.ReadDir(capturesDir)
	if err != nil {
		sharedtest.Missing(t, capturesDir, err)
	}
	calls, media, findings, regs, dlgs := 0, 0, 0, 0, 0
	for _, en := range entries {
		if en.IsDir() || strings.HasSuffix(en.Name(), ".tsv") || strings.HasSuffix(en.Name(), ".md") {
			continue
		}
		r, err := ingest.Analyze(ingest.Files(filepath.Join(capturesDir, en.Name())), ingest.Options{Media: true}, analyze.Options{})
		if r == nil {
			t.Logf("%s: %v", en.Name(), err)
			continue
		}
		for _, g := range r.Registrations {
			for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
				lg := LocalizeRegister(g, lang)
				checkHand(t, en.Name()+" "+g.CallID, lg, func() ([]byte, bool) { return AppendRegisterJSON(nil, lg) })
			}
			regs++
		}
		for _, d := range r.Dialogs {
			for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
				ld := LocalizeDialog(d, lang)
				checkHand(t, en.Name()+" "+d.CallID, ld, func() ([]byte, bool) { return AppendDialogJSON(nil, ld) })
			}
			dlgs++
		}
		for _, c := range r.Calls {
			for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
				if !checkCallJSON(t, en.Name()+" "+c.CallID, c, lang) {
					t.Errorf("%s %s: encoding/json fails on a real call", en.Name(), c.CallID)
				}
			}
			calls++
			media += len(c.Media)
			findings += len(c.Findings)
		}
	}
	t.Logf("%d calls compared (%d RTP streams, %d findings), each in English and Dutch and as the store keeps it; %d registrations and %d dialogs in both languages", calls, media, findings, regs, dlgs)
	if regs < 20 || dlgs < 20 {
		t.Errorf("only %d registrations and %d dialogs in the shared captures", regs, dlgs)
	}
	if calls < 100 {
		t.Errorf("only %d calls in the shared captures: the comparison proves little", calls)
	}
}

// hostileStrings are what a SIP peer can put in a header and the analyzer
// may copy into a call: control characters, invalid UTF-8, HTML
// characters, the JavaScript line separators, quotes and backslashes.
var hostileStrings = []string{
	"", "a", "sip:alice@example.com", "\x00", "\x01\x1f\x7f", "\b\f\n\r\t", `"quoted" \back\slash`,
	"<script>&amp;</script>", "\u2028\u2029", "line\u2028sep", "\xff\xfe", "ok\xc3", "\xe2\x80", "\xed\xa0\x80",
	"Müller – Straße", "日本語", "\U0001F600", "\xf4\x90\x80\x80", "a\x00b<c>d&e\u2029f\xc0\xafg",
	"Oorzaak ligt bij de andere kant",
}

// hostileFloats are the numbers at encoding/json's format boundaries
// (1e-6 and 1e21 switch to exponents), the extremes and negative zero.
var hostileFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 4.41, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 123456789e15,
	-1e21, 5e-324, math.MaxFloat64, -math.SmallestNonzeroFloat64, 1.0 / 3, 100, 12.5, 1e-10, 2.5e-100}

// filler fills values of any type by reflection, so that a field added to
// the call and not to the hand encoder shows up as a difference.
type filler struct {
	r      *rand.Rand
	broken bool // also NaN, infinities and years past 9999
}

func (f *filler) fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		s := hostileStrings[f.r.IntN(len(hostileStrings))]
		if f.r.IntN(3) == 0 {
			s += hostileStrings[f.r.IntN(len(hostileStrings))]
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(f.r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch f.r.IntN(4) {
		case 0:
			v.SetInt(0)
		case 1:
			v.SetInt(-f.r.Int64N(1 << 40))
		default:
			v.SetInt(f.r.Int64N(1 << 62))
		}
	case reflect.Uint32:
		v.SetUint(uint64(f.r.Uint32()))
	case reflect.Float64:
		x := hostileFloats[f.r.IntN(len(hostileFloats))]
		if f.r.IntN(2) == 0 {
			x = f.r.NormFloat64() * math.Pow(10, float64(f.r.IntN(50)-25))
		}
		if f.broken && f.r.IntN(40) == 0 {
			x = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[f.r.IntN(3)]
		}
		v.SetFloat(x)
	case reflect.Pointer:
		if f.r.IntN(3) == 0 || depth > 6 {
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch f.r.IntN(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + f.r.IntN(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				f.fill(s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		switch f.r.IntN(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
		default:
			m := reflect.MakeMap(v.Type())
			for range 1 + f.r.IntN(4) {
				k := reflect.New(v.Type().Key()).Elem()
				f.fill(k, depth+1)
				e := reflect.New(v.Type().Elem()).Elem()
				f.fill(e, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(f.time()))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				f.fill(v.Field(i), depth+1)
			}
		}
	default:
		panic("filler: no values for " + v.Type().String() + ": teach the filler and the hand encoder")
	}
}

// The first and last second RFC 3339 can write (years 0 to 9999).
var rfc3339First, rfc3339Last = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// TestTimeJSON compares the encoder's UTC times with time's own JSON over
// the whole range of years, at random seconds and nanoseconds and at the
// ends of days, and beyond it (where both refuse).
func TestTimeJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := rfc3339First.Unix()-86400*800, rfc3339Last.Unix()+86400*800
	for i := range 200000 {
		sec := lo + r.Int64N(hi-lo)
		if i%4 == 0 {
			sec -= sec % 86400 // midnight
			sec -= int64(i % 3)
		}
		ns := int64(0)
		if i%2 == 0 {
			ns = r.Int64N(1e9)
			ns -= ns % []int64{1, 10, 1000, 1e6, 1e8}[i%5]
		}
		tm := time.Unix(sec, ns).UTC()
		want, werr := tm.MarshalJSON()
		e := jsonEnc{}
		e.time(tm)
		if werr != nil != e.bad || werr == nil && string(e.b) != string(want) {
			t.Fatalf("%d %d: %s (bad %v), want %s (%v)", sec, ns, e.b, e.bad, want, werr)
		}
	}
	// One encoder for many times, as a stream's: the second it keeps
	// from the time before must not leak into the next one, which is
	// often in the same second, sometimes in the next or an earlier
	// one, a day or a zone away, or out of range.
	var e jsonEnc
	sec := time.Date(2026, 11, 28, 23, 59, 58, 0, time.UTC).Unix()
	var seen []time.Time
	for i := range 200000 {
		switch r.IntN(8) {
		case 0:
			sec++
		case 1:
			sec--
		case 2:
			sec += 86400 * int64(r.IntN(3)-1)
		case 3:
			sec = lo + r.Int64N(hi-lo)
		}
		tm := time.Unix(sec, r.Int64N(1e9)-r.Int64N(1e9)%[]int64{1, 1000, 1e6, 1e9}[i%4]).UTC()
		if i%16 == 0 {
			tm = tm.In(time.FixedZone("x", 3600))
		}
		// A time written before, or one with the same nanoseconds in
		// another second.
		if len(seen) > 0 && r.IntN(3) == 0 {
			tm = seen[r.IntN(len(seen))]
			if r.IntN(2) == 0 {
				tm = tm.Add(time.Duration(r.IntN(3)-1) * time.Second)
			}
		}
		if seen = append(seen, tm); len(seen) > 20 {
			seen = seen[1:]
		}
		want, werr := tm.MarshalJSON()
		e.b, e.bad = e.b[:0], false
		e.time(tm)
		if werr != nil != e.bad || werr == nil && string(e.b) != string(want) {
			t.Fatalf("%v after others: %s (bad %v), want %s (%v)", tm, e.b, e.bad, want, werr)
		}
	}
}

func (f *filler) time() time.Time {
	switch f.r.IntN(8) {
	case 6: // any second from year -100 to 10100, UTC or not
		lo, hi := rfc3339First.Unix(), rfc3339Last.Unix()
		if f.broken {
			lo, hi = lo-4e9, hi+4e9
		}
		t := time.Unix(lo+f.r.Int64N(hi-lo), f.r.Int64N(1e9)).UTC()
		if f.r.IntN(2) == 0 {
			return t.In(time.FixedZone("y", 3600))
		}
		return t
	case 7: // the edges of the years RFC 3339 can write
		edges := []time.Time{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 2, 29, 23, 59, 59, 999999999, time.UTC),
			time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC), time.Date(2000, 2, 29, 12, 0, 0, 100, time.UTC),
			time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 2, 28, 0, 0, 0, 0, time.Local)}
		if f.broken {
			edges = append(edges, time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		return edges[f.r.IntN(len(edges))]
	}
	switch f.r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(f.r.Int64N(4e9), 0).UTC()
	case 2:
		zone := time.FixedZone("x", (f.r.IntN(48)-24)*1800+f.r.IntN(2)*37)
		return time.Unix(f.r.Int64N(4e9), f.r.Int64N(1e9)).In(zone)
	case 3:
		if f.broken {
			return time.Date(10000+f.r.IntN(5), 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}
	return time.Unix(f.r.Int64N(4e9), f.r.Int64N(1e9)).UTC()
}

// TestCallJSONHostile fills calls (and registrations and dialogs) with hostile strings, odd floats, nil
// and empty slices and maps, and compares the two encoders; with NaN,
// infinities and years past 9999 both must refuse the call.
func TestCallJSONHostile(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	refused := 0
	for seed := range n {
		f := &filler{r: rand.New(rand.NewPCG(uint64(seed), 12)), broken: seed%3 == 0}
		var c analyze.Call
		f.fill(reflect.ValueOf(&c).Elem(), 0)
		lang := catalog.English
		if seed%2 == 1 {
			lang = catalog.Dutch
		}
		if !checkCallJSON(t, "seed "+strconv.Itoa(seed), &c, lang) {
			refused++
		}
		// The texts of a call are the catalog's, but test hostile
		// ones too, with every shape of the localized fields.
		lc := &Call{Call: &c}
		f.broken = false
		f.fill(reflect.ValueOf(lc).Elem().FieldByName("Summary"), 1)
		for _, name := range []string{"Explanation", "Background", "Advice", "Findings", "Reasons", "Warnings"} {
			f.fill(reflect.ValueOf(lc).Elem().FieldByName(name), 1)
		}
		want, werr := referenceCallJSON(lc)
		got, ok := AppendCallJSON(nil, lc)
		if (werr == nil) != ok || ok && !bytes.Equal(got, want) {
			t.Fatalf("seed %d: hand encoder %s (ok %v); encoding/json %s (%v); differ at %d", seed, got, ok, want, werr, diffAt(got, want))
		}
	}
	for seed := range n {
		f := &filler{r: rand.New(rand.NewPCG(uint64(seed), 13)), broken: seed%3 == 0}
		var lg Register
		f.fill(reflect.ValueOf(&lg).Elem(), 0)
		if lg.Register == nil { // left to encoding/json: TestCallJSONNil
			lg.Register = &analyze.Register{}
		}
		checkHand(t, "register seed "+strconv.Itoa(seed), &lg, func() ([]byte, bool) { return AppendRegisterJSON(nil, &lg) })
		var ld Dialog
		f.fill(reflect.ValueOf(&ld).Elem(), 0)
		if ld.Dialog == nil {
			ld.Dialog = &analyze.Dialog{}
		}
		checkHand(t, "dialog seed "+strconv.Itoa(seed), &ld, func() ([]byte, bool) { return AppendDialogJSON(nil, &ld) })
	}
	if refused == 0 {
		t.Error("no call was refused: the NaN and year-10000 cases were not reached")
	}
	t.Logf("%d random calls compared, %d refused by both encoders", n, refused)
}

// TestCallJSONNil: the hand encoder leaves a call without its analyzer
// call to encoding/json, which writes only the texts.
func TestCallJSONNil(t *testing.T) {
	if _, ok := AppendCallJSON(nil, &Call{Summary: "x"}); ok {
		t.Error("a call without its analyzer call was encoded by hand")
	}
	if _, ok := AppendRegisterJSON(nil, &Register{Summary: "x"}); ok {
		t.Error("a registration without its analyzer registration was encoded by hand")
	}
	if _, ok := AppendDialogJSON(nil, &Dialog{Summary: "x"}); ok {
		t.Error("a dialog without its analyzer dialog was encoded by hand")
	}
	var buf bytes.Buffer
	s := NewJSONStream(&buf, 2, "en", nil)
	s.handElement(&buf, 0, &Dialog{Summary: "<x>"}, func(b []byte) ([]byte, bool) { return AppendDialogJSON(b, &Dialog{Summary: "<x>"}) })
	if !strings.HasSuffix(buf.String(), "\n    {\"summary\":\"<x>\"}") {
		t.Errorf("the stream's fallback wrote %q", buf.String())
	}
	got, err := MarshalCall(nil)
	if err != nil || string(got) != "null" {
		t.Errorf("MarshalCall(nil) = %s, %v", got, err)
	}
}

func benchCall(b *testing.B) *analyze.Call {
	r := loadReport(b, "sngrep__aaa.pcap", catalog.English)
	var best *analyze.Call
	for _, c := range r.Calls {
		if best == nil || len(c.Messages) > len(best.Messages) {
			best = c
		}
	}
	if best == nil {
		b.Skip("no call")
	}
	return best
}

// BenchmarkCallJSON is one call (the one with most messages of a real
// capture) written as JSONStream writes it: encoding/json against the
// hand encoder, and json.Marshal of the analyzer's call against
// MarshalCall (the store's JSON).
func BenchmarkCallJSON(b *testing.B) {
	c := benchCall(b)
	lc := LocalizeCall(c, catalog.English)
	b.Run("stream/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var w bytes.Buffer
		for b.Loop() {
			w.Reset()
			if err := encodeTo(&w, lc, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream/hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var ok bool
			if buf, ok = AppendCallJSON(buf[:0], lc); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("store/json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store/MarshalCall", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := MarshalCall(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sippCalls are the calls of the two SIPp captures among the shared ones:
// thousands of short calls (answered, and refused with 403), the shape of
// a provider's busy hour that `analyze --json` writes one by one.
func sippCalls(b *testing.B) []*analyze.Call {
	var calls []*analyze.Call
	for _, name := range []string{"goffinet-sip_captures__uac-uas-scenario-sipp.pcapng", "goffinet-sip_captures__branch-scenario-sipp.pcapng"} {
		calls = append(calls, loadReport(b, name, catalog.English).Calls...)
	}
	if len(calls) < 1000 {
		b.Fatalf("%d calls in the SIPp captures", len(calls))
	}
	return calls
}

// BenchmarkCallStream is what `analyze --json` spends on a call after the
// analysis: its texts rendered (LocalizeCall) and its JSON written by a
// JSONStream, in English and Dutch, over the calls of real SIPp captures.
func BenchmarkCallStream(b *testing.B) {
	calls := sippCalls(b)
	for _, lang := range []string{"en", "nl"} {
		b.Run(lang, func(b *testing.B) {
			b.ReportAllocs()
			s := NewJSONStream(io.Discard, analyze.SchemaVersion, lang, nil)
			i := 0
			for b.Loop() {
				s.Call(calls[i%len(calls)])
				i++
			}
			if s.err != nil {
				b.Fatal(s.err)
			}
		})
	}
}

// TestStrEscapes compares the string encoder with encoding/json, with
// and without HTML escaping, on random strings of the bytes that need
// care (quotes, backslashes, control characters, <, > and &, U+2028,
// non-ASCII and invalid UTF-8) next to plain ones, at every position in
// and across the eight-byte words the encoder tests at once.
func TestStrEscapes(t *testing.T) {
	parts := []string{"a", " ", "Z", "~", "\"", "\\", "\x00", "\x1f", "\n", "\t", "<", ">", "&", "\x7f", "é", "€",
		"\u2028", "\u2029", "\xff", "\x80", "\xe2\x80", "\U0001F600"}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 300000 {
		s := randomText(r, parts, 30, 3)
		html := i%2 == 1
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(buf.String(), "\n")
		e := jsonEnc{html: html}
		e.str(s)
		if string(e.b) != want {
			t.Fatalf("str(%q) html %v = %s, want %s", s, html, e.b, want)
		}
	}
}

// FuzzStr compares the string encoder with encoding/json on any bytes,
// with and without HTML escaping.
func FuzzStr(f *testing.F) {
	for _, s := range []string{"", "a", "404 Not Found", "a\x80~~ ~\tZ\t Z~", "é\u2028\xff<&>\"\\", "\x00\x1f\x7f"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, html bool) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		e := jsonEnc{html: html}
		e.str(s)
		if want := strings.TrimSuffix(buf.String(), "\n"); string(e.b) != want {
			t.Errorf("str(%q) html %v = %s, want %s", s, html, e.b, want)
		}
	})
}

// TestTextCache: the stream's cache of escaped texts gives each text its
// own JSON, whatever came before: texts of the same length (which share
// a slot of its memo), texts that need escaping, non-ASCII and invalid
// UTF-8, and enough different ones to fill it and start again.
func TestTextCache(t *testing.T) {
	var texts []string
	base := "127.0.0.1:5060 sent this: "
	for _, tail := range []string{"aaaa", "aaab", "baaa", `a"\b`, "a\nb\t", "<é>", "\xff\xfe\xfd", "\u2028\u2029x", "€€", "\x00\x01\x02\x03"} {
		texts = append(texts, base+tail, strings.Repeat(tail, 12), tail+base)
	}
	r := rand.New(rand.NewPCG(7, 8))
	var c textCache
	for i := range 60000 {
		s := texts[r.IntN(len(texts))]
		if i%3 == 0 { // one seen once: the cache fills and is emptied
			s = base + strconv.Itoa(i) + strings.Repeat("x", r.IntN(200))
		}
		checkCachedText(t, &c, i, s, false)
	}
	if len(c.all) == 0 {
		t.Error("nothing was cached")
	}
}

// checkCachedText writes s through the cache c (as an explanation when
// recent) and fails unless it gives the JSON written without a cache and
// the cache stays within its bounds.
func checkCachedText(t *testing.T, c *textCache, i int, s string, recent bool) {
	t.Helper()
	e := jsonEnc{b: []byte("x"), cache: c}
	if recent {
		e.recentText(s)
	} else {
		e.text(s)
	}
	want := jsonEnc{b: []byte("x")}
	want.str(s)
	if !bytes.Equal(e.b, want.b) {
		t.Fatalf("text %d (%q) = %s, want %s", i, s, e.b, want.b)
	}
	if len(c.js) > textCacheBytes || len(c.all) > textCacheEntries {
		t.Fatalf("the cache holds %d texts, %d bytes", len(c.all), len(c.js))
	}
}

// TestTextCacheSlots: the slots the text cache picks by a text's length
// and two bytes keep the caller's string, and must give each text its own
// JSON: texts that share a slot (the same length, middle and last byte)
// and differ elsewhere, the same text again at another address, texts
// that need escaping (short ones whose JSON is too long for a short slot
// too), and so many long ones that the cache fills and starts again;
// likewise the slots of recentText.
func TestTextCacheSlots(t *testing.T) {
	// Each group shares a slot: only the first byte differs.
	var groups [][]string
	for _, rest := range []string{"27.0.0.1:5060", "nvite from 127.0.0.1:5060 to the provider", "\"q\\", "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10",
		"é€\u2028x", "\xff\xfeab", strings.Repeat("\x1f", 30) + "z", strings.Repeat("long catalog text. ", 40)} {
		var g []string
		for _, first := range []string{"1", "2", "\"", "\n", "<", "\x80"} {
			g = append(g, first+rest)
		}
		groups = append(groups, g)
	}
	r := rand.New(rand.NewPCG(11, 12))
	var c textCache
	for i := range 100000 {
		g := groups[r.IntN(len(groups))]
		s := g[r.IntN(len(g))]
		if r.IntN(2) == 0 {
			s = strings.Clone(s) // the same bytes at another address
		}
		if i%5 == 0 { // a long text seen once: the cache fills and is emptied
			s = strconv.Itoa(i) + strings.Repeat("y", textCacheMin+r.IntN(300)+r.IntN(2)*r.IntN(2*recentJSONMax))
		}
		checkCachedText(t, &c, i, s, i%3 == 1) // i%3 == 1: an explanation, kept in a slot of its own
	}
	for _, r := range c.recent {
		if len(r.js) > recentJSONMax {
			t.Errorf("a recent text's JSON of %d bytes kept", len(r.js))
		}
	}
	hits := 0
	for i := range c.short {
		if c.short[i].n != 0 {
			hits++
		}
	}
	if hits == 0 || len(c.all) == 0 {
		t.Errorf("%d short texts and %d long ones kept", hits, len(c.all))
	}
}

// TestExchangeCache: the JSON the stream keeps for an exchange's fields
// is given only to an exchange with the same values: values of the same
// lengths and last bytes (the same place in the cache) that differ
// elsewhere, the same values at other addresses, values that need
// escaping, retransmissions and not, and values too long to keep; in
// lists where the next exchange is guessed from the one before.
func TestExchangeCache(t *testing.T) {
	srcs := []string{"10.0.0.1:5060", "20.0.0.1:5060", "10.0.0.\"1:5060", "[::1]:5060"}
	labels := []string{"INVITE", "INVITA", "\x00NVITE", "180 Ringing", "183 Ringing", "200 OK", strings.Repeat("L", exchangeKeyMax)}
	files := []string{"", "a.pcap", "b.pcap", "é\u2028.pcap"}
	r := rand.New(rand.NewPCG(13, 14))
	pick := func(ss []string) string {
		s := ss[r.IntN(len(ss))]
		if r.IntN(2) == 0 {
			s = strings.Clone(s)
		}
		return s
	}
	// Lists of exchanges, as calls have them: often the same steps again
	// (the place of the next one is guessed from the one before), with
	// one of them changed, or other steps altogether.
	var c textCache
	var steps []analyze.Exchange
	hits := 0
	for i := range 20000 {
		if i%50 == 0 || len(steps) == 0 {
			steps = steps[:0]
			for range 1 + r.IntN(8) {
				steps = append(steps, analyze.Exchange{Src: pick(srcs), Dst: pick(srcs), Label: pick(labels), Retrans: r.IntN(4) == 0, File: pick(files)})
			}
		}
		xs := slices.Clone(steps)
		for j := range xs {
			xs[j].Frame = i*10 + j
			switch r.IntN(10) {
			case 0:
				xs[j].Label = pick(labels)
			case 1:
				xs[j].Src, xs[j].Dst = xs[j].Dst, xs[j].Src
			case 2:
				xs[j].Retrans = !xs[j].Retrans
			case 3:
				xs[j].File = pick(files)
			case 4:
				xs[j].Src = strings.Clone(xs[j].Src)
			}
		}
		if r.IntN(10) == 0 {
			xs = xs[:r.IntN(len(xs))]
		}
		e := jsonEnc{cache: &c}
		e.exchanges(xs)
		want := jsonEnc{}
		want.exchanges(xs)
		if !bytes.Equal(e.b, want.b) {
			t.Fatalf("list %d %+v = %s, want %s", i, xs, e.b, want.b)
		}
		if c.firstExchange != 0 && c.exchanges[c.firstExchange-1].next != 0 {
			hits++
		}
	}
	if hits == 0 {
		t.Error("no exchange was followed by a kept one")
	}
	for i := range c.exchanges {
		if m := &c.exchanges[i]; len(m.src)+len(m.dst)+len(m.label)+len(m.file) > exchangeKeyMax {
			t.Errorf("an exchange of %d bytes kept", len(m.src)+len(m.dst)+len(m.label)+len(m.file))
		}
	}
}

// TestFindingJSONCache: the JSON the stream keeps for a finding's fields
// before its frames is given only to a finding with the same id,
// severity, fault and values: a value changed, added, removed or moved
// to another name, values nil or empty, parts (never kept), values that
// need escaping, and too many or too long values.
func TestFindingJSONCache(t *testing.T) {
	ids := []string{"number-unknown", "overload", "no-answer", "\"odd\"", "numbeR-unknown"}
	vals := []string{"404", "503", "", "127.0.0.1:5060 (Asterisk)", "a\"b", "\u2028", "bench"}
	names := []string{"code", "from", "to", "phrase", "what"}
	r := rand.New(rand.NewPCG(17, 18))
	var c textCache
	for i := range 100000 {
		f := analyze.Finding{ID: ids[r.IntN(len(ids))], Severity: []string{"error", "warning"}[r.IntN(2)], Fault: []string{"", "remote", "provider"}[r.IntN(3)],
			Frames: []int{i}}
		switch r.IntN(8) {
		case 0: // nil
		case 1:
			f.Values = map[string]string{}
		case 2:
			f.Values = map[string]string{}
			for k := range findingJSONValues + 1 {
				f.Values["k"+strconv.Itoa(k)] = "v"
			}
		case 3:
			f.Values = map[string]string{"long": strings.Repeat("\x01", findingJSONBytes/3)}
		case 4:
			f.Parts = map[string][]analyze.Part{"detail": {{Raw: vals[r.IntN(len(vals))]}}}
			fallthrough
		default:
			f.Values = map[string]string{}
			for _, name := range names {
				if r.IntN(4) > 0 {
					f.Values[name] = vals[r.IntN(2)*r.IntN(len(vals))]
				}
			}
		}
		e := jsonEnc{cache: &c}
		e.finding(&f)
		want := jsonEnc{}
		want.finding(&f)
		if !bytes.Equal(e.b, want.b) {
			t.Fatalf("finding %d %+v = %s, want %s", i, f, e.b, want.b)
		}
	}
	kept := 0
	for _, m := range c.findings {
		if m.js != nil {
			kept++
		}
		if len(m.js) > findingJSONBytes {
			t.Errorf("a finding's JSON of %d bytes kept", len(m.js))
		}
	}
	if kept == 0 {
		t.Error("no finding kept")
	}
}

// TestNoUnsafeStrings: the stream's caches keep callers' strings and take
// the same string (the same address) again for the same bytes, which
// holds because a Go string never changes. A string made with unsafe over
// bytes that are later reused (a read buffer, a mapped window), or bytes
// written over a string's, would break that: no package of sipcause makes
// either.
func TestNoUnsafeStrings(t *testing.T) {
	root := filepath.Join("..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Skip("not in the module's tree")
	}
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		// A string made over bytes (unsafe.String, or a *string cast),
		// or bytes made over a string's (unsafe.Slice of its data); split
		// here, as this file is read too.
		for _, bad := range []string{"unsafe." + "String(", "*(*" + "string)(", "unsafe.Slice(unsafe." + "StringData("} {
			if bytes.Contains(src, []byte(bad)) {
				t.Errorf("%s uses %s: check that the strings it makes are never reused while the JSON stream's text cache may hold them (report/jsonenc.go, textCache)", path, strings.TrimSuffix(bad, "("))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Errorf("only %d Go files found", n)
	}
}

// TestStreamSameBytes writes calls through one JSONStream, whose cache
// of texts and last second carry from call to call, and compares each
// call's bytes with encoding/json: the calls of the shared captures in
// both languages, then hostile ones, with an explanation that is and is
// not the first finding's text.
func TestStreamSameBytes(t *testing.T) {
	var calls []*analyze.Call
	for _, name := range []string{"goffinet-sip_captures__branch-scenario-sipp.pcapng", "sngrep__aaa.pcap",
		"heplify__rtp_rtcp_sip_ipv4_udp.pcap", "goffinet-sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng"} {
		calls = append(calls, loadReport(t, name, catalog.English).Calls...)
	}
	for _, lang := range []string{"en", "nl"} {
		var got bytes.Buffer
		s := NewJSONStream(&got, analyze.SchemaVersion, lang, nil)
		var want bytes.Buffer
		for i, c := range calls {
			s.Call(c)
			js, err := referenceCallJSON(LocalizeCall(c, catalog.Lang(lang)))
			if err != nil {
				t.Fatal(err)
			}
			want.WriteString(map[bool]string{true: "\n    ", false: ",\n    "}[i == 0])
			want.Write(js)
		}
		if err := s.w.flush(); err != nil || s.err != nil {
			t.Fatal(err, s.err)
		}
		g := got.Bytes()[bytes.Index(got.Bytes(), []byte(`"calls": [`))+len(`"calls": [`):]
		if !bytes.Equal(g, want.Bytes()) {
			t.Errorf("%s: the stream differs from encoding/json at %d of %d", lang, diffAt(g, want.Bytes()), len(g))
		}
	}
	// Hostile calls with hostile texts: the hand encoder in the stream
	// against encoding/json, element by element.
	s := NewJSONStream(io.Discard, analyze.SchemaVersion, "en", nil)
	for seed := range 2000 {
		f := &filler{r: rand.New(rand.NewPCG(uint64(seed), 14))}
		var c analyze.Call
		f.fill(reflect.ValueOf(&c).Elem(), 0)
		lc := &Call{Call: &c}
		for _, name := range []string{"Summary", "Explanation", "Background", "Advice", "Findings", "Reasons", "Warnings"} {
			f.fill(reflect.ValueOf(lc).Elem().FieldByName(name), 1)
		}
		if len(lc.Findings) > 0 && seed%2 == 0 {
			lc.Findings[0].Text = lc.Explanation
		}
		if seed%3 == 0 { // a text of the call before, again
			lc.Background = calls[seed%len(calls)].Reason + lc.Summary
		}
		want, werr := referenceCallJSON(lc)
		e := s.encoder(nil)
		e.call(lc.Call, lc)
		got, ok := s.done(&e, nil)
		if (werr == nil) != ok || ok && !bytes.Equal(got, want) {
			t.Fatalf("seed %d: stream encoder %s (ok %v); encoding/json %s (%v); differ at %d", seed, got, ok, want, werr, diffAt(got, want))
		}
	}
}

// TestCallStreamAllocs is the allocation guard of the stream's hot path:
// once its buffer and cache are warm, writing a call's JSON allocates
// nothing, and rendering its texts only the text of each finding (its
// values filled in).
func TestCallStreamAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("loads two captures")
	}
	calls := loadReport(t, "goffinet-sip_captures__branch-scenario-sipp.pcapng", catalog.English).Calls
	calls = append(calls, loadReport(t, "goffinet-sip_captures__uac-uas-scenario-sipp.pcapng", catalog.English).Calls...)
	s := NewJSONStream(io.Discard, analyze.SchemaVersion, "en", nil)
	for _, c := range calls {
		s.Call(c) // warm: the buffer grows, the cache fills
	}
	seen := map[int]bool{}
	for _, c := range calls {
		if seen[c.FinalStatus] {
			continue
		}
		seen[c.FinalStatus] = true
		lc := LocalizeCall(c, catalog.English)
		if n := testing.AllocsPerRun(50, func() {
			e := s.encoder(s.buf[:0])
			e.call(lc.Call, lc)
			s.buf, _ = s.done(&e, s.buf)
		}); n != 0 {
			t.Errorf("call %s (%d): the encoder allocates %v times", c.CallID, c.FinalStatus, n)
		}
		if n := testing.AllocsPerRun(50, func() { s.Call(c) }); n > float64(len(c.Findings)) {
			t.Errorf("call %s (%d, %d findings): Call allocates %v times", c.CallID, c.FinalStatus, len(c.Findings), n)
		}
	}
	if len(seen) < 2 {
		t.Errorf("only final statuses %v", seen)
	}
}

// TestIntJSON compares the encoder's integers with strconv's at the
// edges of each number of digits and at random.
func TestIntJSON(t *testing.T) {
	ns := []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 9999999999, 1e10, 1e10 + 1, -1, -10, math.MaxInt64, math.MinInt64}
	for p := int64(1); p <= 1e12; p *= 10 { // where the number of digits changes
		ns = append(ns, p-1, p, p+1, 2*p-1, 2*p)
	}
	for b := range 40 { // where the number of bits changes
		ns = append(ns, 1<<b-1, 1<<b, 1<<b+1)
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 100000 {
		ns = append(ns, r.Int64N(1<<uint(r.IntN(62)+1))*(1-2*r.Int64N(2)))
	}
	for _, n := range ns {
		e := jsonEnc{}
		e.int(n)
		if want := strconv.FormatInt(n, 10); string(e.b) != want {
			t.Fatalf("int(%d) = %s", n, e.b)
		}
	}
}

// limitWriter takes n bytes, then fails (or, short, takes part of a
// write without saying why).
type limitWriter struct {
	n     int
	short bool
}

var errFull = errors.New("disk full")

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	n := w.n
	w.n = 0
	if w.short {
		return n, nil
	}
	return n, errFull
}

// TestStreamWriteError: a stream whose writer fails (or takes only part
// of a write) stops and says so when it is closed, as a bufio.Writer
// would, wherever the failure falls.
func TestStreamWriteError(t *testing.T) {
	r := loadReport(t, "goffinet-sip_captures__branch-scenario-sipp.pcapng", catalog.English)
	var full bytes.Buffer
	if err := JSON(&full, r); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, outBufSize - 1, outBufSize, full.Len() / 2, full.Len() - 1} {
		for _, short := range []bool{false, true} {
			w := &limitWriter{n: n, short: short}
			err := JSON(w, r)
			want := errFull
			if short {
				want = io.ErrShortWrite
			}
			if !errors.Is(err, want) {
				t.Errorf("writer full after %d bytes (short %v): %v", n, short, err)
			}
		}
	}
	if err := JSON(&limitWriter{n: full.Len()}, r); err != nil {
		t.Errorf("a writer that takes it all: %v", err)
	}
}

// TestStrMapJSON compares maps of values of every size (sorted in place
// up to eight keys, by slices beyond) with encoding/json.
func TestStrMapJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	keys := []string{"code", "from", "to", "what", "phrase", "secs", "n", "a", "A", "é", "\x00", "code2", "<", "", "zz", "aa", "ab"}
	for i := range 5000 {
		m := map[string]string{}
		for range r.IntN(len(keys) + 1) {
			m[keys[r.IntN(len(keys))]] = keys[r.IntN(len(keys))] + strconv.Itoa(i)
		}
		if i%7 == 0 {
			m = nil
		}
		checkHand(t, "map "+strconv.Itoa(i), m, func() ([]byte, bool) {
			e := jsonEnc{}
			e.strMap(m)
			return e.b, !e.bad
		})
	}
}
