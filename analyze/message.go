package analyze

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"time"
)

// Message is one SIP message as the analyzer needs it: where and when it was
// seen, and the fields of RFC 3261 that matter for matching and explaining.
// FromSIP fills it from a parsed message.
type Message struct {
	File      string
	Frame     int
	Time      time.Time
	Src, Dst  netip.AddrPort
	Transport string
	// FromLog is set for a message read from a text log: loggers mask
	// keys, cut binary bodies and change line ends, so its byte counts
	// prove nothing about the network.
	FromLog bool

	Request    bool
	Method     string // requests
	RequestURI string
	StatusCode int    // responses
	Reason     string // the phrase on the wire

	CallID     string
	CSeq       uint32
	CSeqMethod string
	From, To   Party
	PAI        string // P-Asserted-Identity URI (RFC 3325)
	Vias       []Via  // the top Via (FromSIP decodes only that one)
	ViaCount   int    // Via values in the message: the hop position of a request
	Contact    string // the first Contact URI
	ContactIP  string // its host when it is an IP address

	MaxForwards int // -1 when absent
	Expires     int // Expires header or the first Contact's expires parameter; -1 when absent
	RetryAfter  int // -1 when absent
	MinExpires  int // -1 when absent
	MinSE       int // -1 when absent

	Warnings  []string // raw Warning header values
	Reasons   []string // raw Reason header values
	UserAgent string
	Server    string

	AuthUser  string // username in Authorization / Proxy-Authorization
	AuthNonce string // nonce in Authorization / Proxy-Authorization

	SessionID string // Session-ID (RFC 7989), the local uuid
	XCID      string // X-CID / X-Orig-Call-ID style correlation header
	ICID      string // icid-value of P-Charging-Vector (RFC 7315)

	ContentLength int  // declared; -1 when absent
	BodyLen       int  // bytes actually present
	HasSDP        bool // the message carries a session description
	SDP           *SDP // the decoded offer or answer

	ParseWarnings []string // what the tolerant parser found wrong

	// pre is what FromSIPInto worked out for the analyzer on the reading
	// goroutine (see Analyzer.NewInterner); the zero value has nothing.
	pre precomputed
}

// precomputed is what the analyzer would otherwise work out for each
// message on its own goroutine, the busier of the two: the endpoints and
// the retransmission fingerprint, the latter valid only for the analyzer
// whose seed made it.
type precomputed struct {
	src, dst netip.AddrPort // msgEndpoints
	fp       fingerprint
	seed     maphash.Seed
	ok       bool
}

// Party is a From or To header (RFC 3261 §20.20, §20.39).
type Party struct {
	Display string
	URI     string
	User    string
	Host    string
	Tag     string
}

// Via is one Via header value (RFC 3261 §20.42, RFC 3581 rport).
type Via struct {
	Transport string
	Host      string
	Port      int
	Branch    string
	Received  string
	RPort     string
	HasRPort  bool
	// hostIP is Host as an address, worked out once where the Via was
	// decoded (viaEndpoint needs it for every message): valid only when
	// hostIPKnown, and then invalid when Host is a name.
	hostIP      netip.Addr
	hostIPKnown bool
}

// hostAddr returns the Via's host as an IP address (without the brackets
// of an IPv6 reference), if it is one.
func (v *Via) hostAddr() (netip.Addr, bool) {
	if v.hostIPKnown {
		return v.hostIP, v.hostIP.IsValid()
	}
	ip, err := netip.ParseAddr(strings.Trim(v.Host, "[]"))
	return ip, err == nil
}

// SDP is the part of a session description (RFC 4566) the analyzer uses.
type SDP struct {
	Addr  string // session-level c= address
	Media []Media
}

// Media is one m= line with its codecs.
type Media struct {
	Type      string   // audio, video, image
	Port      int      // 0 = rejected stream
	Proto     string   // RTP/AVP, RTP/SAVP, udptl
	Addr      string   // media-level c= address, or the session one
	Codecs    []string // encoding names, e.g. PCMU, PCMA, G722, telephone-event, t38
	Direction string   // sendrecv, sendonly, recvonly, inactive
	// Payloads maps the payload types of an RTP m= line to their
	// encodings and clock rates (a=rtpmap, RFC 8866 §6.6; static types
	// from RFC 3551 §6), for the media analysis.
	Payloads []Payload
	// Secure is "sdes" for a=crypto (RFC 4568), "dtls" for a=fingerprint
	// (RFC 5763), "" for plain RTP.
	Secure string
	// ip is Addr as an IP address, decoded once (see noteIP): the media
	// analysis asks for it with every offer and answer, and a PBX or SIPp
	// sends the same decoded SDP call after call.
	ip    netip.Addr
	ipSet bool
}

// noteIP decodes Addr once, for addrIP.
func (md *Media) noteIP() {
	md.ip, md.ipSet = netip.Addr{}, true
	if ip, err := netip.ParseAddr(md.Addr); err == nil {
		md.ip = ip
	}
}

// addrIP returns Addr as an IP address, if it is one.
func (md *Media) addrIP() (netip.Addr, bool) {
	if md.ipSet {
		return md.ip, md.ip.IsValid()
	}
	ip, err := netip.ParseAddr(md.Addr)
	return ip, err == nil
}

// Payload is one payload type of an m= line.
type Payload struct {
	PT        int
	Encoding  string
	ClockRate int
}

func (m *Message) topVia() (Via, bool) {
	if len(m.Vias) == 0 {
		return Via{}, false
	}
	return m.Vias[0], true
}

// hops returns the number of Via values: a proxy adds one, so a request
// further along the path has more.
func (m *Message) hops() int { return max(m.ViaCount, len(m.Vias)) }
