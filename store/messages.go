package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"time"
)

// MessageLog is a call's raw messages packed as the stores keep them, one
// after the other in one byte slice (see encodeMessages): a collector
// appends each message of an open call as it arrives, and a store writes
// the slice as it is. Holding a call's messages so costs their bytes and a
// few more each, with no allocation per message, where a []RawMessage
// costs a struct, two address strings and a copy of the bytes per message.
// The zero value is an empty log.
type MessageLog struct {
	b []byte
	n int
}

// Append adds one message: its frame number, capture time, source and
// destination, transport and bytes as received (raw is copied).
func (l *MessageLog) Append(frame int, t time.Time, src, dst netip.AddrPort, transport string, raw []byte) {
	var buf [64]byte
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

// Size returns the bytes the log holds.
func (l *MessageLog) Size() int { return len(l.b) }

// Messages unpacks the log.
func (l *MessageLog) Messages() ([]RawMessage, error) { return decodeMessages(l.b) }

// packed returns the call's messages packed as encodeMessages packs them,
// and how many there are: the log when the record has one, else its
// Messages packed.
func (cr *CallRecord) packed() ([]byte, int) {
	if cr.Log != nil {
		return cr.Log.b, cr.Log.n
	}
	if len(cr.Messages) == 0 {
		return nil, 0
	}
	return encodeMessages(cr.Messages), len(cr.Messages)
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
