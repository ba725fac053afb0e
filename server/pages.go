package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/capture"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
	"github.com/sipcause/sipcause/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages are parsed once, when the first page is served: the command line
// tools that never serve one do not pay for the parsing at start-up.
// html/template escapes every value by its context (text, attribute, URL,
// SVG); nothing that came from a SIP message is ever marked safe.
var pages = sync.OnceValue(func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").ParseFS(assets, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"calls", "call", "registrations", "upload", "lookup", "dashboard", "error"} {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(assets, "templates/"+name+".html"))
	}
	return out
})

// page is what every template gets.
type page struct {
	L         map[string]string
	Lang      string
	OtherLang string
	OtherURL  string // this page in the other language
	CSRF      string
	Nav       string
	Title     string
	Zone      string // "Times in Europe/Amsterdam"
	Data      any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	lang := h.language(w, r)
	other := catalog.Dutch
	if lang == catalog.Dutch {
		other = catalog.English
	}
	q := r.URL.Query()
	q.Set("lang", string(other))
	p := page{L: labelsFor(lang), Lang: string(lang), OtherLang: string(other), OtherURL: r.URL.Path + "?" + q.Encode(),
		CSRF: csrfToken(w, r, h.opt.SecureCookies), Nav: name, Title: title, Data: data,
		Zone: fmt.Sprintf(labelsFor(lang)["times_in"], zoneName(h.opt.Location, time.Now()))}
	var buf bytes.Buffer
	if err := pages()[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) routes() {
	static, _ := fs.Sub(assets, "static")
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", noListing(http.FileServerFS(static))))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/calls", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /calls", h.calls)
	h.mux.HandleFunc("GET /calls/{id...}", h.call)
	h.mux.HandleFunc("GET /registrations", h.registrations)
	h.mux.HandleFunc("GET /api/v1/registrations", h.apiRegistrations)
	h.mux.HandleFunc("GET /analyze", h.uploadForm)
	h.mux.HandleFunc("POST /analyze", h.upload)
	h.mux.HandleFunc("GET /lookup", h.lookup)
	h.mux.HandleFunc("GET /dashboard", h.dashboard)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /metrics", h.prometheus)
	h.mux.HandleFunc("GET /api/v1/calls", h.apiCalls)
	h.mux.HandleFunc("GET /api/v1/calls/{id...}", h.apiCall)
	h.mux.HandleFunc("POST /api/v1/analyze", h.apiAnalyze)
	h.mux.HandleFunc("GET /api/v1/lookup", h.apiLookup)
	h.mux.HandleFunc("GET /api/v1/stats", h.apiStats)
}

// queryFrom reads a search from URL parameters, as the form sends them
// and as the API takes them.
func queryFrom(v url.Values, loc *time.Location) (store.Query, error) {
	q := store.Query{Number: strings.TrimSpace(v.Get("number")), CallID: strings.TrimSpace(v.Get("call_id")),
		Outcome: v.Get("outcome"), Fault: v.Get("fault"), Audio: v.Get("audio")}
	if q.Audio != "" && q.Audio != store.AudioProblem && q.Audio != store.AudioOK {
		return q, fmt.Errorf("audio %q: want %s or %s", q.Audio, store.AudioProblem, store.AudioOK)
	}
	if err := refuseNUL(q.Number, q.CallID, q.Outcome, q.Fault); err != nil {
		return q, err
	}
	if s := strings.TrimSpace(v.Get("status")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 699 {
			return q, fmt.Errorf("status %q: want a code from 100 to 699", s)
		}
		q.Status = n
	}
	var err error
	q.From, q.To, q.Limit, q.Offset, err = windowFrom(v, loc)
	return q, err
}

// formErrorsNL word the refusals of queryFrom, regQueryFrom and parseWhen
// in Dutch for the search forms (the API answers in English).
var formErrorsNL = []struct {
	re *regexp.Regexp
	nl string
}{
	{regexp.MustCompile(`^status (".*"): want a code from 100 to 699$`), "Eindantwoord $1: geef een code van 100 tot 699"},
	{regexp.MustCompile(`^time (".*"): want 2006-01-02T15:04 \((.*)\) or RFC 3339$`), "Tijd $1: geef een tijd als 2026-11-27T10:15 ($2) of volgens RFC 3339"},
	{regexp.MustCompile(`^time (\S+): want a date between (\d+) and (\d+)$`), "Tijd $1: geef een datum tussen $2 en $3"},
	{regexp.MustCompile(`^a search value may not contain a NUL character$`), "Een zoekwaarde mag geen NUL-teken bevatten"},
	{regexp.MustCompile(`^audio (".*"): want (\S+) or (\S+)$`), "Geluid $1: kies $2 of $3"},
	{regexp.MustCompile(`^outcome (".*"): want one of (.*)$`), "Afloop $1: kies een van $2"},
}

// formErrorText is a search form's refusal in the reader's language.
func formErrorText(err error, lang catalog.Lang) string {
	msg := err.Error()
	if lang == catalog.Dutch {
		for _, f := range formErrorsNL {
			if f.re.MatchString(msg) {
				return f.re.ReplaceAllString(msg, f.nl)
			}
		}
	}
	return msg
}

// refuseNUL refuses search values with a NUL: SQLite ends a LIKE pattern
// at a NUL, so "1\x00" matched every row.
func refuseNUL(values ...string) error {
	for _, s := range values {
		if strings.ContainsRune(s, 0) {
			return errors.New("a search value may not contain a NUL character")
		}
	}
	return nil
}

// windowFrom reads the period and the page of a search (from, to, limit,
// offset) as every list of the UI and the API takes them.
func windowFrom(v url.Values, loc *time.Location) (from, to time.Time, limit, offset int, err error) {
	if from, err = parseWhen(v.Get("from"), loc); err != nil {
		return
	}
	if to, err = parseWhen(v.Get("to"), loc); err != nil {
		return
	}
	limit, _ = strconv.Atoi(v.Get("limit"))
	offset, _ = strconv.Atoi(v.Get("offset"))
	if limit <= 0 {
		limit = 100
	}
	return from, to, limit, offset, nil
}

// parseWhen reads a time as RFC 3339 (with its own offset) or as an HTML
// datetime-local value, which has none and is taken in loc: the helpdesk
// types the time the customer said, in the server's zone.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return inNanoRange(t)
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return inNanoRange(t)
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want 2006-01-02T15:04 (%s) or RFC 3339", s, zoneName(loc, time.Now()))
}

// inNanoRange refuses a time the store cannot compare: times are kept as
// int64 nanoseconds (1677 to 2262), and 9999-12-31 overflowed into a
// filter that matched every call.
func inNanoRange(t time.Time) (time.Time, error) {
	lo, hi := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	if t.Before(lo) || t.After(hi) {
		return time.Time{}, fmt.Errorf("time %s: want a date between %d and %d", t.Format(time.RFC3339), lo.Year()+1, hi.Year()-1)
	}
	return t.UTC(), nil
}

type callRow struct {
	store.CallSummary
	Link, When, Status, OutcomeLabel, FaultLabel string
}

type callsData struct {
	Q                   store.Query
	Form                url.Values
	Error               string
	Rows                []callRow
	Outcomes            [][2]string
	Faults              [][2]string
	NextURL             string
	FromValue, ToValue  string
	StatusValue, Search bool
}

func (h *Handler) calls(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	l := labelsFor(lang)
	d := callsData{Form: r.URL.Query()}
	for _, o := range analyze.Outcomes {
		d.Outcomes = append(d.Outcomes, [2]string{o, report.OutcomeLabel(lang, o, 0, "")})
	}
	for _, f := range catalog.Faults {
		d.Faults = append(d.Faults, [2]string{string(f), f.LabelFor(lang, h.opt.Perspective)})
	}
	q, err := queryFrom(r.URL.Query(), h.opt.Location)
	d.Q = q
	status := http.StatusOK
	if err != nil {
		d.Error = formErrorText(err, lang)
		status = http.StatusBadRequest
	} else {
		rows, err := h.st.SearchCalls(r.Context(), q)
		if err != nil {
			h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
			return
		}
		for _, c := range rows {
			if lang != h.opt.Lang {
				c.Summary = h.summaryIn(r, c, lang)
			}
			st := statusText(c.FinalStatus, c.Reason)
			if c.FinalStatus == 0 {
				st = l["no_final"]
			}
			d.Rows = append(d.Rows, callRow{CallSummary: c, Link: "/calls/" + url.PathEscape(c.CallID),
				When: fmtTime(c.Start, h.opt.Location, lang, false), Status: st,
				OutcomeLabel: report.OutcomeLabel(lang, c.Outcome, c.FinalStatus, c.Fault), FaultLabel: catalog.Fault(c.Fault).LabelFor(lang, h.opt.Perspective)})
		}
		if len(rows) == q.Limit {
			v := r.URL.Query()
			v.Set("offset", strconv.Itoa(q.Offset+q.Limit))
			d.NextURL = "/calls?" + v.Encode()
		}
	}
	h.render(w, r, status, "calls", l["nav_calls"], d)
}

// summaryIn renders a listed call's summary in lang. The store keeps the
// summary in the collector's language; the call itself is data, so the
// list says what the call page says in the reader's language.
func (h *Handler) summaryIn(r *http.Request, c store.CallSummary, lang catalog.Lang) string {
	cr, err := h.st.GetCall(r.Context(), c.CallID)
	if err != nil || cr.Call == nil || !cr.Call.Start.Equal(c.Start) {
		return c.Summary
	}
	return report.LocalizeCall(cr.Call, lang).Summary
}

func statusText(code int, reason string) string {
	if code == 0 {
		return "–"
	}
	return strconv.Itoa(code) + " " + reason
}

type callData struct {
	Call     *report.Call
	Status   string
	Outcome  string
	Fault    string
	Ladder   *report.Ladder
	Messages []rawView
	KV       [][2]string
	JSONURL  string
	Report   string
	Findings []report.Finding
	Legs     []legView // other legs of the call, stored by other collectors
	Audio    string    // the audio verdict in words (report.AudioText)
	Media    []mediaView
	RTCPOnly bool // some streams are known from RTCP reports only
	Agent    bool // some streams are known from agents' RTP statistics reports
}

// mediaView is one stream of the call page's audio table (RFC 3550
// §6.4.1 figures for streams known from RTCP reports).
type mediaView struct {
	Dir, Path, Found, SSRC, Codec, Packets, Loss, Jitter, MOS, RTT, Lost, Reports string
}

// mediaViews lays out a call's streams for the call page, numbers in the
// reader's language.
func mediaViews(c *analyze.Call, l map[string]string, lang catalog.Lang) (out []mediaView, rtcpOnly, agent bool) {
	num := func(f float64, prec int) string {
		s := strconv.FormatFloat(f, 'f', prec, 64)
		if lang == catalog.Dutch {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	for _, m := range c.Media {
		v := mediaView{Dir: l["dir_"+m.Direction], Path: m.Src + " → " + m.Dst, Found: l["found_"+m.Found],
			SSRC: fmt.Sprintf("0x%08x", m.SSRC), Codec: m.Codec, Packets: strconv.Itoa(m.Packets),
			Loss: num(m.LossPercent, 1), Jitter: num(m.MaxJitterMS, 1)}
		if v.Dir == "" {
			v.Dir = l["dir_unknown"]
		}
		if m.MOS > 0 {
			v.MOS = num(m.MOS, 1)
		}
		if q := m.RTCP; q != nil {
			v.Lost, v.Reports = strconv.Itoa(q.CumulativeLost), strconv.Itoa(q.Reports)
			if q.RTTMS != nil {
				v.RTT = num(*q.RTTMS, 0)
			}
		}
		switch m.Found {
		case "rtcp":
			rtcpOnly = true
		case "agent":
			// The agent counted the loss itself (RFC 3550 §6.4.1's
			// expected minus received).
			agent, v.Lost = true, strconv.Itoa(m.Lost)
		}
		out = append(out, v)
	}
	return out, rtcpOnly, agent
}

type legView struct {
	store.CallSummary
	URL  string
	When string // its start in the server's zone
}

// otherFindings are a call's findings less the one its explanation
// already says in full: the call page does not print a paragraph twice
// (review §4.2).
func otherFindings(fs []report.Finding, explanation string) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if explanation != "" && f.Text == explanation {
			continue
		}
		out = append(out, f)
	}
	return out
}

// clockMicro is the time of a message to the microsecond in loc, with a
// decimal comma in Dutch.
func clockMicro(t time.Time, loc *time.Location, lang catalog.Lang) string {
	s := t.In(loc).Format("15:04:05.000000")
	if lang == catalog.Dutch {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

type rawView struct {
	Head string
	Text string
}

func (h *Handler) call(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	l := labelsFor(lang)
	id := r.PathValue("id")
	cr, err := h.st.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.render(w, r, http.StatusNotFound, "error", l["notfound"], l["notfound"])
		return
	}
	if err != nil {
		h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
		return
	}
	// The stored call is data; its texts are rendered in the reader's
	// language.
	c := report.LocalizeCall(cr.Call, lang)
	if r.URL.Query().Get("view") == "report" {
		rep := singleCallReport(c.Call, lang)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The report page carries its own inline styles.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		report.HTMLWith(w, rep, h.reportOptions(lang))
		return
	}
	d := callData{Call: c, Status: statusText(c.FinalStatus, c.Reason), Outcome: report.OutcomeLabel(lang, c.Outcome, c.FinalStatus, c.Fault),
		Fault: catalog.Fault(c.Fault).LabelFor(lang, h.opt.Perspective), Ladder: report.LadderLayout(c.Messages, nil, lang),
		JSONURL: "/api/v1/calls/" + url.PathEscape(c.CallID), Report: "/calls/" + url.PathEscape(c.CallID) + "?view=report",
		Findings: otherFindings(c.Findings, c.Explanation)}
	d.KV = [][2]string{{"Call-ID", c.CallID}, {l["kv_from"], c.From}, {l["kv_to"], c.To}, {l["start"], fmtTime(c.Start, h.opt.Location, lang, true) + " " + zoneName(h.opt.Location, c.Start)},
		{l["pdd"], fmtMS(c.PDDMS, lang)}, {l["duration"], fmtMS(c.DurationMS, lang)}, {l["kv_path"], c.Src + " → " + c.Dst}}
	if c.CallerName != "" {
		d.KV = append(d.KV, [2]string{l["kv_caller_name"], c.CallerName})
	}
	d.Audio = report.AudioText(c.Audio, lang)
	d.Media, d.RTCPOnly, d.Agent = mediaViews(c.Call, l, lang)
	if lk, ok := h.st.(store.Linker); ok {
		// A failed lookup leaves the page without the other legs rather
		// than without the call.
		legs, _ := lk.LinkedCalls(r.Context(), c.CallID)
		for _, lg := range legs {
			d.Legs = append(d.Legs, legView{lg, "/calls/" + url.PathEscape(lg.CallID), fmtTime(lg.Start, h.opt.Location, lang, false)})
		}
	}
	for _, m := range cr.Messages {
		d.Messages = append(d.Messages, rawView{
			Head: fmt.Sprintf("%s #%d  %s  %s → %s (%s)", l["frame"], m.Frame, clockMicro(m.Time, h.opt.Location, lang), m.Src, m.Dst, m.Transport),
			Text: strings.ToValidUTF8(string(m.Raw), "\uFFFD")})
	}
	h.render(w, r, http.StatusOK, "call", c.Caller+" → "+c.Callee, d)
}

// mebibytes writes a size limit for people: "4 MiB", "1,5 MiB" in Dutch.
func mebibytes(n int64, lang catalog.Lang) string {
	s := strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64)
	if lang == catalog.Dutch {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " MiB"
}

// reportOptions are the HTML report's options for a page of the web UI:
// times in the server's zone and causes worded for its reader, as on the
// other pages (the report alone would show UTC).
func (h *Handler) reportOptions(lang catalog.Lang) report.HTMLOptions {
	clock := report.Clock{Loc: h.opt.Location}
	if h.opt.Location.String() == "Local" {
		// "Local" names no zone; the abbreviation does.
		clock.Name = zoneName(h.opt.Location, time.Now())
	}
	return report.HTMLOptions{Lang: lang, Clock: clock, Perspective: h.opt.Perspective}
}

// singleCallReport wraps one call in a report, for report.HTML.
func singleCallReport(c *analyze.Call, lang catalog.Lang) *analyze.Report {
	rep := analyze.New(analyze.Options{Lang: lang}).Finish()
	rep.Calls = []*analyze.Call{c}
	rep.Summary.Calls = 1
	rep.Summary.Outcomes[c.Outcome] = 1
	rep.Summary.Messages = len(c.Messages)
	s, e := c.Start.UTC(), c.End.UTC()
	rep.Summary.First, rep.Summary.Last = &s, &e
	return rep
}

type uploadData struct {
	Error string
}

func (h *Handler) uploadForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "upload", labelsFor(h.language(w, r))["upload.title"], uploadData{})
}

// upload analyzes a capture or a pasted log and answers with the HTML
// report `sipcause analyze --html` writes. Nothing is stored.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	l := labelsFor(lang)
	if !h.takeSlot(w) {
		return
	}
	defer h.freeSlot()
	r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxUpload)
	if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		msg := err.Error()
		var big *http.MaxBytesError
		if errors.As(err, &big) { // said in the reader's language, with the limit
			msg = fmt.Sprintf(l["upload_big"], mebibytes(h.opt.MaxUpload, lang))
		}
		h.render(w, r, http.StatusRequestEntityTooLarge, "upload", l["upload_title"], uploadData{Error: msg})
		return
	}
	if !csrfOK(r) {
		http.Error(w, "missing or wrong CSRF token: reload the form", http.StatusForbidden)
		return
	}
	var in io.Reader
	name := "pasted.log"
	if f, fh, err := r.FormFile("file"); err == nil {
		defer f.Close()
		in, name = f, fh.Filename
	} else if s := r.FormValue("log"); strings.TrimSpace(s) != "" {
		in = strings.NewReader(s)
	} else {
		h.render(w, r, http.StatusBadRequest, "upload", l["upload_title"], uploadData{Error: l["upload_empty"]})
		return
	}
	h.metrics.uploads.Add(1)
	aopt := analyze.Options{Lang: lang, Local: h.opt.Local, LocalHosts: h.opt.LocalHosts}
	keep := r.FormValue("store") == "1"
	var rep *analyze.Report
	var recs []store.CallRecord
	var err error
	if keep {
		rep, recs, err = analyzeForStore(name, in, aopt, h.opt.Lang, h.opt.MaxUpload)
	} else {
		rep, err = analyzeUpload(name, in, aopt, h.opt.MaxUpload)
	}
	var fe *capture.FormatError
	var le *capture.InflateLimitError
	if errors.As(err, &le) {
		h.render(w, r, http.StatusRequestEntityTooLarge, "upload", l["upload_title"], uploadData{Error: fmt.Sprintf(l["upload_inflates"], name, mebibytes(le.Limit, lang))})
		return
	}
	if errors.As(err, &fe) {
		h.render(w, r, http.StatusUnprocessableEntity, "upload", l["upload_title"], uploadData{Error: l["upload_bad"]})
		return
	}
	if rep == nil {
		h.render(w, r, http.StatusUnprocessableEntity, "upload", l["upload_title"], uploadData{Error: err.Error()})
		return
	}
	var banner string
	if keep {
		if err := h.st.PutCalls(r.Context(), recs); err != nil {
			h.render(w, r, http.StatusInternalServerError, "upload", l["upload_title"], uploadData{Error: err.Error()})
			return
		}
		if err := h.st.PutRegistrations(r.Context(), rep.Registrations); err != nil {
			h.render(w, r, http.StatusInternalServerError, "upload", l["upload_title"], uploadData{Error: err.Error()})
			return
		}
		banner = h.storedBanner(l, name, recs, len(rep.Registrations))
	}
	var buf bytes.Buffer
	if err := report.HTMLWith(&buf, rep, h.reportOptions(lang)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := buf.Bytes()
	if banner != "" {
		// The report is a page of its own; the note goes right after <body>.
		if i := bytes.Index(out, []byte("<body>")); i >= 0 {
			i += len("<body>")
			out = append(out[:i:i], append([]byte(banner), out[i:]...)...)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.Write(out)
}

// storedBanner says what an upload stored and links to those calls in the
// calls list: the search for the capture's period, in the server's zone.
func (h *Handler) storedBanner(l map[string]string, name string, recs []store.CallRecord, regs int) string {
	link := "/calls"
	var first, last time.Time
	for _, rc := range recs {
		if first.IsZero() || rc.Call.Start.Before(first) {
			first = rc.Call.Start
		}
		if rc.Call.Start.After(last) {
			last = rc.Call.Start
		}
	}
	if !first.IsZero() {
		v := url.Values{}
		v.Set("from", first.In(h.opt.Location).Truncate(time.Minute).Format("2006-01-02T15:04"))
		v.Set("to", last.In(h.opt.Location).Truncate(time.Minute).Add(time.Minute).Format("2006-01-02T15:04"))
		link += "?" + v.Encode()
	}
	msg := template.HTMLEscapeString(storedText(l, len(recs), regs, name))
	return `<div id="stored" style="font:14px sans-serif;background:#e5f4ea;color:#1f7a3e;border:1px solid #b9dfc6;border-radius:6px;padding:8px 12px;margin:8px">` +
		msg + ` <a href="` + template.HTMLEscapeString(link) + `">` + template.HTMLEscapeString(l["upload_show"]) + `</a></div>`
}

// storedText says how many calls and registrations an upload stored, with
// the singular for one.
func storedText(l map[string]string, calls, regs int, name string) string {
	count := func(n int, key string) string {
		if n == 1 {
			return "1 " + l[key+"_1"]
		}
		return strconv.Itoa(n) + " " + l[key+"_n"]
	}
	return fmt.Sprintf(l["upload_stored"], count(calls, "call"), count(regs, "reg"), name)
}

// takeSlot reserves one of the upload slots, or answers 503 with
// Retry-After when all are taken: uploads wait in the client, not in
// memory.
func (h *Handler) takeSlot(w http.ResponseWriter) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
		h.metrics.uploadsBusy.Add(1)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "busy analyzing other uploads: try again in a few seconds", http.StatusServiceUnavailable)
		return false
	}
}

func (h *Handler) freeSlot() { <-h.slots }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.opt.Collector != nil {
		if _, err := h.opt.Collector.Stored(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "store: %v\n", err)
			return
		}
	}
	io.WriteString(w, "ok\n")
}

func (h *Handler) prometheus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.metrics.WritePrometheus(w)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type apiError struct {
	Error string `json:"error"`
}

func (h *Handler) apiCalls(w http.ResponseWriter, r *http.Request) {
	q, err := queryFrom(r.URL.Query(), time.UTC)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	rows, err := h.st.SearchCalls(r.Context(), q)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Schema int                 `json:"schema_version"`
		Calls  []store.CallSummary `json:"calls"`
	}{analyze.SchemaVersion, rows})
}

// apiMessage is a stored SIP message in the API: its text as received.
type apiMessage struct {
	Frame     int       `json:"frame"`
	Time      time.Time `json:"time"`
	Src       string    `json:"src"`
	Dst       string    `json:"dst"`
	Transport string    `json:"transport"`
	SIP       string    `json:"sip"`
}

func (h *Handler) apiCall(w http.ResponseWriter, r *http.Request) {
	// The stored call is data; ?lang= chooses the language of its texts.
	lang, ok := h.apiLang(w, r)
	if !ok {
		return
	}
	cr, err := h.st.GetCall(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, apiError{"no such call"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	msgs := []apiMessage{}
	for _, m := range cr.Messages {
		s := string(m.Raw)
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		msgs = append(msgs, apiMessage{m.Frame, m.Time, m.Src, m.Dst, m.Transport, s})
	}
	writeJSON(w, http.StatusOK, struct {
		Schema   int          `json:"schema_version"`
		Call     *report.Call `json:"call"`
		Messages []apiMessage `json:"messages"`
	}{analyze.SchemaVersion, report.LocalizeCall(cr.Call, lang), msgs})
}

// apiAnalyze analyzes the capture in the request body and answers with
// exactly the bytes `sipcause analyze --json FILE` prints for it, FILE
// being ?name= (default "upload").
func (h *Handler) apiAnalyze(w http.ResponseWriter, r *http.Request) {
	lang, ok := h.apiLang(w, r)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "upload"
	}
	if !h.takeSlot(w) {
		return
	}
	defer h.freeSlot()
	body := http.MaxBytesReader(w, r.Body, h.opt.MaxUpload)
	h.metrics.uploads.Add(1)
	rep, err := analyzeUpload(name, body, analyze.Options{Lang: lang, Local: h.opt.Local, LocalHosts: h.opt.LocalHosts}, h.opt.MaxUpload)
	var mbe *http.MaxBytesError
	var fe *capture.FormatError
	var le *capture.InflateLimitError
	switch {
	case errors.As(err, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{fmt.Sprintf("capture larger than %d bytes", h.opt.MaxUpload)})
		return
	case errors.As(err, &le):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{fmt.Sprintf("capture inflates (gzip) to more than %d bytes", h.opt.MaxUpload)})
		return
	case errors.As(err, &fe):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{"not a pcap, pcapng, HEP or SIP log file"})
		return
	case rep == nil:
		writeJSON(w, http.StatusUnprocessableEntity, apiError{err.Error()})
		return
	}
	var buf bytes.Buffer
	if err := report.JSON(&buf, rep); err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

func (h *Handler) apiStats(w http.ResponseWriter, r *http.Request) {
	st, err := h.st.Stats(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}
