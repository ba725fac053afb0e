package capture

import (
	"bufio"
	"net/netip"
	"time"
)

// logMessage is one SIP message read from a text log.
type logMessage struct {
	Line      int
	Time      time.Time
	Src, Dst  netip.AddrPort
	Transport string
	Payload   []byte
}

// logSource reads SIP messages from a text log; package textlog provides it.
type logSource interface {
	next() (logMessage, error)
}

// stepLog reads one message from a text log; Frame is its line number.
func (r *Reader) stepLog() error {
	m, err := r.logs.next()
	if err != nil {
		return err
	}
	r.integ.Frames++
	r.frame = m.Line
	r.cur = frameInfo{time: m.Time.UTC()}
	if !looksLikeSIP(trimKeepAlive(m.Payload)) {
		r.integ.Malformed++
		return nil
	}
	tr := m.Transport
	if tr == "" {
		tr = "udp"
	}
	r.emit(m.Src, m.Dst, tr, trimKeepAlive(m.Payload))
	return nil
}

// openTextLog is the hook where text logs are detected and opened: it
// returns false until package textlog offers Detect and NewReader.
func openTextLog(name string, br *bufio.Reader, head []byte) (logSource, string, bool) {
	return nil, "", false
}
