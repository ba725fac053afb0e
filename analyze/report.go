package analyze

import "time"

// SchemaVersion is the version of the JSON report; it changes only when a
// field is renamed or removed, or changes meaning. Version 2: findings carry
// values instead of a text; the report package renders the texts.
const SchemaVersion = 2

// Report is the result of an analysis: one model that the report package
// renders as text, JSON, CSV and HTML.
type Report struct {
	SchemaVersion int            `json:"schema_version"`
	Lang          string         `json:"lang"`
	Inputs        []Input        `json:"inputs"`
	Summary       Summary        `json:"summary"`
	Calls         []*Call        `json:"calls"`
	Registrations []*Register    `json:"registrations"`
	Dialogs       []*Dialog      `json:"dialogs"`  // non-INVITE exchanges: OPTIONS, SUBSCRIBE/NOTIFY, MESSAGE, REFER, ...
	Findings      []Finding      `json:"findings"` // about the whole input (capture gaps, packet loss)
	Media         []*MediaStream `json:"media"`    // every RTP stream found, whether a call claims it or not
	Metrics       Metrics        `json:"metrics"`
	Integrity     Integrity      `json:"integrity"`
	Hosts         []Host         `json:"hosts"`
}

// Input is one file that was read.
type Input struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Error  string `json:"error,omitempty"`
}

// Summary counts what the input held.
type Summary struct {
	Messages      int            `json:"messages"`
	Requests      map[string]int `json:"requests"`  // method -> request messages, retransmissions included
	Responses     map[string]int `json:"responses"` // status code -> response messages, retransmissions included
	Retransmitted int            `json:"retransmissions"`
	Duplicates    int            `json:"capture_duplicates"` // the same packet captured twice within 5 ms
	Calls         int            `json:"calls"`
	Answered      int            `json:"answered"`
	Failed        int            `json:"failed"`
	Outcomes      map[string]int `json:"outcomes"`
	Registrations int            `json:"registrations"`
	First         *time.Time     `json:"first,omitempty"`
	Last          *time.Time     `json:"last,omitempty"`
}

// Integrity is what the capture readers counted about the input itself, so
// that capture loss is never blamed on the network.
type Integrity struct {
	Frames              int `json:"frames"`
	SIPMessages         int `json:"sip_messages"`
	Truncated           int `json:"truncated"`
	FragmentsIncomplete int `json:"fragments_incomplete"`
	TCPGaps             int `json:"tcp_gaps"`
	EncryptedSIP        int `json:"encrypted_sip"`
	Malformed           int `json:"malformed"`
	NonSIP              int `json:"non_sip"`
	// TimeOutliers counts frames dated far (more than an hour) from both
	// neighbours: analyzed at their neighbour's time, not their own.
	TimeOutliers int `json:"time_outliers,omitempty"`
	// FragmentOverlaps counts IP fragments that overlapped others: for
	// IPv4 the first data was kept, an IPv6 datagram was discarded (RFC
	// 5722). Overlaps are a known way to hide content from a monitor.
	FragmentOverlaps int `json:"fragment_overlaps,omitempty"`
	// UnknownLinkType counts frames of a link-layer type the reader does
	// not decode: they may hold SIP nobody looked at.
	UnknownLinkType int `json:"unknown_link_type,omitempty"`
}

// Add adds the counts of o to i.
func (i *Integrity) Add(o Integrity) {
	i.Frames += o.Frames
	i.SIPMessages += o.SIPMessages
	i.Truncated += o.Truncated
	i.FragmentsIncomplete += o.FragmentsIncomplete
	i.TCPGaps += o.TCPGaps
	i.EncryptedSIP += o.EncryptedSIP
	i.Malformed += o.Malformed
	i.NonSIP += o.NonSIP
	i.TimeOutliers += o.TimeOutliers
	i.FragmentOverlaps += o.FragmentOverlaps
	i.UnknownLinkType += o.UnknownLinkType
}

// Host is one address seen, with the role the analyzer gave it.
type Host struct {
	Addr  string `json:"addr"`
	Role  string `json:"role"` // local, provider, remote
	Agent string `json:"agent,omitempty"`
	Why   string `json:"why"` // a phrase id of data/phrases.yaml: why the host has its role
}

// Finding is one observation as data: a stable ID, a severity, whose side
// it is on, the values it rests on (codes, addresses, seconds, counts) and
// the frames that show it. It holds no text: the report package renders
// the text of the ID from data/findings.yaml in the reader's language,
// filling the {placeholders} from Values and Parts, so a stored finding
// can be shown in any language without analysing again.
type Finding struct {
	ID       string            `json:"id"`
	Severity string            `json:"severity"` // error, warning, info
	Fault    string            `json:"fault,omitempty"`
	Values   map[string]string `json:"values"`
	Parts    map[string][]Part `json:"parts,omitempty"` // placeholders made of phrases
	Frames   []int             `json:"frames"`
}

// Part is one piece of a placeholder that is made of words rather than a
// value: a phrase of data/phrases.yaml with its own values, or text taken
// from the wire (Raw) that is shown as it is. Several parts are joined
// with "; ".
type Part struct {
	Phrase string            `json:"phrase,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	Raw    string            `json:"raw,omitempty"`
}

// Call is one INVITE dialog attempt: from the first INVITE to its end.
type Call struct {
	CallID      string     `json:"call_id"`
	From        string     `json:"from"` // caller URI
	To          string     `json:"to"`   // callee URI
	Caller      string     `json:"caller"`
	Callee      string     `json:"callee"`
	CallerName  string     `json:"caller_name,omitempty"`
	Asserted    string     `json:"asserted_identity,omitempty"`
	Src         string     `json:"src"` // who sent the first INVITE
	Dst         string     `json:"dst"` // where it went
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	Times       CallTimes  `json:"times"`
	FinalStatus int        `json:"final_status"`
	Reason      string     `json:"reason"`            // the phrase on the wire
	Registered  string     `json:"registered_reason"` // the registered phrase
	Outcome     string     `json:"outcome"`
	Fault       string     `json:"fault"`
	FinalFrom   *Responder `json:"final_from,omitempty"`
	EndedBy     string     `json:"ended_by,omitempty"` // caller, callee, unknown
	EndReason   string     `json:"end_reason,omitempty"`
	DurationMS  int64      `json:"duration_ms"`
	PDDMS       int64      `json:"post_dial_delay_ms"`
	Direction   string     `json:"direction"` // outgoing, incoming, internal, transit
	// EarlyDialogs counts the early dialogs (distinct To tags in
	// provisional answers): more than one means the call was forked to
	// several phones (RFC 3261 §13.2.2.4); 199 ends one of them (RFC 6228).
	EarlyDialogs int            `json:"early_dialogs"`
	Findings     []Finding      `json:"findings"`        // the first is the diagnosis, unless the call was answered
	Audio        *Audio         `json:"audio,omitempty"` // the media verdict, when media was read and the call had SDP
	Media        []*MediaStream `json:"media,omitempty"` // the call's RTP streams
	Reasons      []Decoded      `json:"reasons,omitempty"`
	Warnings     []Decoded      `json:"warnings,omitempty"`
	Linked       []string       `json:"linked,omitempty"` // Call-IDs of the same call at other hops
	LegOf        string         `json:"leg_of,omitempty"` // the Call-ID of the leg this one continues (a B2BUA's outgoing leg)
	Frames       []int          `json:"frames"`
	Messages     []Exchange     `json:"messages"`
	File         string         `json:"file,omitempty"`

	rule string // the verdict rule of callRules that decided a failed call (for tests)
}

// CallTimes are the moments of a call, from capture timestamps.
type CallTimes struct {
	Invite           time.Time  `json:"invite"`
	FirstProvisional *time.Time `json:"first_provisional,omitempty"`
	Ringing          *time.Time `json:"ringing,omitempty"`
	Answer           *time.Time `json:"answer,omitempty"`
	Final            *time.Time `json:"final,omitempty"`
	End              *time.Time `json:"end,omitempty"`
}

// Responder is the host that generated a final response.
type Responder struct {
	Addr  string `json:"addr"`
	Agent string `json:"agent,omitempty"` // Server or User-Agent
	Role  string `json:"role"`            // local, provider, remote
	Hop   int    `json:"hop"`             // 1 = the caller's next hop, 2 = one further, ...
}

// Decoded is a Reason (RFC 3326) or Warning (RFC 3261 §20.43) header
// value, where it was seen and who sent it; the report package gives its
// meaning from the catalog.
type Decoded struct {
	Value string `json:"value"`
	Frame int    `json:"frame"`
	From  string `json:"from"`
}

// Exchange is one message of a call, for the ladder diagram.
type Exchange struct {
	Frame   int       `json:"frame"`
	Time    time.Time `json:"time"`
	Src     string    `json:"src"`
	Dst     string    `json:"dst"`
	Label   string    `json:"label"` // INVITE, 180 Ringing, ...
	Retrans bool      `json:"retransmission,omitempty"`
	File    string    `json:"file,omitempty"`
}

// Register is one registration: a REGISTER with its challenges and retries
// until a final answer.
type Register struct {
	CallID      string     `json:"call_id"`
	AOR         string     `json:"aor"`
	Contact     string     `json:"contact"`
	Src         string     `json:"src"`
	Dst         string     `json:"dst"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	FinalStatus int        `json:"final_status"`
	Reason      string     `json:"reason"`
	Outcome     string     `json:"outcome"` // registered, unregistered, failed, timeout, incomplete
	Expires     int        `json:"expires"`
	Fault       string     `json:"fault"`
	Findings    []Finding  `json:"findings"` // the first is the diagnosis
	Attempts    int        `json:"attempts"`
	Frames      []int      `json:"frames"`
	Messages    []Exchange `json:"messages"`

	rule string // the rule of regRules that decided a failed registration (for tests)
}

// Dialog is a non-INVITE exchange (OPTIONS, SUBSCRIBE/NOTIFY, MESSAGE,
// REFER, PUBLISH, INFO outside a call), grouped by Call-ID.
type Dialog struct {
	CallID      string    `json:"call_id"`
	Method      string    `json:"method"`
	Src         string    `json:"src"`
	Dst         string    `json:"dst"`
	Start       time.Time `json:"start"`
	Requests    int       `json:"requests"`
	FinalStatus int       `json:"final_status"`
	Reason      string    `json:"reason"`
	Outcome     string    `json:"outcome"` // ok, failed, timeout, incomplete
	Fault       string    `json:"fault"`
	// Meaning is a phrase id (data/phrases.yaml) saying what the answer
	// means for this method when that differs from the code's general
	// meaning: a 404 to a SUBSCRIBE is no unknown number but no mailbox
	// or line to watch (RFC 6665, RFC 3842). Empty when it does not.
	Meaning string `json:"meaning,omitempty"`
	Frames  []int  `json:"frames"`
}

// Metrics are the RFC 6076 end-to-end performance metrics over the input,
// overall and per remote peer.
type Metrics struct {
	Overall MetricSet            `json:"overall"`
	PerPeer map[string]MetricSet `json:"per_peer"`
}

// MetricSet is one set of RFC 6076 metrics. Ratios are percentages; nil
// when the denominator is zero (RFC 6076 §4: undefined).
type MetricSet struct {
	Attempts  int          `json:"session_attempts"`
	SER       *float64     `json:"ser"`  // §4.6 Session Establishment Ratio
	SEER      *float64     `json:"seer"` // §4.7 Session Establishment Effectiveness Ratio
	ISA       *float64     `json:"isa"`  // §4.8 Ineffective Session Attempts
	SCR       *float64     `json:"scr"`  // §4.9 Session Completion Ratio
	SRD       Distribution `json:"srd_success_ms"`
	SRDFailed Distribution `json:"srd_failure_ms"`
	SDD       Distribution `json:"sdd_ms"`
	SDT       Distribution `json:"sdt_ms"`
	RRD       Distribution `json:"rrd_ms"`
	IRA       *float64     `json:"ira"` // §4.2 Ineffective Registration Attempts
	Registers int          `json:"registration_attempts"`
}

// Distribution summarises durations in milliseconds.
type Distribution struct {
	Count  int     `json:"count"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P95    float64 `json:"p95"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
}

// Diagnosis returns the finding that explains the call's outcome: the
// first finding, for every call that was not answered, and for an answered
// call whose audio failed (one-way audio, none at all).
func (c *Call) Diagnosis() (Finding, bool) {
	if len(c.Findings) == 0 {
		return Finding{}, false
	}
	if c.Outcome == OutcomeAnswered {
		// An answered call has a diagnosis only when its audio failed:
		// the media analysis then puts that finding first.
		if f := c.Findings[0]; f.Severity == "error" && IsMediaFinding(f.ID) {
			return f, true
		}
		return Finding{}, false
	}
	return c.Findings[0], true
}

// Diagnosis returns the finding that explains the registration's outcome.
func (r *Register) Diagnosis() (Finding, bool) {
	if len(r.Findings) == 0 {
		return Finding{}, false
	}
	return r.Findings[0], true
}
