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

// g711 tables: ITU-T G.711 μ-law and A-law to 16-bit linear.
var mulaw, alaw = g711Tables()

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

// toneShare returns how much of the payload's energy lies at freq (0 to 1)
// by the Goertzel algorithm over G.711 samples at 8 kHz; 0 for silence.
func toneShare(payload []byte, alawCoded bool, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, energy float64
	for _, b := range payload {
		x := float64(mulaw[b])
		if alawCoded {
			x = float64(alaw[b])
		}
		energy += x * x
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(payload))
	// A signal quieter than about -45 dBm0 is no tone worth naming.
	if energy < n*100*100 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return power / (energy * n / 2)
}

// fax looks for the fax tones in a G.711 packet of the stream's first
// seconds.
func (s *Stream) fax(pt uint8, payload []byte) {
	if s.Packets > toneFrames || (pt != PayloadPCMU && pt != PayloadPCMA) || len(payload) < 80 {
		return
	}
	a := pt == PayloadPCMA
	if toneShare(payload, a, FreqCNG) > 0.6 {
		s.CNGPackets++
	} else if toneShare(payload, a, FreqCED) > 0.6 {
		s.CEDPackets++
	}
}

// FaxTones names the fax tones found: "cng", "ced", "cng+ced" or "". A
// tone counts once it lasted 0.2 s (10 packets of 20 ms).
func (s *Stream) FaxTones() string {
	cng, ced := s.CNGPackets >= 10, s.CEDPackets >= 10
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
