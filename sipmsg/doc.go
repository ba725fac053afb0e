// Package sipmsg is the tolerant SIP message parser the rest of sipcause
// builds on (RFC 3261 §7, §20, §25).
//
// It is written for a passive analyzer: it must read whatever crossed the
// wire. Parse keeps going on malformed input and records what was wrong
// in Message.Warnings; only bytes without a recognizable start line are
// rejected, with a *ParseError. Whether a message is acceptable to a
// strict element is a separate question, answered by Message.Strict,
// which catches every invalid message of the RFC 4475 torture tests.
//
// Parse decodes in place: every []byte in a Message is a slice of the
// caller's buffer (folded header lines are joined by overwriting their
// CRLF with spaces), and a reused Message does not allocate. Sizes are
// capped (MaxMessageSize, MaxHeaders, MaxParts, MaxSDPMedia) so hostile
// input costs no more than a large honest message.
//
// Usage:
//
//	var m sipmsg.Message
//	if err := sipmsg.Parse(payload, &m); err != nil {
//		return err // not SIP at all
//	}
//	num, method, _ := m.CSeq()
//	fmt.Printf("%s %s cseq=%d %s\n", m.Method, m.CallID(), num, method)
//	if sdp, ok := m.SDP(); ok {
//		addr, port := sdp.RTPEndpoint(0)
//		fmt.Println("RTP to", addr, port)
//	}
//	for _, w := range m.Warnings {
//		fmt.Println("warning:", w.Code, w.Msg)
//	}
//
// On a stream transport, cut messages with SkipKeepAlive and FrameLen
// (RFC 3261 §18.3) before calling Parse.
package sipmsg
