package store

import (
	"context"
	"errors"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// Store keeps finished calls and registrations for the web UI and the API.
// The collector writes through it and the UI reads through it, so a
// distributed backend can replace the embedded SQLite one without touching
// either. Implementations are safe for concurrent use.
type Store interface {
	// PutCalls stores calls in one batch. When it returns nil every call
	// of the batch is durable: a restart or a killed process keeps it.
	PutCalls(ctx context.Context, calls []CallRecord) error
	// PutRegistrations stores registrations in one batch, durably as
	// PutCalls.
	PutRegistrations(ctx context.Context, regs []*analyze.Register) error
	// SearchCalls returns the calls that match q, newest first, without
	// their messages.
	SearchCalls(ctx context.Context, q Query) ([]CallSummary, error)
	// GetCall returns a call with its messages. id is the Call-ID; when
	// the same Call-ID was seen more than once the newest call is returned.
	// A missing call is ErrNotFound.
	GetCall(ctx context.Context, id string) (*CallRecord, error)
	// Timeline counts calls per time bucket for the RFC 6076 dashboard.
	Timeline(ctx context.Context, from, to time.Time, step time.Duration) ([]Bucket, error)
	// CountCalls counts the calls that match q, grouped by one column
	// and, when q.Step is set, by time bucket: the dashboard's failures
	// by cause, side and peer over time, and its top failing numbers.
	CountCalls(ctx context.Context, q CountQuery) ([]Count, error)
	// SearchRegistrations returns the registrations that match q, newest
	// first.
	SearchRegistrations(ctx context.Context, q RegQuery) ([]*analyze.Register, error)
	// Stats counts what the store holds.
	Stats(ctx context.Context) (Stats, error)
	// Retain deletes calls and registrations that started before t and
	// returns how many calls it deleted.
	Retain(ctx context.Context, before time.Time) (int64, error)
	// Close flushes and closes the store.
	Close() error
}

// ErrNotFound is returned by GetCall for an unknown call.
var ErrNotFound = errors.New("store: not found")

// CallRecord is one finished call as the analyzer explained it, with the
// SIP messages it was built from.
type CallRecord struct {
	Call     *analyze.Call
	Messages []RawMessage
	// Log, when set, holds the call's messages packed (a collector's
	// way): stores write it as it is, instead of packing Messages.
	Log *MessageLog
	// JSON, when set, is Call as json.Marshal writes it, made by the
	// caller ahead of PutCalls (a collector does it while the previous
	// batch is written): stores keep it as it is instead of marshaling
	// Call again.
	JSON []byte
	// Summary is the call's one-sentence summary for search results, in
	// the language of whoever stores it (the report package renders it;
	// the call itself holds data only).
	Summary string
}

// RawMessage is one SIP message of a call exactly as it was received, with
// the frame number the analyzer's findings refer to.
type RawMessage struct {
	Frame     int       `json:"frame"`
	Time      time.Time `json:"time"`
	Src       string    `json:"src"`
	Dst       string    `json:"dst"`
	Transport string    `json:"transport"`
	Raw       []byte    `json:"raw"`
}

// CallSummary is a row of a search result: the indexed columns of a call.
type CallSummary struct {
	CallID      string    `json:"call_id"`
	Start       time.Time `json:"start"`
	Caller      string    `json:"caller"`
	Callee      string    `json:"callee"`
	CallerName  string    `json:"caller_name,omitempty"`
	FinalStatus int       `json:"final_status"`
	Reason      string    `json:"reason"`
	Outcome     string    `json:"outcome"`
	Fault       string    `json:"fault"`
	Summary     string    `json:"summary"`
	DurationMS  int64     `json:"duration_ms"`
	PDDMS       int64     `json:"post_dial_delay_ms"`
}

// Query selects calls. Zero fields do not restrict.
type Query struct {
	Number  string    // a substring of the caller or callee (user part or URI)
	CallID  string    // exact Call-ID
	Status  int       // final status code
	Outcome string    // analyze.Outcome*
	Fault   string    // catalog.Fault
	Audio   string    // AudioProblem or AudioOK: the call's audio verdict, when it had one
	From    time.Time // start at or after
	To      time.Time // start before
	Limit   int       // at most this many; 0 means 100, capped at 1000
	Offset  int
}

// Values of Query.Audio and of what a store keeps of a call's audio
// verdict (analyze.Audio): a helpdesk searches for calls with audio in one
// direction only, none at all, or a poor MOS.
const (
	AudioProblem = "problem"
	AudioOK      = "ok"
)

// AudioClass is what a store keeps of a call's audio verdict:
// AudioProblem (analyze.Audio.Problem), AudioOK, or "" when the call had
// no verdict (no media was read or reported).
func AudioClass(c *analyze.Call) string {
	switch {
	case c == nil || c.Audio == nil:
		return ""
	case c.Audio.Problem():
		return AudioProblem
	}
	return AudioOK
}

// MaxLimit caps Query.Limit.
const MaxLimit = 1000

// Bucket is the count of calls that started in one time interval, with
// what RFC 6076 §4 needs to compute its ratios: SER (§4.6), SEER (§4.7),
// ISA (§4.8), SCR (§4.9) and the session request delay (§4.3).
type Bucket struct {
	Start       time.Time `json:"start"`
	Attempts    int       `json:"session_attempts"`
	Answered    int       `json:"answered"`    // 2xx
	Redirected  int       `json:"redirected"`  // 3xx
	Effective   int       `json:"effective"`   // 2xx, 480, 486, 600, 603
	Ineffective int       `json:"ineffective"` // 408, 500, 503, 504 and timeouts
	PDDSumMS    int64     `json:"pdd_sum_ms"`  // over calls with a post-dial delay
	PDDCount    int       `json:"pdd_count"`
}

// SER is the Session Establishment Ratio of RFC 6076 §4.6 in percent; ok
// is false when it is undefined (no attempts besides redirections).
func (b Bucket) SER() (float64, bool) { return pct(b.Answered, b.Attempts-b.Redirected) }

// SEER is the Session Establishment Effectiveness Ratio of RFC 6076 §4.7.
func (b Bucket) SEER() (float64, bool) { return pct(b.Effective, b.Attempts-b.Redirected) }

// ISA is the Ineffective Session Attempts ratio of RFC 6076 §4.8.
func (b Bucket) ISA() (float64, bool) { return pct(b.Ineffective, b.Attempts) }

// SCR is the Session Completion Ratio of RFC 6076 §4.9 (answered calls;
// the capture cannot tell a completed session from an answered one).
func (b Bucket) SCR() (float64, bool) { return pct(b.Answered, b.Attempts) }

// MeanPDD is the mean post-dial delay in milliseconds (RFC 6076 §4.3).
func (b Bucket) MeanPDD() (float64, bool) {
	if b.PDDCount == 0 {
		return 0, false
	}
	return float64(b.PDDSumMS) / float64(b.PDDCount), true
}

func pct(n, d int) (float64, bool) {
	if d <= 0 {
		return 0, false
	}
	return float64(n) * 100 / float64(d), true
}

// Stats counts what a store holds.
type Stats struct {
	Calls         int64     `json:"calls"`
	Messages      int64     `json:"messages"`
	Registrations int64     `json:"registrations"`
	Oldest        time.Time `json:"oldest,omitzero"`
	Newest        time.Time `json:"newest,omitzero"`
	Bytes         int64     `json:"bytes"` // on disk, when known
}

// Peer is the host a call failed at or went to: the sender of the final
// response (RFC 3261 §8.1.3.3) when one came back, otherwise where the
// INVITE was sent. The dashboard counts failures per peer.
func Peer(c *analyze.Call) string {
	if c.FinalFrom != nil && c.FinalFrom.Addr != "" {
		return c.FinalFrom.Addr
	}
	return c.Dst
}

// The columns CountQuery.By groups by.
const (
	ByStatus = "status" // final status code; 0 when no final response came
	ByFault  = "fault"  // whose side (catalog.Fault)
	ByPeer   = "peer"   // see Peer
	ByAudio  = "audio"  // AudioClass: problem, ok, "" without a verdict
	ByCallee = "callee" // the number called
	ByCaller = "caller" // the number calling
)

// FailedOutcomes are the outcomes a call did not go through with, as a
// caller sees it (analyze.Outcome*): answered, cancelled by the caller,
// redirected and incomplete calls are not failures.
var FailedOutcomes = []string{"busy", "rejected", "no_answer", "timeout", "failed"}

// CountQuery selects and groups calls for CountCalls.
type CountQuery struct {
	From, To time.Time     // start in [From, To); both required
	Step     time.Duration // bucket width; 0 counts the whole period
	By       string        // ByStatus, ByFault, ByPeer, ByCallee, ByCaller or ByAudio
	Outcomes []string      // only these outcomes; nil means all
	// Top keeps the Top groups with the most calls over the whole
	// period (0 keeps all, capped at MaxLimit).
	Top int
}

// Count is the number of calls of one group in one time bucket. Start is
// zero when the query had no Step.
type Count struct {
	Start time.Time `json:"start,omitzero"`
	Key   string    `json:"key"`
	Count int       `json:"count"`
}

// RegQuery selects registrations. Zero fields do not restrict.
type RegQuery struct {
	AOR     string    // a substring of the address of record
	Outcome string    // registered, unregistered, failed, timeout, incomplete
	From    time.Time // start at or after
	To      time.Time // start before
	// Latest keeps only the newest registration of each address of record
	// (before Outcome is applied): who is registered now, who is failing.
	Latest bool
	Limit  int // at most this many; 0 means 100, capped at MaxLimit
	Offset int
}

// SizeLimited is a store that can keep itself within a disk budget by
// deleting its oldest calls (the SQLite store; ClickHouse has its own TTLs
// and quotas).
type SizeLimited interface {
	PruneToSize(ctx context.Context, max int64) (deletedCalls int64, err error)
}
