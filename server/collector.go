package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"golang.org/x/net/ipv4"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/rtp"
	"github.com/sipcause/sipcause/sipmsg"
)

// inbound is one SIP message on its way from a receiver to the analyzer:
// already parsed (receivers parse in parallel; the analyzer runs alone) and
// with its bytes as they came.
type inbound struct {
	msg  analyze.Message
	raw  []byte
	wall time.Time // when it arrived
	// rtcp, when set, is an agent's RTCP report (HEP payload type 5) about
	// the call msg.CallID names, sent from msg.Src at msg.Time; msg is no
	// SIP message then.
	rtcp *rtp.RTCP
	// qos, when set, is an agent's RTP statistics report (HEP payload
	// types 34 to 37, qos.go) about the call msg.CallID names.
	qos *rtp.QoSReport
}

// batch is a run of messages handed to the analyzer at once. A HEP
// datagram receiver copies what one system call read into arena and a
// decoding goroutine decodes it into in, then closes done; the analyzer
// takes batches in the order they were read and waits for done, so
// decoding runs on every core and the analyzer still sees every message
// in arrival order. Other receivers decode as they read and hand over
// batches of one, already decoded (done nil).
type batch struct {
	arena []byte   // the datagrams, back to back
	raws  [][]byte // each datagram, in arena
	wall  time.Time
	in    []inbound // decoded messages; raw points into arena
	done  chan struct{}
	n     int   // datagrams or messages, counted in the queue
	bytes int64 // memory held, counted in the queue (see fill)
}

var batches = sync.Pool{New: func() any { return new(batch) }}

// decoded holds the slices batches decode into. A batch takes one when it
// is decoded and gives it back when analyzed, so a batch waiting in the
// queue holds its datagrams only, not room for 64 decoded messages
// (50 KB) it had when it was last used.
var decoded = sync.Pool{New: func() any { return new([]inbound) }}

func getBatch() *batch { return batches.Get().(*batch) }

// putBatch recycles a batch the analyzer is done with: nothing it
// decoded is referenced any more (the tracker copies the bytes it keeps).
func putBatch(b *batch) {
	if b.in != nil {
		clear(b.in) // drop the decoded messages' pointers
		in := b.in[:0]
		decoded.Put(&in)
	}
	clear(b.raws)
	b.in, b.raws, b.done, b.n, b.bytes = nil, b.raws[:0], nil, 0, 0
	if cap(b.arena) > 1<<20 {
		b.arena = nil // one batch of jumbo datagrams is not kept for ever
	}
	b.arena = b.arena[:0]
	batches.Put(b)
}

// one returns a batch of a single decoded message.
func one(in inbound) *batch {
	b := getBatch()
	b.in = append(*decoded.Get().(*[]inbound), in)
	b.n, b.bytes = 1, int64(len(in.raw))
	return b
}

// batch decodes the HEP datagrams of b and tells the analyzer it may take
// them.
func (d *decoder) batch(b *batch) {
	b.in = slices.Grow(*decoded.Get().(*[]inbound), len(b.raws))
	for _, raw := range b.raws {
		// Each message is decoded where it stays: an inbound is 750
		// bytes, and one returned and appended was copied twice.
		n := len(b.in)
		b.in = b.in[:n+1]
		if !d.hep(&b.in[n], raw, b.wall, false) {
			b.in[n] = inbound{}
			b.in = b.in[:n]
		}
	}
	close(b.done)
}

// Receiver limits: a sender never makes the collector hold more than this.
const (
	maxDatagram     = 65535
	maxTCPConns     = 256
	hepStreamBuffer = 64 << 10
)

// decoder turns one HEP packet or SIP datagram into an inbound. Each
// receiving goroutine has its own, so that parsing needs no lock and its
// scratch buffer is reused.
type decoder struct {
	c       *Collector
	msg     sipmsg.Message
	scratch []byte
	intern  analyze.Interner // one string per repeated value (Call-IDs, URIs, tags)
}

// hep decodes a HEP packet into *out. It returns false, after counting
// why, for anything that is not a well-formed HEP packet carrying SIP (or
// an agent's report). With clone the message's raw bytes are a copy of
// their own, else they are in b.
func (d *decoder) hep(out *inbound, b []byte, wall time.Time, clone bool) bool {
	p, err := capture.DecodeHEP(b)
	if err != nil {
		d.c.metrics.malformed.Add(1)
		return false
	}
	t := p.Time
	if t.IsZero() {
		t = wall // HEP1 carries no time
	}
	var ok bool
	switch {
	case p.ProtoType == hepTypeRTCP:
		*out, ok = d.rtcp(p, t, wall)
		return ok
	case isQoSType(p.ProtoType):
		*out, ok = d.qos(p, t, wall)
		return ok
	case p.ProtoType != 1: // 1 = SIP; logs, QoS reports are not ours
		d.c.metrics.nonSIP.Add(1)
		return false
	}
	return d.sip(out, p.Payload, analyze.Meta{Time: t, Src: p.Src, Dst: p.Dst, Transport: p.Transport()}, wall, clone)
}

// hepTypeRTCP is the HEP3 payload type of RTCP (chunk 0x000b): heplify
// sends the report as JSON text, other agents the binary packet.
const hepTypeRTCP = 5

// rtcp decodes an agent's RTCP report, binary (RFC 3550 §6.1) or heplify's
// JSON text, for the call its correlation id (chunk 0x0011) names: a report
// that names no call cannot be attached to one.
func (d *decoder) rtcp(p capture.HEPPacket, t, wall time.Time) (inbound, bool) {
	if p.CorrelationID == "" || len(p.CorrelationID) > maxCallIDLen {
		d.c.metrics.nonSIP.Add(1)
		return inbound{}, false
	}
	var r rtp.RTCP
	var err error
	if len(p.Payload) > 0 && p.Payload[0]>>6 == 2 {
		r, err = rtp.ParseRTCP(p.Payload)
	} else {
		r, err = rtp.ParseRTCPJSON(p.Payload)
	}
	if err != nil {
		d.c.metrics.malformed.Add(1)
		return inbound{}, false
	}
	d.c.metrics.rtcpReports.Add(1)
	return inbound{msg: analyze.Message{CallID: p.CorrelationID, Time: t, Src: p.Src, Dst: p.Dst}, wall: wall, rtcp: &r}, true
}

// maxCallIDLen bounds the correlation id an RTCP report may name a call by.
const maxCallIDLen = 1024

// sip parses one SIP message into *out; meta says where and when it was
// seen. With clone its raw bytes are a copy, else they are payload.
func (d *decoder) sip(out *inbound, payload []byte, meta analyze.Meta, wall time.Time, clone bool) bool {
	payload = payload[sipmsg.SkipKeepAlive(payload):]
	if len(payload) == 0 {
		d.c.metrics.nonSIP.Add(1) // a keep-alive
		return false
	}
	if len(payload) > sipmsg.MaxMessageSize {
		d.c.metrics.malformed.Add(1)
		return false
	}
	// While calls are refused, a message of one is refused on its
	// Call-ID found by a scan of its header lines, before it is parsed:
	// under load most of what is decoded may be such messages.
	early := d.c.refusing(wall)
	if early {
		if id, ok := sipmsg.ScanCallID(payload); ok {
			if d.c.refusedEarly(id, wall) {
				return false
			}
			early = false // its call was not refused
		}
	}
	// Parse writes into its buffer (it joins folded lines), so it gets a
	// scratch copy and the stored bytes stay as they came.
	d.scratch = append(d.scratch[:0], payload...)
	if err := sipmsg.Parse(d.scratch, &d.msg); err != nil {
		d.c.metrics.malformed.Add(1)
		return false
	}
	if early && d.c.refusedEarly(d.msg.CallID(), wall) {
		return false // a message of a call refused under load: not decoded further
	}
	analyze.FromSIPInto(&out.msg, meta, &d.msg, &d.intern)
	if out.msg.CallID == "" {
		d.c.metrics.malformed.Add(1)
		return false
	}
	if clone {
		payload = bytes.Clone(payload)
	}
	out.raw, out.wall, out.rtcp, out.qos = payload, wall, nil, nil
	return true
}

// reserve counts a batch into the queue's budgets, or returns false when
// it does not fit.
//
// The queue is bounded in bytes as well as in messages: 65 536 datagrams
// of 64 KB would be 4 GB.
func (c *Collector) reserve(b *batch) bool {
	m, n := c.queuedMsgs.Add(int64(b.n)), c.queuedBytes.Add(b.bytes)
	if m > int64(c.opt.QueueSize) || n > int64(c.opt.MaxQueueBytes) {
		c.unreserve(b)
		return false
	}
	return true
}

func (c *Collector) unreserve(b *batch) {
	c.queuedMsgs.Add(-int64(b.n))
	c.queuedBytes.Add(-b.bytes)
}

// enqueue hands a batch to the analyzer, or drops and counts its messages
// when the queue is full: a flood must never block the receivers or the
// UI. It returns false when the batch was dropped (and recycled).
func (c *Collector) enqueue(b *batch) bool {
	if c.reserve(b) {
		select {
		case c.queue <- b:
			return true
		default:
			c.unreserve(b)
		}
	}
	c.metrics.dropped.Add(int64(b.n))
	putBatch(b)
	return false
}

// streamWait is how long a stream (HEP over TCP) receiver waits for room
// in the queue before it drops a message. Waiting stops reading from that
// connection, so TCP's flow control slows that sender down instead of
// losing what it sent; a datagram receiver cannot do that and drops at
// once. The wait is bounded so one stalled analyzer never holds a
// connection for long.
const streamWait = 2 * time.Second

// enqueueStream is enqueue for a stream receiver: it waits up to
// streamWait for room in the queue before dropping.
func (c *Collector) enqueueStream(b *batch) {
	deadline := time.Now().Add(streamWait)
	for !c.reserve(b) {
		if !time.Now().Before(deadline) {
			c.metrics.dropped.Add(int64(b.n))
			putBatch(b)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case c.queue <- b:
	case <-t.C:
		c.unreserve(b)
		c.metrics.dropped.Add(int64(b.n))
		putBatch(b)
	}
}

// serveHEPUDP reads HEP datagrams until the socket is closed. On an IPv4
// socket it takes up to 64 datagrams per system call (recvmmsg on Linux).
func (c *Collector) serveHEPUDP(conn *net.UDPConn) {
	d := &decoder{c: c}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() != nil {
		c.serveHEPUDPBatch(conn, d)
		return
	}
	buf := make([]byte, maxDatagram)
	oob := make([]byte, 64)
	watchKernelDrops(conn)
	for {
		n, oobn, _, _, err := conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		noteKernelDrops(&c.metrics.kernelDropsHEP, oob[:oobn])
		c.metrics.received.Add(1)
		var in inbound
		if now := time.Now(); d.hep(&in, buf[:n], now, true) && c.admit(&in, now, 0) {
			c.enqueue(one(in))
		}
	}
}

func (c *Collector) serveHEPUDPBatch(conn *net.UDPConn, d *decoder) {
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
		msgs[i].OOB = make([]byte, 64)
	}
	read := newBatchReader(conn, msgs)
	watchKernelDrops(conn)
	for {
		n, err := read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n == 0 {
			continue
		}
		c.metrics.received.Add(int64(n))
		noteKernelDrops(&c.metrics.kernelDropsHEP, msgs[n-1].OOB[:msgs[n-1].NN])
		// The datagrams are copied out of the read buffers into a batch
		// of their own and decoded on another goroutine: this one goes
		// straight back to the socket.
		b := getBatch()
		b.fill(msgs[:n], time.Now())
		if c.enqueue(b) {
			c.work <- b
		}
	}
}

// fill copies datagrams read at wall into b, an empty batch, for the
// decoders. The batch counts against the queue's byte budget with the
// memory it holds, its arena's capacity and its slices, not only the
// datagrams' bytes: a batch from the pool keeps the arena of the largest
// read it served, and a queue of such batches with a datagram or two each
// would otherwise hold many times its budget.
func (b *batch) fill(msgs []ipv4.Message, wall time.Time) {
	b.wall = wall
	// Grown once to what this read needs: a batch new from the pool
	// (the pool is emptied by garbage collections) would otherwise grow
	// its arena datagram by datagram, a few times over.
	total := 0
	for i := range msgs {
		total += msgs[i].N
	}
	b.arena = slices.Grow(b.arena, total)
	b.raws = slices.Grow(b.raws, len(msgs))
	for i := range msgs {
		b.arena = append(b.arena, msgs[i].Buffers[0][:msgs[i].N]...)
	}
	off := 0
	for i := range msgs {
		b.raws = append(b.raws, b.arena[off:off+msgs[i].N:off+msgs[i].N])
		off += msgs[i].N
	}
	b.n = len(msgs)
	b.bytes = int64(cap(b.arena) + cap(b.raws)*int(unsafe.Sizeof([]byte(nil))) + int(unsafe.Sizeof(batch{})))
	b.done = make(chan struct{})
}

// noteKernelDrops records the kernel's count of datagrams dropped on a
// socket before sipcause could read them (cumulative, per socket).
func noteKernelDrops(sock *atomic.Int64, oob []byte) {
	if len(oob) == 0 {
		return
	}
	if n, ok := kernelDrops(oob); ok {
		sock.Store(int64(n))
	}
}

// serveSIPUDP reads plain SIP datagrams (a port mirror or a copy sent by
// an SBC): the sender's address is the message's source, the listening
// address its destination.
func (c *Collector) serveSIPUDP(conn *net.UDPConn) {
	d := &decoder{c: c}
	buf := make([]byte, maxDatagram)
	oob := make([]byte, 64)
	watchKernelDrops(conn)
	local, _ := netip.ParseAddrPort(conn.LocalAddr().String())
	for {
		n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		noteKernelDrops(&c.metrics.kernelDropsSIP, oob[:oobn])
		c.metrics.received.Add(1)
		now := time.Now()
		meta := analyze.Meta{Time: now.UTC(), Src: from, Dst: local, Transport: "udp"}
		var in inbound
		if d.sip(&in, buf[:n], meta, now, true) && c.admit(&in, now, 0) {
			c.enqueue(one(in))
		}
	}
}

// tcpConn is one HEP connection, with the time of its last packet.
type tcpConn struct {
	conn net.Conn
	src  netip.Addr
	last atomic.Int64 // unix nanoseconds of the last packet (or the accept)
}

// serveHEPTCP accepts HEP connections until the listener is closed.
//
// Connections are budgeted so that idle ones cannot lock real senders out
// (the review's M1: 256 idle connections refused every later sender): at
// most maxTCPPerSource from one address; at the global limit the
// connection idle the longest is closed to make room; a connection must
// send its first packet within TCPFirstPacket and then one at least every
// TCPIdle.
// tcpTable is the HEP connections open at a time, on every TCP and TLS
// listener, for the limits per source address and in all.
type tcpTable struct {
	mu        sync.Mutex
	conns     map[*tcpConn]bool
	perSource map[netip.Addr]int
}

func newTCPTable() *tcpTable {
	return &tcpTable{conns: map[*tcpConn]bool{}, perSource: map[netip.Addr]int{}}
}

func (c *Collector) serveHEPTCP(ctx context.Context, l net.Listener, t *tcpTable) {
	var wg sync.WaitGroup // this listener's connections
	defer func() {
		t.mu.Lock()
		for tc := range t.conns {
			tc.conn.Close()
		}
		t.mu.Unlock()
		wg.Wait()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		src, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
		tc := &tcpConn{conn: conn, src: src.Addr().Unmap()}
		tc.last.Store(time.Now().UnixNano())
		t.mu.Lock()
		if t.perSource[tc.src] >= c.opt.MaxTCPPerSource {
			t.mu.Unlock()
			c.metrics.tcpRefused.Add(1)
			conn.Close()
			continue
		}
		if len(t.conns) >= maxTCPConns {
			var idlest *tcpConn
			for o := range t.conns {
				if idlest == nil || o.last.Load() < idlest.last.Load() {
					idlest = o
				}
			}
			idlest.conn.Close()
			delete(t.conns, idlest)
			if t.perSource[idlest.src]--; t.perSource[idlest.src] <= 0 {
				delete(t.perSource, idlest.src)
			}
			c.metrics.tcpConns.Add(-1)
			c.metrics.tcpEvicted.Add(1)
		}
		t.conns[tc] = true
		t.perSource[tc.src]++
		c.metrics.tcpConns.Add(1)
		t.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.readHEPStream(tc)
			conn.Close()
			t.mu.Lock()
			if t.conns[tc] {
				delete(t.conns, tc)
				if t.perSource[tc.src]--; t.perSource[tc.src] <= 0 {
					delete(t.perSource, tc.src)
				}
				c.metrics.tcpConns.Add(-1)
			}
			t.mu.Unlock()
		}()
	}
}

// readHEPStream reads HEP packets from a stream: HEP3 packets framed by
// their length field, or HEP2 headers each followed by one SIP message
// framed by its Content-Length (RFC 3261 §18.3). A stream that stops
// making sense is closed: there is no way to find the next packet.
func (c *Collector) readHEPStream(tc *tcpConn) {
	conn := tc.conn
	d := &decoder{c: c}
	br := bufio.NewReaderSize(conn, hepStreamBuffer)
	var fr sipFramer
	wait := c.opt.TCPFirstPacket
	for {
		conn.SetReadDeadline(time.Now().Add(wait))
		fr = sipFramer{}
		n, err := hepFrameLen(br, &fr)
		if err != nil {
			switch {
			case isTimeout(err):
				c.metrics.tcpIdleClosed.Add(1)
			case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
				c.metrics.malformed.Add(1)
			}
			return
		}
		p, err := br.Peek(n)
		if err != nil {
			return
		}
		wait = c.opt.TCPIdle
		tc.last.Store(time.Now().UnixNano())
		c.metrics.received.Add(1)
		var in inbound
		if now := time.Now(); d.hep(&in, p, now, true) && c.admit(&in, now, streamWait) {
			c.enqueueStream(one(in))
		}
		br.Discard(n)
	}
}

// sipFramer finds the end of one SIP message in a stream that arrives
// piece by piece (RFC 3261 §18.3: the headers, an empty line, then
// Content-Length bytes of body), resuming where the last call stopped. It
// gives the same answer as sipmsg.FrameLen on the whole stream.
type sipFramer struct {
	start   int  // first byte after keep-alive CRLFs
	started bool // start is known
	pos     int  // start of the next line not read yet, from start
	cl      int  // Content-Length so far
}

func (f *sipFramer) frameLen(stream []byte) (int, bool) {
	if !f.started {
		f.start += sipmsg.SkipKeepAlive(stream[f.start:])
		if f.start == len(stream) || stream[f.start] == '\r' || stream[f.start] == '\n' {
			return 0, false // only keep-alives so far, or half of one
		}
		f.started = true
	}
	b := stream[f.start:]
	if len(b) > sipmsg.MaxMessageSize {
		b = b[:sipmsg.MaxMessageSize]
	}
	for {
		i := bytes.IndexByte(b[f.pos:], '\n')
		if i < 0 {
			return 0, false
		}
		line := b[f.pos : f.pos+i]
		next := f.pos + i + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 && f.pos > 0 {
			total := f.start + next + f.cl
			if total > len(stream) {
				return 0, false // the body is still arriving; pos stays on the empty line
			}
			return total, true
		}
		if f.pos > 0 {
			if v, ok := sipmsg.ContentLengthLine(line); ok {
				f.cl = v
			}
		}
		f.pos = next
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var errHEPStream = errors.New("server: HEP stream: not a HEP packet")

// hepFrameLen returns the length of the HEP packet at the front of br; fr
// keeps how far a HEP1/2 message was scanned while it arrives.
func hepFrameLen(br *bufio.Reader, fr *sipFramer) (int, error) {
	head, err := br.Peek(6)
	if err != nil {
		return 0, err
	}
	switch {
	case string(head[:4]) == "HEP3":
		n := int(binary.BigEndian.Uint16(head[4:]))
		if n < 6 {
			return 0, errHEPStream
		}
		return n, nil
	case head[0] == 1 || head[0] == 2:
		// HEP1/2 have no length for the payload: find the end of the SIP
		// message after the fixed header in what has arrived, reading
		// more only while it is incomplete. The scan resumes where it
		// stopped: a message trickled in 3-byte writes is read once, not
		// once per write (the review's M2: 61 KB so took 4.7 s of CPU).
		for {
			b, _ := br.Peek(br.Buffered())
			if h, err := capture.DecodeHEP(b); err == nil {
				hdr := len(b) - len(h.Payload)
				if n, ok := fr.frameLen(h.Payload); ok {
					return hdr + n, nil
				}
			}
			if br.Buffered() >= hepStreamBuffer {
				return 0, errHEPStream
			}
			if _, err := br.Peek(br.Buffered() + 1); err != nil {
				return 0, err
			}
		}
	}
	return 0, errHEPStream
}
