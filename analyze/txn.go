package analyze

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// reqInfo is what the analyzer keeps of a request's first transmission.
type reqInfo struct {
	frame       int
	time        time.Time
	src, dst    netip.AddrPort
	transport   string
	vias        []Via
	ruri        string
	from, to    Party
	pai         string
	contact     string
	contactIP   string
	maxForwards int
	expires     int
	sdp         *SDP
	agent       string
	authUser    string
	authNonce   string
	sessionID   string
	xcid, icid  string
	cseq        uint32
}

// respInfo is what the analyzer keeps of a response.
type respInfo struct {
	code       int
	reason     string
	frame      int
	time       time.Time
	src, dst   netip.AddrPort
	toTag      string
	agent      string
	retryAfter int
	minSE      int
	minExpires int
	expires    int
	warnings   []string
	reasons    []string
	contact    string
	received   string // received parameter of the top Via (RFC 3261 §18.2.1)
}

// txn is one transaction as RFC 3261 §17 matches it.
type txn struct {
	key         string
	method      string
	depth       int // number of Via headers of the request: its hop position
	req         reqInfo
	sends       int // transmissions of the request, the first included
	frames      []int
	lastSend    time.Time
	provisional []respInfo
	final       *respInfo
	cancel      *reqInfo // CANCEL for this INVITE
}

func newReq(m Message) reqInfo {
	return reqInfo{
		frame: m.Frame, time: m.Time, src: m.Src, dst: m.Dst, transport: m.Transport, vias: m.Vias,
		ruri: m.RequestURI, from: m.From, to: m.To, pai: m.PAI, contact: m.Contact, contactIP: m.ContactIP,
		maxForwards: m.MaxForwards, expires: m.Expires, sdp: m.SDP,
		agent: m.UserAgent, authUser: m.AuthUser, authNonce: m.AuthNonce,
		sessionID: m.SessionID, xcid: m.XCID, icid: m.ICID, cseq: m.CSeq,
	}
}

func newResp(m Message) respInfo {
	agent := m.Server
	if agent == "" {
		agent = m.UserAgent
	}
	return respInfo{
		code: m.StatusCode, reason: m.Reason, frame: m.Frame, time: m.Time, src: m.Src, dst: m.Dst,
		toTag: m.To.Tag, agent: agent, retryAfter: m.RetryAfter, minSE: m.MinSE, minExpires: m.MinExpires,
		expires: m.Expires, warnings: m.Warnings, reasons: m.Reasons, contact: m.Contact,
		received: received(m),
	}
}

// txnKey returns the transaction key of m: per RFC 3261 §17.2.3 the top
// Via branch, its sent-by and the method (ACK and CANCEL keep their own
// method). A branch without the magic cookie z9hG4bK comes from an RFC 2543
// element, whose transactions are matched on Call-ID, CSeq, From tag and
// the top Via instead.
func txnKey(m Message, method string) string {
	v, _ := m.topVia()
	sentBy := v.Host + ":" + strconv.Itoa(v.Port)
	if strings.HasPrefix(v.Branch, "z9hG4bK") && len(v.Branch) > 7 {
		return v.Branch + "|" + sentBy + "|" + method
	}
	return "2543|" + m.CallID + "|" + strconv.FormatUint(uint64(m.CSeq), 10) + "|" + m.From.Tag + "|" + sentBy + "|" + method
}

// endpoint returns the SIP endpoint a message side stands for: for the
// sender of a request (and the receiver of a response) the top Via sent-by
// when it names the same IP address, so that a TCP connection's ephemeral
// port maps to the listening port; otherwise the packet address.
func viaEndpoint(packet netip.AddrPort, vias []Via) netip.AddrPort {
	if len(vias) == 0 {
		return unmapAP(packet)
	}
	ip, err := netip.ParseAddr(strings.Trim(vias[0].Host, "[]"))
	// A log that does not say where a message came from still has the Via.
	if err != nil || packet.IsValid() && ip.Unmap() != packet.Addr().Unmap() {
		return unmapAP(packet)
	}
	port := vias[0].Port
	if port == 0 {
		port = 5060
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port))
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// msgEndpoints returns the SIP endpoints of sender and receiver.
func msgEndpoints(m Message) (src, dst netip.AddrPort) {
	if m.Request {
		return viaEndpoint(m.Src, m.Vias), unmapAP(m.Dst)
	}
	return unmapAP(m.Src), viaEndpoint(m.Dst, m.Vias)
}

func received(m Message) string {
	if v, ok := m.topVia(); ok {
		return v.Received
	}
	return ""
}

// apText writes an address for people and the report: "?" when the input
// did not say it (a log that names only the other side).
func apText(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "?"
	}
	return ap.String()
}
