package analyze

import (
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"github.com/sipcause/sipcause/sipmsg"
)

const sharedCaptures = "../../shared/testdata/captures"

// sharedMessages decodes a shared capture into analyzer messages, as
// package ingest does, so that a benchmark times the analyzer alone.
func sharedMessages(tb testing.TB, name string) []Message {
	return decodeWith(tb, name, &Interner{})
}

// BenchmarkAnalyzerAdd is the analyzer's cost per message on a SIPp load
// run (8989 messages over UDP: calls with retransmissions), the messages
// decoded beforehand; ns/msg and allocs/msg are per message.
func BenchmarkAnalyzerAdd(b *testing.B) {
	msgs := sharedMessages(b, "goffinet-sip_captures__branch-scenario-sipp.pcapng")
	b.ReportAllocs()
	var allocs float64
	for b.Loop() {
		a := New(Options{OnCall: func(*Call) {}, OnRegister: func(*Register) {}, OnDialog: func(*Dialog) {}})
		for i := range msgs {
			a.Add(msgs[i])
		}
		a.Finish()
	}
	allocs = testing.AllocsPerRun(1, func() {
		a := New(Options{OnCall: func(*Call) {}, OnRegister: func(*Register) {}, OnDialog: func(*Dialog) {}})
		for i := range msgs {
			a.Add(msgs[i])
		}
		a.Finish()
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(msgs)), "ns/msg")
	b.ReportMetric(allocs/float64(len(msgs)), "allocs/msg")
}

// What every message goes through, the retransmission check and the
// lookup of its transaction, allocates nothing once the addresses are
// known: at thousands of calls a second, garbage is what the analyzer
// would spend its time on.
func TestHotPathAllocs(t *testing.T) {
	var f flow
	f.req(0, phone, provider, "INVITE", "hot", 1, "z9hG4bK-hot", "f1", "")
	f.resp(50*1e6, provider, phone, 486, "Busy Here", "hot", 1, "INVITE", "z9hG4bK-hot", "f1", "t1")
	a := New(Options{})
	for _, m := range f.msgs {
		a.Add(m)
	}
	c := a.calls["hot"]
	if c == nil {
		t.Fatal("the call is not open")
	}
	for i := range f.msgs {
		m := &f.msgs[i]
		if n := testing.AllocsPerRun(100, func() { a.isRetransmission(m) }); n != 0 {
			t.Errorf("isRetransmission(%s): %v allocations", m.Method+itoa(m.StatusCode), n)
		}
		method := m.Method
		if !m.Request {
			method = m.CSeqMethod
		}
		if n := testing.AllocsPerRun(100, func() { findTxn(&c.byKey, m, method) }); n != 0 {
			t.Errorf("findTxn(%s): %v allocations", m.Method+itoa(m.StatusCode), n)
		}
		if findTxn(&c.byKey, m, method) == nil {
			t.Errorf("findTxn(%s) found nothing", m.Method+itoa(m.StatusCode))
		}
	}
}

// TestAnalyzerAllocsPerMessage is the allocation guard of the whole
// analysis, per message, on the SIPp capture of BenchmarkAnalyzerAdd: the
// retransmission check and the transaction lookup allocate nothing (see
// TestHotPathAllocs), so what is left is the state kept of each call and
// registration and their explanation. It was 13.1 allocations a message;
// keeping a call's first copies of requests in a slice and the explained
// addresses' strings from the analyzer's cache brought it to 11.3. A call
// holds its ladder as steps and makes them Exchanges when it is explained
// (a third of the bytes while it waits for late retransmissions): one
// allocation more per call, 11.56; later work, 8.78. The explanation's
// memos of agents, reason phrases, status codes and responders' names,
// its count of early dialogs without a map and its placeholders' map used
// again for every call brought it to 8.06; the call, its moments, its
// responder and its first findings in one allocation, 7.64; a
// transaction's final answer in place, 7.23; the quiet list linked through
// the calls, 7.08.
func TestAnalyzerAllocsPerMessage(t *testing.T) {
	msgs := sharedMessages(t, "goffinet-sip_captures__branch-scenario-sipp.pcapng")
	allocs := testing.AllocsPerRun(3, func() {
		a := New(Options{OnCall: func(*Call) {}, OnRegister: func(*Register) {}, OnDialog: func(*Dialog) {}})
		for i := range msgs {
			a.Add(msgs[i])
		}
		a.Finish()
	})
	per := allocs / float64(len(msgs))
	t.Logf("%.2f allocations a message (%d messages)", per, len(msgs))
	if per > 7.25 {
		t.Errorf("%.2f allocations a message, want at most 7.25", per)
	}
}

// What FromSIPInto works out for the analyzer on the reading goroutine
// (Analyzer.NewInterner) gives the same report as the analyzer working it
// out itself, on captures with retransmissions, packets captured twice
// and a B2BUA; and a
// message fingerprinted with another analyzer's seed is not trusted.
func TestPrecomputedSameReport(t *testing.T) {
	for _, name := range []string{"goffinet-sip_captures__private-test-sip.pcapng", "goffinet-sip_captures__sip-2phones-B2BUA-Asterisk.pcapng", "heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"} {
		plain := sharedMessages(t, name)
		want := New(Options{})
		for i := range plain {
			want.Add(plain[i])
		}
		got, other := New(Options{}), New(Options{})
		in, otherIn := got.NewInterner(), other.NewInterner()
		pre := decodeWith(t, name, in)
		foreign := decodeWith(t, name, otherIn)
		for i := range pre {
			if !pre[i].pre.ok {
				t.Fatalf("%s: message %d has nothing precomputed", name, i)
			}
			got.AddRef(&pre[i])
		}
		// Every other message fingerprinted with another analyzer's seed:
		// those are worked out again, so that a retransmission still
		// matches its original.
		mixed := New(Options{})
		for i := range foreign {
			if i%2 == 0 {
				mixed.AddRef(&foreign[i])
			} else {
				mixed.Add(plain[i])
			}
		}
		w, g, m := want.Finish(), got.Finish(), mixed.Finish()
		if !reflect.DeepEqual(w, g) || !reflect.DeepEqual(w, m) {
			t.Errorf("%s: reports differ with precomputed fingerprints", name)
		}
		if w.Summary.Retransmitted+w.Summary.Duplicates == 0 {
			t.Errorf("%s: no retransmission or duplicate to tell", name)
		}
	}
}

func decodeWith(tb testing.TB, name string, in *Interner) []Message {
	tb.Helper()
	rd, err := capture.OpenFile(filepath.Join(sharedCaptures, name))
	if err != nil {
		sharedtest.Missing(tb, filepath.Join(sharedCaptures, name), err)
	}
	defer rd.Close()
	var out []Message
	var msg sipmsg.Message
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if sipmsg.Parse(p.Payload, &msg) != nil {
			continue
		}
		out = append(out, Message{})
		FromSIPInto(&out[len(out)-1], Meta{File: p.File, Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst, Transport: p.Transport}, &msg, in)
	}
	return out
}
