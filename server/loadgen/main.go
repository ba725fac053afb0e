// Command loadgen measures the collector: it starts one in this process
// (HEP on a loopback port, a store in a temporary directory), sends
// synthetic calls as HEP3 over UDP at increasing rates for a bounded time
// each, from a child process of its own (-in-process: from goroutines of
// this one), and prints per step the messages per second sent, accepted
// by the analyzer and dropped, the collector's peak memory and CPU time
// per message accepted, and the sender's CPU (percent of one core).
//
//	go run ./server/loadgen -rates 25000,50000,100000,150000 -step 10s
//
// The Call-IDs are scattered as real ones are (a call's number through a
// bijection of the ten-digit numbers), so that the store's Call-ID index
// takes them at random places, not at its end. -prefill N first puts N
// calls into the store, for the cost of writing into a table that is not
// empty (an index grows deeper and less of it stays in the cache).
//
// It binds only to 127.0.0.1 and stops after len(rates) steps.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/internal/memlimit"
	"github.com/sipcause/sipcause/server"
	"github.com/sipcause/sipcause/server/internal/synth"
	"github.com/sipcause/sipcause/store"
)

func main() {
	rates := flag.String("rates", "25000,50000,100000,150000", "messages per second, one step each")
	step := flag.Duration("step", 10*time.Second, "duration of each step")
	senders := flag.Int("senders", 2, "sending goroutines")
	maxOpen := flag.Int("max-open-calls", 0, "the collector's open-call limit (0: its default)")
	maxMemory := flag.Int64("max-memory", server.DefaultMaxMemory, "the collector's memory budget in bytes, which the Go runtime's heap never passes, as sipcause serve --max-memory sets them")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile at the end of the run to this file")
	inProcess := flag.Bool("in-process", false, "send from goroutines of this process instead of a child process")
	prefill := flag.Int("prefill", 0, "calls put into the store before the first step")
	sendTo := flag.String("send-to", "", "(child) send to this HEP address and exit")
	sendRate := flag.Int("send-rate", 0, "(child) messages per second")
	sendFrom := flag.Int64("send-first", 0, "(child) number of the first call")
	flag.Parse()
	if *sendTo != "" {
		n, err := sendProcess(*sendTo, *sendRate, *step, *senders, *sendFrom)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		fmt.Println(n)
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*rates, *step, *senders, *maxOpen, *maxMemory, *memprofile, *inProcess, *prefill); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// template is one call whose Call-ID is patched per call.
type template struct {
	pkts []synth.Packet
	offs [][]int // where the Call-ID's digits are in each message
}

const idDigits = "0000000000"

func newTemplate(status int) template {
	ps := synth.Call(0, time.Time{}, synth.CallOptions{CallID: "load-" + idDigits + "@sipcause.test", Status: status})
	t := template{pkts: ps}
	for _, p := range ps {
		var offs []int
		for i := 0; ; {
			j := bytes.Index(p.SIP[i:], []byte(idDigits))
			if j < 0 {
				break
			}
			offs = append(offs, i+j)
			i += j + len(idDigits)
		}
		t.offs = append(t.offs, offs)
	}
	return t
}

func run(rateList string, step time.Duration, senders, maxOpen int, maxMemory int64, memprofile string, inProcess bool, prefill int) error {
	// The Go runtime's pace, as sipcause serve sets it: unless GOGC is
	// set, it collects near the collector's heap target (or at half again
	// the live heap), never past the memory budget.
	if os.Getenv("GOGC") == "" {
		defer memlimit.StartWithin(uint64(server.HeapTarget(maxMemory)), uint64(maxMemory))()
	} else {
		debug.SetMemoryLimit(maxMemory)
	}
	dir, err := os.MkdirTemp("", "sipcause-load-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.OpenSQLite(filepath.Join(dir, "load.db"))
	if err != nil {
		return err
	}
	if prefill > 0 {
		t := time.Now()
		if err := fill(st, prefill); err != nil {
			return err
		}
		fmt.Printf("prefill: %d calls in %.1f s\n", prefill, time.Since(t).Seconds())
	}
	m := server.NewMetrics()
	col, err := server.NewCollector(server.CollectorOptions{HEPAddr: "127.0.0.1:0", MaxOpenCalls: maxOpen, MaxMemory: maxMemory}, st, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()

	tmpls := []template{newTemplate(200), newTemplate(486), newTemplate(404), newTemplate(200)}
	var callN atomic.Int64
	fmt.Printf("%-10s %12s %12s %12s %10s %10s %12s %12s %8s %12s\n", "target/s", "sent/s", "accepted/s", "dropped/s", "forced", "stored", "peak RSS", "CPU µs/msg", "GC CPU", "sender CPU")
	for _, rs := range strings.Split(rateList, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate <= 0 {
			return fmt.Errorf("bad rate %q", rs)
		}
		before := m.Snapshot()
		cpuBefore := cpuTime()
		gcBefore, busyBefore := gcCPU()
		var sent atomic.Int64
		var senderCPU time.Duration
		if inProcess {
			var wg sync.WaitGroup
			stop := time.Now().Add(step)
			for s := range senders {
				wg.Go(func() {
					sendAt(col.HEPAddr(), rate/senders, stop, tmpls[s%len(tmpls):], &callN, &sent)
				})
			}
			wg.Wait()
		} else {
			// The sender is a process of its own, so that it does not
			// share the collector's Go runtime, scheduler and garbage
			// collector: what is measured is the collector.
			cmd := exec.Command(os.Args[0], "-send-to", col.HEPAddr(), "-send-rate", strconv.Itoa(rate),
				"-step", step.String(), "-senders", strconv.Itoa(senders), "-send-first", strconv.FormatInt(callN.Load(), 10))
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("sender: %w", err)
			}
			// What the sender took of the machine's cores is not the
			// collector's: on 2 cores it is shown beside the rates.
			senderCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			n, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			sent.Add(n)
			callN.Add(n) // more than enough to keep Call-IDs apart
		}
		if memprofile != "" { // the heap while the calls of this step are still open
			if f, err := os.Create(memprofile); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		time.Sleep(500 * time.Millisecond) // let the queue drain
		after := m.Snapshot()
		stored, _ := col.Stored()
		secs := step.Seconds()
		// The collector's CPU time (this process: the sender is another)
		// per message it accepted: what it costs whatever else the
		// machine runs, which the rates above depend on.
		perMsg, gcShare := 0.0, 0.0
		cpu := cpuTime() - cpuBefore
		if n := after.Analyzed - before.Analyzed; n > 0 {
			perMsg = float64(cpu.Microseconds()) / float64(n)
		}
		if gc, busy := gcCPU(); busy > busyBefore {
			gcShare = 100 * (gc - gcBefore).Seconds() / (busy - busyBefore).Seconds()
		}
		sender := "-" // in-process: included in the collector's
		if !inProcess {
			sender = fmt.Sprintf("%.0f%%", 100*senderCPU.Seconds()/secs)
		}
		fmt.Printf("%-10d %12.0f %12.0f %12.0f %10d %10d %9d MiB %12.1f %7.1f%% %12s\n", rate, float64(sent.Load())/secs,
			float64(after.Analyzed-before.Analyzed)/secs, float64(after.Dropped-before.Dropped)/secs,
			after.Forced, stored, peakRSS()>>20, perMsg, gcShare, sender)
	}
	cancel()
	err = <-done
	st.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("final: %+v; Go heap peak sys %d MiB\n", m.Snapshot(), ms.Sys>>20)
	return err
}

// sendProcess is the child that sends: rate messages a second for step,
// from senders goroutines, and returns how many it sent.
func sendProcess(addr string, rate int, step time.Duration, senders int, first int64) (int64, error) {
	if rate <= 0 || senders <= 0 {
		return 0, fmt.Errorf("bad rate %d or senders %d", rate, senders)
	}
	tmpls := []template{newTemplate(200), newTemplate(486), newTemplate(404), newTemplate(200)}
	var callN, sent atomic.Int64
	callN.Store(first)
	var wg sync.WaitGroup
	stop := time.Now().Add(step)
	for s := range senders {
		wg.Go(func() { sendAt(addr, rate/senders, stop, tmpls[s%len(tmpls):], &callN, &sent) })
	}
	wg.Wait()
	return sent.Load(), nil
}

// sendAt sends whole calls at about rate messages per second until stop,
// in bursts every millisecond, up to 64 datagrams per system call
// (sendmmsg on Linux), so that the sender costs the machine as little CPU
// as it can and the collector has the rest.
func sendAt(addr string, rate int, stop time.Time, tmpls []template, callN, sent *atomic.Int64) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c.(*net.UDPConn))
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	bufs := make([][]byte, batch)
	nb := 0
	send := func() {
		for i := range msgs[:nb] {
			msgs[i].Buffers = [][]byte{bufs[i]}
		}
		for off := 0; off < nb; {
			n, err := pc.WriteBatch(msgs[off:nb], 0)
			if err != nil || n <= 0 {
				break
			}
			off += n
		}
		sent.Add(int64(nb))
		nb = 0
	}
	src := netip.MustParseAddrPort("10.1.0.1:5060")
	var sip []byte
	var digits [10]byte
	start := time.Now()
	var n int64
	for time.Now().Before(stop) {
		due := int64(time.Since(start).Seconds() * float64(rate))
		now := time.Now()
		for n < due {
			id := callN.Add(1)
			t := tmpls[int(id)%len(tmpls)]
			v := scatter(id)
			for i := len(digits) - 1; i >= 0; i-- {
				digits[i] = byte('0' + v%10)
				v /= 10
			}
			for i, p := range t.pkts {
				sip = append(sip[:0], p.SIP...)
				for _, o := range t.offs[i] {
					copy(sip[o:], digits[:])
				}
				from, to := p.Src, p.Dst
				if from.Port() == 5060 && from.Addr().Is4() && from.Addr().As4()[0] == 10 && from.Addr().As4()[1] == 1 {
					from = src
				}
				bufs[nb] = synth.EncodeHEP3(bufs[nb][:0], from, to, now.Add(time.Duration(i)*time.Millisecond), 17, 1, sip)
				nb++
				n++
				if nb == batch {
					send()
				}
			}
		}
		send()
		time.Sleep(time.Millisecond)
	}
}

// scatter maps a call's number to the digits of its Call-ID: a bijection
// of the numbers below 10^10 (7919 has no factor 2 or 5), so Call-IDs
// stay apart while consecutive calls' land far from each other.
func scatter(id int64) int64 { return (id*7919 + 1234567) % 10_000_000_000 }

// fill puts n calls into st, in batches as the collector writes them: a
// day of them before now, each with the JSON and raw messages of a short
// answered or failed call, and a scattered Call-ID of its own.
func fill(st store.Store, n int) error {
	ctx := context.Background()
	start := time.Now().Add(-24 * time.Hour)
	spacing := 24 * time.Hour / time.Duration(n)
	raw := func(first string) []byte {
		return []byte(first + "\r\nVia: SIP/2.0/UDP 10.1.0.1:5060;branch=z9hG4bK-prefill\r\nFrom: <sip:31201234567@pbx.test>;tag=a1\r\n" +
			"To: <sip:31207654321@provider.test>\r\nCall-ID: prefill@loadgen\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	}
	batch := make([]store.CallRecord, 0, 500)
	for i := range n {
		at := start.Add(time.Duration(i) * spacing)
		status, outcome := 200, analyze.OutcomeAnswered
		if i%4 == 1 {
			status, outcome = 486, analyze.OutcomeBusy
		}
		c := &analyze.Call{CallID: fmt.Sprintf("prefill-%010d@sipcause.test", scatter(int64(i))), Caller: "31201234567", Callee: "31207654321",
			From: "sip:31201234567@pbx.test", To: "sip:31207654321@provider.test", Start: at, FinalStatus: status, Outcome: outcome,
			Fault: "none", Findings: []analyze.Finding{}, Frames: []int{1, 2, 3}}
		var msgs []store.RawMessage
		for k, first := range []string{"INVITE sip:31207654321@provider.test SIP/2.0", "SIP/2.0 100 Trying", "SIP/2.0 " + strconv.Itoa(status) + " X"} {
			t := at.Add(time.Duration(k) * 100 * time.Millisecond)
			c.Messages = append(c.Messages, analyze.Exchange{Frame: k + 1, Time: t, Src: "10.1.0.1:5060", Dst: "10.2.0.1:5060", Label: first})
			msgs = append(msgs, store.RawMessage{Frame: k + 1, Time: t, Src: "10.1.0.1:5060", Dst: "10.2.0.1:5060", Transport: "udp", Raw: raw(first)})
		}
		batch = append(batch, store.CallRecord{Call: c, Summary: outcome, Messages: msgs})
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.PutCalls(ctx, batch); err != nil {
				return fmt.Errorf("prefill: %w", err)
			}
			batch = batch[:0]
		}
	}
	return nil
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCPU returns the time the Go runtime's processors have spent
// collecting garbage (marking, assists, pauses, sweeping) and running
// anything at all, as the runtime estimates them: from the time each
// processor spends at it, so a process that shares the machine's cores
// overestimates both alike, and their ratio is the share of the
// collector's work that the garbage collection is.
func gcCPU() (gc, busy time.Duration) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindFloat64 {
			return 0, 0
		}
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return sec(s[0].Value.Float64()), sec(s[1].Value.Float64() - s[2].Value.Float64())
}

// peakRSS returns the process's peak resident memory (VmHWM) in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
