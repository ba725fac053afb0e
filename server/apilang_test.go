package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sipcause/sipcause/catalog"
)

// TestAPILang: the API answers in ?lang= and refuses a value that is no
// language with 400, on every endpoint that renders texts.
func TestAPILang(t *testing.T) {
	st := filledStore(t)
	ts := httptest.NewServer(NewHandler(HandlerOptions{Lang: catalog.English}, st, NewMetrics()))
	defer ts.Close()
	for _, p := range []string{"/api/v1/registrations", "/api/v1/calls/no-such-call"} {
		for _, tc := range []struct {
			lang string
			bad  bool
		}{{"", false}, {"nl", false}, {"en", false}, {"fr", true}} {
			u := ts.URL + p
			if tc.lang != "" {
				u += "?lang=" + tc.lang
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusBadRequest; got != tc.bad {
				t.Errorf("GET %s?lang=%s: %d", p, tc.lang, resp.StatusCode)
			}
		}
	}
	resp, err := http.Post(ts.URL+"/api/v1/analyze?lang=fr", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /api/v1/analyze?lang=fr: %d, want 400", resp.StatusCode)
	}
}
