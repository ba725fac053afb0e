package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
)

// Packet is one SIP message found in a capture, with where and when it was
// seen.
type Packet struct {
	File      string
	Frame     int       // 1-based frame number in the file (for logs: line number)
	Time      time.Time // capture time (UTC)
	Src, Dst  netip.AddrPort
	Transport string // "udp", "tcp", "ws", "sctp"; from logs also "tls", "wss", or "" when the log does not say
	// Encap names how the message reached the capture: the outermost tunnel
	// ("ipip", "gre", "erspan", "vxlan", "gtp", "pppoe"), "hep1"/"hep2"/"hep3"
	// (addresses and time are then those of the HEP header), or "icmp" for a
	// message quoted in an ICMP error sent back to its sender, "log" for a
	// message read from a text log (its bytes passed through a logger);
	// "" when plain.
	Encap   string
	Payload []byte // exactly one SIP message (framed); valid until the next call to Next
	// Media marks a UDP datagram that is no SIP, for the media analysis:
	// RTP or RTCP (version 2, RFC 3550 §5.1, §6.4), T.38 UDPTL, or other
	// UDP it will ignore; Payload is then the whole datagram. Only
	// returned after SetMedia(true).
	Media bool
}

// Integrity counts what the reader saw besides the SIP messages it returned,
// so that a report can say how complete the capture was. Each frame that
// returned no SIP is counted once, as Malformed, as NonSIP, or not at all
// when it held part of a message still being reassembled or encrypted SIP.
//
// EncryptedSIP counts TLS application-data records (RFC 8446 section 5.1)
// on flows taken to carry SIP: TCP port 5061 at either end (RFC 3261
// section 26.2, the sips default), or a ClientHello whose server name
// contains "sip"; DTLS records on UDP port 5061 too. Other TLS is NonSIP.
type Integrity struct {
	Frames              int `json:"frames"`                      // frames (or log lines with a message) read
	SIPMessages         int `json:"sip_messages"`                // packets returned by Next
	Truncated           int `json:"truncated"`                   // frames or messages cut short (snap length, capture end)
	FragmentsIncomplete int `json:"fragments_incomplete"`        // IP datagrams whose fragments never all arrived
	TCPGaps             int `json:"tcp_gaps"`                    // holes in TCP streams (segments never captured)
	EncryptedSIP        int `json:"encrypted_sip"`               // TLS application-data records on SIP flows: SIP that cannot be decoded
	Malformed           int `json:"malformed"`                   // frames or messages whose headers could not be decoded
	NonSIP              int `json:"non_sip"`                     // frames that carried neither SIP nor part of it (RTP, DNS, ...)
	UnknownLinkType     int `json:"unknown_link_type,omitempty"` // frames of a link type sipcause does not decode
	FragmentOverlaps    int `json:"fragment_overlaps,omitempty"` // IP fragments overlapping others (IPv4: first wins; IPv6: datagram discarded)
}

// FormatError reports an input that is none of the formats the package reads.
type FormatError struct {
	File string
}

func (e *FormatError) Error() string {
	return "capture: " + e.File + ": not a pcap, pcapng, HEP or SIP log file"
}

// FrameError reports damage that stops reading a file: a truncated or corrupt
// record. Frame is the 1-based number of the frame that could not be read
// (0 for the file header).
type FrameError struct {
	File  string
	Frame int
	Err   error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("capture: %s frame %d: %v", e.File, e.Frame, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// InflateLimitError reports a gzip-compressed input that inflates to more
// bytes than the reader was allowed (OpenOptions.MaxInflated): a
// decompression bomb, or simply too large for where it was sent.
type InflateLimitError struct {
	File  string
	Limit int64
}

func (e *InflateLimitError) Error() string {
	return fmt.Sprintf("capture: %s: inflates to more than %d bytes (gzip)", e.File, e.Limit)
}

// MaxRecord is the longest pcap record accepted: libpcap's
// MAXIMUM_SNAPLEN. A file declaring a larger snap length is read as if it
// declared this one, so a single record cannot make the reader buffer a
// gigabyte (a 1 MB gzip file held one of 1 GiB).
const MaxRecord = 262144

// Limits that keep memory flat however large the capture is.
const (
	maxStreamBuffer = 256 << 10 // unframed bytes kept per TCP stream
	maxOutOfOrder   = 256 << 10 // out-of-order bytes kept per TCP stream
	maxStreams      = 8192      // TCP streams tracked at once
	maxStreamBytes  = 64 << 20  // bytes held by all TCP streams together
	maxFragSets     = 1024      // IP datagrams being reassembled at once
	maxFragBytes    = 8 << 20   // bytes held in all pending fragments
	maxSCTPBuffer   = 256 << 10 // bytes of one fragmented SCTP message
	maxSCTPStreams  = 1024      // SCTP streams with a fragmented message pending
)

// frameSource yields link-layer frames. The frame's capture information
// is written to ci, which the reader keeps, rather than returned: copying
// the 72-byte struct through the interface call's results cost more than
// reading the record, for every frame.
type frameSource interface {
	readFrame(ci *gopacket.CaptureInfo) (data []byte, link layers.LinkType, err error)
}

type pcapSource struct{ r *pcapgo.Reader }

func (s pcapSource) readFrame(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
	d, c, err := s.r.ZeroCopyReadPacketData()
	*ci = c
	return d, s.r.LinkType(), err
}

type ngSource struct{ r *pcapgo.NgReader }

func (s ngSource) readFrame(ci *gopacket.CaptureInfo) ([]byte, layers.LinkType, error) {
	d, c, err := s.r.ZeroCopyReadPacketData()
	*ci = c
	lt := s.r.LinkType()
	if len(c.AncillaryData) > 0 {
		if l, ok := c.AncillaryData[0].(layers.LinkType); ok {
			lt = l
		}
	}
	return d, lt, err
}

// Reader yields the SIP messages of one capture in capture order.
type Reader struct {
	name   string
	format string
	closer io.Closer

	frames frameSource   // pcap, pcapng
	hep    *bufio.Reader // raw HEP stream
	logs   *logReader    // text logs

	frame    int
	lastTime time.Time // of the last frame read (LastFrameTime)
	integ    Integrity
	cur      frameInfo
	ci       gopacket.CaptureInfo // of the current frame (frameSource)

	out    []Packet // packets found in the current frame (or at the end)
	outPos int
	arena  []byte // payload storage for out
	err    error  // returned once out is drained
	ended  bool

	media      bool // hand on RTP/RTCP-looking datagrams (SetMedia)
	noShortcut bool // tests: decode every frame the long way (plainRTP)
	// mediaSink, when set (SetMediaSink), takes the datagrams plainRTP
	// finds instead of the queue Next reads, in scratch.
	mediaSink func(*Packet)
	scratch   Packet

	frags   fragTable
	streams streamTable
	sctp    sctpTable
}

// frameInfo describes the frame being decoded.
type frameInfo struct {
	time      time.Time
	encap     string
	sip       bool // carried SIP, part of it, or a message being reassembled
	encrypted bool
	malformed bool
	truncated bool // captured length is below the original length
	icmp      bool // decoding the datagram quoted in an ICMP error
}

// OpenOptions limit what Open may read.
type OpenOptions struct {
	// MaxInflated bounds the bytes inflated from gzip (at every level of
	// nesting); beyond it reading stops with an *InflateLimitError. Zero
	// means no limit: a capture on disk may be large.
	MaxInflated int64
}

// Open detects the format of r by its content (pcap in either byte order and
// time resolution, pcapng, a raw HEP stream, a SIP text log; any of them
// gzip-compressed) and returns a Reader for it. name is used in packets and
// errors only. An unknown format yields a *FormatError.
func Open(name string, r io.Reader) (*Reader, error) { return OpenWith(name, r, OpenOptions{}) }

// OpenWith is Open with limits.
func OpenWith(name string, r io.Reader, opt OpenOptions) (*Reader, error) {
	cnt := &countReader{r: r}
	br := bufio.NewReaderSize(cnt, 64<<10)
	head, _ := br.Peek(4)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FrameError{File: name, Err: fmt.Errorf("gzip: %w", err)}
		}
		zr.Multistream(true)
		var inner io.Reader = zr
		if opt.MaxInflated > 0 {
			inner = &inflateLimit{r: zr, c: zr, left: opt.MaxInflated, err: &InflateLimitError{File: name, Limit: opt.MaxInflated}}
		}
		rd, err := OpenWith(name, inner, opt) // rd closes zr
		if err != nil {
			return nil, err
		}
		if c, ok := r.(io.Closer); ok {
			rd.closer = multiCloser{rd.closer, c}
		}
		return rd, nil
	}
	rd := &Reader{name: name}
	if c, ok := r.(io.Closer); ok {
		rd.closer = c
	}
	head, _ = br.Peek(512)
	switch {
	case isPcapMagic(head):
		cr := clampSnaplen(br)
		hdr := bytes.Clone(head[:min(24, len(head))])
		pr, err := pcapgo.NewReader(cr)
		if err != nil {
			return nil, &FrameError{File: name, Err: headerErr(err)}
		}
		rd.format, rd.frames = "pcap", pcapSource{pr}
		// pcapgo read the header straight from br (its reader is br
		// itself when no snap length was lowered): the records can then
		// be read from br without pcapgo's copy per record.
		if cr == io.Reader(br) && len(hdr) == 24 {
			rd.frames = newFastPcap(br, r, hdr, pr.Snaplen(), pr.LinkType())
		}
	case len(head) >= 4 && head[0] == 0x0a && head[1] == 0x0d && head[2] == 0x0d && head[3] == 0x0a:
		hdr := bytes.Clone(head[:min(12, len(head))])
		nr, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, &FrameError{File: name, Err: headerErr(err)}
		}
		// pcapgo reads from br itself (a bufio.Reader of 4 KiB or more is
		// not wrapped again), so the packet blocks can be read from br
		// without pcapgo's copy and option parsing.
		pos := func() int64 { return cnt.n - int64(br.Buffered()) }
		rd.format, rd.frames = "pcapng", newFastNg(br, nr, hdr, pos)
	case isHEP3(head) || isHEP2(head):
		rd.format, rd.hep = "hep", br
	default:
		ls, kind, ok := openTextLog(name, br)
		if !ok {
			return nil, &FormatError{File: name}
		}
		rd.format, rd.logs = "log:"+kind, ls
	}
	return rd, nil
}

// headerErr says plainly that a file header ended early.
func headerErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file header is cut short: the file is damaged or still being written")
	}
	return err
}

// clampSnaplen returns br with the snap length in its pcap file header
// lowered to MaxRecord when it is larger: the pcap reader takes records up
// to the snap length, and buffers each whole.
func clampSnaplen(br *bufio.Reader) io.Reader {
	hdr, err := br.Peek(24)
	if err != nil {
		return br
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if hdr[0] == 0xa1 {
		order = binary.BigEndian
	}
	if order.Uint32(hdr[16:20]) <= MaxRecord {
		return br
	}
	h := bytes.Clone(hdr)
	order.PutUint32(h[16:20], MaxRecord)
	br.Discard(24)
	return io.MultiReader(bytes.NewReader(h), br)
}

// inflateLimit stops a gzip reader after left bytes with err.
type inflateLimit struct {
	r    io.Reader
	c    io.Closer
	left int64
	err  error
}

func (l *inflateLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit
		// from one that goes on.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, l.err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *inflateLimit) Close() error { return l.c.Close() }

func isPcapMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d":
		return true
	}
	return false
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// OpenFile opens the capture at path ("-" for standard input) with Open.
func OpenFile(path string) (*Reader, error) {
	if path == "-" {
		return Open("-", io.NopCloser(os.Stdin))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rd, err := Open(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return rd, nil
}

// SetMedia makes Next also return the UDP datagrams that are no SIP (RTP,
// RTCP, T.38), as packets with Media set, so that a media analysis can run in the
// same pass. They are not counted as SIP: Integrity keeps them as NonSIP.
func (r *Reader) SetMedia(on bool) { r.media = on }

// SetMediaSink (with SetMedia) hands the plain RTP and RTCP datagrams of
// the frames Next decodes to sink as they are found, instead of returning
// them from Next: a capture that is mostly RTP then costs one call per
// packet, not a packet queued, returned and taken apart. The packet is
// valid only during the call. The order with what Next returns is the
// capture's: Next decodes the next frame only once it has returned what
// the frames before held. Datagrams found the long way (in tunnels, VLANs,
// IPv6, ICMP errors) are still returned by Next.
func (r *Reader) SetMediaSink(sink func(*Packet)) { r.mediaSink = sink }

// Format names the detected input format: "pcap", "pcapng", "hep" or
// "log:<kind>".
func (r *Reader) Format() string { return r.format }

// Integrity returns the counts so far; after Next returned io.EOF they cover
// the whole capture.
func (r *Reader) Integrity() Integrity { return r.integ }

// Close releases the underlying file.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

// Next returns the next SIP message in capture order (TCP, WebSocket and
// fragmented messages when their last byte arrives). At the end it returns
// io.EOF, or a *FrameError when the file is damaged, after every message
// before the damage. Problems within single packets are counted in
// Integrity, not returned.
func (r *Reader) Next() (Packet, error) {
	p, err := r.NextRef()
	if err != nil {
		return Packet{}, err
	}
	return *p, nil
}

// NextRef is Next without the copy of the packet: the packet it points to
// is the reader's, and like its payload only valid until the next call to
// Next or NextRef. A capture that is mostly RTP hands on hundreds of
// thousands of packets; each copy of one is some 200 bytes.
func (r *Reader) NextRef() (*Packet, error) {
	for {
		if r.outPos < len(r.out) {
			p := &r.out[r.outPos]
			r.outPos++
			return p, nil
		}
		if r.err != nil {
			return nil, r.err
		}
		// The packets handed on hold no references once read again:
		// their strings and payloads are cleared, so that a reader
		// kept open does not keep them alive.
		clear(r.out)
		r.out, r.outPos, r.arena = r.out[:0], 0, r.arena[:0]
		r.step()
	}
}

// step reads one unit of input (frame, HEP packet, log message) and queues
// the messages it completes; at the end of input it flushes and sets r.err.
func (r *Reader) step() {
	var err error
	switch {
	case r.frames != nil:
		err = r.stepFrame()
	case r.hep != nil:
		err = r.stepHEPStream()
	case r.logs != nil:
		err = r.stepLog()
	default:
		err = io.EOF
	}
	if err == nil {
		return
	}
	r.finish()
	if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		r.err = io.EOF
		return
	}
	var fe *FrameError
	if errors.As(err, &fe) {
		r.err = fe
		return
	}
	r.err = &FrameError{File: r.name, Frame: r.frame + 1, Err: err}
}

func (r *Reader) stepFrame() error {
	ci := &r.ci
	data, lt, err := r.frames.readFrame(ci)
	if err != nil {
		return err
	}
	r.frame++
	r.integ.Frames++
	r.cur = frameInfo{}
	r.cur.time = ci.Timestamp.UTC()
	r.cur.truncated = ci.CaptureLength < ci.Length
	r.lastTime = r.cur.time
	if !r.media || lt != linkEthernet || !r.plainRTP(data) {
		r.decodeLink(lt, data)
	}
	r.endFrame()
	return nil
}

// plainRTP is decodeLink's shortcut for the frame a capture with media is
// made of: Ethernet, IPv4 without options or fragments, UDP not on a
// tunnel port, and a datagram that starts like RTP or RTCP. It hands the
// datagram on as decodeLink would, and returns false, having changed
// nothing, for any other frame. Ten calls deep with their addresses and
// slices passed down, decodeLink cost as much per RTP packet as the whole
// RTP analysis; TestPlainRTPShortcut checks that both agree.
func (r *Reader) plainRTP(b []byte) bool {
	if r.noShortcut || len(b) < 14+20+8+8 || b[12] != 0x08 || b[13] != 0x00 {
		return false
	}
	ip := b[14:]
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0] != 0x45 || total < 20 || total > len(ip) || ip[9] != 17 || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return false
	}
	ip = ip[:total]
	udp := ip[20:]
	if len(udp) < 8 {
		return false
	}
	sport, dport := binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:])
	if sport == portVXLAN || dport == portVXLAN || sport == portGTPU || dport == portGTPU {
		return false
	}
	p := udp[8:]
	if n := int(binary.BigEndian.Uint16(udp[4:])); n >= 8 && n-8 <= len(p) {
		p = p[:n-8]
	}
	if len(p) < 8 || p[0]>>6 != 2 {
		return false
	}
	src, dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), sport), netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), dport)
	if r.mediaSink != nil {
		q := &r.scratch
		q.File, q.Frame, q.Time, q.Src, q.Dst, q.Transport = r.name, r.frame, r.cur.time, src, dst, "udp"
		q.Encap, q.Payload, q.Media = r.cur.encap, p[:len(p):len(p)], true
		r.mediaSink(q)
		q.Payload = nil
		return true
	}
	r.emitMedia(src, dst, p)
	return true
}

// endFrame classifies the frame for the integrity counts.
func (r *Reader) endFrame() {
	switch {
	case r.cur.malformed:
		r.integ.Malformed++
	case r.cur.sip, r.cur.encrypted:
	default:
		r.integ.NonSIP++
	}
}

// finish runs once at the end of input: messages still waiting in buffers are
// counted, not returned, since they never completed.
func (r *Reader) finish() {
	if r.ended {
		return
	}
	r.ended = true
	r.integ.FragmentsIncomplete += r.frags.len()
	r.frags.reset()
	r.streams.flush(r)
	r.sctp.reset()
}

// emit queues one SIP message found in the current frame.
func (r *Reader) emit(src, dst netip.AddrPort, transport string, payload []byte) {
	start := len(r.arena)
	r.arena = append(r.arena, payload...)
	r.out = append(r.out, Packet{
		File:      r.name,
		Frame:     r.frame,
		Time:      r.cur.time,
		Src:       src,
		Dst:       dst,
		Transport: transport,
		Encap:     r.cur.encap,
		Payload:   r.arena[start:len(r.arena):len(r.arena)],
	})
	r.integ.SIPMessages++
	r.cur.sip = true
}

// emitMedia queues a datagram that looks like RTP or RTCP. Its payload is
// not copied: it lies in the frame just read (or in a datagram just
// reassembled from fragments, which no one else holds), and the next frame
// is only read when Next has handed on every packet of this one, so it
// stays valid until the next call to Next, as Packet promises. A capture
// that is mostly RTP is then copied once less.
//
// The packet is filled in place: a Packet built first and then appended
// was copied twice, through 16-byte moves that overlap and stall.
func (r *Reader) emitMedia(src, dst netip.AddrPort, payload []byte) {
	r.out = append(r.out, Packet{})
	p := &r.out[len(r.out)-1]
	p.File, p.Frame, p.Time, p.Src, p.Dst, p.Transport = r.name, r.frame, r.cur.time, src, dst, "udp"
	p.Encap, p.Payload, p.Media = r.cur.encap, payload[:len(payload):len(payload)], true
}

// setEncap records the outermost tunnel of the current frame.
func (r *Reader) setEncap(e string) {
	if r.cur.encap == "" {
		r.cur.encap = e
	}
}
