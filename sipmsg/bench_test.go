package sipmsg

import "testing"

func benchParse(b *testing.B, name string) {
	orig := readReal(b, name)
	work := make([]byte, len(orig))
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(orig)))
	for b.Loop() {
		copy(work, orig)
		if err := Parse(work, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInviteSDP(b *testing.B) { benchParse(b, "invite-sdp.sip") }
func BenchmarkParse200OK(b *testing.B)     { benchParse(b, "ok-200-sdp.sip") }

func BenchmarkParseTortuous(b *testing.B) {
	orig := readVector(b, "wsinv.dat")
	work := make([]byte, len(orig))
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(orig)))
	for b.Loop() {
		copy(work, orig)
		_ = Parse(work, &m)
	}
}

// BenchmarkAccessors measures the fields the analyzer reads per message.
func BenchmarkAccessors(b *testing.B) {
	var m Message
	if err := Parse(readReal(b, "invite-sdp.sip"), &m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.CallID()
		_, _, _ = m.CSeq()
		_ = m.From().Tag
		_ = m.To().Tag
		_ = Param(m.Get("Via"), "branch")
	}
}

func BenchmarkParseSDP(b *testing.B) {
	var m Message
	if err := Parse(readReal(b, "ok-200-sdp.sip"), &m); err != nil {
		b.Fatal(err)
	}
	body, _ := m.SDPBody()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseSDP(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStrict(b *testing.B) {
	var m Message
	if err := Parse(readReal(b, "invite-sdp.sip"), &m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Strict()
	}
}

func BenchmarkLooksLikeSIP(b *testing.B) {
	in := readReal(b, "invite-sdp.sip")
	b.ReportAllocs()
	for b.Loop() {
		_ = LooksLikeSIP(in)
	}
}

func BenchmarkFrameLen(b *testing.B) {
	in := readReal(b, "invite-sdp.sip")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = FrameLen(in)
	}
}
