package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/server"
	"github.com/sipcause/sipcause/store"
)

// TestCodeAndLookupAgree: `sipcause code` and the web UI's lookup read
// the same values the same way (one classifier, catalog.ClassifyArg):
// what one understands the other does, as the same kind, and what one
// refuses the other refuses.
func TestCodeAndLookupAgree(t *testing.T) {
	ts := lookupServer(t)
	for _, in := range []string{"486", "499", "SIP/2.0 480 Niet bereikbaar", "Reason: Q.850;cause=17", `SIP;cause=487;text="x"`,
		`399 sbc.example "Codec not allowed"`, "Warning: 305 10.0.0.1 \"x\"", "999", "SIP/3.0 486 Busy", "hello", "Q.850;cause=abc"} {
		out, _, status := runCLI(t, nil, "code", "--json", in)
		var cli []struct{ Kind string }
		json.Unmarshal([]byte(out), &cli)
		resp, err := http.Get(ts.URL + "/api/v1/lookup?q=" + url.QueryEscape(in))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var web struct{ Kind, Error string }
		json.Unmarshal(b, &web)
		cliOK, webOK := status == 0, resp.StatusCode == 200
		if cliOK != webOK {
			t.Errorf("%q: code exits %d, lookup answers %d", in, status, resp.StatusCode)
			continue
		}
		if cliOK && (len(cli) != 1 || cli[0].Kind != web.Kind) {
			t.Errorf("%q: code reads %+v, lookup %q", in, cli, web.Kind)
		}
		if !webOK && strings.Contains(web.Error, "catalog") {
			t.Errorf("%q: lookup error names a package: %q", in, web.Error)
		}
	}
}

// TestAnsweredElsewhereReason: a Reason saying another phone answered
// (cause 200, or a 487 with "Call completed elsewhere") is no failure and
// no cancelling caller, in the code command and the web lookup alike
// (review T16). Before, both said the 487's "usually by the caller".
func TestAnsweredElsewhereReason(t *testing.T) {
	ts := lookupServer(t)
	for _, in := range []string{`SIP;cause=487;text="Call completed elsewhere"`, `SIP;cause=200;text="Call completed elsewhere"`, `SIP;cause=200`} {
		out, _, status := runCLI(t, nil, "code", "--json", in)
		var cli []struct {
			Reasons []struct{ Meaning, Fault string }
		}
		if err := json.Unmarshal([]byte(out), &cli); err != nil || status != 0 || len(cli) != 1 || len(cli[0].Reasons) != 1 {
			t.Fatalf("%q: code --json exit %d, %v: %s", in, status, err, out)
		}
		resp, err := http.Get(ts.URL + "/api/v1/lookup?q=" + url.QueryEscape(in))
		if err != nil {
			t.Fatal(err)
		}
		var web struct {
			Reasons []struct{ Meaning, Fault string }
		}
		json.NewDecoder(resp.Body).Decode(&web)
		resp.Body.Close()
		if len(web.Reasons) != 1 {
			t.Fatalf("%q: lookup reasons %+v", in, web.Reasons)
		}
		for who, r := range map[string]struct{ Meaning, Fault string }{"code": cli[0].Reasons[0], "lookup": web.Reasons[0]} {
			if !strings.Contains(r.Meaning, "answered on another phone") || strings.Contains(r.Meaning, "by the caller") {
				t.Errorf("%q: %s says %q", in, who, r.Meaning)
			}
		}
		if cli[0].Reasons[0].Fault != "none" {
			t.Errorf("%q: code gives fault %q, want none", in, cli[0].Reasons[0].Fault)
		}
	}
}

// lookupServer is the web UI on an empty store, for its /api/v1/lookup.
func lookupServer(t *testing.T) *httptest.Server {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ts := httptest.NewServer(server.NewHandler(server.HandlerOptions{Lang: catalog.English}, st, server.NewMetrics()))
	t.Cleanup(ts.Close)
	return ts
}
