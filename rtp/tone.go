package rtp

import "math"

// Fax tones (ITU-T T.30 §5.2, V.25): the calling fax sends CNG, 1100 Hz,
// and the answering one CED (or ANSam), 2100 Hz. Finding them in G.711
// audio says that a fax went as audio rather than as T.38.
const (
	FreqCNG = 1100.0
	FreqCED = 2100.0
	// toneFrames bounds how many packets of a stream are looked at: the
	// tones come in the first seconds of a fax call, and the check then
	// costs nothing on long calls.
	toneFrames = 1500
)

// Goertzel coefficients 2cos(2πf/8000) of the two tones.
var goertzelCNG, goertzelCED = 2 * math.Cos(2*math.Pi*FreqCNG/8000), 2 * math.Cos(2*math.Pi*FreqCED/8000)

// g711 tables: ITU-T G.711 μ-law and A-law to 16-bit linear.
var mulaw, alaw = g711Tables()

// The squares of the samples of every code, for the energy of a payload.
var mulawSq, alawSq = squares(&mulaw), squares(&alaw)

func squares(t *[256]int16) (sq [256]int64) {
	for i, v := range t {
		sq[i] = int64(v) * int64(v)
	}
	return
}

func g711Tables() (mu, a [256]int16) {
	for i := range 256 {
		// μ-law (G.711 §2): complement, sign, 3-bit exponent, 4-bit mantissa.
		u := ^byte(i)
		t := (int(u&0x0f)<<3 + 0x84) << ((u & 0x70) >> 4)
		if u&0x80 != 0 {
			mu[i] = int16(0x84 - t)
		} else {
			mu[i] = int16(t - 0x84)
		}
		// A-law (G.711 §3): even bits inverted.
		v := byte(i) ^ 0x55
		m := int(v & 0x0f)
		e := int(v&0x70) >> 4
		var s int
		switch e {
		case 0:
			s = m<<4 + 8
		default:
			s = (m<<4 + 0x108) << (e - 1)
		}
		if v&0x80 != 0 {
			a[i] = int16(s)
		} else {
			a[i] = int16(-s)
		}
	}
	return
}

// toneShares returns how much of the payload's energy lies at the CNG
// and at the CED frequency (0 to 1 each), by two Goertzel filters over the
// G.711 samples at 8 kHz in one pass; 0 for near silence.
func toneShares(payload []byte, alawCoded bool) (cng, ced float64) {
	table, sq := &mulaw, &mulawSq
	if alawCoded {
		table, sq = &alaw, &alawSq
	}
	// Quiet payloads, much of a call, are told first from the energy
	// alone, summed in integers: each square is below 2^30 and their sum
	// below 2^53, so it is the float sum below to the last bit.
	var e int64
	for _, v := range payload {
		e += sq[v]
	}
	if float64(e) < float64(len(payload))*100*100 {
		return 0, 0
	}
	c1, c2 := goertzelCNG, goertzelCED
	var a1, a2, b1, b2, energy float64
	for _, v := range payload {
		x := float64(table[v])
		energy += x * x
		a1, a2 = x+c1*a1-a2, a1
		b1, b2 = x+c2*b1-b2, b1
	}
	n := float64(len(payload))
	// A signal quieter than about -45 dBm0 is no tone worth naming.
	if energy < n*100*100 {
		return 0, 0
	}
	norm := energy * n / 2
	return (a1*a1 + a2*a2 - c1*a1*a2) / norm, (b1*b1 + b2*b2 - c2*b1*b2) / norm
}

// fax looks for the fax tones in every fifth G.711 packet of the stream's
// first 30 s: a tone lasts at least half a second (25 packets), so it is
// not missed, and a long call costs nothing.
func (s *Stream) fax(pt uint8, payload []byte) {
	if s.Packets > toneFrames || s.Packets%5 != 0 || (pt != PayloadPCMU && pt != PayloadPCMA) || len(payload) < 80 {
		return
	}
	cng, ced := toneShares(payload, pt == PayloadPCMA)
	switch {
	case cng > 0.6:
		s.CNGPackets++
	case ced > 0.6:
		s.CEDPackets++
	}
}

// FaxTones names the fax tones found: "cng", "ced", "cng+ced" or "". A
// tone counts once it was found in 4 of the packets looked at (0.4 s).
func (s *Stream) FaxTones() string {
	cng, ced := s.CNGPackets >= 4, s.CEDPackets >= 4
	switch {
	case cng && ced:
		return "cng+ced"
	case cng:
		return "cng"
	case ced:
		return "ced"
	}
	return ""
}
