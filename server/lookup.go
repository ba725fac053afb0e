package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sipcause/sipcause/catalog"
)

// lookupResult is what the knowledge base says about one value: a status
// code (also given as a status line), a Reason header value (RFC 3326) or
// a Warning header value (RFC 3261 §20.43).
type lookupResult struct {
	Input    string         `json:"input"`
	Kind     string         `json:"kind"` // code, status-line, reason, warning
	Code     *lookupCode    `json:"code,omitempty"`
	Reasons  []lookupReason `json:"reasons,omitempty"`
	Warnings []lookupWarn   `json:"warnings,omitempty"`
}

type lookupCode struct {
	Code        int      `json:"code"`
	Asked       int      `json:"asked"`
	Registered  bool     `json:"registered"`
	Reason      string   `json:"reason"`
	RFC         []string `json:"rfc"`
	Ref         string   `json:"ref"`
	Fault       string   `json:"fault"`
	FaultLabel  string   `json:"fault_label"`
	Summary     string   `json:"summary"`
	Explanation string   `json:"explanation"`
	Advice      []string `json:"advice"`
	Note        string   `json:"note,omitempty"`
	Q850        int      `json:"q850,omitempty"`
}

type lookupReason struct {
	Protocol string `json:"protocol"`
	Cause    int    `json:"cause"`
	Text     string `json:"text,omitempty"`
	Name     string `json:"name,omitempty"`
	Meaning  string `json:"meaning,omitempty"`
	Fault    string `json:"fault,omitempty"`
}

type lookupWarn struct {
	Code    int    `json:"code"`
	Agent   string `json:"agent"`
	Text    string `json:"text"`
	Meaning string `json:"meaning,omitempty"`
}

var errLookup = errors.New("want a status code (486), a status line (SIP/2.0 486 Busy Here), a Reason value (Q.850;cause=17) or a Warning value (399 host \"text\")")

func lookupValue(q string, lang catalog.Lang) (*lookupResult, error) {
	q = strings.TrimSpace(q)
	cat := catalog.Default()
	res := &lookupResult{Input: q}
	code := func(n int) (*lookupCode, error) {
		r, err := cat.Resolve(n)
		if err != nil {
			return nil, err
		}
		t := r.Entry.Text(lang)
		return &lookupCode{Code: r.Entry.Code, Asked: n, Registered: r.Registered, Reason: r.Entry.Reason, RFC: r.Entry.RFC,
			Ref: r.Entry.Ref, Fault: string(r.Entry.Fault), FaultLabel: r.Entry.Fault.Label(lang), Summary: t.Summary,
			Explanation: t.Explanation, Advice: t.Advice, Note: t.Note, Q850: cat.SIPToCause(r.Entry.Code)}, nil
	}
	if n, err := strconv.Atoi(q); err == nil {
		res.Kind = "code"
		c, err := code(n)
		res.Code = c
		return res, err
	}
	if rest, ok := strings.CutPrefix(strings.ToUpper(q), "SIP/2.0 "); ok {
		n, err := strconv.Atoi(strings.Fields(rest + " x")[0])
		if err != nil {
			return nil, errLookup
		}
		res.Kind = "status-line"
		c, err := code(n)
		res.Code = c
		return res, err
	}
	if len(q) >= 4 && q[0] >= '0' && q[0] <= '9' && q[3] == ' ' {
		ws, err := catalog.ParseWarning(q)
		if err != nil {
			return nil, err
		}
		res.Kind = "warning"
		for _, w := range ws {
			lw := lookupWarn{Code: w.Code, Agent: w.Agent, Text: w.Text}
			if wc, ok := cat.WarnCode(w.Code); ok {
				lw.Meaning = wc.Meaning(lang)
			}
			res.Warnings = append(res.Warnings, lw)
		}
		return res, nil
	}
	rs, err := catalog.ParseReason(q)
	if err != nil || len(rs) == 0 || !strings.Contains(q, ";") {
		return nil, errLookup
	}
	res.Kind = "reason"
	for _, r := range rs {
		lr := lookupReason{Protocol: r.Protocol, Cause: r.Cause, Text: r.Text}
		switch {
		case r.IsQ850():
			if c, ok := cat.Cause(r.Cause); ok {
				lr.Name, lr.Meaning, lr.Fault = c.Name, c.Text(lang), c.Fault.Label(lang)
			}
		case r.IsSIP():
			if rr, err := cat.Resolve(r.Cause); err == nil {
				lr.Name, lr.Meaning, lr.Fault = rr.Entry.Reason, rr.Entry.Text(lang).Summary, rr.Entry.Fault.Label(lang)
			}
		}
		res.Reasons = append(res.Reasons, lr)
	}
	return res, nil
}

type lookupData struct {
	Q      string
	Result *lookupResult
	Error  string
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	l := labelsFor(lang)
	d := lookupData{Q: r.URL.Query().Get("q")}
	status := http.StatusOK
	if strings.TrimSpace(d.Q) != "" {
		res, err := lookupValue(d.Q, lang)
		if err != nil {
			d.Error, status = err.Error(), http.StatusBadRequest
		}
		d.Result = res
	}
	h.render(w, r, status, "lookup", l["lookup_title"], d)
}

func (h *Handler) apiLookup(w http.ResponseWriter, r *http.Request) {
	lang := h.opt.Lang
	if s := r.URL.Query().Get("lang"); s != "" {
		if l, err := catalog.ParseLang(s); err == nil {
			lang = l
		}
	}
	res, err := lookupValue(r.URL.Query().Get("q"), lang)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}
