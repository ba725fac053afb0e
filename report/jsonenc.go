package report

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/sipcause/sipcause/analyze"
)

// This file writes a call as JSON without reflection: encoding/json spends
// most of its time on a call finding fields by reflection, and a collector
// or a large analysis writes hundreds of thousands of calls. The bytes are
// exactly those encoding/json writes (RFC 8259 text, compact, fields in
// declaration order, omitempty as encoding/json reads it, keys of maps
// sorted); jsonenc_test.go compares the two on every call of the shared
// captures and on calls filled with hostile values. Where encoding/json
// would fail (a NaN, a year past 9999), the encoders report it and the
// callers use encoding/json, which then gives its own error.

// AppendCallJSON appends c as compact JSON to b, byte for byte what an
// encoding/json Encoder with SetEscapeHTML(false) writes (without the
// newline). ok is false when c holds a value encoding/json refuses or a
// shape the encoder does not write (a nil call): b is then returned as
// it was, and the caller should use encoding/json.
func AppendCallJSON(b []byte, c *Call) (_ []byte, ok bool) {
	if c == nil || c.Call == nil {
		return b, false
	}
	e := jsonEnc{b: b}
	e.call(c.Call, c)
	if e.bad {
		return b, false
	}
	return e.b, true
}

// MarshalCall returns c (the analyzer's call, without texts) as
// json.Marshal does, HTML characters escaped, in a fraction of its time:
// what the store keeps as a call's JSON.
func MarshalCall(c *analyze.Call) ([]byte, error) {
	if c != nil {
		bp := marshalBufs.Get().(*[]byte)
		e := jsonEnc{b: (*bp)[:0], html: true}
		e.call(c, nil)
		if !e.bad {
			// A copy of the exact size, as json.Marshal returns: the
			// store may hold it for a while.
			js := append([]byte(nil), e.b...)
			if cap(e.b) <= 1<<20 {
				*bp = e.b
				marshalBufs.Put(bp)
			}
			return js, nil
		}
		marshalBufs.Put(bp)
	}
	return json.Marshal(c)
}

// marshalBufs are the buffers MarshalCall encodes in.
var marshalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// jsonEnc appends JSON to b. bad records a value encoding/json refuses.
type jsonEnc struct {
	b     []byte
	html  bool // escape <, > and & as json.Marshal does
	bad   bool
	clock clockMemo
	cache *textCache // the JSON of texts that repeat from call to call; nil: none kept
}

func (e *jsonEnc) raw(s string) { e.b = append(e.b, s...) }

// int is small enough to be inlined: one call, to appendInt.
func (e *jsonEnc) int(n int64) { e.b = appendInt(e.b, n) }

// appendInt is strconv.AppendInt in base 10.
func appendInt(b []byte, n int64) []byte {
	if uint64(n) < 1e10 {
		return appendUint(b, uint64(n))
	}
	return strconv.AppendInt(b, n, 10)
}

// appendUint is strconv.AppendUint in base 10 for n below 1e10 (frame
// numbers, codes, durations): the digits two at a time, each length of
// number one append of a fixed number of bytes.
func appendUint(b []byte, n uint64) []byte {
	const d = digitPairs
	switch {
	case n < 10:
		return append(b, byte('0'+n))
	case n < 100:
		return append(b, d[2*n], d[2*n+1])
	case n < 1e4:
		h, l := n/100, n%100
		if h < 10 {
			return append(b, byte('0'+h), d[2*l], d[2*l+1])
		}
		return append(b, d[2*h], d[2*h+1], d[2*l], d[2*l+1])
	case n < 1e6:
		h, m := n/1e4, n%1e4
		m1, m2 := m/100, m%100
		if h < 10 {
			return append(b, byte('0'+h), d[2*m1], d[2*m1+1], d[2*m2], d[2*m2+1])
		}
		return append(b, d[2*h], d[2*h+1], d[2*m1], d[2*m1+1], d[2*m2], d[2*m2+1])
	}
	// Seven digits and more: the high part as above, then six digits.
	h, m := n/1e6, n%1e6
	m1, m2 := m/1e4, m%1e4
	m3, m4 := m2/100, m2%100
	b = appendUint(b, h)
	return append(b, d[2*m1], d[2*m1+1], d[2*m3], d[2*m3+1], d[2*m4], d[2*m4+1])
}

func (e *jsonEnc) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.bad = true
		return
	}
	// As encoding/json: ES6 number formatting, exponent without padding.
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b := strconv.AppendFloat(e.b, f, fmt, -1, 64)
	if fmt == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	e.b = b
}

func (e *jsonEnc) time(t time.Time) {
	if t.Location() == time.UTC || zoneOffset(t) == 0 {
		// Capture times are UTC: written here from the Unix seconds
		// (RFC 3339 §5.6, fraction without trailing zeros, as
		// time.RFC3339Nano), a third of the encoder's time otherwise.
		// The messages of a call, and the calls written one after the
		// other, mostly share their second: its text is kept.
		unix, nsec := t.Unix(), t.Nanosecond()
		// Two seconds are kept: a call that ends in the next second
		// is followed by one that starts in the one before.
		ck := &e.clock
		sec := &ck.sec[0]
		if !sec.ok || sec.unix != unix {
			if sec = &ck.sec[1]; !sec.ok || sec.unix != unix {
				// 719468 days from 0000-03-01 to 1970-01-01; 3652365 from
				// 0000-03-01 to 10000-01-01, where RFC 3339's years end.
				days, daySec := floorDivMod(unix, 86400)
				if days+719468 < 0 || days+719468 >= 3652365 {
					goto slow
				}
				ck.older ^= 1
				sec = &ck.sec[ck.older^1]
				sec.text[0] = '"'
				appendUTC(sec.text[1:1], days, daySec)
				sec.unix, sec.ok = unix, true
			}
		}
		// The second and the fraction are stored in place, at fixed
		// offsets, into room made once: no copy of a length known only
		// at run time (each a call of memmove).
		b := e.b
		if cap(b)-len(b) < timeJSONMax {
			b = slices.Grow(b, timeJSONMax)
		}
		n := len(b)
		b = b[:n+timeJSONMax]
		*(*[len(sec.text)]byte)(b[n:]) = sec.text
		k := putFraction((*[timeJSONMax - len(sec.text)]byte)(b[n+len(sec.text):]), nsec)
		e.b = b[:n+len(sec.text)+k]
		return
	}
slow:
	e.b = append(e.b, '"')
	b, err := t.AppendText(e.b)
	if err != nil {
		e.bad = true
		return
	}
	e.b = append(b, '"')
}

// timeJSONMax is the length of the longest UTC time the encoder writes
// itself: "2006-01-02T15:04:05.999999999Z" with its quotes.
const timeJSONMax = 32

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

// clockMemo is the text of the last two seconds an encoder wrote.
type clockMemo struct {
	sec   [2]clockSecond
	older uint8 // the index of the one written first
}

type clockSecond struct {
	unix int64
	ok   bool
	text [20]byte // "2006-01-02T15:04:05 (with the opening quote)
}

// plainFrom returns the index, from i on, of the first byte of s that
// encoding/json does not write as it is (a control character, a quote, a
// backslash, <, > or & with html, any byte of a non-ASCII character), or
// len(s). Eight bytes are tested at a time in one word (SWAR): most of a
// call's text needs no escaping. Each test below flags the lowest byte
// that matches exactly (a borrow only spoils the flags above it), so the
// lowest flag of the word is the first byte to look at.
func plainFrom(s string, i int, html bool) int {
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if m := escapeFlags(x, html); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i < len(s) && len(s) >= 8 {
		// The last word, overlapping bytes before i, which a caller
		// may have stopped at (a byte that matches could flag the one
		// above it by a borrow): they are read as plain 'a's.
		j := len(s) - 8
		w := s[j:]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		before := uint64(1)<<(8*(i-j)) - 1
		x = x&^before | 0x6161616161616161&before
		if m := escapeFlags(x, html); m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
		return len(s)
	}
	plain := &plainBytes[0]
	if html {
		plain = &plainBytes[1]
	}
	for ; i < len(s) && plain[s[i]]; i++ {
	}
	return i
}

// plainBytes are the bytes encoding/json writes as they are, without and
// with HTML escaping.
var plainBytes = func() (t [2][256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[0][c] = c != '"' && c != '\\'
		t[1][c] = t[0][c] && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// escapeFlags sets the high bit of the bytes of x (eight bytes of a
// string, the first lowest) that plainFrom stops at.
func escapeFlags(x uint64, html bool) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, bs := x^(lo*'"'), x^(lo*'\\')
	m := x | (x-lo*0x20)&^x | (q-lo)&^q | (bs-lo)&^bs
	if html {
		lt, gt, amp := x^(lo*'<'), x^(lo*'>'), x^(lo*'&')
		m |= (lt-lo)&^lt | (gt-lo)&^gt | (amp-lo)&^amp
	}
	return m & hi
}

// floorDivMod divides rounding down, so that times before 1970 get the
// day they are in.
func floorDivMod(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	return q, r
}

// appendUTC writes the UTC date and time of days since 1970-01-01 and sec
// seconds into the day as time.RFC3339 does, without the zone: 19 bytes
// (years 0 to 9999 only: the caller checks). The civil date is Howard
// Hinnant's days_from_civil inverse.
func appendUTC(b []byte, days, sec int64) []byte {
	z := days + 719468 // days since 0000-03-01, not negative for year >= 0
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+sec/36000), byte('0'+sec/3600%10), ':', byte('0'+sec/60%60/10), byte('0'+sec/60%10), ':',
		byte('0'+sec%60/10), byte('0'+sec%10))
}

// putFraction writes the nanoseconds of a time as time.RFC3339Nano does
// (nothing for none, else a dot and the digits without trailing zeros),
// then the zone Z and the closing quote, at the start of f; it returns
// how many bytes it wrote. The digits go three at a time from a table,
// by two stores of a word: no loop over them.
func putFraction(f *[12]byte, nsec int) int {
	if nsec <= 0 || nsec >= 1e9 { // time.Time's nanoseconds are in [0, 1e9)
		f[0], f[1] = 'Z', '"'
		return 2
	}
	ns := uint32(nsec)
	ms, us := ns/1e6, ns/1e3
	us, ns = us-ms*1e3, ns-us*1e3
	binary.LittleEndian.PutUint64(f[0:8], '.'|uint64(digits3[ms])<<8|uint64(digits3[us])<<32)
	binary.LittleEndian.PutUint32(f[7:11], digits3[ns])
	n := 10
	if ns == 0 { // whole microseconds, as pcap has them
		n = 7
		if us == 0 {
			n = 4
		}
	}
	for f[n-1] == '0' { // at most two: the last group is not 000
		n--
	}
	f[n], f[n+1] = 'Z', '"'
	return n + 2
}

// digits3 holds the three digits of 000 to 999, the first in the lowest
// byte.
var digits3 = func() (t [1000]uint32) {
	for i := range t {
		t[i] = uint32('0'+i/100) | uint32('0'+i/10%10)<<8 | uint32('0'+i%10)<<16
	}
	return t
}()

// digitPairs holds the two digits of 00 to 99.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

const hexDigits = "0123456789abcdef"

// str writes s as a JSON string the way encoding/json does: control
// characters as \u00XX (except \b \f \n \r \t), invalid UTF-8 as \ufffd,
// U+2028 and U+2029 escaped, and <, >, & escaped when html is set.
func (e *jsonEnc) str(s string) {
	dst := append(e.b, '"')
	i := plainFrom(s, 0, e.html)
	if i == len(s) {
		dst = append(dst, s...)
		e.b = append(dst, '"')
		return
	}
	start := 0
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // control characters, and <, > and & with html
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				start = i + 1
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
				start = i + size
			}
			i += size
		}
		i = plainFrom(s, i, e.html)
	}
	dst = append(dst, s[start:]...)
	e.b = append(dst, '"')
}

func (e *jsonEnc) strs(ss []string) { e.list(ss, (*jsonEnc).str) }

// texts is strs for texts that repeat from call to call.
func (e *jsonEnc) texts(ss []string) { e.list(ss, (*jsonEnc).text) }

// list writes ss as a JSON array, each element with one.
func (e *jsonEnc) list(ss []string, one func(*jsonEnc, string)) {
	if ss == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i, s := range ss {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		one(e, s)
	}
	e.b = append(e.b, ']')
}

func (e *jsonEnc) ints(ns []int) {
	if ns == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i, n := range ns {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.int(int64(n))
	}
	e.b = append(e.b, ']')
}

// sortedKeys returns the keys of m in the order encoding/json writes
// them. A map of one key, the common case, needs no sorting.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		sort.Strings(keys)
	}
	return keys
}

func (e *jsonEnc) strMap(m map[string]string) {
	if m == nil {
		e.raw("null")
		return
	}
	// The pairs, sorted by key: no second lookup of each.
	var buf [8][2]string
	kvs := buf[:0]
	for k, v := range m {
		kvs = append(kvs, [2]string{k, v})
	}
	if len(kvs) <= len(buf) {
		// A finding has a handful of values: an insertion sort.
		for i := 1; i < len(kvs); i++ {
			for j := i; j > 0 && kvs[j][0] < kvs[j-1][0]; j-- {
				kvs[j], kvs[j-1] = kvs[j-1], kvs[j]
			}
		}
	} else {
		slices.SortFunc(kvs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	}
	e.b = append(e.b, '{')
	for i := range kvs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(kvs[i][0])
		e.b = append(e.b, ':')
		e.str(kvs[i][1])
	}
	e.b = append(e.b, '}')
}

// call writes c; with lc (the call with its texts) the fields lc
// replaces (findings, reasons, warnings) are written from lc, after the
// call's own, where encoding/json puts the fields of the outer struct.
func (e *jsonEnc) call(c *analyze.Call, lc *Call) {
	e.raw(`{"call_id":`)
	e.str(c.CallID)
	e.raw(`,"from":`)
	e.str(c.From)
	e.raw(`,"to":`)
	e.str(c.To)
	e.raw(`,"caller":`)
	e.str(c.Caller)
	e.raw(`,"callee":`)
	e.str(c.Callee)
	if c.CallerName != "" {
		e.raw(`,"caller_name":`)
		e.str(c.CallerName)
	}
	if c.Asserted != "" {
		e.raw(`,"asserted_identity":`)
		e.str(c.Asserted)
	}
	e.raw(`,"src":`)
	e.text(c.Src)
	e.raw(`,"dst":`)
	e.text(c.Dst)
	e.raw(`,"start":`)
	e.time(c.Start)
	e.raw(`,"end":`)
	e.time(c.End)
	e.raw(`,"times":`)
	e.times(&c.Times)
	e.raw(`,"final_status":`)
	e.int(int64(c.FinalStatus))
	e.raw(`,"reason":`)
	e.text(c.Reason)
	e.raw(`,"registered_reason":`)
	e.text(c.Registered)
	e.raw(`,"outcome":`)
	e.str(c.Outcome)
	e.raw(`,"fault":`)
	e.str(c.Fault)
	if r := c.FinalFrom; r != nil {
		e.raw(`,"final_from":{"addr":`)
		e.text(r.Addr)
		if r.Agent != "" {
			e.raw(`,"agent":`)
			e.text(r.Agent)
		}
		e.raw(`,"role":`)
		e.str(r.Role)
		e.raw(`,"hop":`)
		e.int(int64(r.Hop))
		e.b = append(e.b, '}')
	}
	if c.EndedBy != "" {
		e.raw(`,"ended_by":`)
		e.str(c.EndedBy)
	}
	if c.EndReason != "" {
		e.raw(`,"end_reason":`)
		e.str(c.EndReason)
	}
	e.raw(`,"duration_ms":`)
	e.int(c.DurationMS)
	e.raw(`,"post_dial_delay_ms":`)
	e.int(c.PDDMS)
	e.raw(`,"direction":`)
	e.str(c.Direction)
	e.raw(`,"early_dialogs":`)
	e.int(int64(c.EarlyDialogs))
	if lc == nil {
		e.raw(`,"findings":`)
		e.findings(c.Findings)
	}
	if c.Audio != nil {
		e.raw(`,"audio":`)
		e.audio(c.Audio)
	}
	if len(c.Media) > 0 {
		e.raw(`,"media":[`)
		for i, m := range c.Media {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.stream(m)
		}
		e.b = append(e.b, ']')
	}
	if lc == nil {
		e.decodedList(`,"reasons":`, c.Reasons)
		e.decodedList(`,"warnings":`, c.Warnings)
	}
	if len(c.Linked) > 0 {
		e.raw(`,"linked":`)
		e.strs(c.Linked)
	}
	if c.LegOf != "" {
		e.raw(`,"leg_of":`)
		e.str(c.LegOf)
	}
	e.raw(`,"frames":`)
	e.ints(c.Frames)
	e.raw(`,"messages":`)
	e.exchanges(c.Messages)
	if c.File != "" {
		e.raw(`,"file":`)
		e.text(c.File)
	}
	if lc != nil {
		e.raw(`,"summary":`)
		e.text(lc.Summary)
		e.raw(`,"explanation":`)
		// The explanation is most often the text of the first finding,
		// written again below: its JSON is copied from here.
		expl := len(e.b)
		e.recentText(lc.Explanation)
		expl2 := len(e.b)
		if lc.Background != "" {
			e.raw(`,"background":`)
			e.text(lc.Background)
		}
		e.raw(`,"advice":`)
		e.texts(lc.Advice)
		e.raw(`,"findings":`)
		e.localFindings(lc.Findings, lc.Explanation, expl, expl2)
		e.localDecodedList(`,"reasons":`, lc.Reasons)
		e.localDecodedList(`,"warnings":`, lc.Warnings)
	}
	e.b = append(e.b, '}')
}

func (e *jsonEnc) optTime(name string, t *time.Time) {
	if t != nil {
		e.raw(name)
		e.time(*t)
	}
}

func (e *jsonEnc) times(t *analyze.CallTimes) {
	e.raw(`{"invite":`)
	e.time(t.Invite)
	e.optTime(`,"first_provisional":`, t.FirstProvisional)
	e.optTime(`,"ringing":`, t.Ringing)
	e.optTime(`,"answer":`, t.Answer)
	e.optTime(`,"final":`, t.Final)
	e.optTime(`,"end":`, t.End)
	e.b = append(e.b, '}')
}

// finding writes the fields of an analyzer finding, without the braces.
func (e *jsonEnc) finding(f *analyze.Finding) {
	if !e.cachedFindingHead(f) {
		e.findingHead(f)
	}
	e.raw(`,"frames":`)
	e.ints(f.Frames)
}

// findingHead writes the fields of f before its frames.
func (e *jsonEnc) findingHead(f *analyze.Finding) {
	e.raw(`"id":`)
	e.str(f.ID)
	e.raw(`,"severity":`)
	e.str(f.Severity)
	if f.Fault != "" {
		e.raw(`,"fault":`)
		e.str(f.Fault)
	}
	e.raw(`,"values":`)
	e.strMap(f.Values)
	if len(f.Parts) > 0 {
		e.raw(`,"parts":{`)
		var buf [8]string
		for i, k := range sortedKeys(f.Parts, buf[:0]) {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.str(k)
			e.b = append(e.b, ':')
			e.parts(f.Parts[k])
		}
		e.b = append(e.b, '}')
	}
}

// cachedFindingHead writes findingHead's JSON for f from the cache when
// the finding written last with f's id had the same severity, fault and
// values (the findings of a large capture repeat: the same code from the
// same host), and reports whether it did; otherwise it writes it and
// keeps it for the next. A finding with parts, many values or long ones
// is not kept.
func (e *jsonEnc) cachedFindingHead(f *analyze.Finding) bool {
	c := e.cache
	if c == nil || e.html || len(f.Parts) > 0 || len(f.Values) > findingJSONValues || f.ID == "" {
		return false
	}
	m := &c.findings[findingSlot(f.ID, len(c.findings))]
	if m.js != nil && m.id == f.ID && m.severity == f.Severity && m.fault == f.Fault && (f.Values == nil) == m.nilValues && sameValues(m.kv, f.Values) {
		e.b = append(e.b, m.js...)
		return true
	}
	start := len(e.b)
	e.findingHead(f)
	m.id, m.severity, m.fault, m.nilValues, m.kv = f.ID, f.Severity, f.Fault, f.Values == nil, m.kv[:0]
	for k, v := range f.Values {
		m.kv = append(m.kv, [2]string{k, v})
	}
	if js := e.b[start:]; len(js) <= findingJSONBytes {
		m.js = append(m.js[:0], js...)
	} else {
		clear(m.kv) // keeps no long value
		m.js, m.kv = nil, m.kv[:0]
	}
	return true
}

// findingJSON is the JSON of a finding's fields before its frames, with
// the values it was written from: the strings themselves, as in
// exchangeJSON.
type findingJSON struct {
	id, severity, fault string
	kv                  [][2]string // the finding's values
	nilValues           bool        // null rather than {}
	js                  []byte      // nil: none
}

const (
	findingJSONValues = 12
	findingJSONBytes  = 2048 // the JSON kept; the values it holds are shorter
)

func (e *jsonEnc) parts(ps []analyze.Part) {
	if ps == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i := range ps {
		p := &ps[i]
		if i > 0 {
			e.b = append(e.b, ',')
		}
		// Every field is omitempty: the comma goes before all but the
		// first one written.
		e.b = append(e.b, '{')
		sep := ""
		if p.Phrase != "" {
			e.raw(`"phrase":`)
			e.str(p.Phrase)
			sep = ","
		}
		if len(p.Values) > 0 {
			e.raw(sep + `"values":`)
			e.strMap(p.Values)
			sep = ","
		}
		if p.Raw != "" {
			e.raw(sep + `"raw":`)
			e.str(p.Raw)
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *jsonEnc) findings(fs []analyze.Finding) {
	if fs == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i := range fs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, '{')
		e.finding(&fs[i])
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

// localFindings writes fs; the JSON of a text equal to same is copied
// from e.b[from:to], where it was written already.
func (e *jsonEnc) localFindings(fs []Finding, same string, from, to int) {
	if fs == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i := range fs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, '{')
		e.finding(&fs[i].Finding)
		e.raw(`,"title":`)
		e.text(fs[i].Title)
		e.raw(`,"text":`)
		if fs[i].Text == same && to > from {
			e.b = append(e.b, e.b[from:to]...)
		} else {
			e.str(fs[i].Text)
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *jsonEnc) decoded(d *analyze.Decoded) {
	e.raw(`{"value":`)
	e.str(d.Value)
	e.raw(`,"frame":`)
	e.int(int64(d.Frame))
	e.raw(`,"from":`)
	e.str(d.From)
}

// decodedList writes an omitempty list of Reason or Warning values.
func (e *jsonEnc) decodedList(name string, ds []analyze.Decoded) {
	if len(ds) == 0 {
		return
	}
	e.raw(name)
	e.b = append(e.b, '[')
	for i := range ds {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.decoded(&ds[i])
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *jsonEnc) localDecodedList(name string, ds []Decoded) {
	if len(ds) == 0 {
		return
	}
	e.raw(name)
	e.b = append(e.b, '[')
	for i := range ds {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.decoded(&ds[i].Decoded)
		e.raw(`,"meaning":`)
		e.text(ds[i].Meaning)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *jsonEnc) exchanges(xs []analyze.Exchange) {
	if xs == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	// The place in the cache of the exchange that followed the one
	// before, last time (the first: of the last list): calls go through
	// the same few steps.
	var none uint8
	next := &none
	if e.cache != nil {
		next = &e.cache.firstExchange
	}
	for i := range xs {
		x := &xs[i]
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.raw(`{"frame":`)
		e.int(int64(x.Frame))
		e.raw(`,"time":`)
		e.time(x.Time)
		if k := e.exchangeRest(x, next); k != 0 {
			next = &e.cache.exchanges[k-1].next
		} else {
			next = &none
		}
	}
	e.b = append(e.b, ']')
}

// exchangeRest writes the fields of x after its time. They repeat from
// call to call (the same hosts, answers and file): with a stream's cache,
// their JSON is kept by their values. The place *guess names (1 + its
// index; 0: none) is tried first, then the places x hashes to, and *guess
// is set to the one that holds x. It returns that one (1 + its index), or
// 0 when x is not kept.
func (e *jsonEnc) exchangeRest(x *analyze.Exchange, guess *uint8) uint8 {
	var slot uint
	c := e.cache
	if c != nil && !e.html && len(x.Src)+len(x.Dst)+len(x.Label)+len(x.File) <= exchangeKeyMax {
		if g := *guess; g != 0 {
			if m := &c.exchanges[g-1]; m.is(x) {
				e.b = append(e.b, m.js...)
				return g
			}
		}
		h := len(x.Src)*5 + len(x.Label)*31 + 7*int(lastByte(x.Label)) + 3*int(lastByte(x.Src)) + int(lastByte(x.Dst))
		if x.Retrans {
			h++
		}
		// Two places for each hash, so that two exchanges of a call
		// that hash alike do not push each other out.
		set := uint(h) % uint(len(c.exchanges)/2) * 2
		for way := range uint(2) {
			if m := &c.exchanges[set+way]; m.is(x) {
				c.recentWay[set/2] = uint8(way)
				e.b = append(e.b, m.js...)
				*guess = uint8(set + way + 1)
				return *guess
			}
		}
		way := 1 - uint(c.recentWay[set/2])
		c.recentWay[set/2] = uint8(way)
		slot = set + way + 1
	}
	start := len(e.b)
	e.raw(`,"src":`)
	e.text(x.Src)
	e.raw(`,"dst":`)
	e.text(x.Dst)
	e.raw(`,"label":`)
	e.text(x.Label)
	if x.Retrans {
		e.raw(`,"retransmission":true`)
	}
	if x.File != "" {
		e.raw(`,"file":`)
		e.text(x.File)
	}
	e.b = append(e.b, '}')
	if slot == 0 {
		return 0
	}
	c.exchanges[slot-1].keep(x, e.b[start:])
	*guess = uint8(slot)
	return uint8(slot)
}

// sameString reports whether a == b, at once when they are the same
// string: the same bytes at the same address, which the caches find most
// often (the analyzer's addresses, labels and file name; the catalog's
// texts). A Go string never changes, so the address tells; else the bytes
// are compared.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

func lastByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[len(s)-1]
}

// exchangeJSON is the JSON of the fields of an exchange after its time,
// with the values it was written from. The values are the exchange's own
// strings, not copies: the analyzer gives the same few addresses, labels
// and file name to every message, so that comparing them mostly finds the
// same string (the same bytes at the same address, which == tells at
// once) rather than comparing the bytes of two copies. A Go string never
// changes, so while one is kept here its bytes cannot become others; the
// 64 kept are short (exchangeKeyMax) and mostly the analyzer's own.
type exchangeJSON struct {
	src, dst, label, file string
	retrans               bool
	js                    []byte
	next                  uint8 // 1 + the place of the exchange that followed this one last time; 0: none
}

// exchangeKeyMax bounds the values kept for an exchange (and so its JSON,
// at most six times as long).
const exchangeKeyMax = 512

func (m *exchangeJSON) is(x *analyze.Exchange) bool {
	// The label first: the other kind of message that shares the place
	// mostly has a label of another length, told without a call.
	return m.js != nil && m.retrans == x.Retrans && sameString(m.label, x.Label) && sameString(m.src, x.Src) && sameString(m.dst, x.Dst) && sameString(m.file, x.File)
}

func (m *exchangeJSON) keep(x *analyze.Exchange, js []byte) {
	m.next = 0 // another exchange: what followed the one before does not
	m.src, m.dst, m.label, m.file = x.Src, x.Dst, x.Label, x.File
	m.retrans = x.Retrans
	m.js = append(m.js[:0], js...)
}

func (e *jsonEnc) optFloat(name string, f *float64) {
	if f != nil {
		e.raw(name)
		e.float(*f)
	}
}

func (e *jsonEnc) audio(a *analyze.Audio) {
	e.raw(`{"verdict":`)
	e.str(a.Verdict)
	if a.Direction != "" {
		e.raw(`,"direction":`)
		e.str(a.Direction)
	}
	e.optFloat(`,"mos":`, a.MOS)
	e.optFloat(`,"worst_mos":`, a.WorstMOS)
	e.optFloat(`,"worst_loss_percent":`, a.WorstLossPercent)
	e.optFloat(`,"worst_max_jitter_ms":`, a.WorstJitterMS)
	if a.WorstDirection != "" {
		e.raw(`,"worst_direction":`)
		e.str(a.WorstDirection)
	}
	e.b = append(e.b, '}')
}

func (e *jsonEnc) optStr(name, s string) {
	if s != "" {
		e.raw(name)
		e.str(s)
	}
}

// stream writes one RTP stream (RFC 3550) with its figures.
func (e *jsonEnc) stream(m *analyze.MediaStream) {
	if m == nil {
		e.raw("null")
		return
	}
	e.raw(`{"number":`)
	e.int(int64(m.Number))
	e.raw(`,"call_id":`)
	e.str(m.CallID)
	e.raw(`,"src":`)
	e.str(m.Src)
	e.raw(`,"dst":`)
	e.str(m.Dst)
	e.optStr(`,"announced":`, m.Announced)
	e.raw(`,"found":`)
	e.str(m.Found)
	e.raw(`,"direction":`)
	e.str(m.Direction)
	e.raw(`,"ssrc":`)
	e.b = strconv.AppendUint(e.b, uint64(m.SSRC), 10)
	e.raw(`,"payload_type":`)
	e.int(int64(m.PayloadType))
	e.raw(`,"codec":`)
	e.str(m.Codec)
	e.raw(`,"clock_rate":`)
	e.int(int64(m.ClockRate))
	e.raw(`,"packets":`)
	e.int(int64(m.Packets))
	e.raw(`,"expected":`)
	e.int(int64(m.Expected))
	e.raw(`,"lost":`)
	e.int(int64(m.Lost))
	e.raw(`,"loss_percent":`)
	e.float(m.LossPercent)
	e.raw(`,"duplicates":`)
	e.int(int64(m.Duplicates))
	e.raw(`,"out_of_order":`)
	e.int(int64(m.OutOfOrder))
	e.raw(`,"max_delta_ms":`)
	e.float(m.MaxDeltaMS)
	e.raw(`,"mean_delta_ms":`)
	e.float(m.MeanDeltaMS)
	e.raw(`,"max_jitter_ms":`)
	e.float(m.MaxJitterMS)
	e.raw(`,"mean_jitter_ms":`)
	e.float(m.MeanJitterMS)
	e.raw(`,"mos":`)
	e.float(m.MOS)
	e.raw(`,"start":`)
	e.time(m.Start)
	e.raw(`,"end":`)
	e.time(m.End)
	e.raw(`,"duration_ms":`)
	e.int(m.DurationMS)
	e.raw(`,"markers":`)
	e.int(int64(m.Markers))
	e.raw(`,"payload_changes":`)
	e.int(int64(m.PTChanges))
	e.raw(`,"comfort_noise":`)
	e.int(int64(m.ComfortNoise))
	e.optStr(`,"dtmf":`, m.DTMF)
	e.optStr(`,"fax_tones":`, m.FaxTones)
	e.optStr(`,"srtp":`, m.Secure)
	if m.Unreachable != 0 {
		e.raw(`,"icmp_unreachable":`)
		e.int(int64(m.Unreachable))
	}
	e.raw(`,"first_frame":`)
	e.int(int64(m.FirstFrame))
	e.raw(`,"last_frame":`)
	e.int(int64(m.LastFrame))
	if r := m.RTCP; r != nil {
		e.raw(`,"rtcp":{"reports":`)
		e.int(int64(r.Reports))
		e.raw(`,"fraction_lost_percent":`)
		e.float(r.FractionLost)
		e.raw(`,"cumulative_lost":`)
		e.int(int64(r.CumulativeLost))
		e.raw(`,"jitter_ms":`)
		e.float(r.JitterMS)
		e.optFloat(`,"rtt_ms":`, r.RTTMS)
		e.optFloat(`,"xr_mos_lq":`, r.XRMOS)
		e.optFloat(`,"xr_loss_percent":`, r.XRLossPercent)
		e.b = append(e.b, '}')
	}
	e.raw(`,"bucket_ms":`)
	e.int(m.BucketMS)
	e.raw(`,"timeline":`)
	if m.Timeline == nil {
		e.raw("null")
	} else {
		e.b = append(e.b, '[')
		for i := range m.Timeline {
			t := &m.Timeline[i]
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.raw(`{"packets":`)
			e.int(int64(t.Packets))
			e.raw(`,"lost":`)
			e.int(int64(t.Lost))
			e.raw(`,"max_jitter_ms":`)
			e.float(t.MaxJitterMS)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.optStr(`,"file":`, m.File)
	e.b = append(e.b, '}')
}

// AppendRegisterJSON is AppendCallJSON for a registration (RFC 3261 §10)
// with its texts.
func AppendRegisterJSON(b []byte, r *Register) (_ []byte, ok bool) {
	if r == nil || r.Register == nil {
		return b, false
	}
	e := jsonEnc{b: b}
	e.register(r)
	if e.bad {
		return b, false
	}
	return e.b, true
}

func (e *jsonEnc) register(r *Register) {
	if r.Register == nil {
		e.bad = true
		return
	}
	g := r.Register
	e.raw(`{"call_id":`)
	e.str(g.CallID)
	e.raw(`,"aor":`)
	e.str(g.AOR)
	e.raw(`,"contact":`)
	e.str(g.Contact)
	e.raw(`,"src":`)
	e.str(g.Src)
	e.raw(`,"dst":`)
	e.str(g.Dst)
	e.raw(`,"start":`)
	e.time(g.Start)
	e.raw(`,"end":`)
	e.time(g.End)
	e.raw(`,"final_status":`)
	e.int(int64(g.FinalStatus))
	e.raw(`,"reason":`)
	e.str(g.Reason)
	e.raw(`,"outcome":`)
	e.str(g.Outcome)
	e.raw(`,"expires":`)
	e.int(int64(g.Expires))
	e.raw(`,"fault":`)
	e.str(g.Fault)
	// findings: the localized ones below replace the analyzer's.
	e.raw(`,"attempts":`)
	e.int(int64(g.Attempts))
	e.raw(`,"frames":`)
	e.ints(g.Frames)
	e.raw(`,"messages":`)
	e.exchanges(g.Messages)
	e.raw(`,"summary":`)
	e.text(r.Summary)
	e.raw(`,"advice":`)
	e.texts(r.Advice)
	e.raw(`,"findings":`)
	e.localFindings(r.Findings, "", 0, 0)
	e.b = append(e.b, '}')
}

// AppendDialogJSON is AppendCallJSON for a non-INVITE exchange with its
// summary.
func AppendDialogJSON(b []byte, ld *Dialog) (_ []byte, ok bool) {
	if ld == nil || ld.Dialog == nil {
		return b, false
	}
	e := jsonEnc{b: b}
	e.dialog(ld)
	if e.bad {
		return b, false
	}
	return e.b, true
}

func (e *jsonEnc) dialog(ld *Dialog) {
	if ld.Dialog == nil {
		e.bad = true
		return
	}
	d := ld.Dialog
	e.raw(`{"call_id":`)
	e.str(d.CallID)
	e.raw(`,"method":`)
	e.str(d.Method)
	e.raw(`,"src":`)
	e.str(d.Src)
	e.raw(`,"dst":`)
	e.str(d.Dst)
	e.raw(`,"start":`)
	e.time(d.Start)
	e.raw(`,"requests":`)
	e.int(int64(d.Requests))
	e.raw(`,"final_status":`)
	e.int(int64(d.FinalStatus))
	e.raw(`,"reason":`)
	e.str(d.Reason)
	e.raw(`,"outcome":`)
	e.str(d.Outcome)
	e.raw(`,"fault":`)
	e.str(d.Fault)
	e.optStr(`,"meaning":`, d.Meaning)
	e.raw(`,"frames":`)
	e.ints(d.Frames)
	e.raw(`,"summary":`)
	e.text(ld.Summary)
	e.b = append(e.b, '}')
}

// textCache keeps the JSON of the texts that repeat from call to call
// (the catalog's explanations and advice, a file name, the addresses of
// a few hosts), so that a stream escapes each once and then copies it.
// Long texts are kept by the text itself (a copy), so that a lookup can
// only give a text's own JSON; keys and JSON together stay under about
// 2*textCacheBytes: when full, it starts again empty. Before that lookup,
// and for short texts instead of it, a slot picked by a hash of the
// length and two bytes holds the string written last there: the caller's
// own string, so that the same string again (the catalog's texts, the
// analyzer's addresses and file name) is known by its address, as == does
// before it compares bytes. A Go string never changes, so a string kept
// here cannot come to hold other bytes. What the slots keep is bounded by
// their number (128 long texts, each of textCacheMax bytes at most, and
// 64 short ones; recentText's 16, with JSON of recentJSONMax bytes at
// most); the 32 findings take at most findingJSONBytes of JSON each, and
// the exchanges at most 64 times exchangeKeyMax and six times as much
// JSON.
type textCache struct {
	at   map[string]int32 // text -> its index in all
	all  []cachedText
	js   []byte
	last [128]lastText // the long text used last, by a hash of its length and two bytes

	short [64]shortText // the short text written last, by the same hash

	recent [16]recentJSON // texts that are seldom the same twice (explanations), by the same hash

	findings [32]findingJSON // the finding written last, by a hash of its id

	exchanges     [64]exchangeJSON // by a hash of the lengths and last bytes of their values, two a hash
	recentWay     [32]uint8        // of the two, the one used last
	firstExchange uint8            // 1 + the place of the first exchange of the last list; 0: none
}

type cachedText struct {
	s        string
	from, to int32 // its JSON: js[from:to]
}

// lastText is the long text written last at its place in textCache.last:
// the caller's string and the place of its JSON in textCache.js (to is 0
// for none).
type lastText struct {
	s        string
	from, to int32
}

// shortText is a text under textCacheMin bytes with its JSON (n bytes of
// js; n is 0 for none), copied whole: a fixed length is a few moves.
type shortText struct {
	s  string
	n  uint8
	js [48]byte
}

// recentJSON is a text written by recentText with its JSON, in a buffer
// of its own that the next text there reuses.
type recentJSON struct {
	s  string
	js []byte
}

const (
	textCacheBytes   = 256 << 10
	textCacheEntries = 4096
	// textCacheMin is the length from which a text is looked up by its
	// bytes when it is not the one in its slot: below it, escaping it
	// again costs less than the lookup.
	textCacheMin = 24
	// textCacheMax is the length of the longest text kept (a catalog
	// text is about a kilobyte).
	textCacheMax = 4096
)

// text writes s as str does; the texts at the places that take it
// repeat across calls.
func (e *jsonEnc) text(s string) {
	c := e.cache
	if c == nil || e.html || s == "" || len(s) > textCacheMax {
		e.str(s)
		return
	}
	// Without hashing: the text written last with this length and these
	// middle and last bytes (the file name of every message, the same
	// advice as the call before).
	h := uint(len(s) + 7*int(s[len(s)/2]) + 3*int(s[len(s)-1]))
	if len(s) < textCacheMin {
		t := &c.short[h%uint(len(c.short))]
		if t.n != 0 && sameString(t.s, s) {
			b := e.b
			if cap(b)-len(b) < len(t.js) {
				b = slices.Grow(b, len(t.js))
			}
			n := len(b)
			*(*[len(t.js)]byte)(b[n : n+len(t.js)]) = t.js
			e.b = b[:n+int(t.n)]
			return
		}
		start := len(e.b)
		e.str(s)
		if js := e.b[start:]; len(js) <= len(t.js) {
			t.s, t.n = s, uint8(copy(t.js[:], js))
		} else {
			t.s, t.n = "", 0
		}
		return
	}
	l := &c.last[h%uint(len(c.last))]
	if l.to != 0 && sameString(l.s, s) {
		e.b = append(e.b, c.js[l.from:l.to]...)
		return
	}
	if i, ok := c.at[s]; ok {
		t := &c.all[i]
		*l = lastText{s: s, from: t.from, to: t.to}
		e.b = append(e.b, c.js[t.from:t.to]...)
		return
	}
	start := len(e.b)
	e.str(s)
	js := e.b[start:]
	if c.at == nil || len(c.all) >= textCacheEntries || len(c.js)+len(js) > textCacheBytes {
		if c.at == nil {
			c.at = make(map[string]int32)
		}
		clear(c.at)
		clear(c.last[:])
		c.all, c.js = c.all[:0], c.js[:0]
	}
	t := cachedText{s: strings.Clone(s), from: int32(len(c.js))}
	c.js = append(c.js, js...)
	t.to = int32(len(c.js))
	c.at[t.s] = int32(len(c.all))
	*l = lastText{s: s, from: t.from, to: t.to}
	c.all = append(c.all, t)
}

// recentText writes s as str does, for a text that may be the same as one
// written before (an explanation: the same finding with the same values
// gives the same string) but often is not: unlike text, a new text costs
// no allocation and no entry in the cache's map, only a copy of its JSON
// into the buffer of its slot.
func (e *jsonEnc) recentText(s string) {
	c := e.cache
	if c == nil || e.html || s == "" || len(s) > textCacheMax {
		e.str(s)
		return
	}
	r := &c.recent[uint(len(s)+7*int(s[len(s)/2])+3*int(s[len(s)-1]))%uint(len(c.recent))]
	if r.js != nil && sameString(r.s, s) {
		e.b = append(e.b, r.js...)
		return
	}
	start := len(e.b)
	e.str(s)
	if js := e.b[start:]; len(js) <= recentJSONMax {
		r.s, r.js = s, append(r.js[:0], js...)
	} else {
		r.s, r.js = "", nil // a long one is not kept, nor its buffer
	}
}

// recentJSONMax bounds the JSON of a text recentText keeps (an
// explanation is a few hundred bytes): its 16 slots keep about 64 KiB at
// most.
const recentJSONMax = 4096
