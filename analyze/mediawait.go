package analyze

import "time"

// Limits of what a live analyzer holds for agents' reports that come
// before or after the SIP they are about (Options.MediaWait).
const (
	// agentsLately is how long after an agent's last report answered
	// calls without reports of their own still wait for some: a short
	// call may end before the agent's first periodic report.
	agentsLately = time.Hour
	// maxEarlyCalls bounds the calls not yet open that reports are kept
	// for, earlyKeep how long (packet time) they are kept: HEP from two
	// agents (one capturing SIP, one measuring RTP) can overtake each
	// other by a moment, not by minutes.
	maxEarlyCalls = 256
	earlyKeep     = 5 * time.Second
	// maxEarlyCallID is the longest Call-ID reports are kept early for.
	maxEarlyCallID = 256
)

// earlyReports are agents' reports about a call whose first SIP message
// has not been analyzed yet.
type earlyReports struct {
	rc *reportedCall
	at time.Time // packet time of the first of them
}

// rtcpReporter is an RTP session member that sent RTCP reports about a
// call, and whether it left the session: an RTCP BYE says it sends no
// more reports (RFC 3550 §6.6).
type rtcpReporter struct {
	ssrc uint32
	bye  bool
}

// noteReporter records an RTCP packet's sender, and its BYE.
func (rc *reportedCall) noteReporter(ssrc uint32, bye bool) {
	for i := range rc.reporters {
		if rc.reporters[i].ssrc == ssrc {
			rc.reporters[i].bye = rc.reporters[i].bye || bye
			return
		}
	}
	if len(rc.reporters) < maxReportedStreams {
		rc.reporters = append(rc.reporters, rtcpReporter{ssrc: ssrc, bye: bye})
	}
}

// complete reports whether every stream reported on has had its last
// report: the agents' final RTP statistics reports (HANGUP, FINAL) for
// every stream they reported, and an RTCP BYE from every member that sent
// RTCP. Nothing reported is not complete.
func (rc *reportedCall) complete() bool {
	if len(rc.agent) == 0 && len(rc.reporters) == 0 {
		return false
	}
	for _, s := range rc.agent {
		if !s.final {
			return false
		}
	}
	for _, r := range rc.reporters {
		if !r.bye {
			return false
		}
	}
	return true
}

// awaitsReports reports whether finished call c should wait at time now
// for its agents' last reports (Options.MediaWait): the wait is not over,
// and agents reported on the call without finishing, or the call was
// answered while agents report on calls.
func (a *Analyzer) awaitsReports(c *callState, now time.Time) bool {
	if a.opt.MediaWait <= 0 || now.Sub(c.last) >= a.opt.MediaWait {
		return false
	}
	if rc := a.rtcpReports[c.callID]; rc != nil {
		return !rc.complete()
	}
	return c.answered() && !a.lastReport.IsZero() && absDur(now.Sub(a.lastReport)) < agentsLately
}

// answered reports whether an INVITE of the call had a 2xx: then media
// flowed, or should have.
func (c *callState) answered() bool {
	for _, t := range c.invites {
		if t.final != nil && t.final.code < 300 {
			return true
		}
	}
	return false
}

// reportsFor returns where reports about call callID at time t go: the
// open call's, or (live, MediaWait set) those kept for a call not open
// yet. It returns nil when the reports are to be dropped: the call was
// reported already, or too many calls wait to open.
func (a *Analyzer) reportsFor(callID string, t time.Time) *reportedCall {
	if a.calls[callID] != nil {
		if t.After(a.lastReport) {
			a.lastReport = t
		}
		return a.reportedFor(callID)
	}
	if a.opt.MediaWait <= 0 || callID == "" || len(callID) > maxEarlyCallID || a.reported(callID) {
		return nil
	}
	if e := a.early[callID]; e != nil {
		return e.rc
	}
	if len(a.early) >= maxEarlyCalls {
		return nil
	}
	if a.early == nil {
		a.early = map[string]*earlyReports{}
	}
	e := &earlyReports{rc: newReportedCall(), at: t}
	a.early[callID] = e
	return e.rc
}

// adoptEarly gives a call that just opened at time t the reports that
// came shortly before it.
func (a *Analyzer) adoptEarly(callID string, t time.Time) {
	e := a.early[callID]
	if e == nil {
		return
	}
	delete(a.early, callID)
	if absDur(t.Sub(e.at)) >= earlyKeep {
		return
	}
	if a.rtcpReports == nil {
		a.rtcpReports = map[string]*reportedCall{}
	}
	a.rtcpReports[callID] = e.rc
	if e.at.After(a.lastReport) {
		a.lastReport = e.at
	}
}

// ageEarly forgets early reports whose call did not open in time.
func (a *Analyzer) ageEarly(now time.Time) {
	for id, e := range a.early {
		if absDur(now.Sub(e.at)) >= earlyKeep {
			delete(a.early, id)
		}
	}
}
