package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
	"github.com/sipcause/sipcause/store"
)

// CollectorOptions tune the live collector. Zero values take the defaults
// named on each field.
type CollectorOptions struct {
	HEPAddr string // HEP over UDP and TCP; "" for none
	// HEPTLSAddr receives HEP over TLS (as heplify -nt tls and
	// heplify-server's HEPTLSAddr do), with the certificate of TLS; ""
	// for none. Its connections share the TCP limits of HEPAddr.
	HEPTLSAddr string
	TLS        *tls.Config
	SIPAddr    string // plain SIP over UDP (a mirror); "" for none

	Lang       catalog.Lang   // language of the stored explanations
	Local      []netip.Prefix // the user's own networks (as analyze --local)
	LocalHosts []string

	// QueueSize is the messages between receivers and analyzer; default
	// 65536. Past half of it, or of MaxQueueBytes, new calls are refused
	// whole and the calls under way keep their messages (shed.go); past
	// all of it messages are dropped whatever their call.
	QueueSize    int
	MaxOpenCalls int // open calls before the analyzer is forced to finish them; default 50000
	// MaxMemory is the collector's memory budget in bytes; default 1 GiB.
	// The byte budgets below default to parts of it.
	MaxMemory     int64
	MaxOpenBytes  int // bytes of messages held for open calls (quiet ones compressed); default MaxMemory/4
	MaxQueueBytes int // bytes of datagrams waiting for the analyzer, with the buffers that hold them; default MaxMemory/16
	// A store transaction starts at BatchSize calls (default 500) or after
	// BatchInterval (default 200 ms); what arrives while one is written
	// goes into the next, however many that is, within a byte budget.
	BatchSize     int
	BatchInterval time.Duration
	Tick          time.Duration // how often time is moved on without traffic; default 1 s
	Settle        time.Duration // quiet time before a finished call is stored; default 2 s
	// MediaWait is how long a finished call waits for the last RTCP and
	// RTP statistics reports of the agents that measure its media (they
	// send them a moment after the BYE): at most this long after its last
	// SIP message, less when every stream reported on has had its last
	// report. Only calls agents reported on wait, and answered calls while
	// agents send reports. Default 5 s (RFC 3550 §6.2's shortest RTCP
	// interval); negative: no call waits.
	MediaWait time.Duration
	// MaxMediaWaiting bounds the calls waiting so; past it, those that
	// ended the longest ago are stored at once. Default a tenth of
	// MaxOpenCalls. They are open calls: MaxOpenCalls and MaxOpenBytes
	// hold them too.
	MaxMediaWaiting int
	Retention       time.Duration // delete calls older than this; 0 keeps everything
	// TimeTolerance is how far a packet's own timestamp (HEP carries the
	// sender's capture time) may be from the collector's clock; a packet
	// further off is analyzed and stored at its arrival time instead, and
	// counted. Default 1 minute; negative trusts every timestamp (to
	// replay old captures).
	TimeTolerance time.Duration
	// MaxDBSize, when set, is the disk budget of a store that supports one
	// (SQLite): beyond it the oldest calls are deleted, checked every
	// SizeCheck (default 10 s).
	MaxDBSize int64
	SizeCheck time.Duration
	// ReadBuffer is the receive buffer asked for each UDP socket; default
	// 8 MiB. The kernel gives at most net.core.rmem_max, unless the
	// process may override it (CAP_NET_ADMIN; Linux).
	ReadBuffer int
	// HEP over TCP: a connection is closed when its first packet takes
	// longer than TCPFirstPacket (default 10 s) or a later one longer than
	// TCPIdle (default 2 minutes); at most MaxTCPPerSource (default 16)
	// connections from one address.
	TCPFirstPacket  time.Duration
	TCPIdle         time.Duration
	MaxTCPPerSource int
}

func (o *CollectorOptions) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 65536
	}
	if o.MaxOpenCalls <= 0 {
		o.MaxOpenCalls = 50000
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxOpenBytes <= 0 {
		o.MaxOpenBytes = int(o.MaxMemory / 4)
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = int(o.MaxMemory / 16)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.BatchInterval <= 0 {
		o.BatchInterval = 200 * time.Millisecond
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.MediaWait == 0 {
		o.MediaWait = 5 * time.Second
	}
	if o.MaxMediaWaiting <= 0 {
		o.MaxMediaWaiting = max(1, o.MaxOpenCalls/10)
	}
	if o.Lang == "" {
		o.Lang = catalog.English
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 8 << 20
	}
	if o.SizeCheck <= 0 {
		o.SizeCheck = 10 * time.Second
	}
	if o.TCPFirstPacket <= 0 {
		o.TCPFirstPacket = 10 * time.Second
	}
	if o.TCPIdle <= 0 {
		o.TCPIdle = 2 * time.Minute
	}
	if o.MaxTCPPerSource <= 0 {
		o.MaxTCPPerSource = 16
	}
	if o.TimeTolerance == 0 {
		o.TimeTolerance = time.Minute
	}
}

// senderClock follows how far the senders' timestamps run from the
// collector's clock: the median of the last offsets it accepted, so that
// no single packet moves it.
type senderClock struct {
	tol    time.Duration // < 0: trust every timestamp
	offs   [63]time.Duration
	n, i   int
	median time.Duration
	dirty  bool
	// restamped: a message was analyzed at its arrival time, so the
	// analyzer's clock is the collector's even before any sender's
	// timestamp was believed.
	restamped bool
}

// check returns the time to analyze a message at: its own, or its arrival
// time when its own is further than the tolerance from the collector's
// clock (then restamped is true).
func (s *senderClock) check(t, wall time.Time) (at time.Time, restamped bool) {
	off := t.Sub(wall)
	if s.tol >= 0 && (off > s.tol || off < -s.tol) {
		s.restamped = true
		return wall, true
	}
	s.offs[s.i] = off
	s.i = (s.i + 1) % len(s.offs)
	s.n = min(s.n+1, len(s.offs))
	s.dirty = true
	return t, false
}

// now is the analyzer's clock at wall time w: the wall clock moved by the
// senders' usual offset.
func (s *senderClock) now(w time.Time) time.Time {
	if s.n == 0 {
		if s.restamped {
			// Every message so far was analyzed at its arrival: time
			// moves on with the collector's clock, so that calls (and
			// those waiting for reports) finish without more traffic.
			return w
		}
		return time.Time{}
	}
	if s.dirty {
		o := slices.Clone(s.offs[:s.n])
		slices.Sort(o)
		s.median, s.dirty = o[len(o)/2], false
	}
	return w.Add(s.median)
}

// decodeAhead is how many batches (of up to 64 datagrams) the decoding
// goroutines decode before the analyzer takes them: enough to keep both
// busy, few enough that the decoded messages waiting stay a few MB.
const decodeAhead = 32

// DefaultMaxMemory is the collector's default memory budget: what a
// sender can make it hold, whatever it sends (security review H2, H3).
const DefaultMaxMemory = 1 << 30

// HeapTarget is how large the collector lets its Go heap grow before the
// runtime collects garbage, for a memory budget of maxMemory: a quarter of
// it, 256 MiB at the default 1 GiB. What the collector keeps (open calls,
// their messages, the queues) is mostly long-lived, and collecting each
// time the heap has grown by a fixed share of it marks that live heap
// again and again; collecting near a fixed target marks it less often the
// more room the target leaves. sipcause serve sets the Go runtime so
// (internal/memlimit: the target, or half again the live heap when that is
// more, never past maxMemory) unless GOGC is set.
func HeapTarget(maxMemory int64) int64 {
	return max(maxMemory, 0) / 4
}

// Limits on what one call keeps for the message view.
const (
	maxRawPerCall      = 2000
	maxRawBytesPerCall = 2 << 20
)

// Collector receives SIP by HEP or as plain datagrams, rebuilds calls and
// registrations with one analyze.Analyzer, and writes them to a store.
// Receivers hand messages over a bounded queue in batches; HEP datagrams
// are decoded by one goroutine per core, batch by batch, while one
// goroutine feeds the analyzer every batch in the order it was read (so
// each call's messages, and all of them, keep their arrival order); one
// writes the finished calls in batches.
type Collector struct {
	opt     CollectorOptions
	st      store.Store
	metrics *Metrics

	hepUDP *net.UDPConn
	hepTCP net.Listener
	hepTLS net.Listener
	sipUDP *net.UDPConn

	queue       chan *batch   // in arrival order, to the analyzer
	work        chan *batch   // the same batches, to the decoding goroutines
	ahead       chan struct{} // a token per batch decoded and not yet analyzed
	queuedMsgs  atomic.Int64  // messages in queue, QueueSize at most
	queuedBytes atomic.Int64  // raw bytes in queue
	writes      chan writeItem
	// shed refuses new calls whole while the queue is past half its
	// budget (shed.go); nil takes everything.
	shed *shedder
	// hold, when set by a test, keeps the analyzer from taking anything
	// from the queue until it is closed: the queue fills as it would
	// behind a slow analyzer.
	hold chan struct{}

	// lastStored is the newest call or registration acknowledged by the
	// store, for tests and /healthz.
	mu         sync.Mutex
	storedN    int64
	storeError error
}

type writeItem struct {
	call *store.CallRecord
	reg  *analyze.Register
}

// NewCollector binds the collector's sockets. Run starts receiving.
func NewCollector(opt CollectorOptions, st store.Store, m *Metrics) (*Collector, error) {
	opt.defaults()
	c := &Collector{opt: opt, st: st, metrics: m,
		queue: make(chan *batch, opt.QueueSize), writes: make(chan writeItem, 4*opt.BatchSize),
		// Every batch waiting for a decoder is in the queue too, or is the
		// one the analyzer waits for: the decoders' channel never fills.
		work:  make(chan *batch, opt.QueueSize+1),
		ahead: make(chan struct{}, decodeAhead)}
	c.shed = newShedder(&c.opt)
	if opt.HEPAddr != "" {
		ua, err := net.ResolveUDPAddr("udp", opt.HEPAddr)
		if err != nil {
			return nil, fmt.Errorf("server: --hep %s: %w", opt.HEPAddr, err)
		}
		if c.hepUDP, c.hepTCP, err = listenHEP(ua, opt.ReadBuffer); err != nil {
			return nil, err
		}
	}
	if opt.HEPTLSAddr != "" {
		if opt.TLS == nil || (len(opt.TLS.Certificates) == 0 && opt.TLS.GetCertificate == nil) {
			c.closeSockets()
			return nil, fmt.Errorf("server: HEP over TLS needs a certificate")
		}
		l, err := net.Listen("tcp", opt.HEPTLSAddr)
		if err != nil {
			c.closeSockets()
			return nil, fmt.Errorf("server: HEP over TLS: %w", err)
		}
		c.hepTLS = tls.NewListener(l, opt.TLS)
	}
	if opt.SIPAddr != "" {
		ua, err := net.ResolveUDPAddr("udp", opt.SIPAddr)
		if err == nil {
			c.sipUDP, err = net.ListenUDP("udp", ua)
		}
		if err != nil {
			c.closeSockets()
			return nil, fmt.Errorf("server: --sip %s: %w", opt.SIPAddr, err)
		}
		setReadBuffer(c.sipUDP, opt.ReadBuffer)
	}
	return c, nil
}

// HEPAddr returns the address HEP is received on (UDP and TCP), or "".
func (c *Collector) HEPAddr() string {
	if c.hepUDP == nil {
		return ""
	}
	return c.hepUDP.LocalAddr().String()
}

// HEPTLSAddr returns the address HEP over TLS is received on, or "".
func (c *Collector) HEPTLSAddr() string {
	if c.hepTLS == nil {
		return ""
	}
	return c.hepTLS.Addr().String()
}

// SIPAddr returns the address plain SIP is received on, or "".
func (c *Collector) SIPAddr() string {
	if c.sipUDP == nil {
		return ""
	}
	return c.sipUDP.LocalAddr().String()
}

func (c *Collector) closeSockets() {
	if c.hepUDP != nil {
		c.hepUDP.Close()
	}
	if c.hepTCP != nil {
		c.hepTCP.Close()
	}
	if c.hepTLS != nil {
		c.hepTLS.Close()
	}
	if c.sipUDP != nil {
		c.sipUDP.Close()
	}
}

// Stored returns how many calls and registrations the store has
// acknowledged, and the last store error.
func (c *Collector) Stored() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.storedN, c.storeError
}

// Run receives until ctx is done. Then it stops the receivers, analyzes
// what was queued, reports the calls still open as they stand and writes
// everything to the store before returning, so a clean stop loses nothing
// that arrived.
func (c *Collector) Run(ctx context.Context) error {
	var recv sync.WaitGroup
	if c.hepUDP != nil {
		// One reader per socket: two would hand messages to the analyzer
		// out of their arrival order (a 100 Trying before its INVITE).
		recv.Go(func() { c.serveHEPUDP(c.hepUDP) })
	}
	// HEP over TCP and over TLS share one table of connections, so the
	// limits per source and in all hold across both.
	conns := newTCPTable()
	if c.hepTCP != nil {
		recv.Go(func() { c.serveHEPTCP(ctx, c.hepTCP, conns) })
	}
	if c.hepTLS != nil {
		recv.Go(func() { c.serveHEPTCP(ctx, c.hepTLS, conns) })
	}
	if c.sipUDP != nil {
		recv.Go(func() { c.serveSIPUDP(c.sipUDP) })
	}
	var decoders sync.WaitGroup
	for range min(max(runtime.GOMAXPROCS(0), 1), 8) {
		decoders.Go(func() {
			d := &decoder{c: c}
			for {
				// The token is taken before the batch: batches are
				// taken in queue order, so the one the analyzer waits
				// for always finds a token, and the decoders stay at
				// most decodeAhead batches ahead of it. What waits in
				// the queue beyond that is the datagrams' bytes only,
				// not their decoded messages (about three times as
				// much).
				c.ahead <- struct{}{}
				b, ok := <-c.work
				if !ok {
					<-c.ahead
					return
				}
				d.batch(b)
			}
		})
	}
	writerDone := make(chan struct{})
	go func() {
		c.writer()
		close(writerDone)
	}()
	retainDone := make(chan struct{})
	go func() {
		c.retain(ctx)
		close(retainDone)
	}()
	go func() {
		<-ctx.Done()
		c.closeSockets()
		recv.Wait()
		close(c.queue)
		close(c.work)
	}()
	c.analyzeLoop()
	decoders.Wait()
	close(c.writes)
	<-writerDone
	<-retainDone
	_, err := c.Stored()
	return err
}

// tracker keeps the raw messages of the open calls until the analyzer
// reports them.
type tracker struct {
	calls map[string]*rawCall
	bytes int // held by the logs, compacted ones at their compressed size
}

// rawCall is what an open call holds until it is reported: its messages
// packed as the store writes them (a few bytes besides each message's
// own, no allocation per message), and when its last one arrived.
type rawCall struct {
	log   store.MessageLog
	bytes int       // raw bytes appended, for the limit per call
	last  time.Time // wall clock
}

// analyzeLoop is the only goroutine that touches the analyzer.
func (c *Collector) analyzeLoop() {
	tr := &tracker{calls: map[string]*rawCall{}}
	var a *analyze.Analyzer
	newAnalyzer := func() {
		a = analyze.New(analyze.Options{
			Local: c.opt.Local, LocalHosts: c.opt.LocalHosts, Lang: c.opt.Lang,
			// Live: a call is stored a few seconds after it ends, not after
			// Timer B, and the analyzer itself bounds the calls it holds.
			Settle: c.opt.Settle, MaxOpenCalls: c.opt.MaxOpenCalls, Live: true,
			// Agents' last reports come a moment after the BYE: a
			// finished call waits for them (a negative wait is none).
			MediaWait: max(c.opt.MediaWait, 0), MaxMediaWaiting: c.opt.MaxMediaWaiting,
			OnCall: func(call *analyze.Call) {
				rec := &store.CallRecord{Call: call} // the writer adds its summary and JSON
				if rc := tr.calls[call.CallID]; rc != nil {
					rec.Log = &rc.log
					tr.bytes -= rc.log.Size()
					delete(tr.calls, call.CallID)
				}
				c.metrics.countCall(call)
				c.writes <- writeItem{call: rec}
			},
			OnRegister: func(r *analyze.Register) {
				c.metrics.countRegister(r)
				c.writes <- writeItem{reg: r}
			},
			OnDialog: func(*analyze.Dialog) { c.metrics.dialogs.Add(1) },
		})
	}
	newAnalyzer()
	frame := 0
	// The analyzer's clock is the capture time of the messages; between
	// messages it runs on with the wall clock, so calls finish by Timer B
	// and friends even when the traffic stops. A sender's clock (or a
	// forged HEP timestamp) far from ours is not believed: one packet
	// dated 2106 must not end every call, escape retention or take the
	// dashboard's window with it.
	clock := &senderClock{tol: c.opt.TimeTolerance}
	tick := time.NewTicker(c.opt.Tick)
	defer tick.Stop()
	compact := time.NewTicker(quietAfter)
	defer compact.Stop()
	if c.hold != nil {
		<-c.hold
	}
	for {
		select {
		case b, ok := <-c.queue:
			if !ok {
				a.Finish()
				return
			}
			if b.done != nil {
				<-b.done // decoded by a decoding goroutine
			}
			for i := range b.in {
				// Datagrams read in batches are decoded only now, just
				// ahead of the analyzer, so calls are shed here, in
				// arrival order; a batch of one was admitted by its
				// receiver already.
				if b.done != nil && !c.admit(&b.in[i], b.wall, 0) {
					continue
				}
				frame = c.analyzeOne(a, tr, clock, &b.in[i], frame)
			}
			if b.done != nil {
				<-c.ahead
			}
			c.queuedMsgs.Add(-int64(b.n))
			c.queuedBytes.Add(-b.bytes)
			putBatch(b)
			c.metrics.forced.Store(int64(a.Forced()))
		case now := <-tick.C:
			if t := clock.now(now); !t.IsZero() {
				a.Flush(t)
			}
			tr.expire(a, c.metrics)
		case now := <-compact.C:
			tr.compact(now)
		}
		c.metrics.openCalls.Store(int64(a.OpenCalls()))
		pr := a.Pressure()
		c.metrics.endpointsUntracked.Store(int64(pr.EndpointsUntracked))
		c.metrics.fingerprintsRotated.Store(int64(pr.FingerprintsRotated))
		c.metrics.mediaWaitCapped.Store(int64(pr.MediaWaitCapped))
		c.metrics.mediaWaiting.Store(int64(a.MediaWaiting()))
		c.metrics.rawBytes.Store(int64(tr.bytes))
		c.metrics.queueLen.Store(c.queuedMsgs.Load())
		if c.shed != nil {
			c.metrics.shedFull.Store(c.shed.refused.full.Load())
		}
	}
}

// analyzeOne hands one message to the analyzer, keeping its bytes for the
// call it belongs to, and returns the frame number it was given.
func (c *Collector) analyzeOne(a *analyze.Analyzer, tr *tracker, clock *senderClock, in *inbound, frame int) int {
	if in.rtcp != nil {
		t, _ := clock.check(in.msg.Time, in.wall)
		if !a.AddCallRTCP(in.msg.CallID, t, in.msg.Src, in.rtcp) {
			c.metrics.reportsUnmatched.Add(1)
		}
		return frame
	}
	if in.qos != nil {
		t, _ := clock.check(in.msg.Time, in.wall)
		if !a.AddCallQoS(in.msg.CallID, t, in.qos) {
			c.metrics.reportsUnmatched.Add(1)
		}
		return frame
	}
	frame++
	in.msg.Frame = frame
	if t, restamped := clock.check(in.msg.Time, in.wall); restamped {
		in.msg.Time = t
		c.metrics.restamped.Add(1)
	}
	// Bytes are kept only for a call the analyzer holds open: a late
	// retransmission of a reported call, or an INVITE it refused,
	// leaves nothing behind (H3: 5000 such INVITEs held 280 MB for
	// five hours and forced every live call to finish). They are
	// kept before the analyzer sees the message, because the
	// message that ends a call reports it at once, with the bytes
	// held so far.
	// The tracker's own map is asked first: a message of a call whose
	// bytes it holds needs no other lookup, and add is given what it
	// found (each lookup hashes the Call-ID again).
	if m, rc := &in.msg, tr.calls[in.msg.CallID]; rc != nil || a.OpenCall(m.CallID) || m.Request && m.Method == "INVITE" && m.To.Tag == "" {
		// An initial INVITE, and what follows it, are kept while the
		// analyzer has not decided on it yet (it holds a message
		// whose time it doubts until the next one); if no call
		// opens, the next tick drops them.
		tr.add(rc, in, frame)
	}
	a.AddRef(&in.msg) // in stays the batch's until the batch is done
	c.metrics.analyzed.Add(1)
	if tr.bytes > c.opt.MaxOpenBytes {
		// Under pressure the calls quiet the longest are reported
		// as they stand: memory stays bounded whatever the sender
		// does, and the rest goes on.
		a.FinishOldest(max(1, len(tr.calls)/10))
	}
	return frame
}

// add keeps the bytes of a message of a call the analyzer holds open; rc
// is what the tracker holds for the call already, nil for none.
func (tr *tracker) add(rc *rawCall, in *inbound, frame int) {
	m := &in.msg
	if rc == nil {
		rc = &rawCall{}
		tr.calls[m.CallID] = rc
	}
	rc.last = in.wall
	if rc.log.Len() >= maxRawPerCall || rc.bytes+len(in.raw) > maxRawBytesPerCall {
		return
	}
	// in.raw is the decoder's (or the batch's) buffer: the log copies it.
	held := rc.log.Size()
	rc.log.Append(frame, m.Time, m.Src, m.Dst, m.Transport, in.raw)
	rc.bytes += len(in.raw)
	tr.bytes += rc.log.Size() - held
}

// quietAfter is how long a call's messages stay as they came after its
// last one, before they are compacted, and how often the tracker looks
// for such calls. Most calls go quiet for good once answered or rejected,
// while they talk or settle (a second) before being reported: they then
// hold a third of the bytes, and the store writes them as they are, so
// compressing them early costs nothing more. One that goes on is
// decompressed at its next message, which costs about a microsecond.
const quietAfter = 250 * time.Millisecond

// expire forgets the messages of calls the analyzer no longer holds
// without having reported them. Each tick: nothing is kept longer than
// the analyzer keeps its call.
func (tr *tracker) expire(a *analyze.Analyzer, m *Metrics) {
	for id, rc := range tr.calls {
		if !a.OpenCall(id) {
			tr.bytes -= rc.log.Size()
			delete(tr.calls, id)
			m.rawExpired.Add(1)
		}
	}
}

// compact compresses the messages of the calls quiet since quietAfter
// before now.
func (tr *tracker) compact(now time.Time) {
	for _, rc := range tr.calls {
		if !rc.log.Compacted() && now.Sub(rc.last) >= quietAfter {
			held := rc.log.Size()
			tr.bytes += rc.log.Compact() - held
		}
	}
}

// writer batches finished calls and registrations. A batch is written
// in one transaction on a goroutine of its own while the next one gathers,
// so a slow commit does not stop the analyzer (which would stop taking
// messages from the queue, and datagrams would be dropped): batches are
// sized by time, everything that arrived while the last one was written,
// and start at BatchSize items or every BatchInterval.
//
// What waits is bounded in bytes (security review H2): past
// writeBudget the writer stops taking items until the store has caught
// up, and the analyzer waits on it as before.
func (c *Collector) writer() {
	var calls []store.CallRecord
	var regs []*analyze.Register
	pending := 0 // estimated bytes of calls and regs
	budget := c.writeBudget()
	var busy chan struct{} // closed when the batch being written is done; nil when none is
	start := func() {
		if busy != nil || len(calls)+len(regs) == 0 {
			return
		}
		done := make(chan struct{})
		busy = done
		bc, br := calls, regs
		calls, regs, pending = nil, nil, 0
		go func() {
			defer close(done)
			c.flush(bc, br)
		}()
	}
	t := time.NewTicker(c.opt.BatchInterval)
	defer t.Stop()
	for {
		in := c.writes
		if pending >= budget {
			in = nil // full: the analyzer waits until the store catches up
		}
		select {
		case w, ok := <-in:
			if !ok {
				if busy != nil {
					<-busy
				}
				c.flush(calls, regs)
				return
			}
			if w.call != nil {
				// The call is put into words and marshaled here, while
				// the batch before it is written on the other goroutine:
				// the single SQLite writer and the analyzer, the
				// collector's slowest stages, have that much less to do
				// per call.
				if w.call.Call != nil {
					if w.call.Summary == "" {
						w.call.Summary = report.LocalizeCall(w.call.Call, c.opt.Lang).Summary
					}
					if w.call.JSON == nil {
						if js, err := report.MarshalCall(w.call.Call); err == nil {
							w.call.JSON = js
						}
					}
				}
				calls = append(calls, *w.call)
				pending += callBytes(w.call)
			}
			if w.reg != nil {
				regs = append(regs, w.reg)
				pending += regBytes
			}
			if len(calls)+len(regs) >= c.opt.BatchSize || pending >= budget {
				start()
			}
		case <-busy:
			busy = nil
			if len(calls)+len(regs) >= c.opt.BatchSize || pending >= budget {
				start()
			}
		case <-t.C:
			start()
		}
	}
}

// flush writes one batch in one transaction and records how it went.
func (c *Collector) flush(calls []store.CallRecord, regs []*analyze.Register) {
	if len(calls) == 0 && len(regs) == 0 {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := errors.Join(c.st.PutCalls(ctx, calls), c.st.PutRegistrations(ctx, regs))
	cancel()
	c.metrics.observeWrite(time.Since(start), err)
	c.mu.Lock()
	if err == nil {
		c.storedN += int64(len(calls) + len(regs))
	}
	c.storeError = err
	c.mu.Unlock()
}

// writeBudget is how many bytes of finished calls may wait for the store
// besides the batch being written: a 64th of the memory budget (16 MiB by
// default, about what the 2000 calls the writer's channel held before).
func (c *Collector) writeBudget() int {
	return int(max(c.opt.MaxMemory/64, 1<<20))
}

// Rough sizes of what a finished call holds besides its raw messages:
// the analyzed call and its findings, and per message the stored fields.
const (
	callOverhead = 4 << 10
	msgOverhead  = 128
	regBytes     = 1 << 10
)

// callBytes estimates the memory a finished call holds until it is stored.
func callBytes(rec *store.CallRecord) int {
	n := callOverhead + len(rec.Summary) + len(rec.JSON)
	if rec.Log != nil {
		n += rec.Log.Size() + 16*rec.Log.Len()
	}
	for _, m := range rec.Messages {
		n += msgOverhead + len(m.Raw)
	}
	return n
}

// retain deletes old data every few minutes.
//
// With MaxDBSize it also keeps the store within that many bytes, deleting
// the oldest calls first, checked every few seconds.
func (c *Collector) retain(ctx context.Context) {
	sized, _ := c.st.(store.SizeLimited)
	if c.opt.MaxDBSize <= 0 {
		sized = nil
	}
	if c.opt.Retention <= 0 && sized == nil {
		return
	}
	every := 10 * time.Minute
	if c.opt.Retention > 0 {
		every = min(every, max(c.opt.Retention/10, time.Second))
	}
	if sized != nil {
		every = min(every, c.opt.SizeCheck)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastRetain := time.Time{}
	for {
		if c.opt.Retention > 0 && time.Since(lastRetain) >= min(10*time.Minute, max(c.opt.Retention/10, time.Second)) {
			lastRetain = time.Now()
			n, err := c.st.Retain(ctx, time.Now().Add(-c.opt.Retention))
			if err == nil {
				c.metrics.retained.Add(n)
			}
		}
		if sized != nil {
			n, _ := sized.PruneToSize(ctx, c.opt.MaxDBSize)
			c.metrics.pruned.Add(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listenHEP binds UDP and TCP on one port, as HEP senders expect. With
// port 0 the kernel picks the UDP port, and TCP may already use that
// number for some connection; another port is then tried, a few times.
func listenHEP(ua *net.UDPAddr, readBuf int) (*net.UDPConn, net.Listener, error) {
	for try := 0; ; try++ {
		u, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, nil, fmt.Errorf("server: HEP over UDP: %w", err)
		}
		setReadBuffer(u, readBuf)
		port := u.LocalAddr().(*net.UDPAddr).Port
		tcpAddr := fmt.Sprintf(":%d", port)
		if ua.IP != nil {
			tcpAddr = net.JoinHostPort(ua.IP.String(), fmt.Sprint(port))
		}
		l, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return u, l, nil
		}
		u.Close()
		if ua.Port != 0 || try == 9 {
			return nil, nil, fmt.Errorf("server: HEP over TCP: %w", err)
		}
	}
}
