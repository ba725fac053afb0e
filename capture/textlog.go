package capture

import (
	"bufio"
	"errors"
	"io"

	"github.com/sipcause/sipcause/capture/textlog"
	"github.com/sipcause/sipcause/sipmsg"
)

// logReader adapts a textlog.Reader to the capture Reader.
type logReader struct {
	r       *textlog.Reader
	skipped int // skipped messages already counted
}

// openTextLog detects a SIP text log (PBX, phone and proxy logs, sngrep
// dumps; see package textlog) and opens it. head is the start of the input.
func openTextLog(name string, br *bufio.Reader) (*logReader, string, bool) {
	head, _ := br.Peek(64 << 10)
	if _, ok := textlog.Detect(head); !ok {
		return nil, "", false
	}
	tr := textlog.NewReader(name, br)
	return &logReader{r: tr}, tr.Kind(), true
}

// stepLog reads one message from a text log; its Frame is the line number
// of its start line, and Transport is what the log says ("" when nothing).
// Messages the log reader had to skip are counted as Malformed.
func (r *Reader) stepLog() error {
	m, err := r.logs.r.Next()
	if n := r.logs.r.Skipped(); n > r.logs.skipped {
		r.integ.Malformed += n - r.logs.skipped
		r.logs.skipped = n
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return err
	}
	r.integ.Frames++
	r.frame = m.Line
	r.cur = frameInfo{time: m.Time.UTC(), encap: "log"}
	p := trimKeepAlive(m.Payload)
	if !sipmsg.LooksLikeSIP(p) {
		r.integ.Malformed++
		return nil
	}
	r.emit(m.Src, m.Dst, m.Transport, p)
	return nil
}
