package ingest

import (
	"io"
	"os"
	"sync/atomic"
)

// readAheadChunk is the size of the chunks a readAhead reads: the size of
// the capture reader's buffer, so that one chunk fills it.
const readAheadChunk = 1 << 20

// readAhead reads a regular file on a goroutine of its own, up to three
// chunks ahead of its reader. Reading a file is a copy out of the page
// cache that costs about a sixth of the decoding of a capture that is
// mostly RTP; done beside the decoding instead of inside it, it leaves the
// reading goroutine, the one the analysis waits for, that much less to do.
// It holds 4 MiB at most, whatever the file's size.
type readAhead struct {
	f      *os.File
	full   chan readChunk // chunks read, in order
	empty  chan []byte    // chunks to read into
	done   chan struct{}  // closed by Close: stop reading
	exited chan struct{}  // closed when the goroutine has returned
	cur    []byte         // the unread part of the chunk being handed on
	buf    []byte         // that chunk
	err    error          // after cur: the file's error or io.EOF
	n      *atomic.Int64  // bytes handed on, for a progress display; may be nil
}

type readChunk struct {
	b   []byte
	err error
}

func newReadAhead(f *os.File, counter *atomic.Int64) *readAhead {
	ra := &readAhead{f: f, n: counter, full: make(chan readChunk, 3), empty: make(chan []byte, 4), done: make(chan struct{}), exited: make(chan struct{})}
	for range 4 {
		ra.empty <- make([]byte, readAheadChunk)
	}
	go ra.run()
	return ra
}

func (ra *readAhead) run() {
	defer close(ra.exited)
	for {
		var b []byte
		select {
		case b = <-ra.empty:
		case <-ra.done:
			return
		}
		n, err := io.ReadFull(ra.f, b)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case ra.full <- readChunk{b[:n], err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// fill makes cur the next chunk once it is used up, giving the one before
// back to the goroutine; it reports false at the end.
func (ra *readAhead) fill() bool {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return false
		}
		if ra.buf != nil {
			ra.empty <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		c := <-ra.full
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	return true
}

// Read implements io.Reader: the file's bytes in order, then its error.
func (ra *readAhead) Read(p []byte) (int, error) {
	if !ra.fill() {
		return 0, ra.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	ra.count(n)
	return n, nil
}

// NextChunk implements capture.ChunkReader: the unread part of the
// current chunk, then the next ones, each valid until the next call, so
// that the capture reader reads its records out of them without a copy.
func (ra *readAhead) NextChunk() ([]byte, error) {
	if !ra.fill() {
		return nil, ra.err
	}
	c := ra.cur
	ra.cur = nil
	ra.count(len(c))
	return c, nil
}

func (ra *readAhead) count(n int) {
	if ra.n != nil {
		ra.n.Add(int64(n))
	}
}

// Close stops the goroutine, waits for it and closes the file.
func (ra *readAhead) Close() error {
	close(ra.done)
	<-ra.exited
	return ra.f.Close()
}
