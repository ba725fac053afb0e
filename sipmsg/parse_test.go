package sipmsg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func mustParse(t testing.TB, b []byte) *Message {
	t.Helper()
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return &m
}

func readReal(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNotSIP(t *testing.T) {
	for _, in := range []string{
		"",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"hello",
		"SIP/2.0\r\n",
		"SIP/2.0 abc\r\n",
		"SIP/2.0 200OK\r\n",
		"INVITE\r\n",
		"INVITE sip:a@b\r\n",
		"\x00\x01\x02 sip:a SIP/2.0\r\n",
	} {
		var m Message
		err := Parse([]byte(in), &m)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *ParseError", in, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sipmsg: ") {
			t.Errorf("error %q lacks the sipmsg: prefix", err)
		}
	}
}

func TestParseWarnings(t *testing.T) {
	base := "Via: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n"
	tests := []struct {
		name string
		in   []byte
		want []string // exact set of warning codes
	}{
		{"clean", crlf("OPTIONS sip:c@d SIP/2.0\n" + base + "Content-Length: 0\n\n"), nil},
		{"bare LF", []byte("OPTIONS sip:c@d SIP/2.0\n" + base + "Content-Length: 0\n\n"), []string{CodeBareLF}},
		{"no header end", crlf("OPTIONS sip:c@d SIP/2.0\n" + base), []string{CodeNoHeaderEnd}},
		{"bad content length", crlf("OPTIONS sip:c@d SIP/2.0\n" + base + "Content-Length: five\n\nabc"), []string{CodeBadContentLength}},
		{"short body", crlf("OPTIONS sip:c@d SIP/2.0\n" + base + "Content-Length: 10\n\nabc"), []string{CodeBodyTruncated}},
		{"same CL twice is fine", crlf("OPTIONS sip:c@d SIP/2.0\n" + base + "Content-Length: 3\nl: 3\n\nabc"), nil},
		{"header without colon", crlf("OPTIONS sip:c@d SIP/2.0\n" + base + "garbage line\nContent-Length: 0\n\n"), []string{CodeBadHeaderLine}},
		{"header name not a token", crlf("OPTIONS sip:c@d SIP/2.0\n" + base + "Bad Name: x\nContent-Length: 0\n\n"), []string{CodeBadHeaderLine}},
		{"fold before first header", crlf("OPTIONS sip:c@d SIP/2.0\n folded\n" + base + "\n"), []string{CodeBadHeaderLine}},
		{"missing everything", crlf("OPTIONS sip:c@d SIP/2.0\n\n"), []string{CodeMissingCallID, CodeMissingCSeq, CodeMissingFrom, CodeMissingTo, CodeMissingVia}},
		{"status 99", crlf("SIP/2.0 099 Low\n" + base + "\n"), []string{CodeBadStatusCode}},
		{"version", crlf("SIP/3.0 200 OK\n" + base + "\n"), []string{CodeBadVersion}},
		{"uri without scheme", crlf("OPTIONS nowhere SIP/2.0\n" + base + "\n"), []string{CodeBadRequestURI}},
		{"method not a token", crlf("OPT(IONS sip:c@d SIP/2.0\n" + base + "\n"), []string{CodeBadMethod}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.in)
			var got []string
			for _, w := range m.Warnings {
				if !slices.Contains(got, w.Code) {
					got = append(got, w.Code)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("warnings = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("OPTIONS sip:a@b SIP/2.0\r\n")
	for i := 0; i < MaxHeaders+50; i++ {
		b.WriteString("X-H: v\r\n")
	}
	b.WriteString("\r\n")
	m := mustParse(t, b.Bytes())
	if len(m.Headers) != MaxHeaders || !m.HasWarning(CodeTooManyHeaders) {
		t.Errorf("%d headers, warnings %v", len(m.Headers), m.Warnings)
	}
	big := append(crlf("MESSAGE sip:a@b SIP/2.0\nContent-Length: 0\n\n"), make([]byte, MaxMessageSize)...)
	m = mustParse(t, big)
	if !m.HasWarning(CodeTooLarge) {
		t.Error("no too-large warning")
	}
	var junk bytes.Buffer
	junk.WriteString("OPTIONS sip:a@b SIP/2.0\r\n")
	for i := 0; i < 1000; i++ {
		junk.WriteString("junk\r\n")
	}
	m = mustParse(t, junk.Bytes())
	if len(m.Warnings) > maxWarnings {
		t.Errorf("%d warnings, cap is %d", len(m.Warnings), maxWarnings)
	}
}

func TestFoldingInPlace(t *testing.T) {
	buf := crlf("SIP/2.0 200 OK\nSubject: a\n b\n\tc\nVia: SIP/2.0/UDP h\n\n")
	m := mustParse(t, buf)
	eq(t, "Subject", m.Get("subject"), "a   b  \tc")
	if bytes.Contains(buf[:bytes.Index(buf, []byte("Via"))], []byte("\r\n ")) {
		t.Error("fold not blanked in the buffer")
	}
}

func TestCompactForms(t *testing.T) {
	// Every compact form in the table, with the full name lookup and the
	// compact lookup finding the same header (RFC 3261 §7.3.3).
	for h := hid(1); h < hidCount; h++ {
		info := headerTable[h]
		if info.compact == 0 {
			continue
		}
		msg := crlf("OPTIONS sip:a@b SIP/2.0\n" + strings.ToUpper(string(info.compact)) + ": value-" + info.name + "\n\n")
		m := mustParse(t, msg)
		eq(t, "Get("+info.name+")", m.Get(info.name), "value-"+info.name)
		eq(t, "Get(lower)", m.Get(strings.ToLower(info.name)), "value-"+info.name)
		eq(t, "Get(compact)", m.Get(string(info.compact)), "value-"+info.name)
		if CanonicalName(string(info.compact)) != info.name {
			t.Errorf("CanonicalName(%c) = %q", info.compact, CanonicalName(string(info.compact)))
		}
	}
	want := map[byte]string{'i': "Call-ID", 'f': "From", 't': "To", 'v': "Via", 'm': "Contact", 'l': "Content-Length",
		'c': "Content-Type", 'k': "Supported", 's': "Subject", 'e': "Content-Encoding", 'o': "Event", 'u': "Allow-Events",
		'r': "Refer-To", 'b': "Referred-By", 'x': "Session-Expires", 'y': "Identity", 'a': "Accept-Contact",
		'd': "Request-Disposition", 'j': "Reject-Contact"}
	for c, name := range want {
		if got := CanonicalName(string(c)); got != name {
			t.Errorf("compact %c = %q, want %q", c, got, name)
		}
	}
}

func TestAllSplitting(t *testing.T) {
	m := mustParse(t, crlf(`INVITE sip:a@b SIP/2.0
Contact: "Doe, John" <sip:j@x;a=1,2>, <sip:k@y>
Contact: sip:l@z
Date: Sat, 13 Nov 2010 23:29:00 GMT
Allow: INVITE,ACK , BYE,,
WWW-Authenticate: Digest realm="a,b", nonce="n"

`))
	got := slices.Collect(m.All("m"))
	want := []string{`"Doe, John" <sip:j@x;a=1,2>`, "<sip:k@y>", "sip:l@z"}
	if len(got) != len(want) {
		t.Fatalf("contacts = %q", got)
	}
	for i := range want {
		eq(t, "contact", got[i], want[i])
	}
	if n := len(slices.Collect(m.All("Date"))); n != 1 {
		t.Errorf("Date split into %d", n)
	}
	if n := len(slices.Collect(m.All("Allow"))); n != 3 {
		t.Errorf("Allow split into %d", n)
	}
	c := ParseCredentials(m.Get("WWW-Authenticate"))
	eq(t, "realm", c.Realm(), "a,b")
	eq(t, "nonce", c.Nonce(), "n")
	if !c.IsDigest() {
		t.Error("not Digest")
	}
	if m.Count("Contact") != 2 || m.Count("X-None") != 0 {
		t.Errorf("Count = %d", m.Count("Contact"))
	}
	for range m.All("Contact") {
		break // early stop must not panic
	}
}

func TestParam(t *testing.T) {
	tests := []struct {
		value, name, want string
		has               bool
	}{
		{`<sip:a@b;tag=uri>;tag=hdr`, "tag", "hdr", true},
		{`"x;tag=q" <sip:a@b>;TAG = 7 ;lr`, "tag", "7", true},
		{`<sip:a@b>;lr`, "lr", "", true},
		{`sip:a@b;tag=1`, "tag", "1", true},
		{`SIP/2.0/UDP h;rport;branch=z9hG4bKx`, "rport", "", true},
		{`SIP/2.0/UDP h;received="1.2.3.4"`, "received", "1.2.3.4", true},
		{`<sip:a@b>`, "tag", "", false},
		{``, "tag", "", false},
	}
	for _, tc := range tests {
		got := Param([]byte(tc.value), tc.name)
		if string(got) != tc.want || HasParam([]byte(tc.value), tc.name) != tc.has {
			t.Errorf("Param(%q, %q) = %q (has %v)", tc.value, tc.name, got, HasParam([]byte(tc.value), tc.name))
		}
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		in                                  string
		scheme, user, pass, host, params, h string
		port                                int
		err                                 bool
	}{
		{in: "sip:alice@atlanta.com", scheme: "sip", user: "alice", host: "atlanta.com"},
		{in: "sips:alice:secret@atlanta.com:5061;transport=tls?subject=x", scheme: "sips", user: "alice", pass: "secret", host: "atlanta.com", port: 5061, params: "transport=tls", h: "subject=x"},
		{in: "sip:[2001:db8::1]:5060;lr", scheme: "sip", host: "[2001:db8::1]", port: 5060, params: "lr"},
		{in: "<sip:host>", scheme: "sip", host: "host"},
		{in: "tel:+1-201-555-0123;phone-context=x", scheme: "tel", user: "+1-201-555-0123", params: "phone-context=x"},
		{in: "mailto:a@b", scheme: "mailto"},
		{in: "nothing", err: true},
		{in: "sip:", scheme: "sip", err: true},
		{in: "sip:a@b:99999", scheme: "sip", user: "a", host: "b", err: true},
		{in: "sip:[::1", scheme: "sip", host: "[::1", err: true},
	}
	for _, tc := range tests {
		u, err := ParseURI([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("ParseURI(%q) err = %v", tc.in, err)
		}
		if string(u.Scheme) != tc.scheme || string(u.User) != tc.user || string(u.Password) != tc.pass ||
			string(u.Host) != tc.host || u.Port != tc.port || string(u.Params) != tc.params || string(u.Headers) != tc.h {
			t.Errorf("ParseURI(%q) = %+v", tc.in, u)
		}
	}
}

func TestParseVia(t *testing.T) {
	v, err := ParseVia([]byte("SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKa;received=1.2.3.4;rport=5"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Host", v.Host, "[2001:db8::9]")
	eqInt(t, "Port", v.Port, 5070)
	eq(t, "RPort", v.RPort, "5")
	eq(t, "Received", v.Received, "1.2.3.4")
	for _, bad := range []string{"", "SIP", "SIP/2.0", "SIP/2.0/UDP", "SIP/2.0/UDP h:port", "SIP/2.0/UDP h junk", "SIP/2.0/UDP [::1"} {
		if _, err := ParseVia([]byte(bad)); err == nil {
			t.Errorf("ParseVia(%q) accepted", bad)
		}
	}
}

func TestLooksLikeSIP(t *testing.T) {
	yes := []string{
		"INVITE sip:a@b SIP/2.0\r\n", "\r\n\r\nOPTIONS sip:x SIP/2.0\r\nVia: x", "SIP/2.0 200 OK\r\n", "SIP/2.0 100\r\n",
		"FOO tel:1 SIP/2.0", "SIP/2.0 180 Ringing",
	}
	no := []string{"", "GET / HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n", "SIP/2.0 20 OK\r\n", "INVITE sip:a@b\r\n",
		"INVITE sip:a@b SIP/2.0x\r\n", "\x16\x03\x01\x02\x00", "SIP/2.0 2000 OK"}
	for _, s := range yes {
		if !LooksLikeSIP([]byte(s)) {
			t.Errorf("LooksLikeSIP(%q) = false", s)
		}
	}
	for _, s := range no {
		if LooksLikeSIP([]byte(s)) {
			t.Errorf("LooksLikeSIP(%q) = true", s)
		}
	}
}

func TestFrameLen(t *testing.T) {
	a := crlf("OPTIONS sip:a@b SIP/2.0\nCall-ID: 1\nContent-Length: 3\n\nabc")
	b := crlf("SIP/2.0 200 OK\nl: 0\n\n")
	noCL := crlf("BYE sip:a@b SIP/2.0\nCall-ID: 2\n\n")
	stream := slices.Concat([]byte("\r\n\r\n"), a, b, noCL, []byte("INVITE sip:x SIP/2.0\r\nContent-Length: 5\r\n\r\nab"))
	var lens []int
	for {
		stream = stream[SkipKeepAlive(stream):]
		n, ok := FrameLen(stream)
		if !ok {
			break
		}
		lens = append(lens, n)
		stream = stream[n:]
	}
	if !slices.Equal(lens, []int{len(a), len(b), len(noCL)}) {
		t.Errorf("frames = %v, want %v", lens, []int{len(a), len(b), len(noCL)})
	}
	if _, ok := FrameLen([]byte("\r\n\r\n")); ok {
		t.Error("keep-alive alone framed as a message")
	}
	if n, ok := FrameLen(slices.Concat([]byte("\r\n"), b)); !ok || n != len(b)+2 {
		t.Errorf("FrameLen with leading CRLF = %d %v", n, ok)
	}
}

func TestRealMessages(t *testing.T) {
	m := mustParse(t, readReal(t, "invite-sdp.sip"))
	if len(m.Warnings) != 0 {
		t.Errorf("warnings %v", m.Warnings)
	}
	v, ok := m.TopVia()
	if !ok || !v.RPortSet || v.RPort != nil || v.Port != 46047 || !v.MagicCookie() {
		t.Errorf("TopVia = %+v", v)
	}
	pa := ParseCredentials(m.Get("Proxy-Authorization"))
	eq(t, "Proxy-Authorization nonce", pa.Nonce(), "5af46d25000122e4d8558d8f4c274a1964ff5553c2939530")
	eq(t, "username", pa.Param("username"), "upbsml")
	s, ok := m.SDP()
	if !ok || len(s.Media) == 0 {
		t.Fatalf("SDP %v", ok)
	}

	r := mustParse(t, readReal(t, "ok-200-sdp.sip"))
	eqInt(t, "StatusCode", r.StatusCode, 200)
	eq(t, "To tag", r.To().Tag, "as2ea41b5f")
	s, ok = r.SDP()
	if !ok {
		t.Fatal("no SDP in 200")
	}
	addr, port := s.RTPEndpoint(0)
	if addr != "199.7.173.72" || port != 56416 {
		t.Errorf("RTP endpoint %s:%d", addr, port)
	}
	if s.Media[0].RTPMap[101].Encoding != "telephone-event" || s.Media[0].Fmtp[101] != "0-16" {
		t.Errorf("rtpmap/fmtp = %+v %+v", s.Media[0].RTPMap, s.Media[0].Fmtp)
	}
	if s.EffectiveDirection(0) != DirSendRecv {
		t.Errorf("direction %v", s.EffectiveDirection(0))
	}

	c := ParseCredentials(mustParse(t, readReal(t, "proxy-auth-407.sip")).Get("Proxy-Authenticate"))
	eq(t, "407 realm", c.Realm(), "jnctn.net")
	eq(t, "407 qop", c.Param("qop"), "auth")
}

// serialize rebuilds a message from its parsed parts (start line, header
// fields as "Name: Value", body).
func serialize(m *Message) []byte {
	var b bytes.Buffer
	if m.Request {
		b.Write(m.Method)
		b.WriteByte(' ')
		b.Write(m.RequestURI)
		b.WriteByte(' ')
		b.Write(m.Version)
	} else {
		b.Write(m.Version)
		b.WriteString(" ")
		if m.StatusCode != 0 {
			b.WriteString(itoa(m.StatusCode))
		} else {
			b.WriteString("000")
		}
		b.WriteByte(' ')
		b.Write(m.Reason)
	}
	b.WriteString("\r\n")
	for _, h := range m.Headers {
		b.Write(h.Name)
		b.WriteString(": ")
		b.Write(h.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(m.Body)
	return b.Bytes()
}

// TestRoundTrip parses each valid vector and real message, re-serialises
// it and checks the second parse yields the same fields.
func TestRoundTrip(t *testing.T) {
	var inputs [][]byte
	for _, tc := range tortures {
		if tc.valid {
			inputs = append(inputs, readVector(t, tc.file))
		}
	}
	reals, _ := filepath.Glob(filepath.Join("testdata", "real", "*.sip"))
	for _, f := range reals {
		b, _ := os.ReadFile(f)
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		var m1, m2 Message
		if err := Parse(in, &m1); err != nil {
			t.Fatal(err)
		}
		out := serialize(&m1)
		if err := Parse(out, &m2); err != nil {
			t.Fatal(err)
		}
		m1.Trailing = nil // not re-serialised: noise after the body (§18.3)
		d1, d2 := dump(&m1), dump(&m2)
		if d1 != d2 {
			t.Errorf("round trip differs:\n%s\n---\n%s", d1, d2)
		}
	}
}

func TestReuseClearsState(t *testing.T) {
	var m Message
	if err := Parse(readVector(t, "insuf.dat"), &m); err != nil {
		t.Fatal(err)
	}
	if err := Parse(readReal(t, "ok-200-sdp.sip"), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) != 0 || m.Request || m.Method != nil || m.Trailing != nil {
		t.Errorf("state leaked: %+v", m.Warnings)
	}
	if got := m.Get("Content-Type"); string(got) != "application/sdp" {
		t.Errorf("Content-Type = %q", got)
	}
}

// TestZeroAlloc guards the promise that Parse and the common accessors do
// not allocate for typical messages once the Message has grown.
func TestZeroAlloc(t *testing.T) {
	for _, name := range []string{"invite-sdp.sip", "ok-200-sdp.sip"} {
		orig := readReal(t, name)
		work := make([]byte, len(orig))
		var m Message
		copy(work, orig)
		if err := Parse(work, &m); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(200, func() {
			copy(work, orig)
			if err := Parse(work, &m); err != nil {
				t.Fatal(err)
			}
			_ = m.CallID()
			_, _, _ = m.CSeq()
			_ = m.Get("Max-Forwards")
			_, _ = m.ContentLength()
			_ = m.From().Tag
			_ = m.To().Tag
			_, _ = m.SDPBody()
			_ = Param(m.Get("Via"), "branch")
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocs per Parse, want 0", name, allocs)
		}
	}
}

func TestStrictReal(t *testing.T) {
	for _, name := range []string{"invite-sdp.sip", "ok-200-sdp.sip", "proxy-auth-407.sip", "unauthorized-401.sip"} {
		m := mustParse(t, readReal(t, name))
		for _, p := range m.Strict() {
			if p.Severity == SeverityError {
				t.Errorf("%s: %s %s", name, p.Code, p.Msg)
			}
		}
	}
}

// TestHeaderNameLookup holds the hashed name lookup to a plain
// case-insensitive walk of headerTable: every known name in three
// spellings, names that share a known one's length and first and last
// letters, the list headers outside the table and odd bytes.
func TestHeaderNameLookup(t *testing.T) {
	walk := func(name string) hid {
		for h := hid(1); h < hidCount; h++ {
			if len(name) > 1 && strings.EqualFold(name, headerTable[h].name) {
				return h
			}
		}
		if len(name) == 1 {
			return compactTable[lower(name[0])-'a']
		}
		return hUnknown
	}
	var names []string
	for h := hid(1); h < hidCount; h++ {
		n := headerTable[h].name
		names = append(names, n, strings.ToLower(n), strings.ToUpper(n),
			n[:1]+strings.Repeat("x", len(n)-2)+n[len(n)-1:], n+"s", n[:len(n)-1])
	}
	names = append(names, otherListHeaders[:]...)
	names = append(names, "", "User-Agent", "Server", "X-Call-ID", "\x00\xff", "Ca ll-ID", "Call-I\u0130")
	for _, n := range names {
		want := walk(n)
		if got := lookupHeaderString(n); got != want {
			t.Errorf("lookupHeaderString(%q) = %d, want %d", n, got, want)
		}
		if got := lookupHeader([]byte(n)); got != want {
			t.Errorf("lookupHeader(%q) = %d, want %d", n, got, want)
		}
	}
	// The table keeps probes short: no known name waits behind more
	// than a few others.
	for h := hid(1); h < hidCount; h++ {
		n := headerTable[h].name
		probes := 0
		for i := nameSlot(len(n), n[0], n[len(n)-1]); nameSlots[i] != h; i = (i + 1) & (nameSlotCount - 1) {
			probes++
		}
		if probes > 3 {
			t.Errorf("%s: %d probes", n, probes)
		}
	}
}
