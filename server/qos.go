package server

import (
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/rtp"
)

// isQoSType reports the HEP3 payload types (chunk 0x000b) of the RTP
// statistics reports capture agents send: 34 and 35 (RTP, full and
// short), 36 and 37 (RTCP condensed, full and short); see
// rtp.HEPTypeRTPReportFull.
func isQoSType(t uint8) bool {
	return t >= rtp.HEPTypeRTPReportFull && t <= rtp.HEPTypeRTCPReportShort
}

// qos decodes an agent's RTP statistics report (rtp.ParseQoSReport) for
// the call its correlation id (chunk 0x0011) names, or, when the agent
// sent none, the Call-ID the report itself carries (CORRELATION_ID, as
// hepagent's reports do): a report that names no call cannot be attached
// to one. The addresses are the report's own (the stream's), else the
// HEP packet's.
func (d *decoder) qos(p capture.HEPPacket, t, wall time.Time) (inbound, bool) {
	r, err := rtp.ParseQoSReport(p.Payload)
	if err != nil {
		d.c.metrics.malformed.Add(1)
		return inbound{}, false
	}
	id := p.CorrelationID
	if id == "" {
		id = r.CallID
	}
	if id == "" || len(id) > maxCallIDLen {
		d.c.metrics.nonSIP.Add(1)
		return inbound{}, false
	}
	if !r.Src.IsValid() && !r.Dst.IsValid() {
		r.Src, r.Dst = p.Src, p.Dst
	}
	d.c.metrics.qosReports.Add(1)
	return inbound{msg: analyze.Message{CallID: id, Time: t, Src: p.Src, Dst: p.Dst}, wall: wall, qos: &r}, true
}
