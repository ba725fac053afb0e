//go:build unix

package ingest

import (
	"io"
	"os"
	"sync/atomic"
	"syscall"
)

// canMap says whether files are read through memory mappings here.
const canMap = true

// mapWindow is how much of a file is mapped at once: 2 MiB, three at most
// (the one read, one ready, one being mapped), so that the mapped pages
// the process holds stay the same whatever the file's size.
const mapWindow = 2 << 20

// mappedFile reads a regular file through windows mapped from it (mmap(2))
// instead of read(2): the bytes are not copied out of the page cache, a
// sixth of the work of a capture that is mostly RTP. A goroutine of its
// own maps the windows ahead (with their page tables set up, where the
// system can), so that the reading goroutine only reads. It implements
// capture.ChunkReader: each window is a chunk.
//
// A mapped file that another process truncates faults when a page past its
// new end is read (SIGBUS): mappedFile is only used where the reading
// goroutine has asked the runtime to turn such faults into panics
// (debug.SetPanicOnFault) and recovers them (MessagesAndMedia). The
// goroutine that maps never reads the pages.
type mappedFile struct {
	f      *os.File
	ready  chan mapping  // windows mapped ahead, in order; closed after the last
	used   chan []byte   // windows read, for the goroutine to unmap
	done   chan struct{} // closed by Close: stop mapping
	exited chan struct{} // closed when the goroutine has returned
	win    []byte        // the window handed on last, unmapped at the next
	cur    []byte        // its part not yet handed on
	err    error         // after the last window: io.EOF or the mapping's error
	n      *atomic.Int64 // bytes handed on, for a progress display; may be nil
	closed bool
}

type mapping struct {
	b   []byte
	err error
}

// mapFile returns a mappedFile for f, of size bytes (read to there if the
// file grows), if its first window can be mapped.
func mapFile(f *os.File, size int64, counter *atomic.Int64) (*mappedFile, bool) {
	m := &mappedFile{f: f, ready: make(chan mapping, 1), used: make(chan []byte, 1), done: make(chan struct{}), exited: make(chan struct{}), n: counter}
	var off int64
	if size > 0 {
		b, err := mapAt(f, 0, size)
		if err != nil {
			return nil, false
		}
		m.win, m.cur, off = b, b, int64(len(b))
	}
	go m.run(off, size)
	return m, true
}

// mapAt maps the window of f at off.
func mapAt(f *os.File, off, size int64) ([]byte, error) {
	b, err := syscall.Mmap(int(f.Fd()), off, int(min(mapWindow, size-off)), syscall.PROT_READ, syscall.MAP_SHARED|mapPopulate)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: f.Name(), Err: err}
	}
	return b, nil
}

// run maps the windows from off on, two ahead of the reader at most (one
// waiting in ready, one mapped and waiting to go in), and unmaps the
// windows the reader is done with: unmapping, with the TLB shootdown it
// takes, cost the reader 7 ms per 100 MiB.
func (m *mappedFile) run(off, size int64) {
	defer close(m.exited)
	for off < size {
		b, err := mapAt(m.f, off, size)
	send:
		for {
			select {
			case m.ready <- mapping{b, err}:
				break send
			case w := <-m.used:
				syscall.Munmap(w)
			case <-m.done:
				if b != nil {
					syscall.Munmap(b)
				}
				return
			}
		}
		if err != nil {
			return
		}
		off += int64(len(b))
	}
	close(m.ready)
	for {
		select {
		case w := <-m.used:
			syscall.Munmap(w)
		case <-m.done:
			return
		}
	}
}

// next unmaps the window handed on and takes the following one.
func (m *mappedFile) next() error {
	m.unmap()
	if m.err != nil {
		return m.err
	}
	w, ok := <-m.ready
	switch {
	case !ok:
		m.err = io.EOF
	case w.err != nil:
		m.err = w.err
	}
	if m.err != nil {
		return m.err
	}
	m.win, m.cur = w.b, w.b
	return nil
}

// unmap gives the window handed on to the goroutine to unmap, or unmaps
// it itself when the goroutine is busy or gone.
func (m *mappedFile) unmap() {
	if m.win == nil {
		return
	}
	select {
	case m.used <- m.win:
	default:
		syscall.Munmap(m.win)
	}
	m.win, m.cur = nil, nil
}

// Read implements io.Reader, copying out of the windows.
func (m *mappedFile) Read(p []byte) (int, error) {
	if len(m.cur) == 0 {
		if err := m.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, m.cur)
	m.cur = m.cur[n:]
	m.count(n)
	return n, nil
}

// NextChunk implements capture.ChunkReader: the part of the current
// window not yet read, then the next windows, each valid until the next
// call.
func (m *mappedFile) NextChunk() ([]byte, error) {
	if len(m.cur) == 0 {
		if err := m.next(); err != nil {
			return nil, err
		}
	}
	c := m.cur
	m.cur = nil
	m.count(len(c))
	return c, nil
}

func (m *mappedFile) count(n int) {
	if m.n != nil {
		m.n.Add(int64(n))
	}
}

// Close stops the mapping goroutine, unmaps every window and closes the
// file.
func (m *mappedFile) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	close(m.done)
	<-m.exited
	// What the goroutine mapped ahead or was given to unmap, and the
	// window still held, are unmapped here.
	for len(m.ready) > 0 {
		if w := <-m.ready; w.b != nil {
			syscall.Munmap(w.b)
		}
	}
	for len(m.used) > 0 {
		syscall.Munmap(<-m.used)
	}
	if m.win != nil {
		syscall.Munmap(m.win)
		m.win, m.cur = nil, nil
	}
	return m.f.Close()
}
