package rtp

import (
	"math"
	"strings"
)

// Impairment is the equipment impairment factor Ie and the packet-loss
// robustness factor Bpl of a codec (ITU-T G.113 Appendix I), which the
// E-model (ITU-T G.107 §7.5) turns into the effect of loss.
type Impairment struct {
	Ie, Bpl float64
}

// impairments are G.113 Appendix I values; codecs it does not list get the
// G.711 values (an assumption, stated in EstimateMOS).
var impairments = map[string]Impairment{
	"pcmu": {0, 25.1}, "pcma": {0, 25.1}, // G.711 with packet loss concealment
	"g729": {11, 19}, "g723": {15, 16.1}, "gsm": {20, 10}, "ilbc": {11, 32},
	"amr": {5, 10}, "g722": {0, 25.1}, "opus": {0, 25.1}, "speex": {11, 19},
}

// ImpairmentOf returns the G.113 values for an encoding name.
func ImpairmentOf(encoding string) Impairment {
	if i, ok := impairments[strings.ToLower(encoding)]; ok {
		return i
	}
	return impairments["pcmu"]
}

// EstimateMOS estimates the listening quality (MOS-CQE, 1 to 4.5) of a
// stream with the simplified E-model of ITU-T G.107:
//
//	R = 93.2 - Id - Ie,eff          (§7.1, the default Ro - Is = 93.2)
//	Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl)   (§7.5, random loss, BurstR = 1)
//	Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)  (the usual simplification of §7.4)
//
// with Ie and Bpl of the codec from G.113 Appendix I, Ppl the packet loss
// in percent, and d the one-way delay in ms: the packetisation (20 ms),
// a jitter buffer of twice the mean jitter, and half the round trip when
// RTCP gave one. R becomes MOS by G.107 Annex B (B-4).
func EstimateMOS(encoding string, lossPercent, meanJitterMS, rttMS float64) float64 {
	imp := ImpairmentOf(encoding)
	ppl := math.Max(0, lossPercent)
	ieEff := imp.Ie + (95-imp.Ie)*ppl/(ppl+imp.Bpl)
	d := 20 + 2*math.Max(0, meanJitterMS) + math.Max(0, rttMS)/2
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	return MOSFromR(93.2 - id - ieEff)
}

// MOSFromR converts an E-model rating to a MOS (ITU-T G.107 Annex B, B-4).
func MOSFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	// The cubic dips just below 1 for small R; the scale does not.
	return min(4.5, max(1, 1+0.035*r+r*(r-60)*(100-r)*7e-6))
}
