package store

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/sipmsg"
)

// ClickHouse is the Store for sites that outgrow one SQLite file: several
// collectors write to one ClickHouse database, or to a cluster of them,
// and any sipcause process serves the UI over all of it.
//
// Writes go to a spool on local disk first (one fsynced file per batch,
// so that PutCalls returning nil means durable, as the Store interface
// requires); a background loop sends the spooled batches to ClickHouse in
// larger inserts, bounded in rows and in age, and retries with back-off
// while ClickHouse is down. When the spool reaches its bound new batches
// are refused and counted (Buffer). Delivery is at least once: a batch
// whose insert succeeded but whose spool file outlived a crash is sent
// again, and the reads show such a call once (LIMIT 1 BY) and count it
// once (see Stats).
type ClickHouse struct {
	conn    *chConn
	db      string
	cluster string
	opt     CHOptions

	sp       *spool
	offline  atomic.Bool // opened with no server reachable: schema not checked yet
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	closeMu  sync.Once
	closeErr error

	statsMu   sync.Mutex
	statsKept map[string]map[string]partCount // server and table → day partition → its count (Stats)
}

// CHOptions are the settings of OpenClickHouse that are not in the URL.
type CHOptions struct {
	// Password of the ClickHouse user, when not in the URL's
	// password_file (the CLI takes it from the environment, never from
	// the command line).
	Password string
	// SpoolDir holds batches not yet in ClickHouse; default
	// "sipcause-spool". One process per directory.
	SpoolDir string
	// SpoolMax bounds the spool in bytes (default 1 GiB): beyond it
	// batches are refused with ErrSpoolFull and counted.
	SpoolMax int64
	// BatchRows, BatchBytes and BatchAge bound one insert: at most
	// BatchRows calls (default 100000) and about BatchBytes bytes of rows
	// (default 64 MiB; a single spooled batch larger than that goes
	// alone), sent at the latest BatchAge (default 1 s) after the oldest
	// spooled batch was written. BatchBytes bounds the memory the sender
	// takes when it empties a spool a long outage filled.
	BatchRows  int
	BatchBytes int64
	BatchAge   time.Duration
	// AllowDestructive lets a schema migration drop or rewrite data.
	AllowDestructive bool
	// SyncSpool fsyncs every spooled batch, so that an acknowledged
	// batch survives a power cut too. Without it the guarantee is
	// SQLite's with synchronous=NORMAL: a killed or crashed sipcause
	// loses nothing acknowledged, an operating-system crash may lose the
	// last batches (a torn file is set aside, never sent half).
	SyncSpool bool
	// MaxRefusals is how many times in a row ClickHouse may refuse a
	// batch (answer with an error, not be unreachable) before the batch
	// is set aside as *.rejected in the spool directory and counted;
	// default 30, about five minutes of retries. A file set aside is
	// sent again when renamed back to *.batch before a start.
	MaxRefusals int
	// StartOffline opens the store even when no server can be reached
	// (a collector keeps collecting into the spool); the schema is
	// created or checked before the first insert. A server that answers
	// with an error still stops the start.
	StartOffline bool
	// CloseWait bounds how long Close tries to send the spool (default
	// 10 s); what is left is sent by the next process.
	CloseWait time.Duration
}

// ErrSpoolFull is returned by the ClickHouse store's PutCalls and
// PutRegistrations when ClickHouse has been unreachable long enough for
// the local spool to reach its bound.
var ErrSpoolFull = errors.New("store: clickhouse: spool full, batch dropped")

// BufferStats describe a store's local write buffer for /metrics.
type BufferStats struct {
	Bytes        int64 // spooled, not yet in the database
	Batches      int64
	DroppedCalls int64 // refused because the spool was full
	DroppedRegs  int64
	Retries      int64 // failed inserts, retried later
	Damaged      int64 // spool files torn by a system crash, set aside
	Rejected     int64 // spool files ClickHouse refused again and again, set aside
	LastError    string
}

// Buffered is implemented by stores that buffer writes (ClickHouse).
type Buffered interface {
	Buffer() BufferStats
	// Flush sends everything buffered now and waits until it is stored
	// or ctx ends.
	Flush(ctx context.Context) error
}

// SchemaVersion is the version of the ClickHouse schema this sipcause
// creates and reads. It is recorded in the table sipcause_schema.
const SchemaVersion = 4

// chTables are the tables, in the order a batch is inserted: the calls
// last, so that a call found in a search has its messages.
var chTables = []string{"messages", "call_ids", "registrations", "calls"}

// chSchema is the schema of version SchemaVersion. {L} is the suffix of the tables that hold
// the data ("_local" in cluster mode, where a Distributed table without
// the suffix sits over them on every server). Every table is partitioned
// by day, so retention drops whole parts; calls holds the searched
// columns, ordered by start for time ranges; call_ids maps a Call-ID to
// its call by primary key; messages holds what only the call page reads
// (the analyzer's call as JSON and the raw messages), in small granules
// so that reading one call does not decompress thousands.
var chSchema = []string{
	`CREATE TABLE IF NOT EXISTS {DB}.calls{L} (
		day Date, start_ns Int64, call_id String,
		caller String, callee String, from_uri String, to_uri String, caller_name String,
		final_status UInt16, outcome String, fault String, peer String, leg_of String,
		pdd_ms Int64, duration_ms Int64, reason String, summary String,
		x_cid String, session_id String, icid String, audio String,
		caller_extra String, callee_extra String, mos Float64 DEFAULT -1, one_way UInt8 DEFAULT 0
	) ENGINE = MergeTree PARTITION BY day ORDER BY (start_ns, call_id)`,
	`CREATE TABLE IF NOT EXISTS {DB}.call_ids{L} (
		day Date, call_id String, start_ns Int64
	) ENGINE = MergeTree PARTITION BY day ORDER BY (call_id, start_ns)`,
	`CREATE TABLE IF NOT EXISTS {DB}.messages{L} (
		day Date, call_id String, start_ns Int64, n UInt32, json String, data String
	) ENGINE = MergeTree PARTITION BY day ORDER BY (call_id, start_ns) SETTINGS index_granularity = 256`,
	`CREATE TABLE IF NOT EXISTS {DB}.registrations{L} (
		day Date, start_ns Int64, call_id String, aor String,
		final_status UInt16, outcome String, fault String, json String
	) ENGINE = MergeTree PARTITION BY day ORDER BY (start_ns, aor)`,
}

// chMigrations[v] takes a database from schema version v to v+1. A
// destructive one (dropping or rewriting data) runs only with
// CHOptions.AllowDestructive.
//
// distributed are run, in cluster mode, on the Distributed tables, which
// do not take new columns from the tables under them. (ClickHouse 18 has
// no ADD COLUMN IF NOT EXISTS: a migration runs once, by its version.)
var chMigrations = map[int]struct {
	stmts       []string
	distributed []string
	destructive bool
}{
	// 1 to 2: the audio column (AudioClass); older calls have none.
	1: {stmts: []string{`ALTER TABLE {DB}.calls{L} ADD COLUMN audio String DEFAULT ''`},
		distributed: []string{`ALTER TABLE {DB}.calls ADD COLUMN audio String DEFAULT ''`}},
	// 2 to 3: caller_extra and callee_extra (see numberColumns). The
	// calls stored before came from the analyzer, whose caller and callee
	// are always part of the From and To URIs: they need none.
	2: {stmts: []string{`ALTER TABLE {DB}.calls{L} ADD COLUMN caller_extra String DEFAULT '', ADD COLUMN callee_extra String DEFAULT ''`},
		distributed: []string{`ALTER TABLE {DB}.calls ADD COLUMN caller_extra String DEFAULT '', ADD COLUMN callee_extra String DEFAULT ''`}},
	// 3 to 4: mos and one_way, what the MOS chart reads of a call with an
	// audio verdict (0 for no MOS). The calls stored before have -1, and
	// the chart reads theirs from their JSON (AudioTimeline).
	3: {stmts: []string{`ALTER TABLE {DB}.calls{L} ADD COLUMN mos Float64 DEFAULT -1, ADD COLUMN one_way UInt8 DEFAULT 0`},
		distributed: []string{`ALTER TABLE {DB}.calls ADD COLUMN mos Float64 DEFAULT -1, ADD COLUMN one_way UInt8 DEFAULT 0`}},
}

// numberColumns are the columns a search by number reads. The caller
// and the callee are kept in caller_extra and callee_extra only when they
// are not part of from_uri and to_uri (never for the analyzer's calls,
// which take them from the URIs' user parts): a number search then reads
// two columns of text and two nearly empty ones instead of four, and
// finds the same calls.
var numberColumns = []string{"from_uri", "to_uri", "caller_extra", "callee_extra"}

// extra is what caller_extra (callee_extra) holds for a caller (callee)
// and its URI.
func extra(user, uri string) string {
	if strings.Contains(uri, user) {
		return ""
	}
	return user
}

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// OpenClickHouse connects to ClickHouse, creates or migrates the schema
// and starts sending the spool. rawURL is
//
//	clickhouse://HOST:PORT[,HOST:PORT...]/DB?user=U&password_file=F&secure=1&ca=F&cluster=NAME
//
// with the HTTP port (8123; 8443 with secure=1 for TLS). With several
// hosts the first that answers is used and the next ones are the
// failover; with cluster=NAME (a cluster of the servers' remote_servers)
// the tables are created on every listed host and read and written
// through Distributed tables sharded by the Call-ID.
func OpenClickHouse(ctx context.Context, rawURL string, opt CHOptions) (*ClickHouse, error) {
	rest, ok := strings.CutPrefix(rawURL, "clickhouse://")
	if !ok {
		return nil, errors.New("store: clickhouse: the URL must start with clickhouse://")
	}
	hostPart, pathQuery, _ := strings.Cut(rest, "/")
	path, query, _ := strings.Cut(pathQuery, "?")
	if !dbName.MatchString(path) {
		return nil, fmt.Errorf("store: clickhouse: database name %q: want letters, digits and _", path)
	}
	var hosts []string
	for h := range strings.SplitSeq(hostPart, ",") {
		if h = strings.TrimSpace(h); h != "" {
			if !strings.Contains(h, ":") {
				h += ":8123"
			}
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, errors.New("store: clickhouse: no host in the URL")
	}
	params := map[string]string{}
	for kv := range strings.SplitSeq(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		params[k] = v
	}
	for k := range params {
		switch k {
		case "user", "password_file", "secure", "ca", "cluster":
		case "password":
			return nil, errors.New("store: clickhouse: no password in the URL (it would show in the process list): use password_file or the environment")
		default:
			return nil, fmt.Errorf("store: clickhouse: unknown URL parameter %q", k)
		}
	}
	password := opt.Password
	if f := params["password_file"]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("store: clickhouse: password_file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	secure := params["secure"] == "1" || params["secure"] == "true"
	var tlsConf *tls.Config
	if secure {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
		if ca := params["ca"]; ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, fmt.Errorf("store: clickhouse: ca: %w", err)
			}
			tlsConf.RootCAs = x509.NewCertPool()
			if !tlsConf.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("store: clickhouse: ca %s: no certificate in it", ca)
			}
		}
	}
	cluster := params["cluster"]
	if cluster != "" && !dbName.MatchString(cluster) {
		return nil, fmt.Errorf("store: clickhouse: cluster name %q", cluster)
	}
	if opt.SpoolDir == "" {
		opt.SpoolDir = "sipcause-spool"
	}
	if opt.SpoolMax <= 0 {
		opt.SpoolMax = 1 << 30
	}
	if opt.BatchRows <= 0 {
		opt.BatchRows = 100000
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 64 << 20
	}
	if opt.BatchAge <= 0 {
		opt.BatchAge = time.Second
	}
	if opt.CloseWait <= 0 {
		opt.CloseWait = 10 * time.Second
	}
	if opt.MaxRefusals <= 0 {
		opt.MaxRefusals = 30
	}
	s := &ClickHouse{conn: newCHConn(hosts, secure, tlsConf, params["user"], password), db: path, cluster: cluster, opt: opt,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		var ce *chError
		if !opt.StartOffline || errors.As(err, &ce) {
			return nil, err
		}
		// No server reachable: collect into the spool; the sender creates
		// or checks the schema before its first insert.
		s.offline.Store(true)
	}
	sp, err := openSpool(opt.SpoolDir, opt.SpoolMax)
	if err != nil {
		return nil, err
	}
	sp.sync = opt.SyncSpool
	s.sp = sp
	go s.sender()
	return s, nil
}

// sql replaces {DB} and {L} in a statement.
func (s *ClickHouse) sql(q string, local bool) string {
	l := ""
	if local && s.cluster != "" {
		l = "_local"
	}
	return strings.NewReplacer("{DB}", s.db, "{L}", l).Replace(q)
}

// migrate creates the database and the tables, or brings an older schema
// up to SchemaVersion. In cluster mode the local tables are created on
// every listed server (Debian's ClickHouse has no distributed DDL without
// ZooKeeper), then a Distributed table over them on each.
func (s *ClickHouse) migrate(ctx context.Context) error {
	// A server that cannot be reached is passed over (it gets its tables
	// when a later start finds it up); one that refuses a statement
	// stops the start.
	var up []string
	var unreachable []error
	for _, h := range s.conn.hosts {
		_, err := s.conn.doOn(ctx, h, "CREATE DATABASE IF NOT EXISTS "+s.db, nil)
		var ce *chError
		switch {
		case err == nil:
			up = append(up, h)
		case errors.As(err, &ce):
			return err
		default:
			unreachable = append(unreachable, err)
		}
	}
	if len(up) == 0 {
		return errors.Join(unreachable...)
	}
	each := func(q string) error {
		for _, h := range up {
			if _, err := s.conn.doOn(ctx, h, q, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if err := each(s.sql(`CREATE TABLE IF NOT EXISTS {DB}.sipcause_schema (version UInt32, applied DateTime) ENGINE = TinyLog`, false)); err != nil {
		return err
	}
	for _, h := range up {
		out, err := s.conn.doOn(ctx, h, s.sql(`SELECT max(version), count() FROM {DB}.sipcause_schema FORMAT TabSeparated`, false), nil)
		if err != nil {
			return err
		}
		var v, n int
		fmt.Sscanf(string(out), "%d\t%d", &v, &n)
		if n == 0 {
			for _, q := range chSchema {
				if _, err := s.conn.doOn(ctx, h, s.sql(q, true), nil); err != nil {
					return err
				}
			}
			v = SchemaVersion
			if _, err := s.conn.doOn(ctx, h, s.sql(fmt.Sprintf(`INSERT INTO {DB}.sipcause_schema VALUES (%d, now())`, v), false), nil); err != nil {
				return err
			}
		}
		if v > SchemaVersion {
			return fmt.Errorf("store: clickhouse %s: database %s has schema version %d, newer than this sipcause's %d", h, s.db, v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			m := chMigrations[v]
			if m.destructive && !s.opt.AllowDestructive {
				return fmt.Errorf("store: clickhouse %s: migrating schema %d to %d drops data; allow it explicitly", h, v, v+1)
			}
			for _, q := range m.stmts {
				if _, err := s.conn.doOn(ctx, h, s.sql(q, true), nil); err != nil {
					return err
				}
			}
			if s.cluster != "" {
				for _, q := range m.distributed {
					if _, err := s.conn.doOn(ctx, h, s.sql(q, false), nil); err != nil {
						return err
					}
				}
			}
			if _, err := s.conn.doOn(ctx, h, s.sql(fmt.Sprintf(`INSERT INTO {DB}.sipcause_schema VALUES (%d, now())`, v+1), false), nil); err != nil {
				return err
			}
		}
	}
	if s.cluster != "" {
		for _, t := range append(slices.Clone(chTables), "calls") {
			q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS {DB}.%[1]s AS {DB}.%[1]s_local ENGINE = Distributed(%[2]s, %[3]s, %[1]s_local, cityHash64(call_id))`,
				t, s.cluster, s.db)
			if err := each(s.sql(q, false)); err != nil {
				return err
			}
		}
	}
	return nil
}

// query runs a SELECT and returns its rows (TabSeparated).
func (s *ClickHouse) query(ctx context.Context, q string) ([][]string, error) {
	out, err := s.conn.do(ctx, s.sql(q, false)+" FORMAT TabSeparated", nil)
	if err != nil {
		return nil, err
	}
	return tsvRows(out)
}

// day is the partition of a start time. ClickHouse's Date holds 1970 to
// 2105; a start outside (a forged timestamp) goes to the nearest end
// rather than making the insert fail.
func day(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Year() < 1970:
		return "1970-01-01"
	case t.Year() > 2100:
		return "2100-01-01"
	}
	return t.Format("2006-01-02")
}

// linkKeys finds the headers that tie the legs of one call together
// across collectors: X-CID (or its variants) naming the other leg's
// Call-ID, Session-ID (RFC 7989) and the icid-value of
// P-Charging-Vector (RFC 7315 §4.6).
func linkKeys(ms []RawMessage) (xcid, sid, icid string) {
	var m sipmsg.Message
	for _, r := range ms {
		if xcid != "" && sid != "" && icid != "" {
			break
		}
		// The headers that link legs are set on the INVITE.
		if !bytes.HasPrefix(r.Raw, []byte("INVITE ")) || sipmsg.Parse(r.Raw, &m) != nil {
			continue
		}
		if v := m.Get("Session-ID"); v != nil && sid == "" {
			s, _, _ := strings.Cut(string(v), ";")
			sid = strings.ToLower(strings.TrimSpace(s))
		}
		for _, h := range []string{"X-CID", "X-Orig-Call-ID", "X-Original-Call-ID"} {
			if v := m.Get(h); v != nil && xcid == "" {
				xcid = strings.TrimSpace(string(v))
			}
		}
		if v := m.Get("P-Charging-Vector"); v != nil && icid == "" {
			icid = strings.Trim(string(sipmsg.Param(append([]byte(";"), v...), "icid-value")), `"`)
		}
	}
	return
}

// encodeBatch turns a batch into the TabSeparated rows of each table, in
// chTables order.
func encodeBatch(calls []CallRecord, regs []*analyze.Register) (rows [4][]byte, ncalls int, err error) {
	msgBytes := 0
	for _, cr := range calls {
		if cr.Log != nil {
			msgBytes += cr.Log.Size() + 16*cr.Log.Len()
		}
		for _, m := range cr.Messages {
			msgBytes += len(m.Raw) + 64
		}
	}
	rows[0] = make([]byte, 0, msgBytes+msgBytes/16)
	rows[1] = make([]byte, 0, 64*len(calls))
	rows[3] = make([]byte, 0, 4096*len(calls))
	num := func(b []byte, n int64) []byte { return append(strconv.AppendInt(b, n, 10), '\t') }
	str := func(b []byte, s string) []byte { return append(tsvField(b, s), '\t') }
	end := func(b []byte) []byte { b[len(b)-1] = '\n'; return b }
	for _, cr := range calls {
		c := cr.Call
		if c == nil {
			continue
		}
		js, err := cr.json()
		if err != nil {
			return rows, 0, fmt.Errorf("store: call %q: %w", c.CallID, err)
		}
		d, ns := day(c.Start), c.Start.UnixNano()
		data, n := cr.packed()
		if free := cap(rows[0]) - len(rows[0]); free < len(js)+len(data)+256 {
			// The estimate above left the JSON out: grow once for the
			// rest of the batch rather than doubling call by call.
			rows[0] = slices.Grow(rows[0], (len(js)+len(data)+256)*(len(calls)-ncalls)+len(data)/8)
		}
		b := str(rows[0], d)
		b = str(b, c.CallID)
		b = num(b, ns)
		b = num(b, int64(n))
		b = append(tsvField(b, js), '\t')
		rows[0] = end(append(tsvField(b, data), '\t'))
		rows[1] = end(num(str(str(rows[1], d), c.CallID), ns))
		xcid, sid, icid := linkKeys(cr.messages())
		b = num(str(rows[3], d), ns)
		for _, f := range []string{c.CallID, c.Caller, c.Callee, c.From, c.To, c.CallerName} {
			b = str(b, f)
		}
		b = num(b, int64(max(c.FinalStatus, 0)))
		for _, f := range []string{c.Outcome, c.Fault, Peer(c), c.LegOf} {
			b = str(b, f)
		}
		b = num(num(b, c.PDDMS), c.DurationMS)
		for _, f := range []string{c.Reason, cr.Summary, xcid, sid, icid, AudioClass(c), extra(c.Caller, c.From), extra(c.Callee, c.To)} {
			b = str(b, f)
		}
		mos, oneWay := 0.0, int64(0)
		if a := c.Audio; a != nil {
			if a.MOS != nil && *a.MOS > 0 {
				mos = *a.MOS
			}
			if a.Verdict == "one_way" {
				oneWay = 1
			}
		}
		b = append(strconv.AppendFloat(b, mos, 'g', -1, 64), '\t')
		rows[3] = end(num(b, oneWay))
		ncalls++
	}
	for _, r := range regs {
		js, err := json.Marshal(r)
		if err != nil {
			return rows, 0, fmt.Errorf("store: registration %q: %w", r.CallID, err)
		}
		b := num(str(rows[2], day(r.Start)), r.Start.UnixNano())
		b = str(str(b, r.CallID), r.AOR)
		b = num(b, int64(max(r.FinalStatus, 0)))
		b = str(str(str(b, r.Outcome), r.Fault), string(js))
		rows[2] = end(b)
	}
	return rows, ncalls, nil
}

// chColumns are the columns of each table in encodeBatch's order.
var chColumns = map[string]string{
	"messages":      "day, call_id, start_ns, n, json, data",
	"call_ids":      "day, call_id, start_ns",
	"registrations": "day, start_ns, call_id, aor, final_status, outcome, fault, json",
	"calls": "day, start_ns, call_id, caller, callee, from_uri, to_uri, caller_name, final_status, outcome, fault, peer, leg_of," +
		" pdd_ms, duration_ms, reason, summary, x_cid, session_id, icid, audio, caller_extra, callee_extra, mos, one_way",
}

// PutCalls implements Store: the batch is on local disk when it returns.
func (s *ClickHouse) PutCalls(ctx context.Context, calls []CallRecord) error {
	return s.put(calls, nil)
}

// PutRegistrations implements Store, as PutCalls.
func (s *ClickHouse) PutRegistrations(ctx context.Context, regs []*analyze.Register) error {
	return s.put(nil, regs)
}

func (s *ClickHouse) put(calls []CallRecord, regs []*analyze.Register) error {
	if len(calls) == 0 && len(regs) == 0 {
		return nil
	}
	rows, n, err := encodeBatch(calls, regs)
	if err != nil {
		return err
	}
	if err := s.sp.add(rows, n, len(regs)); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// sender moves spooled batches into ClickHouse until Close.
func (s *ClickHouse) sender() {
	defer close(s.stopped)
	fails, refusals := 0, 0
	for {
		oldest, rows, size, force := s.sp.pending()
		wait := time.Duration(0)
		switch {
		case rows == 0:
			wait = time.Hour
		case !force && rows < s.opt.BatchRows && size < s.opt.BatchBytes && time.Since(oldest) < s.opt.BatchAge:
			wait = s.opt.BatchAge - time.Since(oldest)
		}
		if wait == 0 {
			err := s.sendOnce()
			if err == nil {
				fails, refusals = 0, 0
				continue
			}
			s.sp.failed(err)
			wait = backoff(fails)
			fails++
			// A batch ClickHouse itself refuses again and again (one it
			// cannot parse) would hold up the spool for ever: after
			// MaxRefusals in a row it is set aside and counted.
			// An outage behind the server that answered (a shard of a
			// cluster down) waits like an unreachable server.
			var ce *chError
			if errors.As(err, &ce) && !ce.outage() {
				refusals++
			} else {
				refusals = 0
			}
			if refusals >= s.opt.MaxRefusals {
				// One bad batch must not take the good ones sent with it:
				// first split the insert into one batch at a time.
				if !s.sp.split() {
					s.sp.setAside()
				}
				refusals, fails = 0, 0
			}
		}
		t := time.NewTimer(wait)
		wake := s.wake
		if fails > 0 {
			// Backing off: new batches and a Flush do not cut the wait
			// short, or a collector writing every 200 ms would retry a
			// refused insert at that pace and MaxRefusals would be
			// reached in seconds instead of minutes.
			wake = nil
		}
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendOnce inserts the oldest spooled batches, up to BatchRows calls, one
// INSERT per table, and removes them from the spool.
func (s *ClickHouse) sendOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.offline.Load() {
		if err := s.migrate(ctx); err != nil {
			return err
		}
		s.offline.Store(false)
	}
	g, err := s.sp.group(s.opt.BatchRows, s.opt.BatchBytes)
	if err != nil || g == nil {
		return err
	}
	for ; g.done < len(chTables); g.done++ {
		if len(g.rows[g.done]) == 0 {
			continue
		}
		t := chTables[g.done]
		cols := chColumns[t]
		if t == "calls" && g.callsCols > 0 {
			if names := strings.Split(cols, ", "); g.callsCols < len(names) {
				cols = strings.Join(names[:g.callsCols], ", ")
			}
		}
		q := s.sql(fmt.Sprintf("INSERT INTO {DB}.%s (%s) FORMAT TabSeparated", t, cols), false)
		if _, err := s.conn.doChunks(ctx, q, g.rows[g.done]); err != nil {
			return err
		}
	}
	return s.sp.remove(g)
}

// Flush implements Buffered.
func (s *ClickHouse) Flush(ctx context.Context) error {
	s.sp.setForce(true)
	defer s.sp.setForce(false)
	for {
		select {
		case s.wake <- struct{}{}:
		default:
		}
		if _, rows, _, _ := s.sp.pending(); rows == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: clickhouse: flush: %w (%s)", ctx.Err(), s.sp.stats().LastError)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Buffer implements Buffered.
func (s *ClickHouse) Buffer() BufferStats { return s.sp.stats() }

// Offline reports whether no ClickHouse server has answered yet (the
// store was opened with StartOffline while all were down).
func (s *ClickHouse) Offline() bool { return s.offline.Load() }

// Close implements Store: it sends what it can within CloseWait; what is
// left stays in the spool and is sent by the next process that opens it.
func (s *ClickHouse) Close() error {
	s.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.CloseWait)
		err := s.Flush(ctx)
		cancel()
		close(s.stop)
		<-s.stopped
		if err != nil {
			err = fmt.Errorf("%w; the batches stay in the spool %s", err, s.opt.SpoolDir)
		}
		s.closeErr = errors.Join(err, s.sp.close())
	})
	return s.closeErr
}

// SearchCalls implements Store. ClickHouse would sort every matching
// row to find the newest, so the search looks at the newest hour first
// and widens the window (×8) until it holds the page asked for: the
// newest calls, or the newest of one status, come from the last rows
// alone.
func (s *ClickHouse) SearchCalls(ctx context.Context, q Query) ([]CallSummary, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxLimit)
	offset := max(q.Offset, 0)
	// A Call-ID or a number matches few calls: one query over the whole
	// range reads the searched columns once and sorts only the matches.
	if q.CallID != "" || q.Number != "" || !q.From.IsZero() && !q.To.IsZero() && q.To.Sub(q.From) <= 24*time.Hour {
		return s.searchWindow(ctx, q, offset, limit)
	}
	// The window starts at q.To, or at the newest call, found by reading
	// the day column (two bytes a call), then the starts of that day only.
	hi := q.To
	if hi.IsZero() {
		rows, err := s.query(ctx, `SELECT max(start_ns) FROM {DB}.calls WHERE day >= (SELECT max(day) FROM {DB}.calls)`)
		if err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		if len(rows) != 1 || len(rows[0]) != 1 || atoi(rows[0][0]) == 0 {
			return []CallSummary{}, nil
		}
		hi = time.Unix(0, atoi(rows[0][0])+1)
	}
	// Without q.From the search ends where the windows pass the oldest
	// call; 50 years back is before any.
	lo := q.From
	if lo.IsZero() {
		lo = hi.Add(-50 * 365 * 24 * time.Hour)
	}
	for win := time.Hour; ; win *= 8 {
		wq := q
		wq.From, wq.To = hi.Add(-win), hi
		if !wq.From.After(lo) {
			wq.From = lo
		}
		rows, err := s.searchWindow(ctx, wq, 0, offset+limit)
		if err != nil || len(rows) >= offset+limit || wq.From.Equal(lo) {
			if err != nil || offset >= len(rows) {
				return []CallSummary{}, err
			}
			return rows[offset:], nil
		}
	}
}

// searchWindow runs one search query.
func (s *ClickHouse) searchWindow(ctx context.Context, q Query, offset, limit int) ([]CallSummary, error) {
	where, err := s.callWhere(ctx, q)
	if err != nil || where == "" {
		return []CallSummary{}, err
	}
	rows, err := s.query(ctx, s.onceEach(`SELECT call_id, start_ns, caller, callee, caller_name, final_status, reason, outcome, fault, summary,
		duration_ms, pdd_ms FROM {DB}.calls WHERE `+where, "start_ns DESC, call_id DESC", fmt.Sprintf("%d, %d", offset, limit)))
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	out := make([]CallSummary, 0, len(rows))
	for _, r := range rows {
		if len(r) != 12 {
			return nil, errors.New("store: search: unexpected answer from clickhouse")
		}
		c := CallSummary{CallID: r[0], Caller: r[2], Callee: r[3], CallerName: r[4], Reason: r[6], Outcome: r[7], Fault: r[8], Summary: r[9]}
		c.Start = time.Unix(0, atoi(r[1])).UTC()
		c.FinalStatus = int(atoi(r[5]))
		c.DurationMS, c.PDDMS = atoi(r[10]), atoi(r[11])
		out = append(out, c)
	}
	return out, nil
}

// onceEach makes a page of the calls that sel selects, each call once
// (a re-sent batch left copies of its rows, see Stats), sorted by order,
// LIMIT limit. On one server the rows are sorted, the copies dropped
// (LIMIT 1 BY) and the page cut, in that order, and ClickHouse sorts only
// the first rows it needs. Through a Distributed table ClickHouse 18 has
// each shard sort its rows and cut them at the page's end before the
// copies are dropped over all shards: a page would hold a call's copies
// in the places of other calls, which then show on no page. There the
// copies are dropped first, in a sub-query, and the page sorted and cut
// from what is left.
func (s *ClickHouse) onceEach(sel, order, limit string) string {
	if s.cluster == "" {
		return sel + " ORDER BY " + order + " LIMIT 1 BY call_id, start_ns LIMIT " + limit
	}
	return "SELECT * FROM (" + sel + " LIMIT 1 BY call_id, start_ns) ORDER BY " + order + " LIMIT " + limit
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// timeWhere limits day (the partition key, so that whole days are
// skipped) and start_ns to [from, to).
func timeWhere(from, to time.Time) []string {
	var w []string
	if !from.IsZero() {
		w = append(w, fmt.Sprintf("day >= '%s' AND start_ns >= %d", day(from), from.UnixNano()))
	}
	if !to.IsZero() {
		w = append(w, fmt.Sprintf("day <= '%s' AND start_ns < %d", day(to), to.UnixNano()))
	}
	return w
}

// callWhere builds the WHERE of a call search; "" means nothing can
// match (an unknown Call-ID).
func (s *ClickHouse) callWhere(ctx context.Context, q Query) (string, error) {
	w := timeWhere(q.From, q.To)
	if q.Number != "" {
		// Case matters to no digit: the case-sensitive search is faster.
		pos := "position"
		if strings.ToLower(q.Number) != strings.ToUpper(q.Number) {
			pos = "positionCaseInsensitive"
		}
		var or []string
		for _, col := range numberColumns {
			or = append(or, fmt.Sprintf("%s(%s, %s) > 0", pos, col, quote(q.Number)))
		}
		w = append(w, "("+strings.Join(or, " OR ")+")")
	}
	if q.CallID != "" {
		// By the call_ids table's primary key first: the calls table is
		// ordered by time, not by Call-ID.
		keys, err := s.callKeys(ctx, q.CallID)
		if err != nil || len(keys) == 0 {
			return "", err
		}
		w = append(w, "call_id = "+quote(q.CallID), keys.where())
	}
	if q.Status != 0 {
		w = append(w, fmt.Sprintf("final_status = %d", q.Status))
	}
	if q.Outcome != "" {
		w = append(w, "outcome = "+quote(q.Outcome))
	}
	if q.Fault != "" {
		w = append(w, "fault = "+quote(q.Fault))
	}
	if q.Audio != "" {
		w = append(w, "audio = "+quote(q.Audio))
	}
	if len(w) == 0 {
		return "1", nil
	}
	return strings.Join(w, " AND "), nil
}

// callKey is where a call sits in the calls table: its partition and the
// first column of its sorting key.
type callKey struct {
	day string
	ns  int64
}

type callKeys []callKey

func (ks callKeys) where() string {
	days, nss := []string{}, []string{}
	for _, k := range ks {
		days = append(days, "'"+k.day+"'")
		nss = append(nss, strconv.FormatInt(k.ns, 10))
	}
	return fmt.Sprintf("day IN (%s) AND start_ns IN (%s)", strings.Join(days, ","), strings.Join(nss, ","))
}

// callKeys looks a Call-ID up in call_ids, newest first.
func (s *ClickHouse) callKeys(ctx context.Context, id string) (callKeys, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT toString(day), start_ns FROM {DB}.call_ids WHERE call_id = `+quote(id)+
		` ORDER BY start_ns DESC LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("store: call %q: %w", id, err)
	}
	var ks callKeys
	for _, r := range rows {
		if len(r) == 2 {
			ks = append(ks, callKey{r[0], atoi(r[1])})
		}
	}
	return ks, nil
}

// GetCall implements Store: the Call-ID's day and start from call_ids,
// then the call and its messages from one row of messages.
func (s *ClickHouse) GetCall(ctx context.Context, id string) (*CallRecord, error) {
	keys, err := s.callKeys(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	if len(keys) == 0 {
		return nil, ErrNotFound
	}
	rows, err := s.query(ctx, `SELECT json, data FROM {DB}.messages WHERE call_id = `+quote(id)+` AND `+keys.where()+
		` ORDER BY start_ns DESC LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	if len(rows) == 0 || len(rows[0]) != 2 {
		return nil, ErrNotFound
	}
	cr := &CallRecord{Call: &analyze.Call{}}
	if err := json.Unmarshal([]byte(rows[0][0]), cr.Call); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	if cr.Messages, err = decodeMessages([]byte(rows[0][1])); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", id, err)
	}
	return cr, nil
}

// Linker is implemented by stores that link the legs of a call that
// different collectors stored (ClickHouse); with one collector the
// analyzer links them itself (analyze.Call.LegOf).
type Linker interface {
	LinkedCalls(ctx context.Context, id string) ([]CallSummary, error)
}

// LinkedCalls returns the other legs of call id that any collector
// stored: calls whose X-CID names it or that it names, and calls with
// its Session-ID or icid. A call through two collectors is linked here,
// at query time, because neither collector saw both legs.
func (s *ClickHouse) LinkedCalls(ctx context.Context, id string) ([]CallSummary, error) {
	keys, err := s.callKeys(ctx, id)
	if err != nil || len(keys) == 0 {
		return []CallSummary{}, err
	}
	rows, err := s.query(ctx, `SELECT x_cid, session_id, icid, start_ns FROM {DB}.calls WHERE call_id = `+quote(id)+` AND `+keys.where()+
		` ORDER BY start_ns DESC LIMIT 1`)
	if err != nil || len(rows) == 0 || len(rows[0]) != 4 {
		return []CallSummary{}, err
	}
	xcid, sid, icid, ns := rows[0][0], rows[0][1], rows[0][2], atoi(rows[0][3])
	or := []string{"x_cid = " + quote(id)}
	if xcid != "" {
		or = append(or, "call_id = "+quote(xcid))
	}
	if sid != "" {
		or = append(or, "session_id = "+quote(sid))
	}
	if icid != "" {
		or = append(or, "icid = "+quote(icid))
	}
	// Legs of one call start within minutes of each other.
	from, to := time.Unix(0, ns).Add(-time.Hour), time.Unix(0, ns).Add(time.Hour)
	w := append(timeWhere(from, to), "call_id != "+quote(id), "("+strings.Join(or, " OR ")+")")
	rs, err := s.query(ctx, s.onceEach(`SELECT call_id, start_ns, caller, callee, caller_name, final_status, reason, outcome, fault, summary,
		duration_ms, pdd_ms FROM {DB}.calls WHERE `+strings.Join(w, " AND "), "start_ns, call_id", "20"))
	if err != nil {
		return nil, fmt.Errorf("store: linked %q: %w", id, err)
	}
	out := []CallSummary{}
	for _, r := range rs {
		if len(r) == 12 {
			out = append(out, CallSummary{CallID: r[0], Start: time.Unix(0, atoi(r[1])).UTC(), Caller: r[2], Callee: r[3], CallerName: r[4],
				FinalStatus: int(atoi(r[5])), Reason: r[6], Outcome: r[7], Fault: r[8], Summary: r[9], DurationMS: atoi(r[10]), PDDMS: atoi(r[11])})
		}
	}
	return out, nil
}

// Timeline implements Store, with the same rules as SQLite's.
func (s *ClickHouse) Timeline(ctx context.Context, from, to time.Time, step time.Duration) ([]Bucket, error) {
	if step <= 0 || !to.After(from) {
		return nil, errors.New("store: timeline: empty range")
	}
	if to.Sub(from)/step > 10000 {
		return nil, errors.New("store: timeline: more than 10000 buckets")
	}
	w := append(timeWhere(from, to), "leg_of = ''", "outcome != 'incomplete'")
	rows, err := s.query(ctx, fmt.Sprintf(`SELECT intDiv(start_ns - %d, %d) AS b, count(),
		countIf(final_status BETWEEN 200 AND 299),
		countIf(final_status BETWEEN 300 AND 399),
		countIf(final_status BETWEEN 200 AND 299 OR final_status IN (480, 486, 600, 603)),
		countIf(final_status IN (408, 500, 503, 504) OR outcome = 'timeout'),
		sumIf(pdd_ms, pdd_ms > 0), countIf(pdd_ms > 0)
		FROM (SELECT call_id, start_ns, final_status, outcome, pdd_ms FROM {DB}.calls WHERE %s LIMIT 1 BY call_id, start_ns)
		GROUP BY b ORDER BY b`,
		from.UnixNano(), int64(step), strings.Join(w, " AND ")))
	if err != nil {
		return nil, fmt.Errorf("store: timeline: %w", err)
	}
	n := int((to.Sub(from) + step - 1) / step)
	out := make([]Bucket, n)
	for i := range out {
		out[i].Start = from.Add(time.Duration(i) * step).UTC()
	}
	for _, r := range rows {
		if len(r) != 8 {
			return nil, errors.New("store: timeline: unexpected answer from clickhouse")
		}
		b := int(atoi(r[0]))
		if b >= 0 && b < n {
			out[b] = Bucket{Start: out[b].Start, Attempts: int(atoi(r[1])), Answered: int(atoi(r[2])), Redirected: int(atoi(r[3])),
				Effective: int(atoi(r[4])), Ineffective: int(atoi(r[5])), PDDSumMS: atoi(r[6]), PDDCount: int(atoi(r[7]))}
		}
	}
	return out, nil
}

// CountCalls implements Store, with the same rules as SQLite's. The top
// groups are found first, then counted per bucket, in two queries: on a
// cluster a sub-query would rank the groups per shard.
func (s *ClickHouse) CountCalls(ctx context.Context, q CountQuery) ([]Count, error) {
	col, ok := map[string]string{ByStatus: "toString(final_status)", ByFault: "fault", ByPeer: "peer", ByCallee: "callee", ByCaller: "caller", ByAudio: "audio"}[q.By]
	if !ok {
		return nil, fmt.Errorf("store: count: cannot group by %q", q.By)
	}
	if !q.To.After(q.From) || q.From.IsZero() {
		return nil, errors.New("store: count: empty range")
	}
	if q.Step < 0 || q.Step > 0 && q.To.Sub(q.From)/q.Step > 10000 {
		return nil, errors.New("store: count: more than 10000 buckets")
	}
	w := append(timeWhere(q.From, q.To), "leg_of = ''")
	if q.Outcomes != nil {
		os := []string{"''"}
		for _, o := range q.Outcomes {
			os = append(os, quote(o))
		}
		w = append(w, "outcome IN ("+strings.Join(os, ",")+")")
	}
	top := q.Top
	if top <= 0 || top > MaxLimit {
		top = MaxLimit
	}
	sel := `(SELECT ` + col + ` AS k, start_ns FROM {DB}.calls WHERE ` + strings.Join(w, " AND ") + ` LIMIT 1 BY call_id, start_ns)`
	order := "k"
	if q.By == ByStatus {
		order = "toUInt16OrZero(k)"
	}
	keys, err := s.query(ctx, `SELECT k FROM `+sel+` GROUP BY k ORDER BY count() DESC, `+order+fmt.Sprintf(" LIMIT %d", top))
	if err != nil {
		return nil, fmt.Errorf("store: count: %w", err)
	}
	out := []Count{}
	if len(keys) == 0 {
		return out, nil
	}
	in := make([]string, len(keys))
	for i, k := range keys {
		in[i] = quote(k[0])
	}
	step := int64(q.Step)
	if step == 0 {
		step = q.To.UnixNano() - q.From.UnixNano()
	}
	rows, err := s.query(ctx, fmt.Sprintf(`SELECT intDiv(start_ns - %d, %d) AS b, k, count() AS n FROM %s WHERE k IN (%s)
		GROUP BY b, k ORDER BY b, n DESC, %s`, q.From.UnixNano(), step, sel, strings.Join(in, ","), order))
	if err != nil {
		return nil, fmt.Errorf("store: count: %w", err)
	}
	for _, r := range rows {
		if len(r) != 3 {
			return nil, errors.New("store: count: unexpected answer from clickhouse")
		}
		c := Count{Key: r[1], Count: int(atoi(r[2]))}
		if q.Step > 0 {
			c.Start = q.From.Add(time.Duration(atoi(r[0])) * q.Step).UTC()
		}
		out = append(out, c)
	}
	return out, nil
}

// SearchRegistrations implements Store.
func (s *ClickHouse) SearchRegistrations(ctx context.Context, q RegQuery) ([]*analyze.Register, error) {
	w := timeWhere(q.From, q.To)
	if q.AOR != "" {
		w = append(w, "positionCaseInsensitive(aor, "+quote(q.AOR)+") > 0")
	}
	if len(w) == 0 {
		w = []string{"1"}
	}
	sel := `SELECT start_ns, call_id, aor, outcome, json FROM {DB}.registrations WHERE ` + strings.Join(w, " AND ") +
		` ORDER BY start_ns DESC, call_id DESC LIMIT 1 BY call_id, start_ns, aor`
	if q.Latest {
		sel = `SELECT * FROM (` + sel + `) ORDER BY start_ns DESC, call_id DESC LIMIT 1 BY aor`
	}
	query := `SELECT json FROM (` + sel + `)`
	if q.Outcome != "" {
		query += " WHERE outcome = " + quote(q.Outcome)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query += fmt.Sprintf(" ORDER BY start_ns DESC, call_id DESC LIMIT %d, %d", max(q.Offset, 0), min(limit, MaxLimit))
	rows, err := s.query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: registrations: %w", err)
	}
	out := []*analyze.Register{}
	for _, row := range rows {
		r := &analyze.Register{}
		if len(row) != 1 || json.Unmarshal([]byte(row[0]), r) != nil {
			return nil, errors.New("store: registrations: unexpected answer from clickhouse")
		}
		out = append(out, r)
	}
	return out, nil
}

// chCounts are what Stats counts in each table, per day partition: each
// call once (by its Call-ID and start), the messages of each call once,
// and each registration once (by Call-ID, start and address of record).
// {T} is the table, {D} the days of the partitions counted. A call's
// copies are in one partition, its day.
var chCounts = []struct{ table, query string }{
	{"calls", `SELECT toString(toYYYYMMDD(day)) AS p, uniqExact(call_id, start_ns) FROM {T} WHERE day IN ({D}) GROUP BY p`},
	{"messages", `SELECT p, sum(n) FROM (SELECT toString(toYYYYMMDD(day)) AS p, call_id, start_ns, n FROM {T} WHERE day IN ({D})
		LIMIT 1 BY call_id, start_ns) GROUP BY p`},
	{"registrations", `SELECT toString(toYYYYMMDD(day)) AS p, uniqExact(call_id, start_ns, aor) FROM {T} WHERE day IN ({D}) GROUP BY p`},
}

// partCount is what Stats counted in one day partition of a table, and
// the active parts the partition had then.
type partCount struct {
	parts string
	n     int64
}

// statsDays bounds the partitions one counting query reads, and so the
// memory ClickHouse takes for it (uniqExact keeps 16 bytes a call).
const statsDays = 31

// Stats implements Store. Bytes is what the tables take on the disks of
// the servers that answered.
//
// Delivery is at least once (see ClickHouse), so a table may hold a call's
// rows more than once: a call is counted by its Call-ID and start, and a
// registration by its Call-ID, start and address of record, as the reads
// show them (LIMIT 1 BY), never by rows. ClickHouse 18 has no insert
// de-duplication for a MergeTree that is not replicated (the
// non_replicated_deduplication_window setting and insert_deduplication_token
// came years later), and the spool may regroup its files after a restart,
// so that a re-sent insert is not the block that was sent first: the
// copies stay in the tables and are counted once here.
//
// Counting each call once reads every row (a count of rows is read from
// the parts' metadata): 25 times longer for a million calls. So each day
// partition is counted on its own and its count kept with the names of
// its active parts, which change with every insert and merge into it: a
// later Stats counts again only the days whose parts changed, today's as
// a rule. On a cluster the parts are those of the local tables of all
// its servers, and the days are counted through the Distributed tables
// (one replica of each shard).
func (s *ClickHouse) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var err error
	if s.cluster != "" {
		st.Calls, st.Messages, st.Registrations, err = s.countOn(ctx, "")
		if err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
	} else {
		// The server that answered last, then the others, as queries
		// fail over.
		start := int(s.conn.cur.Load())
		for k := range s.conn.hosts {
			h := s.conn.hosts[(start+k)%len(s.conn.hosts)]
			st.Calls, st.Messages, st.Registrations, err = s.countOn(ctx, h)
			var ce *chError
			if err == nil || errors.As(err, &ce) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
	}
	rows, err := s.query(ctx, `SELECT min(start_ns), max(start_ns) FROM {DB}.calls`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	if len(rows) != 1 || len(rows[0]) != 2 {
		return st, errors.New("store: stats: unexpected answer from clickhouse")
	}
	if st.Calls > 0 {
		st.Oldest, st.Newest = time.Unix(0, atoi(rows[0][0])).UTC(), time.Unix(0, atoi(rows[0][1])).UTC()
	}
	for _, h := range s.conn.hosts {
		out, err := s.conn.doOn(ctx, h, `SELECT sum(bytes) FROM system.parts WHERE active AND database = `+quote(s.db)+` FORMAT TabSeparated`, nil)
		if err == nil {
			st.Bytes += atoi(strings.TrimSpace(string(out)))
		}
		if s.cluster == "" {
			break
		}
	}
	return st, nil
}

// countOn counts the calls, messages and registrations of server h, or
// of the cluster when h is "", each once (chCounts), from the counts kept
// of the day partitions whose parts did not change since.
func (s *ClickHouse) countOn(ctx context.Context, h string) (calls, msgs, regs int64, err error) {
	run := func(q string) ([]byte, error) {
		if h == "" {
			return s.conn.do(ctx, q, nil)
		}
		return s.conn.doOn(ctx, h, q, nil)
	}
	systemParts := "system.parts"
	if h == "" {
		systemParts = fmt.Sprintf("cluster(%s, system, parts)", quote(s.cluster))
	}
	var n [3]int64
	for i, c := range chCounts {
		table := s.sql("{DB}."+c.table, false) // the Distributed table on a cluster
		_, name, _ := strings.Cut(s.sql("{DB}."+c.table+"{L}", true), ".")
		out, err := run(fmt.Sprintf(`SELECT partition_id, name FROM %s WHERE active AND database = %s AND table = %s
			ORDER BY partition_id, name FORMAT TabSeparated`, systemParts, quote(s.db), quote(name)))
		if err != nil {
			return 0, 0, 0, err
		}
		rows, err := tsvRows(out)
		if err != nil {
			return 0, 0, 0, err
		}
		parts := map[string]string{} // partition → its parts
		var order []string
		for _, r := range rows {
			if len(r) != 2 || len(r[0]) != 8 {
				continue
			}
			if _, ok := parts[r[0]]; !ok {
				order = append(order, r[0])
			}
			parts[r[0]] += r[1] + " "
		}
		key := h + " " + table
		s.statsMu.Lock()
		kept := s.statsKept[key]
		s.statsMu.Unlock()
		now := make(map[string]partCount, len(order))
		var stale []string
		for _, p := range order {
			if pc, ok := kept[p]; ok && pc.parts == parts[p] {
				now[p] = pc
			} else {
				stale = append(stale, p)
			}
		}
		for len(stale) > 0 {
			chunk := stale[:min(len(stale), statsDays)]
			stale = stale[len(chunk):]
			days := make([]string, len(chunk))
			for j, p := range chunk {
				days[j] = "'" + p[:4] + "-" + p[4:6] + "-" + p[6:] + "'"
				now[p] = partCount{parts: parts[p]} // none left: 0
			}
			q := strings.NewReplacer("{T}", table, "{D}", strings.Join(days, ",")).Replace(c.query)
			out, err := run(q + " FORMAT TabSeparated")
			if err != nil {
				return 0, 0, 0, err
			}
			counted, err := tsvRows(out)
			if err != nil {
				return 0, 0, 0, err
			}
			for _, r := range counted {
				if len(r) != 2 {
					continue
				}
				if pc, ok := now[r[0]]; ok {
					pc.n = atoi(r[1])
					now[r[0]] = pc
				}
			}
		}
		for _, pc := range now {
			n[i] += pc.n
		}
		// Partitions dropped since are forgotten.
		s.statsMu.Lock()
		if s.statsKept == nil {
			s.statsKept = map[string]map[string]partCount{}
		}
		s.statsKept[key] = now
		s.statsMu.Unlock()
	}
	return n[0], n[1], n[2], nil
}

// Retain implements Store by dropping the day partitions that end before
// t (ClickHouse deletes whole parts cheaply; rows cannot be deleted
// one by one). Calls of the day t falls in stay until that day is over.
// It returns the number of calls the dropped partitions held, each
// counted once however many copies of its rows they held (see Stats),
// on a cluster through the Distributed table (one replica of each shard).
func (s *ClickHouse) Retain(ctx context.Context, before time.Time) (int64, error) {
	cut := before.UTC().Format("20060102")
	hosts := s.conn.hosts
	if s.cluster == "" {
		hosts = []string{hosts[s.conn.cur.Load()]}
	}
	type drop struct{ host, table, partition string }
	var drops []drop
	days := map[string]bool{} // of the calls dropped
	for _, h := range hosts {
		for _, t := range []string{"calls", "call_ids", "messages", "registrations"} {
			table := s.sql("{DB}."+t+"{L}", true)
			_, name, _ := strings.Cut(table, ".")
			out, err := s.conn.doOn(ctx, h, fmt.Sprintf(`SELECT DISTINCT partition_id FROM system.parts WHERE active AND database = %s AND table = %s
				AND partition_id < '%s' ORDER BY partition_id FORMAT TabSeparated`, quote(s.db), quote(name), cut), nil)
			if err != nil {
				return 0, fmt.Errorf("store: retain: %w", err)
			}
			rows, err := tsvRows(out)
			if err != nil {
				return 0, fmt.Errorf("store: retain: %w", err)
			}
			for _, r := range rows {
				if len(r) != 1 || len(r[0]) != 8 {
					continue
				}
				drops = append(drops, drop{h, table, r[0]})
				if t == "calls" {
					days["'"+r[0][:4]+"-"+r[0][4:6]+"-"+r[0][6:]+"'"] = true
				}
			}
		}
	}
	var dropped int64
	if len(days) > 0 {
		in := slices.Sorted(maps.Keys(days))
		rows, err := s.query(ctx, `SELECT uniqExact(call_id, start_ns) FROM {DB}.calls WHERE day IN (`+strings.Join(in, ",")+`)`)
		if err != nil {
			return 0, fmt.Errorf("store: retain: %w", err)
		}
		if len(rows) == 1 && len(rows[0]) == 1 {
			dropped = atoi(rows[0][0])
		}
	}
	for _, d := range drops {
		if _, err := s.conn.doOn(ctx, d.host, fmt.Sprintf("ALTER TABLE %s DROP PARTITION ID %s", d.table, quote(d.partition)), nil); err != nil {
			return dropped, fmt.Errorf("store: retain: %w", err)
		}
	}
	return dropped, nil
}

// spool is the directory of batches written but not yet in ClickHouse:
// one file per PutCalls, named by a sequence number, written to a
// temporary name, fsynced and renamed, so that a file present is whole.
type spool struct {
	dir  string
	max  int64
	sync bool
	lock *os.File

	mu       sync.Mutex
	seq      uint64
	files    []spoolFile // oldest first
	bytes    int64
	force    int
	damaged  int64 // files set aside
	rejected int64 // files ClickHouse refused, set aside
	solo     bool  // one file per insert, to find a refused one
	droppedC atomic.Int64
	droppedR atomic.Int64
	retries  atomic.Int64
	lastErr  string
	inFlight *spoolGroup
	closed   bool
}

type spoolFile struct {
	name    string
	size    int64
	calls   int
	created time.Time
}

type spoolGroup struct {
	files []spoolFile
	rows  [4][][]byte // per table, the rows of each file (parts of the files read)
	// callsCols is how many of the calls columns the rows hold: those of
	// the schema of the sipcause that spooled them (columns are only
	// ever added at the end), so that files an earlier version left in
	// the spool are still sent after an upgrade.
	callsCols int
	done      int // tables already inserted
}

const spoolMagic = "sipcause-spool-1\n"

func openSpool(dir string, max int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: spool: %w", err)
	}
	if err := lockSpool(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: spool %s is used by another sipcause process: %w", dir, err)
	}
	sp := &spool{dir: dir, max: max, lock: lock}
	ents, err := os.ReadDir(dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".tmp"):
			os.Remove(filepath.Join(dir, name)) // a write a crash interrupted: never acknowledged
		case strings.HasSuffix(name, ".batch"):
			n, err := strconv.ParseUint(strings.TrimSuffix(name, ".batch"), 10, 64)
			if err != nil {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			sp.seq = max64(sp.seq, n)
			sp.files = append(sp.files, spoolFile{name: name, size: info.Size(), calls: 1, created: info.ModTime()})
			sp.bytes += info.Size()
		}
	}
	sort.Slice(sp.files, func(i, j int) bool { return sp.files[i].name < sp.files[j].name })
	return sp, nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// add writes one batch durably.
func (sp *spool) add(rows [4][]byte, ncalls, nregs int) error {
	var b []byte
	b = append(b, spoolMagic...)
	for _, r := range rows {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	sp.mu.Lock()
	if sp.closed {
		sp.mu.Unlock()
		return errors.New("store: clickhouse: closed")
	}
	if sp.bytes+int64(len(b)) > sp.max {
		sp.mu.Unlock()
		sp.droppedC.Add(int64(ncalls))
		sp.droppedR.Add(int64(nregs))
		return ErrSpoolFull
	}
	sp.seq++
	name := fmt.Sprintf("%020d.batch", sp.seq)
	sp.bytes += int64(len(b)) // reserved before the write, so that concurrent writers respect the bound
	sp.mu.Unlock()
	err := writeFile(sp.dir, name, b, sp.sync)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err != nil {
		sp.bytes -= int64(len(b))
		return fmt.Errorf("store: spool: %w", err)
	}
	f := spoolFile{name: name, size: int64(len(b)), calls: max(ncalls, 1), created: time.Now()}
	// Keep the list sorted: writers may finish out of order.
	i := sort.Search(len(sp.files), func(i int) bool { return sp.files[i].name > name })
	sp.files = slices.Insert(sp.files, i, f)
	return nil
}

// writeFile writes a spool file under a temporary name and renames it,
// so that a file with its final name was written whole (fsynced first
// when sync is set).
func writeFile(dir, name string, b []byte, sync bool) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !sync {
		return nil
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// pending returns when the oldest batch was spooled, how many calls wait
// (a batch of registrations counts as one), their bytes and whether a
// Flush is asking.
func (sp *spool) pending() (oldest time.Time, calls int, bytes int64, force bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.inFlight != nil {
		return time.Time{}, 1, 0, true // a failed group waits for its retry
	}
	for i, f := range sp.files {
		if i == 0 {
			oldest = f.created
		}
		calls += f.calls
	}
	return oldest, calls, sp.bytes, sp.force > 0
}

func (sp *spool) setForce(on bool) {
	sp.mu.Lock()
	if on {
		sp.force++
	} else {
		sp.force--
	}
	sp.mu.Unlock()
}

// group reads the oldest files, up to rows calls and maxBytes bytes
// (at least one file), into one insert. A group whose insert failed
// half-way is returned again, so that the tables already written are
// not written twice.
func (sp *spool) group(rows int, maxBytes int64) (*spoolGroup, error) {
	sp.mu.Lock()
	if sp.inFlight != nil {
		g := sp.inFlight
		sp.mu.Unlock()
		return g, nil
	}
	var files []spoolFile
	n, size := 0, int64(0)
	if len(sp.files) == 0 {
		sp.solo = false
	}
	for _, f := range sp.files {
		if len(files) > 0 && (n+f.calls > rows || size+f.size > maxBytes || sp.solo) {
			break
		}
		files = append(files, f)
		n += f.calls
		size += f.size
	}
	sp.mu.Unlock()
	if len(files) == 0 {
		return nil, nil
	}
	g := &spoolGroup{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(sp.dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("store: spool: %w", err)
		}
		rows, ok := decodeSpool(b)
		if !ok {
			// Torn by an operating-system crash: set aside, never sent
			// half; the rest of the spool goes on.
			os.Rename(filepath.Join(sp.dir, f.name), filepath.Join(sp.dir, f.name+".damaged"))
			sp.mu.Lock()
			sp.damaged++
			sp.bytes -= f.size
			sp.files = slices.DeleteFunc(sp.files, func(x spoolFile) bool { return x.name == f.name })
			sp.mu.Unlock()
			return nil, fmt.Errorf("store: spool: %s is damaged and was set aside", f.name)
		}
		cols := 0
		if len(rows[3]) > 0 {
			line, _, _ := bytes.Cut(rows[3], []byte("\n"))
			cols = bytes.Count(line, []byte("\t")) + 1
		}
		if len(g.files) > 0 && cols != 0 && g.callsCols != 0 && cols != g.callsCols {
			break // spooled by another sipcause version: the next insert takes it
		}
		g.callsCols = max(g.callsCols, cols)
		g.files = append(g.files, f)
		for i := range g.rows {
			if len(rows[i]) > 0 {
				g.rows[i] = append(g.rows[i], rows[i])
			}
		}
	}
	sp.mu.Lock()
	sp.inFlight = g
	sp.mu.Unlock()
	return g, nil
}

// split ends the group in flight if it holds several files and sends
// one file per insert from then on, until the spool is empty; false when
// the group was a single file already.
func (sp *spool) split() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.inFlight == nil || len(sp.inFlight.files) < 2 {
		return false
	}
	sp.inFlight = nil
	sp.solo = true
	return true
}

// setAside renames the files of the group in flight to *.rejected, out
// of the spool.
func (sp *spool) setAside() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	g := sp.inFlight
	if g == nil {
		return
	}
	sp.inFlight = nil
	gone := map[string]bool{}
	for _, f := range g.files {
		os.Rename(filepath.Join(sp.dir, f.name), filepath.Join(sp.dir, f.name+".rejected"))
		gone[f.name] = true
		sp.bytes -= f.size
		sp.rejected++
	}
	sp.files = slices.DeleteFunc(sp.files, func(f spoolFile) bool { return gone[f.name] })
}

// decodeSpool splits a spool file into the rows of each table.
func decodeSpool(b []byte) (rows [4][]byte, ok bool) {
	b, ok = bytes.CutPrefix(b, []byte(spoolMagic))
	if !ok {
		return rows, false
	}
	for i := range rows {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return rows, false
		}
		rows[i] = b[k : k+int(l)]
		b = b[k+int(l):]
	}
	return rows, len(b) == 0
}

// remove deletes the files of a group that is in ClickHouse.
func (sp *spool) remove(g *spoolGroup) error {
	var err error
	for _, f := range g.files {
		if e := os.Remove(filepath.Join(sp.dir, f.name)); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = e
		}
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.inFlight = nil
	sent := map[string]bool{}
	for _, f := range g.files {
		sent[f.name] = true
		sp.bytes -= f.size
	}
	sp.files = slices.DeleteFunc(sp.files, func(f spoolFile) bool { return sent[f.name] })
	sp.lastErr = ""
	if err != nil {
		return fmt.Errorf("store: spool: %w", err)
	}
	return nil
}

func (sp *spool) failed(err error) {
	sp.retries.Add(1)
	sp.mu.Lock()
	sp.lastErr = err.Error()
	sp.mu.Unlock()
}

func (sp *spool) stats() BufferStats {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return BufferStats{Bytes: sp.bytes, Batches: int64(len(sp.files)), DroppedCalls: sp.droppedC.Load(), DroppedRegs: sp.droppedR.Load(),
		Retries: sp.retries.Load(), Damaged: sp.damaged, Rejected: sp.rejected, LastError: sp.lastErr}
}

func (sp *spool) close() error {
	sp.mu.Lock()
	sp.closed = true
	sp.mu.Unlock()
	return sp.lock.Close()
}
