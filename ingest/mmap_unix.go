//go:build unix

package ingest

import (
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
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
	// With pins, a window read to its end is not unmapped at once: the
	// consumer may still read payloads in it (see pins), so it waits in
	// retired until the batch being filled when it was left is done.
	pins    *pins
	retired []retiredWindow
	taken   uint64 // pins.taken when the window being read was handed on
}

type retiredWindow struct {
	b      []byte
	ticket uint64 // the batch being filled when the window was left
}

type mapping struct {
	b   []byte
	err error
}

// mapFile returns a mappedFile for f, of size bytes (read to there if the
// file grows), if its first window can be mapped.
// With pn, windows stay mapped while a batch may hold payloads in them.
func mapFile(f *os.File, size int64, counter *atomic.Int64, pn *pins) (*mappedFile, bool) {
	m := &mappedFile{f: f, ready: make(chan mapping, 1), used: make(chan []byte, 1), done: make(chan struct{}), exited: make(chan struct{}), n: counter, pins: pn}
	var off int64
	if size > 0 {
		b, err := mapAt(f, 0, size)
		if err != nil {
			return nil, false
		}
		m.win, m.cur, off = b, b, int64(len(b))
		if pn != nil {
			m.taken = pn.taken
		}
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
	if m.pins != nil {
		m.taken = m.pins.taken
	}
	return nil
}

// unmap lets go of the window handed on: at once without pins, else once
// the batch being filled now is done; then of the windows retired before
// whose batches are done.
func (m *mappedFile) unmap() {
	if m.win == nil {
		return
	}
	// A window no payload was taken from in place (a capture of SIP
	// alone) is let go at once, as without pins.
	if m.pins == nil || m.pins.taken == m.taken {
		m.release(m.win)
		m.win, m.cur = nil, nil
		m.releaseDone()
		return
	}
	m.retired = append(m.retired, retiredWindow{m.win, m.pins.filling})
	m.win, m.cur = nil, nil
	m.releaseDone()
}

// releaseDone lets go of the retired windows whose batches are done.
func (m *mappedFile) releaseDone() {
	if len(m.retired) == 0 {
		return
	}
	done := m.pins.done.Load()
	n := 0
	for _, w := range m.retired {
		if w.ticket <= done {
			m.release(w.b)
			continue
		}
		m.retired[n] = w
		n++
	}
	clear(m.retired[n:])
	m.retired = m.retired[:n]
}

// release gives a window to the goroutine to unmap, or unmaps it itself
// when the goroutine is busy or gone.
func (m *mappedFile) release(b []byte) {
	select {
	case m.used <- b:
	default:
		syscall.Munmap(b)
	}
}

// holds says whether b lies in the window being read: a slice of it stays
// valid, with pins, until the batch being filled is done.
func (m *mappedFile) holds(b []byte) bool {
	if m == nil || m.pins == nil || len(b) == 0 || len(m.win) == 0 {
		return false
	}
	w, p := uintptr(unsafe.Pointer(unsafe.SliceData(m.win))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= w && p+uintptr(len(b)) <= w+uintptr(len(m.win))
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
	for _, w := range m.retired {
		syscall.Munmap(w.b)
	}
	m.retired = nil
	return m.f.Close()
}
