package server

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/store"
)

func uploadServer(t *testing.T, opt HandlerOptions) (*httptest.Server, *Metrics) {
	t.Helper()
	st, err := store.OpenSQLite(t.TempDir() + "/x.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opt.Lang = catalog.English
	m := NewMetrics()
	ts := httptest.NewServer(NewHandler(opt, st, m))
	t.Cleanup(ts.Close)
	return ts, m
}

// emptyRecordsGzip is a pcap of n empty records, gzip-compressed: it
// inflates to 24+16n bytes from a few KB.
func emptyRecordsGzip(n int) []byte {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	zw.Write(hdr)
	rec := make([]byte, 16*1024)
	for range n / 1024 {
		zw.Write(rec)
	}
	zw.Close()
	return gz.Bytes()
}

// TestUploadInflateLimit is the review's H4 through the API: --max-upload
// counts the bytes a gzip upload inflates to. A 10 KB upload that inflates
// to 16 MB, above a 4 MiB limit, is answered 413 with a message that says
// so, in a moment; before, it was analyzed whatever it inflated to (a 1 MB
// upload took the server to 4.3 GB).
func TestUploadInflateLimit(t *testing.T) {
	ts, _ := uploadServer(t, HandlerOptions{MaxUpload: 4 << 20})
	body := emptyRecordsGzip(1 << 20)
	start := time.Now()
	resp, err := http.Post(ts.URL+"/api/v1/analyze", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error, "inflates") {
		t.Errorf("%d byte upload inflating to 16 MB: %d %q; want 413 naming the inflated size", len(body), resp.StatusCode, e.Error)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// Within the limit it is analyzed.
	resp, err = http.Post(ts.URL+"/api/v1/analyze", "application/octet-stream", bytes.NewReader(emptyRecordsGzip(1<<16)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a 1 MB inflated upload: %d, want 200", resp.StatusCode)
	}
}

// TestUploadSlots is the review's M4: with every upload slot taken, the
// next upload is answered 503 with Retry-After at once instead of being
// analyzed alongside (20 parallel uploads took 4.1 GB); once the slot is
// free, uploads are analyzed again.
func TestUploadSlots(t *testing.T) {
	ts, m := uploadServer(t, HandlerOptions{UploadSlots: 1})
	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/api/v1/analyze", "application/octet-stream", pr)
		if err != nil {
			first <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	// The first upload holds its slot while its body trickles in.
	pw.Write(emptyRecordsGzip(1024)[:10])
	deadline := time.Now().Add(5 * time.Second)
	for m.uploads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Post(ts.URL+"/api/v1/analyze", "application/octet-stream", bytes.NewReader(emptyRecordsGzip(1024)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second upload while the slot is taken: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	pw.Write(emptyRecordsGzip(1024)[10:])
	pw.Close()
	if code := <-first; code != http.StatusOK {
		t.Errorf("first upload: %d", code)
	}
	resp, err = http.Post(ts.URL+"/api/v1/analyze", "application/octet-stream", bytes.NewReader(emptyRecordsGzip(1024)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("upload after the slot is free: %d", resp.StatusCode)
	}
	if b := m.uploadsBusy.Load(); b != 1 {
		t.Errorf("uploads_busy = %d, want 1", b)
	}
}

// TestHTTPLowFindings covers the review's L4, L6, L7 and L8: a time
// filter beyond what the store can compare and a NUL in a search value are
// refused instead of matching every call; /static/ lists nothing; pages
// and API answers are not cached; the language cookie is set once.
func TestHTTPLowFindings(t *testing.T) {
	ts, _ := uploadServer(t, HandlerOptions{})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/api/v1/calls?from=9999-12-31", "/api/v1/calls?from=2262-04-12T00:00:00Z", "/api/v1/calls?to=1600-01-01",
		"/api/v1/calls?number=1%00", "/api/v1/calls?call_id=%00", "/api/v1/registrations?aor=%00",
		"/api/v1/registrations?from=9999-12-31"} {
		if c := get(p).StatusCode; c != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", p, c)
		}
	}
	if c := get("/api/v1/calls?from=2026-01-01").StatusCode; c != http.StatusOK {
		t.Errorf("an ordinary time filter: %d", c)
	}
	if c := get("/static/").StatusCode; c != http.StatusNotFound {
		t.Errorf("GET /static/: %d, want 404 (no listing)", c)
	}
	if c := get("/static/style.css").StatusCode; c != http.StatusOK {
		t.Errorf("GET /static/style.css: %d", c)
	}
	for _, p := range []string{"/calls", "/api/v1/calls", "/dashboard"} {
		if cc := get(p).Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, cc)
		}
	}
	n := 0
	for _, c := range get("/calls?lang=nl").Cookies() {
		if c.Name == langCookie {
			n++
		}
	}
	if n != 1 {
		t.Errorf("/calls?lang=nl sets the language cookie %d times", n)
	}
}

// uploadPage posts body as the file of the /analyze form in lang, with the
// form's CSRF token, and returns the status and the page.
func uploadPage(t *testing.T, ts *httptest.Server, lang catalog.Lang, name string, body []byte) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(ts.URL + "/analyze?lang=" + string(lang))
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(form)
	if m == nil {
		t.Fatal("no CSRF token in the form")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", string(m[1]))
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(body)
	mw.Close()
	resp, err = c.Post(ts.URL+"/analyze", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// TestUploadRefusalsInLanguage: an upload that is too large, or that
// unpacks to too much, is refused on the form in the reader's language,
// with the limit, and without a package's or Go's own words.
func TestUploadRefusalsInLanguage(t *testing.T) {
	ts, _ := uploadServer(t, HandlerOptions{MaxUpload: 1 << 20})
	for _, tc := range []struct {
		lang      catalog.Lang
		big, gzip string
	}{
		{catalog.Dutch, "Het bestand is groter dan de 1 MiB die deze server aanneemt.", "leeg.pcap.gz wordt bij het uitpakken (gzip) groter dan de 1 MiB die deze server aanneemt."},
		{catalog.English, "The upload is larger than the 1 MiB this server accepts.", "leeg.pcap.gz unpacks (gzip) to more than the 1 MiB this server accepts."},
	} {
		code, page := uploadPage(t, ts, tc.lang, "groot.pcap", bytes.Repeat([]byte{0}, 2<<20))
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, tc.big) || strings.Contains(page, "http:") {
			t.Errorf("%s, 2 MiB upload: %d, want 413 saying %q", tc.lang, code, tc.big)
		}
		code, page = uploadPage(t, ts, tc.lang, "leeg.pcap.gz", emptyRecordsGzip(1<<17))
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, tc.gzip) || strings.Contains(page, "capture:") {
			t.Errorf("%s, gzip inflating past the limit: %d, want 413 saying %q", tc.lang, code, tc.gzip)
		}
	}
}
