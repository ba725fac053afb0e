package analyze

import (
	"strings"
	"time"
)

// linkWindow is how soon after a call arrives at a B2BUA its outgoing leg
// must start to be taken as the same call.
const linkWindow = 10 * time.Second

// linkLegs links the legs of one call seen at several hops under different
// Call-IDs: a B2BUA (Asterisk, FreeSWITCH, an SBC) makes a new Call-ID for
// its outgoing leg. Headers link them where present: X-CID or a similar
// header carrying the other Call-ID, Session-ID (RFC 7989) or the icid of
// P-Charging-Vector. Without them, a leg that leaves the host the first leg
// went to, within a few seconds, for the same dialled number, is the same
// call.
func (a *Analyzer) linkLegs(calls []*callState) {
	byID := map[string]*callState{}
	for _, c := range calls {
		byID[c.callID] = c
	}
	for i, up := range calls {
		ur := up.invites[0].req
		for _, dn := range calls[i+1:] {
			if dn.linkedUp != nil {
				continue
			}
			dr := dn.invites[0].req
			linked := false
			switch {
			case dr.xcid != "" && dr.xcid == up.callID:
				linked = true
			case dr.sessionID != "" && dr.sessionID == ur.sessionID:
				linked = true
			case dr.icid != "" && dr.icid == ur.icid:
				linked = true
			case dr.time.Sub(ur.time) >= 0 && dr.time.Sub(ur.time) <= linkWindow &&
				dr.src.Addr().Unmap() == ur.dst.Addr().Unmap() && dr.dst != ur.src &&
				(sameNumber(calledNumber(ur), calledNumber(dr)) || sameNumber(ur.from.User, dr.from.User)):
				linked = true
			}
			if linked {
				dn.linkedUp = up
				up.linkedDown = append(up.linkedDown, dn)
			}
		}
		_ = byID
	}
}

func calledNumber(r reqInfo) string {
	if r.to.User != "" {
		return r.to.User
	}
	return uriUser(r.ruri)
}

// sameNumber compares dialled numbers loosely: the same digits at the end
// (a PBX adds or strips prefixes such as 0, 00, +31).
func sameNumber(a, b string) bool {
	da, db := digits(a), digits(b)
	if da == "" || db == "" {
		return a != "" && strings.EqualFold(a, b)
	}
	n := min(len(da), len(db), 9)
	if n < 3 {
		return da == db
	}
	return da[len(da)-n:] == db[len(db)-n:]
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
