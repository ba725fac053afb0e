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
	"strings"
	"time"

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
	// name to the SHA-256 of the password.
	AuthUsers map[string][sha256.Size]byte
	// Collector, when set, is shown in /healthz.
	Collector *Collector
	// Location is the time zone pages show times in and search forms
	// read them in (the server's zone; nil means time.Local). The API
	// keeps UTC.
	Location *time.Location
}

// HasAuth reports whether the options require authentication.
func (o HandlerOptions) HasAuth() bool { return o.AuthToken != "" || len(o.AuthUsers) > 0 }

// ReadUsersFile reads a basic-auth users file: one "name:sha256-hex" a
// line (the hex SHA-256 of the password, as `printf %s PASSWORD |
// sha256sum` prints it); empty lines and lines starting with # are skipped.
func ReadUsersFile(r io.Reader) (map[string][sha256.Size]byte, error) {
	users := map[string][sha256.Size]byte{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, h, ok := strings.Cut(line, ":")
		b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(h), "sha256:"))
		if !ok || name == "" || err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("server: users file line %d: want name:sha256-hex", n)
		}
		users[name] = [sha256.Size]byte(b)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, errors.New("server: users file: no users")
	}
	return users, nil
}

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

// Handler is the web UI and the API.
type Handler struct {
	opt     HandlerOptions
	st      store.Store
	metrics *Metrics
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	slots   chan struct{} // one per upload being analyzed
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
		slots: make(chan struct{}, opt.UploadSlots)}
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
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if r.URL.Path != "/healthz" && !h.authorized(r) {
		hd.Set("WWW-Authenticate", `Basic realm="sipcause", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
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
		got := sha256.Sum256([]byte(pass))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
	return false
}

// csrfToken returns the session's CSRF token, setting the cookie on the
// first visit. Forms carry it back in a hidden field (double submit).
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
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

// language picks the language of a page: ?lang= (remembered in a cookie),
// then the cookie, then Accept-Language, then the server's default.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) catalog.Lang {
	if q := r.URL.Query().Get("lang"); q != "" {
		if l, err := catalog.ParseLang(q); err == nil {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
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
