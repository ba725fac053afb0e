package sipmsg

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are every RFC 4475 vector and real message: the fuzzers'
// corpus, and the cases of the tests that hold a quick path to Parse.
func fuzzSeeds(f testing.TB) [][]byte {
	var seeds [][]byte
	for _, pattern := range []string{"testdata/rfc4475/*.dat", "testdata/real/*.sip"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	if len(seeds) < 50 {
		f.Fatalf("only %d seeds", len(seeds))
	}
	return seeds
}

// FuzzParse feeds hostile bytes to Parse and every accessor: none may
// panic, and the documented bounds must hold.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		buf := append([]byte(nil), in...)
		_ = LooksLikeSIP(buf)
		if n, ok := FrameLen(buf); ok && (n < 0 || n > len(buf)) {
			t.Fatalf("FrameLen = %d of %d", n, len(buf))
		}
		var m Message
		if err := Parse(buf, &m); err != nil {
			return
		}
		if len(m.Headers) > MaxHeaders || len(m.Warnings) > maxWarnings {
			t.Fatalf("%d headers, %d warnings", len(m.Headers), len(m.Warnings))
		}
		for _, name := range []string{"Via", "Contact", "From", "To", "Call-ID", "CSeq", "Content-Type", "Allow", "Date", "X-Unknown"} {
			_ = m.Get(name)
			for range m.All(name) {
			}
		}
		_ = m.CallID()
		_, _, _ = m.CSeq()
		_ = m.From().User()
		_ = m.To().Param("tag")
		for c := range m.Contacts() {
			_, _ = ParseURI(c.URI)
		}
		for v := range m.Vias() {
			_ = v.MagicCookie()
		}
		_, _ = m.TopVia()
		_, _ = m.ContentLength()
		_, _ = m.MaxForwards()
		_, _ = m.Expires()
		_ = m.IsMethod("INVITE")
		_, _ = m.SDP()
		_ = ParseCredentials(m.Get("WWW-Authenticate")).Nonce()
		_ = m.Strict()
		_ = Param(m.Get("Via"), "branch")
		_, _ = ParseURI(m.RequestURI)
	})
}

// FuzzSDP feeds hostile bytes to ParseSDP and the media helpers.
func FuzzSDP(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		var m Message
		if Parse(s, &m) == nil {
			if b, ok := m.SDPBody(); ok {
				f.Add(append([]byte(nil), b...))
			}
		}
	}
	f.Add([]byte("v=0\r\nc=IN IP4 1.2.3.4/127/3\r\nm=audio 0/2 RTP/AVP 0 8\r\na=sendonly\r\na=rtpmap:8 PCMA/8000/1\r\na=fmtp:8\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSDP(in)
		if err != nil {
			return
		}
		if len(s.Media) > MaxSDPMedia || len(s.Warnings) > maxWarnings {
			t.Fatalf("%d media, %d warnings", len(s.Media), len(s.Warnings))
		}
		for i := -1; i <= len(s.Media); i++ {
			_, _ = s.RTPEndpoint(i)
			_ = s.EffectiveDirection(i).String()
		}
	})
}

// FuzzViaParams: ParseVia's one walk over the parameters finds what three
// paramIn searches find, whatever the bytes.
func FuzzViaParams(f *testing.F) {
	for _, s := range []string{
		"branch=z9hG4bK1;rport;received=10.0.0.1",
		"rport=5060;BRANCH=\"z9;x\";branch=second;received",
		";;received=\"a\\\"b\";rport=;rport=2;branch",
		"x=\"unterminated;branch=z9hG4bK",
		"maddr=<sip:a;b>;branch = z9 ; rport",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		b, r, p, ps := viaParams(params)
		wb, _ := paramIn(params, "branch")
		wr, _ := paramIn(params, "received")
		wp, wps := paramIn(params, "rport")
		if !bytes.Equal(b, wb) || !bytes.Equal(r, wr) || !bytes.Equal(p, wp) || ps != wps || (b == nil) != (wb == nil) || (p == nil) != (wp == nil) {
			t.Fatalf("viaParams(%q) = %q %q %q %v, paramIn gives %q %q %q %v", params, b, r, p, ps, wb, wr, wp, wps)
		}
	})
}

// headerNameRef is how a header line was split before headerName: the
// first colon, the name before it without trailing white space, which
// must be a token.
func headerNameRef(line []byte) (name []byte, colon int, bad string) {
	c := bytes.IndexByte(line, ':')
	if c <= 0 {
		return nil, 0, "header line without a colon"
	}
	name = trimWSPRight(line[:c])
	if !isToken(name) {
		return nil, 0, "header name is not a token"
	}
	return name, c, ""
}

// FuzzHeaderName holds headerName, which finds a known name at the colon
// and looks at any other name's bytes once, to the split it replaced, and
// its header id to the table's, on any line.
func FuzzHeaderName(f *testing.F) {
	for _, s := range []string{"Via: x", "Via : x", "Via\t:x", ":x", "Via x: y", "V;a: x", "Via", "", " Via: x", "Via:\r", "X-A.b!%*_+`'~: 1", "Via \r: x", "é: x", "v: x", "VIA:x", "Call-ID : 1", "Via: a:b", "Via x:y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		n1, c1, h1, b1 := headerName(line)
		n2, c2, b2 := headerNameRef(line)
		h2 := hUnknown
		if b2 == "" {
			h2 = lookupHeader(n2)
		}
		if string(n1) != string(n2) || c1 != c2 || b1 != b2 || h1 != h2 {
			t.Fatalf("%q: got %q %d %v %q, want %q %d %v %q", line, n1, c1, h1, b1, n2, c2, h2, b2)
		}
	})
}

// FuzzIndexTop holds indexTop's table walk to the plain walk of every byte
// (indexTopAny), for each separator it has a table for and one it has not.
func FuzzIndexTop(f *testing.F) {
	for _, s := range []string{
		`SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;received=192.0.2.9`,
		`"Bob; the \"second\"" <sip:bob@example.com;transport=tcp>;tag=a,b`,
		`<sip:a@b>, <sip:c@d;x=1>;q=0.5`, `"unterminated;`, `<<;>>;`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []byte{';', ',', '=', ':', '"', '<'} {
			if got, want := indexTop(b, c), indexTopAny(b, c); got != want {
				t.Fatalf("indexTop(%q, %q) = %d, the plain walk gives %d", b, c, got, want)
			}
		}
	})
}

// FuzzIndexWSP holds indexWSP and lastIndexWSP to the bytes functions
// they replace.
func FuzzIndexWSP(f *testing.F) {
	for _, s := range []string{"INVITE sip:bob@example.com SIP/2.0", "a\tb c", "   ", "", "sip:a@b\t", "\x00 \xff\t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := indexWSP(b), bytes.IndexAny(b, " \t"); got != want {
			t.Fatalf("indexWSP(%q) = %d, bytes.IndexAny gives %d", b, got, want)
		}
		if got, want := lastIndexWSP(b), bytes.LastIndexAny(b, " \t"); got != want {
			t.Fatalf("lastIndexWSP(%q) = %d, bytes.LastIndexAny gives %d", b, got, want)
		}
	})
}
