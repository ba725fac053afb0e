package cli

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// progressMin is the input size from which a progress line is shown.
const progressMin = 32 << 20

// progress draws one status line on a terminal while large inputs are
// read: bytes read of the total and messages so far. It is only used from
// the goroutine that reads.
type progress struct {
	w        io.Writer
	total    int64
	read     atomic.Int64
	messages int
	last     time.Time
	drawn    bool
}

// newProgress returns a progress line for files on w, or nil when w is no
// terminal or the input is small.
func newProgress(env Env, files []string) *progress {
	if env.Stderr == nil || !env.IsTerminal(env.Stderr) {
		return nil
	}
	var total int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			return nil
		}
		total += st.Size()
	}
	if total < progressMin {
		return nil
	}
	return &progress{w: env.Stderr, total: total}
}

func (p *progress) message() {
	if p == nil {
		return
	}
	p.messages++
	if p.messages%1024 != 0 {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.drawn = true
		pct := float64(p.read.Load()) * 100 / float64(p.total)
		fmt.Fprintf(p.w, "\rsipcause: reading %5.1f%%  %d messages ", min(pct, 100), p.messages)
	}
}

func (p *progress) done() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
