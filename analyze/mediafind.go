package analyze

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/rtp"
)

// Thresholds above which a direction's media is reported as hurting the
// call. ITU-T G.1020 and G.113 put the limits of good speech around 1-3 %
// random loss, and 40 ms of jitter overruns a typical phone's jitter
// buffer. Long gaps alone are no fault: a phone with voice activity
// detection sends nothing while its user is silent.
const (
	lossWarnPercent   = 2.0
	jitterWarnMS      = 40.0
	stoppedBefore     = 5 * time.Second // a direction that ends this long before the call did stopped halfway
	afterByeTolerance = time.Second     // packets in flight when the BYE was sent
)

// Audio is a call's media verdict, as data: the report package says it in
// words ("Audio: both directions, MOS 4.4"); the worst direction's figures
// are there for spreadsheets.
type Audio struct {
	// Verdict is both, one_way, none, hold, t38 (a fax call that switched
	// to T.38), early (media before an answer that never came), not_seen
	// (the capture holds RTP of other hosts only) or not_captured (no RTP
	// in the input at all).
	Verdict string `json:"verdict"`
	// Direction is the direction that flowed for one_way and early:
	// caller_to_callee or callee_to_caller.
	Direction string `json:"direction,omitempty"`
	// MOS is the lowest estimate of the directions that flowed.
	MOS *float64 `json:"mos,omitempty"`
	// WorstMOS, WorstLossPercent and WorstJitterMS are of the direction
	// with the lowest MOS; nil when no stream was seen.
	WorstMOS         *float64 `json:"worst_mos,omitempty"`
	WorstLossPercent *float64 `json:"worst_loss_percent,omitempty"`
	WorstJitterMS    *float64 `json:"worst_max_jitter_ms,omitempty"`
	WorstDirection   string   `json:"worst_direction,omitempty"`
}

// dirPair holds the two directions of a call's audio, caller to callee
// first.
type dirPair [2]dirStats

// get returns the direction of that name, or nil.
func (p *dirPair) get(name string) *dirStats {
	for i := range p {
		if p[i].name == name {
			return &p[i]
		}
	}
	return nil
}

// dirStats sums the streams of one direction of a call.
type dirStats struct {
	name        string // caller_to_callee, callee_to_caller
	from, to    string // parties
	streams     []*mediaStream
	packets     int
	expected    int
	lost        int
	maxJitter   float64
	maxDelta    float64
	meanJitter  float64 // packet-weighted
	mos         float64
	first, last time.Time
	nums        []int
}

// minAudioPackets is how many packets a direction needs to count as audio
// flowing: a lone packet or two (a NAT opener, a stray frame) is no speech.
const minAudioPackets = 5

func (d *dirStats) seen() bool { return d.packets >= minAudioPackets }

func (d *dirStats) lossPercent() float64 {
	if d.expected <= 0 || d.lost <= 0 {
		return 0
	}
	return 100 * float64(d.lost) / float64(d.expected)
}

// attachMedia gives a reported call its streams, its audio verdict and
// the media findings, with whose side each is on.
func (a *Analyzer) attachMedia(c *callState, call *Call, rm roleMap) {
	if a.media == nil {
		return
	}
	ms := a.media
	cm := ms.calls[c.callID]
	if cm == nil {
		return
	}
	cm.attached = true
	if a.opt.OnCall != nil {
		// Deferred: the call is forgotten on every way out, also when it
		// was never answered and had no media (before, such calls stayed
		// with their SDP until the end: at thousands of failed calls a
		// second, memory grew with the input).
		defer a.forgetCallMedia(cm, call)
	}
	t := a.text
	// The streams, in order of their first packet.
	var streams []*mediaStream
	for _, s := range cm.streams {
		if s.reportable() {
			streams = append(streams, s)
		}
	}
	answered := call.Outcome == OutcomeAnswered && call.Times.Answer != nil
	if len(streams) == 0 && !answered {
		return // a call that was never answered and had no media
	}
	dirs := dirPair{
		{name: "caller_to_callee", from: "caller", to: "callee"},
		{name: "callee_to_caller", from: "callee", to: "caller"},
	}
	for i, s := range streams {
		o := *s.streamOut()
		o.Number = i + 1
		o.CallID = c.callID
		o.Direction = directionOf(s.from, s.to)
		call.Media = append(call.Media, &o)
		d := dirs.get(o.Direction)
		if d == nil || s.t38 {
			continue // T.38 is fax, not audio
		}
		st := &s.st
		d.streams = append(d.streams, s)
		d.nums = append(d.nums, o.Number)
		if d.packets == 0 || st.First.Before(d.first) {
			d.first = st.First
		}
		if st.Last.After(d.last) {
			d.last = st.Last
		}
		d.meanJitter = (d.meanJitter*float64(d.packets) + st.MeanJitterMS*float64(st.Packets)) / float64(d.packets+st.Packets)
		d.packets += st.Packets
		d.expected += st.Expected()
		d.lost += st.Lost()
		d.maxJitter = math.Max(d.maxJitter, st.MaxJitterMS)
		d.maxDelta = math.Max(d.maxDelta, st.MaxDeltaMS)
	}
	for _, d := range []*dirStats{&dirs[0], &dirs[1]} {
		if d.seen() {
			codec := ""
			if len(d.streams) > 0 {
				codec = d.streams[0].st.Codec(d.streams[0].st.PayloadType)
			}
			rtt := 0.0
			for _, s := range d.streams {
				if s.hasRTT {
					rtt = s.rtt
				}
			}
			d.mos = math.Round(rtp.EstimateMOS(codec, d.lossPercent(), d.meanJitter, rtt)*10) / 10
		}
	}
	up, down := &dirs[0], &dirs[1]

	// Who is the user's side: the direction of the call says it.
	localParty := map[string]bool{}
	switch call.Direction {
	case "outgoing":
		localParty["caller"] = true
	case "incoming":
		localParty["callee"] = true
	case "internal":
		localParty["caller"], localParty["callee"] = true, true
	}
	partyWord := func(p string) Part {
		if p == "caller" {
			return phrase("media-party-caller")
		}
		return phrase("media-party-callee")
	}
	dirWords := func(d *dirStats) Part {
		if d.from == "caller" {
			return phrase("media-dir-caller-callee")
		}
		return phrase("media-dir-callee-caller")
	}
	announced := func(party string) *sdpEndpoint {
		for i := len(cm.endpoints) - 1; i >= 0; i-- {
			e := cm.endpoints[i]
			if e.party == party && e.media.Type == "audio" && e.media.Port > 0 {
				return e
			}
		}
		return nil
	}
	epText := func(e *sdpEndpoint) string {
		if e == nil {
			return "?"
		}
		return e.media.Addr + ":" + strconv.Itoa(e.media.Port)
	}
	behindNAT := func(party string) bool {
		for _, e := range cm.endpoints {
			ip, ok := e.media.addrIP()
			if e.party == party && ok && isPrivate(ip) && !isPrivate(e.sigSrc.Addr()) {
				return true
			}
		}
		return false
	}
	sdpFrames := func() []int {
		var fr []int
		for _, e := range cm.endpoints {
			fr = append(fr, e.frame)
		}
		return fr
	}
	streamNums := func(d *dirStats) string {
		var b []string
		for _, n := range d.nums {
			b = append(b, strconv.Itoa(n))
		}
		return strings.Join(b, ", ")
	}
	streamFrames := func(d *dirStats) []int {
		var fr []int
		for _, s := range d.streams {
			fr = append(fr, s.firstFrame, s.lastFrame)
		}
		return fr
	}
	// missingFault: where the cause lies when nothing flows from one
	// party to the other although both agreed on media (RFC 3264).
	missingFault := func(from, to string) catalog.Fault {
		switch {
		case localParty[from]:
			return catalog.FaultLocal // your phone sent nothing, or your firewall kept it in
		case localParty[to] && behindNAT(to):
			return catalog.FaultLocal // your router does not let it back in to the phone
		case localParty[to]:
			return catalog.FaultRemote
		}
		return catalog.FaultNetwork
	}
	var findings []Finding
	// finding records a media finding: words are parts (phrases), the
	// rest values.
	finding := func(id string, fault catalog.Fault, v map[string]any, frames ...int) {
		vals, parts := vars{}, map[string][]Part{}
		for k, x := range v {
			switch x := x.(type) {
			case string:
				vals[k] = x
			case Part:
				parts[k] = []Part{x}
			}
		}
		frames = slices.Clone(frames)
		slices.Sort(frames)
		f := t.findingWith(id, vals, parts, frames...)
		f.Fault = string(fault)
		findings = append(findings, f)
	}
	num1 := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

	hold := false
	for _, e := range cm.endpoints {
		if e.hold {
			hold = true
		}
	}
	// The capture sees this call's media only where it saw RTP of both
	// hosts the SDP named (for this call or another): a capture taken
	// elsewhere says nothing about the audio.
	sees := func(party string) bool {
		e := announced(party)
		if e == nil {
			return false
		}
		ip, isIP := e.media.addrIP()
		_, ok := ms.hosts[ip.Unmap()]
		return isIP && ok
	}
	anyMedia := ms.packets > 0 && (up.seen() || down.seen() || sees("caller") && sees("callee"))
	audio := &Audio{}
	switch {
	case !answered && !up.seen() && !down.seen():
		return // a call that was never answered and had no media
	case !up.seen() && !down.seen() && t38Agreed(cm):
		audio.Verdict = "t38" // a fax call: T.38 instead of audio
	case !anyMedia && ms.packets > 0:
		audio.Verdict = "not_seen"
	case !anyMedia:
		audio.Verdict = "not_captured"
	case !answered:
		audio.Verdict = "early"
		if !up.seen() || !down.seen() {
			audio.Direction = map[bool]string{true: up.name, false: down.name}[up.seen()]
		}
	case !up.seen() && !down.seen():
		audio.Verdict = "none"
		if hold {
			audio.Verdict = "hold"
			finding("media-hold", catalog.FaultNone, nil, sdpFrames()...)
			break
		}
		fault := missingFault("caller", "callee")
		if f2 := missingFault("callee", "caller"); f2 != fault {
			fault = catalog.FaultNetwork
		}
		finding("media-none", fault, map[string]any{"caller": epText(announced("caller")), "callee": epText(announced("callee"))}, sdpFrames()...)
	case up.seen() != down.seen():
		seen, miss := up, down
		if !up.seen() {
			seen, miss = down, up
		}
		audio.Verdict, audio.Direction = "one_way", seen.name
		if hold {
			audio.Verdict = "hold"
			finding("media-hold", catalog.FaultNone, nil, sdpFrames()...)
			break
		}
		s0 := seen.streams[0]
		v := map[string]any{
			"sent": dirWords(seen), "missing": dirWords(miss), "src": apText(s0.key.src), "dst": apText(s0.key.dst),
			"expected": epText(announced(miss.to)), "from": epText(announced(miss.from)), "n": streamNums(seen),
			"count": strconv.Itoa(seen.packets), "few": "",
		}
		if miss.packets > 0 {
			v["few"] = phrase("media-only-packets", "n", strconv.Itoa(miss.packets))
		}
		finding("media-one-way", missingFault(miss.from, miss.to), v, append(sdpFrames(), streamFrames(seen)...)...)
	default:
		audio.Verdict = "both"
		if hold {
			finding("media-hold", catalog.FaultNone, nil, sdpFrames()...)
		}
	}

	// The lowest MOS, and the worst direction for the CSV columns.
	var worst *dirStats
	for _, d := range []*dirStats{up, down} {
		if d.seen() && (worst == nil || d.mos < worst.mos) {
			worst = d
		}
	}
	if worst != nil {
		m, l, j := worst.mos, round3(worst.lossPercent()), round3(worst.maxJitter)
		audio.MOS = &m
		audio.WorstMOS, audio.WorstLossPercent, audio.WorstJitterMS, audio.WorstDirection = &m, &l, &j, worst.name
	}

	byeAt := time.Time{}
	if call.Times.End != nil {
		byeAt = *call.Times.End
	}
	for _, d := range []*dirStats{up, down} {
		if !d.seen() {
			continue
		}
		other := dirs.get(directionOf(d.to, d.from))
		// Stopped halfway: the other direction went on, this one ended
		// long before the call did.
		if answered && other.seen() && !byeAt.IsZero() && byeAt.Sub(d.last) > stoppedBefore && other.last.Sub(d.last) > stoppedBefore && !hold {
			finding("media-stopped", missingFault(d.from, d.to), map[string]any{
				"dir": dirWords(d), "secs": secs(byeAt.Sub(d.last)), "n": streamNums(d),
				"at": d.last.UTC().Format("15:04:05.000"),
			}, streamFrames(d)...)
		}
		// Loss and jitter, per direction: the loss a capture shows
		// happened before the capture point, on the sender's part of the
		// path.
		if loss := d.lossPercent(); loss >= lossWarnPercent || d.maxJitter >= jitterWarnMS {
			fault := catalog.FaultNetwork
			if localParty[d.from] && !localParty[d.to] {
				fault = catalog.FaultLocal
			}
			finding("media-quality", fault, map[string]any{
				"dir": dirWords(d), "n": streamNums(d), "lost": strconv.Itoa(d.lost), "expected": strconv.Itoa(d.expected),
				"loss": num1(loss), "jitter": num1(d.maxJitter), "gap": strconv.FormatFloat(math.Round(d.maxDelta), 'f', 0, 64),
				"mos": num1(d.mos),
			}, streamFrames(d)...)
		}
		// RTP after the BYE.
		if !byeAt.IsZero() && d.last.Sub(byeAt) > afterByeTolerance {
			finding("media-after-bye", catalog.FaultNone, map[string]any{"dir": dirWords(d), "secs": secs(d.last.Sub(byeAt)), "n": streamNums(d)}, streamFrames(d)...)
		}
		// SSRC changed on the same path.
		if len(d.streams) > 1 {
			paths := map[[2]netip.AddrPort]int{}
			var first [2]netip.AddrPort
			for _, s := range d.streams {
				p := [2]netip.AddrPort{s.key.src, s.key.dst}
				if paths[p]++; paths[p] == 2 && !first[0].IsValid() {
					first = p
				}
			}
			if first[0].IsValid() {
				finding("media-ssrc-change", catalog.FaultNone, map[string]any{"dir": dirWords(d), "count": strconv.Itoa(paths[first] - 1),
					"src": apText(first[0]), "dst": apText(first[1]), "n": streamNums(d)}, streamFrames(d)...)
			}
		}
		for _, s := range d.streams {
			if s.unreachable > 0 {
				finding("media-port-unreachable", sideOf(localParty, d.to), map[string]any{
					"dir": dirWords(d), "dst": apText(s.key.dst), "count": strconv.Itoa(s.unreachable), "n": streamNums(d),
				}, s.unreachableFrame)
				break
			}
		}
		for _, s := range d.streams {
			// Media from another address than the sender announced: its
			// NAT rewrote the source; the receiver must answer to where
			// RTP comes from (symmetric RTP, RFC 4961).
			if e := s.announced; e != nil && e.party == d.to {
				if own := announced(d.from); own != nil {
					ip, ok := own.media.addrIP()
					if ok && netip.AddrPortFrom(ip.Unmap(), uint16(own.media.Port)) != s.key.src {
						finding("media-other-address", sideOf(localParty, d.from), map[string]any{
							"dir": dirWords(d), "src": apText(s.key.src), "announced": epText(own), "n": streamNums(d),
						}, own.frame, s.firstFrame)
						break
					}
				}
			}
		}
		for _, s := range d.streams {
			// The codec sent is not one the receiver offered or accepted.
			if e := announced(d.to); e != nil {
				codec := s.st.Codec(s.st.PayloadType)
				if codec != "" && !rtp.IsComfortNoise(s.st.PayloadType, codec) && !rtp.IsTelephoneEvent(codec) && !hasCodec(e.media, s.st.PayloadType) {
					finding("media-codec-mismatch", sideOf(localParty, d.from), map[string]any{
						"dir": dirWords(d), "codec": codec + " (" + strconv.Itoa(int(s.st.PayloadType)) + ")",
						"offered": strings.Join(e.media.Codecs, ", "), "n": streamNums(d),
					}, e.frame, s.firstFrame)
					break
				}
			}
		}
	}
	// A fax sent as G.711 audio: fax tones in the media and no T.38
	// (an image m= line with a port, RFC 3362) agreed by both sides.
	if !t38Agreed(cm) {
		for _, d := range []*dirStats{up, down} {
			tones := ""
			for _, s := range d.streams {
				if tones = s.st.FaxTones(); tones != "" {
					fault := catalog.FaultNone
					if loss := d.lossPercent(); loss > 0 || d.maxJitter >= jitterWarnMS/2 {
						fault = catalog.FaultNetwork
					}
					finding("media-fax-audio", fault, map[string]any{"dir": dirWords(d), "tones": tones, "n": streamNums(d),
						"loss": num1(d.lossPercent()), "jitter": num1(d.maxJitter)}, s.firstFrame)
					break
				}
			}
			if tones != "" {
				break
			}
		}
	}
	// A private address in the SDP of a party that signals from a public
	// one, and media to it that never arrived: said only where the capture
	// sees this call's media, for without it nothing shows that the media
	// did not arrive.
	for _, p := range []string{"caller", "callee"} {
		if !anyMedia || !behindNAT(p) {
			continue
		}
		e := announced(p)
		in := dirs.get(directionOf(otherParty(p), p))
		if e == nil || in.seen() && !strings.HasPrefix(apText(in.streams[0].key.dst), e.media.Addr+":") {
			continue
		}
		finding("media-nat-private", sideOf(localParty, p), map[string]any{"party": partyWord(p), "addr": epText(e), "public": e.sigSrc.Addr().String()}, e.frame)
	}
	// RTP timeout as the reason the call ended, linked to the direction
	// that was missing or stopped.
	for _, r := range call.Reasons {
		v := strings.ToLower(r.Value)
		if strings.Contains(v, "rtp") && strings.Contains(v, "timeout") || strings.Contains(v, "media_timeout") || strings.Contains(v, "media timeout") {
			vals := map[string]any{"value": r.Value, "dir": phrase("media-dir-none")}
			fault := catalog.FaultNetwork
			for _, d := range []*dirStats{up, down} {
				if !d.seen() || !byeAt.IsZero() && byeAt.Sub(d.last) > stoppedBefore {
					vals["dir"] = dirWords(d)
					fault = missingFault(d.from, d.to)
					break
				}
			}
			finding("media-rtp-timeout", fault, vals, r.Frame)
			break
		}
	}
	call.Audio = audio
	// A media fault on an answered call is what the call is about: it
	// comes first, where a failed call has its diagnosis (Call.Diagnosis).
	for i, f := range findings {
		if f.Severity == "error" && call.Outcome == OutcomeAnswered && call.Fault == string(catalog.FaultNone) {
			findings = append(append([]Finding{f}, findings[:i]...), findings[i+1:]...)
			call.Findings = append(findings, call.Findings...)
			findings = nil
			call.Fault = f.Fault
			break
		}
	}
	call.Findings = append(call.Findings, findings...)
}

// forgetCallMedia drops a reported call's streams and endpoints, so that
// a live collector's memory depends on the calls still open.
func (a *Analyzer) forgetCallMedia(cm *callMedia, call *Call) {
	ms := a.media
	for _, o := range call.Media {
		if len(ms.done) < maxMediaStreams {
			cp := *o
			ms.done = append(ms.done, &cp)
		}
	}
	for _, s := range cm.streams {
		ms.forget(s)
		if ms.bySSRC[s.key.ssrc] == s {
			delete(ms.bySSRC, s.key.ssrc)
		}
	}
	if cm.manyKeys {
		for ap, e := range ms.endpoints {
			if e.call == cm {
				delete(ms.endpoints, ap)
			}
		}
	} else {
		// Only the call's own addresses: a walk over every open call's
		// for each call reported grew with the square of the calls.
		for _, ap := range cm.keys {
			if e := ms.endpoints[ap]; e != nil && e.call == cm {
				delete(ms.endpoints, ap)
			}
		}
	}
	delete(ms.calls, cm.callID)
}

func sideOf(local map[string]bool, party string) catalog.Fault {
	if local[party] {
		return catalog.FaultLocal
	}
	if len(local) == 0 {
		return catalog.FaultNetwork
	}
	return catalog.FaultRemote
}

func hasCodec(m *Media, pt uint8) bool {
	for _, p := range m.Payloads {
		if p.PT == int(pt) {
			return true
		}
	}
	return len(m.Payloads) == 0
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// IsMediaFinding reports the ids of data/media.yaml: findings about RTP.
func IsMediaFinding(id string) bool { return strings.HasPrefix(id, "media-") }

// t38Agreed reports a switch to T.38 that both sides agreed on: an image
// m= line with a port from each (RFC 3362, RFC 3264 §6).
func t38Agreed(cm *callMedia) bool {
	t38 := map[string]bool{}
	for _, e := range cm.endpoints {
		if e.media.Type == "image" && e.media.Port > 0 {
			t38[e.party] = true
		}
	}
	return t38["caller"] && t38["callee"]
}
