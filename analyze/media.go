package analyze

import (
	"encoding/binary"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/sipcause/sipcause/rtp"
)

// Limits of the media analysis: a fixed state per stream, and a bounded
// number of streams and announced endpoints.
const (
	maxMediaStreams   = 65536
	maxMediaEndpoints = 262144
	// heuristicMinPackets is how many packets a stream no SDP announced
	// needs before it is reported as RTP: one stray datagram with the
	// version bits set is no stream.
	heuristicMinPackets = 5
)

// MediaPacket is one UDP datagram that starts like RTP or RTCP (RFC 3550
// §5.1, §6.4), as a capture reader hands it on. Data is only read during
// AddMedia.
type MediaPacket struct {
	File     string
	Frame    int
	Time     time.Time
	Src, Dst netip.AddrPort
	Data     []byte
	// ICMP marks a datagram quoted in an ICMP error (RFC 792, RFC 4443
	// §3): it was sent, and the network answered that it could not be
	// delivered, typically to a port nobody listens on.
	ICMP bool
}

// MediaStream is one RTP stream as the report shows it (RFC 3550): one
// SSRC from one address to another, with its statistics. Lost, max delta
// and jitter are computed as Wireshark's RTP stream analysis does (see
// package rtp); MOS is the E-model estimate of rtp.EstimateMOS.
type MediaStream struct {
	Number       int        `json:"number"`  // 1-based, in order of the first packet, over the whole input
	CallID       string     `json:"call_id"` // empty when no call claims the stream
	Src          string     `json:"src"`
	Dst          string     `json:"dst"`
	Announced    string     `json:"announced,omitempty"` // the SDP address:port the stream was matched to
	Found        string     `json:"found"`               // sdp, heuristic
	Direction    string     `json:"direction"`           // caller_to_callee, callee_to_caller, unknown
	SSRC         uint32     `json:"ssrc"`
	PayloadType  int        `json:"payload_type"`
	Codec        string     `json:"codec"`
	ClockRate    int        `json:"clock_rate"`
	Packets      int        `json:"packets"`
	Expected     int        `json:"expected"`
	Lost         int        `json:"lost"`
	LossPercent  float64    `json:"loss_percent"`
	Duplicates   int        `json:"duplicates"`
	OutOfOrder   int        `json:"out_of_order"`
	MaxDeltaMS   float64    `json:"max_delta_ms"`
	MeanDeltaMS  float64    `json:"mean_delta_ms"`
	MaxJitterMS  float64    `json:"max_jitter_ms"`
	MeanJitterMS float64    `json:"mean_jitter_ms"`
	MOS          float64    `json:"mos"` // 0 for T.38
	Start        time.Time  `json:"start"`
	End          time.Time  `json:"end"`
	DurationMS   int64      `json:"duration_ms"`
	Markers      int        `json:"markers"`
	PTChanges    int        `json:"payload_changes"`
	ComfortNoise int        `json:"comfort_noise"`
	DTMF         string     `json:"dtmf,omitempty"`
	FaxTones     string     `json:"fax_tones,omitempty"`        // cng, ced, cng+ced: fax tones (T.30) heard in G.711 audio
	Secure       string     `json:"srtp,omitempty"`             // sdes, dtls, srtp: the SDP asked for SRTP; headers are still read
	Unreachable  int        `json:"icmp_unreachable,omitempty"` // ICMP errors that quote the stream's packets
	FirstFrame   int        `json:"first_frame"`
	LastFrame    int        `json:"last_frame"`
	RTCP         *RTCPStats `json:"rtcp,omitempty"`
	BucketMS     int64      `json:"bucket_ms"`
	Timeline     []Bucket   `json:"timeline"`
	File         string     `json:"file,omitempty"`
}

// RTCPStats is what the receiver of a stream reported about it in RTCP
// (RFC 3550 §6.4.1) and RTCP XR (RFC 3611 §4.7).
type RTCPStats struct {
	Reports        int      `json:"reports"`
	FractionLost   float64  `json:"fraction_lost_percent"` // of the last report
	CumulativeLost int      `json:"cumulative_lost"`
	JitterMS       float64  `json:"jitter_ms"`
	RTTMS          *float64 `json:"rtt_ms,omitempty"` // from LSR and DLSR
	XRMOS          *float64 `json:"xr_mos_lq,omitempty"`
	XRLossPercent  *float64 `json:"xr_loss_percent,omitempty"`
}

// Bucket is one slice of a stream's timeline.
type Bucket struct {
	Packets     int     `json:"packets"`
	Lost        int     `json:"lost"`
	MaxJitterMS float64 `json:"max_jitter_ms"`
}

// sdpEndpoint is where one party of a call said it receives media.
type sdpEndpoint struct {
	call     *callMedia
	party    string // caller or callee: who announced it
	media    *Media
	frame    int
	time     time.Time
	sigSrc   netip.AddrPort // where the SDP-carrying message came from
	hold     bool
	replaced bool
}

// callMedia is the media side of one call while it is open.
type callMedia struct {
	callID    string
	endpoints []*sdpEndpoint // in order
	streams   []*mediaStream
	attached  bool
	// keys are the addresses of Analyzer.media.endpoints this call's SDP
	// set, so that forgetting the call deletes them without a walk over
	// every call's; manyKeys says there were more than maxCallKeys.
	keys     []netip.AddrPort
	manyKeys bool
	// The first endpoints and keys of a call (an offer and an answer,
	// RTP and RTCP of each) are kept in place: three allocations a call
	// fewer, and as many slices not grown. Never copied: the slices and
	// endpoints point into it.
	epBuf  [2]sdpEndpoint
	epPtrs [2]*sdpEndpoint
	nEp    int
	keyBuf [4]netip.AddrPort
}

// newEndpoint returns room for an endpoint of the call: in place for the
// first ones.
func (cm *callMedia) newEndpoint() *sdpEndpoint {
	if cm.nEp < len(cm.epBuf) {
		cm.nEp++
		return &cm.epBuf[cm.nEp-1]
	}
	return new(sdpEndpoint)
}

// maxCallKeys bounds callMedia.keys (two per m= line of each offer and
// answer: RTP and RTCP).
const maxCallKeys = 64

func (cm *callMedia) noteKey(ap netip.AddrPort) {
	if len(cm.keys) < maxCallKeys {
		if cm.keys == nil {
			cm.keys = cm.keyBuf[:0]
		}
		cm.keys = append(cm.keys, ap)
	} else {
		cm.manyKeys = true
	}
}

// mediaStream is the live state of one stream.
type mediaStream struct {
	key        streamKey
	order      int
	file       string
	st         rtp.Stream
	call       *callMedia
	from, to   string // caller, callee, "" unknown
	announced  *sdpEndpoint
	firstFrame int
	lastFrame  int
	out        *MediaStream
	rtcp       RTCPStats
	rtt        float64
	t38        bool // a T.38 (UDPTL) stream, not RTP
	// unreachable counts ICMP errors quoting the stream's packets.
	unreachable      int
	unreachableFrame int
	hasRTT           bool
	srMid            uint32
	srTime           time.Time
}

type streamKey struct {
	src, dst netip.AddrPort
	ssrc     uint32
}

// streamCacheSize is the number of slots of mediaState.cache: a power of
// two, well above the streams a busy capture point has open at once.
const streamCacheSize = 1024

// slot is the cache slot of a stream key: a hash of the SSRC and the two
// ports, which tell the streams of a capture apart almost always, without
// hashing the whole 68-byte key as the map does for every packet.
func (k *streamKey) slot() int {
	h := k.ssrc ^ uint32(k.src.Port())<<16 ^ uint32(k.dst.Port())
	return int((h * 0x9e3779b1) >> (32 - 10)) // Fibonacci hashing into 2^10 slots
}

// lookup returns the stream of k, or nil. A direct-mapped cache in front
// of the map answers for nearly every RTP packet: the map is asked only
// when the slot holds another stream (or none).
func (ms *mediaState) lookup(k *streamKey) *mediaStream {
	i := k.slot()
	if s := ms.cache[i]; s != nil && s.key == *k {
		return s
	}
	s := ms.streams[*k]
	if s != nil {
		ms.cache[i] = s
	}
	return s
}

// forget drops a stream from the map and the cache.
func (ms *mediaState) forget(s *mediaStream) {
	delete(ms.streams, s.key)
	if i := s.key.slot(); ms.cache[i] == s {
		ms.cache[i] = nil
	}
}

// mediaState is the analyzer's media part.
type mediaState struct {
	streams   map[streamKey]*mediaStream
	cache     [streamCacheSize]*mediaStream // see lookup
	bySSRC    map[uint32]*mediaStream
	endpoints map[netip.AddrPort]*sdpEndpoint
	calls     map[string]*callMedia
	order     int
	t38       int                     // image (T.38) m= lines announced: UDPTL is looked for
	dropped   int                     // packets of streams beyond maxMediaStreams
	packets   int                     // RTP packets seen
	hosts     map[netip.Addr]struct{} // addresses RTP was seen from or to: where the capture sees media
	done      []*MediaStream          // streams of calls already reported and forgotten (OnCall)
	// unclaimed are streams no SDP had announced when they started, by
	// their source and destination: an SDP seen later still claims them.
	unclaimed map[netip.AddrPort][]*mediaStream
}

func (a *Analyzer) mediaInit() *mediaState {
	if a.media == nil {
		a.media = &mediaState{
			streams: map[streamKey]*mediaStream{}, bySSRC: map[uint32]*mediaStream{},
			endpoints: map[netip.AddrPort]*sdpEndpoint{}, calls: map[string]*callMedia{},
			hosts: map[netip.Addr]struct{}{}, unclaimed: map[netip.AddrPort][]*mediaStream{},
		}
	}
	return a.media
}

// EnableMedia says that the input is read with its RTP and RTCP (AddMedia):
// only then are SDP offers and answers followed and each answered call
// given an audio verdict, since without media nothing can be said.
func (a *Analyzer) EnableMedia() { a.mediaInit() }

// AddMedia feeds one RTP or RTCP datagram, in capture order with the SIP
// messages (RFC 3550). Datagrams that are neither are ignored. p is only
// read during the call; it is passed by pointer since a capture that is
// mostly RTP hands on millions of them.
func (a *Analyzer) AddMedia(p *MediaPacket) {
	ms := a.mediaInit()
	if p.Time.After(a.last) {
		a.last = p.Time
	}
	if rtp.IsRTCP(p.Data) {
		if r, err := rtp.ParseRTCP(p.Data); err == nil {
			ms.addRTCP(p, &r)
		}
		return
	}
	// The header and the key are filled in place and passed by pointer:
	// copies of them cost more than the rest of this function.
	var h rtp.Header
	err := rtp.Parse(p.Data, &h)
	var k streamKey
	var s *mediaStream
	if err == nil {
		k.src, k.dst, k.ssrc = unmapAP(p.Src), unmapAP(p.Dst), h.SSRC
		s = ms.lookup(&k)
	}
	// T.38 (UDPTL, ITU-T T.38 §9.1) goes to and from the ports of an
	// image m= line and starts with a sequence number; a packet that
	// continues an RTP stream is still RTP (the switch was refused, or
	// the gateway went on sending audio).
	if ms.t38 > 0 && s == nil {
		ep := ms.endpoints[unmapAP(p.Dst)]
		if ep == nil {
			ep = ms.endpoints[unmapAP(p.Src)]
		}
		if ep != nil && ep.media.Type == "image" {
			if len(p.Data) >= 2 && !p.ICMP {
				ms.addUDPTL(p)
			}
			return
		}
	}
	if err != nil {
		return
	}
	if p.ICMP {
		if s != nil {
			if s.unreachable == 0 {
				s.unreachableFrame = p.Frame
			}
			s.unreachable++
		}
		return
	}
	if s == nil {
		if len(ms.streams) >= maxMediaStreams {
			ms.dropped++
			return
		}
		s = ms.newStream(k, p)
		if len(ms.hosts) < maxMediaEndpoints {
			ms.hosts[k.src.Addr()] = struct{}{}
			ms.hosts[k.dst.Addr()] = struct{}{}
		}
	}
	ms.packets++
	s.lastFrame = p.Frame
	s.st.Add(p.Time, &h, p.Data[h.PayloadOffset:h.PayloadOffset+h.PayloadLen])
}

// udptlPT stands for T.38 in a stream's state: a dynamic payload type no
// SDP maps, so that no jitter is computed from UDPTL's missing timestamps.
const udptlPT = 127

// addUDPTL accounts a T.38 packet: its sequence number (the first two
// bytes) gives packets, loss and gaps like RTP's.
func (ms *mediaState) addUDPTL(p *MediaPacket) {
	k := streamKey{unmapAP(p.Src), unmapAP(p.Dst), 0}
	s := ms.lookup(&k)
	if s == nil {
		if len(ms.streams) >= maxMediaStreams {
			ms.dropped++
			return
		}
		s = ms.newStream(k, p)
		s.t38 = true
		if len(ms.hosts) < maxMediaEndpoints {
			ms.hosts[k.src.Addr()] = struct{}{}
			ms.hosts[k.dst.Addr()] = struct{}{}
		}
	}
	ms.packets++
	s.lastFrame = p.Frame
	s.st.Add(p.Time, &rtp.Header{Seq: binary.BigEndian.Uint16(p.Data), PayloadType: udptlPT, PayloadLen: len(p.Data) - 2}, p.Data[2:])
}

func (ms *mediaState) newStream(k streamKey, p *MediaPacket) *mediaStream {
	ms.order++
	s := &mediaStream{key: k, order: ms.order, file: p.File, firstFrame: p.Frame}
	ep, towards := ms.endpoints[k.dst], true
	if ep == nil {
		ep, towards = ms.endpoints[k.src], false
	}
	if ep != nil {
		ms.claim(s, ep, towards)
	} else if len(ms.unclaimed) < maxMediaEndpoints {
		ms.unclaimed[k.src] = append(ms.unclaimed[k.src], s)
		ms.unclaimed[k.dst] = append(ms.unclaimed[k.dst], s)
	}
	ms.streams[k] = s
	ms.cache[k.slot()] = s
	ms.bySSRC[k.ssrc] = s
	return s
}

// claim gives stream s to the call whose SDP announced ep, as the stream
// towards ep or from it.
func (ms *mediaState) claim(s *mediaStream, ep *sdpEndpoint, towards bool) {
	s.call, s.announced = ep.call, ep
	if towards {
		s.to, s.from = ep.party, otherParty(ep.party)
	} else {
		s.from, s.to = ep.party, otherParty(ep.party)
	}
	// The receiver's rtpmap numbers the payload types (RFC 3264 §5.1);
	// the sender's own list is next best.
	for _, e := range []*sdpEndpoint{ms.latest(ep.call, s.to, ep.media.Type), ms.latest(ep.call, s.from, ep.media.Type)} {
		if e == nil {
			continue
		}
		for _, pl := range e.media.Payloads {
			s.st.MapPayload(uint8(pl.PT), pl.Encoding, pl.ClockRate)
		}
	}
	ep.call.streams = append(ep.call.streams, s)
}

func otherParty(p string) string {
	switch p {
	case "caller":
		return "callee"
	case "callee":
		return "caller"
	}
	return ""
}

// latest returns the last endpoint a party announced for a media type.
func (ms *mediaState) latest(c *callMedia, party, typ string) *sdpEndpoint {
	for i := len(c.endpoints) - 1; i >= 0; i-- {
		if e := c.endpoints[i]; e.party == party && e.media.Type == typ {
			return e
		}
	}
	return nil
}

// addRTCP attaches a compound RTCP packet to the streams it reports on:
// the sender report to the sender's stream (for the round trip), each
// reception report block to the stream it is about (RFC 3550 §6.4).
func (ms *mediaState) addRTCP(p *MediaPacket, r *rtp.RTCP) {
	if r.SR {
		if s := ms.bySSRC[r.SenderSSRC]; s != nil {
			s.srMid, s.srTime = r.NTPMiddle, p.Time
		}
	}
	for i := range r.NBlocks {
		b := r.Blocks[i]
		s := ms.bySSRC[b.SSRC]
		if s == nil {
			continue
		}
		s.rtcp.Reports++
		s.rtcp.FractionLost = round3(float64(b.FractionLost) * 100 / 256)
		s.rtcp.CumulativeLost = int(b.CumulativeLost)
		if rate := s.st.ClockRate; rate > 0 {
			s.rtcp.JitterMS = round3(float64(b.Jitter) * 1000 / float64(rate))
		}
		// RTT = arrival of this report - LSR - DLSR (RFC 3550 §6.4.1),
		// with the capture's own times for the SR and this report.
		if b.LSR != 0 && b.LSR == s.srMid && !s.srTime.IsZero() {
			rtt := p.Time.Sub(s.srTime).Seconds()*1000 - float64(b.DLSR)*1000/65536
			if rtt >= 0 {
				s.rtt, s.hasRTT = rtt, true
			}
		}
	}
	if r.HasXR {
		if s := ms.bySSRC[r.XR.SSRC]; s != nil {
			if r.XR.MOSLQ >= 10 && r.XR.MOSLQ <= 50 {
				v := float64(r.XR.MOSLQ) / 10
				s.rtcp.XRMOS = &v
			}
			l := round3(float64(r.XR.LossRate) * 100 / 256)
			s.rtcp.XRLossPercent = &l
			s.rtcp.Reports++
		}
	}
}

// noteSDP records where the sender of m (a message of call c) receives
// media: every m= line with an address and a port (RFC 3264 §5, §6),
// including re-INVITE and UPDATE changes and early media in 183.
func (a *Analyzer) noteSDP(c *callState, m *Message) {
	ms := a.media
	if ms == nil {
		return
	}
	cm := ms.calls[c.callID]
	if cm == nil {
		cm = &callMedia{callID: c.callID}
		ms.calls[c.callID] = cm
	}
	callerTag := ""
	if len(c.invites) > 0 {
		callerTag = c.invites[0].req.from.Tag
	}
	fromCaller := m.From.Tag == callerTag
	party := "callee"
	if m.Request == fromCaller {
		party = "caller"
	}
	for i := range m.SDP.Media {
		md := &m.SDP.Media[i]
		ip, ok := md.addrIP()
		hold := md.Direction == "sendonly" || md.Direction == "inactive" || (ok && ip.IsUnspecified())
		e := cm.newEndpoint()
		*e = sdpEndpoint{call: cm, party: party, media: md, frame: m.Frame, time: m.Time, sigSrc: unmapAP(m.Src), hold: hold}
		if len(cm.endpoints) < 64 {
			if cm.endpoints == nil {
				// An offer and an answer, audio each: room for both at once.
				cm.endpoints = cm.epPtrs[:0]
			}
			cm.endpoints = append(cm.endpoints, e)
		}
		if !ok || md.Port <= 0 || md.Port > 65535 || ip.IsUnspecified() {
			continue
		}
		if len(ms.endpoints) >= maxMediaEndpoints {
			clear(ms.endpoints)
		}
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(md.Port))
		ms.endpoints[ap] = e
		cm.noteKey(ap)
		if md.Type == "image" {
			ms.t38++
		}
		// Media that began before this SDP was captured (the offer came
		// later, or was lost) belongs to it too, as Wireshark decides.
		if list := ms.unclaimed[ap]; len(list) > 0 {
			for _, st := range list {
				if st.call == nil {
					ms.claim(st, e, st.key.dst == ap)
				}
			}
			delete(ms.unclaimed, ap)
		}
		// RTCP on the next port (RFC 3550 §11) belongs to the same call.
		if md.Port < 65535 {
			rtcp := netip.AddrPortFrom(ip.Unmap(), uint16(md.Port+1))
			ms.endpoints[rtcp] = e
			cm.noteKey(rtcp)
		}
	}
}

// streamOut fills the report's view of a stream from its live state.
func (s *mediaStream) streamOut() *MediaStream {
	o := s.out
	if o == nil {
		o = &MediaStream{}
		s.out = o
	}
	st := &s.st
	*o = MediaStream{
		Number: o.Number, CallID: o.CallID, Direction: o.Direction, Found: "heuristic",
		Src: apText(s.key.src), Dst: apText(s.key.dst), SSRC: st.SSRC, PayloadType: int(st.PayloadType),
		Codec: st.Codec(st.PayloadType), ClockRate: st.ClockRate, Packets: st.Packets, Expected: st.Expected(),
		Lost: st.Lost(), LossPercent: round3(st.LossPercent()), Duplicates: st.Duplicates, OutOfOrder: st.OutOfOrder,
		MaxDeltaMS: round3(st.MaxDeltaMS), MeanDeltaMS: round3(st.MeanDeltaMS),
		MaxJitterMS: round3(st.MaxJitterMS), MeanJitterMS: round3(st.MeanJitterMS),
		Start: st.First.UTC(), End: st.Last.UTC(), DurationMS: st.Duration().Milliseconds(),
		Markers: st.Markers, PTChanges: st.PTChanges, ComfortNoise: st.ComfortNoise, DTMF: st.Digits(), FaxTones: st.FaxTones(),
		Unreachable: s.unreachable, FirstFrame: s.firstFrame, LastFrame: s.lastFrame, BucketMS: st.BucketWidth.Milliseconds(), File: s.file,
	}
	if s.announced != nil {
		o.Found = "sdp"
		o.Announced = s.announced.media.Addr + ":" + strconv.Itoa(s.announced.media.Port)
		o.Secure = s.announced.media.Secure
	}
	rttMS := 0.0
	if s.rtcp.Reports > 0 {
		r := s.rtcp
		if s.hasRTT {
			v := round3(s.rtt)
			r.RTTMS = &v
			rttMS = s.rtt
		}
		o.RTCP = &r
	}
	o.MOS = math.Round(rtp.EstimateMOS(o.Codec, st.LossPercent(), st.MeanJitterMS, rttMS)*100) / 100
	if s.t38 {
		o.Codec, o.PayloadType, o.MOS = "t38", -1, 0 // no speech to score
	}
	n := 0
	for i := range st.Timeline {
		if st.Timeline[i].Packets > 0 || st.Timeline[i].Lost > 0 {
			n = i + 1
		}
	}
	o.Timeline = make([]Bucket, n)
	for i := range n {
		b := st.Timeline[i]
		o.Timeline[i] = Bucket{Packets: b.Packets, Lost: b.Lost, MaxJitterMS: round3(b.MaxJitterMS)}
	}
	return o
}

// reportable says whether a stream is shown: any stream an SDP announced,
// and streams found by their headers alone once they have enough packets
// with sequence numbers that make sense.
func (s *mediaStream) reportable() bool {
	if s.announced != nil {
		return true
	}
	st := &s.st
	if st.Packets < heuristicMinPackets {
		return false
	}
	e := st.Expected()
	return e > 0 && e <= 2*st.Packets && st.OutOfOrder*4 < st.Packets
}

// mediaList returns every reportable stream, numbered in order of their
// first packet, for the report's top-level media array.
func (a *Analyzer) mediaList() []*MediaStream {
	out := []*MediaStream{}
	if a.media == nil {
		return out
	}
	out = append(out, a.media.done...)
	var all []*mediaStream
	for _, s := range a.media.streams {
		if s.reportable() {
			all = append(all, s)
		}
	}
	for _, s := range all {
		o := s.streamOut()
		if s.call != nil {
			o.CallID = s.call.callID
		}
		o.Direction = directionOf(s.from, s.to)
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].FirstFrame < out[j].FirstFrame
	})
	for i, o := range out {
		o.Number = i + 1
	}
	return out
}

func directionOf(from, to string) string {
	switch {
	case from == "caller" && to == "callee":
		return "caller_to_callee"
	case from == "callee" && to == "caller":
		return "callee_to_caller"
	}
	return "unknown"
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
