package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/sipcause/sipcause/sipmsg"
)

// flowKey is one direction of a TCP connection.
type flowKey struct {
	src, dst netip.AddrPort
}

// streamMode is what a TCP stream was found to carry.
type streamMode uint8

const (
	modeUnknown streamMode = iota
	modeSIP                // SIP framed by Content-Length (RFC 3261 section 18.3)
	modeWS                 // WebSocket frames after the HTTP upgrade (RFC 6455, RFC 7118)
	modeTLS                // TLS records (RFC 8446 section 5.1)
	modeHEP                // HEP3 packets, framed by their length field
)

type segment struct {
	seq   uint32
	data  []byte
	frame int
	time  time.Time
}

// tcpStream reassembles one direction of a TCP connection: bytes are
// delivered in sequence order, retransmitted bytes are dropped, segments
// that arrive early wait (bounded) for the hole before them to fill.
type tcpStream struct {
	key      flowKey
	started  bool
	next     uint32 // next expected sequence number
	buf      []byte // in-order bytes not yet framed
	ooo      []segment
	oooBytes int
	mode     streamMode
	tlsSkip  int  // bytes of the current TLS record still to skip
	tlsSIP   bool // the TLS flow is taken to carry SIP (see tlsCarriesSIP)
	wsMsg    []byte
	wsActive bool // a fragmented WebSocket message is being collected
	// A SIP message at the front of buf waits for its end: framing is tried
	// again only once pending bytes are there or, while its header section
	// is incomplete, once an empty line may have arrived after scanned. So
	// a message that trickles in one byte per segment costs linear time.
	pending, scanned int
	lastFrame        int
}

// streamTable holds the TCP streams being reassembled, at most maxStreams;
// the least recently used are dropped to make room.
type streamTable struct {
	m     map[flowKey]*tcpStream
	bytes int // held by all streams (tcpStream.held)
}

// maxOutOfOrderSegments bounds how many early segments wait for a hole to
// fill before the hole is declared a gap.
const maxOutOfOrderSegments = 64

// TCP header flags (RFC 9293 section 3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
)

// decodeTCP decodes a TCP header and feeds its payload to the stream.
func (r *Reader) decodeTCP(src, dst netip.Addr, b []byte) {
	if len(b) < 20 {
		r.short()
		return
	}
	doff := int(b[12]>>4) * 4
	if doff < 20 {
		r.cur.malformed = true
		return
	}
	if len(b) < doff {
		r.short()
		return
	}
	k := flowKey{
		src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(b)),
		dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
	}
	seq := binary.BigEndian.Uint32(b[4:])
	flags := b[13]
	payload := b[doff:]
	t := &r.streams
	s := t.m[k]
	switch {
	case flags&tcpRST != 0:
		if s != nil {
			r.closeStream(s)
		}
		return
	case flags&tcpSYN != 0:
		if s != nil {
			r.closeStream(s)
		}
		s = t.create(r, k)
		s.started, s.next = true, seq+1
		return
	case s == nil && len(payload) == 0:
		return
	case s == nil:
		s = t.create(r, k)
	}
	s.lastFrame = r.frame
	if s.mode != modeUnknown {
		r.cur.sip = true
	}
	if len(payload) > 0 {
		if r.cur.truncated {
			r.integ.Truncated++
			r.cur.truncated = false
		}
		before := s.held()
		r.segment(s, seq, payload)
		t.bytes += s.held() - before
		for t.bytes > maxStreamBytes && len(t.m) > 1 {
			t.evict(r)
		}
	}
	if flags&tcpFIN != 0 && len(s.ooo) == 0 && len(s.buf) == 0 {
		r.closeStream(s)
	}
}

// held is the memory a stream holds for messages not yet complete.
func (s *tcpStream) held() int { return len(s.buf) + s.oooBytes + len(s.wsMsg) }

func (t *streamTable) create(r *Reader, k flowKey) *tcpStream {
	if t.m == nil {
		t.m = make(map[flowKey]*tcpStream)
	}
	if len(t.m) >= maxStreams {
		t.evict(r)
	}
	s := &tcpStream{key: k, lastFrame: r.frame}
	t.m[k] = s
	return s
}

// evict drops the least recently used eighth of the streams.
func (t *streamTable) evict(r *Reader) {
	all := make([]*tcpStream, 0, len(t.m))
	for _, s := range t.m {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *tcpStream) int { return a.lastFrame - b.lastFrame })
	for _, s := range all[:len(all)/8+1] {
		r.closeStream(s)
	}
}

// closeStream forgets a stream, counting what it still held.
func (r *Reader) closeStream(s *tcpStream) {
	if r.streams.m[s.key] != s {
		return // closed already
	}
	if len(s.ooo) > 0 {
		r.integ.TCPGaps++
	}
	if len(trimKeepAlive(s.buf)) > 0 && s.mode != modeTLS {
		r.integ.Truncated++
	}
	r.streams.bytes -= s.held()
	delete(r.streams.m, s.key)
}

// flush runs at the end of the capture: segments still waiting behind a hole
// are delivered after counting the gap, so messages after a lost segment are
// not lost too; what remains unframed is counted as truncated.
func (t *streamTable) flush(r *Reader) {
	var pending []*tcpStream
	for _, s := range t.m {
		if len(s.ooo) > 0 {
			pending = append(pending, s)
		}
	}
	slices.SortFunc(pending, func(a, b *tcpStream) int { return a.ooo[0].frame - b.ooo[0].frame })
	saveFrame, saveCur := r.frame, r.cur
	for _, s := range pending {
		for len(s.ooo) > 0 {
			first := s.ooo[0]
			r.frame, r.cur = first.frame, frameInfo{time: first.time}
			r.skipGap(s)
		}
	}
	r.frame, r.cur = saveFrame, saveCur
	for _, s := range t.m {
		r.closeStream(s)
	}
	t.m, t.bytes = nil, 0
}

// segment adds one segment's payload to the stream.
func (r *Reader) segment(s *tcpStream, seq uint32, p []byte) {
	if !s.started {
		s.started, s.next = true, seq
	}
	d := seqDiff(seq, s.next)
	if d < 0 {
		if int(-d) >= len(p) {
			return // retransmission of bytes already delivered
		}
		p, seq = p[-d:], s.next
		d = 0
	}
	if d > 0 {
		r.cur.sip = r.cur.sip || s.mode != modeUnknown
		for _, o := range s.ooo {
			if o.seq == seq && len(o.data) >= len(p) {
				return // retransmission of an early segment
			}
		}
		s.ooo = append(s.ooo, segment{seq: seq, data: append([]byte(nil), p...), frame: r.frame, time: r.cur.time})
		slices.SortStableFunc(s.ooo, func(a, b segment) int { return int(seqDiff(a.seq, b.seq)) })
		s.oooBytes += len(p)
		if s.oooBytes > maxOutOfOrder || len(s.ooo) > maxOutOfOrderSegments {
			r.skipGap(s)
		}
		return
	}
	r.deliver(s, p)
	r.drainOOO(s)
}

// deliver appends in-order bytes and frames what is complete.
func (r *Reader) deliver(s *tcpStream, p []byte) {
	s.next += uint32(len(p))
	if s.mode == modeTLS && s.tlsSkip > 0 {
		n := min(s.tlsSkip, len(p))
		s.tlsSkip -= n
		p = p[n:]
		r.markTLS(s)
	}
	s.buf = append(s.buf, p...)
	r.frameStream(s)
	if len(s.buf) > maxStreamBuffer {
		r.integ.Truncated++
		s.buf, s.mode = s.buf[:0], modeUnknown
		s.resetWait()
	}
	if len(s.buf) == 0 && cap(s.buf) > 64<<10 {
		s.buf = nil // give back the memory of an unusually large message
	}
}

// drainOOO delivers early segments that have become in order.
func (r *Reader) drainOOO(s *tcpStream) {
	for len(s.ooo) > 0 {
		o := s.ooo[0]
		d := seqDiff(o.seq, s.next)
		if d > 0 {
			return
		}
		s.ooo = s.ooo[1:]
		s.oooBytes -= len(o.data)
		if r.ended {
			// Flushing at the end of the capture: the message completes
			// with this segment, not with the last frame read.
			r.frame, r.cur.time = o.frame, o.time
		}
		if int(-d) < len(o.data) {
			r.deliver(s, o.data[-d:])
		}
	}
	s.ooo = nil
}

// skipGap gives up on the hole before the first early segment: the bytes
// held before it are dropped (a message cut by the hole cannot be framed)
// and delivery resumes after the hole.
func (r *Reader) skipGap(s *tcpStream) {
	if len(s.ooo) == 0 {
		return
	}
	r.integ.TCPGaps++
	if len(trimKeepAlive(s.buf)) > 0 && s.mode != modeTLS {
		r.integ.Truncated++
	}
	s.buf = s.buf[:0]
	s.resetWait()
	s.tlsSkip, s.wsActive, s.wsMsg = 0, false, s.wsMsg[:0]
	if s.mode == modeSIP || s.mode == modeTLS {
		s.mode = modeUnknown // resynchronise on the next start line
	}
	s.next = s.ooo[0].seq
	r.drainOOO(s)
}

// frameStream takes complete messages off the front of the stream buffer.
func (r *Reader) frameStream(s *tcpStream) {
	b := s.buf
	defer func() {
		// Keep the unframed rest at the start of the buffer.
		n := copy(s.buf, b)
		s.buf = s.buf[:n]
	}()
	for len(b) > 0 {
		switch s.mode {
		case modeWS:
			n, ok := r.wsFrame(s, b)
			if !ok {
				s.mode = modeUnknown
				continue
			}
			if n == 0 {
				return
			}
			b = b[n:]
			continue
		case modeTLS:
			n, ok := r.tlsRecords(s, b)
			b = b[n:]
			if !ok {
				s.mode = modeUnknown
				continue
			}
			return
		case modeHEP:
			if !isHEP3(b) {
				s.mode = modeUnknown
				continue
			}
			n := int(binary.BigEndian.Uint16(b[4:]))
			if n < 6 {
				s.mode = modeUnknown
				r.cur.malformed = true
				b = b[:0]
				return
			}
			if len(b) < n {
				return
			}
			if !r.hepPacket(b[:n]) {
				r.cur.malformed = true
			}
			b = b[n:]
			continue
		}
		// SIP, or not known yet: decide by content.
		b = trimKeepAlive(b)
		if len(b) == 0 {
			return
		}
		if !s.mayBeComplete(b) {
			r.cur.sip = true
			return
		}
		switch {
		case sipmsg.LooksLikeSIP(b):
			n, ok := sipmsg.FrameLen(b)
			if !ok && len(b) > sipmsg.MaxMessageSize {
				r.integ.Malformed++ // no end of headers: not framed SIP
				s.mode = modeUnknown
				s.resetWait()
				b = b[:0]
				return
			}
			if !ok {
				s.mode = modeSIP
				s.wait(b)
				r.cur.sip = true
				return // wait for the rest
			}
			s.mode = modeSIP
			s.resetWait()
			r.emit(s.key.src, s.key.dst, "tcp", b[:n])
			b = b[n:]
		case bytes.IndexByte(b, '\n') < 0 && len(b) < 512 && (s.mode == modeSIP || startLinePrefix(b)):
			r.cur.sip = true
			return // a start line cut by the segment boundary
		case isHEP3(b):
			s.mode = modeHEP
		case len(b) >= 5 && isTLSRecord(b):
			s.mode = modeTLS
			s.tlsSIP = s.tlsSIP || r.tlsCarriesSIP(s, b)
		case bytes.HasPrefix(b, []byte("GET ")) || bytes.HasPrefix(b, []byte("HTTP/1.1 101")):
			end, sep := headerEnd(b)
			if end < 0 {
				if len(b) > 16<<10 {
					b = b[:0]
				}
				return
			}
			if isWebSocketUpgrade(b[:end]) {
				s.mode = modeWS
				r.cur.sip = true
			}
			b = b[end+sep:]
		case looksLikeWSFrame(b):
			s.mode = modeWS
		default:
			b = b[:0] // not SIP: drop, and look again at the next segment
			return
		}
	}
}

// isWebSocketUpgrade reports whether an HTTP header section asks for or
// accepts the WebSocket protocol (RFC 6455 section 4).
func isWebSocketUpgrade(h []byte) bool {
	for line := range bytes.SplitSeq(h, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Upgrade")) &&
			bytes.EqualFold(bytes.TrimSpace(value), []byte("websocket")) {
			return true
		}
	}
	return bytes.HasPrefix(h, []byte("HTTP/1.1 101"))
}

// isTLSRecord reports a TLS record header: content type 20..23 and a
// version of 3.x (RFC 8446 section 5.1).
func isTLSRecord(b []byte) bool {
	return b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] <= 4
}

// tlsCarriesSIP applies the rule for counting TLS as encrypted SIP: a TLS
// flow is SIP when either port is 5061 (RFC 3261 section 26.2, "sips") or
// its ClientHello names a server whose name contains "sip". The reverse
// direction of a flow so marked is marked too.
func (r *Reader) tlsCarriesSIP(s *tcpStream, b []byte) bool {
	sip := s.key.src.Port() == 5061 || s.key.dst.Port() == 5061
	if !sip {
		sni := clientHelloSNI(b)
		sip = bytes.Contains(bytes.ToLower(sni), []byte("sip"))
	}
	if sip {
		if rev := r.streams.m[flowKey{s.key.dst, s.key.src}]; rev != nil {
			rev.tlsSIP = true
		}
	}
	return sip
}

// tlsRecords walks TLS records, counting application data on SIP flows; it
// returns the bytes consumed and false when b is not a record.
func (r *Reader) tlsRecords(s *tcpStream, b []byte) (int, bool) {
	n := 0
	for len(b)-n >= 5 {
		h := b[n:]
		if !isTLSRecord(h) {
			return n, false
		}
		l := int(binary.BigEndian.Uint16(h[3:]))
		if h[0] == 23 && s.tlsSIP {
			r.integ.EncryptedSIP++
		}
		r.markTLS(s)
		if len(h) < 5+l {
			s.tlsSkip = 5 + l - len(h)
			return len(b), true
		}
		n += 5 + l
	}
	if n < len(b) {
		r.markTLS(s)
	}
	return n, true
}

func (r *Reader) markTLS(s *tcpStream) {
	if s.tlsSIP {
		r.cur.encrypted = true
	}
}

// clientHelloSNI returns the server_name of a TLS ClientHello record (RFC
// 8446 section 4.1.2, RFC 6066 section 3), or nil.
func clientHelloSNI(b []byte) []byte {
	if len(b) < 9 || b[0] != 22 || b[5] != 1 {
		return nil
	}
	p := b[9:]
	skip := func(n int) bool {
		if len(p) < n {
			return false
		}
		p = p[n:]
		return true
	}
	vec := func(lenBytes int) bool {
		if len(p) < lenBytes {
			return false
		}
		n := 0
		for i := range lenBytes {
			n = n<<8 | int(p[i])
		}
		return skip(lenBytes + n)
	}
	if !skip(2+32) || !vec(1) || !vec(2) || !vec(1) || len(p) < 2 {
		return nil
	}
	p = p[2:]
	for len(p) >= 4 {
		typ := binary.BigEndian.Uint16(p)
		n := int(binary.BigEndian.Uint16(p[2:]))
		if len(p) < 4+n {
			return nil
		}
		ext := p[4 : 4+n]
		p = p[4+n:]
		if typ != 0 || len(ext) < 5 {
			continue
		}
		l := int(binary.BigEndian.Uint16(ext[3:]))
		if len(ext) < 5+l {
			return nil
		}
		return ext[5 : 5+l]
	}
	return nil
}

// mayBeComplete reports whether the bytes added to b since the last try can
// have completed the SIP message at its front.
func (s *tcpStream) mayBeComplete(b []byte) bool {
	switch {
	case s.pending > 0:
		return len(b) >= s.pending
	case s.scanned > 0:
		from := max(0, s.scanned-3)
		s.scanned = len(b)
		return bytes.Contains(b[from:], []byte("\n\n")) || bytes.Contains(b[from:], []byte("\n\r\n"))
	}
	return true
}

// wait records how far the incomplete SIP message at the front of b has
// been examined.
func (s *tcpStream) wait(b []byte) {
	if end, sep := headerEnd(b); end >= 0 {
		s.pending, s.scanned = end+sep+minContentLength(b[:end]), 0
		return
	}
	s.pending, s.scanned = 0, len(b)
}

func (s *tcpStream) resetWait() { s.pending, s.scanned = 0, 0 }

// minContentLength returns the smallest Content-Length value (RFC 3261
// section 20.14, compact form "l") in a header section, 0 when there is none
// or it is unreadable: a lower bound of the body length sipmsg.FrameLen will
// want, never more.
func minContentLength(h []byte) int {
	best := -1
	for line := range bytes.SplitSeq(h, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("Content-Length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
		if err != nil || n < 0 || n > sipmsg.MaxMessageSize {
			return 0
		}
		if best < 0 || n < best {
			best = n
		}
	}
	return max(best, 0)
}

// startLinePrefix reports whether b, which holds no line end yet, may be the
// beginning of a SIP start line: an upper-case letter then printable ASCII.
func startLinePrefix(b []byte) bool {
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' {
			return false
		}
	}
	return true
}

// seqDiff is a-b in sequence space (RFC 9293 section 3.4: comparisons are
// modulo 2^32), widened so that negating it cannot overflow.
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }
