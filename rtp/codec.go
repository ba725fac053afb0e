package rtp

import "strings"

// Payload types with a fixed meaning (RFC 3551 §6 table 4 and 5, RFC 3389
// §5 for comfort noise).
const (
	PayloadPCMU  = 0
	PayloadGSM   = 3
	PayloadG723  = 4
	PayloadPCMA  = 8
	PayloadG722  = 9
	PayloadCN    = 13
	PayloadG729  = 18
	PayloadCNOld = 19 // reserved; older equipment sent comfort noise with it
)

type staticPT struct {
	name string
	rate int
}

// static lists the payload types RFC 3551 §6 assigns, with their RTP clock
// rates (G.722 keeps 8000 Hz for historical reasons, §4.5.2).
var static = [35]staticPT{
	0: {"PCMU", 8000}, 1: {"1016", 8000}, 2: {"G721", 8000}, 3: {"GSM", 8000}, 4: {"G723", 8000},
	5: {"DVI4", 8000}, 6: {"DVI4", 16000}, 7: {"LPC", 8000}, 8: {"PCMA", 8000}, 9: {"G722", 8000},
	10: {"L16", 44100}, 11: {"L16", 44100}, 12: {"QCELP", 8000}, 13: {"CN", 8000}, 14: {"MPA", 90000},
	15: {"G728", 8000}, 16: {"DVI4", 11025}, 17: {"DVI4", 22050}, 18: {"G729", 8000}, 19: {"CN", 8000},
	25: {"CelB", 90000}, 26: {"JPEG", 90000}, 28: {"nv", 90000}, 31: {"H261", 90000},
	32: {"MPV", 90000}, 33: {"MP2T", 90000}, 34: {"H263", 90000},
}

// StaticCodec returns the encoding name and clock rate of a static payload
// type (RFC 3551 §6), or "" and 0 for a dynamic or unassigned one.
func StaticCodec(pt uint8) (name string, rate int) {
	if int(pt) < len(static) {
		return static[pt].name, static[pt].rate
	}
	return "", 0
}

// dynamicRates are the clock rates of encodings that have no static
// payload type, from their RTP payload format RFCs, for an a=rtpmap that
// leaves the rate out.
var dynamicRates = map[string]int{
	"amr": 8000, "amr-wb": 16000, "evrc": 8000, "evs": 16000, "g7221": 16000, "g726-16": 8000,
	"g726-24": 8000, "g726-32": 8000, "g726-40": 8000, "g729d": 8000, "g729e": 8000, "gsm-efr": 8000,
	"h263-1998": 90000, "h263-2000": 90000, "h264": 90000, "ilbc": 8000, "opus": 48000, "speex": 8000,
	"telephone-event": 8000, "vp8": 90000, "red": 1000, "t140": 1000,
}

// ClockRate returns the RTP clock rate of an encoding name, for an rtpmap
// without one; 0 when unknown.
func ClockRate(encoding string) int {
	return dynamicRates[strings.ToLower(encoding)]
}

// IsTelephoneEvent reports the RFC 4733 §7.1.1 media subtype.
func IsTelephoneEvent(encoding string) bool {
	return strings.EqualFold(encoding, "telephone-event")
}

// IsComfortNoise reports the RFC 3389 encoding or its payload types.
func IsComfortNoise(pt uint8, encoding string) bool {
	return pt == PayloadCN || pt == PayloadCNOld || strings.EqualFold(encoding, "CN")
}

// isCN is IsComfortNoise for a payload type alone (the static CN types of
// RFC 3389 §4 and RFC 1890), without the name comparison: Stream.Add asks
// it for every packet.
func isCN(pt uint8) bool { return pt == PayloadCN || pt == PayloadCNOld }
