//go:build !unix

package ingest

import (
	"io"
	"os"
	"sync/atomic"
)

// canMap says whether files are read through memory mappings here: not on
// this system, where they are read with read-ahead.
const canMap = false

const mapWindow = 2 << 20

type mappedFile struct{ io.ReadCloser }

func mapFile(*os.File, int64, *atomic.Int64, *pins) (*mappedFile, bool) { return nil, false }

func (m *mappedFile) holds([]byte) bool { return false }

func (m *mappedFile) NextChunk() ([]byte, error) { return nil, io.EOF }
