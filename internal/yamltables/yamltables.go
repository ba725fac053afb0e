// Package yamltables is what the packages whose knowledge is YAML
// (catalog, analyze) and internal/gentables, which turns that YAML into Go
// tables, share: the decoding of a file and the checksum that tells
// whether the tables are current.
package yamltables

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Sum is the CRC-32C of the files data/*.yaml of fsys in name order: the
// tables carry the sum of the files they were made from, and a package
// compares it with its embedded files' at start (microseconds, where
// decoding the files takes milliseconds).
func Sum(fsys fs.FS) (uint32, error) {
	names, err := fs.Glob(fsys, "data/*.yaml")
	if err != nil {
		return 0, fmt.Errorf("yamltables: %w", err)
	}
	sort.Strings(names)
	// The files are read through one small buffer, not each copied whole
	// (fs.ReadFile): at start-up the copies cost more than the sum.
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	var buf [16 << 10]byte
	for _, n := range names {
		f, err := fsys.Open(n)
		if err != nil {
			return 0, fmt.Errorf("yamltables: %w", err)
		}
		_, err = io.CopyBuffer(h, f, buf[:])
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("yamltables: %w", err)
		}
	}
	return h.Sum32(), nil
}

// Decode decodes the YAML file name of fsys into v; a field the Go type
// does not have is an error, so that a misspelt key is not silently lost.
func Decode(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("yamltables: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
