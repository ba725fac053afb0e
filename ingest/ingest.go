// Package ingest reads captures and logs into the analyzer: it opens each
// input with package capture, merges several inputs in capture-time order,
// parses every SIP message with package sipmsg and hands it on, counting
// what the inputs held. The command line and the web service share it, so
// that a capture gives the same report in both.
//
//	rep, err := ingest.Analyze(ingest.Files("call.pcap"), ingest.Options{}, analyze.Options{})
package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/sipmsg"
)

// Input is one capture or log: a file by name ("-" for standard input), or
// an open reader named Name.
type Input struct {
	Name string
	R    io.Reader // nil: open the file Name
}

// Files returns the inputs for file paths.
func Files(paths ...string) []Input {
	out := make([]Input, len(paths))
	for i, p := range paths {
		out[i] = Input{Name: p}
	}
	return out
}

// Options tune reading.
type Options struct {
	// BytesRead, when set, is advanced by the bytes read from the inputs,
	// for a progress display.
	BytesRead *atomic.Int64
	// OnMessage, when set, is called once per SIP message read.
	OnMessage func()
	// MaxInflated bounds the bytes inflated from a gzip-compressed input
	// (capture.OpenOptions); zero means no limit.
	MaxInflated int64
	// Media also reads the UDP datagrams that look like RTP or RTCP (see
	// capture.Reader.SetMedia) and hands them to the analyzer, for the
	// media analysis; Each passes them to its fn with a nil message.
	Media bool
	// OnRaw, when set, is given the bytes of each SIP message, with its
	// input and frame, for a report that shows the messages as
	// captured. The bytes are valid only during the call. It runs on the
	// reading goroutine.
	OnRaw func(file string, frame int, payload []byte)
	// Interner, when set, is what Messages decodes with instead of an
	// Interner of its own; it is used on the reading goroutine only. Feed
	// takes one from the analyzer (analyze.Analyzer.NewInterner), so that
	// the messages come with what the analyzer would otherwise work out
	// for each of them on its own, busier, goroutine.
	Interner *analyze.Interner
}

// Result is what the inputs held besides their messages.
type Result struct {
	Inputs    []analyze.Input
	Integrity analyze.Integrity
	End       time.Time // capture time of the last frame of any kind
}

// OpenError is an input that could not be opened or is none of the
// formats package capture reads (then it wraps a *capture.FormatError).
type OpenError struct {
	Name string
	Err  error
}

func (e *OpenError) Error() string {
	var fe *capture.FormatError
	if errors.As(e.Err, &fe) {
		return fmt.Sprintf("%s: not a pcap, pcapng, HEP or SIP log file", e.Name)
	}
	return e.Err.Error()
}

func (e *OpenError) Unwrap() error { return e.Err }

// SkippedError is an input among several that could not be opened or is
// no capture: it was left out and the others were read. It does not wrap
// the *OpenError, so that callers tell "nothing could be read" from "one
// input was left out".
type SkippedError struct {
	Name   string
	Reason string
}

func (e *SkippedError) Error() string { return e.Reason + " (skipped)" }

// DamagedError says that inputs could only be read in part; everything
// readable was still handed on. It joins one *capture.FrameError (file
// and frame) per damaged input.
type DamagedError struct{ Err error }

func (e *DamagedError) Error() string { return e.Err.Error() }
func (e *DamagedError) Unwrap() error { return e.Err }

type source struct {
	name string
	rd   *capture.Reader
	mf   *mappedFile     // nil unless the file is read through mappings
	pkt  *capture.Packet // the reader's, valid until advance
	ok   bool
	err  error
}

// Each reads the inputs and calls fn with each SIP message in time order
// across the inputs (a merge on capture time; within one input its own
// order is kept); with Options.Media also with each RTP/RTCP datagram,
// and a nil message. The packet's payload and the message are valid only
// during the call. Errors: *OpenError before anything is read, when the
// only input (or every input) cannot be read; *DamagedError after
// everything readable was handed on, when an input was damaged or, among
// several, could not be opened (it is skipped, and its Input says why).
func Each(ins []Input, opt Options, fn func(capture.Packet, *sipmsg.Message)) (Result, error) {
	return each(ins, opt, readMode{}, func(p *capture.Packet, m *sipmsg.Message, _ bool) { fn(*p, m) })
}

// readMode says how each reads regular files.
type readMode struct {
	// mapped reads them through memory mappings: only for a caller that
	// turns faults into panics and recovers them (see mappedFile).
	mapped bool
	// pins (with mapped) keeps each window mapped while the batches
	// filled from it are not done, and each then tells fn which media
	// payloads lie in one (pinned): those stay valid past the call.
	pins *pins
	// drain, when set, is called before the inputs are closed (and their
	// windows unmapped), also after a panic: it waits until no batch is
	// left that may read them.
	drain func()
}

// pins is shared by the goroutine that fills batches and the one that
// empties them, so that media payloads can be handed on in place, in the
// windows of a mapped file, instead of copied: a window is unmapped only
// once every batch that may hold a payload in it is done.
type pins struct {
	filling uint64        // the number of the batch being filled (the filling goroutine's)
	taken   uint64        // payloads handed on in place so far (the filling goroutine's)
	done    atomic.Uint64 // the number of the last batch emptied
}

// each is Each handing on the reader's own packet, not a copy of it: the
// packet is valid only during the call, its payload too unless fn is told
// it is pinned (see readMode).
func each(ins []Input, opt Options, mode readMode, fn func(p *capture.Packet, m *sipmsg.Message, pinned bool)) (Result, error) {
	var res Result
	var srcs []*source
	defer func() {
		if mode.drain != nil {
			mode.drain()
		}
		for _, s := range srcs {
			s.rd.Close()
		}
	}()
	var skipped []error
	for _, in := range ins {
		rd, mf, err := open(in, opt.BytesRead, opt.MaxInflated, mode)
		if err != nil {
			oe := &OpenError{Name: in.Name, Err: err}
			if len(ins) == 1 {
				return res, oe
			}
			skipped = append(skipped, &SkippedError{Name: in.Name, Reason: oe.Error()})
			res.Inputs = append(res.Inputs, analyze.Input{File: in.Name, Error: oe.Error()})
			continue
		}
		rd.SetMedia(opt.Media)
		srcs = append(srcs, &source{name: in.Name, rd: rd, mf: mf})
	}
	// One input needs no merge: its RTP goes to fn straight from the
	// reader (SetMediaSink), in its order with the messages.
	if len(srcs) == 1 && opt.Media {
		s := srcs[0]
		s.rd.SetMediaSink(func(p *capture.Packet) { fn(p, nil, s.mf.holds(p.Payload)) })
	}
	if len(srcs) == 0 && len(skipped) > 0 {
		return Result{}, &OpenError{Name: ins[0].Name, Err: errors.New(skipped[0].Error())}
	}
	for _, s := range srcs {
		s.advance()
	}
	var msg sipmsg.Message
	for {
		var best *source
		for _, s := range srcs {
			if s.ok && (best == nil || s.pkt.Time.Before(best.pkt.Time)) {
				best = s
			}
		}
		if best == nil {
			break
		}
		if best.pkt.Media {
			fn(best.pkt, nil, best.mf.holds(best.pkt.Payload))
			best.advance()
			continue
		}
		if opt.OnMessage != nil {
			opt.OnMessage()
		}
		if opt.OnRaw != nil {
			opt.OnRaw(best.pkt.File, best.pkt.Frame, best.pkt.Payload)
		}
		if err := sipmsg.Parse(best.pkt.Payload, &msg); err == nil {
			fn(best.pkt, &msg, false)
		} else {
			res.Integrity.Malformed++
		}
		best.advance()
	}
	damaged := skipped
	for _, s := range srcs {
		in := analyze.Input{File: s.name, Format: s.rd.Format()}
		if s.err != nil {
			in.Error = s.err.Error()
			damaged = append(damaged, s.err)
		}
		res.Inputs = append(res.Inputs, in)
		if t := s.rd.LastFrameTime(); t.After(res.End) {
			res.End = t
		}
		ci := s.rd.Integrity()
		res.Integrity.Add(analyze.Integrity{
			Frames: ci.Frames, SIPMessages: ci.SIPMessages, Truncated: ci.Truncated,
			FragmentsIncomplete: ci.FragmentsIncomplete, TCPGaps: ci.TCPGaps, EncryptedSIP: ci.EncryptedSIP,
			Malformed: ci.Malformed, NonSIP: ci.NonSIP, FragmentOverlaps: ci.FragmentOverlaps, UnknownLinkType: ci.UnknownLinkType,
		})
	}
	if len(damaged) > 0 {
		return res, &DamagedError{Err: errors.Join(damaged...)}
	}
	return res, nil
}

func (s *source) advance() {
	p, err := s.rd.NextRef()
	switch {
	case err == nil:
		s.pkt, s.ok = p, true
	case errors.Is(err, io.EOF):
		s.ok = false
	default:
		s.ok = false
		var fe *capture.FrameError
		if !errors.As(err, &fe) {
			err = fmt.Errorf("%s: %w", s.name, err)
		}
		s.err = err
	}
}

// eachMapped is each with regular files mapped into memory, for a
// goroutine that has made faults panics (debug.SetPanicOnFault): the
// fault of a mapped file cut short while it was read becomes a
// *DamagedError.
func eachMapped(ins []Input, opt Options, mode readMode, fn func(*capture.Packet, *sipmsg.Message, bool)) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			err = &DamagedError{Err: fmt.Errorf("ingest: an input was cut short while it was read (%v)", r)}
		}
	}()
	mode.mapped = true
	return each(ins, opt, mode, fn)
}

// Messages reads and parses the inputs on a goroutine of its own and hands
// the messages to add, in order, on the calling goroutine, so that decoding
// and analysis run side by side. It returns what Each returns. The
// message handed to add is valid during the call only (it lies in a
// batch that is used again); add copies what it keeps, as
// analyze.Analyzer.AddRef does.
func Messages(ins []Input, opt Options, add func(*analyze.Message)) (Result, error) {
	return MessagesAndMedia(ins, opt, add, nil)
}

// batch carries messages and media datagrams from the reading goroutine,
// with their order across both.
type batch struct {
	msgs  []analyze.Message
	media []analyze.MediaPacket
	order []bool // true: the next item is media
	arena []byte // media payloads that are not pinned
	seq   uint64 // its number (pins)
	last  bool   // sent by drain: no batch follows
	// sipBytes are the bytes of the SIP messages in msgs: what their
	// strings can hold at most.
	sipBytes int
}

// batchKeepBytes is how many bytes of SIP messages a used batch may hold
// on to until its slots are written again: a batch of ordinary messages
// is not cleared (the few going round hold a few hundred messages), one
// of a sender's long messages is.
const batchKeepBytes = 256 << 10

// reset empties a batch the analyzer is done with (it keeps copies of
// what it needs), to be filled again. Its media are cleared, so that it
// holds no window of a mapped file; its messages only when they were
// long: each is written whole when its slot is taken again (addMessage),
// and clearing every one here, on the goroutine the reading waits for,
// was work done twice.
func (b *batch) reset() {
	if b.sipBytes > batchKeepBytes {
		clear(b.msgs)
	}
	clear(b.media)
	b.msgs, b.media, b.order, b.arena, b.last, b.sipBytes = b.msgs[:0], b.media[:0], b.order[:0], b.arena[:0], false, 0
}

// addMedia queues a media datagram: its payload in place when it is
// pinned, else copied. The packet is filled in place: a MediaPacket built
// and then appended is copied twice, for every RTP packet.
func (b *batch) addMedia(p *capture.Packet, pinned bool) {
	b.media = append(b.media, analyze.MediaPacket{})
	mp := &b.media[len(b.media)-1]
	mp.File, mp.Frame, mp.Time, mp.Src, mp.Dst = p.File, p.Frame, p.Time, p.Src, p.Dst
	if pinned {
		mp.Data = p.Payload
	} else {
		start := len(b.arena)
		b.arena = append(b.arena, p.Payload...)
		mp.Data = b.arena[start:len(b.arena):len(b.arena)]
	}
	mp.ICMP = p.Encap == "icmp"
	b.order = append(b.order, true)
}

// addMessage queues a SIP message. It is a function of its own, not part
// of the callback, so that the media datagrams, nearly every packet of a
// capture with RTP, do not pay for the stack frame a 700-byte Message
// needs.
func (b *batch) addMessage(p *capture.Packet, m *sipmsg.Message, intern *analyze.Interner) {
	meta := analyze.Meta{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport, FromLog: p.Encap == "log"}
	// Decoded in place: a Message built and then appended is copied. A
	// slot a batch used before is taken as it is: FromSIPInto writes all
	// of it, and clearing its 800 bytes first was work done twice.
	b.sipBytes += len(p.Payload)
	if n := len(b.msgs); n < cap(b.msgs) {
		b.msgs = b.msgs[:n+1]
	} else {
		b.msgs = append(b.msgs, analyze.Message{})
	}
	analyze.FromSIPInto(&b.msgs[len(b.msgs)-1], meta, m, intern)
	b.order = append(b.order, false)
}

// MessagesAndMedia is Messages that also hands each RTP/RTCP datagram to
// addMedia (when Options.Media is set and addMedia is not nil), in capture
// order with the messages.
func MessagesAndMedia(ins []Input, opt Options, add func(*analyze.Message), addMedia func(*analyze.MediaPacket)) (Result, error) {
	// A batch goes when it holds 1024 datagrams or 256 SIP messages. Each
	// hand-over between the goroutines costs a wake-up, and the woken one
	// waits for a core: with 256 per batch, a capture that is mostly RTP
	// spent a third of its time in those waits. A message (with its
	// strings) weighs several times a datagram, so that SIP-only captures
	// keep their batches as small as before.
	const (
		size    = 1024
		maxMsgs = 256
	)
	type done struct {
		res Result
		err error
	}
	if addMedia == nil {
		opt.Media = false
	}
	// Batches go round between the two goroutines and are used again, so
	// that a capture of millions of RTP packets does not allocate per
	// batch.
	batches := make(chan *batch, 4)
	free := make(chan *batch, 6)
	finished := make(chan done, 1)
	// RTP payloads are handed on in place, in the windows of a mapped
	// file (pins): copying them into the batches was a sixth of the
	// reading goroutine's work, the goroutine the analysis waits for.
	pn := &pins{filling: 1}
	drained := make(chan struct{})
	go func() {
		// Regular files are read through memory mappings here: a file
		// cut short meanwhile faults, and the fault, made a panic,
		// ends the reading with an error instead of the process.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		get := func() *batch {
			var b *batch
			select {
			case b = <-free:
			default:
				b = &batch{}
			}
			b.seq = pn.filling
			return b
		}
		send := func(b *batch) {
			batches <- b
			pn.filling++
		}
		b := get()
		intern := opt.Interner
		if intern == nil {
			intern = &analyze.Interner{}
		}
		// Before the inputs are closed, the last batch goes, and the
		// analysis is waited for: it may read payloads in their
		// windows until then.
		drain := func() {
			b.last = true
			send(b)
			b = nil
			<-drained
		}
		res, err := eachMapped(ins, opt, readMode{pins: pn, drain: drain}, func(p *capture.Packet, m *sipmsg.Message, pinned bool) {
			if m == nil {
				if pinned {
					pn.taken++
				}
				b.addMedia(p, pinned)
			} else {
				b.addMessage(p, m, intern)
			}
			if len(b.order) == size || len(b.msgs) == maxMsgs {
				send(b)
				b = get()
			}
		})
		close(batches)
		finished <- done{res, err}
	}()
	var fault error
	for b := range batches {
		if fault == nil {
			fault = consume(b, add, addMedia)
		}
		pn.done.Store(b.seq)
		if b.last {
			close(drained)
		}
		b.reset()
		select {
		case free <- b:
		default:
		}
	}
	d := <-finished
	if fault != nil && d.err == nil {
		d.err = fault
	}
	return d.res, d.err
}

// consume hands a batch's messages and datagrams on, in their order. The
// datagrams may lie in a mapped file's window: a file cut short by another
// process meanwhile faults when they are read, and the fault, made a
// panic here too, is returned as a *DamagedError; the analysis then takes
// no more.
func consume(b *batch, add func(*analyze.Message), addMedia func(*analyze.MediaPacket)) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			err = &DamagedError{Err: fmt.Errorf("ingest: an input was cut short while it was read (%v)", r)}
		}
	}()
	mi, di := 0, 0
	for _, media := range b.order {
		if media {
			addMedia(&b.media[di])
			di++
		} else {
			add(&b.msgs[mi])
			mi++
		}
	}
	return nil
}

// Feed reads the inputs into a, records them (inputs, integrity counts,
// the end of the capture) and returns the error of Messages; it does not
// call Finish.
func Feed(a *analyze.Analyzer, ins []Input, opt Options) error {
	if opt.Media {
		a.EnableMedia()
	}
	if opt.Interner == nil {
		opt.Interner = a.NewInterner()
	}
	res, err := MessagesAndMedia(ins, opt, a.AddRef, a.AddMedia)
	var oe *OpenError
	if errors.As(err, &oe) {
		return err
	}
	for _, in := range res.Inputs {
		a.AddInput(in)
	}
	a.AddIntegrity(res.Integrity)
	a.ObserveEnd(res.End)
	return err
}

// Analyze reads the inputs into a new analyzer and returns its report. A
// *DamagedError comes with the report of what could be read; an
// *OpenError comes with none.
func Analyze(ins []Input, opt Options, aopt analyze.Options) (*analyze.Report, error) {
	a := analyze.New(aopt)
	err := Feed(a, ins, opt)
	var oe *OpenError
	if errors.As(err, &oe) {
		return nil, err
	}
	return a.Finish(), err
}

func open(in Input, counter *atomic.Int64, maxInflated int64, mode readMode) (*capture.Reader, *mappedFile, error) {
	r := in.R
	var mf *mappedFile
	if r == nil {
		if in.Name == "-" {
			r = io.NopCloser(os.Stdin)
		} else {
			f, err := os.Open(in.Name)
			if err != nil {
				return nil, nil, err
			}
			r = f
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				var m *mappedFile
				ok := false
				if mode.mapped {
					m, ok = mapFile(f, st.Size(), counter, mode.pins)
				}
				if ok {
					r, mf = m, m
				} else {
					r = newReadAhead(f, counter)
				}
				counter = nil // counted there
			}
		}
	}
	if counter != nil {
		r = countingReader{r: r, n: counter}
	}
	rd, err := capture.OpenWith(in.Name, r, capture.OpenOptions{MaxInflated: maxInflated})
	if err != nil {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		return nil, nil, err
	}
	return rd, mf, nil
}

// countingReader counts the bytes read, for a progress display.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c countingReader) Close() error {
	if cl, ok := c.r.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
