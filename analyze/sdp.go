package analyze

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sipcause/sipcause/sipmsg"
)

// sdpOfBody decodes the parts of a session description (RFC 8866 §5) that
// the analyzer uses straight into an *SDP: what sipmsg.ParseSDP followed
// by sdpOf gives (FuzzSDPOfBody holds it to that), without the strings of
// every line, the rtpmap maps and the attribute lists ParseSDP makes for
// its other users. FromSIP decodes two session descriptions per call, so
// at thousands of calls a second this is a good part of its garbage. ok
// is false when the body is not SDP (it does not start with "v=").
//
// Strings come from in: media types, protocols, codec names and
// addresses repeat from call to call.
func sdpOfBody(body []byte, in *Interner) (*SDP, bool) {
	b := bytes.TrimLeft(body, " \t\r\n")
	b = bytes.TrimRight(b, " \t\r\n")
	if !bytes.HasPrefix(b, []byte("v=")) {
		return nil, false
	}
	// The first pass finds the lines that matter, as slices of body.
	type rtpmap struct {
		media int // index of its m= line
		pt    int
		enc   []byte
		clock int
	}
	type media struct {
		typ, proto, formats []byte
		port                int
		addr                []byte // media-level c= address; nil when absent
		dir                 string // media-level direction attribute
		crypto, fingerprint bool
	}
	var mediaBuf [4]media
	var mapBuf [8]rtpmap
	ms := mediaBuf[:0]
	maps := mapBuf[:0] // rtpmap lines of all media, in order
	var sessAddr []byte
	sessDir := ""
	cur := -1
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) < 2 || line[1] != '=' || !isLetter(line[0]) {
			continue
		}
		val := line[2:]
		switch line[0] {
		case 'c':
			addr := connAddr(val)
			if cur >= 0 {
				ms[cur].addr = addr
			} else {
				sessAddr = addr
			}
		case 'm':
			if len(ms) >= maxSDPMedia {
				b = nil // sipmsg.ParseSDP stops here too
				continue
			}
			var md media
			f0, rest := nextField(val)
			f1, rest := nextField(rest)
			f2, rest := nextField(rest)
			md.typ = f0
			if f2 != nil {
				md.proto, md.formats = f2, rest
				port, _, _ := bytes.Cut(f1, []byte("/"))
				if p, ok := atoi(port); ok && p >= 0 && p <= 65535 {
					md.port = p
				}
			}
			ms = append(ms, md)
			cur = len(ms) - 1
		case 'a':
			name, value, _ := bytes.Cut(val, []byte(":"))
			if d := directionName(name); d != "" {
				if cur >= 0 {
					ms[cur].dir = d
				} else {
					sessDir = d
				}
			}
			if cur < 0 {
				continue
			}
			switch string(name) {
			case "crypto":
				ms[cur].crypto = true
			case "fingerprint":
				ms[cur].fingerprint = true
			case "rtpmap":
				ptText, rest, ok := bytes.Cut(value, []byte(" "))
				if !ok {
					continue
				}
				pt, ok := atoi(ptText)
				if !ok || pt < 0 || pt > 127 {
					continue
				}
				rest = bytes.TrimSpace(rest)
				enc, clockText, _ := bytes.Cut(rest, []byte("/"))
				if len(enc) == 0 {
					continue
				}
				clockText, _, _ = bytes.Cut(clockText, []byte("/"))
				clock, _ := atoi(clockText)
				maps = append(maps, rtpmap{media: cur, pt: pt, enc: enc, clock: clock})
			}
		}
	}
	// lookup finds the encoding of a payload type of media i: its last
	// rtpmap for pt, else the RFC 3551 static assignment of an RTP m=
	// line (as ParseSDP fills it in), else none.
	lookup := func(i, pt int) (enc string, clock int, ok bool) {
		for j := len(maps) - 1; j >= 0; j-- {
			if maps[j].media == i && maps[j].pt == pt {
				return in.str(maps[j].enc), maps[j].clock, true
			}
		}
		if bytes.HasPrefix(ms[i].proto, []byte("RTP/")) && pt >= 0 && pt < len(rfc3551Static) && rfc3551Static[pt].enc != "" {
			return rfc3551Static[pt].enc, rfc3551Static[pt].clock, true
		}
		return "", 0, false
	}
	out := &SDP{Addr: in.str(sessAddr)}
	if len(ms) > 0 {
		out.Media = make([]Media, 0, len(ms))
	}
	for i := range ms {
		m := &ms[i]
		md := Media{Type: in.str(m.typ), Port: m.port, Proto: in.str(m.proto), Addr: out.Addr}
		if len(m.addr) > 0 {
			md.Addr = in.str(m.addr)
		}
		switch {
		case m.port == 0:
			md.Direction = "inactive" // RFC 3264 §6: a rejected stream
		case m.dir != "":
			md.Direction = m.dir
		case sessDir != "":
			md.Direction = sessDir
		default:
			md.Direction = "sendrecv"
		}
		n := 0
		for f, rest := nextField(m.formats); f != nil; f, rest = nextField(rest) {
			n++
		}
		if n > 0 {
			md.Codecs = make([]string, 0, n)
		}
		for f, rest := nextField(m.formats); f != nil; f, rest = nextField(rest) {
			pt, isNum := atoi(f)
			var name string
			clock, known := 0, false
			if isNum {
				name, clock, known = lookup(i, pt)
			}
			if !known {
				if n, ok := staticPayload[pt]; isNum && ok {
					name = n
				} else {
					name = in.str(f)
				}
			}
			md.Codecs = append(md.Codecs, name)
			if isNum && pt >= 0 && pt < 128 {
				if md.Payloads == nil {
					md.Payloads = make([]Payload, 0, n)
				}
				md.Payloads = append(md.Payloads, Payload{PT: pt, Encoding: name, ClockRate: clock})
			}
		}
		switch {
		case m.crypto:
			md.Secure = "sdes"
		case m.fingerprint:
			md.Secure = "dtls"
		case strings.Contains(md.Proto, "SAVP"):
			md.Secure = "srtp"
		}
		md.noteIP()
		out.Media = append(out.Media, md)
	}
	return out, true
}

// maxSDPMedia is sipmsg.MaxSDPMedia: the m= lines decoded.
const maxSDPMedia = sipmsg.MaxSDPMedia

// rfc3551Static are the static payload types of RFC 3551 §6 with their
// clock rates, as sipmsg.ParseSDP fills them in for an RTP m= line.
var rfc3551Static = [35]struct {
	enc   string
	clock int
}{
	0: {"PCMU", 8000}, 3: {"GSM", 8000}, 4: {"G723", 8000}, 5: {"DVI4", 8000}, 6: {"DVI4", 16000},
	7: {"LPC", 8000}, 8: {"PCMA", 8000}, 9: {"G722", 8000}, 10: {"L16", 44100}, 11: {"L16", 44100},
	12: {"QCELP", 8000}, 13: {"CN", 8000}, 14: {"MPA", 90000}, 15: {"G728", 8000}, 16: {"DVI4", 11025},
	17: {"DVI4", 22050}, 18: {"G729", 8000}, 25: {"CelB", 90000}, 26: {"JPEG", 90000}, 28: {"nv", 90000},
	31: {"H261", 90000}, 32: {"MPV", 90000}, 33: {"MP2T", 90000}, 34: {"H263", 90000},
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// directionName returns the media direction attribute name (RFC 3264
// §5.1) when name is one, else "".
func directionName(name []byte) string {
	switch string(name) {
	case "sendrecv":
		return "sendrecv"
	case "sendonly":
		return "sendonly"
	case "recvonly":
		return "recvonly"
	case "inactive":
		return "inactive"
	}
	return ""
}

// connAddr is the address of a c= line (RFC 8866 §5.7) as
// sipmsg.ParseSDP reads it: the third of exactly three fields without a
// "/ttl" suffix; with another number of fields the third as it is, or
// nothing.
func connAddr(val []byte) []byte {
	_, rest := nextField(val)
	_, rest = nextField(rest)
	addr, rest := nextField(rest)
	if f, _ := nextField(rest); f != nil || addr == nil {
		return addr
	}
	if i := bytes.IndexByte(addr, '/'); i >= 0 {
		addr = addr[:i]
	}
	return addr
}

// nextField returns the first field of b and what follows it, as
// strings.Fields splits (at Unicode white space); nil when b has none.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) {
		n := spaceAt(b[i:])
		if n == 0 {
			break
		}
		i += n
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && spaceAt(b[j:]) == 0 {
		if b[j] < utf8.RuneSelf {
			j++
		} else {
			_, size := utf8.DecodeRune(b[j:])
			j += size
		}
	}
	return b[i:j], b[j:]
}

// spaceAt returns the length of the white space character b starts with
// (unicode.IsSpace), 0 when it starts with none.
func spaceAt(b []byte) int {
	c := b[0]
	if c < utf8.RuneSelf {
		switch c {
		case '\t', '\n', '\v', '\f', '\r', ' ':
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRune(b)
	if unicode.IsSpace(r) {
		return size
	}
	return 0
}

// atoi is strconv.Atoi on bytes, without allocating: the same value
// (0 for a syntax error, the nearest int for one out of range) and ok
// false where Atoi returns an error.
func atoi(b []byte) (int, bool) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	const cutoff = uint64(1) << (strconv.IntSize - 1) // of an int's range, on this machine
	var n uint64
	over := false
	for _, c := range s {
		if c < '0' || c > '9' {
			if over {
				break // strconv stops at the overflow, before this
			}
			return 0, false
		}
		if over {
			continue
		}
		if n >= (1<<64-1)/10+1 {
			over = true
			continue
		}
		m := n * 10
		n = m + uint64(c-'0')
		if n < m {
			over = true
		}
	}
	switch {
	case !neg && (over || n >= cutoff):
		return math.MaxInt, false
	case neg && (over || n > cutoff):
		return math.MinInt, false
	case neg:
		return int(-n), true
	}
	return int(n), true
}
