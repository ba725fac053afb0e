package sipmsg

import (
	"bytes"
	"strconv"
	"strings"
)

// MaxSDPMedia bounds the m= sections ParseSDP decodes (RFC 8866 sets no
// limit; real offers carry one to four).
const MaxSDPMedia = 64

// Direction is the media direction attribute (RFC 3264 §5.1, RFC 8866
// §6.7).
type Direction uint8

// Media directions. DirUnset means no direction attribute was present at
// that level; the effective direction is then sendrecv (RFC 3264 §5.1).
const (
	DirUnset Direction = iota
	DirSendRecv
	DirSendOnly
	DirRecvOnly
	DirInactive
)

// String returns the SDP attribute name (RFC 8866 §6.7), "" for DirUnset.
func (d Direction) String() string {
	switch d {
	case DirSendRecv:
		return "sendrecv"
	case DirSendOnly:
		return "sendonly"
	case DirRecvOnly:
		return "recvonly"
	case DirInactive:
		return "inactive"
	}
	return ""
}

func parseDirection(name string) Direction {
	switch name {
	case "sendrecv":
		return DirSendRecv
	case "sendonly":
		return DirSendOnly
	case "recvonly":
		return DirRecvOnly
	case "inactive":
		return DirInactive
	}
	return DirUnset
}

// Origin is the SDP o= line (RFC 8866 §5.2).
type Origin struct {
	Username, SessionID, SessionVersion, NetType, AddrType, Address string
}

// Connection is an SDP c= line (RFC 8866 §5.7). Address keeps any
// "/ttl/count" suffix stripped off into TTL.
type Connection struct {
	NetType, AddrType, Address string
	TTL                        string
}

// RTPMap is one a=rtpmap attribute (RFC 8866 §6.6).
type RTPMap struct {
	Encoding  string
	ClockRate int
	Channels  int // 0 when not given
}

// Attribute is one a= line (RFC 8866 §5.13): Name and the Value after
// the first colon ("" for property attributes).
type Attribute struct {
	Name, Value string
}

// Media is one m= section (RFC 8866 §5.14) with what an analyzer needs.
type Media struct {
	Type       string     // "audio", "video", "image", "application", …
	Port       int        // 0 means the stream is rejected or disabled (RFC 3264 §6)
	NumPorts   int        // from "port/number", 1 by default
	Proto      string     // "RTP/AVP", "RTP/SAVP", "udptl", …
	Formats    []string   // payload types or format names as written
	Connection Connection // media-level c=, zero if absent
	RTPMap     map[int]RTPMap
	Fmtp       map[int]string
	Direction  Direction // media-level direction attribute, DirUnset if absent
	Attributes []Attribute
}

// SDP is a decoded session description (RFC 8866 §5, offer/answer use
// per RFC 3264).
type SDP struct {
	Version     int
	Origin      Origin
	SessionName string
	Connection  Connection // session-level c=, zero if absent
	Direction   Direction  // session-level direction attribute
	Attributes  []Attribute
	Media       []Media
	// Warnings lists lines that could not be decoded; ParseSDP goes on.
	Warnings []Warning
}

// EffectiveConnection returns the media's c= address, falling back to
// the session-level one (RFC 8866 §5.7).
func (s *SDP) EffectiveConnection(i int) Connection {
	if i < 0 || i >= len(s.Media) {
		return Connection{}
	}
	if s.Media[i].Connection.Address != "" {
		return s.Media[i].Connection
	}
	return s.Connection
}

// EffectiveDirection returns the direction of media i: the media-level
// attribute, else the session-level one, else sendrecv (RFC 3264 §5.1).
// A media with port 0 is reported inactive (RFC 3264 §6).
func (s *SDP) EffectiveDirection(i int) Direction {
	if i < 0 || i >= len(s.Media) {
		return DirUnset
	}
	m := &s.Media[i]
	switch {
	case m.Port == 0:
		return DirInactive
	case m.Direction != DirUnset:
		return m.Direction
	case s.Direction != DirUnset:
		return s.Direction
	}
	return DirSendRecv
}

// RTPEndpoint returns where media i expects RTP (RFC 3264 §5): the
// effective connection address and the m= port. A 0.0.0.0 address (RFC
// 3264 §8.4 hold) or port 0 is returned as is for the caller to judge.
func (s *SDP) RTPEndpoint(i int) (addr string, port int) {
	if i < 0 || i >= len(s.Media) {
		return "", 0
	}
	return s.EffectiveConnection(i).Address, s.Media[i].Port
}

// ParseSDP decodes an SDP body (RFC 8866 §5). It is tolerant: lines it
// cannot decode are listed in SDP.Warnings and skipped. It returns a
// *ParseError only when the body is not SDP at all (the first line is
// not "v="). Unlike Parse it allocates: strings, maps and slices.
func ParseSDP(body []byte) (SDP, error) {
	var s SDP
	b := trimLWS(body)
	if !bytes.HasPrefix(b, []byte("v=")) {
		return s, &ParseError{Msg: "SDP does not start with v="}
	}
	var cur *Media
	off := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		lineOff := off
		off += len(line) + 1
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if len(line) < 2 || line[1] != '=' || !isAlpha(line[0]) {
			s.warn("sdp-bad-line", lineOff, "SDP line is not <type>=<value>")
			continue
		}
		val := string(line[2:])
		switch line[0] {
		case 'v':
			n, err := strconv.Atoi(val)
			if err != nil {
				s.warn("sdp-bad-version", lineOff, "v= is not a number")
			}
			s.Version = n
		case 'o':
			f := strings.Fields(val)
			if len(f) != 6 {
				s.warn("sdp-bad-origin", lineOff, "o= does not have 6 fields")
			}
			f = append(f, make([]string, 6)...)
			s.Origin = Origin{f[0], f[1], f[2], f[3], f[4], f[5]}
		case 's':
			s.SessionName = val
		case 'c':
			c, ok := parseConnection(val)
			if !ok {
				s.warn("sdp-bad-connection", lineOff, "c= does not have 3 fields")
			}
			if cur != nil {
				cur.Connection = c
			} else {
				s.Connection = c
			}
		case 'm':
			if len(s.Media) >= MaxSDPMedia {
				s.warn("sdp-too-many-media", lineOff, "more than MaxSDPMedia m= lines; the rest are ignored")
				cur = nil
				b = nil
				continue
			}
			m, ok := parseMediaLine(val)
			if !ok {
				s.warn("sdp-bad-media", lineOff, "m= line malformed")
			}
			s.Media = append(s.Media, m)
			cur = &s.Media[len(s.Media)-1]
		case 'a':
			name, value, _ := strings.Cut(val, ":")
			a := Attribute{Name: name, Value: value}
			if d := parseDirection(name); d != DirUnset {
				if cur != nil {
					cur.Direction = d
				} else {
					s.Direction = d
				}
			}
			if cur == nil {
				s.Attributes = append(s.Attributes, a)
				continue
			}
			cur.Attributes = append(cur.Attributes, a)
			switch name {
			case "rtpmap":
				pt, rm, ok := parseRTPMap(value)
				if !ok {
					s.warn("sdp-bad-rtpmap", lineOff, "a=rtpmap malformed")
					continue
				}
				if cur.RTPMap == nil {
					cur.RTPMap = make(map[int]RTPMap)
				}
				cur.RTPMap[pt] = rm
			case "fmtp":
				ptStr, params, _ := strings.Cut(value, " ")
				pt, err := strconv.Atoi(ptStr)
				if err != nil {
					continue // fmtp for a non-RTP format name
				}
				if cur.Fmtp == nil {
					cur.Fmtp = make(map[int]string)
				}
				cur.Fmtp[pt] = strings.TrimSpace(params)
			}
		}
	}
	// RFC 3551 static payload types need no rtpmap; fill the common ones
	// so an analyzer can name the codec either way.
	for i := range s.Media {
		m := &s.Media[i]
		if !strings.HasPrefix(m.Proto, "RTP/") {
			continue
		}
		for _, f := range m.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil || pt < 0 || pt >= len(staticPayloads) || staticPayloads[pt].Encoding == "" {
				continue
			}
			if _, ok := m.RTPMap[pt]; ok {
				continue
			}
			if m.RTPMap == nil {
				m.RTPMap = make(map[int]RTPMap)
			}
			m.RTPMap[pt] = staticPayloads[pt]
		}
	}
	return s, nil
}

func (s *SDP) warn(code string, off int, msg string) {
	if len(s.Warnings) < maxWarnings {
		s.Warnings = append(s.Warnings, Warning{Code: code, Offset: off, Msg: msg})
	}
}

// staticPayloads are the RFC 3551 §6 static audio and video payload types.
var staticPayloads = [35]RTPMap{
	0:  {"PCMU", 8000, 1},
	3:  {"GSM", 8000, 1},
	4:  {"G723", 8000, 1},
	5:  {"DVI4", 8000, 1},
	6:  {"DVI4", 16000, 1},
	7:  {"LPC", 8000, 1},
	8:  {"PCMA", 8000, 1},
	9:  {"G722", 8000, 1},
	10: {"L16", 44100, 2},
	11: {"L16", 44100, 1},
	12: {"QCELP", 8000, 1},
	13: {"CN", 8000, 1},
	14: {"MPA", 90000, 0},
	15: {"G728", 8000, 1},
	16: {"DVI4", 11025, 1},
	17: {"DVI4", 22050, 1},
	18: {"G729", 8000, 1},
	25: {"CelB", 90000, 0},
	26: {"JPEG", 90000, 0},
	28: {"nv", 90000, 0},
	31: {"H261", 90000, 0},
	32: {"MPV", 90000, 0},
	33: {"MP2T", 90000, 0},
	34: {"H263", 90000, 0},
}

func parseConnection(v string) (Connection, bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		f = append(f, make([]string, 3)...)
		return Connection{NetType: f[0], AddrType: f[1], Address: f[2]}, false
	}
	c := Connection{NetType: f[0], AddrType: f[1], Address: f[2]}
	if i := strings.IndexByte(c.Address, '/'); i >= 0 {
		c.Address, c.TTL = c.Address[:i], c.Address[i+1:]
	}
	return c, true
}

func parseMediaLine(v string) (Media, bool) {
	f := strings.Fields(v)
	m := Media{NumPorts: 1}
	if len(f) < 3 {
		if len(f) > 0 {
			m.Type = f[0]
		}
		return m, false
	}
	m.Type, m.Proto = f[0], f[2]
	port, num, hasNum := strings.Cut(f[1], "/")
	p, err := strconv.Atoi(port)
	ok := err == nil && p >= 0 && p <= 65535
	if ok {
		m.Port = p
	}
	if hasNum {
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			ok = false
		} else {
			m.NumPorts = n
		}
	}
	m.Formats = f[3:]
	return m, ok
}

func parseRTPMap(v string) (int, RTPMap, bool) {
	ptStr, rest, ok := strings.Cut(v, " ")
	if !ok {
		return 0, RTPMap{}, false
	}
	pt, err := strconv.Atoi(ptStr)
	if err != nil || pt < 0 || pt > 127 {
		return 0, RTPMap{}, false
	}
	parts := strings.Split(strings.TrimSpace(rest), "/")
	rm := RTPMap{Encoding: parts[0]}
	if len(parts) > 1 {
		rm.ClockRate, _ = strconv.Atoi(parts[1])
	}
	if len(parts) > 2 {
		rm.Channels, _ = strconv.Atoi(parts[2])
	}
	return pt, rm, rm.Encoding != ""
}
