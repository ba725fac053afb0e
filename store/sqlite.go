package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sipcause/sipcause/analyze"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// SQLite is the embedded Store: one database file in WAL mode, written by
// one connection at a time and read by several. Each PutCalls is one
// transaction committed with synchronous=NORMAL: in WAL mode a batch that
// was acknowledged survives a killed or crashed process, and a batch that
// was not is rolled back whole, so the file stays consistent. Only a power
// cut or an operating-system crash can lose the last batches (never
// corrupt the file); synchronous=FULL would prevent that at the cost of an
// fsync per batch, which halves the rate the collector can store.
//
// The WAL is copied into the database file (checkpointed) by a goroutine
// of the store's own, on a connection of its own, soon after each batch:
// the writer only appends to the WAL and does not wait for the copy or
// its fsync. A PASSIVE checkpoint does not stop the writer; should the
// checkpoints fall behind, the writer checkpoints itself past
// walAutoCheckpoint pages, as SQLite does by default at 1000.
type SQLite struct {
	w, r      *sql.DB
	ck        *sql.DB       // the checkpointer's connection
	wrote     chan struct{} // a batch was committed (buffered 1)
	ckStop    chan struct{} // closed by Close
	ckDone    chan struct{} // the checkpointer has stopped
	path      string
	closeOnce sync.Once
	closeErr  error
}

// walAutoCheckpoint is the WAL size, in pages, at which the writer
// checkpoints itself: 128 MiB of 8 KiB pages, which the checkpointer only
// lets the WAL reach when the disk cannot keep up. journalSizeLimit is
// what the WAL file is cut back to once it was copied.
const (
	walAutoCheckpoint = 16384
	journalSizeLimit  = 64 << 20
)

const schema = `
CREATE TABLE IF NOT EXISTS calls (
	id           INTEGER PRIMARY KEY,
	call_id      TEXT NOT NULL,
	start        INTEGER NOT NULL,
	caller       TEXT NOT NULL,
	callee       TEXT NOT NULL,
	from_uri     TEXT NOT NULL,
	to_uri       TEXT NOT NULL,
	final_status INTEGER NOT NULL,
	outcome      TEXT NOT NULL,
	fault        TEXT NOT NULL,
	leg_of       TEXT NOT NULL,
	pdd_ms       INTEGER NOT NULL,
	duration_ms  INTEGER NOT NULL,
	caller_name  TEXT NOT NULL,
	reason       TEXT NOT NULL,
	summary      TEXT NOT NULL,
	json         BLOB NOT NULL,
	peer         TEXT NOT NULL DEFAULT '',
	audio        TEXT NOT NULL DEFAULT '',
	json_codec   INTEGER NOT NULL DEFAULT 0, -- how json is stored, see codecPlain
	mos          REAL,                       -- the call's audio MOS (analyze.Audio), NULL without one
	one_way      INTEGER NOT NULL DEFAULT 0  -- 1: its audio went one way only
);
CREATE INDEX IF NOT EXISTS calls_call_id ON calls(call_id);
CREATE INDEX IF NOT EXISTS calls_start ON calls(start);
CREATE INDEX IF NOT EXISTS calls_status ON calls(final_status, start);
CREATE INDEX IF NOT EXISTS calls_outcome ON calls(outcome, start);
CREATE INDEX IF NOT EXISTS calls_fault ON calls(fault, start);
CREATE TABLE IF NOT EXISTS call_messages (
	call INTEGER PRIMARY KEY,  -- calls.id
	n    INTEGER NOT NULL,     -- messages in data
	data BLOB NOT NULL,        -- the call's raw messages, see encodeMessages
	codec INTEGER NOT NULL DEFAULT 0 -- how data is stored, see codecPlain
);
CREATE TABLE IF NOT EXISTS registrations (
	id           INTEGER PRIMARY KEY,
	call_id      TEXT NOT NULL,
	aor          TEXT NOT NULL,
	start        INTEGER NOT NULL,
	final_status INTEGER NOT NULL,
	outcome      TEXT NOT NULL,
	fault        TEXT NOT NULL,
	json         BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS registrations_start ON registrations(start);
CREATE INDEX IF NOT EXISTS registrations_aor ON registrations(aor);
`

// OpenSQLite opens or creates the database at path.
func OpenSQLite(path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	dsn := func(extra string) string {
		// page_size applies when the file is created: 8 KiB pages hold a
		// call's row and its messages in fewer pages and writes than 4 KiB.
		return "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=page_size(8192)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" + extra
	}
	// The writer's page cache holds a whole batch (500 calls of about 8 KB
	// each, and the index pages they touch): with SQLite's default of 2 MB
	// it spilled dirty pages into the WAL in the middle of each
	// transaction, and wrote many of them twice.
	w, err := sql.Open("sqlite", dsn(fmt.Sprintf("&_txlock=immediate&_pragma=cache_size(-32768)&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)",
		walAutoCheckpoint, journalSizeLimit)))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if _, err := w.Exec(schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: create schema: %w", path, err)
	}
	if err := migrate(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	ck, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	s := &SQLite{w: w, r: r, ck: ck, path: path, wrote: make(chan struct{}, 1),
		ckStop: make(chan struct{}), ckDone: make(chan struct{})}
	go s.checkpointer()
	return s, nil
}

// checkpointer copies the WAL into the database file after batches were
// written, at most every checkpointEvery, until Close.
func (s *SQLite) checkpointer() {
	defer close(s.ckDone)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.ckStop:
			return
		case <-s.wrote:
		}
		// PASSIVE copies what no reader still needs and never blocks the
		// writer; what it leaves is copied the next time.
		s.ck.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		t.Reset(checkpointEvery)
		select {
		case <-s.ckStop:
			return
		case <-t.C:
		}
	}
}

// checkpointEvery spaces the checkpoints: a page the batches in between
// changed again (an index page) is copied once, not once per batch.
const checkpointEvery = 200 * time.Millisecond

// committed tells the checkpointer a batch was written.
func (s *SQLite) committed() {
	select {
	case s.wrote <- struct{}{}:
	default: // a checkpoint is due already
	}
}

// migrate adds the columns a database made by an older sipcause lacks.
// Calls stored before the peer column existed count under an empty peer.
func migrate(w *sql.DB) error {
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM pragma_table_info('calls') WHERE name = 'peer'`).Scan(&n); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n == 0 {
		if _, err := w.Exec(`ALTER TABLE calls ADD COLUMN peer TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	// The audio column (AudioClass): calls stored before it have none,
	// and are not found by an audio search.
	if err := w.QueryRow(`SELECT count(*) FROM pragma_table_info('calls') WHERE name = 'audio'`).Scan(&n); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n == 0 {
		if _, err := w.Exec(`ALTER TABLE calls ADD COLUMN audio TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	// The codec columns: rows stored before them hold plain JSON and
	// plain packed messages, which is what the default 0 says.
	for _, col := range [][2]string{{"calls", "json_codec"}, {"call_messages", "codec"}} {
		if err := w.QueryRow(`SELECT count(*) FROM pragma_table_info('` + col[0] + `') WHERE name = '` + col[1] + `'`).Scan(&n); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if n == 0 {
			if _, err := w.Exec(`ALTER TABLE ` + col[0] + ` ADD COLUMN ` + col[1] + ` INTEGER NOT NULL DEFAULT 0`); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
	}
	// The MOS chart reads mos and one_way: rows stored before those
	// columns kept their JSON plain when they had an audio verdict, and
	// get them from it once. The audio index holds what the chart reads,
	// so that it reads no row (with its JSON) at all.
	if err := w.QueryRow(`SELECT count(*) FROM pragma_table_info('calls') WHERE name = 'mos'`).Scan(&n); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n == 0 {
		// In one transaction: a migration cut short leaves no column that
		// the next one would take as filled. A damaged row's JSON, which
		// json_extract would fail the whole migration on, is passed over:
		// that call is left out of the chart.
		if _, err := w.Exec(`BEGIN;
			ALTER TABLE calls ADD COLUMN mos REAL;
			ALTER TABLE calls ADD COLUMN one_way INTEGER NOT NULL DEFAULT 0;
			UPDATE calls SET mos = json_extract(CAST(json AS TEXT), '$.audio.mos'),
				one_way = coalesce(json_extract(CAST(json AS TEXT), '$.audio.verdict') = 'one_way', 0)
				WHERE audio != '' AND json_codec = 0 AND json_valid(CAST(json AS TEXT));
			COMMIT`); err != nil {
			w.Exec(`ROLLBACK`)
			return fmt.Errorf("migrate: %w", err)
		}
	}
	// Only the calls with an audio verdict are in it (a partial index):
	// a call without one, most calls where no RTP is captured, costs no
	// B-tree insert here. A query must say audio != '' for SQLite to use
	// it.
	if _, err := w.Exec(`DROP INDEX IF EXISTS calls_audio; DROP INDEX IF EXISTS calls_audio_mos;
		CREATE INDEX IF NOT EXISTS calls_audio_verdict ON calls(audio, start, leg_of, mos, one_way) WHERE audio != ''`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Numbers are searched for as substrings (LIKE '%...%'), which no
	// index serves, and counted by caller or callee within a period, which
	// the start index serves: these two only cost every insert two more
	// B-tree updates at random places.
	if _, err := w.Exec(`DROP INDEX IF EXISTS calls_caller; DROP INDEX IF EXISTS calls_callee`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Path returns the database file name.
func (s *SQLite) Path() string { return s.path }

// PutCalls implements Store.
//
// The batch is written on the driver's connection itself (sql.Conn.Raw):
// database/sql checks and copies the arguments of every statement it runs
// into a slice of its own, which for two inserts per call was a tenth of
// the cost of storing it and the store's largest allocation; here one
// slice of arguments is filled for each insert.
func (s *SQLite) PutCalls(ctx context.Context, calls []CallRecord) error {
	if len(calls) == 0 {
		return nil
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error { return putCalls(ctx, dc, calls) })
	if err != nil {
		return err
	}
	s.committed()
	return nil
}

// putCalls writes calls in one transaction on dc, a connection of the
// SQLite driver.
func putCalls(ctx context.Context, dc any, calls []CallRecord) error {
	c, ok := dc.(interface {
		driver.ConnBeginTx
		driver.ConnPrepareContext
	})
	if !ok {
		return fmt.Errorf("store: begin: the driver's connection is a %T", dc)
	}
	// The statements run without ctx's cancellation, which is checked
	// between calls instead: the driver starts a goroutine per statement
	// to watch a context that can end, a tenth of the cost of an insert.
	run := context.WithoutCancel(ctx)
	tx, err := c.BeginTx(run, driver.TxOptions{})
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	insCall, err := prepareExec(run, c, `INSERT INTO calls
		(call_id, start, caller, callee, from_uri, to_uri, final_status, outcome, fault, leg_of, pdd_ms, duration_ms,
		caller_name, reason, summary, json, json_codec, peer, audio, mos, one_way)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer insCall.Close()
	insMsg, err := prepareExec(run, c, `INSERT INTO call_messages (call, n, data, codec) VALUES (?,?,?,?)`)
	if err != nil {
		return err
	}
	defer insMsg.Close()
	// The compressed JSON and messages of each call go through these two
	// buffers: the driver copies what it binds.
	var jsBuf, msgBuf []byte
	callArgs := make([]driver.NamedValue, 21)
	msgArgs := make([]driver.NamedValue, 4)
	for _, args := range [][]driver.NamedValue{callArgs, msgArgs} {
		for i := range args {
			args[i].Ordinal = i + 1
		}
	}
	for _, cr := range calls {
		c := cr.Call
		if c == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: call %q: %w", c.CallID, err)
		}
		js, err := cr.json()
		if err != nil {
			return fmt.Errorf("store: call %q: %w", c.CallID, err)
		}
		var jsCodec int
		js, jsBuf, jsCodec = compressBlob(jsBuf, js)
		var mos driver.Value // NULL
		oneWay := false
		if a := c.Audio; a != nil {
			if a.MOS != nil {
				mos = *a.MOS
			}
			oneWay = a.Verdict == "one_way"
		}
		for i, v := range [...]driver.Value{c.CallID, c.Start.UnixNano(), c.Caller, c.Callee, c.From, c.To,
			int64(c.FinalStatus), c.Outcome, c.Fault, c.LegOf, c.PDDMS, c.DurationMS, c.CallerName, c.Reason, cr.Summary, js, int64(jsCodec), Peer(c),
			AudioClass(c), mos, oneWay} {
			callArgs[i].Value = v
		}
		res, err := insCall.ExecContext(run, callArgs)
		if err != nil {
			return fmt.Errorf("store: call %q: %w", c.CallID, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: call %q: %w", c.CallID, err)
		}
		// One row per call for its messages: a row per message made the
		// inserts the collector's largest cost.
		if data, n, codec := cr.stored(); n > 0 {
			if codec == codecPlain { // else compacted by the collector already
				data, msgBuf, codec = compressBlob(msgBuf, data)
			}
			msgArgs[0].Value, msgArgs[1].Value, msgArgs[2].Value, msgArgs[3].Value = id, int64(n), data, int64(codec)
			if _, err := insMsg.ExecContext(run, msgArgs); err != nil {
				return fmt.Errorf("store: call %q messages: %w", c.CallID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err) // and rolled back, should SQLite have kept it open
	}
	done = true
	return nil
}

// execStmt is a prepared statement of the driver run with its arguments
// as they are.
type execStmt interface {
	driver.Stmt
	driver.StmtExecContext
}

// prepareExec prepares query on the driver's connection c.
func prepareExec(ctx context.Context, c driver.ConnPrepareContext, query string) (execStmt, error) {
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	es, ok := st.(execStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("store: prepare: the driver's statement is a %T", st)
	}
	return es, nil
}

// PutRegistrations implements Store.
func (s *SQLite) PutRegistrations(ctx context.Context, regs []*analyze.Register) error {
	if len(regs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	run := context.WithoutCancel(ctx) // as in PutCalls
	ins, err := tx.PrepareContext(run, `INSERT INTO registrations (call_id, aor, start, final_status, outcome, fault, json) VALUES (?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("store: prepare: %w", err)
	}
	for _, r := range regs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: registration %q: %w", r.CallID, err)
		}
		js, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("store: registration %q: %w", r.CallID, err)
		}
		if _, err := ins.ExecContext(run, r.CallID, r.AOR, r.Start.UnixNano(), r.FinalStatus, r.Outcome, r.Fault, js); err != nil {
			return fmt.Errorf("store: registration %q: %w", r.CallID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	s.committed()
	return nil
}

// SearchCalls implements Store.
func (s *SQLite) SearchCalls(ctx context.Context, q Query) ([]CallSummary, error) {
	var where []string
	var args []any
	if q.Number != "" {
		// LIKE with an escape character, so that % and _ in what was
		// typed match themselves.
		pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Number) + "%"
		where = append(where, `(caller LIKE ? ESCAPE '\' OR callee LIKE ? ESCAPE '\' OR from_uri LIKE ? ESCAPE '\' OR to_uri LIKE ? ESCAPE '\')`)
		args = append(args, pat, pat, pat, pat)
	}
	if q.CallID != "" {
		where = append(where, "call_id = ?")
		args = append(args, q.CallID)
	}
	if q.Status != 0 {
		where = append(where, "final_status = ?")
		args = append(args, q.Status)
	}
	if q.Outcome != "" {
		where = append(where, "outcome = ?")
		args = append(args, q.Outcome)
	}
	if q.Fault != "" {
		where = append(where, "fault = ?")
		args = append(args, q.Fault)
	}
	if q.Audio != "" {
		where = append(where, "audio = ? AND audio != ''") // the second for the audio index
		args = append(args, q.Audio)
	}
	if !q.From.IsZero() {
		where = append(where, "start >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where = append(where, "start < ?")
		args = append(args, q.To.UnixNano())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxLimit)
	query := `SELECT call_id, start, caller, callee, caller_name, final_status, reason, outcome, fault, summary,
		duration_ms, pdd_ms FROM calls`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY start DESC, id DESC LIMIT ? OFFSET ?"
	args = append(args, limit, max(q.Offset, 0))
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	defer rows.Close()
	out := []CallSummary{}
	for rows.Next() {
		var c CallSummary
		var start int64
		if err := rows.Scan(&c.CallID, &start, &c.Caller, &c.Callee, &c.CallerName, &c.FinalStatus, &c.Reason,
			&c.Outcome, &c.Fault, &c.Summary, &c.DurationMS, &c.PDDMS); err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		c.Start = time.Unix(0, start).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetCall implements Store.
func (s *SQLite) GetCall(ctx context.Context, id string) (*CallRecord, error) {
	var rowid int64
	var js []byte
	var jsCodec int
	err := s.r.QueryRowContext(ctx, `SELECT id, json, json_codec FROM calls WHERE call_id = ? ORDER BY start DESC, id DESC LIMIT 1`, id).Scan(&rowid, &js, &jsCodec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	if js, err = decompressBlob(js, jsCodec); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	cr := &CallRecord{Call: &analyze.Call{}}
	if err := json.Unmarshal(js, cr.Call); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	var data []byte
	var codec int
	err = s.r.QueryRowContext(ctx, `SELECT data, codec FROM call_messages WHERE call = ?`, rowid).Scan(&data, &codec)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return cr, nil
	case err != nil:
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	if data, err = decompressBlob(data, codec); err != nil {
		return nil, fmt.Errorf("store: get %q messages: %w", id, err)
	}
	if cr.Messages, err = decodeMessages(data); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	return cr, nil
}

// Timeline implements Store. Calls that continue another leg (a B2BUA's
// second leg) and calls whose outcome the capture does not show are left
// out, as in analyze's RFC 6076 metrics.
func (s *SQLite) Timeline(ctx context.Context, from, to time.Time, step time.Duration) ([]Bucket, error) {
	if step <= 0 || !to.After(from) {
		return nil, errors.New("store: timeline: empty range")
	}
	if to.Sub(from)/step > 10000 {
		return nil, errors.New("store: timeline: more than 10000 buckets")
	}
	f, st := from.UnixNano(), int64(step)
	rows, err := s.r.QueryContext(ctx, `SELECT (start - ?) / ? AS b, count(*),
		sum(final_status BETWEEN 200 AND 299),
		sum(final_status BETWEEN 300 AND 399),
		sum(final_status BETWEEN 200 AND 299 OR final_status IN (480, 486, 600, 603)),
		sum(final_status IN (408, 500, 503, 504) OR outcome = 'timeout'),
		sum(CASE WHEN pdd_ms > 0 THEN pdd_ms ELSE 0 END),
		sum(pdd_ms > 0)
		FROM calls WHERE start >= ? AND start < ? AND leg_of = '' AND outcome != 'incomplete'
		GROUP BY b ORDER BY b`, f, st, f, to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("store: timeline: %w", err)
	}
	defer rows.Close()
	n := int((to.Sub(from) + step - 1) / step)
	out := make([]Bucket, n)
	for i := range out {
		out[i].Start = from.Add(time.Duration(i) * step).UTC()
	}
	for rows.Next() {
		var b int
		var x Bucket
		if err := rows.Scan(&b, &x.Attempts, &x.Answered, &x.Redirected, &x.Effective, &x.Ineffective, &x.PDDSumMS, &x.PDDCount); err != nil {
			return nil, fmt.Errorf("store: timeline: %w", err)
		}
		if b >= 0 && b < n {
			x.Start = out[b].Start
			out[b] = x
		}
	}
	return out, rows.Err()
}

// CountCalls implements Store. Like Timeline it leaves out calls that
// continue another leg, so that a call through a B2BUA counts once.
func (s *SQLite) CountCalls(ctx context.Context, q CountQuery) ([]Count, error) {
	col, ok := map[string]string{ByStatus: "final_status", ByFault: "fault", ByPeer: "peer", ByCallee: "callee", ByCaller: "caller", ByAudio: "audio"}[q.By]
	if !ok {
		return nil, fmt.Errorf("store: count: cannot group by %q", q.By)
	}
	if !q.To.After(q.From) || q.From.IsZero() {
		return nil, errors.New("store: count: empty range")
	}
	if q.Step < 0 || q.Step > 0 && q.To.Sub(q.From)/q.Step > 10000 {
		return nil, errors.New("store: count: more than 10000 buckets")
	}
	where := "start >= ? AND start < ? AND leg_of = ''"
	args := []any{q.From.UnixNano(), q.To.UnixNano()}
	if q.Outcomes != nil {
		where += " AND outcome IN (''" + strings.Repeat(",?", len(q.Outcomes)) + ")"
		for _, o := range q.Outcomes {
			args = append(args, o)
		}
	}
	top := q.Top
	if top <= 0 || top > MaxLimit {
		top = MaxLimit
	}
	step := int64(q.Step)
	if step == 0 {
		step = q.To.UnixNano() - q.From.UnixNano()
	}
	// The groups are ranked over the whole period, then counted per
	// bucket: a chart shows the same top groups in every bucket.
	query := `WITH sel AS (SELECT ` + col + ` AS k, start FROM calls WHERE ` + where + `),
		top AS (SELECT k FROM sel GROUP BY k ORDER BY count(*) DESC, k LIMIT ?)
		SELECT (start - ?) / ? AS b, CAST(k AS TEXT), count(*) FROM sel WHERE k IN (SELECT k FROM top)
		GROUP BY b, k ORDER BY b, count(*) DESC, k`
	args = append(args, top, q.From.UnixNano(), step)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: count: %w", err)
	}
	defer rows.Close()
	out := []Count{}
	for rows.Next() {
		var b int64
		var c Count
		if err := rows.Scan(&b, &c.Key, &c.Count); err != nil {
			return nil, fmt.Errorf("store: count: %w", err)
		}
		if q.Step > 0 {
			c.Start = q.From.Add(time.Duration(b) * q.Step).UTC()
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SearchRegistrations implements Store.
func (s *SQLite) SearchRegistrations(ctx context.Context, q RegQuery) ([]*analyze.Register, error) {
	var where []string
	var args []any
	if q.AOR != "" {
		pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.AOR) + "%"
		where = append(where, `aor LIKE ? ESCAPE '\'`)
		args = append(args, pat)
	}
	if !q.From.IsZero() {
		where = append(where, "start >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where = append(where, "start < ?")
		args = append(args, q.To.UnixNano())
	}
	sel := `SELECT id, aor, start, outcome, json FROM registrations`
	if len(where) > 0 {
		sel += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Latest {
		sel = `SELECT id, start, outcome, json FROM (SELECT *, row_number() OVER (PARTITION BY aor ORDER BY start DESC, id DESC) AS rn
			FROM (` + sel + `)) WHERE rn = 1`
	}
	query := `SELECT json FROM (` + sel + `)`
	if q.Outcome != "" {
		query += " WHERE outcome = ?"
		args = append(args, q.Outcome)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query += " ORDER BY start DESC, id DESC LIMIT ? OFFSET ?"
	args = append(args, min(limit, MaxLimit), max(q.Offset, 0))
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: registrations: %w", err)
	}
	defer rows.Close()
	out := []*analyze.Register{}
	for rows.Next() {
		var js []byte
		if err := rows.Scan(&js); err != nil {
			return nil, fmt.Errorf("store: registrations: %w", err)
		}
		r := &analyze.Register{}
		if err := json.Unmarshal(js, r); err != nil {
			return nil, fmt.Errorf("store: registrations: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Stats implements Store.
func (s *SQLite) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var oldest, newest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM calls), (SELECT coalesce(sum(n), 0) FROM call_messages),
		(SELECT count(*) FROM registrations), (SELECT min(start) FROM calls), (SELECT max(start) FROM calls),
		(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())`).
		Scan(&st.Calls, &st.Messages, &st.Registrations, &oldest, &newest, &st.Bytes)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	if oldest.Valid {
		st.Oldest = time.Unix(0, oldest.Int64).UTC()
		st.Newest = time.Unix(0, newest.Int64).UTC()
	}
	return st, nil
}

// retainChunk bounds one deleting transaction, so that retention never
// holds the write lock long enough to stall the collector.
const retainChunk = 2000

// UsedBytes returns the bytes of the database file in use: its pages less
// the free ones (deleted data leaves free pages that new rows reuse, so the
// file does not shrink, but does not grow either until they are used).
func (s *SQLite) UsedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	if err := s.w.QueryRowContext(ctx, `SELECT page_count, freelist_count, page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`).Scan(&pages, &free, &size); err != nil {
		return 0, fmt.Errorf("store: size: %w", err)
	}
	return (pages - free) * size, nil
}

// PruneToSize deletes the oldest calls (with their messages) and the
// registrations older than the oldest call kept, until the database uses
// less than nine tenths of limit bytes, and returns how many calls it
// deleted. A disk budget, besides time-based retention, bounds what a
// flood of large INVITEs can write (3.7 GB in 40 s).
func (s *SQLite) PruneToSize(ctx context.Context, limit int64) (int64, error) {
	var total int64
	for {
		used, err := s.UsedBytes(ctx)
		if err != nil || used <= limit*9/10 && total > 0 || used <= limit && total == 0 {
			return total, err
		}
		// As many calls as the excess takes at the average size, so that
		// a few large calls are not pruned 500 at a time.
		var calls int64
		if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM calls`).Scan(&calls); err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		chunk := int64(1)
		if calls > 0 {
			chunk = min(500, max(1, (used-limit*9/10)*calls/used+1))
		}
		n, err := s.pruneOldest(ctx, chunk)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (s *SQLite) pruneOldest(ctx context.Context, chunk int64) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	defer tx.Rollback()
	sel := `SELECT id FROM calls ORDER BY start, id LIMIT ?`
	if _, err := tx.ExecContext(ctx, `DELETE FROM call_messages WHERE call IN (`+sel+`)`, chunk); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE id IN (`+sel+`)`, chunk)
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM registrations WHERE id IN (SELECT id FROM registrations
		WHERE start < COALESCE((SELECT MIN(start) FROM calls), 9223372036854775807) LIMIT ?)`, retainChunk); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	s.committed()
	return n, nil
}

// Retain implements Store.
func (s *SQLite) Retain(ctx context.Context, before time.Time) (int64, error) {
	t := before.UnixNano()
	var total int64
	for {
		n, more, err := s.retainChunk(ctx, t)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

func (s *SQLite) retainChunk(ctx context.Context, t int64) (calls int64, more bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("store: retain: %w", err)
	}
	defer tx.Rollback()
	sel := `SELECT id FROM calls WHERE start < ? ORDER BY start, id LIMIT ?`
	if _, err := tx.ExecContext(ctx, `DELETE FROM call_messages WHERE call IN (`+sel+`)`, t, retainChunk); err != nil {
		return 0, false, fmt.Errorf("store: retain: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE id IN (`+sel+`)`, t, retainChunk)
	if err != nil {
		return 0, false, fmt.Errorf("store: retain: %w", err)
	}
	n, _ := res.RowsAffected()
	res, err = tx.ExecContext(ctx, `DELETE FROM registrations WHERE id IN (SELECT id FROM registrations WHERE start < ? LIMIT ?)`, t, retainChunk)
	if err != nil {
		return 0, false, fmt.Errorf("store: retain: %w", err)
	}
	nr, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("store: retain: %w", err)
	}
	s.committed()
	return n, n == retainChunk || nr == retainChunk, nil
}

// IntegrityCheck runs SQLite's PRAGMA integrity_check and returns nil when
// the file is sound.
func (s *SQLite) IntegrityCheck(ctx context.Context) error {
	var res string
	if err := s.w.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("store: integrity check: %s", res)
	}
	return nil
}

// Close implements Store. It checkpoints the WAL into the database file.
// A second Close does nothing.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		close(s.ckStop)
		<-s.ckDone
		s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		s.closeErr = errors.Join(s.ck.Close(), s.r.Close(), s.w.Close())
	})
	return s.closeErr
}
