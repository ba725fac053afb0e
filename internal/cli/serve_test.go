package cli

import (
	"bytes"
	"context"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/server"
)

// startServe runs Serve on free loopback ports until the test ends.
func startServe(t *testing.T, o ServeOptions) (httpAddr string) {
	t.Helper()
	ready := make(chan string, 1)
	o.Ready = func(h, _, _ string) { ready <- h }
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:0"
	}
	o.HEPAddr = "127.0.0.1:0"
	o.DB = filepath.Join(t.TempDir(), "serve.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case h := <-ready:
		return h
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve not ready in 10 s")
	}
	return ""
}

// TestServeAnalyzeSameBytes: POST /api/v1/analyze returns exactly what
// `sipcause analyze --json FILE` prints.
func TestServeAnalyzeSameBytes(t *testing.T) {
	dir := "../../../shared/testdata/captures"
	names := []string{"sngrep__aaa.pcap", "hep-wireshark__hep.pcap", "goffinet-sip_captures__sip-register-wrong_password-401-403-401-403.pcapng"}
	addr := startServe(t, ServeOptions{Lang: catalog.English})
	for _, name := range names {
		path := filepath.Join(dir, name)
		body, err := os.ReadFile(path)
		if err != nil {
			sharedtest.Missing(t, path, err)
		}
		var want bytes.Buffer
		wd, _ := os.Getwd()
		os.Chdir(dir)
		err = Analyze(AnalyzeOptions{Files: []string{name}, Lang: catalog.English, Format: "json"}, &want, io.Discard)
		os.Chdir(wd)
		if err != nil {
			t.Fatalf("%s: analyze: %v", name, err)
		}
		resp, err := http.Post("http://"+addr+"/api/v1/analyze?name="+name, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: API (status %d, %d bytes) differs from sipcause analyze --json (%d bytes)", name, resp.StatusCode, len(got), want.Len())
		}
	}
}

func TestServeRefusesOpenBindWithoutAuth(t *testing.T) {
	err := Serve(context.Background(), ServeOptions{HTTPAddr: "0.0.0.0:0", HEPAddr: "", DB: filepath.Join(t.TempDir(), "x.db")}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("Serve on 0.0.0.0 without --auth: %v", err)
	}
}

func TestServeAuthAndCSRF(t *testing.T) {
	addr := startServe(t, ServeOptions{AuthToken: "s3cret"})
	get := func(auth string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/calls", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get(""); c != 401 {
		t.Errorf("no token: %d, want 401", c)
	}
	if c := get("Bearer s3cret"); c != 200 {
		t.Errorf("token: %d, want 200", c)
	}
	// A form post from another site is refused, and one without the
	// session's token too.
	req, _ := http.NewRequest("POST", "http://"+addr+"/analyze", strings.NewReader("log=x"))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", "http://"+addr+"/analyze", strings.NewReader("log=x"))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST without CSRF token: %d, want 403", resp.StatusCode)
	}
	if c := get("Basic " + "dXNlcjpzM2NyZXQ="); c != 200 { // user:s3cret
		t.Errorf("basic auth with the token: %d", c)
	}
}

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "0": 0, "0.5d": 12 * time.Hour} {
		if got, err := parseRetention(in); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseRetention("week"); err == nil {
		t.Error("parseRetention(week): no error")
	}
}

// TestServeZone: the web UI names the zone as TZ gives it.
func TestServeZone(t *testing.T) {
	if _, err := time.LoadLocation("Europe/Amsterdam"); err != nil {
		t.Skip("no zoneinfo:", err)
	}
	for _, tz := range []string{"Europe/Amsterdam", ":Europe/Amsterdam"} {
		if got := serveZone(func(k string) string { return map[string]string{"TZ": tz}[k] }).String(); got != "Europe/Amsterdam" {
			t.Errorf("TZ=%s: %s", tz, got)
		}
	}
}

// serve collects near the collector's heap target with GOGC off unless
// GOGC is set, keeps --max-memory as the soft limit when it is, and puts
// the previous settings back when it returns.
func TestServePace(t *testing.T) {
	gcBefore := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gcBefore)
	limitBefore := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(limitBefore)
	const budget = 1 << 30
	restore := servePace(func(string) string { return "" }, budget)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC unset: serve runs at GOGC=%d, want off", got)
	}
	// The test's heap is far below the target: the governor leaves it.
	if got := debug.SetMemoryLimit(-1); got != server.HeapTarget(budget) || got >= budget {
		t.Errorf("GOGC unset: soft limit %d, want the heap target %d, below the budget %d", got, server.HeapTarget(budget), budget)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after serve: GOGC=%d, want the 100 from before", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after serve: soft limit %d, want the one from before", got)
	}
	restore = servePace(func(k string) string {
		if k == "GOGC" {
			return "200"
		}
		return ""
	}, budget)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=200 set: serve changed the pace to %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != budget {
		t.Errorf("GOGC=200 set: soft limit %d, want the budget %d", got, budget)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after serve with GOGC: soft limit %d, want the one from before", got)
	}
}
