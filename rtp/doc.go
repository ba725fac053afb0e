// Package rtp decodes RTP and RTCP packets (RFC 3550) and keeps the
// statistics of one RTP stream in a fixed-size state, so that a capture
// that is mostly media is analysed in one pass without keeping a packet.
//
// It imports nothing else of sipcause: package capture hands it the UDP
// payloads that look like media, package analyze ties the streams to calls.
//
// The statistics follow RFC 3550: sequence numbers extended over their
// wrap-around (§A.1), interarrival jitter (§A.8) in milliseconds with the
// codec's clock rate. Packets, lost, maximum delta and jitter are computed
// the way Wireshark's RTP stream analysis computes them, so that both tools
// give the same numbers for the same capture. DTMF events (RFC 4733 §2.3),
// comfort noise (RFC 3389) and RTCP sender and receiver reports (RFC 3550
// §6.4) and extended reports with VoIP metrics (RFC 3611 §4.7) are read
// too. MOS is estimated with the E-model (ITU-T G.107); see EstimateMOS.
//
// Usage:
//
//	var h rtp.Header
//	err := rtp.Parse(udpPayload, &h)
//	if err != nil {
//		return // not RTP
//	}
//	var s rtp.Stream
//	s.Add(captureTime, &h, udpPayload[h.PayloadOffset:])
//	fmt.Println(s.Packets, s.Lost(), s.MaxJitterMS)
package rtp
