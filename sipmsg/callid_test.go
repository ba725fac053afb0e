package sipmsg

import (
	"bytes"
	"testing"
)

func TestScanCallID(t *testing.T) {
	const inv = "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
	for _, c := range []struct {
		name, msg, want string
		ok              bool
	}{
		{"plain", inv + "Call-ID: abc@10.0.0.1\r\nCSeq: 1 INVITE\r\n\r\n", "abc@10.0.0.1", true},
		{"compact", inv + "i:abc\r\n\r\n", "abc", true},
		{"any case, space before the colon", inv + "CALL-id \t: \t abc \t\r\n\r\n", "abc", true},
		{"bare LF", "SIP/2.0 200 OK\nCall-ID: x1\n\n", "x1", true},
		{"the first of two", inv + "Call-ID: one\r\ni: two\r\n\r\n", "one", true},
		{"keep-alive before", "\r\n\r\n" + inv + "Call-ID: k\r\n\r\n", "k", true},
		{"after a continuation that names one", inv + "Subject: a\r\n Call-ID: fake\r\nCall-ID: real\r\n\r\n", "real", true},
		{"folded", inv + "Call-ID: abc\r\n @def\r\n\r\n", "", false},
		{"in the body only", inv + "Content-Length: 12\r\n\r\nCall-ID: b\r\n", "", false},
		{"none", inv + "\r\n", "", false},
		{"empty", inv + "Call-ID:  \r\n\r\n", "", false},
		{"no header end", inv + "Call-ID: abc", "abc", true},
		{"start line only", "INVITE sip:x SIP/2.0", "", false},
		{"a longer name", inv + "Call-IDs: abc\r\n\r\n", "", false},
		{"name with a space inside", inv + "Call -ID: abc\r\n\r\n", "", false},
	} {
		id, ok := ScanCallID([]byte(c.msg))
		if ok != c.ok || string(id) != c.want {
			t.Errorf("%s: %q %v, want %q %v", c.name, id, ok, c.want, c.ok)
		}
		// Wherever the scan answers, Parse agrees.
		var m Message
		if ok && Parse([]byte(c.msg), &m) == nil && !bytes.Equal(m.CallID(), id) {
			t.Errorf("%s: scan %q, Parse %q", c.name, id, m.CallID())
		}
	}
	// Past MaxHeaders lines Parse ignores the rest: so does the scan.
	var many bytes.Buffer
	many.WriteString(inv)
	for range MaxHeaders {
		many.WriteString("X: y\r\n")
	}
	many.WriteString("Call-ID: late\r\n\r\n")
	if id, ok := ScanCallID(many.Bytes()); ok {
		t.Errorf("after %d header lines: %q; want none", MaxHeaders, id)
	}
}

// TestScanCallIDSeeds: on every RFC 4475 torture test and real message the
// scan finds the Call-ID Parse finds, or says it cannot.
func TestScanCallIDSeeds(t *testing.T) {
	found := 0
	for _, b := range fuzzSeeds(t) {
		id, ok := ScanCallID(b)
		var m Message
		if Parse(bytes.Clone(b), &m) != nil {
			continue
		}
		if ok {
			found++
			if !bytes.Equal(m.CallID(), id) {
				t.Errorf("scan %q, Parse %q in %.60q", id, m.CallID(), b)
			}
		}
	}
	if found < 40 {
		t.Errorf("the scan found the Call-ID of %d messages; want most", found)
	}
}

// FuzzScanCallID: wherever the scan gives a Call-ID, Parse gives the same
// one (or refuses the message, which is then dropped either way).
func FuzzScanCallID(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nCall-ID: a\r\n b\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nI :\tz\r\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		id, ok := ScanCallID(in)
		if !ok {
			return
		}
		if len(id) == 0 {
			t.Fatalf("ok with an empty Call-ID")
		}
		var m Message
		if Parse(bytes.Clone(in), &m) != nil {
			return
		}
		if !bytes.Equal(m.CallID(), id) {
			t.Fatalf("scan %q, Parse %q", id, m.CallID())
		}
	})
}

// BenchmarkScanCallID is what a message of a refused call costs to find its
// Call-ID, against parsing it.
func BenchmarkScanCallID(b *testing.B) {
	msg := []byte("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 10.1.0.1:5060;branch=z9hG4bK-1;received=10.1.0.1\r\n" +
		"From: <sip:31201234567@pbx.test>;tag=a1\r\nTo: <sip:31207654321@provider.test>;tag=b2\r\n" +
		"Call-ID: load-0123456789@sipcause.test\r\nCSeq: 1 INVITE\r\nContact: <sip:31207654321@10.2.0.1:5060>\r\n" +
		"User-Agent: provider-sbc\r\nContent-Length: 0\r\n\r\n")
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ScanCallID(msg); !ok {
				b.Fatal("no Call-ID")
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		var m Message
		buf := make([]byte, len(msg))
		for b.Loop() {
			copy(buf, msg)
			if Parse(buf, &m) != nil || m.CallID() == nil {
				b.Fatal("no Call-ID")
			}
		}
	})
}
