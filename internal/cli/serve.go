package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/internal/memlimit"
	"github.com/sipcause/sipcause/server"
	"github.com/sipcause/sipcause/store"
)

// ServeOptions are the options of `sipcause serve`.
type ServeOptions struct {
	HTTPAddr string // web UI and API; default 127.0.0.1:8080
	HEPAddr  string // HEP over UDP and TCP; default 127.0.0.1:9060; "" for none
	HEPTLS   string // HEP over TLS, with --tls-cert/--tls-key; "" for none
	SIPAddr  string // plain SIP over UDP; "" for none
	DB       string // SQLite file; default sipcause.db
	// Store, when set, replaces DB: sqlite:PATH or
	// clickhouse://HOST:8123[,HOST:8123...]/DB?user=...
	Store string
	// CHPassword is the ClickHouse password (from the environment).
	CHPassword string
	SpoolDir   string // the ClickHouse store's local buffer
	SpoolMax   int64
	// NoCollector serves the UI and API only (no HEP, no SIP, no
	// retention): a front end for the collectors writing to ClickHouse.
	NoCollector bool
	// AllowDestructiveMigration lets a schema migration drop data.
	AllowDestructiveMigration bool
	Retention                 time.Duration
	Lang                      catalog.Lang
	Perspective               catalog.Perspective // who reads the pages: customer or provider (review T25)
	Local                     []netip.Prefix
	LocalHosts                []string
	AuthToken                 string
	AuthTokenFile             string // file holding the token: it is then not in the process list
	AuthUsers                 string // file of name:bcrypt-hash lines (sipcause passwd)
	TLSCert, TLSKey           string // PEM files: serve the web UI and API over HTTPS
	MaxUpload                 int64
	QueueSize                 int
	MaxOpenCalls              int
	// MediaWait is how long a finished call waits for its agents' last
	// RTCP and RTP statistics reports; 0 means 5 s, negative none.
	// MaxMediaWaiting bounds the calls waiting so (0: a tenth of
	// MaxOpenCalls).
	MediaWait       time.Duration
	MaxMediaWaiting int
	// TimeTolerance: a HEP timestamp further than this from the clock is
	// replaced by the arrival time; 0 means 1 minute, negative trusts
	// every timestamp.
	TimeTolerance time.Duration
	// MaxMemory is the memory budget in bytes (default 1 GiB): the
	// collector's byte budgets are parts of it, and the Go runtime is told
	// to collect harder when the process comes near it.
	MaxMemory int64
	// MaxDBSize is the SQLite database's disk budget in bytes; 0 is none.
	MaxDBSize int64
	// Location is the zone the web UI shows and reads times in; nil is
	// time.Local.
	Location *time.Location
	// Ready, when set, is called once everything listens, with the
	// addresses actually bound (tests bind to port 0).
	Ready func(httpAddr, hepAddr, sipAddr string)
}

// servePace sets the Go runtime's garbage collection for the collector
// and returns what puts the previous settings back. Unless GOGC is set,
// the runtime collects when the heap nears the collector's heap target (a
// quarter of --max-memory, server.HeapTarget) or half again the live heap
// when that is more, never letting it pass --max-memory (internal/memlimit
// with GOGC off). A collector's live heap is large and long-lived (the
// open calls, their raw messages, the queues): collecting each time it had
// grown by half (GOGC=50, before) marked it again every few hundred
// milliseconds at 100,000 HEP messages a second, a fifth of the
// collector's CPU (issue 12). With GOGC set, the user's pace holds, and
// --max-memory is the soft limit as before.
func servePace(getenv func(string) string, maxMemory int64) (restore func()) {
	if maxMemory <= 0 {
		maxMemory = server.DefaultMaxMemory
	}
	if getenv != nil && getenv("GOGC") != "" {
		prev := debug.SetMemoryLimit(maxMemory)
		return func() { debug.SetMemoryLimit(prev) }
	}
	return memlimit.StartWithin(uint64(server.HeapTarget(maxMemory)), uint64(maxMemory))
}

func runServe(args []string, env Env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	o := ServeOptions{}
	fs.StringVar(&o.HTTPAddr, "http", "127.0.0.1:8080", "address of the web UI and API")
	fs.StringVar(&o.HEPAddr, "hep", "127.0.0.1:9060", "address to receive HEP on (UDP and TCP); empty for none")
	fs.StringVar(&o.HEPTLS, "hep-tls", "", "address to receive HEP over TLS on (heplify -nt tls), with the certificate of --tls-cert/--tls-key; empty for none")
	fs.StringVar(&o.SIPAddr, "sip", "", "address to receive plain SIP datagrams on (a mirror); empty for none")
	fs.StringVar(&o.DB, "db", "sipcause.db", "SQLite database file")
	fs.StringVar(&o.Store, "store", "", "where calls are stored: sqlite:PATH, or clickhouse://HOST:8123[,HOST:8123]/DB?user=U[&cluster=NAME][&secure=1][&password_file=F]\n(the password can also come from SIPCAUSE_CLICKHOUSE_PASSWORD); overrides --db")
	fs.StringVar(&o.SpoolDir, "spool", "sipcause-spool", "directory buffering batches for ClickHouse while it cannot be reached")
	spoolMax := fs.String("spool-max", "1GiB", "largest spool; beyond it batches are dropped and counted in /metrics")
	fs.BoolVar(&o.NoCollector, "no-collector", false, "serve the web UI and API only (no HEP or SIP receivers, no retention)")
	fs.BoolVar(&o.AllowDestructiveMigration, "allow-destructive-migration", false, "let a ClickHouse schema migration drop or rewrite data")
	retention := fs.String("retention", "7d", "delete calls older than this (e.g. 36h, 7d; 0 keeps everything)")
	fs.StringVar(&o.AuthToken, "auth-token", "", "require this token (Bearer, or as the basic-auth password)")
	fs.StringVar(&o.AuthTokenFile, "auth-token-file", "", "read the token from this file (then it is not visible in the process list)")
	fs.StringVar(&o.AuthUsers, "auth-users", "", "basic-auth users file: name:bcrypt-hash lines, made with `sipcause passwd NAME`")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "certificate (PEM) to serve the web UI and API over HTTPS; with --tls-key")
	fs.StringVar(&o.TLSKey, "tls-key", "", "private key (PEM) for --tls-cert")
	maxUpload := fs.String("max-upload", "64MiB", "largest capture accepted by upload")
	maxDBSize := fs.String("max-db-size", "0", "SQLite: delete the oldest calls when the database uses more than this (e.g. 20GiB); 0 for no limit")
	maxMemory := fs.String("max-memory", "1GiB", "memory budget: raw messages, queues and uploads are bounded to parts of it")
	fs.IntVar(&o.QueueSize, "queue", 65536, "messages buffered between the receivers and the analyzer")
	fs.IntVar(&o.MaxOpenCalls, "max-open-calls", 50000, "open calls before the oldest are finished early")
	fs.DurationVar(&o.MediaWait, "media-wait", 5*time.Second, "how long a finished call waits for its capture agents' last RTCP and RTP statistics reports (sent a moment after the BYE); 0 for no wait")
	fs.IntVar(&o.MaxMediaWaiting, "max-media-waiting", 0, "finished calls that may wait so at once; past it the oldest are stored without waiting (default a tenth of --max-open-calls)")
	fs.DurationVar(&o.TimeTolerance, "time-tolerance", time.Minute, "a HEP timestamp further than this from the clock is replaced by the arrival time and counted; 0 trusts every timestamp (to replay old captures)")
	var local listFlag
	fs.Var(&local, "local", "your own side: IP address, CIDR or host name (repeatable)")
	lang := langFlag(fs, env)
	perspective := perspectiveFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve: unexpected argument %q", pos[0])
	}
	o.Location = serveZone(env.Getenv)
	if o.Lang, err = lang(); err != nil {
		return err
	}
	if o.Perspective, err = perspective(); err != nil {
		return err
	}
	if o.Retention, err = parseRetention(*retention); err != nil {
		return usagef("serve: --retention %q: %v", *retention, err)
	}
	if o.MaxUpload, err = parseSize(*maxUpload); err != nil {
		return usagef("serve: --max-upload %q: %v", *maxUpload, err)
	}
	if o.SpoolMax, err = parseSize(*spoolMax); err != nil {
		return usagef("serve: --spool-max %q: %v", *spoolMax, err)
	}
	if env.Getenv != nil {
		o.CHPassword = env.Getenv("SIPCAUSE_CLICKHOUSE_PASSWORD")
	}
	if *maxDBSize != "0" {
		if o.MaxDBSize, err = parseSize(*maxDBSize); err != nil {
			return usagef("serve: --max-db-size %q: %v", *maxDBSize, err)
		}
	}
	if o.MaxMemory, err = parseSize(*maxMemory); err != nil {
		return usagef("serve: --max-memory %q: %v", *maxMemory, err)
	}
	if o.TimeTolerance <= 0 {
		o.TimeTolerance = -1 // the flag's 0: trust every timestamp
	}
	if o.MediaWait <= 0 {
		o.MediaWait = -1 // the flag's 0: no call waits
	}
	o.Local, o.LocalHosts = parseLocal(local)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer servePace(env.Getenv, o.MaxMemory)()
	return Serve(ctx, o, env.Stderr)
}

// openStore opens the store --store or --db names, and says where it is
// (without a password: none is ever in the URL).
func openStore(ctx context.Context, o ServeOptions) (store.Store, string, error) {
	loc := o.Store
	if loc == "" {
		loc = "sqlite:" + o.DB
	}
	if path, ok := strings.CutPrefix(loc, "sqlite:"); ok {
		st, err := store.OpenSQLite(path)
		return st, path, err
	}
	if strings.HasPrefix(loc, "clickhouse://") {
		octx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		// A collector starts while ClickHouse is away and spools; a UI
		// without a database is of no use.
		st, err := store.OpenClickHouse(octx, loc, store.CHOptions{Password: o.CHPassword, SpoolDir: o.SpoolDir, SpoolMax: o.SpoolMax,
			AllowDestructive: o.AllowDestructiveMigration, StartOffline: !o.NoCollector})
		if err != nil {
			return nil, "", err
		}
		where, _, _ := strings.Cut(loc, "?")
		if st.Offline() {
			where += " (not reachable yet: collecting into " + o.SpoolDir + ")"
		}
		return st, where, nil
	}
	return nil, "", usagef("serve: --store %q: want sqlite:PATH or clickhouse://HOST:PORT/DB", loc)
}

// parseRetention reads a duration that may also be given in days ("7d").
func parseRetention(s string) (time.Duration, error) {
	if s == "0" || s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n < 0 {
			return 0, errors.New("want a number of days such as 7d, or a duration such as 36h")
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want a number of days such as 7d, or a duration such as 36h")
	}
	return d, nil
}

// parseSize reads a byte count with an optional KiB, MiB or GiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.n
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a size such as 64MiB")
	}
	return n * mult, nil
}

// Serve runs the collector, the store and the web UI until ctx is done,
// then stops them in order: no new HTTP requests, the collector finishes
// what it received and writes it, the store is closed.
func Serve(ctx context.Context, o ServeOptions, stderr io.Writer) error {
	if o.AuthTokenFile != "" {
		if o.AuthToken != "" {
			return usagef("serve: give --auth-token or --auth-token-file, not both")
		}
		b, err := os.ReadFile(o.AuthTokenFile)
		if err != nil {
			return usagef("serve: --auth-token-file: %v", err)
		}
		if o.AuthToken = strings.TrimSpace(string(b)); o.AuthToken == "" {
			return usagef("serve: --auth-token-file %s is empty", o.AuthTokenFile)
		}
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usagef("serve: --tls-cert and --tls-key go together")
	}
	var hepTLS *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return usagef("serve: --tls-cert/--tls-key: %v", err)
		}
		hepTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if o.HEPTLS != "" && hepTLS == nil {
		return usagef("serve: --hep-tls needs --tls-cert and --tls-key")
	}
	hopt := server.HandlerOptions{SecureCookies: o.TLSCert != "", Lang: o.Lang, Local: o.Local, LocalHosts: o.LocalHosts, MaxUpload: o.MaxUpload, AuthToken: o.AuthToken,
		Location: o.Location, Perspective: o.Perspective}
	if o.AuthUsers != "" {
		f, err := os.Open(o.AuthUsers)
		if err != nil {
			return usagef("serve: --auth-users: %v", err)
		}
		hopt.AuthUsers, err = server.ReadUsersFile(f)
		f.Close()
		if err != nil {
			return usagef("serve: --auth-users %s: %v", o.AuthUsers, err)
		}
	}
	if err := server.CheckBind(o.HTTPAddr, hopt.HasAuth()); err != nil {
		return usagef("serve: %v", err)
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = server.DefaultMaxMemory
	}
	// The budgets bound what senders make sipcause hold; the Go runtime's
	// soft limit (set by runServe, servePace) makes it return garbage
	// before the process outgrows them.
	st, where, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, ok := st.(store.SizeLimited); o.MaxDBSize > 0 && !ok {
		return usagef("serve: --max-db-size is for the SQLite store; with ClickHouse, --retention drops whole days")
	}
	m := server.NewMetrics()
	if b, ok := st.(store.Buffered); ok {
		m.SetBuffer(b.Buffer)
	}
	copt := server.CollectorOptions{
		HEPAddr: o.HEPAddr, HEPTLSAddr: o.HEPTLS, TLS: hepTLS, SIPAddr: o.SIPAddr, Lang: o.Lang, Local: o.Local, LocalHosts: o.LocalHosts,
		QueueSize: o.QueueSize, MaxOpenCalls: o.MaxOpenCalls, Retention: o.Retention,
		MediaWait: o.MediaWait, MaxMediaWaiting: o.MaxMediaWaiting,
		TimeTolerance: o.TimeTolerance, MaxMemory: o.MaxMemory, MaxDBSize: o.MaxDBSize,
	}
	if o.NoCollector {
		copt.HEPAddr, copt.HEPTLSAddr, copt.SIPAddr, copt.Retention = "", "", "", 0
	}
	col, err := server.NewCollector(copt, st, m)
	if err != nil {
		return err
	}
	hopt.Collector = col
	l, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return fmt.Errorf("serve: --http %s: %w", o.HTTPAddr, err)
	}
	hs := server.NewHTTPServer(o.HTTPAddr, server.NewHandler(hopt, st, m))

	colCtx, stopCol := context.WithCancel(context.Background())
	colDone := make(chan error, 1)
	go func() { colDone <- col.Run(colCtx) }()
	httpDone := make(chan error, 1)
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
		go func() { httpDone <- hs.ServeTLS(l, o.TLSCert, o.TLSKey) }()
	} else {
		go func() { httpDone <- hs.Serve(l) }()
	}

	fmt.Fprintf(stderr, "sipcause: web UI on %s://%s/", scheme, l.Addr())
	if a := col.HEPAddr(); a != "" {
		fmt.Fprintf(stderr, ", HEP on %s (UDP and TCP)", a)
	}
	if a := col.HEPTLSAddr(); a != "" {
		fmt.Fprintf(stderr, ", HEP over TLS on %s", a)
	}
	if a := col.SIPAddr(); a != "" {
		fmt.Fprintf(stderr, ", SIP on %s (UDP)", a)
	}
	fmt.Fprintf(stderr, ", database %s\n", where)
	if o.Ready != nil {
		o.Ready(l.Addr().String(), col.HEPAddr(), col.SIPAddr())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-httpDone:
	case runErr = <-colDone:
		colDone <- runErr
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(shut)
	stopCol()
	if err := <-colDone; err != nil && runErr == nil {
		runErr = err
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	if err := st.Close(); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Fprintf(stderr, "sipcause: stopped\n")
	return runErr
}

// serveZone is the system's time zone under its IANA name, so that the web
// UI can say "Times in Europe/Amsterdam" rather than "Local": TZ when set,
// else /etc/timezone, else the target of the /etc/localtime link, else
// time.Local as it is.
func serveZone(getenv func(string) string) *time.Location {
	names := []string{strings.TrimPrefix(getenv("TZ"), ":")}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		names = append(names, strings.TrimSpace(string(b)))
	}
	if t, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(t, "zoneinfo/"); ok {
			names = append(names, name)
		}
	}
	for _, n := range names {
		if n == "" || strings.HasPrefix(n, "/") {
			continue
		}
		if loc, err := time.LoadLocation(n); err == nil {
			return loc
		}
	}
	return time.Local
}
