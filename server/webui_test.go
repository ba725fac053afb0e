package server

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/store"
)

// storedCaptures analyzes real captures as a stored upload does and
// serves them from a fresh store, in the Europe/Amsterdam zone.
func storedCaptures(t *testing.T, paths ...string) (*httptest.Server, *store.SQLite) {
	t.Helper()
	return storedCapturesWith(t, HandlerOptions{Lang: catalog.English}, paths...)
}

// storedCapturesWith is storedCaptures with handler options.
func storedCapturesWith(t *testing.T, opt HandlerOptions, paths ...string) (*httptest.Server, *store.SQLite) {
	t.Helper()
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rep, recs, err := analyzeForStore(filepath.Base(p), f, analyze.Options{Lang: catalog.English}, catalog.English, 64<<20)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.PutCalls(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		if err := st.PutRegistrations(context.Background(), rep.Registrations); err != nil {
			t.Fatal(err)
		}
	}
	opt.Location = ams
	ts := httptest.NewServer(NewHandler(opt, st, NewMetrics()))
	t.Cleanup(ts.Close)
	return ts, st
}

// TestAPIRegistrations: the wrong-password capture (401, 403, 401, 403)
// and a successful registration: the API says who is registered, who
// failed and why, in the asked language.
func TestAPIRegistrations(t *testing.T) {
	ts, _ := storedCaptures(t,
		sharedCapture(t, "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"),
		sharedCapture(t, "nDPI__sip_hello.pcapng"))
	get := func(q string) []map[string]any {
		t.Helper()
		code, body := getPage(t, ts, "/api/v1/registrations?"+q)
		if code != 200 {
			t.Fatalf("%s: status %d: %s", q, code, body)
		}
		var r struct {
			Schema int              `json:"schema_version"`
			Regs   []map[string]any `json:"registrations"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		if r.Schema != analyze.SchemaVersion {
			t.Errorf("schema_version %d", r.Schema)
		}
		return r.Regs
	}
	all := get("")
	latest := get("latest=1")
	if len(all) <= len(latest) || len(latest) != 2 {
		t.Errorf("%d registrations, %d latest per address (want 2: one phone each)", len(all), len(latest))
	}
	failed := get("latest=1&outcome=failed")
	if len(failed) != 1 || failed[0]["final_status"] != float64(403) || failed[0]["fault"] != "local" {
		t.Fatalf("latest failed: %v", failed)
	}
	en := failed[0]["summary"].(string)
	nl := get("latest=1&outcome=failed&lang=nl")[0]["summary"].(string)
	if en == "" || nl == "" || en == nl || len(failed[0]["advice"].([]any)) == 0 {
		t.Errorf("why: en %q, nl %q, advice %v", en, nl, failed[0]["advice"])
	}
	if ok := get("latest=1&outcome=registered"); len(ok) != 1 || ok[0]["final_status"] != float64(200) {
		t.Errorf("latest registered: %v", ok)
	}
	if code, _ := getPage(t, ts, "/api/v1/registrations?outcome=nonsense"); code != 400 {
		t.Errorf("a bad outcome: status %d", code)
	}
	if code, body := getPage(t, ts, "/registrations?lang=nl"); code != 200 || !strings.Contains(body, "Aanmeldingen") || strings.Contains(body, "egistratie") {
		t.Errorf("Dutch page: status %d, or says registraties", code)
	}
}

// TestLocalTimes: the calls search reads a typed time in the server's
// zone and shows times in it, with its name; the API stays in UTC. The
// example capture's calls start at 03:28:14 UTC, 04:28:14 in Amsterdam.
func TestLocalTimes(t *testing.T) {
	ts, _ := storedCaptures(t, "../examples/failed-calls.pcapng")
	count := func(path string) int {
		t.Helper()
		code, body := getPage(t, ts, path)
		if code != 200 {
			t.Fatalf("%s: status %d", path, code)
		}
		return strings.Count(body, `<tr class="o-`)
	}
	all := count("/calls")
	if all != 9 {
		t.Fatalf("%d calls listed, want 9", all)
	}
	// 04:28 local is 03:28 UTC: five calls start in that minute (three at
	// 04:28:14, two at 04:28:45).
	if n := count("/calls?from=" + url.QueryEscape("2026-11-27T04:28") + "&to=" + url.QueryEscape("2026-11-27T04:29")); n != 5 {
		t.Errorf("04:28–04:29 local: %d calls, want 5", n)
	}
	if n := count("/calls?from=" + url.QueryEscape("2026-11-27T03:28") + "&to=" + url.QueryEscape("2026-11-27T03:29")); n != 0 {
		t.Errorf("03:28–03:29 local (an hour before the capture): %d calls", n)
	}
	_, body := getPage(t, ts, "/calls?lang=nl")
	for _, want := range []string{"27-11-2026 04:28:14", "Tijden in Europe/Amsterdam"} {
		if !strings.Contains(body, want) {
			t.Errorf("Dutch list lacks %q", want)
		}
	}
	// The report page of a stored call (as the page of an upload) shows
	// the server's zone too, not UTC.
	_, page := getPage(t, ts, "/calls/"+url.PathEscape("e2e-busy-udp-1-21551@127.0.0.1")+"?view=report&lang=nl")
	for _, want := range []string{"04:28:45", "Europe/Amsterdam"} {
		if !strings.Contains(page, want) {
			t.Errorf("the call's report page lacks %q", want)
		}
	}
	_, api := getPage(t, ts, "/api/v1/calls?from=2026-11-27T03:28:00Z&to=2026-11-27T03:29:00Z")
	var r struct {
		Calls []store.CallSummary `json:"calls"`
	}
	json.Unmarshal([]byte(api), &r)
	if len(r.Calls) != 5 || r.Calls[0].Start.Location() != time.UTC {
		t.Fatalf("API, 03:28–03:29 UTC: %d calls", len(r.Calls))
	}
	// A stored upload keeps each call's own SIP messages, as the collector does.
	for _, c := range r.Calls {
		_, body := getPage(t, ts, "/api/v1/calls/"+url.PathEscape(c.CallID))
		var cr struct {
			Call     struct{ Frames []int } `json:"call"`
			Messages []struct{ Frame int }  `json:"messages"`
		}
		json.Unmarshal([]byte(body), &cr)
		if len(cr.Messages) == 0 || len(cr.Messages) != len(cr.Call.Frames) {
			t.Errorf("%s: %d stored messages for %d frames", c.CallID, len(cr.Messages), len(cr.Call.Frames))
		}
	}
}

// TestDutchPagesSpeakDutch: every page of the web UI in Dutch is free of
// the English labels of the English pages, and both languages have the
// same labels.
func TestDutchPagesSpeakDutch(t *testing.T) {
	en, nl := labelsFor(catalog.English), labelsFor(catalog.Dutch)
	for k := range en {
		if _, ok := nl[k]; !ok {
			t.Errorf("label %q has no Dutch", k)
		}
	}
	for k := range nl {
		if _, ok := en[k]; !ok {
			t.Errorf("label %q has no English", k)
		}
	}
	ts, _ := storedCaptures(t, "../examples/failed-calls.pcapng",
		sharedCapture(t, "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"))
	english := []string{"Calls", "Registrations", "Cause lies", "Outcome", "Final answer", "What happened", "Search",
		"registrations", "host(s)", "median", "(UTC)", "Times in", "Look up", "Analyze a capture",
		"not answered", "no response", "What to do", "Message flow", "Ladder", "Session attempts", "Post-dial", "Defined in",
		"Failed calls", "Peer", "registraties", "Gedefinieerd", "Kiesvertraging", "7d", "30d"}
	for _, path := range []string{"/calls", "/calls/" + url.PathEscape("e2e-busy-udp-1-21551@127.0.0.1"), "/registrations", "/registrations?f=1",
		"/dashboard?range=1h", "/analyze", "/lookup?q=486", "/lookup?q=hello"} {
		code, body := getPage(t, ts, path+map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")]+"lang=nl")
		if code != 200 && path != "/lookup?q=hello" {
			t.Errorf("%s: status %d", path, code)
		}
		// Only what a reader sees: the text between tags, not markup or the raw SIP.
		text := visibleText(body)
		for _, w := range english {
			if strings.Contains(text, w) {
				t.Errorf("%s in Dutch shows %q", path, w)
			}
		}
	}
}

// visibleText keeps the text between tags, without <pre> blocks (raw SIP
// is shown as it was sent) and without the language switch ("English").
func visibleText(html string) string {
	var b strings.Builder
	in, pre := false, 0
	for i := 0; i < len(html); i++ {
		switch {
		case strings.HasPrefix(html[i:], "<pre"):
			pre++
		case strings.HasPrefix(html[i:], "</pre"):
			pre--
		}
		switch c := html[i]; {
		case c == '<':
			in = true
			b.WriteByte(' ')
		case c == '>':
			in = false
		case !in && pre == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestPerspectivePages: a provider's helpdesk serving its own SBC's
// traffic (review T25) reads the side in its own words on the calls list,
// a call's page, the registrations, the dashboard and the code lookup; a
// customer's server keeps "your side".
func TestPerspectivePages(t *testing.T) {
	path := sharedCapture(t, "sngrep__aaa.pcap")
	for _, tc := range []struct {
		persp     catalog.Perspective
		want, not string
	}{
		{catalog.PerspectiveProvider, "the customer&#39;s side", ">your side<"},
		{catalog.PerspectiveCustomer, ">your side<", "the customer&#39;s side"},
	} {
		ts, _ := storedCapturesWith(t, HandlerOptions{Lang: catalog.English, Perspective: tc.persp}, path)
		for _, page := range []string{"/calls", "/registrations", "/"} {
			code, body := getPage(t, ts, page)
			if code != 200 {
				t.Fatalf("%s: status %d", page, code)
			}
			if page == "/calls" && !strings.Contains(body, tc.want) || strings.Contains(body, tc.not) {
				t.Errorf("%s view, %s: want %q, not %q", tc.persp, page, tc.want, tc.not)
			}
		}
		// The usual side of a code, as the lookup says it.
		label := func(p catalog.Perspective) string {
			return ": " + html.EscapeString(catalog.FaultLocal.LabelFor(catalog.English, p)) + "</span>"
		}
		other := catalog.PerspectiveCustomer
		if tc.persp == other {
			other = catalog.PerspectiveProvider
		}
		if _, body := getPage(t, ts, "/lookup?q=401"); !strings.Contains(body, label(tc.persp)) || strings.Contains(body, label(other)) {
			t.Errorf("%s view, lookup of 401: want %q, not %q", tc.persp, label(tc.persp), label(other))
		}
		_, nl := getPage(t, ts, "/calls?lang=nl")
		if want := catalog.FaultLocal.LabelFor(catalog.Dutch, tc.persp); !strings.Contains(nl, want) {
			t.Errorf("%s view in Dutch: no %q", tc.persp, want)
		}
	}
}

// TestOutcomeWordsAsReports: the web UI words a call's outcome as the text
// and HTML reports do, refined by its status (review U4: nobody refused a
// 480; "bezet", not "in gesprek", for a 486), in the list, the filter and
// on the call page.
func TestOutcomeWordsAsReports(t *testing.T) {
	ts, _ := storedCaptures(t, "../examples/failed-calls.pcapng")
	for _, tc := range []struct {
		lang              catalog.Lang
		busy, unreachable string
	}{{catalog.Dutch, "bezet", "niet bereikbaar"}, {catalog.English, "busy", "unreachable"}} {
		_, list := getPage(t, ts, "/calls?lang="+string(tc.lang))
		for _, w := range []string{`<span class="pill o-busy">` + tc.busy + `<`, `<span class="pill o-rejected">` + tc.unreachable + `<`} {
			if !strings.Contains(list, w) {
				t.Errorf("%s list lacks %q", tc.lang, w)
			}
		}
		if tc.lang == catalog.Dutch && (strings.Contains(list, ">in gesprek<") || strings.Contains(list, ">afgebroken door beller<")) {
			t.Error("the Dutch list words outcomes otherwise than the reports")
		}
		_, page := getPage(t, ts, "/calls/"+url.PathEscape("e2e-unavailable-udp-1-21530@127.0.0.1")+"?lang="+string(tc.lang))
		if !strings.Contains(page, `<span class="pill o-rejected">`+tc.unreachable+`<`) {
			t.Errorf("%s call page of the 480 does not say %q", tc.lang, tc.unreachable)
		}
	}
}

// linkedStore is the SQLite store with the ClickHouse store's leg links
// (store.Linker) for a call page to show: every other call of the store is
// a leg of the call asked about.
type linkedStore struct{ *store.SQLite }

func (l linkedStore) LinkedCalls(ctx context.Context, id string) ([]store.CallSummary, error) {
	rows, err := l.SearchCalls(ctx, store.Query{Limit: 100})
	var legs []store.CallSummary
	for _, c := range rows {
		if c.CallID != id {
			legs = append(legs, c)
		}
	}
	return legs, err
}

// TestCallPageOnce: a call's page says its explanation once (not again
// under the findings, review §4.2), and shows the times of its messages
// and of its other legs in the server's zone, Dutch with a decimal comma
// (the legs were in UTC).
func TestCallPageOnce(t *testing.T) {
	_, st := storedCaptures(t, "../examples/failed-calls.pcapng")
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English, Location: ams}, linkedStore{st}, NewMetrics()))
	defer ts.Close()
	_, page := getPage(t, ts, "/calls/"+url.PathEscape("e2e-busy-udp-1-21551@127.0.0.1")+"?lang=nl")
	if n := strings.Count(page, "De gebelde partij is bezet (486 Busy Here"); n != 1 {
		t.Errorf("the busy call's explanation is on its page %d times, want once", n)
	}
	if !strings.Contains(page, "04:28:45,814818") {
		t.Error("the raw messages' times are not local with a decimal comma (04:28:45,814818)")
	}
	// The other legs at their local start: the 503 call began at 03:28:14 UTC.
	if !strings.Contains(page, "27-11-2026 04:28:14") || strings.Contains(page, "· 03:28:14") {
		t.Error("the other legs are not shown in the server's zone")
	}
}

// TestSearchRefusalsInDutch: what the search forms refuse (a status that
// is no code, a time that is no time, an outcome that does not exist) is
// said in Dutch on the Dutch pages; the API keeps its English.
func TestSearchRefusalsInDutch(t *testing.T) {
	ts, _ := storedCaptures(t)
	for path, want := range map[string]string{
		"/calls?status=abc":                     "Eindantwoord &#34;abc&#34;: geef een code van 100 tot 699",
		"/calls?from=gisteren":                  "Tijd &#34;gisteren&#34;: geef een tijd als 2026-11-27T10:15 (Europe/Amsterdam) of volgens RFC 3339",
		"/registrations?f=1&outcome=stuk":       "Afloop &#34;stuk&#34;: kies een van registered",
		"/registrations?f=1&to=9999-12-31T0:00": "Tijd",
	} {
		code, body := getPage(t, ts, path+"&lang=nl")
		if code != http.StatusBadRequest || !strings.Contains(body, want) || strings.Contains(body, "want ") {
			t.Errorf("%s: %d; want 400 saying %q", path, code, want)
		}
	}
	_, api := getPage(t, ts, "/api/v1/calls?status=abc&lang=nl")
	if !strings.Contains(api, "want a code from 100 to 699") {
		t.Errorf("API: %s", api)
	}
}
