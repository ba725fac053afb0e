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

// toneSpan is the number of samples after which both tones return to the
// same phase at 8 kHz: 1100 Hz is 11/80 of the rate and 2100 Hz 21/80, so
// their cosines and sines repeat every 80 samples and fit in tables.
const toneSpan = 80

// The cosines and sines of the two tones over one toneSpan, for the DFT
// bins toneShares takes.
var cosCNG, sinCNG, cosCED, sinCED = toneTables()

func toneTables() (cc, sc, cd, sd [toneSpan]float64) {
	for n := range toneSpan {
		wc, wd := 2*math.Pi*FreqCNG/8000*float64(n), 2*math.Pi*FreqCED/8000*float64(n)
		cc[n], sc[n], cd[n], sd[n] = math.Cos(wc), math.Sin(wc), math.Cos(wd), math.Sin(wd)
	}
	return
}

// g711 tables: ITU-T G.711 μ-law and A-law to 16-bit linear.
var mulaw, alaw = g711Tables()

// The squares of the samples of every code, for the energy of a payload,
// and the samples as floats, for the tone bins.
var (
	mulawSq, alawSq = squares(&mulaw), squares(&alaw)
	mulawF, alawF   = floats(&mulaw), floats(&alaw)
)

func floats(t *[256]int16) (f [256]float64) {
	for i, v := range t {
		f[i] = float64(v)
	}
	return
}

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
// and at the CED frequency (0 to 1 each), from the two DFT bins of the
// G.711 samples at 8 kHz; 0 for near silence. The bins are what a
// Goertzel filter gives, |X(f)|^2, but summed from tables of the tones'
// cosines and sines: the filter's recursion made each sample wait for the
// one before, four times slower on the two tones.
func toneShares(payload []byte, alawCoded bool) (cng, ced float64) {
	lin, sq := &mulawF, &mulawSq
	if alawCoded {
		lin, sq = &alawF, &alawSq
	}
	// Quiet payloads, much of a call, are told first from the energy
	// alone, summed in integers: each square is below 2^30 and their sum
	// below 2^53, so that it is exact.
	var e int64
	for _, v := range payload {
		e += sq[v]
	}
	energy, n := float64(e), float64(len(payload))
	// A signal quieter than about -45 dBm0 is no tone worth naming.
	if energy < n*100*100 {
		return 0, 0
	}
	// Two samples a turn, each into sums of its own, so that no sum waits
	// for the one before it (toneSpan is even: both halves keep to the
	// tables' phase).
	var xc, yc, xd, yd, xc2, yc2, xd2, yd2 float64
	k, i := 0, 0
	for ; i+1 < len(payload); i += 2 {
		x, x2 := lin[payload[i]], lin[payload[i+1]]
		xc += x * cosCNG[k]
		yc += x * sinCNG[k]
		xd += x * cosCED[k]
		yd += x * sinCED[k]
		xc2 += x2 * cosCNG[k+1]
		yc2 += x2 * sinCNG[k+1]
		xd2 += x2 * cosCED[k+1]
		yd2 += x2 * sinCED[k+1]
		if k += 2; k == toneSpan {
			k = 0
		}
	}
	if i < len(payload) {
		x := lin[payload[i]]
		xc += x * cosCNG[k]
		yc += x * sinCNG[k]
		xd += x * cosCED[k]
		yd += x * sinCED[k]
	}
	xc, yc, xd, yd = xc+xc2, yc+yc2, xd+xd2, yd+yd2
	// Parseval: a pure tone of N samples puts N/2 of its energy times N
	// in its bin, hence the share is |X|^2 / (energy N / 2).
	norm := energy * n / 2
	return (xc*xc + yc*yc) / norm, (xd*xd + yd*yd) / norm
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
