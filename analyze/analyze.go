package analyze

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

// RFC 3261 §17.1.1.1 timer values. Timer B and F are 64*T1: the time a
// client transaction waits for any answer before giving up.
const (
	T1     = 500 * time.Millisecond
	TimerB = 64 * T1
	TimerF = 64 * T1
	// TimerC is the proxy's INVITE timer (RFC 3261 §16.6 step 11): more
	// than 3 minutes of ringing without a final answer.
	TimerC = 3 * time.Minute
)

// Limits that keep memory bounded whatever the input holds.
const (
	maxMessagesPerCall = 2000 // messages kept for the ladder of one call
	maxOpenItems       = 200000
	idleClose          = 4 * time.Hour // an answered call with no BYE is closed after this much silence
	settle             = TimerB        // default quiet time after which a finished call is reported
	// overQuiet is the quiet time after which a call that is over on the
	// wire (see callState.over) is reported: longer than T2 (4 s), the
	// longest interval between two retransmissions of a request or a
	// final response (RFC 3261 §17.1.2.2, §17.2.1), so that no
	// retransmission can follow it; and T4 (5 s), how long a server
	// transaction absorbs ACKs (Timer I, §17.2.1).
	overQuiet = 5 * time.Second
	// cleanQuiet is that quiet time for a call in which no message was
	// retransmitted: a lost ACK or a lost answer to a BYE shows as a
	// retransmission T1 after the answer before it (Timers G and E, RFC
	// 3261 §17.2.1, §17.1.2.2); twice T1 leaves room for a late timer. A
	// call with retransmissions waits overQuiet.
	cleanQuiet = 2 * T1
	sweepEvery = 4096 // messages between two sweeps for finished calls
)

// Options tune an analysis.
type Options struct {
	// Local is the user's own side: addresses or networks of their phones,
	// PBX and router. Empty means: work it out from the traffic.
	Local []netip.Prefix
	// LocalHosts are host names (as they appear in Via or From) that are
	// the user's own.
	LocalHosts []string
	// Lang is the language the report is meant to be read in (Report.Lang).
	// The analyzer itself writes no text: the report package renders the
	// findings in any language.
	Lang catalog.Lang
	// Catalog is the knowledge base; nil means catalog.Default().
	Catalog *catalog.Catalog
	// OnCall, OnRegister and OnDialog, when set, receive each call,
	// registration or other exchange as soon as it is finished, and the
	// report does not keep it: memory then depends on the calls still open,
	// not on the size of the input. When nil the report keeps them.
	OnCall     func(*Call)
	OnRegister func(*Register)
	OnDialog   func(*Dialog)
	// Settle is how long a finished call must be quiet before it is
	// reported, so that retransmissions and late ACKs still count: Timer B
	// (32 s) when zero, which suits captures. A live collector may choose
	// a few seconds; a retransmission that comes later is then ignored.
	Settle time.Duration
	// Live says the messages come from a live collector, not a file:
	// a call reported before it ended (to make room, or on shutdown) is
	// then one sipcause stopped following, not one whose capture ended.
	Live bool
	// MaxOpenCalls bounds the calls held open: when it is reached, the
	// tenth of them quiet the longest are reported as they stand. Zero
	// means 200000.
	MaxOpenCalls int
	// MediaWait is how long, in packet time after its last SIP message,
	// a finished call waits for the last reports of the capture agents
	// that measure its media (AddCallRTCP, AddCallQoS): agents send a
	// stream's last RTCP report, with its RTCP BYE (RFC 3550 §6.6), and
	// their final RTP statistics report a moment after the BYE. A call
	// waits when agents reported on it, or when it was answered and
	// agents reported on calls lately; it is reported as soon as every
	// stream reported on has had its last report. Zero: no call waits
	// (a capture holds the RTP and RTCP itself, in its own order).
	MediaWait time.Duration
	// MaxMediaWaiting bounds the finished calls waiting for reports: past
	// it, those that ended the longest ago are reported at once. Zero
	// means a tenth of MaxOpenCalls. Waiting calls are open calls: they
	// count towards MaxOpenCalls too.
	MaxMediaWaiting int
}

// Analyzer turns time-ordered messages into a Report. It is not safe for
// concurrent use; it starts no goroutines and reads no clock.
type Analyzer struct {
	opt   Options
	cat   *catalog.Catalog
	text  *texts
	calls map[string]*callState // open calls by Call-ID
	regs  map[string]*regState  // open registrations by Call-ID
	dlgs  map[string]*dlgState  // open other exchanges by Call-ID and method
	order int                   // arrival counter, for stable ordering
	rep   Report
	first time.Time
	last  time.Time
	// Each input file has its own time base (two captures made years
	// apart, a log whose clock was wrong): timers of a call run on the
	// time of its own file, never across files.
	fileEnd   map[string]*time.Time
	fileStart map[string]*time.Time
	// spanFile is the file of the last message, spanEnd and spanStart its
	// entries of fileEnd and fileStart (nil where there is none): a map
	// write per message, to move the file's end on, cost 1.5% of all.
	spanFile           string
	spanEnd, spanStart *time.Time
	fileRoles          map[string]*fileRoleInputs // nil while one file is read
	curFile            string
	seen               generations[int64] // message fingerprints and when they were last seen (UnixNano), for retransmissions
	fp                 *fingerprinter

	endpoints   map[netip.AddrPort]int // first seen (arrival order)
	pairs       [][2]netip.AddrPort    // request paths, in order
	pairSeen    map[[2]netip.AddrPort]struct{}
	registering map[netip.AddrPort]bool
	registrars  map[netip.AddrPort]bool
	callers     map[netip.AddrPort]bool
	callees     map[netip.AddrPort]bool
	epNames     map[netip.AddrPort]map[string]bool
	agents      map[netip.AddrPort]string

	legIndex  map[netip.Addr]*legList // recent calls by the address their INVITE went to
	headerIdx map[linkKey]*callState  // Call-ID, Session-ID and icid of recent calls

	registered map[string]regSpan         // user|registrar|file -> when the registrar said the user was there
	rings      map[string][]time.Duration // server|code -> how long calls it ended had rung

	labels map[labelKey]string
	addrs  map[netip.AddrPort]string
	// recentAddrs are the last addresses addrString gave, looked at
	// before addrs: a call's report asks for the same two or three
	// addresses a dozen times, and hashing an AddrPort for the map cost
	// more than the rest of addrString.
	recentAddrs lastFew[netip.AddrPort, string]
	// syms is the table of the strings of open calls' ladders (see step).
	syms        []string
	symNum      map[string]sym
	symBytes    int
	addrSyms    map[netip.AddrPort]sym
	lastFile    string
	lastFileSym sym
	fileKnown   bool

	metrics   metricAcc
	integrity Integrity
	sinceSwp  int
	settle    time.Duration
	maxOpen   int
	recent    generations[uint32] // reported calls' last INVITE CSeq, to ignore their late retransmissions
	quiet     callList            // open calls, the one quiet the longest first
	forced    int
	// Requests of the known methods and responses by code, counted here
	// and added to the summary by Finish (countedInSummary); knownSeen is
	// the known methods seen.
	methodCounts [len(knownMethods)]int
	codeCounts   [700]int
	knownSeen    int

	rolesMap      roleMap // roles() as last worked out
	rolesOK       bool    // nothing it depends on changed since
	endpointsFull int     // endpoints not tracked because maxEndpoints was reached
	noted         hostMemo
	stepMemo      stepMemo
	// Of the last answers explained: whether their agent is a server's,
	// and what their reason phrase says (a lower-cased copy of each and
	// a score of substring searches, for every call).
	agentKinds  lastFew[string, bool]
	wirePhrases lastFew[wireKey, wireAnswer]
	responders  lastFew[responderKey, string] // their names for the texts
	callVars    vars                          // explainCall's placeholders, used again for each call
	codeTexts   [700]string

	pending   *Message  // a message whose time jumped, until the next one confirms it
	seenAny   bool      // a message was analyzed
	firstHeld bool      // the first message was held and decided
	outlier   time.Time // the time of the last frame found to be an outlier

	media *mediaState // RTP/RTCP streams (EnableMedia, AddMedia); nil when media is not read
	// rtcpReports are agents' RTCP reports about open calls (AddCallRTCP).
	rtcpReports map[string]*reportedCall
	// early are reports about calls not open yet (see reportsFor).
	early map[string]*earlyReports
	// lastReport is the packet time of the last agent report about an
	// open call: answered calls wait for reports while agents send them.
	lastReport time.Time
	waiting    int // finished calls held for their agents' last reports (MediaWait), at the last sweep
	waitBuf    []*callState
	waitCapped int // calls not held because MaxMediaWaiting calls were
}

// New returns an Analyzer.
func New(opt Options) *Analyzer {
	cat := opt.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	if opt.Settle <= 0 {
		opt.Settle = settle
	}
	if opt.MaxOpenCalls <= 0 || opt.MaxOpenCalls > maxOpenItems {
		opt.MaxOpenCalls = maxOpenItems
	}
	if opt.MaxMediaWaiting <= 0 {
		opt.MaxMediaWaiting = max(1, opt.MaxOpenCalls/10)
	}
	return &Analyzer{
		opt: opt, cat: cat, text: loadTexts(), settle: opt.Settle, maxOpen: opt.MaxOpenCalls,
		recent:  newGenerations[uint32](),
		fileEnd: map[string]*time.Time{}, fileStart: map[string]*time.Time{}, registered: map[string]regSpan{}, rings: map[string][]time.Duration{},
		calls: map[string]*callState{}, regs: map[string]*regState{}, dlgs: map[string]*dlgState{},
		seen: newGenerations[int64](), fp: newFingerprinter(),
		endpoints: map[netip.AddrPort]int{}, pairSeen: map[[2]netip.AddrPort]struct{}{},
		registering: map[netip.AddrPort]bool{}, registrars: map[netip.AddrPort]bool{},
		callers: map[netip.AddrPort]bool{}, callees: map[netip.AddrPort]bool{},
		epNames: map[netip.AddrPort]map[string]bool{}, agents: map[netip.AddrPort]string{},
		legIndex: map[netip.Addr]*legList{}, headerIdx: map[linkKey]*callState{},
		metrics: newMetricAcc(), labels: map[labelKey]string{}, addrs: map[netip.AddrPort]string{}, symNum: map[string]sym{}, addrSyms: map[netip.AddrPort]sym{},
		rep: Report{
			SchemaVersion: SchemaVersion, Lang: string(opt.Lang),
			Summary: Summary{Requests: map[string]int{}, Responses: map[string]int{}, Outcomes: map[string]int{}},
			Calls:   []*Call{}, Registrations: []*Register{}, Dialogs: []*Dialog{},
		},
	}
}

// AddInput records that a file was read, with its format and any error
// that stopped reading it.
func (a *Analyzer) AddInput(in Input) { a.rep.Inputs = append(a.rep.Inputs, in) }

// AddIntegrity adds the capture reader's counts for one input.
func (a *Analyzer) AddIntegrity(i Integrity) { a.integrity.Add(i) }

// timeJump is how far a message's time may be from the message before it
// and still be believed on its own. A jump further than this is believed
// only when the next message confirms it (a capture that really resumed
// later); a single frame so far off is a clock fault or a forged
// timestamp, and is analyzed at the time of its neighbour instead, so that
// it cannot end every open call (RFC 3261 §17 timers run on capture time).
const timeJump = time.Hour

// Add feeds one message. Messages must come in capture order. A message
// whose time is more than an hour from its predecessor's is held until the
// next one says whether time really moved.
func (a *Analyzer) Add(m Message) { a.AddRef(&m) }

// AddRef is Add for a message the caller holds: the analyzer reads it
// during the call and keeps no pointer to it (its strings and slices it
// may keep, so the caller must not change what they hold). A Message is
// 700 bytes: a batch of them is fed without copying each.
func (a *Analyzer) AddRef(m *Message) {
	if a.pending != nil {
		a.resolvePending(m.Time, true)
	}
	if a.seenAny && absDur(m.Time.Sub(a.last)) > timeJump || !a.seenAny && a.pendingFirst() {
		p := *m
		a.pending = &p
		return
	}
	a.add(m)
}

// pendingFirst reports whether the first message should wait for the
// second: a capture that starts with a forged time must not set the clock.
func (a *Analyzer) pendingFirst() bool { return !a.firstHeld }

// resolvePending decides about the held message: next is the time of what
// followed it (ok false: nothing did). Without a confirming neighbour it is
// an outlier, counted in the integrity report and analyzed at the time of
// the message before it.
func (a *Analyzer) resolvePending(next time.Time, ok bool) {
	p := *a.pending
	a.pending = nil
	if !a.firstHeld {
		a.firstHeld = true
		// The first message: believed unless the next is far from it and
		// then confirmed; there is no earlier neighbour to compare with.
		if ok && absDur(next.Sub(p.Time)) > timeJump {
			a.integrity.TimeOutliers++
			a.outlier = p.Time
			p.Time = next
		}
		a.add(&p)
		return
	}
	if ok && absDur(next.Sub(p.Time)) <= timeJump {
		// Confirmed: the capture goes on at the new time (merged files, a
		// capture that paused). The clock follows it, also backwards.
		a.last = p.Time
		a.add(&p)
		return
	}
	a.integrity.TimeOutliers++
	a.outlier = p.Time
	p.Time = a.last
	a.add(&p)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (a *Analyzer) add(m *Message) {
	a.seenAny = true
	a.order++
	if a.first.IsZero() || m.Time.Before(a.first) {
		a.first = m.Time
	}
	if m.Time.After(a.last) {
		a.last = m.Time
	}
	a.curFile = m.File
	end, start := a.spanEnd, a.spanStart
	if end == nil || m.File != a.spanFile {
		end, start = a.fileEnd[m.File], a.fileStart[m.File]
		if end == nil && len(a.fileEnd) < 4096 {
			a.noted = hostMemo{} // a second file changes what noteEndpoints does
			end = new(time.Time)
			*end = m.Time
			a.fileEnd[m.File] = end
		}
		if start == nil && len(a.fileStart) < 4096 {
			start = new(time.Time)
			*start = m.Time
			a.fileStart[m.File] = start
		}
		a.spanFile, a.spanEnd, a.spanStart = m.File, end, start
	}
	if end != nil && m.Time.After(*end) {
		*end = m.Time
	}
	if start != nil && m.Time.Before(*start) {
		*start = m.Time
	}
	s := &a.rep.Summary
	s.Messages++
	if m.Request {
		a.countRequest(m.Method)
	} else {
		a.countResponse(m.StatusCode)
	}
	src, dst := m.pre.src, m.pre.dst
	if !m.pre.ok {
		src, dst = msgEndpoints(m) // once: each parses the top Via's host
	}
	a.noteHosts(m, src, dst)
	retrans, dup := a.isRetransmission(m)
	switch {
	case dup:
		// The same packet captured twice (a capture on several interfaces):
		// counted above as tshark counts it, but it tells nothing new.
		s.Duplicates++
	case retrans:
		s.Retransmitted++
		a.route(m, true)
	default:
		a.route(m, false)
	}
	if a.sinceSwp++; a.sinceSwp >= sweepEvery {
		a.sinceSwp = 0
		a.sweep(false)
	}
}

func (a *Analyzer) route(m *Message, retrans bool) {
	method := m.CSeqMethod
	if m.Request {
		method = m.Method
	}
	switch method {
	case "INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE":
		if c := a.callFor(m, method); c != nil {
			c.add(a, m, retrans)
			return
		}
		if method == "INVITE" || a.reported(m.CallID) {
			return
		}
	case "REGISTER":
		r := a.regs[m.CallID]
		if r == nil {
			if !m.Request || len(a.regs) >= maxOpenItems {
				return // a response whose request was not captured
			}
			r = &regState{callID: m.CallID, order: a.order}
			a.regs[m.CallID] = r
		}
		r.add(a, m, retrans)
		return
	}
	// INFO, REFER, NOTIFY, OPTIONS, ... inside a known call belong to it.
	if c := a.calls[m.CallID]; c != nil {
		c.add(a, m, retrans)
		return
	}
	key := m.CallID + "\x00" + method
	d := a.dlgs[key]
	if d == nil {
		if !m.Request || len(a.dlgs) >= maxOpenItems || a.reported(m.CallID) {
			return
		}
		d = &dlgState{callID: m.CallID, method: method, order: a.order}
		a.dlgs[key] = d
	}
	d.add(m, retrans)
}

// callFor returns the call m belongs to, creating it for an initial INVITE.
func (a *Analyzer) callFor(m *Message, method string) *callState {
	c := a.calls[m.CallID]
	if c != nil {
		return c
	}
	if !(m.Request && method == "INVITE" && m.To.Tag == "") {
		return nil // mid-dialog traffic of a call whose start was not captured
	}
	if cseq, ok := a.recent.get(a.fp.of(m.CallID)); ok && m.CSeq <= cseq {
		return nil // a late retransmission of a call already reported
	}
	if len(a.calls) >= a.maxOpen {
		a.FinishOldest(max(1, a.maxOpen/10))
	}
	c = &callState{callID: m.CallID, order: a.order, first: m.Time, file: m.File}
	a.calls[m.CallID] = c
	a.adoptEarly(m.CallID, m.Time)
	a.quiet.pushBack(c)
	a.linkNew(c, m)
	return c
}

// knownMethods are the methods of the IANA SIP Methods registry (RFC 3261
// §27.4 and the RFCs that added to it): always counted by name.
var knownMethods = [...]string{"ACK", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NOTIFY", "OPTIONS",
	"PRACK", "PUBLISH", "REFER", "REGISTER", "SUBSCRIBE", "UPDATE"}

// knownMethod returns m's place in knownMethods, or -1.
func knownMethod(m string) int {
	switch m {
	case "ACK":
		return 0
	case "BYE":
		return 1
	case "CANCEL":
		return 2
	case "INFO":
		return 3
	case "INVITE":
		return 4
	case "MESSAGE":
		return 5
	case "NOTIFY":
		return 6
	case "OPTIONS":
		return 7
	case "PRACK":
		return 8
	case "PUBLISH":
		return 9
	case "REFER":
		return 10
	case "REGISTER":
		return 11
	case "SUBSCRIBE":
		return 12
	case "UPDATE":
		return 13
	}
	return -1
}

// Limits on the method names the summary counts by name: a sender that
// makes up a new 20 KB method per packet must not grow it for good.
const (
	maxOtherMethods   = 32
	maxMethodNameLen  = 32
	otherMethodBucket = "other"
)

// summaryMethod is the key m is counted under in Summary.Requests: its
// own name when registered, or while few unknown short names were seen;
// otherwise "other".
// A method that is not one of them (see countRequest) is counted under
// its name unless that is long or many are, counting the known methods
// seen as names too.
func (a *Analyzer) summaryMethod(m string) string {
	if _, ok := a.rep.Summary.Requests[m]; ok {
		return m
	}
	if len(m) > maxMethodNameLen || len(a.rep.Summary.Requests)+a.knownSeen >= len(knownMethods)+maxOtherMethods {
		return otherMethodBucket
	}
	return m
}

// countRequest counts a request by its method: the known methods in an
// array, the others in Summary.Requests (see summaryMethod). Summary
// lookups by name, with the name hashed, were 1% of the work of a
// message; countedInSummary moves the counts there.
func (a *Analyzer) countRequest(m string) {
	if i := knownMethod(m); i >= 0 {
		if a.methodCounts[i] == 0 {
			a.knownSeen++
		}
		a.methodCounts[i]++
		return
	}
	a.rep.Summary.Requests[a.summaryMethod(m)]++
}

// countResponse counts a response by its status code, in an array for the
// codes up to 699 (see countedInSummary).
func (a *Analyzer) countResponse(code int) {
	if code >= 0 && code < len(a.codeCounts) {
		a.codeCounts[code]++
		return
	}
	a.rep.Summary.Responses[strconv.Itoa(code)]++
}

// countedInSummary adds the requests and responses counted in arrays to
// the summary's counts by name, once, for the report.
func (a *Analyzer) countedInSummary() {
	s := &a.rep.Summary
	for i, n := range a.methodCounts {
		if n > 0 {
			s.Requests[knownMethods[i]] += n
		}
	}
	for code, n := range a.codeCounts {
		if n > 0 {
			s.Responses[strconv.Itoa(code)] += n
		}
	}
	a.methodCounts, a.codeCounts = [len(knownMethods)]int{}, [len(a.codeCounts)]int{}
}

// reported reports whether the call with this Call-ID was reported a
// short while ago (a generation of Timer B or two): what still comes of it
// are late retransmissions, counted in the summary but no new exchange.
func (a *Analyzer) reported(callID string) bool {
	_, ok := a.recent.get(a.fp.of(callID))
	return ok
}

// captureDuplicate is how close in time two copies of one message on one
// path must be to be the capture seeing a packet twice rather than a
// retransmission (the shortest SIP retransmission interval is T1, 500 ms).
const captureDuplicate = 5 * time.Millisecond

// isRetransmission reports whether the same message was already seen on
// the same path: same transaction, same direction, same start line; and
// whether it is a copy made by the capture itself.
func (a *Analyzer) isRetransmission(m *Message) (retrans, dup bool) {
	var k fingerprint
	if m.pre.ok && m.pre.seed == a.fp.seed {
		k = m.pre.fp
	} else {
		k = a.fp.message(m)
	}
	// The time is kept as nanoseconds: a map without pointers, which the
	// garbage collector does not have to scan.
	now := m.Time.UnixNano()
	if prev, ok := a.seen.get(k); ok {
		a.seen.put(k, now)
		d := time.Duration(now - prev)
		return true, d >= 0 && d < captureDuplicate
	}
	a.seen.put(k, now)
	return false, false
}

// fingerprint is a 64-bit hash of the fields that identify a message or a
// call: a fixed 8 bytes per entry, however long the Call-ID or branch a
// sender makes up (a map keyed by the strings held 756 MB after 30 000
// messages with 20 KB methods). The hash is maphash with a seed of the
// analyzer's own, which a sender cannot know: with the at most 200 000
// fingerprints held at a time, two messages share one by chance about
// once in 10^9 captures, and 8 bytes instead of 16 make the tables of
// every message of the last Timer B a third smaller.
type fingerprint uint64

// fingerprinter hashes with a seed of its own. The fields are put one
// after the other into buf and hashed at once (maphash.Bytes gives what a
// maphash.Hash fed the same bytes gives): writing each field into a Hash
// copied it into the Hash's buffer, a tenth of the fingerprint's cost.
type fingerprinter struct {
	seed maphash.Seed
	buf  []byte
}

func newFingerprinter() *fingerprinter { return fingerprinterWith(maphash.MakeSeed()) }

func fingerprinterWith(seed maphash.Seed) *fingerprinter {
	return &fingerprinter{seed: seed}
}

// message is the fingerprint of a message for the retransmission check:
// a repeat has the same addresses, Call-ID, CSeq, top Via branch and
// method or status (and To tag).
func (f *fingerprinter) message(m *Message) fingerprint {
	v, _ := m.topVia()
	b := appendAddr(f.buf[:0], m.Src)
	b = appendAddr(b, m.Dst)
	b = appendStr(b, m.CallID)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.CSeq))
	b = appendStr(b, m.CSeqMethod)
	b = appendStr(b, v.Branch)
	if m.Request {
		b = appendStr(append(b, 'q'), m.Method)
	} else {
		b = binary.LittleEndian.AppendUint64(append(b, 'r'), uint64(m.StatusCode))
		b = appendStr(b, m.To.Tag)
	}
	f.buf = b
	return fingerprint(maphash.Bytes(f.seed, b))
}

func (f *fingerprinter) of(parts ...string) fingerprint {
	b := f.buf[:0]
	for _, p := range parts {
		b = appendStr(b, p)
	}
	f.buf = b
	return fingerprint(maphash.Bytes(f.seed, b))
}

// appendStr appends s and a 0 that ends it.
func appendStr(b []byte, s string) []byte { return append(append(b, s...), 0) }

// appendAddr appends an address as its binary form, which tells what its
// text tells (IPv4 from IPv4-mapped IPv6, the zone, the port), with its
// length first; an invalid one (no address, as in a log) as a zero length.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return append(b, 0)
	}
	n := len(b)
	b, _ = ap.AppendBinary(append(b, 0))
	b[n] = byte(len(b) - n - 1)
	return b
}

// noteHosts notes what a message says of its sender and receiver (their
// agent, that they exchange requests, their host names) for the roles.
// Most messages repeat what one of the last few said, which changes
// nothing: those are recognised in hostMemo without the dozen map lookups
// (with addresses to hash) that noting takes.
func (a *Analyzer) noteHosts(m *Message, src, dst netip.AddrPort) {
	k := hostNote{file: m.File, src: src, dst: dst, request: m.Request, agent: m.UserAgent, fromHost: m.From.Host}
	if !m.Request && m.Server != "" {
		k.agent = m.Server
	}
	if v, ok := m.topVia(); ok {
		k.viaHost = v.Host
	}
	switch {
	case m.Method == "REGISTER":
		k.kind = 1
	case m.Method == "INVITE" && m.To.Tag == "":
		k.kind = 2
	case m.Method != "" && m.Request:
		k.kind = 3 // noteEndpoints reads no more of the method than this
	}
	if a.noted.has(k) {
		return
	}
	full := a.endpointsFull
	a.noteAgent(m, src)
	a.noteEndpoints(m, src, dst)
	// Noting the same again changes nothing, unless the endpoint table
	// was full (which is counted each time).
	if a.endpointsFull == full {
		a.noted.put(k)
	}
}

// hostNote is what noteAgent and noteEndpoints read of a message.
type hostNote struct {
	file                     string
	src, dst                 netip.AddrPort
	request                  bool
	kind                     uint8
	agent, fromHost, viaHost string
}

// hostMemo holds recent hostNotes noted, each in the slot its ports,
// direction and kind pick (one comparison, not a walk over all of them).
type hostMemo struct {
	notes [16]hostNote
	ok    [16]bool
}

func (k *hostNote) slot() int {
	h := uint(k.src.Port())*5 + uint(k.dst.Port())*11 + uint(k.kind)*3 + uint(len(k.agent))
	if k.request {
		h += 7
	}
	h ^= h >> 4
	return int(h % 16)
}

func (h *hostMemo) has(k hostNote) bool {
	i := k.slot()
	return h.ok[i] && h.notes[i] == k
}

func (h *hostMemo) put(k hostNote) {
	i := k.slot()
	h.notes[i], h.ok[i] = k, true
}

func (a *Analyzer) noteAgent(m *Message, src netip.AddrPort) {
	if !src.IsValid() || a.agents[src] != "" || len(a.agents) >= maxEndpoints {
		return
	}
	agent := m.UserAgent
	if !m.Request && m.Server != "" {
		agent = m.Server
	}
	if len(agent) > maxAgentLen {
		// Kept for every host: a copy of the start, not the sender's
		// 60 KB header.
		agent = strings.Clone(agent[:maxAgentLen])
	}
	if agent != "" {
		a.agents[src] = agent
	}
}

// maxAgentLen bounds the User-Agent or Server kept per host.
const maxAgentLen = 256

// OpenCall reports whether the analyzer holds the call with this Call-ID
// open: a live collector keeps a call's raw messages only while it does.
func (a *Analyzer) OpenCall(callID string) bool { return a.calls[callID] != nil }

// OpenCalls returns how many calls are open.
func (a *Analyzer) OpenCalls() int { return len(a.calls) }

// NewInterner returns an Interner whose messages come with what the
// analyzer a would work out for each of them on its own goroutine (the
// endpoints, the retransmission fingerprint with a's seed): ingest decodes
// on one goroutine and analyzes on another, and the analyzing one is the
// busier. The Interner is used on the decoding goroutine only.
func (a *Analyzer) NewInterner() *Interner {
	return &Interner{fpr: fingerprinterWith(a.fp.seed)}
}

// Pressure counts what the analyzer's memory bounds turned away: endpoints
// seen after the endpoint table was full (their roles are not worked
// out), and retransmission-fingerprint generations ended early because
// they were full (retransmissions older than that are then not
// recognised).
type Pressure struct {
	EndpointsUntracked  int
	FingerprintsRotated int
	// MediaWaitCapped counts finished calls reported without waiting for
	// their agents' last reports, because MaxMediaWaiting calls already
	// waited.
	MediaWaitCapped int
}

// Pressure returns the counts so far.
func (a *Analyzer) Pressure() Pressure {
	return Pressure{EndpointsUntracked: a.endpointsFull, FingerprintsRotated: a.seen.early, MediaWaitCapped: a.waitCapped}
}

// MediaWaiting returns how many finished calls were waiting for their
// agents' last reports (Options.MediaWait) at the last sweep.
func (a *Analyzer) MediaWaiting() int { return a.waiting }

// finished reports whether a call can be reported at time now: it ended
// (BYE, a failure answer, no answer at all) and has been quiet long enough
// for retransmissions and late ACKs, or it has been silent for hours.
func (c *callState) finished(now time.Time, settle time.Duration) bool {
	idle := now.Sub(c.last)
	if idle >= idleClose {
		return true
	}
	if idle < settle {
		return false
	}
	prim := c.primary()
	if len(prim) == 0 {
		return true
	}
	last := decisive(prim)
	switch {
	case last.final != nil && last.final.code < 300:
		return len(c.byes) > 0
	case last.final != nil:
		return true
	case len(last.provisional) == 0:
		// Nothing came back yet: the caller waits Timer B from its
		// INVITE (RFC 3261 §17.1.1.2) on packet time, whatever Settle a
		// live collector chose, so that live and batch give one verdict.
		return now.Sub(last.req.time) >= TimerB || last.cancel != nil
	}
	return idle >= TimerC
}

// sweep reports the calls, registrations and exchanges that are finished;
// at the end of the input (all) it reports everything still open.
func (a *Analyzer) sweep(all bool) {
	now := a.last
	rm := a.roles()
	// Calls are kept in the order of their last message: only those quiet
	// for Settle can be finished, so the walk stops at the first that is not.
	//
	// A call that is over on the wire is reported after overQuiet, the
	// others after Settle: at thousands of calls a second, holding every
	// finished call for Timer B is what memory would be spent on.
	quick := min(a.settle, overQuiet)
	var ready []*callState
	waiting := a.waitBuf[:0]
	for c := a.quiet.head; c != nil; c = c.next {
		if !all && now.Sub(c.last) < min(quick, cleanQuiet) {
			break
		}
		if all || c.ready(now, a.settle, quick) && c.downFinished(now, a.settle, quick) {
			if !all && a.awaitsReports(c, now) {
				waiting = append(waiting, c)
				continue
			}
			ready = append(ready, c)
		}
	}
	// Past the bound, the calls that ended the longest ago (the walk's
	// first) wait no more.
	a.waiting = len(waiting)
	if over := len(waiting) - a.opt.MaxMediaWaiting; over > 0 {
		ready = append(ready, waiting[:over]...)
		a.waitCapped += over
		a.waiting -= over
	}
	clear(waiting) // the buffer keeps no reported call
	a.waitBuf = waiting[:0]
	a.ageEarly(now)
	sort.Slice(ready, func(i, j int) bool { return ready[i].order < ready[j].order })
	a.report(ready, rm)
	a.sweepOthers(rm, now, all)
}

// report explains the calls, hands them on and forgets them.
func (a *Analyzer) report(ready []*callState, rm roleMap) {
	// Ringing times first, so that the first of several calls ended by
	// the same timer is recognised too.
	for _, c := range ready {
		a.noteRing(c)
	}
	perFile := map[string]roleMap{}
	for _, c := range ready {
		call := a.explainCall(c, a.rolesFor(c.file, rm, perFile))
		a.attachMedia(c, call, rm)
		a.attachReported(c, call)
		if c.linkedUp != nil {
			call.Linked = append(call.Linked, c.linkedUp.callID)
			call.LegOf = c.linkedUp.callID
		}
		for _, d := range c.linkedDown {
			call.Linked = append(call.Linked, d.callID)
		}
		a.metrics.addCall(call, c)
		a.countOutcome(call)
		delete(a.calls, c.callID)
		if c.listed {
			a.quiet.remove(c)
		}
		a.unindex(c)
		if len(c.invites) > 0 {
			a.recent.put(a.fp.of(c.callID), c.invites[len(c.invites)-1].req.cseq)
		}
		if a.opt.OnCall != nil {
			a.opt.OnCall(call)
		} else {
			a.rep.Calls = append(a.rep.Calls, call)
		}
	}
}

// FinishOldest reports the n open calls that have been quiet the longest,
// as they stand, to make room: a live collector under load calls it, and
// the analyzer itself does when MaxOpenCalls is reached.
func (a *Analyzer) FinishOldest(n int) {
	if n <= 0 || len(a.calls) == 0 {
		return
	}
	open := make([]*callState, 0, n)
	for c := a.quiet.head; c != nil && len(open) < n; c = c.next {
		open = append(open, c)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].order < open[j].order })
	a.forced += len(open)
	a.report(open, a.roles())
}

// Forced returns how many calls were reported before they were over, to
// keep within MaxOpenCalls or by FinishOldest.
func (a *Analyzer) Forced() int { return a.forced }

// sweepOthers reports the registrations and other exchanges that are over.
func (a *Analyzer) sweepOthers(rm roleMap, now time.Time, all bool) {
	var regs []*regState
	for _, r := range a.regs {
		regs = append(regs, r)
	}
	sort.Slice(regs, func(i, j int) bool { return regs[i].order < regs[j].order })
	for _, r := range regs {
		for _, reg := range a.closedRegisters(r, rm, now, all) {
			a.metrics.addRegister(reg)
			if a.opt.OnRegister != nil {
				a.opt.OnRegister(reg)
			} else {
				a.rep.Registrations = append(a.rep.Registrations, reg)
			}
			a.rep.Summary.Registrations++
		}
		if len(r.txns) == 0 {
			delete(a.regs, r.callID)
		}
	}
	var dlgs []string
	for k, d := range a.dlgs {
		if all || now.Sub(d.last) >= a.settle {
			dlgs = append(dlgs, k)
		}
	}
	sort.Slice(dlgs, func(i, j int) bool { return a.dlgs[dlgs[i]].order < a.dlgs[dlgs[j]].order })
	for _, k := range dlgs {
		d := a.explainDialog(a.dlgs[k])
		delete(a.dlgs, k)
		if a.opt.OnDialog != nil {
			a.opt.OnDialog(d)
		} else {
			a.rep.Dialogs = append(a.rep.Dialogs, d)
		}
	}
	// Fingerprints and reported calls are forgotten a generation (Timer B
	// or more) later, without walking them.
	a.seen.age(now)
	a.recent.age(now)
}

// ready reports whether the call can be reported at time now: it is over
// and has been quiet for quick, or it is finished (see finished).
func (c *callState) ready(now time.Time, settle, quick time.Duration) bool {
	if !c.resent {
		quick = min(quick, cleanQuiet)
	}
	return now.Sub(c.last) >= quick && c.over() || c.finished(now, settle)
}

// over reports whether everything in the call has ended on the wire: every
// transaction has its final answer, every failure answer to an INVITE its
// ACK (RFC 3261 §17.1.1.3), and an answered call its ACKs (§13.2.2.4) and
// an answered BYE (§15.1.1). Nothing more is to come but retransmissions.
func (c *callState) over() bool {
	if len(c.invites) == 0 {
		return false
	}
	oks := 0
	for _, t := range c.txns() {
		switch {
		case t.final == nil:
			return false
		case t.method != "INVITE":
		case t.final.code >= 300:
			if !t.acked {
				return false
			}
		default:
			oks++
		}
	}
	return oks == 0 || len(c.acks2xx) >= oks && len(c.byes) > 0
}

// downFinished reports whether the legs this call was forwarded on are
// finished too, so that its explanation can use them.
func (c *callState) downFinished(now time.Time, settle, quick time.Duration) bool {
	for _, d := range c.linkedDown {
		if !d.ready(now, settle, quick) && !d.emitted {
			return false
		}
	}
	return true
}

func (a *Analyzer) countOutcome(c *Call) {
	s := &a.rep.Summary
	s.Calls++
	s.Outcomes[c.Outcome]++
	switch c.Outcome {
	case OutcomeAnswered:
		s.Answered++
	case OutcomeBusy, OutcomeRejected, OutcomeNoAnswer, OutcomeTimeout, OutcomeFailed:
		s.Failed++ // a cancelled, redirected or unfinished call is no failure
	}
}

// ObserveEnd tells the analyzer that the input went on until t, also when
// the last packets were not SIP (a TCP FIN, RTP): timers such as Timer B
// run until the end of the capture, not the last SIP message. The time of a
// frame found to be an outlier moves nothing.
func (a *Analyzer) ObserveEnd(t time.Time) {
	if a.pending != nil {
		a.resolvePending(time.Time{}, false)
	}
	if !a.outlier.IsZero() && absDur(t.Sub(a.outlier)) < time.Second {
		return
	}
	if t.After(a.last) {
		a.last = t
	}
	if e := a.fileEnd[a.curFile]; e != nil && t.After(*e) {
		*e = t
	}
	if len(a.fileEnd) == 0 {
		a.fileEnd[a.curFile] = &t
	}
}

// timeAt is *p, or the zero time for nil.
func timeAt(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// endOf returns the end of the input that file belongs to: the time its
// timers run until. With one input that is the end of the input.
func (a *Analyzer) endOf(file string) time.Time {
	if len(a.fileEnd) <= 1 {
		return a.last
	}
	if e := a.fileEnd[file]; e != nil {
		return *e
	}
	return a.last
}

func (a *Analyzer) fileLast(c *callState) time.Time { return a.endOf(c.file) }

// Flush moves the analyzer's clock to now (when later than the last
// message) and reports what is finished by then. A live collector calls it
// on a timer, since with no traffic no message would move time on.
func (a *Analyzer) Flush(now time.Time) {
	if a.pending != nil {
		a.resolvePending(now, true)
	}
	a.ObserveEnd(now)
	a.sinceSwp = 0
	a.sweep(false)
}

// Finish reports everything still open and returns the report. The
// Analyzer must not be used afterwards.
func (a *Analyzer) Finish() *Report {
	if a.pending != nil {
		a.resolvePending(time.Time{}, false)
	}
	a.sweep(true)
	a.countedInSummary()
	rm := a.roles()
	s := &a.rep.Summary
	if !a.first.IsZero() {
		f, l := a.first.UTC(), a.last.UTC()
		s.First, s.Last = &f, &l
	}
	a.rep.Integrity = a.integrity
	a.rep.Hosts = a.hostList(rm)
	a.rep.Metrics = a.metrics.result()
	a.rep.Media = a.mediaList()
	a.rep.Findings = a.inputFindings()
	if a.rep.Findings == nil {
		a.rep.Findings = []Finding{}
	}
	if a.rep.Inputs == nil {
		a.rep.Inputs = []Input{}
	}
	return &a.rep
}

// generations is a map that forgets its entries one to two periods of
// TimerB after they were last put, in O(1): lookups see the current and the
// previous generation, and each period the previous one is dropped. Its
// size is bounded too: a generation that grows past maxOpenItems ends early.
type generations[V any] struct {
	cur, prev fpTable[V]
	since     time.Time
	early     int // generations ended because they were full
	// A bit for each fingerprint put in a generation, picked by its top
	// bits: a fingerprint whose bit is clear in both was not put, and
	// needs no probe of the tables. Most messages are new; their lookups
	// missed in two tables of a hundred thousand entries each, out of the
	// processor's caches, and now mostly stop at two bits in 256 KiB.
	curBits, prevBits []uint64
}

// genBits is the number of bits of each generation's filter: ten times
// maxOpenItems/2, so that a full generation sets a tenth of them.
const (
	genShift = 20
	genBits  = 1 << genShift
)

func newGenerations[V any]() generations[V] {
	return generations[V]{}
}

func (g *generations[V]) get(k fingerprint) (V, bool) {
	if g.curBits != nil {
		i := uint64(k) >> (64 - genShift)
		if (g.curBits[i/64]|g.prevBits[i/64])&(1<<(i%64)) == 0 {
			var zero V
			return zero, false
		}
	}
	if v, ok := g.cur.get(k); ok {
		return v, true
	}
	return g.prev.get(k)
}

func (g *generations[V]) put(k fingerprint, v V) {
	if g.cur.n >= maxOpenItems/2 {
		g.rotate()
		g.early++
	}
	g.cur.put(k, v)
	if g.curBits == nil && g.cur.n+g.prev.n > 4096 {
		// A small capture does without the filter's 256 KiB.
		g.curBits, g.prevBits = make([]uint64, genBits/64), make([]uint64, genBits/64)
		g.cur.each(func(f fingerprint) { g.mark(g.curBits, f) })
		g.prev.each(func(f fingerprint) { g.mark(g.prevBits, f) })
	}
	if g.curBits != nil {
		g.mark(g.curBits, k)
	}
}

func (g *generations[V]) mark(bits []uint64, k fingerprint) {
	i := uint64(k) >> (64 - genShift)
	bits[i/64] |= 1 << (i % 64)
}

// rotate starts a new generation: the current one becomes the previous,
// and the previous is dropped (its table is emptied for the new one).
func (g *generations[V]) rotate() {
	g.prev, g.cur = g.cur, g.prev
	g.cur.reset()
	if g.curBits != nil {
		g.prevBits, g.curBits = g.curBits, g.prevBits
		clear(g.curBits)
	}
}

// fpTable is a hash table of fingerprints. A fingerprint is a hash
// already, so its low bits pick the slot, and linear probing keeps a
// lookup's probes in one or two cache lines; a Go map would hash it again
// and spread a table's slots over groups. It grows to at most 4/5 full,
// which at maxOpenItems/2 entries is 131,072 slots, about what a Go map
// of that many takes. The fingerprints are hashed with a random seed
// (maphash.MakeSeed): no sender can aim its messages at one run of slots.
type fpTable[V any] struct {
	keys []fingerprint // 0 is an empty slot
	vals []V
	n    int // entries, the one of fingerprint 0 included
	// The fingerprint 0 cannot mark its slot: it is held apart.
	zero    bool
	zeroVal V
}

func (t *fpTable[V]) get(k fingerprint) (V, bool) {
	if k == 0 {
		return t.zeroVal, t.zero
	}
	if t.keys != nil {
		mask := uint64(len(t.keys) - 1)
		for i := uint64(k) & mask; ; i = (i + 1) & mask {
			switch t.keys[i] {
			case k:
				return t.vals[i], true
			case 0:
				var zero V
				return zero, false
			}
		}
	}
	var zero V
	return zero, false
}

func (t *fpTable[V]) put(k fingerprint, v V) {
	if k == 0 {
		if !t.zero {
			t.n++
		}
		t.zero, t.zeroVal = true, v
		return
	}
	if (t.n+1)*5 > len(t.keys)*4 {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	i := uint64(k) & mask
	for t.keys[i] != 0 && t.keys[i] != k {
		i = (i + 1) & mask
	}
	if t.keys[i] == 0 {
		t.keys[i] = k
		t.n++
	}
	t.vals[i] = v
}

// grow doubles the table (from 256 slots) and puts its entries again.
func (t *fpTable[V]) grow() {
	keys, vals := t.keys, t.vals
	size := max(256, 2*len(keys))
	t.keys, t.vals = make([]fingerprint, size), make([]V, size)
	mask := uint64(size - 1)
	for j, k := range keys {
		if k == 0 {
			continue
		}
		i := uint64(k) & mask
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.vals[i] = k, vals[j]
	}
}

// reset empties the table and keeps its slots for the next generation.
func (t *fpTable[V]) reset() {
	clear(t.keys)
	t.n, t.zero = 0, false
	var zero V
	t.zeroVal = zero
}

// each calls f with every fingerprint held.
func (t *fpTable[V]) each(f func(fingerprint)) {
	if t.zero {
		f(0)
	}
	for _, k := range t.keys {
		if k != 0 {
			f(k)
		}
	}
}

// age starts a new generation when the current one is a period old.
func (g *generations[V]) age(now time.Time) {
	if g.since.IsZero() {
		g.since = now
	}
	if now.Sub(g.since) >= TimerB {
		g.rotate()
		g.since = now
	}
}
