package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/internal/chtest"
)

// runServeCH runs Serve with o until stop is called; it returns the
// HTTP and SIP addresses.
func runServeCH(t *testing.T, o ServeOptions) (httpAddr, sipAddr string, stop func()) {
	t.Helper()
	type addrs struct{ h, s string }
	ready := make(chan addrs, 1)
	o.Ready = func(h, _, s string) { ready <- addrs{h, s} }
	o.HTTPAddr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o, io.Discard) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not stop in 30 s")
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-ready:
		return a.h, a.s, stop
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Serve not ready in 60 s")
	}
	return "", "", stop
}

// TestServeClickHouse: a collector and a UI-only process (--no-collector)
// share one ClickHouse database, with a password that never appears in
// the URL; a call the collector received by SIP is found through the
// other's API, and /metrics shows the spool.
func TestServeClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	url := srv.URL("served") + "?user=sipcause"
	dir := t.TempDir()
	colHTTP, sipAddr, stopCol := runServeCH(t, ServeOptions{Store: url, CHPassword: chtest.Password, SIPAddr: "127.0.0.1:0",
		SpoolDir: filepath.Join(dir, "spool-col"), DB: filepath.Join(dir, "unused.db")})
	uiHTTP, uiSIP, _ := runServeCH(t, ServeOptions{Store: url, CHPassword: chtest.Password, NoCollector: true, SIPAddr: "127.0.0.1:0",
		HEPAddr: "127.0.0.1:0", SpoolDir: filepath.Join(dir, "spool-ui")})
	if uiSIP != "" {
		t.Errorf("--no-collector listens for SIP on %s", uiSIP)
	}
	c, err := net.Dial("udp", sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	hdr := "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-ch1\r\nFrom: <sip:31200000001@a.test>;tag=1\r\n" +
		"Call-ID: cli-ch-1@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n"
	c.Write([]byte("INVITE sip:31201234567@b.test SIP/2.0\r\n" + hdr + "To: <sip:31201234567@b.test>\r\nContact: <sip:31200000001@10.0.0.1>\r\nMax-Forwards: 70\r\n\r\n"))
	c.Write([]byte("SIP/2.0 486 Busy Here\r\n" + hdr + "To: <sip:31201234567@b.test>;tag=2\r\n\r\n"))
	c.Close()
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get("http://" + colHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "sipcause_store_spool_bytes") || !strings.Contains(string(m), `sipcause_store_dropped_total{kind="call"} 0`) {
		t.Errorf("/metrics without the spool:\n%s", m)
	}
	stopCol() // stores the call and empties the spool
	var page struct {
		Calls []struct {
			CallID      string `json:"call_id"`
			FinalStatus int    `json:"final_status"`
		} `json:"calls"`
	}
	resp, err = http.Get("http://" + uiHTTP + "/api/v1/calls?number=31200000001")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || len(page.Calls) != 1 || page.Calls[0].CallID != "cli-ch-1@test" || page.Calls[0].FinalStatus != 486 {
		t.Fatalf("the UI process found %+v (%v)", page.Calls, err)
	}
}

// TestServeStoreFlag: --store names the backend; a password in the URL
// is refused.
func TestServeStoreFlag(t *testing.T) {
	for _, bad := range []string{"postgres://x/y", "clickhouse://127.0.0.1:1/db?password=secret"} {
		err := Serve(context.Background(), ServeOptions{HTTPAddr: "127.0.0.1:0", Store: bad, SpoolDir: filepath.Join(t.TempDir(), "s")}, io.Discard)
		if err == nil {
			t.Errorf("--store %s accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	// sqlite:PATH is --db.
	path := filepath.Join(t.TempDir(), "x.db")
	h, _, stop := runServeCH(t, ServeOptions{Store: "sqlite:" + path})
	resp, err := http.Get("http://" + h + "/api/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	stop()
	if resp.StatusCode != 200 {
		t.Errorf("stats: %d", resp.StatusCode)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("--store sqlite:PATH made no database: %v", err)
	}
}

// TestServeClickHousePasswordFromEnv: `sipcause serve` takes the
// ClickHouse password from SIPCAUSE_CLICKHOUSE_PASSWORD, and has no flag
// that would put it on the command line. The HTTP address is taken, so a
// serve that got as far as opening the store stops there.
func TestServeClickHousePasswordFromEnv(t *testing.T) {
	srv := chtest.Start(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	args := []string{"--no-collector", "--http", busy.Addr().String(), "--spool", t.TempDir(), "--store", srv.URL("envpw") + "?user=sipcause"}
	run := func(args []string, pw string) error {
		env := Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string {
			if k == "SIPCAUSE_CLICKHOUSE_PASSWORD" {
				return pw
			}
			return ""
		}}
		return runServe(args, env)
	}
	if err := run(args, "wrong"); err == nil || !strings.Contains(err.Error(), "assword") {
		t.Errorf("a wrong password in the environment: %v", err)
	}
	if err := run(args, ""); err == nil || !strings.Contains(err.Error(), "assword") {
		t.Errorf("no password: %v", err)
	}
	err = run(args, chtest.Password)
	if err == nil || !strings.Contains(err.Error(), "--http") || strings.Contains(err.Error(), "assword") {
		t.Errorf("the right password in the environment: %v; want the store opened and the taken --http address refused", err)
	}
	for _, flag := range []string{"--password", "--ch-password", "--store-password"} {
		if err := run(append([]string{flag, chtest.Password}, args...), ""); err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s: %v; want no such flag", flag, err)
		}
	}
}
