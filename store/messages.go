package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// MessageLog is a call's raw messages packed as the stores keep them, one
// after the other in one byte slice (see encodeMessages): a collector
// appends each message of an open call as it arrives, and a store writes
// the slice as it is. Holding a call's messages so costs their bytes and a
// few more each, with no allocation per message, where a []RawMessage
// costs a struct, two address strings and a copy of the bytes per message.
// The zero value is an empty log.
//
// A log can be compacted (Compact) while no message is added to it: a
// call that is quiet, ringing, talking or settling before it is reported,
// then holds its messages compressed as the SQLite store keeps them, in a
// third of the bytes, and the store writes them without compressing
// again.
type MessageLog struct {
	b []byte
	n int
	z bool // b is an s2 block of the packed messages (codecS2)
}

// Compact compresses the log in place, when that saves at least an
// eighth of its bytes; a later Append decompresses it first. It returns
// how many bytes the log holds then.
func (l *MessageLog) Compact() int {
	if l.z || len(l.b) < minCompress {
		return len(l.b)
	}
	buf := compactBufs.Get().(*[]byte)
	z, nb, codec := compressBlob(*buf, l.b)
	if codec == codecS2 {
		l.b, l.z = append(make([]byte, 0, len(z)), z...), true
	}
	*buf = nb
	compactBufs.Put(buf)
	return len(l.b)
}

// Compacted reports whether the log holds its messages compressed.
func (l *MessageLog) Compacted() bool { return l.z }

// compactBufs are the scratch buffers Compact compresses into before it
// copies the result into a slice of its size.
var compactBufs = sync.Pool{New: func() any { return new([]byte) }}

// plain returns the packed messages uncompressed (a copy when the log is
// compacted) and a room of extra bytes' capacity after them.
func (l *MessageLog) plain(room int) ([]byte, error) {
	if !l.z {
		return l.b, nil
	}
	return decodeS2(l.b, room)
}

// Append adds one message: its frame number, capture time, source and
// destination, transport and bytes as received (raw is copied).
func (l *MessageLog) Append(frame int, t time.Time, src, dst netip.AddrPort, transport string, raw []byte) {
	var buf [64]byte
	if l.z {
		// A compacted log is only ever one Compact made: it decodes.
		b, err := l.plain(len(raw) + 64)
		if err != nil {
			b = nil // cannot happen; the messages so far are lost rather than the process
			l.n = 0
		}
		l.b, l.z = b, false
	}
	if l.b == nil {
		// Room for a few messages the size of the first (a call's INVITE
		// is about its largest): most calls then grow once or not at
		// all, instead of five times from a kilobyte.
		l.b = make([]byte, 0, 4*(len(raw)+64))
	}
	l.b = binary.AppendVarint(l.b, int64(frame))
	l.b = binary.AppendVarint(l.b, t.UnixNano())
	for _, a := range [2]netip.AddrPort{src, dst} {
		s := appendAddrPort(buf[:0], a)
		l.b = binary.AppendUvarint(l.b, uint64(len(s)))
		l.b = append(l.b, s...)
	}
	l.b = binary.AppendUvarint(l.b, uint64(len(transport)))
	l.b = append(l.b, transport...)
	l.b = binary.AppendUvarint(l.b, uint64(len(raw)))
	l.b = append(l.b, raw...)
	l.n++
}

// appendAddrPort appends a's text as a.String() writes it (an invalid one
// included), without an allocation for a valid one.
func appendAddrPort(b []byte, a netip.AddrPort) []byte {
	if !a.IsValid() {
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}

// Len returns how many messages the log holds.
func (l *MessageLog) Len() int { return l.n }

// Size returns the bytes the log holds (compressed when compacted).
func (l *MessageLog) Size() int { return len(l.b) }

// Messages unpacks the log.
func (l *MessageLog) Messages() ([]RawMessage, error) {
	b, err := l.plain(0)
	if err != nil {
		return nil, err
	}
	return decodeMessages(b)
}

// packed returns the call's messages packed as encodeMessages packs them,
// and how many there are: the log when the record has one (decompressed
// when it was compacted), else its Messages packed.
func (cr *CallRecord) packed() ([]byte, int) {
	b, n, codec := cr.stored()
	if codec != codecPlain {
		var err error
		if b, err = cr.Log.plain(0); err != nil {
			return nil, 0
		}
	}
	return b, n
}

// stored is packed for a store that keeps codecs (SQLite): a compacted
// log is returned as it is, compressed, with its codec.
func (cr *CallRecord) stored() (data []byte, n, codec int) {
	if cr.Log != nil {
		if cr.Log.z {
			return cr.Log.b, cr.Log.n, codecS2
		}
		return cr.Log.b, cr.Log.n, codecPlain
	}
	if len(cr.Messages) == 0 {
		return nil, 0, codecPlain
	}
	return encodeMessages(cr.Messages), len(cr.Messages), codecPlain
}

// messages returns the call's messages one by one: Messages, or the log
// unpacked.
func (cr *CallRecord) messages() []RawMessage {
	if cr.Log != nil && len(cr.Messages) == 0 {
		ms, _ := cr.Log.Messages() // a log Append wrote always decodes
		return ms
	}
	return cr.Messages
}

// json returns the call as JSON: the record's own, or Call marshaled.
func (cr *CallRecord) json() ([]byte, error) {
	if cr.JSON != nil {
		return cr.JSON, nil
	}
	return json.Marshal(cr.Call)
}

// encodeMessages packs a call's raw messages into one blob: per message
// the frame and the time in nanoseconds as varints, then source,
// destination, transport and the raw bytes, each with a varint length.
func encodeMessages(ms []RawMessage) []byte {
	n := 0
	for _, m := range ms {
		n += 40 + len(m.Src) + len(m.Dst) + len(m.Transport) + len(m.Raw)
	}
	b := make([]byte, 0, n)
	for _, m := range ms {
		b = binary.AppendVarint(b, int64(m.Frame))
		b = binary.AppendVarint(b, m.Time.UnixNano())
		for _, s := range [][]byte{[]byte(m.Src), []byte(m.Dst), []byte(m.Transport), m.Raw} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

// decodeMessages unpacks what encodeMessages packed.
func decodeMessages(b []byte) ([]RawMessage, error) {
	var out []RawMessage
	bad := errors.New("store: damaged message blob")
	varint := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	field := func() ([]byte, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil, false
		}
		f := b[n : n+int(l)]
		b = b[n+int(l):]
		return f, true
	}
	for len(b) > 0 {
		frame, ok1 := varint()
		t, ok2 := varint()
		src, ok3 := field()
		dst, ok4 := field()
		tr, ok5 := field()
		raw, ok6 := field()
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
			return out, bad
		}
		out = append(out, RawMessage{Frame: int(frame), Time: time.Unix(0, t).UTC(), Src: string(src), Dst: string(dst),
			Transport: string(tr), Raw: append([]byte(nil), raw...)})
	}
	return out, nil
}
