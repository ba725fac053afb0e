package server

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/store"
)

// HandlerOptions tune the web UI and API.
type HandlerOptions struct {
	Lang       catalog.Lang   // default language when the browser says nothing
	Local      []netip.Prefix // the user's own networks, for uploads
	LocalHosts []string
	MaxUpload  int64 // bytes, before and after gzip; default 64 MiB
	// UploadSlots is how many uploads are analyzed at once; more are
	// answered 503 with Retry-After. An upload can take about 14 times
	// its size in memory. Default 2.
	UploadSlots int
	// AuthToken, when set, is required as a bearer token or as the
	// password of HTTP basic authentication (any user name).
	AuthToken string
	// AuthUsers, when set, are the users of HTTP basic authentication:
	// name to the bcrypt hash of the password (ReadUsersFile).
	AuthUsers map[string][]byte
	// SecureCookies marks cookies Secure: set when serving over HTTPS.
	SecureCookies bool
	// Collector, when set, is shown in /healthz.
	Collector *Collector
	// Location is the time zone pages show times in and search forms
	// read them in (the server's zone; nil means time.Local). The API
	// keeps UTC.
	Location *time.Location
	// Perspective words whose side a cause is on for the reader: the
	// provider's customer (the default) or, when the provider's own
	// helpdesk serves its SBC's traffic, the provider (review T25).
	Perspective catalog.Perspective
}

// HasAuth reports whether the options require authentication.
func (o HandlerOptions) HasAuth() bool { return o.AuthToken != "" || len(o.AuthUsers) > 0 }

// ReadUsersFile reads a basic-auth users file: one "name:hash" a line,
// the hash a bcrypt one ($2a$, $2b$ or $2y$, as `sipcause passwd` and
// `htpasswd -B` write it); empty lines and lines starting with # are
// skipped. A name given twice is refused rather than the last winning, and
// so are unsalted SHA-256 hashes, which a leaked file gives away at GPU
// speed.
func ReadUsersFile(r io.Reader) (map[string][]byte, error) {
	users := map[string][]byte{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, h, ok := strings.Cut(line, ":")
		h = strings.TrimSpace(h)
		if !ok || name == "" {
			return nil, fmt.Errorf("server: users file line %d: want name:bcrypt-hash", n)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("server: users file line %d: user %q given twice", n, name)
		}
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			if _, herr := hex.DecodeString(strings.TrimPrefix(h, "sha256:")); herr == nil {
				return nil, fmt.Errorf("server: users file line %d: an unsalted SHA-256 hash is no longer accepted: make a bcrypt one with `sipcause passwd %s`", n, name)
			}
			return nil, fmt.Errorf("server: users file line %d: want name:bcrypt-hash (from `sipcause passwd`): %v", n, err)
		}
		users[name] = []byte(h)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, errors.New("server: users file: no users")
	}
	return users, nil
}

// HashPassword returns the bcrypt hash of a password for a users file.
func HashPassword(password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, errors.New("server: empty password")
	}
	return bcrypt.GenerateFromPassword(password, PasswordCost)
}

// PasswordCost is the bcrypt cost of new hashes: about a quarter of a
// second a guess on one core.
const PasswordCost = 12

// CheckBind refuses to serve on an address other machines can reach
// without authentication.
func CheckBind(addr string, auth bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server: --http %s: %w", addr, err)
	}
	if auth || host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("server: --http %s is reachable from other machines: set --auth-token or --auth-users, or bind to 127.0.0.1", addr)
}

// NewHTTPServer returns an http.Server for h with a time limit on every
// phase of a connection, so slow or idle clients cannot pile up.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // an upload of MaxUpload on a slow line
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// noListing answers 404 for a directory, so /static/ does not list what
// it holds.
func noListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Handler is the web UI and the API.
type Handler struct {
	opt     HandlerOptions
	st      store.Store
	metrics *Metrics
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	slots   chan struct{} // one per upload being analyzed
	logins  *loginCache
	limit   *authLimiter // failed logins per client
}

// NewHandler returns the UI and API over st.
func NewHandler(opt HandlerOptions, st store.Store, m *Metrics) *Handler {
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 64 << 20
	}
	if opt.Lang == "" {
		opt.Lang = catalog.English
	}
	if opt.UploadSlots <= 0 {
		opt.UploadSlots = 2
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	h := &Handler{opt: opt, st: st, metrics: m, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(),
		slots: make(chan struct{}, opt.UploadSlots), logins: newLoginCache(), limit: newAuthLimiter()}
	h.routes()
	return h
}

const (
	csrfCookie = "sipcause_csrf"
	langCookie = "sipcause_lang"
)

// ServeHTTP applies, in order: security headers, authentication, the
// cross-origin check of state-changing requests (Origin and
// Sec-Fetch-Site), then the routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		// Pages and API answers carry numbers and names: no cache keeps
		// them (a shared proxy, the browser's back button after logout).
		hd.Set("Cache-Control", "no-store")
	}
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if r.URL.Path != "/healthz" && h.opt.HasAuth() {
		creds := r.Header.Get("Authorization") != ""
		client := clientKey(r.RemoteAddr)
		if creds {
			if ok, wait := h.limit.allow(client); !ok {
				h.metrics.authThrottled.Add(1)
				hd.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
				http.Error(w, "too many failed logins: try again later", http.StatusTooManyRequests)
				return
			}
		}
		if !h.authorized(r) {
			if creds {
				h.metrics.authFailed.Add(1)
				h.limit.failed(client)
			}
			hd.Set("WWW-Authenticate", `Basic realm="sipcause", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	if err := h.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) authorized(r *http.Request) bool {
	if !h.opt.HasAuth() {
		return true
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && h.opt.AuthToken != "" {
		return subtle.ConstantTimeCompare([]byte(tok), []byte(h.opt.AuthToken)) == 1
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if h.opt.AuthToken != "" && subtle.ConstantTimeCompare([]byte(pass), []byte(h.opt.AuthToken)) == 1 {
		return true
	}
	if want, ok := h.opt.AuthUsers[user]; ok {
		return h.logins.check(user, pass, want)
	}
	return false
}

// loginCache remembers recent successful basic-auth logins, so that a
// browser sending its credentials with every request costs one bcrypt
// comparison, not one per request; and lets only one comparison run at a
// time, so failed guesses use at most one core and are slow.
type loginCache struct {
	mu   sync.Mutex
	ok   map[[sha256.Size]byte]time.Time // hash of user, password and hash to when it was checked
	slot chan struct{}
}

const (
	loginCacheTTL  = 5 * time.Minute
	loginCacheSize = 1024
)

func newLoginCache() *loginCache {
	return &loginCache{ok: map[[sha256.Size]byte]time.Time{}, slot: make(chan struct{}, 1)}
}

func (c *loginCache) check(user, pass string, hash []byte) bool {
	// The key covers the stored hash too: a changed users file (a new
	// Handler) never matches an old entry.
	k := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + string(hash)))
	c.mu.Lock()
	at, hit := c.ok[k]
	c.mu.Unlock()
	if hit && time.Since(at) < loginCacheTTL {
		return true
	}
	c.slot <- struct{}{}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	<-c.slot
	if err != nil {
		return false
	}
	c.mu.Lock()
	if len(c.ok) >= loginCacheSize {
		clear(c.ok)
	}
	c.ok[k] = time.Now()
	c.mu.Unlock()
	return true
}

// csrfToken returns the session's CSRF token, setting the cookie on the
// first visit. Forms carry it back in a hidden field (double submit).
func csrfToken(w http.ResponseWriter, r *http.Request, secure bool) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure})
	return tok
}

// csrfOK checks the form's token against the session's cookie.
func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.FormValue("csrf")), []byte(c.Value)) == 1
}

// apiLang is the language of an API answer: ?lang=, else the server's
// default. A value that is no language is answered with 400 (ok false).
func (h *Handler) apiLang(w http.ResponseWriter, r *http.Request) (catalog.Lang, bool) {
	s := r.URL.Query().Get("lang")
	if s == "" {
		return h.opt.Lang, true
	}
	l, err := catalog.ParseLang(s)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return "", false
	}
	return l, true
}

// language picks the language of a page: ?lang= (remembered in a cookie),
// then the cookie, then Accept-Language, then the server's default.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) catalog.Lang {
	if q := r.URL.Query().Get("lang"); q != "" {
		if l, err := catalog.ParseLang(q); err == nil {
			// Set once, however often a request asks for its language.
			if !slices.ContainsFunc(w.Header().Values("Set-Cookie"), func(v string) bool { return strings.HasPrefix(v, langCookie+"=") }) {
				http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: h.opt.SecureCookies})
			}
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, err := catalog.ParseLang(c.Value); err == nil {
			return l
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l, err := catalog.ParseLang(tag); err == nil {
			return l
		}
	}
	return h.opt.Lang
}
