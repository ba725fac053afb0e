package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/store"
)

func getPage(t *testing.T, ts *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func emptyHandler(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := store.OpenSQLite(t.TempDir() + "/x.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English}, st, NewMetrics()))
	t.Cleanup(ts.Close)
	return ts
}

// TestLookupPage: each RFC is named once, and a value that is not
// understood gets a message in the reader's language that names no
// package of sipcause.
func TestLookupPage(t *testing.T) {
	ts := emptyHandler(t)
	for _, lang := range []string{"en", "nl"} {
		for _, q := range []string{"486", "SIP/2.0 580 Precondition Failure", "607"} {
			code, body := getPage(t, ts, "/lookup?lang="+lang+"&q="+url.QueryEscape(q))
			if code != 200 {
				t.Fatalf("%s %q: status %d", lang, q, code)
			}
			i := strings.Index(body, `<p class="sub">`+labelsFor(catalog.Lang(lang))["rfc"])
			if i < 0 {
				t.Fatalf("%s %q: no RFC line", lang, q)
			}
			line := body[i : i+strings.Index(body[i:], "</p>")]
			for _, rfc := range []string{"RFC 3261", "RFC 3312", "RFC 8197"} {
				if n := strings.Count(line, rfc); n > 1 {
					t.Errorf("%s %q: %s named %d times: %s", lang, q, rfc, n, line)
				}
			}
		}
		for _, q := range []string{"999", "SIP/3.0 486 Busy", "Q.850;cause=abc", `399 host unquoted`, "hello"} {
			code, body := getPage(t, ts, "/lookup?lang="+lang+"&q="+url.QueryEscape(q))
			_, api := getPage(t, ts, "/api/v1/lookup?lang="+lang+"&q="+url.QueryEscape(q))
			if code != http.StatusBadRequest || !strings.Contains(body, `class="error"`) {
				t.Errorf("%s %q: status %d, no error shown", lang, q, code)
			}
			for _, internal := range []string{"catalog:", "server:", "strconv", "catalog.", "ParseError"} {
				if strings.Contains(body, internal) || strings.Contains(api, internal) {
					t.Errorf("%s %q: %q in what the user reads:\n%s", lang, q, internal, api)
				}
			}
			if lang == "nl" && (strings.Contains(body, "must be") || strings.Contains(body, "not a ")) {
				t.Errorf("%q: English error on the Dutch page", q)
			}
		}
	}
}
