package analyze

import (
	"net/netip"
	"sort"
	"strings"
)

// Host roles, seen from the user of sipcause.
const (
	RoleLocal    = "local"    // the user's phones, PBX and router
	RoleProvider = "provider" // the first hop the local side talks to
	RoleRemote   = "remote"   // everything beyond
)

// roleMap gives every SIP endpoint a role.
type roleMap struct {
	role map[netip.AddrPort]string
	why  map[netip.AddrPort]string
}

func (r roleMap) of(ep netip.AddrPort) string {
	if s, ok := r.role[unmapAP(ep)]; ok {
		return s
	}
	return RoleRemote
}

// roles works out which endpoints are the user's own. The user may say it
// (Options.Local, Options.LocalHosts). Otherwise, in order: when private and
// public addresses both occur, the private ones are local (the LAN behind
// the router); else the endpoints that register are local (phones and PBXs
// register with their provider); else the endpoints that start calls and
// never receive one. The endpoints the local side sends requests to, or
// receives requests from, are the provider; the rest is remote.
func (a *Analyzer) roles() roleMap {
	// A live collector asks every second: the map is worked out again only
	// when what it depends on changed (the review's M3 had 200 000
	// endpoints re-sorted each second, half a core for good).
	if a.rolesOK {
		return a.rolesMap
	}
	a.rolesMap, a.rolesOK = a.workOutRoles(), true
	return a.rolesMap
}

func (a *Analyzer) workOutRoles() roleMap {
	return a.rolesOf(a.endpointList(), a.registering, a.callers, a.callees, nil)
}

// fileRoleInputs is what roles are worked out from, for one input file:
// two captures from different sites each have their own "your side".
type fileRoleInputs struct {
	eps                         map[netip.AddrPort]int
	registering, callers, calls map[netip.AddrPort]bool
}

// noteFileEndpoints records m's endpoints for the roles of its own file,
// once more than one file is read (the first file's are copied then).
func (a *Analyzer) noteFileEndpoints(m *Message, src, dst netip.AddrPort) {
	if a.fileRoles == nil {
		if len(a.fileEnd) < 2 {
			return
		}
		a.fileRoles = map[string]*fileRoleInputs{}
		for f := range a.fileEnd {
			if f != m.File { // the only file before this one: all seen so far
				fi := &fileRoleInputs{eps: map[netip.AddrPort]int{}, registering: map[netip.AddrPort]bool{}, callers: map[netip.AddrPort]bool{}, calls: map[netip.AddrPort]bool{}}
				for ep, n := range a.endpoints {
					fi.eps[ep] = n
				}
				for ep := range a.registering {
					fi.registering[ep] = true
				}
				for ep := range a.callers {
					fi.callers[ep] = true
				}
				for ep := range a.callees {
					fi.calls[ep] = true
				}
				a.fileRoles[f] = fi
			}
		}
	}
	fi := a.fileRoles[m.File]
	if fi == nil {
		if len(a.fileRoles) >= 64 {
			return // that many files: roles of the whole input
		}
		fi = &fileRoleInputs{eps: map[netip.AddrPort]int{}, registering: map[netip.AddrPort]bool{}, callers: map[netip.AddrPort]bool{}, calls: map[netip.AddrPort]bool{}}
		a.fileRoles[m.File] = fi
	}
	for _, ep := range []netip.AddrPort{src, dst} {
		if _, ok := fi.eps[ep]; ep.IsValid() && !ok && len(fi.eps) < maxEndpoints {
			fi.eps[ep] = len(fi.eps)
		}
	}
	if !m.Request || !src.IsValid() || !dst.IsValid() {
		return
	}
	switch {
	case m.Method == "REGISTER":
		fi.registering[src] = true
	case m.Method == "INVITE" && m.To.Tag == "":
		fi.callers[src] = true
		fi.calls[dst] = true
	}
}

// rolesFor returns the roles for a call read from file: worked out from
// that file alone when several files were read and this one does not
// overlap another in time (two sites, two days); otherwise from all.
func (a *Analyzer) rolesFor(file string, all roleMap, cache map[string]roleMap) roleMap {
	fi := a.fileRoles[file]
	if fi == nil || a.overlaps(file) {
		return all
	}
	if rm, ok := cache[file]; ok {
		return rm
	}
	eps := make([]netip.AddrPort, 0, len(fi.eps))
	for ep := range fi.eps {
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool { return fi.eps[eps[i]] < fi.eps[eps[j]] })
	rm := a.rolesOf(eps, fi.registering, fi.callers, fi.calls, fi.eps)
	cache[file] = rm
	return rm
}

// overlaps reports whether file's time span meets another file's.
func (a *Analyzer) overlaps(file string) bool {
	s, e := timeAt(a.fileStart[file]), timeAt(a.fileEnd[file])
	for f, e2 := range a.fileEnd {
		if f != file && !s.After(*e2) && !timeAt(a.fileStart[f]).After(e) {
			return true
		}
	}
	return false
}

// rolesOf works the roles out from the endpoints, those that register,
// call and are called; only is the set of endpoints the request paths
// must stay within (nil: all).
func (a *Analyzer) rolesOf(eps []netip.AddrPort, registering, callers, callees map[netip.AddrPort]bool, only map[netip.AddrPort]int) roleMap {
	rm := roleMap{role: map[netip.AddrPort]string{}, why: map[netip.AddrPort]string{}}
	setLocal := func(ep netip.AddrPort, why string) {
		rm.role[ep] = RoleLocal
		rm.why[ep] = why
	}
	if len(a.opt.Local) > 0 || len(a.opt.LocalHosts) > 0 {
		for _, ep := range eps {
			for _, p := range a.opt.Local {
				if p.Contains(ep.Addr()) {
					setLocal(ep, "role-given-local")
				}
			}
			for _, name := range a.opt.LocalHosts {
				if a.epNames[ep][strings.ToLower(name)] {
					setLocal(ep, "role-given-local")
				}
			}
		}
	} else {
		var priv, pub bool
		for _, ep := range eps {
			if isPrivate(ep.Addr()) {
				priv = true
			} else {
				pub = true
			}
		}
		switch {
		case priv && pub:
			for _, ep := range eps {
				if isPrivate(ep.Addr()) {
					setLocal(ep, "role-private")
				}
			}
		case len(registering) > 0:
			for ep := range registering {
				setLocal(ep, "role-registers")
			}
		default:
			for ep := range callers {
				if !callees[ep] {
					setLocal(ep, "role-starts-calls")
				}
			}
		}
	}
	for _, pr := range a.pairs {
		if only != nil {
			if _, ok := only[pr[0]]; !ok {
				continue
			}
			if _, ok := only[pr[1]]; !ok {
				continue
			}
		}
		sl, dl := rm.role[pr[0]] == RoleLocal, rm.role[pr[1]] == RoleLocal
		if sl && !dl {
			if _, ok := rm.role[pr[1]]; !ok {
				rm.role[pr[1]] = RoleProvider
				rm.why[pr[1]] = "role-next-hop"
			}
		}
		if dl && !sl {
			if _, ok := rm.role[pr[0]]; !ok {
				rm.role[pr[0]] = RoleProvider
				rm.why[pr[0]] = "role-sends-to-local"
			}
		}
	}
	for _, ep := range eps {
		if _, ok := rm.role[ep]; !ok {
			rm.role[ep] = RoleRemote
			rm.why[ep] = "role-beyond-provider"
		}
	}
	return rm
}

func (a *Analyzer) endpointList() []netip.AddrPort {
	eps := make([]netip.AddrPort, 0, len(a.endpoints))
	for ep := range a.endpoints {
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool { return a.endpoints[eps[i]] < a.endpoints[eps[j]] })
	return eps
}

// noteEndpoints records which endpoints talk SIP to which, for roles();
// src and dst are msgEndpoints(m), worked out once per message by add.
//
// Everything it keeps is per endpoint, and endpoints are bounded
// (maxEndpoints): a flood of spoofed sources fills the table once and then
// changes nothing, so it costs neither memory nor the work of roles().
func (a *Analyzer) noteEndpoints(m *Message, src, dst netip.AddrPort) {
	a.noteFileEndpoints(m, src, dst)
	for _, ep := range []netip.AddrPort{src, dst} {
		if ep.IsValid() {
			if _, ok := a.endpoints[ep]; !ok {
				if len(a.endpoints) >= maxEndpoints {
					a.endpointsFull++
					continue
				}
				a.endpoints[ep] = len(a.endpoints) // first seen; src before dst
				a.rolesOK = false
			}
		}
	}
	if !m.Request || !src.IsValid() || !dst.IsValid() {
		return
	}
	if _, ok := a.endpoints[src]; !ok {
		return
	}
	if _, ok := a.endpoints[dst]; !ok {
		return
	}
	pk := [2]netip.AddrPort{src, dst}
	if _, ok := a.pairSeen[pk]; !ok && len(a.pairs) < maxEndpoints {
		a.pairSeen[pk] = struct{}{}
		a.pairs = append(a.pairs, pk)
		a.rolesOK = false
	}
	set := func(m map[netip.AddrPort]bool, ep netip.AddrPort) {
		if !m[ep] {
			m[ep] = true
			a.rolesOK = false
		}
	}
	switch m.Method {
	case "REGISTER":
		set(a.registering, src)
		set(a.registrars, dst)
	case "INVITE":
		if m.To.Tag == "" {
			set(a.callers, src)
			set(a.callees, dst)
		}
	}
	names := a.epNames[src]
	if names == nil {
		names = map[string]bool{}
		a.epNames[src] = names
	}
	for _, h := range [2]string{"", m.From.Host} {
		if v, ok := m.topVia(); ok && h == "" {
			h = v.Host
		}
		// A host name is at most 253 bytes (RFC 1035 §2.3.4); longer
		// is no name to match --local against.
		if h == "" || len(h) > 253 || len(names) >= 8 {
			continue
		}
		if h = strings.ToLower(h); !names[h] {
			names[h] = true
			a.rolesOK = false
		}
	}
}

// maxEndpoints bounds the endpoints whose roles are worked out (and every
// map kept per endpoint): enough for the phones of a large PBX, small
// enough that a spoofed-source flood leaves tens of MB behind.
const maxEndpoints = 1 << 16

func (a *Analyzer) hostList(rm roleMap) []Host {
	out := []Host{}
	for _, ep := range a.endpointList() {
		out = append(out, Host{Addr: apText(ep), Role: rm.of(ep), Agent: a.agents[ep], Why: rm.why[ep]})
	}
	return out
}
