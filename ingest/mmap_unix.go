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

// mapWindow is how much of a file is mapped at once: a few MiB, so that
// the mapped pages the process holds stay the same whatever the file's
// size.
const mapWindow = 4 << 20

// mappedFile reads a regular file through windows mapped from it (mmap(2))
// instead of read(2): the bytes are not copied out of the page cache, a
// sixth of the work of a capture that is mostly RTP, and no goroutine has
// to do it. It implements capture.ChunkReader: each window is a chunk.
//
// A mapped file that another process truncates faults when a page past its
// new end is read (SIGBUS): mappedFile is only used where the reading
// goroutine has asked the runtime to turn such faults into panics
// (debug.SetPanicOnFault) and recovers them (MessagesAndMedia).
type mappedFile struct {
	f    *os.File
	size int64         // when opened: a file that grows is read to there
	off  int64         // of the next window
	win  []byte        // the window mapped last, unmapped at the next
	cur  []byte        // its part not yet handed on
	n    *atomic.Int64 // bytes handed on, for a progress display; may be nil
}

// mapFile returns a mappedFile for f, of size bytes, if its first window
// can be mapped.
func mapFile(f *os.File, size int64, counter *atomic.Int64) (*mappedFile, bool) {
	m := &mappedFile{f: f, size: size, n: counter}
	if size > 0 && m.next() != nil {
		return nil, false
	}
	return m, true
}

// next unmaps the window handed on and maps the following one.
func (m *mappedFile) next() error {
	m.unmap()
	if m.off >= m.size {
		return io.EOF
	}
	n := min(mapWindow, m.size-m.off)
	b, err := syscall.Mmap(int(m.f.Fd()), m.off, int(n), syscall.PROT_READ, syscall.MAP_SHARED|mapPopulate)
	if err != nil {
		return &os.PathError{Op: "mmap", Path: m.f.Name(), Err: err}
	}
	m.win, m.cur, m.off = b, b, m.off+n
	return nil
}

func (m *mappedFile) unmap() {
	if m.win != nil {
		syscall.Munmap(m.win)
		m.win, m.cur = nil, nil
	}
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

// Close unmaps the window and closes the file.
func (m *mappedFile) Close() error {
	m.unmap()
	return m.f.Close()
}
