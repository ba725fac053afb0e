package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/report"
)

// NotFoundError is a filter (--call, --number) that matched nothing in
// inputs that were read: exit status 1, with the reason on standard error.
type NotFoundError struct{ Msg string }

func (e *NotFoundError) Error() string { return e.Msg }

// tzFlag registers --tz on fs: the zone times are shown in. Without it the
// system's zone is used (TZ respected); JSON always stays in UTC.
func tzFlag(fs *flag.FlagSet) func(Env) (report.Clock, error) {
	s := fs.String("tz", "", "time zone of the times shown: an IANA name (Europe/Amsterdam), UTC or local (default: the system's zone, TZ respected)")
	return func(env Env) (report.Clock, error) {
		return clockFor(*s, env)
	}
}

// clockFor resolves a --tz value. "" and "local" mean the system's zone:
// TZ when set, else the zone /etc/localtime names.
func clockFor(s string, env Env) (report.Clock, error) {
	switch strings.ToLower(s) {
	case "utc", "z":
		return report.Clock{Loc: time.UTC, Name: "UTC"}, nil
	case "", "local":
		if tz := strings.TrimPrefix(env.Getenv("TZ"), ":"); tz != "" {
			if loc, err := time.LoadLocation(tz); err == nil {
				return report.Clock{Loc: loc, Name: tz}, nil
			}
		}
		if name := systemZoneName(); name != "" {
			if loc, err := time.LoadLocation(name); err == nil {
				return report.Clock{Loc: loc, Name: name}, nil
			}
		}
		return report.Clock{Loc: time.Local, Name: time.Now().Format("MST")}, nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return report.Clock{}, usagef("--tz %q: not a time zone (try Europe/Amsterdam or UTC)", s)
	}
	return report.Clock{Loc: loc, Name: s}, nil
}

// systemZoneName is the IANA name of the system's zone, from the link
// /etc/localtime (…/zoneinfo/Europe/Amsterdam) or /etc/timezone.
func systemZoneName() string {
	if target, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if i := strings.Index(target, "zoneinfo/"); i >= 0 {
			return target[i+len("zoneinfo/"):]
		}
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

// rawStore keeps the bytes of each SIP message as captured, for the HTML
// page, up to a bound so that a huge capture cannot exhaust memory (the
// page details 500 calls at most anyway). The capture is read on one
// goroutine and the calls are reported on another: hence the lock.
type rawStore struct {
	mu      sync.Mutex
	msgs    map[rawKey]*string
	order   []rawKey // in the order captured, when ordered
	ordered bool
	bytes   int
}

type rawKey struct {
	file  string
	frame int
}

const rawStoreMax = 64 << 20

// newRawStore starts an empty store; ordered keeps the order the
// messages came in, for texts.
func newRawStore(ordered bool) *rawStore {
	return &rawStore{msgs: map[rawKey]*string{}, ordered: ordered}
}

func (r *rawStore) add(file string, frame int, b []byte) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes+len(b) > rawStoreMax {
		return
	}
	k := rawKey{file, frame}
	if _, dup := r.msgs[k]; dup {
		return
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	r.msgs[k] = &s
	if r.ordered {
		r.order = append(r.order, k)
	}
	r.bytes += len(s)
}

// drop lets go of the messages of a call the page will not detail, so
// that the room is there for the calls it will (review L9). A store kept
// in order keeps everything.
func (r *rawStore) drop(ms []analyze.Exchange) {
	if r == nil || r.ordered {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms {
		k := rawKey{m.File, m.Frame}
		if s, ok := r.msgs[k]; ok {
			r.bytes -= len(*s)
			delete(r.msgs, k)
		}
	}
}

// get returns the message of a frame of a file.
func (r *rawStore) get(file string, frame int) (string, bool) {
	if r == nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.msgs[rawKey{file, frame}]
	if !ok {
		return "", false
	}
	return *s, true
}

// texts returns pointers to every message, for the redaction to rewrite
// them in place with the report's pseudonyms.
func (r *rawStore) texts() []*string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*string, 0, len(r.order))
	for _, k := range r.order {
		out = append(out, r.msgs[k])
	}
	return out
}
