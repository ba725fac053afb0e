package textlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Limits that bound the memory a Reader uses, whatever the input.
const (
	// MaxLineLength is the longest log line kept; the rest of a longer
	// line is dropped and reported as ErrLineTooLong.
	MaxLineLength = 64 << 10
	// MaxMessageSize bounds one SIP message. A larger one is skipped and
	// reported as ErrMessageTooLarge. RFC 3261 §18.1.1 puts UDP messages
	// under 65535 bytes; this leaves room for big TCP bodies.
	MaxMessageSize = 256 << 10
	// maxProblems bounds the problems a Reader keeps for Problems; all are
	// still counted by Skipped when they drop a message.
	maxProblems = 100
)

// Errors wrapped in a *ParseError.
var (
	ErrMessageTooLarge = errors.New("message larger than MaxMessageSize, skipped")
	ErrNoHeaders       = errors.New("start line without header fields, skipped")
	ErrLineTooLong     = errors.New("line longer than MaxLineLength, cut")
)

// ParseError says where in a log a message could not be read.
type ParseError struct {
	File string // the name given to NewReader
	Line int    // 1-based line where the message (or the long line) starts
	Err  error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("textlog: %s line %d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Message is one SIP message found in a log.
type Message struct {
	// Line is the 1-based log line holding the message's start line.
	Line int
	// Time is when the log says the message was seen, zero if it says
	// nothing. Logs without a time zone are read as UTC. A time without a
	// year (syslog "Mar 18 10:21:47", Asterisk "[Mar 18 10:21:47]") gets
	// year 0, advanced by one whenever the log runs backwards by more than
	// half a year (New Year); a time of day without a date (FreeSWITCH)
	// gets the last date the log printed, else 0000-01-01, advanced a day
	// when the clock wraps past midnight; an uptime counter (IP Office
	// "3309492437mS") is that long after 0000-01-01. So year 0 marks a
	// time whose calendar date is unknown while the intervals between
	// messages stay right; a caller who knows the year can add it.
	Time time.Time
	// Src and Dst are the addresses the log gives, zero when it gives
	// none. A known address with an unknown port has port 0.
	Src, Dst netip.AddrPort
	// Transport is "udp", "tcp", "tls", "sctp", "ws" or "wss" as the log
	// line says, else as the top Via says (RFC 3261 §18.1.1, §20.42), ""
	// when neither does.
	Transport string
	// Payload is the SIP message with CRLF line ends (RFC 3261 §7) and a
	// body cut or re-joined to match Content-Length where the log allows.
	Payload []byte
}

// meta is what a log line says about the message that follows it.
type meta struct {
	time      time.Time
	src, dst  netip.AddrPort
	transport string
}

// Reader reads SIP messages out of a text log, line by line.
type Reader struct {
	name string
	br   *bufio.Reader
	kind string
	cl   classifier
	line int
	err  error
	long []byte

	meta     meta
	haveMeta bool

	held    classified
	hasHeld bool

	b builder

	problems []*ParseError
	nprob    int
	skipped  int
}

// NewReader returns a Reader for the log r, whose format it detects from
// the first 64 KiB (see Detect). A log it does not recognise is read as
// raw SIP text. name is used in errors only.
func NewReader(name string, r io.Reader) *Reader {
	br := bufio.NewReaderSize(r, MaxLineLength)
	head, _ := br.Peek(MaxLineLength)
	kind, ok := Detect(head)
	if !ok {
		kind = KindRaw
	}
	return &Reader{name: name, br: br, kind: kind, cl: newClassifier(kind), b: builder{clen: -1}}
}

// Kind is the detected log format, one of the Kind constants.
func (r *Reader) Kind() string { return r.kind }

// Skipped is the number of messages dropped so far as unreadable.
func (r *Reader) Skipped() int { return r.skipped }

// Problems returns the first problems met so far (at most 100).
func (r *Reader) Problems() []*ParseError { return r.problems }

func (r *Reader) problem(line int, err error) {
	r.nprob++
	if len(r.problems) < maxProblems {
		r.problems = append(r.problems, &ParseError{File: r.name, Line: line, Err: err})
	}
}

// Next returns the next SIP message, or io.EOF after the last one. Other
// errors come from the underlying reader. Unreadable messages are skipped
// and counted (Skipped, Problems).
func (r *Reader) Next() (Message, error) {
	for {
		if r.hasHeld {
			r.hasHeld = false
			if m, ok := r.handle(r.held); ok {
				return m, nil
			}
			continue
		}
		if r.err != nil {
			if m, ok := r.finish(); ok {
				return m, nil
			}
			return Message{}, r.err
		}
		line, err := r.readLine()
		if err != nil {
			r.err = err
			continue
		}
		if m, ok := r.handle(r.cl.classify(line)); ok {
			return m, nil
		}
	}
}

// readLine returns the next line without its LF or CRLF, valid until the
// next call. A line longer than MaxLineLength is cut.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if len(line) == 0 && err != nil {
		return nil, err
	}
	r.line++
	if err == bufio.ErrBufferFull {
		r.problem(r.line, ErrLineTooLong)
		// Keep a copy: reading on to the line's end refills the buffer.
		r.long = append(r.long[:0], line...)
		line = r.long
		for err == bufio.ErrBufferFull {
			_, err = r.br.ReadSlice('\n')
		}
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, nil
}
