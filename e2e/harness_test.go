package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
)

// This file is the machinery: ports, processes, capture, tshark and the
// analyzer's JSON. e2e_test.go holds the scenarios and what is expected.

const loopback = "127.0.0.1"

// requireTools skips t unless we are root on Linux and every named program
// is on PATH. The e2e tests capture on lo, which needs root (or capabilities
// we do not try to detect).
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short (real SIP software, up to 40 s)")
	}
	if _, err := os.Stat("/proc/net/udp"); err != nil {
		t.Skip("e2e: needs Linux (/proc/net) to capture on lo")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root to capture on lo with dumpcap")
	}
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Skipf("e2e: %s not installed (Debian: apt-get install sip-tester tshark kamailio)", strings.Join(missing, ", "))
	}
}

// portPool hands out loopback ports that are free for both UDP and TCP and
// never the same one twice in this process, so parallel tests cannot clash.
// It picks below Linux's default ephemeral range (32768-60999) so that an
// outgoing TCP connection of another test does not take a port between the
// time we pick it and the time SIPp binds it.
var portPool = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

// takePorts reserves n consecutive ports and returns the first.
func takePorts(t *testing.T, n int) int {
	t.Helper()
	portPool.Lock()
	defer portPool.Unlock()
	for range 2000 {
		base := 20000 + 4*rand.IntN(3000) // 20000..31996, 4-aligned
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = !portPool.used[p] && portFree(p)
		}
		if !ok {
			continue
		}
		for p := base; p < base+n; p++ {
			portPool.used[p] = true
		}
		return base
	}
	t.Fatalf("e2e: no %d free consecutive loopback ports", n)
	return 0
}

func portFree(p int) bool {
	addr := net.JoinHostPort(loopback, strconv.Itoa(p))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// listening reports whether something is bound to 127.0.0.1:port (UDP) or
// listening on it (TCP), read from /proc/net so that probing has no side
// effect on the process being waited for and puts nothing in the capture.
func listening(transport string, port int) bool {
	name := "/proc/net/udp"
	if transport == "tcp" {
		name = "/proc/net/tcp"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	wildcard := fmt.Sprintf("00000000:%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || (f[1] != want && f[1] != wildcard) {
			continue
		}
		if transport == "udp" || f[3] == "0A" { // 0A: TCP_LISTEN
			return true
		}
	}
	return false
}

func waitListening(t *testing.T, p *proc, transport string, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !listening(transport, port) {
		if p.exited() {
			t.Fatalf("e2e: %s exited before listening on %s/%d:\n%s", p.name, transport, port, p.output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: %s not listening on %s/%d after 10s:\n%s", p.name, transport, port, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is one program started by a test, in its own process group so that
// it and its children (Kamailio forks) are ended together, by that group's
// id, when the test ends or its time limit passes.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error // valid once done is closed

	started time.Time
	ended   time.Duration // run time, set by wait
}

// start runs argv in dir with a hard time limit; the test's cleanup kills
// it if it is still running.
func start(t *testing.T, limit time.Duration, dir, name string, argv ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	p := &proc{name: name, done: make(chan struct{}), started: time.Now()}
	p.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Cancel = func() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("e2e: start %s: %v", name, err)
	}
	t.Logf("started %s (pid %d): %s", name, p.cmd.Process.Pid, strings.Join(argv, " "))
	go func() {
		p.err = p.cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) output() string { return p.out.String() }

// wait waits up to d for the process to exit and returns its exit code, or
// -1 if it had to be killed.
func (p *proc) wait(d time.Duration) int {
	select {
	case <-p.done:
	case <-time.After(d):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return -1
	}
	p.ended = time.Since(p.started)
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// stop sends sig to the process (not its group: Kamailio's main process
// ends its own children) and waits up to d for it to exit.
func (p *proc) stop(sig syscall.Signal, d time.Duration) int {
	if !p.exited() {
		p.cmd.Process.Signal(sig)
	}
	return p.wait(d)
}

// startCapture runs dumpcap on lo for the given ports and returns once it
// is capturing. Stop it with stopCapture.
func startCapture(t *testing.T, dir, file string, ports ...int) *proc {
	t.Helper()
	var f []string
	for _, p := range ports {
		f = append(f, "port "+strconv.Itoa(p))
	}
	p := start(t, 3*time.Minute, dir, "dumpcap",
		"dumpcap", "-i", "lo", "-f", strings.Join(f, " or "), "-w", file)
	// dumpcap prints "Capturing on" before it opens the interface, so that
	// line is no sign of readiness: a TCP handshake sent right after it can
	// be missed. It writes the pcapng header only after the interface is
	// open with the filter set, so a non-empty file is.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if fi, err := os.Stat(file); err == nil && fi.Size() > 0 {
			return p
		}
		if p.exited() {
			t.Fatalf("e2e: dumpcap exited before capturing:\n%s", p.output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: dumpcap wrote no capture header within 15s:\n%s", p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stopCapture gives dumpcap a second to write out what it has, then ends
// it with SIGINT as a person pressing Ctrl-C would.
func stopCapture(t *testing.T, p *proc) {
	t.Helper()
	time.Sleep(time.Second)
	if code := p.stop(syscall.SIGINT, 10*time.Second); code != 0 {
		t.Fatalf("e2e: dumpcap exit %d:\n%s", code, p.output())
	}
}

// blackHole listens on port and reads whatever arrives without ever
// answering: a callee that is up at the transport level but whose SIP
// stack is silent.
func blackHole(t *testing.T, transport string, port int) {
	t.Helper()
	addr := net.JoinHostPort(loopback, strconv.Itoa(port))
	switch transport {
	case "udp":
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("e2e: black hole: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			buf := make([]byte, 65536)
			for {
				if _, _, err := c.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
	case "tcp":
		// No TCP keep-alive probes: Go sends them by default, a silent
		// SIP server need not, and they would put packets in the capture.
		lc := net.ListenConfig{KeepAlive: -1}
		l, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("e2e: black hole: %v", err)
		}
		var mu sync.Mutex
		var conns []net.Conn
		t.Cleanup(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				go func() {
					io.Copy(io.Discard, c)
					c.Close() // the caller hung up: close our side too
				}()
			}
		}()
	}
}

// wireMessage is one SIP message as tshark decodes it from the capture.
type wireMessage struct {
	Frame  int
	Time   float64 // seconds since the first packet
	Src    string
	Dst    string
	Method string // request method, or "" for a response
	Status int    // response status, or 0 for a request
	CSeq   string
	CallID string
}

// Label is the method of a request or the status code of a response.
func (m wireMessage) Label() string {
	if m.Status != 0 {
		return strconv.Itoa(m.Status)
	}
	return m.Method
}

func (m wireMessage) String() string {
	return fmt.Sprintf("%4d %7.3fs %s -> %s %s (CSeq %s)", m.Frame, m.Time, m.Src, m.Dst, m.Label(), m.CSeq)
}

// sipOnWire decodes the SIP messages in file with tshark, independently of
// sipcause, so that a scenario that did not do what it should is reported
// as such rather than as an analyzer bug. ports are decoded as SIP over UDP
// and TCP whatever tshark's heuristics think.
func sipOnWire(t *testing.T, file string, ports ...int) []wireMessage {
	t.Helper()
	args := []string{"-r", file, "-n", "-Y", "sip", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"}
	for _, p := range ports {
		args = append(args, "-d", fmt.Sprintf("udp.port==%d,sip", p), "-d", fmt.Sprintf("tcp.port==%d,sip", p))
	}
	for _, f := range []string{"frame.number", "frame.time_relative", "ip.src", "udp.srcport", "tcp.srcport",
		"ip.dst", "udp.dstport", "tcp.dstport", "sip.Method", "sip.Status-Code", "sip.CSeq", "sip.Call-ID"} {
		args = append(args, "-e", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("e2e: tshark -r %s: %v\n%s", file, err, stderr.String())
	}
	var msgs []wireMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 12 {
			continue
		}
		var m wireMessage
		m.Frame, _ = strconv.Atoi(f[0])
		m.Time, _ = strconv.ParseFloat(f[1], 64)
		m.Src = f[2] + ":" + f[3] + f[4]
		m.Dst = f[5] + ":" + f[6] + f[7]
		m.Method = f[8]
		m.Status, _ = strconv.Atoi(f[9])
		if m.Status != 0 {
			m.Method = ""
		}
		m.CSeq, m.CallID = f[10], f[11]
		msgs = append(msgs, m)
	}
	return msgs
}

// isSubsequence reports whether want appears in got in order, possibly
// with other messages between.
func isSubsequence(want []string, got []wireMessage) bool {
	i := 0
	for _, m := range got {
		if i < len(want) && m.Label() == want[i] {
			i++
		}
	}
	return i == len(want)
}

// report is the part of `sipcause analyze --json` the e2e tests read. The
// full contract is richer; unknown fields are ignored on purpose.
type report struct {
	SchemaVersion int          `json:"schema_version"`
	Calls         []reportCall `json:"calls"`
}

type reportCall struct {
	CallID      string          `json:"call_id"`
	FinalStatus int             `json:"final_status"`
	Reason      string          `json:"reason"`
	Outcome     string          `json:"outcome"`
	Fault       string          `json:"fault"`
	Explanation string          `json:"explanation"`
	Findings    []reportFinding `json:"findings"`
}

type reportFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Text     string `json:"text"`
	Frames   []int  `json:"frames"`
}

// analyze runs `sipcause analyze --json file` and decodes its report.
// Exit status 1 (an input was damaged, partial output) still yields a
// report; the caller decides whether that matters.
func analyze(t *testing.T, bin, file string) (report, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "analyze", "--json", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("sipcause analyze --json %s: %v\n%s", file, err, stderr.String())
	}
	if err != nil {
		t.Logf("sipcause analyze exit 1 (damaged input): %s", stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("sipcause analyze --json: not JSON: %v\n%s", err, stdout.String())
	}
	if r.SchemaVersion != 2 {
		t.Errorf("schema_version %d, want 2", r.SchemaVersion)
	}
	return r, stdout.Bytes()
}

// keepCapture copies file to the -e2e.keep directory, if one was given,
// as NAME.pcapng (slashes in NAME become dashes).
func keepCapture(t *testing.T, file string) {
	if *keepDir == "" {
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("keep capture: %v", err)
		return
	}
	dst := filepath.Join(*keepDir, strings.ReplaceAll(t.Name(), "/", "-")+".pcapng")
	if err := os.MkdirAll(*keepDir, 0o755); err != nil {
		t.Errorf("keep capture: %v", err)
		return
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Errorf("keep capture: %v", err)
	}
}
