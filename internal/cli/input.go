package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/sipmsg"
)

// source is one opened input with its next packet waiting.
type source struct {
	name string
	rd   *capture.Reader
	pkt  capture.Packet
	ok   bool
	err  error // a *capture.FrameError that ended this input early
}

// readInputs opens every file, then hands each SIP message to fn in time
// order across the files (a k-way merge on capture time; within one file
// the capture order is kept). It returns the inputs with their formats,
// the integrity counts, and an error: *UsageError when a file is no
// capture at all, *DamagedError when one could only be read in part.
func readInputs(files []string, fn func(capture.Packet, *sipmsg.Message)) ([]analyze.Input, analyze.Integrity, error) {
	ins, integ, _, err := readInputsEnd(files, nil, fn)
	return ins, integ, err
}

// readInputsEnd is readInputs that also returns the time of the last frame
// of any kind in the inputs.
func readInputsEnd(files []string, prog *progress, fn func(capture.Packet, *sipmsg.Message)) ([]analyze.Input, analyze.Integrity, time.Time, error) {
	defer prog.done()
	var end time.Time
	var srcs []*source
	var inputs []analyze.Input
	var integ analyze.Integrity
	defer func() {
		for _, s := range srcs {
			s.rd.Close()
		}
	}()
	for _, f := range files {
		rd, err := openInput(f, prog)
		if err != nil {
			var fe *capture.FormatError
			if errors.As(err, &fe) {
				return nil, integ, end, usagef("%s: not a pcap, pcapng, HEP or SIP log file", f)
			}
			return nil, integ, end, usagef("%v", err)
		}
		srcs = append(srcs, &source{name: f, rd: rd})
	}
	for _, s := range srcs {
		s.advance()
	}
	var msg sipmsg.Message
	var damaged []error
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
		prog.message()
		if err := sipmsg.Parse(best.pkt.Payload, &msg); err == nil {
			fn(best.pkt, &msg)
		} else {
			integ.Malformed++
		}
		best.advance()
	}
	for _, s := range srcs {
		in := analyze.Input{File: s.name, Format: s.rd.Format()}
		if s.err != nil {
			in.Error = s.err.Error()
			damaged = append(damaged, s.err)
		}
		inputs = append(inputs, in)
		if t := s.rd.LastFrameTime(); t.After(end) {
			end = t
		}
		ci := s.rd.Integrity()
		integ.Add(analyze.Integrity{
			Frames: ci.Frames, SIPMessages: ci.SIPMessages, Truncated: ci.Truncated,
			FragmentsIncomplete: ci.FragmentsIncomplete, TCPGaps: ci.TCPGaps, EncryptedSIP: ci.EncryptedSIP,
			Malformed: ci.Malformed, NonSIP: ci.NonSIP,
		})
	}
	if len(damaged) > 0 {
		return inputs, integ, end, &DamagedError{Err: errors.Join(damaged...)}
	}
	return inputs, integ, end, nil
}

func (s *source) advance() {
	p, err := s.rd.Next()
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

// readPipelined reads and parses the inputs on one goroutine and hands the
// messages to add, in order, on the calling goroutine, so that decoding and
// analysis run side by side. It returns what readInputsEnd returns.
func readPipelined(files []string, prog *progress, add func(analyze.Message)) ([]analyze.Input, analyze.Integrity, time.Time, error) {
	const batch = 256
	type result struct {
		inputs []analyze.Input
		integ  analyze.Integrity
		end    time.Time
		err    error
	}
	batches := make(chan []analyze.Message, 8)
	res := make(chan result, 1)
	go func() {
		buf := make([]analyze.Message, 0, batch)
		var in analyze.Interner
		ins, integ, end, err := readInputsEnd(files, prog, func(p capture.Packet, m *sipmsg.Message) {
			buf = append(buf, analyze.FromSIPInterned(analyze.Meta{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport}, m, &in))
			if len(buf) == batch {
				batches <- buf
				buf = make([]analyze.Message, 0, batch)
			}
		})
		if len(buf) > 0 {
			batches <- buf
		}
		close(batches)
		res <- result{ins, integ, end, err}
	}()
	for b := range batches {
		for i := range b {
			add(b[i])
		}
	}
	r := <-res
	return r.inputs, r.integ, r.end, r.err
}
