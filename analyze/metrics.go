package analyze

import (
	"math"
	"sort"
	"strconv"
)

// metricAcc accumulates the RFC 6076 metrics as calls and registrations
// are reported, overall and per remote peer, so that no call needs to be
// kept. A session attempt is one call: the retries after a 401/407
// challenge belong to the same attempt, as RFC 6076 §5.3 counts
// authentication inside the measured intervals. Calls whose outcome the
// capture does not show (incomplete) and a B2BUA's second leg are left out.
type metricAcc struct {
	overall *acc
	peers   map[string]*acc
}

type acc struct {
	attempts, redirected, ok, effective, ineffective, completed int
	srd, srdFail, sdd, sdt, rrd                                 samples
	regs, regFail                                               int
}

// samples keeps the values of one delay metric for its distribution, at
// most maxSamples of them: past that it keeps every second value, then
// every fourth, and so on (a systematic sample, so the result stays
// deterministic). A collector running for months adds a value per call;
// unbounded, that was 22 MB per million calls.
type samples struct {
	vals []float64
	step int // keep one value in step
	seen int
}

const maxSamples = 1 << 15

func (s *samples) add(v float64) {
	if s.step == 0 {
		s.step = 1
	}
	s.seen++
	if s.seen%s.step != 0 {
		return
	}
	if len(s.vals) >= maxSamples {
		n := 0
		for i := 1; i < len(s.vals); i += 2 {
			s.vals[n] = s.vals[i]
			n++
		}
		s.vals = s.vals[:n]
		s.step *= 2
		if s.seen%s.step != 0 {
			return
		}
	}
	s.vals = append(s.vals, v)
}

// dist is the distribution of the values kept, counting all seen.
func (s *samples) dist() Distribution {
	d := distribution(s.vals)
	if d.Count > 0 {
		d.Count = s.seen
	}
	return d
}

func newMetricAcc() metricAcc { return metricAcc{overall: &acc{}, peers: map[string]*acc{}} }

func (m *metricAcc) peer(name string) *acc {
	p := m.peers[name]
	if p == nil {
		if len(m.peers) >= 10000 {
			name = "other"
			if p = m.peers[name]; p != nil {
				return p
			}
		}
		p = &acc{}
		m.peers[name] = p
	}
	return p
}

func (m *metricAcc) addCall(c *Call, cs *callState) {
	if c.Outcome == OutcomeIncomplete || c.LegOf != "" {
		return
	}
	name := c.Dst
	if c.Direction == "incoming" {
		name = c.Src
	}
	var sdd []float64
	for _, b := range cs.byes {
		if b.final != nil && b.final.code < 300 {
			sdd = append(sdd, ms(b.final.time.Sub(b.req.time)))
		}
	}
	for _, x := range []*acc{m.overall, m.peer(name)} {
		x.attempts++
		code := c.FinalStatus
		switch {
		case code >= 300 && code < 400:
			x.redirected++
		case code >= 200 && code < 300:
			x.ok++
			x.effective++
		case code == 480 || code == 486 || code == 600 || code == 603:
			x.effective++
		}
		if code == 408 || code == 500 || code == 503 || code == 504 || c.Outcome == OutcomeTimeout {
			x.ineffective++
		}
		if code >= 200 && code < 300 {
			x.completed++
		}
		// SRD (§4.3): to the first non-100 provisional, else the final.
		switch {
		case c.Times.Ringing != nil && code >= 200 && code < 300:
			x.srd.add(ms(c.Times.Ringing.Sub(c.Times.Invite)))
		case code >= 200 && code < 300 && c.Times.Final != nil:
			x.srd.add(ms(c.Times.Final.Sub(c.Times.Invite)))
		case code >= 400 && code != 401 && code != 402 && code != 407 && c.Times.Final != nil:
			at := *c.Times.Final
			if c.Times.Ringing != nil {
				at = *c.Times.Ringing
			}
			x.srdFail.add(ms(at.Sub(c.Times.Invite)))
		}
		if c.DurationMS > 0 {
			x.sdt.add(float64(c.DurationMS))
		}
		for _, v := range sdd {
			x.sdd.add(v)
		}
	}
}

// addRegister counts a registration for RRD (§4.1) and IRA (§4.2).
func (m *metricAcc) addRegister(r *Register) {
	if r.Outcome == RegIncomplete {
		return
	}
	for _, x := range []*acc{m.overall, m.peer(r.Dst)} {
		x.regs++
		switch r.Outcome {
		case RegRegistered, RegUnregistered:
			x.rrd.add(ms(r.End.Sub(r.Start)))
		default:
			x.regFail++
		}
	}
}

func (m *metricAcc) result() Metrics {
	set := func(x *acc) MetricSet {
		den := x.attempts - x.redirected
		return MetricSet{
			Attempts: x.attempts, Registers: x.regs,
			SER: ratio(x.ok, den), SEER: ratio(x.effective, den), ISA: ratio(x.ineffective, x.attempts),
			SCR: ratio(x.completed, x.attempts), IRA: ratio(x.regFail, x.regs),
			SRD: x.srd.dist(), SRDFailed: x.srdFail.dist(), SDD: x.sdd.dist(),
			SDT: x.sdt.dist(), RRD: x.rrd.dist(),
		}
	}
	out := Metrics{Overall: set(m.overall), PerPeer: map[string]MetricSet{}}
	for name, p := range m.peers {
		out.PerPeer[name] = set(p)
	}
	return out
}

func ms(d interface{ Milliseconds() int64 }) float64 {
	type micro interface{ Microseconds() int64 }
	if m, ok := d.(micro); ok {
		return float64(m.Microseconds()) / 1000
	}
	return float64(d.Milliseconds())
}

func ratio(n, d int) *float64 {
	if d <= 0 {
		return nil
	}
	v := math.Round(float64(n)*10000/float64(d)) / 100
	return &v
}

// distribution returns min, median, 95th percentile (nearest rank), max and
// mean of xs.
func distribution(xs []float64) Distribution {
	if len(xs) == 0 {
		return Distribution{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	var sum float64
	for _, x := range s {
		sum += x
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	r3 := func(x float64) float64 { return math.Round(x*1000) / 1000 }
	return Distribution{Count: len(s), Min: r3(s[0]), Median: r3(med), P95: r3(rank(0.95)), Max: r3(s[len(s)-1]), Mean: r3(sum / float64(len(s)))}
}

// inputFindings are about the whole input: capture gaps and encrypted SIP.
func (a *Analyzer) inputFindings() []Finding {
	t := a.text
	var out []Finding
	i := a.integrity
	var parts []Part
	if i.Truncated > 0 {
		parts = append(parts, phrase("gap-truncated", "n", strconv.Itoa(i.Truncated)))
	}
	if i.FragmentsIncomplete > 0 {
		parts = append(parts, phrase("gap-fragments", "n", strconv.Itoa(i.FragmentsIncomplete)))
	}
	if i.TCPGaps > 0 {
		parts = append(parts, phrase("gap-tcp", "n", strconv.Itoa(i.TCPGaps)))
	}
	if len(parts) > 0 {
		out = append(out, t.findingWith("capture-gap", nil, one("what", parts...)))
	}
	if i.EncryptedSIP > 0 {
		out = append(out, t.finding("encrypted-sip", vars{"count": strconv.Itoa(i.EncryptedSIP)}))
	}
	for j := range out {
		out[j].Frames = []int{}
	}
	return out
}
