package report

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// JSON writes r as indented JSON: schema_version and lang first, then the
// calls, registrations and dialogs, then the summary and the rest. Map keys
// are sorted, so the same report always gives the same bytes, and they are
// the bytes a JSONStream writes for the same analysis.
func JSON(w io.Writer, r *analyze.Report) error {
	s := NewJSONStream(w, r.SchemaVersion, r.Lang, nil)
	for _, c := range r.Calls {
		s.Call(c)
	}
	for _, g := range r.Registrations {
		s.Register(g)
	}
	for _, d := range r.Dialogs {
		s.Dialog(d)
	}
	return s.Close(r)
}

// Spool is where a JSONStream keeps registrations and dialogs until the
// calls are written: memory by default, a temporary file for large inputs.
type Spool interface {
	io.ReadWriter
}

// JSONStream writes a report while the analysis runs: each call as soon as
// it is finished, so that memory does not grow with the input.
type JSONStream struct {
	w           outBuf
	regs, dlgs  Spool
	lang        catalog.Lang
	nCalls      int
	nRegs, nDlg int
	err         error
	buf         []byte // the last registration's or dialog's JSON, reused for the next
	// What the hand encoder keeps from one element to the next (the
	// texts, exchanges and times that repeat), and the call being
	// written, its slices reused: together about a megabyte at most, and
	// the strings of the last few calls that its caches hold (see
	// textCache), at most about as much again.
	clock    clockMemo
	cache    textCache
	findings findingMemo // the texts of the last findings, rendered in lang
	call     Call
}

// NewJSONStream starts a report on w. spool, when not nil, makes the two
// spools for registrations and dialogs (for example temporary files).
func NewJSONStream(w io.Writer, schema int, lang string, spool func() (Spool, error)) *JSONStream {
	s := &JSONStream{w: outBuf{w: w, b: make([]byte, 0, outBufSize+outBufSize/4)}, lang: catalog.Lang(lang)}
	mk := func() Spool {
		if spool != nil {
			if sp, err := spool(); err == nil {
				return sp
			} else if s.err == nil {
				s.err = err
			}
		}
		return &bytes.Buffer{}
	}
	s.regs, s.dlgs = mk(), mk()
	s.raw("{\n  \"schema_version\": ")
	s.value(schema, "")
	s.raw(",\n  \"lang\": ")
	s.value(lang, "")
	s.raw(",\n  \"calls\": [")
	return s
}

func (s *JSONStream) raw(str string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(str)
	}
}

func (s *JSONStream) value(v any, indent string) {
	if s.err != nil {
		return
	}
	s.err = encodeTo(&s.w, v, indent)
}

func encodeTo(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent(indent, "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	return err
}

func (s *JSONStream) element(dst io.Writer, n int, v any) {
	if s.err != nil {
		return
	}
	sep := ",\n    "
	if n == 0 {
		sep = "\n    "
	}
	if _, err := io.WriteString(dst, sep); err != nil {
		s.err = err
		return
	}
	// One compact line per element: half the work of indenting, and a
	// stream that line-oriented tools can split.
	s.err = encodeTo(dst, v, "")
}

// Call writes one call, with its texts in the stream's language, by the
// hand encoder of jsonenc.go: the same bytes as encoding/json, in a
// fraction of the time a large analysis spent on it. The call is encoded
// straight into the stream's buffer.
func (s *JSONStream) Call(c *analyze.Call) {
	lc := &s.call
	localizeCall(lc, c, s.lang, &s.findings)
	if s.err == nil {
		start := len(s.w.b)
		sep := ",\n    "
		if s.nCalls == 0 {
			sep = "\n    "
		}
		e := s.encoder(append(s.w.b, sep...))
		if lc.Call != nil {
			e.call(lc.Call, lc)
		} else {
			e.bad = true
		}
		if b, ok := s.done(&e, nil); ok {
			s.w.b = b
			s.err = s.w.flushFull()
		} else {
			s.w.b = s.w.b[:start]
			s.element(&s.w, s.nCalls, lc)
		}
	}
	s.nCalls++
}

// Register keeps one registration for the registrations array.
func (s *JSONStream) Register(r *analyze.Register) {
	lr := LocalizeRegister(r, s.lang)
	s.handElement(s.regs, s.nRegs, lr, func(b []byte) ([]byte, bool) {
		e := s.encoder(b)
		e.register(lr)
		return s.done(&e, b)
	})
	s.nRegs++
}

// Dialog keeps one other exchange for the dialogs array.
func (s *JSONStream) Dialog(d *analyze.Dialog) {
	ld := LocalizeDialog(d, s.lang)
	s.handElement(s.dlgs, s.nDlg, ld, func(b []byte) ([]byte, bool) {
		e := s.encoder(b)
		e.dialog(ld)
		return s.done(&e, b)
	})
	s.nDlg++
}

// encoder is a hand encoder that keeps, from one element to the next,
// the texts it escaped and the second it wrote last.
func (s *JSONStream) encoder(b []byte) jsonEnc {
	return jsonEnc{b: b, clock: s.clock, cache: &s.cache}
}

// done ends what encoder began: b as it was when the encoder gave up.
func (s *JSONStream) done(e *jsonEnc, b []byte) ([]byte, bool) {
	s.clock = e.clock
	if e.bad {
		return b, false
	}
	return e.b, true
}

// handElement writes element n by its hand encoder, or by encoding/json
// (v) where the hand encoder gives up: the bytes are the same.
func (s *JSONStream) handElement(dst io.Writer, n int, v any, hand func([]byte) ([]byte, bool)) {
	if s.err != nil {
		return
	}
	b, ok := hand(s.buf[:0])
	if !ok {
		s.element(dst, n, v)
		return
	}
	s.buf = b
	if cap(b) > 1<<20 {
		s.buf = nil // one huge element does not keep its buffer
	}
	sep := ",\n    "
	if n == 0 {
		sep = "\n    "
	}
	if _, s.err = io.WriteString(dst, sep); s.err == nil {
		_, s.err = dst.Write(b)
	}
}

// Close writes the rest of the report (its Calls, Registrations and Dialogs
// are not written again) and flushes.
func (s *JSONStream) Close(r *analyze.Report) error {
	closeArr := func(n int) {
		if n > 0 {
			s.raw("\n  ")
		}
		s.raw("]")
	}
	closeArr(s.nCalls)
	s.raw(",\n  \"registrations\": [")
	s.copySpool(s.regs)
	closeArr(s.nRegs)
	s.raw(",\n  \"dialogs\": [")
	s.copySpool(s.dlgs)
	closeArr(s.nDlg)
	lr := Localize(&analyze.Report{Findings: r.Findings, Hosts: r.Hosts}, s.lang)
	rest := []struct {
		name string
		v    any
	}{
		{"inputs", r.Inputs}, {"summary", r.Summary}, {"findings", lr.Findings}, {"media", mediaOrEmpty(r.Media)},
		{"metrics", r.Metrics}, {"integrity", r.Integrity}, {"hosts", lr.Hosts},
	}
	for _, f := range rest {
		s.raw(",\n  \"" + f.name + "\": ")
		s.value(f.v, "  ")
	}
	s.raw("\n}\n")
	if s.err != nil {
		return s.err
	}
	return s.w.flush()
}

func (s *JSONStream) copySpool(sp Spool) {
	if s.err != nil {
		return
	}
	if sk, ok := sp.(io.Seeker); ok {
		if _, err := sk.Seek(0, io.SeekStart); err != nil {
			s.err = err
			return
		}
	}
	_, s.err = io.Copy(&s.w, sp)
}

// mediaOrEmpty keeps the media array present (as []) when no RTP was found.
func mediaOrEmpty(m []*analyze.MediaStream) []*analyze.MediaStream {
	if m == nil {
		return []*analyze.MediaStream{}
	}
	return m
}

// outBuf buffers a stream's output as a bufio.Writer does, and lets the
// stream encode a call straight into its buffer, instead of into a
// buffer of its own that is then copied.
type outBuf struct {
	w   io.Writer
	b   []byte
	err error
}

// outBufSize is how much outBuf holds before it writes.
const outBufSize = 64 << 10

func (o *outBuf) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	o.b = append(o.b, p...)
	return len(p), o.flushFull()
}

func (o *outBuf) WriteString(p string) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	o.b = append(o.b, p...)
	return len(p), o.flushFull()
}

func (o *outBuf) flushFull() error {
	if len(o.b) < outBufSize {
		return o.err
	}
	return o.flush()
}

// flush writes what is buffered. A buffer that one large call made
// large is not kept.
func (o *outBuf) flush() error {
	if o.err == nil && len(o.b) > 0 {
		n, err := o.w.Write(o.b)
		if err == nil && n < len(o.b) {
			err = io.ErrShortWrite
		}
		o.err = err
	}
	o.b = o.b[:0]
	if cap(o.b) > 4*outBufSize {
		o.b = make([]byte, 0, outBufSize+outBufSize/4)
	}
	return o.err
}
