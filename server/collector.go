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
	"sync"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/sipmsg"
)

// inbound is one SIP message on its way from a receiver to the analyzer:
// already parsed (receivers parse in parallel; the analyzer runs alone) and
// with its bytes as they came.
type inbound struct {
	msg  analyze.Message
	raw  []byte
	wall time.Time // when it arrived
}

// Receiver limits: a sender never makes the collector hold more than this.
const (
	maxDatagram     = 65535
	maxTCPConns     = 256
	tcpIdle         = 5 * time.Minute // a HEP connection with no packet for this long is closed
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

// hep decodes a HEP packet. It returns false, after counting why, for
// anything that is not a well-formed HEP packet carrying SIP.
func (d *decoder) hep(b []byte, wall time.Time) (inbound, bool) {
	p, err := capture.DecodeHEP(b)
	if err != nil {
		d.c.metrics.malformed.Add(1)
		return inbound{}, false
	}
	if p.ProtoType != 1 { // 1 = SIP; RTCP, logs, QoS reports are not ours
		d.c.metrics.nonSIP.Add(1)
		return inbound{}, false
	}
	t := p.Time
	if t.IsZero() {
		t = wall // HEP1 carries no time
	}
	return d.sip(p.Payload, analyze.Meta{Time: t, Src: p.Src, Dst: p.Dst, Transport: p.Transport()}, wall)
}

// sip parses one SIP message; meta says where and when it was seen.
func (d *decoder) sip(payload []byte, meta analyze.Meta, wall time.Time) (inbound, bool) {
	payload = payload[sipmsg.SkipKeepAlive(payload):]
	if len(payload) == 0 {
		d.c.metrics.nonSIP.Add(1) // a keep-alive
		return inbound{}, false
	}
	if len(payload) > sipmsg.MaxMessageSize {
		d.c.metrics.malformed.Add(1)
		return inbound{}, false
	}
	// Parse writes into its buffer (it joins folded lines), so it gets a
	// scratch copy and the stored bytes stay as they came.
	d.scratch = append(d.scratch[:0], payload...)
	if err := sipmsg.Parse(d.scratch, &d.msg); err != nil {
		d.c.metrics.malformed.Add(1)
		return inbound{}, false
	}
	m := analyze.FromSIPInterned(meta, &d.msg, &d.intern)
	if m.CallID == "" {
		d.c.metrics.malformed.Add(1)
		return inbound{}, false
	}
	return inbound{msg: m, raw: bytes.Clone(payload), wall: wall}, true
}

// enqueue hands a message to the analyzer, or drops and counts it when the
// queue is full: a flood must never block the receivers or the UI.
//
// The queue is bounded in bytes as well as in messages: 65 536 datagrams
// of 64 KB would be 4 GB.
func (c *Collector) enqueue(in inbound) {
	n := int64(len(in.raw))
	if c.queuedBytes.Add(n) > int64(c.opt.MaxQueueBytes) {
		c.queuedBytes.Add(-n)
		c.metrics.dropped.Add(1)
		return
	}
	select {
	case c.queue <- in:
	default:
		c.queuedBytes.Add(-n)
		c.metrics.dropped.Add(1)
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
	for {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.metrics.received.Add(1)
		if in, ok := d.hep(buf[:n], time.Now()); ok {
			c.enqueue(in)
		}
	}
}

func (c *Collector) serveHEPUDPBatch(conn *net.UDPConn, d *decoder) {
	const batch = 64
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		now := time.Now()
		c.metrics.received.Add(int64(n))
		for i := range msgs[:n] {
			if in, ok := d.hep(msgs[i].Buffers[0][:msgs[i].N], now); ok {
				c.enqueue(in)
			}
		}
	}
}

// serveSIPUDP reads plain SIP datagrams (a port mirror or a copy sent by
// an SBC): the sender's address is the message's source, the listening
// address its destination.
func (c *Collector) serveSIPUDP(conn *net.UDPConn) {
	d := &decoder{c: c}
	buf := make([]byte, maxDatagram)
	local, _ := netip.ParseAddrPort(conn.LocalAddr().String())
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.metrics.received.Add(1)
		now := time.Now()
		meta := analyze.Meta{Time: now.UTC(), Src: from, Dst: local, Transport: "udp"}
		if in, ok := d.sip(buf[:n], meta, now); ok {
			c.enqueue(in)
		}
	}
}

// serveHEPTCP accepts HEP connections until the listener is closed.
func (c *Collector) serveHEPTCP(ctx context.Context, l net.Listener) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	defer func() {
		mu.Lock()
		for conn := range conns {
			conn.Close()
		}
		mu.Unlock()
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
		mu.Lock()
		if len(conns) >= maxTCPConns {
			mu.Unlock()
			c.metrics.tcpRefused.Add(1)
			conn.Close()
			continue
		}
		conns[conn] = true
		c.metrics.tcpConns.Add(1)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.readHEPStream(conn)
			conn.Close()
			mu.Lock()
			delete(conns, conn)
			c.metrics.tcpConns.Add(-1)
			mu.Unlock()
		}()
	}
}

// readHEPStream reads HEP packets from a stream: HEP3 packets framed by
// their length field, or HEP2 headers each followed by one SIP message
// framed by its Content-Length (RFC 3261 §18.3). A stream that stops
// making sense is closed: there is no way to find the next packet.
func (c *Collector) readHEPStream(conn net.Conn) {
	d := &decoder{c: c}
	br := bufio.NewReaderSize(conn, hepStreamBuffer)
	for {
		conn.SetReadDeadline(time.Now().Add(tcpIdle))
		n, err := hepFrameLen(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
				c.metrics.malformed.Add(1)
			}
			return
		}
		p, err := br.Peek(n)
		if err != nil {
			return
		}
		c.metrics.received.Add(1)
		if in, ok := d.hep(p, time.Now()); ok {
			c.enqueue(in)
		}
		br.Discard(n)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var errHEPStream = errors.New("server: HEP stream: not a HEP packet")

// hepFrameLen returns the length of the HEP packet at the front of br.
func hepFrameLen(br *bufio.Reader) (int, error) {
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
		// more only while it is incomplete.
		for {
			b, _ := br.Peek(br.Buffered())
			if h, err := capture.DecodeHEP(b); err == nil {
				hdr := len(b) - len(h.Payload)
				skip := sipmsg.SkipKeepAlive(h.Payload)
				if n, ok := sipmsg.FrameLen(h.Payload[skip:]); ok {
					return hdr + skip + n, nil
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
