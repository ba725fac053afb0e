package rtp

import (
	"math"
	"time"
)

// TimelineBuckets is the number of slices a stream's timeline keeps;
// their width doubles as the stream grows, so the state stays fixed.
const TimelineBuckets = 48

// maxPayloads is how many payload type mappings (from SDP a=rtpmap) one
// stream keeps; offers rarely list more.
const maxPayloads = 8

// maxDigits bounds the DTMF digits kept per stream.
const maxDigits = 32

// Bucket is one slice of a stream's timeline.
type Bucket struct {
	Packets     int     // packets received in the slice
	Lost        int     // sequence numbers skipped in the slice
	MaxJitterMS float64 // highest interarrival jitter in the slice
}

// payloadMap is one a=rtpmap entry known for the stream.
type payloadMap struct {
	pt    uint8
	name  string
	rate  int
	event bool
}

// Stream holds the statistics of one RTP stream (one SSRC from one source
// address to one destination address) in a fixed-size state: Add updates
// it per packet, no packet is kept. Times are capture times.
//
// Sequence accounting follows RFC 3550 §A.1 (16-bit numbers extended over
// their wrap-around). Lost is what Wireshark reports: the sequence numbers
// from the first to the last packet minus the packets received, so it is
// negative when duplicates outnumber losses. Jitter is RFC 3550 §A.8,
// J += (|D| - J) / 16, expressed in milliseconds with the clock rate of the
// payload type; packets with the marker bit, comfort noise and packets
// whose timestamp goes back are left out of the maximum and mean, as
// Wireshark does, so that the two tools agree.
type Stream struct {
	SSRC          uint32
	PayloadType   uint8 // of the first packet
	ClockRate     int   // last clock rate used for jitter; 0 when unknown
	Packets       int
	Bytes         int64 // payload bytes
	First, Last   time.Time
	MaxDeltaMS    float64 // longest gap between two packets
	MeanDeltaMS   float64
	MaxJitterMS   float64
	MeanJitterMS  float64
	Duplicates    int // a sequence number received twice
	OutOfOrder    int // a packet older than one already received
	Markers       int // packets with the marker bit (talk spurts, RFC 3551 §4.1)
	PTChanges     int // changes of the voice payload type (CN and events aside)
	ComfortNoise  int // comfort noise packets (RFC 3389)
	EventPackets  int // telephone-event packets (RFC 4733)
	CNGPackets    int // sampled packets carrying the calling fax tone (1100 Hz), see FaxTones
	CEDPackets    int // sampled packets carrying the answering fax tone (2100 Hz)
	BucketWidth   time.Duration
	Timeline      [TimelineBuckets]Bucket
	digits        [maxDigits]byte
	ndigits       int
	payloads      [maxPayloads]payloadMap
	npayloads     int
	started       bool
	startSeq      uint16
	stopSeq       uint16
	seqNum        uint16
	cycles        int
	under         bool
	extTS         int64 // extended timestamp of the last packet
	lastTS        uint32
	seqTS         int64     // extended timestamp of the last in-time packet
	time          time.Time // arrival of the last in-time packet
	jitter        float64
	pt            uint8
	regPT         uint8
	highest       int64 // highest extended sequence number
	window        uint64
	lastEventTS   uint32
	eventSeen     bool
	lastEventCode uint8
	// bucket is the timeline slice of the last packet, which holds the
	// packets from bucketFrom to bucketTo after the first (bucketOf).
	bucket               int
	bucketFrom, bucketTo time.Duration
}

// MapPayload tells the stream what a payload type means (an SDP a=rtpmap,
// RFC 8866 §6.6), so that dynamic types get their clock rate and RFC 4733
// events are recognised. A rate of 0 takes the encoding's usual rate.
func (s *Stream) MapPayload(pt uint8, encoding string, rate int) {
	for i := range s.npayloads {
		if s.payloads[i].pt == pt {
			return
		}
	}
	if s.npayloads == maxPayloads {
		return
	}
	if rate == 0 {
		rate = ClockRate(encoding)
	}
	s.payloads[s.npayloads] = payloadMap{pt: pt, name: encoding, rate: rate, event: IsTelephoneEvent(encoding)}
	s.npayloads++
}

// Codec names the payload type: from MapPayload, else the static table.
func (s *Stream) Codec(pt uint8) string {
	for i := range s.npayloads {
		if s.payloads[i].pt == pt {
			return s.payloads[i].name
		}
	}
	n, _ := StaticCodec(pt)
	return n
}

// rateOf returns the clock rate jitter is computed with, 0 for events and
// unknown dynamic types (their timestamps do not advance with time).
func (s *Stream) rateOf(pt uint8) (rate int, event bool) {
	if pt < 96 {
		_, r := StaticCodec(pt)
		return r, false
	}
	for i := range s.npayloads {
		if p := s.payloads[i]; p.pt == pt {
			if p.event {
				return 0, true
			}
			return p.rate, false
		}
	}
	return 0, false
}

// Add accounts one packet with header h and payload (without padding)
// received at t. Packets must come in capture order. h is only read.
func (s *Stream) Add(t time.Time, h *Header, payload []byte) {
	if !s.started {
		s.start(t, h)
		_, event := s.rateOf(h.PayloadType)
		s.account(t, h, payload, 0, event)
		return
	}
	s.Last = t
	s.extTS += int64(int32(h.Timestamp - s.lastTS))
	s.lastTS = h.Timestamp
	// In time: the timestamp does not go back before the last packet in
	// time (Wireshark's rule).
	inTime := s.seqTS <= s.extTS

	// Sequence cycles and disorder, as Wireshark counts them.
	switch {
	case h.Seq < s.startSeq && inTime && !s.under:
		s.cycles++
		s.under = true
	case h.Seq == 0 && s.stopSeq == 65535 && inTime && !s.under:
		s.cycles++
		s.under = true
	case h.Seq > s.startSeq && inTime && s.under:
		s.under = false
	}
	switch {
	case inTime && s.seqNum+1 == h.Seq, inTime && s.seqNum == 65535 && h.Seq == 0:
		s.seqNum = h.Seq
	case inTime && (int(s.seqNum)+1 < int(h.Seq) || int(s.seqNum)-int(h.Seq) > 0xFF00):
		s.seqNum = h.Seq
	}

	cn := isCN(h.PayloadType)
	followCN := isCN(s.pt)
	s.pt = h.PayloadType
	rate, event := s.rateOf(h.PayloadType)

	// RFC 3550 §A.8: D = (Rj - Ri) - (Sj - Si), here in ms; J += (|D| - J) / 16.
	delta := float64(sub(t, s.time)) / float64(time.Millisecond)
	var jit float64
	if rate != 0 {
		s.ClockRate = rate
		nominal := float64(s.extTS-s.seqTS) / float64(rate/1000)
		diff := math.Abs(delta - nominal)
		jit = (15*s.jitter + diff) / 16
		s.jitter = jit
	}
	if !h.Marker && !cn && inTime && !followCN {
		n := float64(s.Packets - 1) // deltas so far, this one excluded
		if delta > s.MaxDeltaMS {
			s.MaxDeltaMS = delta
		}
		s.MeanDeltaMS = (s.MeanDeltaMS*n + delta) / (n + 1)
		if rate != 0 {
			if s.jitter > s.MaxJitterMS {
				s.MaxJitterMS = s.jitter
			}
			s.MeanJitterMS = (s.MeanJitterMS*n + jit) / (n + 1)
		}
	}
	if !cn {
		if s.pt != s.regPT {
			s.PTChanges++
		}
		s.regPT = s.pt
	}
	// Wireshark 4.0 moves the reference timestamp only for packets with
	// a clock rate: after an RFC 4733 event (whose timestamp stands
	// still) the next voice packet is measured against the last voice
	// timestamp but the event's arrival.
	if inTime {
		s.time = t
		if rate != 0 {
			s.seqTS = s.extTS
		}
	}
	s.stopSeq = h.Seq
	s.account(t, h, payload, rate, event)
}

func (s *Stream) start(t time.Time, h *Header) {
	s.started = true
	s.SSRC, s.PayloadType = h.SSRC, h.PayloadType
	s.First, s.Last, s.time = t, t, t
	s.startSeq, s.stopSeq, s.seqNum = h.Seq, h.Seq, h.Seq
	s.lastTS = h.Timestamp
	s.pt, s.regPT = h.PayloadType, h.PayloadType
	s.highest = int64(h.Seq)
	s.window = 1
	s.BucketWidth = time.Second
}

// account does the counting that is not Wireshark's: duplicates and
// disorder by a 64-packet window (RFC 3550 §A.1 style), DTMF, comfort
// noise and the timeline.
func (s *Stream) account(t time.Time, h *Header, payload []byte, rate int, event bool) {
	first := s.Packets == 0
	s.Packets++
	s.Bytes += int64(len(payload))
	if h.Marker {
		s.Markers++
	}
	lost := 0
	if !first {
		ext := s.highest + int64(int16(h.Seq-uint16(s.highest)))
		switch d := ext - s.highest; {
		case d > 0:
			if d >= 64 {
				s.window = 0
			} else {
				s.window <<= uint(d)
			}
			s.window |= 1
			s.highest = ext
			lost = int(d - 1)
		case -d < 64 && s.window&(1<<uint(-d)) != 0:
			s.Duplicates++
		default:
			s.OutOfOrder++
			if -d < 64 {
				s.window |= 1 << uint(-d)
			}
		}
	}
	s.fax(h.PayloadType, payload)
	switch {
	case isCN(h.PayloadType):
		s.ComfortNoise++
	case event:
		s.EventPackets++
		// A new event has a new timestamp (RFC 4733 §2.5.1.2); its
		// retransmitted end packets share it.
		if len(payload) >= 4 && (!s.eventSeen || h.Timestamp != s.lastEventTS) {
			s.eventSeen, s.lastEventTS, s.lastEventCode = true, h.Timestamp, payload[0]
			if s.ndigits < maxDigits {
				s.digits[s.ndigits] = eventDigit(payload[0])
				s.ndigits++
			}
		}
	}
	since := sub(t, s.First)
	// The bucket of the packet before is asked first: a 64-bit division
	// per packet cost as much as the rest of the timeline.
	idx := s.bucket
	if since < s.bucketFrom || since >= s.bucketTo {
		idx = s.bucketOf(since)
	}
	if idx >= 0 {
		b := &s.Timeline[idx]
		b.Packets++
		b.Lost += lost
		if rate != 0 && s.jitter > b.MaxJitterMS {
			b.MaxJitterMS = s.jitter
		}
	}
}

// bucketOf returns the timeline slice of a packet since after the first,
// halving the timeline's resolution until it fits, and remembers the
// slice's bounds for the packets after it; -1 for a packet before the
// first by a slice or more.
func (s *Stream) bucketOf(since time.Duration) int {
	idx := int(since / s.BucketWidth)
	for idx >= TimelineBuckets {
		for i := range TimelineBuckets / 2 {
			a, b := s.Timeline[2*i], s.Timeline[2*i+1]
			s.Timeline[i] = Bucket{Packets: a.Packets + b.Packets, Lost: a.Lost + b.Lost, MaxJitterMS: max(a.MaxJitterMS, b.MaxJitterMS)}
		}
		clear(s.Timeline[TimelineBuckets/2:])
		s.BucketWidth *= 2
		idx = int(since / s.BucketWidth)
	}
	// Only a slice reached from a time not before the first packet is
	// remembered: below it the division rounds towards zero.
	if since >= 0 {
		s.bucket, s.bucketFrom = idx, time.Duration(idx)*s.BucketWidth
		s.bucketTo = s.bucketFrom + s.BucketWidth
	}
	return idx
}

// sub is t.Sub(u) in a third of its time: Sub checks its result for
// overflow by adding it back, which costs more than the subtraction and
// would be paid twice for every RTP packet. The seconds of two capture
// times are never 292 years apart; when they are, Sub decides.
func sub(t, u time.Time) time.Duration {
	ds := t.Unix() - u.Unix()
	if ds > 1<<32 || ds < -1<<32 {
		return t.Sub(u)
	}
	return time.Duration(ds)*time.Second + time.Duration(t.Nanosecond()-u.Nanosecond())
}

// eventDigit names an RFC 4733 §3.2 DTMF event: 0-9, *, #, A-D; other
// events (flash, tones) are '?'.
func eventDigit(e uint8) byte {
	switch {
	case e <= 9:
		return '0' + e
	case e == 10:
		return '*'
	case e == 11:
		return '#'
	case e <= 15:
		return 'A' + e - 12
	}
	return '?'
}

// Expected is the number of packets the sequence numbers account for,
// from the first packet to the last (RFC 3550 §A.3, as Wireshark counts).
func (s *Stream) Expected() int {
	if s.Packets == 0 {
		return 0
	}
	return int(s.stopSeq) + s.cycles*65536 - int(s.startSeq) + 1
}

// Lost is Expected minus the packets received; negative when more
// packets came than the sequence numbers account for (duplicates).
func (s *Stream) Lost() int { return s.Expected() - s.Packets }

// LossPercent is Lost as a share of Expected, 0 when nothing was lost.
func (s *Stream) LossPercent() float64 {
	e := s.Expected()
	if e <= 0 || s.Lost() <= 0 {
		return 0
	}
	return 100 * float64(s.Lost()) / float64(e)
}

// Digits returns the DTMF digits sent as RFC 4733 events, in order.
func (s *Stream) Digits() string { return string(s.digits[:s.ndigits]) }

// Duration is the time from the first packet to the last.
func (s *Stream) Duration() time.Duration { return s.Last.Sub(s.First) }
