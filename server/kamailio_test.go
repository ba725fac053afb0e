package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/internal/chtest"
	"github.com/sipcause/sipcause/store"
)

// openClickHouse opens a ClickHouse store with a spool of its own.
func openClickHouse(t testing.TB, url string) *store.ClickHouse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.OpenClickHouse(ctx, url, store.CHOptions{SpoolDir: filepath.Join(t.TempDir(), "spool"), BatchAge: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// requireSIPTools skips unless kamailio and sipp are installed and we are
// root (Kamailio wants to set its run directory and limits).
func requireSIPTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts Kamailio and SIPp")
	}
	if os.Geteuid() != 0 {
		t.Skip("kamailio e2e: needs root")
	}
	var missing []string
	for _, n := range []string{"kamailio", "sipp"} {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Skipf("kamailio e2e: %s not installed (Debian: apt-get install kamailio sip-tester)", strings.Join(missing, ", "))
	}
}

// freeUDPPort returns a loopback port nothing is bound to just now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	// Ports below the kernel's ephemeral range (32768 and up on Linux), so
	// that no outgoing connection of a test running alongside takes the
	// port between this check and the process that binds it.
	for range 200 {
		p := 10000 + rand.IntN(9000) // e2e takes 20000-32000
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		c.Close()
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// waitBound waits until something is bound to the UDP port.
func waitBound(t *testing.T, port int, what string, out *procOutput) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return // taken: it listens
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on udp/%d after 10 s:\n%s", what, port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procOutput collects a process's output while it runs.
type procOutput struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *procOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *procOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// startProc runs argv in its own process group, killed (by group id) when
// the test ends.
func startProc(t *testing.T, dir string, out *procOutput, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", argv[0], err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

// TestKamailioSiptrace sends calls from SIPp through Kamailio, whose
// siptrace module mirrors every message to the collector as HEP3, over UDP
// and over TCP; the collector must store each call, answered, with the
// messages of both hops.
//
// It runs with each store: SQLite, and ClickHouse (a server of the test's
// own), read back through a second store opened after the collector
// stopped, as the UI process of a cluster would.
func TestKamailioSiptrace(t *testing.T) {
	requireSIPTools(t)
	for _, tc := range []struct{ store, hepTransport string }{{"sqlite", "udp"}, {"sqlite", "tcp"}, {"clickhouse", "udp"}} {
		hepTransport := tc.hepTransport
		t.Run(tc.store+"/"+hepTransport, func(t *testing.T) {
			const calls = 5
			dir := t.TempDir()
			var r *running
			var reopen func() store.Store
			if tc.store == "sqlite" {
				r = startCollector(t, "", CollectorOptions{})
				reopen = func() store.Store {
					st, err := store.OpenSQLite(r.path)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			} else {
				url := chtest.Start(t).URL("kamailio")
				r = startCollectorOn(t, openClickHouse(t, url), CollectorOptions{})
				reopen = func() store.Store { return openClickHouse(t, url) }
			}
			hepURI := "sip:" + r.col.HEPAddr()
			if hepTransport == "tcp" {
				hepURI += ";transport=tcp"
			}
			cfg, err := os.ReadFile("testdata/kamailio-siptrace.cfg")
			if err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, "kamailio.cfg")
			os.WriteFile(cfgPath, []byte(strings.ReplaceAll(string(cfg), "HEP_URI", strconv.Quote(hepURI))), 0o644)
			proxy, uas, uac := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
			var kout, sout, cout procOutput
			startProc(t, dir, &kout, "kamailio", "-f", cfgPath, "-DD", "-E", "-Y", dir, "-w", dir, "-m", "32", "-M", "4",
				"-l", fmt.Sprintf("udp:127.0.0.1:%d", proxy), "-l", fmt.Sprintf("tcp:127.0.0.1:%d", proxy))
			waitBound(t, proxy, "kamailio", &kout)
			uasCmd := startProc(t, dir, &sout, "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(uas),
				"-mp", strconv.Itoa(freeUDPPort(t)), "-cp", strconv.Itoa(freeUDPPort(t)), "-m", strconv.Itoa(calls),
				"-nostdin", "-timeout", "30s")
			waitBound(t, uas, "sipp UAS", &sout)
			prefix := "kam-" + hepTransport + "-"
			uacCmd := startProc(t, dir, &cout, "sipp", "-sn", "uac", "-i", "127.0.0.1", "-p", strconv.Itoa(uac),
				"-mp", strconv.Itoa(freeUDPPort(t)), "-cp", strconv.Itoa(freeUDPPort(t)),
				"-rsa", fmt.Sprintf("127.0.0.1:%d", proxy), "-m", strconv.Itoa(calls), "-r", "10", "-l", "5",
				"-nostdin", "-timeout", "30s", "-cid_str", prefix+"%u-%p@%s", fmt.Sprintf("127.0.0.1:%d", uas))
			done := make(chan error, 1)
			go func() { done <- uacCmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("sipp UAC: %v\n%s\n--- kamailio:\n%s", err, cout.String(), kout.String())
				}
			case <-time.After(40 * time.Second):
				t.Fatalf("sipp UAC did not finish in 40 s\n%s", cout.String())
			}
			uasCmd.Wait()
			// Wait for the last HEP packets: each call is 7 messages on
			// each of Kamailio's two sides, less the 100 Trying a proxy
			// absorbs (RFC 3261 §16.7 step 3).
			want := int64(calls * 13)
			deadline := time.Now().Add(10 * time.Second)
			for r.m.Snapshot().Analyzed < want && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			r.stop(t)
			snap := r.m.Snapshot()
			t.Logf("collector: %+v", snap)
			if snap.Malformed != 0 || snap.Dropped != 0 {
				t.Errorf("malformed %d, dropped %d", snap.Malformed, snap.Dropped)
			}
			st := reopen()
			defer st.Close()
			got, err := st.SearchCalls(context.Background(), store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range got {
				if !strings.HasPrefix(c.CallID, prefix) {
					continue
				}
				n++
				if c.FinalStatus != 200 || c.Outcome != analyze.OutcomeAnswered {
					t.Errorf("%s: %d %s, want 200 answered", c.CallID, c.FinalStatus, c.Outcome)
				}
				cr, err := st.GetCall(context.Background(), c.CallID)
				if err != nil {
					t.Fatal(err)
				}
				hosts := map[string]bool{}
				for _, m := range cr.Messages {
					hosts[m.Src] = true
				}
				if len(cr.Messages) < 13 || len(hosts) < 3 {
					t.Errorf("%s: %d messages from %d hosts; want both hops (13, 3)", c.CallID, len(cr.Messages), len(hosts))
				}
			}
			if n != calls {
				t.Errorf("%d calls stored, want %d; kamailio:\n%s", n, calls, kout.String())
			}
		})
	}
}
