package sipmsg

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// torture is one RFC 4475 §3 test message.
type torture struct {
	file    string
	section string
	// valid: no Error-severity problem may be reported.
	valid bool
	// want: codes that Parse or Strict must report (any severity).
	want  []string
	check func(t *testing.T, m *Message)
}

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rfc4475", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func eq(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if string(got) != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func eqInt(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func collectVias(m *Message) []Via { return slices.Collect(m.Vias()) }

var tortures = []torture{
	{file: "wsinv.dat", section: "3.1.1.1", valid: true, want: []string{CodeNoMagicCookie}, check: func(t *testing.T, m *Message) {
		eq(t, "Method", m.Method, "INVITE")
		eq(t, "RequestURI", m.RequestURI, "sip:vivekg@chair-dnrc.example.com;unknownparam")
		u, err := ParseURI(m.RequestURI)
		if err != nil || !u.HasParam("unknownparam") || string(u.User) != "vivekg" {
			t.Errorf("RequestURI decode = %+v, %v", u, err)
		}
		to := m.To()
		eq(t, "To.URI", to.URI, "sip:vivekg@chair-dnrc.example.com")
		eq(t, "To.Tag", to.Tag, "1918181833n")
		from := m.From()
		eq(t, "From.DisplayName", from.DisplayName, `J Rosenberg \\\"`)
		eq(t, "From.Tag", from.Tag, "98asjd8")
		eq(t, "From.User", from.User(), "jdrosen")
		mf, ok := m.MaxForwards()
		if !ok || mf != 68 {
			t.Errorf("MaxForwards = %d,%v", mf, ok)
		}
		eq(t, "CallID", m.CallID(), "wsinv.ndaksdj@192.0.2.1")
		cl, _ := m.ContentLength()
		eqInt(t, "ContentLength", cl, 150)
		eqInt(t, "len(Body)", len(m.Body), 150)
		n, method, ok := m.CSeq()
		if n != 9 || string(method) != "INVITE" || !ok {
			t.Errorf("CSeq = %d %q %v", n, method, ok)
		}
		vias := collectVias(m)
		if len(vias) != 3 {
			t.Fatalf("%d vias", len(vias))
		}
		want := []struct{ transport, host, branch string }{
			{"UDP", "192.0.2.2", "390skdjuw"},
			{"TCP", "spindle.example.com", "z9hG4bK9ikj8"},
			{"UDP", "192.168.255.111", "z9hG4bK30239"},
		}
		for i, w := range want {
			eq(t, "Via.Protocol", vias[i].Protocol, "SIP")
			eq(t, "Via.Version", vias[i].Version, "2.0")
			eq(t, "Via.Transport", vias[i].Transport, w.transport)
			eq(t, "Via.Host", vias[i].Host, w.host)
			eq(t, "Via.Branch", vias[i].Branch, w.branch)
			eqInt(t, "Via.Port", vias[i].Port, 0)
		}
		if vias[0].MagicCookie() || !vias[1].MagicCookie() {
			t.Error("MagicCookie wrong")
		}
		if s := m.Get("Subject"); s == nil || len(s) != 0 {
			t.Errorf("Subject = %q, want present and empty", s)
		}
		eq(t, "NewFangledHeader", m.Get("newfangledheader"), "newfangled value   continued newfangled value")
		eq(t, "UnknownHeaderWithUnusualValue", m.Get("UnknownHeaderWithUnusualValue"), ";;,,;;,;")
		if got := slices.Collect(m.All("UnknownHeaderWithUnusualValue")); len(got) != 1 {
			t.Errorf("unknown header split into %d values", len(got))
		}
		eq(t, "Content-Type", m.Get("c"), "application/sdp")
		eq(t, "Route", m.Get("Route"), "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>")
		contacts := slices.Collect(m.Contacts())
		if len(contacts) != 1 {
			t.Fatalf("%d contacts", len(contacts))
		}
		c := contacts[0]
		eq(t, "Contact.DisplayName", c.DisplayName, `Quoted string \"\"`)
		eq(t, "Contact.URI", c.URI, "sip:jdrosen@example.com")
		eq(t, "Contact newparam", c.Param("newparam"), "newvalue")
		eq(t, "Contact q", c.Param("q"), "0.33")
		if !HasParam([]byte(";"+string(c.Params)), "secondparam") {
			t.Error("secondparam missing")
		}
		s, ok := m.SDP()
		if !ok || len(s.Media) != 2 {
			t.Fatalf("SDP = %+v, %v", s, ok)
		}
		if s.Connection.Address != "192.0.2.4" || s.Media[1].RTPMap[31].Encoding != "LPC" {
			t.Errorf("SDP decode wrong: %+v", s)
		}
	}},
	{file: "intmeth.dat", section: "3.1.1.2", valid: true, check: func(t *testing.T, m *Message) {
		method := "!interesting-Method0123456789_*+`.%indeed'~"
		eq(t, "Method", m.Method, method)
		if !m.IsMethod(method) {
			t.Error("IsMethod false")
		}
		u, err := ParseURI(m.RequestURI)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "URI.User", u.User, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
		eq(t, "URI.Password", u.Password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
		eq(t, "URI.Host", u.Host, "example.com")
		v, _ := m.TopVia()
		eq(t, "Via.Branch", v.Branch, "z9hG4bK-.!%66*_+`'~")
		eq(t, "To.DisplayName", m.To().DisplayName, "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f")
		from := m.From()
		eq(t, "From.DisplayName", from.DisplayName, "token1~` token2'+_ token3*%!.-")
		eq(t, "From.Tag", from.Tag, "_token~1'+`*%!-.")
		eq(t, "From fromParam", from.Param("fromParam''~+*_!.-%"), "\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439")
		eq(t, "CallID", m.CallID(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
		n, cm, _ := m.CSeq()
		if n != 139122385 || string(cm) != method {
			t.Errorf("CSeq = %d %q", n, cm)
		}
		eq(t, "extension header", m.Get("extensionHeader-!.%*+_`'~"), "\ufeff\u5927\u505c\u96fb")
	}},
	{file: "esc01.dat", section: "3.1.1.3", valid: true, check: func(t *testing.T, m *Message) {
		u, _ := ParseURI(m.RequestURI)
		eq(t, "RURI.User", u.User, "sips%3Auser%40example.com")
		eq(t, "RURI.Host", u.Host, "example.net")
		eq(t, "To.User", m.To().User(), "%75se%72")
		eq(t, "From.User", m.From().User(), "I%20have%20spaces")
		eq(t, "CallID (compact i)", m.CallID(), "esc01.239409asdfakjkn23onasd0-3234")
		c, _ := ParseURI(m.Get("Contact"))
		eq(t, "Contact.User", c.User, "cal%6Cer")
		if !c.HasParam("%6C%72") {
			t.Error("Contact %6C%72 param missing")
		}
		eq(t, "Contact n%61me", c.Param("n%61me"), "v%61lue%25%34%31")
	}},
	{file: "escnull.dat", section: "3.1.1.4", valid: true, check: func(t *testing.T, m *Message) {
		eq(t, "To.User", m.To().User(), "null-%00-null")
		var users []string
		for c := range m.Contacts() {
			users = append(users, string(c.User()))
		}
		if !slices.Equal(users, []string{"%00", "%00%00"}) {
			t.Errorf("contact users = %q", users)
		}
		cl, ok := m.ContentLength()
		if cl != 0 || !ok {
			t.Errorf("ContentLength (L:0) = %d %v", cl, ok)
		}
	}},
	{file: "esc02.dat", section: "3.1.1.5", valid: true, check: func(t *testing.T, m *Message) {
		eq(t, "Method", m.Method, "RE%47IST%45R")
		if m.IsMethod("REGISTER") {
			t.Error("RE%47IST%45R must not be REGISTER")
		}
		eq(t, "To.DisplayName", m.To().DisplayName, "%Z%45")
		if n := len(slices.Collect(m.Contacts())); n != 2 {
			t.Errorf("%d contacts, want 2", n)
		}
		eq(t, "C%6Fntact", m.Get("C%6Fntact"), "<sip:alias2@host2.example.com>")
		v, _ := m.TopVia()
		eq(t, "Branch", v.Branch, "z9hG4bK209%fzsnel234")
	}},
	{file: "lwsdisp.dat", section: "3.1.1.6", valid: true, check: func(t *testing.T, m *Message) {
		f := m.From()
		eq(t, "From.DisplayName", f.DisplayName, "caller")
		eq(t, "From.URI", f.URI, "sip:caller@example.com")
		eq(t, "From.Tag", f.Tag, "323")
	}},
	{file: "longreq.dat", section: "3.1.1.7", valid: true, check: func(t *testing.T, m *Message) {
		to := m.To()
		eq(t, "To.DisplayName", to.DisplayName, "I have a user name of "+string(bytes.Repeat([]byte("extreme"), 10))+" proportion")
		u, _ := ParseURI(to.URI)
		eqInt(t, "To port", u.Port, 6000)
		eq(t, "unknownparam1", u.Param("unknownparam1"), "very"+string(bytes.Repeat([]byte("long"), 20))+"value")
		f := m.From()
		eq(t, "From.Tag", f.Tag, "12"+string(bytes.Repeat([]byte("982"), 50))+"424")
		eq(t, "From.User", f.User(), string(bytes.Repeat([]byte("amazinglylongcallername"), 5)))
		vias := collectVias(m)
		if len(vias) != 34 {
			t.Fatalf("%d vias, want 34", len(vias))
		}
		for i := 0; i < 33; i++ {
			eq(t, "Via.Host", vias[i].Host, "sip"+itoa(33-i)+".example.com")
		}
		eq(t, "last Via received", vias[33].Received, "192.0.2.5")
		eqInt(t, "len(Body)", len(m.Body), 150)
	}},
	{file: "dblreq.dat", section: "3.1.1.8", valid: true, check: func(t *testing.T, m *Message) {
		eq(t, "Method", m.Method, "REGISTER")
		eqInt(t, "len(Body)", len(m.Body), 0)
		if !bytes.Contains(m.Trailing, []byte("INVITE sip:joe@example.com SIP/2.0")) {
			t.Errorf("Trailing = %q", m.Trailing)
		}
		eq(t, "CallID (I:)", m.CallID(), "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
	}},
	{file: "semiuri.dat", section: "3.1.1.9", valid: true, check: func(t *testing.T, m *Message) {
		u, _ := ParseURI(m.RequestURI)
		eq(t, "RURI.User", u.User, "user;par=u%40example.net")
		eq(t, "RURI.Host", u.Host, "example.com")
		got := slices.Collect(m.All("Accept"))
		want := []string{"application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed", "message/sip", "message/sipfrag"}
		if len(got) != len(want) {
			t.Fatalf("Accept = %q", got)
		}
		for i := range want {
			eq(t, "Accept", got[i], want[i])
		}
	}},
	{file: "transports.dat", section: "3.1.1.10", valid: true, check: func(t *testing.T, m *Message) {
		var tr []string
		for v := range m.Vias() {
			tr = append(tr, string(v.Transport))
		}
		if !slices.Equal(tr, []string{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"}) {
			t.Errorf("transports = %q", tr)
		}
		eq(t, "CallID", m.CallID(), "transports.kijh4akdnaqjkwendsasfdj")
	}},
	{file: "mpart01.dat", section: "3.1.1.11", valid: true, check: func(t *testing.T, m *Message) {
		eqInt(t, "len(Body)", len(m.Body), 553)
		v, _ := m.TopVia()
		eqInt(t, "Via.Port", v.Port, 5070)
		if !v.RPortSet || v.RPort != nil {
			t.Errorf("rport = %q %v", v.RPort, v.RPortSet)
		}
		eq(t, "Identity (y)", m.Get("y")[:10], "r5mwreLuyD")
		ct := m.Get("Content-Type")
		eq(t, "boundary", Param(ct, "boundary"), "7a9cbec02ceef655")
		parts := slices.Collect(Parts(m.Body, Param(ct, "boundary")))
		if len(parts) != 2 {
			t.Fatalf("%d parts", len(parts))
		}
		eq(t, "part 1", parts[0].Body, "Hello")
		eq(t, "part 2 type", parts[1].Get("Content-Type"), "application/octet-stream")
		eqInt(t, "part 2 length", len(parts[1].Body), 342)
		if _, ok := m.SDPBody(); ok {
			t.Error("found SDP in a body without one")
		}
	}},
	{file: "unreason.dat", section: "3.1.1.12", valid: true, check: func(t *testing.T, m *Message) {
		eqInt(t, "StatusCode", m.StatusCode, 200)
		eq(t, "Reason", m.Reason, "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435")
		if !m.IsMethod("INVITE") {
			t.Error("IsMethod(INVITE) false for a response to INVITE")
		}
	}},
	{file: "noreason.dat", section: "3.1.1.13", valid: true, check: func(t *testing.T, m *Message) {
		eqInt(t, "StatusCode", m.StatusCode, 100)
		if m.Reason == nil || len(m.Reason) != 0 {
			t.Errorf("Reason = %q", m.Reason)
		}
	}},

	// §3.1.2 invalid messages.
	{file: "badinv01.dat", section: "3.1.2.1", want: []string{CodeBadVia, CodeEmptyParam}},
	{file: "clerr.dat", section: "3.1.2.2", want: []string{CodeBodyTruncated}},
	{file: "ncl.dat", section: "3.1.2.3", want: []string{CodeBadContentLength}},
	{file: "scalar02.dat", section: "3.1.2.4", want: []string{CodeBadCSeq, CodeBadMaxForwards, CodeBadExpires}, check: func(t *testing.T, m *Message) {
		if _, _, ok := m.CSeq(); ok {
			t.Error("CSeq beyond 2**32-1 accepted")
		}
	}},
	{file: "scalarlg.dat", section: "3.1.2.5", want: []string{CodeBadCSeq, CodeBadRetryAfter, CodeBadWarning}, check: func(t *testing.T, m *Message) {
		eqInt(t, "StatusCode", m.StatusCode, 503)
	}},
	{file: "quotbal.dat", section: "3.1.2.6", want: []string{CodeBadNameAddr}},
	{file: "ltgtruri.dat", section: "3.1.2.7", want: []string{CodeBadRequestURI}},
	{file: "lwsruri.dat", section: "3.1.2.8", want: []string{CodeBadRequestURI}},
	{file: "lwsstart.dat", section: "3.1.2.9", want: []string{CodeStartLineSpace}, check: func(t *testing.T, m *Message) {
		eq(t, "RequestURI", m.RequestURI, "sip:user@example.com")
	}},
	{file: "trws.dat", section: "3.1.2.10", want: []string{CodeStartLineSpace}, check: func(t *testing.T, m *Message) {
		eq(t, "Version", m.Version, "SIP/2.0")
	}},
	{file: "escruri.dat", section: "3.1.2.11", want: []string{CodeRequestURIHeaders}},
	{file: "baddate.dat", section: "3.1.2.12", want: []string{CodeBadDate}},
	{file: "regbadct.dat", section: "3.1.2.13", want: []string{CodeNeedsBrackets}},
	{file: "badaspec.dat", section: "3.1.2.14", want: []string{CodeBadAddrSpec}},
	{file: "baddn.dat", section: "3.1.2.15", want: []string{CodeBadDisplayName}},
	{file: "badvers.dat", section: "3.1.2.16", want: []string{CodeBadVersion, CodeBadVia}},
	{file: "mismatch01.dat", section: "3.1.2.17", want: []string{CodeCSeqMismatch}},
	{file: "mismatch02.dat", section: "3.1.2.18", want: []string{CodeCSeqMismatch}},
	{file: "bigcode.dat", section: "3.1.2.19", want: []string{CodeBadStatusCode}},

	// §3.2 transaction layer semantics.
	{file: "badbranch.dat", section: "3.2.1", want: []string{CodeEmptyBranch}},

	// §3.3 application layer semantics: mostly well-formed messages that
	// a real element refuses; Strict reports them as notices.
	{file: "insuf.dat", section: "3.3.1", want: []string{CodeMissingCallID, CodeMissingFrom, CodeMissingTo, CodeMissingMaxForwards}},
	{file: "unkscm.dat", section: "3.3.2", valid: true, want: []string{CodeUnsupportedScheme}},
	{file: "novelsc.dat", section: "3.3.3", valid: true, want: []string{CodeUnsupportedScheme}, check: func(t *testing.T, m *Message) {
		u, _ := ParseURI(m.RequestURI)
		eq(t, "scheme", u.Scheme, "soap.beep")
		eq(t, "opaque", u.Opaque, "//192.0.2.103:3002")
	}},
	{file: "unksm2.dat", section: "3.3.4", valid: true, want: []string{CodeUnsupportedScheme}, check: func(t *testing.T, m *Message) {
		eq(t, "To.URI", m.To().URI, "isbn:2983792873")
		eq(t, "From.URI", m.From().URI, "http://www.example.com")
	}},
	{file: "bext01.dat", section: "3.3.5", valid: true, want: []string{CodeUnknownOptionTag}, check: func(t *testing.T, m *Message) {
		if got := slices.Collect(m.All("Proxy-Require")); len(got) != 2 {
			t.Errorf("Proxy-Require = %q", got)
		}
	}},
	{file: "invut.dat", section: "3.3.6", valid: true, want: []string{CodeUnknownContentType}, check: func(t *testing.T, m *Message) {
		if _, ok := m.SDP(); ok {
			t.Error("SDP found in application/unknownformat")
		}
	}},
	{file: "regaut01.dat", section: "3.3.7", valid: true, want: []string{CodeUnknownAuthScheme}, check: func(t *testing.T, m *Message) {
		c := ParseCredentials(m.Get("Authorization"))
		eq(t, "scheme", c.Scheme, "NoOneKnowsThisScheme")
	}},
	{file: "multi01.dat", section: "3.3.8", want: []string{CodeDuplicateHeader}},
	{file: "mcl01.dat", section: "3.3.9", want: []string{CodeMultipleLength}},
	{file: "bcast.dat", section: "3.3.10", valid: true, want: []string{CodeBroadcastVia}},
	{file: "zeromf.dat", section: "3.3.11", valid: true, want: []string{CodeMaxForwardsZero}, check: func(t *testing.T, m *Message) {
		n, ok := m.MaxForwards()
		if n != 0 || !ok {
			t.Errorf("MaxForwards = %d %v", n, ok)
		}
	}},
	{file: "cparam01.dat", section: "3.3.12", valid: true, check: func(t *testing.T, m *Message) {
		c := slices.Collect(m.Contacts())[0]
		eq(t, "Contact.URI", c.URI, "sip:+19725552222@gw1.example.net")
		if !HasParam([]byte(";"+string(c.Params)), "unknownparam") {
			t.Error("unknownparam must be a Contact header parameter")
		}
	}},
	{file: "cparam02.dat", section: "3.3.13", valid: true, check: func(t *testing.T, m *Message) {
		c := slices.Collect(m.Contacts())[0]
		u, _ := ParseURI(c.URI)
		if !u.HasParam("unknownparam") || c.Params != nil {
			t.Error("unknownparam must be a URI parameter")
		}
	}},
	{file: "regescrt.dat", section: "3.3.14", valid: true, check: func(t *testing.T, m *Message) {
		u, _ := ParseURI(slices.Collect(m.Contacts())[0].URI)
		eq(t, "Contact URI headers", u.Headers, "Route=%3Csip:sip.example.com%3E")
	}},
	{file: "sdp01.dat", section: "3.3.15", valid: true, want: []string{CodeSDPNotAccepted}},

	// §3.4 backward compatibility.
	{file: "inv2543.dat", section: "3.4.1", want: []string{CodeMissingMaxForwards, CodeNoMagicCookie}, check: func(t *testing.T, m *Message) {
		if _, ok := m.ContentLength(); ok {
			t.Error("ContentLength present")
		}
		v, _ := m.TopVia()
		if v.Branch != nil {
			t.Errorf("branch = %q", v.Branch)
		}
		eq(t, "To.URI", m.To().URI, "sip:+16505552222@ss1.example.net")
		eq(t, "To user param", m.To().Param("user"), "phone")
		s, ok := m.SDP()
		if !ok || len(s.Media) != 1 || s.Media[0].RTPMap[0].Encoding != "PCMU" {
			t.Errorf("SDP = %+v %v", s, ok)
		}
	}},
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// TestRFC4475 runs every torture message of RFC 4475 §3.
func TestRFC4475(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rfc4475", "*.dat"))
	if len(files) != len(tortures) || len(files) != 49 {
		t.Fatalf("%d files, %d table rows; RFC 4475 has 49 messages", len(files), len(tortures))
	}
	for _, tc := range tortures {
		t.Run(tc.section+"_"+tc.file, func(t *testing.T) {
			buf := readVector(t, tc.file)
			var m Message
			if err := Parse(buf, &m); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			problems := m.Strict()
			var errs, codes []string
			for _, p := range problems {
				codes = append(codes, p.Code)
				if p.Severity == SeverityError {
					errs = append(errs, p.Code+": "+p.Msg)
				}
			}
			if tc.valid && len(errs) > 0 {
				t.Errorf("valid message reported errors: %q", errs)
			}
			if !tc.valid && len(errs) == 0 {
				t.Errorf("invalid message reported no error (problems %q)", codes)
			}
			for _, w := range tc.want {
				if !slices.Contains(codes, w) {
					t.Errorf("missing problem %q; got %q", w, codes)
				}
			}
			if tc.check != nil {
				tc.check(t, &m)
			}
		})
	}
}
