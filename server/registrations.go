package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
	"github.com/sipcause/sipcause/store"
)

// regOutcomes are the outcomes of a REGISTER transaction (RFC 3261 §10),
// in the order the filter offers them.
var regOutcomes = []string{analyze.RegRegistered, analyze.RegUnregistered, analyze.RegFailed, analyze.RegTimeout, analyze.RegIncomplete}

// regQueryFrom reads a registrations search from URL parameters. The form
// always sends f=1, so an unticked "latest" box can be told from a first
// visit, where only the latest registration per address is shown.
func regQueryFrom(v url.Values, loc *time.Location, form bool) (store.RegQuery, error) {
	q := store.RegQuery{AOR: strings.TrimSpace(v.Get("aor")), Outcome: v.Get("outcome")}
	if q.Outcome != "" && !slices.Contains(regOutcomes, q.Outcome) {
		return q, fmt.Errorf("outcome %q: want one of %s", q.Outcome, strings.Join(regOutcomes, ", "))
	}
	q.Latest = v.Get("latest") != "" && v.Get("latest") != "0"
	if form && v.Get("f") == "" {
		q.Latest = true
	}
	if err := refuseNUL(q.AOR, q.Outcome); err != nil {
		return q, err
	}
	var err error
	q.From, q.To, q.Limit, q.Offset, err = windowFrom(v, loc)
	return q, err
}

type regRow struct {
	*report.Register
	When, Status, OutcomeLabel, FaultLabel, Expires, Device, Who string
	Bad                                                          bool
}

type regsData struct {
	Form     url.Values
	Latest   bool
	Error    string
	Rows     []regRow
	Outcomes [][2]string
	NextURL  string
}

// registrations lists who is registered and who failed, and why: "my
// phone does not register" is the ticket a helpdesk gets most.
func (h *Handler) registrations(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	l := labelsFor(lang)
	d := regsData{Form: r.URL.Query()}
	for _, o := range regOutcomes {
		d.Outcomes = append(d.Outcomes, [2]string{o, report.OutcomeLabel(lang, o, 0, "")})
	}
	q, err := regQueryFrom(r.URL.Query(), h.opt.Location, true)
	d.Latest = q.Latest
	status := http.StatusOK
	if err != nil {
		d.Error, status = formErrorText(err, lang), http.StatusBadRequest
	} else {
		regs, err := h.st.SearchRegistrations(r.Context(), q)
		if err != nil {
			h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
			return
		}
		for _, g := range regs {
			lg := report.LocalizeRegister(g, lang)
			row := regRow{Register: lg, When: fmtTime(g.Start, h.opt.Location, lang, false),
				Status: statusText(g.FinalStatus, g.Reason), OutcomeLabel: report.OutcomeLabel(lang, g.Outcome, 0, ""),
				FaultLabel: catalog.Fault(g.Fault).LabelFor(lang, h.opt.Perspective), Device: g.Src, Who: aorShort(g.AOR),
				Bad: g.Outcome != analyze.RegRegistered && g.Outcome != analyze.RegUnregistered}
			if g.FinalStatus == 0 {
				row.Status = l["no_final"]
			}
			if g.Outcome == analyze.RegRegistered && g.Expires > 0 {
				row.Expires = fmtMS(int64(g.Expires)*1000, lang)
			}
			d.Rows = append(d.Rows, row)
		}
		if len(regs) == q.Limit {
			v := r.URL.Query()
			v.Set("offset", strconv.Itoa(q.Offset+q.Limit))
			d.NextURL = "/registrations?" + v.Encode()
		}
	}
	h.render(w, r, status, "registrations", l["regs_title"], d)
}

// apiRegistrations answers GET /api/v1/registrations: the registrations
// that match aor, outcome, from, to (RFC 3339, UTC) and latest=1, newest
// first, with their texts in ?lang=.
func (h *Handler) apiRegistrations(w http.ResponseWriter, r *http.Request) {
	lang, ok := h.apiLang(w, r)
	if !ok {
		return
	}
	q, err := regQueryFrom(r.URL.Query(), time.UTC, false)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	regs, err := h.st.SearchRegistrations(r.Context(), q)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{err.Error()})
		return
	}
	out := make([]*report.Register, 0, len(regs))
	for _, g := range regs {
		out = append(out, report.LocalizeRegister(g, lang))
	}
	writeJSON(w, http.StatusOK, struct {
		Schema        int                `json:"schema_version"`
		Registrations []*report.Register `json:"registrations"`
	}{analyze.SchemaVersion, out})
}

// aorShort is an address of record as a helpdesk reads it: the user and
// host of the URI (RFC 3261 §19.1.1) without the scheme and the URI
// parameters (;transport=UDP), which say nothing about who registered.
func aorShort(aor string) string {
	s := strings.TrimSpace(aor)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = strings.TrimSuffix(s[i+1:], ">")
	}
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if len(s) > len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(s, ";?>"); i > 0 {
		s = s[:i]
	}
	return s
}
