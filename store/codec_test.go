package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/s2"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
)

// realMessages returns the SIP messages of a real capture as a call's
// messages.
func realMessages(t testing.TB, name string) []RawMessage {
	t.Helper()
	r, err := capture.OpenFile(filepath.Join("..", "..", "shared", "testdata", "captures", name))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ms []RawMessage
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, RawMessage{Frame: p.Frame, Time: p.Time, Src: p.Src.String(), Dst: p.Dst.String(),
			Transport: p.Transport, Raw: bytes.Clone(p.Payload)})
	}
	if len(ms) < 5 {
		t.Fatalf("%s: %d SIP messages", name, len(ms))
	}
	return ms
}

// TestCompressedRows: a call's JSON and messages are stored compressed,
// in a fraction of their bytes, and read back exactly as they were put;
// a call with an audio verdict also keeps its MOS and one-way audio in
// columns of their own, which the MOS chart reads.
func TestCompressedRows(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	rec := testCall(1, 486, analyze.OutcomeBusy)
	rec.Messages = realMessages(t, "MichalCab-ISA__real_sip_call.pcap")
	rec.Call.Findings = []analyze.Finding{{ID: "busy", Severity: "error", Fault: "remote",
		Values: map[string]string{"code": "486", "reason": "Busy Here"}, Frames: []int{4, 5}}}
	if err := s.PutCalls(ctx, []CallRecord{rec}); err != nil {
		t.Fatal(err)
	}
	var jsLen, jsCodec, dataLen, codec int
	if err := s.w.QueryRow(`SELECT length(json), json_codec, length(data), codec FROM calls JOIN call_messages ON call = calls.id`).
		Scan(&jsLen, &jsCodec, &dataLen, &codec); err != nil {
		t.Fatal(err)
	}
	plain := len(encodeMessages(rec.Messages))
	if codec != codecS2 || dataLen*2 > plain {
		t.Errorf("messages stored in %d bytes with codec %d; %d plain", dataLen, codec, plain)
	}
	js, _ := rec.json()
	if jsCodec != codecS2 || jsLen >= len(js) {
		t.Errorf("JSON stored in %d bytes with codec %d; %d plain", jsLen, jsCodec, len(js))
	}
	got, err := s.GetCall(ctx, rec.Call.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != len(rec.Messages) {
		t.Fatalf("%d messages back, %d put", len(got.Messages), len(rec.Messages))
	}
	for i, m := range got.Messages {
		w := rec.Messages[i]
		if m.Frame != w.Frame || !m.Time.Equal(w.Time) || m.Src != w.Src || m.Dst != w.Dst || m.Transport != w.Transport || !bytes.Equal(m.Raw, w.Raw) {
			t.Fatalf("message %d: %+v, want %+v", i, m, w)
		}
	}
	mos := 2.1
	audio := testCall(2, 200, analyze.OutcomeAnswered)
	audio.Call.Audio = &analyze.Audio{Verdict: "one_way", MOS: &mos}
	audio.Call.Findings = rec.Call.Findings
	if err := s.PutCalls(ctx, []CallRecord{audio}); err != nil {
		t.Fatal(err)
	}
	// Its JSON is compressed too: the MOS chart reads the mos and
	// one_way columns.
	var gotMOS float64
	var oneWay int
	if err := s.w.QueryRow(`SELECT json_codec, mos, one_way FROM calls WHERE call_id = ?`, audio.Call.CallID).Scan(&jsCodec, &gotMOS, &oneWay); err != nil ||
		jsCodec != codecS2 || gotMOS != mos || oneWay != 1 {
		t.Errorf("a call with an audio verdict: JSON codec %d, mos %v, one_way %d (%v); want compressed, %v, 1", jsCodec, gotMOS, oneWay, err, mos)
	}
	if got.Call.FinalStatus != 486 || len(got.Call.Findings) != 1 || got.Call.Findings[0].Values["reason"] != "Busy Here" {
		t.Errorf("call back: %+v", got.Call)
	}
}

// TestPlainRowsOfOlderStores opens a database written before rows were
// compressed (no codec columns, plain JSON and messages): the columns
// are added, its calls read as before, and new calls are stored beside
// them compressed.
func TestPlainRowsOfOlderStores(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	old := testCall(1, 486, analyze.OutcomeBusy)
	old.Messages = realMessages(t, "MichalCab-ISA__sip.pcap")
	js, _ := old.json()
	c := old.Call
	if _, err := s.w.Exec(`ALTER TABLE calls DROP COLUMN json_codec; ALTER TABLE call_messages DROP COLUMN codec`); err != nil {
		t.Fatal(err)
	}
	res, err := s.w.Exec(`INSERT INTO calls (call_id, start, caller, callee, from_uri, to_uri, final_status, outcome, fault, leg_of,
		pdd_ms, duration_ms, caller_name, reason, summary, json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.CallID, c.Start.UnixNano(), c.Caller, c.Callee, c.From, c.To, c.FinalStatus, c.Outcome, c.Fault, c.LegOf,
		c.PDDMS, c.DurationMS, c.CallerName, c.Reason, old.Summary, js)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	if _, err := s.w.Exec(`INSERT INTO call_messages (call, n, data) VALUES (?,?,?)`, id, len(old.Messages), encodeMessages(old.Messages)); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s, path)
	fresh := testCall(2, 200, analyze.OutcomeAnswered)
	fresh.Messages = old.Messages
	if err := s2.PutCalls(ctx, []CallRecord{fresh}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []CallRecord{old, fresh} {
		got, err := s2.GetCall(ctx, want.Call.CallID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Call.FinalStatus != want.Call.FinalStatus || len(got.Messages) != len(want.Messages) ||
			!bytes.Equal(got.Messages[3].Raw, want.Messages[3].Raw) {
			t.Errorf("%s: status %d, %d messages", want.Call.CallID, got.Call.FinalStatus, len(got.Messages))
		}
	}
	var codecs []int
	rows, err := s2.w.Query(`SELECT codec FROM call_messages ORDER BY call`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c int
		rows.Scan(&c)
		codecs = append(codecs, c)
	}
	rows.Close()
	if len(codecs) != 2 || codecs[0] != codecPlain || codecs[1] != codecS2 {
		t.Errorf("codecs %v, want the old row plain and the new one compressed", codecs)
	}
}

// TestDecompressBounds: a stored blob is hostile data too (a damaged
// file, or one written by someone else): what it claims to decompress to
// is checked before memory is taken for it.
func TestDecompressBounds(t *testing.T) {
	huge := binary.AppendUvarint(nil, maxDecoded+1) // an s2 block's header: its decoded length
	huge = append(huge, 0, 'x')
	tests := []struct {
		name  string
		blob  []byte
		codec int
	}{
		{"claims more than the bound", huge, codecS2},
		{"not s2", []byte("{\"call_id\":\"x\"}"), codecS2},
		{"truncated", s2.Encode(nil, bytes.Repeat([]byte("INVITE sip:a@b SIP/2.0\r\n"), 20))[:10], codecS2},
		{"unknown codec", []byte("x"), 7},
	}
	for _, tt := range tests {
		if out, err := decompressBlob(tt.blob, tt.codec); err == nil || !errors.Is(err, errBlob) {
			t.Errorf("%s: %d bytes, %v; want errBlob", tt.name, len(out), err)
		}
	}
	in := bytes.Repeat([]byte("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK\r\n"), 100)
	z, _, codec := compressBlob(nil, in)
	if out, err := decompressBlob(z, codec); codec != codecS2 || err != nil || !bytes.Equal(out, in) {
		t.Errorf("round trip: codec %d, %v", codec, err)
	}
	if b, _, codec := compressBlob(nil, []byte("short")); codec != codecPlain || string(b) != "short" {
		t.Errorf("a short blob is kept plain: codec %d", codec)
	}
}

func FuzzDecompressBlob(f *testing.F) {
	f.Add(s2.Encode(nil, bytes.Repeat([]byte("SIP/2.0 200 OK\r\n"), 30)))
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decompressBlob(b, codecS2)
		if err == nil && len(out) > maxDecoded {
			t.Fatalf("%d bytes decoded", len(out))
		}
	})
}

// BenchmarkPutCallsCompressed stores calls with the messages of a real
// call (11 KB of SIP) in batches of 500, as the collector does: the cost
// per call with compression, and the database's bytes per call.
func BenchmarkPutCallsCompressed(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := OpenSQLite(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msgs := realMessages(b, "MichalCab-ISA__real_sip_call.pcap")
	b.ReportAllocs()
	batch := make([]CallRecord, 500)
	n := 0
	for b.Loop() {
		for i := range batch {
			batch[i] = testCall(n, 200, analyze.OutcomeAnswered)
			batch[i].Messages = msgs
			n++
		}
		if err := s.PutCalls(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "calls/s")
	if used, err := s.UsedBytes(context.Background()); err == nil {
		b.ReportMetric(float64(used)/float64(n), "B/call")
	}
}

// TestMessageLogCompact: a compacted log holds its messages compressed,
// reads back the same, takes more messages after (decompressing first),
// is written by SQLite as it is and handed to other stores plain.
func TestMessageLogCompact(t *testing.T) {
	ms := realMessages(t, "MichalCab-ISA__real_sip_call.pcap")
	var l MessageLog
	for _, m := range ms[:len(ms)-1] {
		l.Append(m.Frame, m.Time, netip.MustParseAddrPort(m.Src), netip.MustParseAddrPort(m.Dst), m.Transport, m.Raw)
	}
	plain := l.Size()
	if n := l.Compact(); !l.Compacted() || n != l.Size() || n*2 > plain {
		t.Fatalf("compacted to %d bytes (compacted %v), %d plain", l.Size(), l.Compacted(), plain)
	}
	same := func(got []RawMessage, want []RawMessage) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d messages, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Frame != want[i].Frame || !got[i].Time.Equal(want[i].Time) || got[i].Src != want[i].Src || !bytes.Equal(got[i].Raw, want[i].Raw) {
				t.Fatalf("message %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	got, err := l.Messages()
	if err != nil {
		t.Fatal(err)
	}
	same(got, ms[:len(ms)-1])

	// SQLite writes the compacted log as it is.
	s, _ := openTemp(t)
	rec := testCall(1, 200, analyze.OutcomeAnswered)
	rec.Messages, rec.Log = nil, &l
	if err := s.PutCalls(context.Background(), []CallRecord{rec}); err != nil {
		t.Fatal(err)
	}
	var data []byte
	var codec int
	if err := s.w.QueryRow(`SELECT data, codec FROM call_messages`).Scan(&data, &codec); err != nil {
		t.Fatal(err)
	}
	if codec != codecS2 || !bytes.Equal(data, l.b) {
		t.Errorf("stored %d bytes with codec %d; the log holds %d", len(data), codec, len(l.b))
	}
	if cr, err := s.GetCall(context.Background(), rec.Call.CallID); err != nil {
		t.Fatal(err)
	} else {
		same(cr.Messages, ms[:len(ms)-1])
	}
	// Other stores (ClickHouse) get it plain.
	if b, n := rec.packed(); n != len(ms)-1 || !bytes.Equal(b, encodeMessages(ms[:len(ms)-1])) {
		t.Errorf("packed: %d messages, %d bytes", n, len(b))
	}

	// A message after: the log is decompressed and goes on.
	last := ms[len(ms)-1]
	l.Append(last.Frame, last.Time, netip.MustParseAddrPort(last.Src), netip.MustParseAddrPort(last.Dst), last.Transport, last.Raw)
	if l.Compacted() || l.Len() != len(ms) {
		t.Fatalf("after Append: compacted %v, %d messages", l.Compacted(), l.Len())
	}
	if got, err = l.Messages(); err != nil {
		t.Fatal(err)
	}
	same(got, ms)
}
