package store

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Codecs of a stored blob (a call's JSON, its packed messages), kept in
// the row's codec column: rows written before the column existed read as
// codecPlain.
//
// A call's SIP messages repeat themselves (Via, From, To, Call-ID and
// CSeq in every one, the SDP twice) and so does its JSON: s2, a
// Snappy-style block compressor, makes a call's 4 KB a third of that for
// about half a microsecond per message. The collector's single SQLite
// writer then has a third of the bytes to put into its pages, the WAL and,
// at each checkpoint, the database file: with a call stored every 70 µs
// at 100,000 messages a second, those copies were its largest cost.
const (
	codecPlain = 0 // the bytes as they are
	codecS2    = 1 // an s2 block (github.com/klauspost/compress/s2)
)

// minCompress is the smallest blob worth compressing: below it the saving
// is a few bytes at best.
const minCompress = 128

// maxDecoded bounds what one stored blob may decompress to. A call the
// collector keeps holds at most 2 MiB of messages; an imported capture's
// call may hold more, but not this much. A damaged or forged row that
// claims more is refused before any memory is allocated for it.
const maxDecoded = 64 << 20

// errBlob is a stored blob that does not decode.
var errBlob = errors.New("store: damaged blob")

// compressBlob returns b compressed into buf (grown as needed and returned
// for reuse) and its codec, or b itself with codecPlain when compressing
// it would save too little to be worth decompressing.
func compressBlob(buf, b []byte) (blob, newBuf []byte, codec int) {
	if len(b) < minCompress {
		return b, buf, codecPlain
	}
	if n := s2.MaxEncodedLen(len(b)); n < 0 {
		return b, buf, codecPlain // too large for one block
	} else if cap(buf) < n {
		buf = make([]byte, n)
	}
	z := s2.Encode(buf[:cap(buf)], b)
	if len(z) > len(b)-len(b)/8 {
		return b, buf, codecPlain
	}
	return z, buf, codecS2
}

// decompressBlob returns the bytes a blob of codec holds. The result may
// be b itself.
func decompressBlob(b []byte, codec int) ([]byte, error) {
	switch codec {
	case codecPlain:
		return b, nil
	case codecS2:
		return decodeS2(b, 0)
	}
	return nil, fmt.Errorf("%w: unknown codec %d", errBlob, codec)
}

// decodeS2 decodes an s2 block into a new slice with room bytes of spare
// capacity, refusing one that claims more than maxDecoded before any
// memory is allocated for it.
func decodeS2(b []byte, room int) ([]byte, error) {
	n, err := s2.DecodedLen(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBlob, err)
	}
	if n > maxDecoded {
		return nil, fmt.Errorf("%w: %d bytes compressed claim %d, more than %d", errBlob, len(b), n, maxDecoded)
	}
	out, err := s2.Decode(make([]byte, n, n+room), b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBlob, err)
	}
	return out, nil
}
