package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/report"
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
	Refs        string   `json:"-"` // each RFC once, for the page
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

// lookupValue explains q, read with catalog.ClassifyArg as `sipcause code`
// reads its arguments. Errors are *catalog.ArgError: their Message is for
// the person who typed q.
func lookupValue(q string, lang catalog.Lang, persp catalog.Perspective) (*lookupResult, error) {
	arg, err := catalog.ClassifyArg(q)
	if err != nil {
		return nil, err
	}
	cat := catalog.Default()
	res := &lookupResult{Input: strings.TrimSpace(q), Kind: string(arg.Kind)}
	switch arg.Kind {
	case catalog.ArgCode, catalog.ArgStatusLine:
		r, err := cat.Resolve(arg.Code)
		if err != nil {
			return nil, &catalog.ArgError{Input: q, Problem: catalog.ArgNotACode}
		}
		t := r.Entry.Text(lang)
		res.Code = &lookupCode{Code: r.Entry.Code, Asked: arg.Code, Registered: r.Registered, Reason: r.Entry.Reason,
			RFC: r.Entry.RFC, Ref: r.Entry.Ref, Refs: refsOnce(r.Entry.RFC, r.Entry.Ref), Fault: string(r.Entry.Fault),
			FaultLabel: r.Entry.Fault.LabelFor(lang, persp), Summary: t.Summary, Explanation: t.Explanation, Advice: t.Advice,
			Note: t.Note, Q850: cat.SIPToCause(r.Entry.Code)}
	case catalog.ArgWarning:
		for _, w := range arg.Warnings {
			lw := lookupWarn{Code: w.Code, Agent: w.Agent, Text: w.Text}
			if wc, ok := cat.WarnCode(w.Code); ok {
				lw.Meaning = wc.Meaning(lang)
			}
			res.Warnings = append(res.Warnings, lw)
		}
	case catalog.ArgReason:
		for _, r := range arg.Reasons {
			lr := lookupReason{Protocol: r.Protocol, Cause: r.Cause, Text: r.Text}
			switch {
			case r.IsQ850():
				if c, ok := cat.Cause(r.Cause); ok {
					lr.Name, lr.Meaning, lr.Fault = c.Name, c.Text(lang), c.Fault.LabelFor(lang, persp)
				}
			case r.IsSIP():
				if rr, err := cat.Resolve(r.Cause); err == nil {
					meaning, fault := report.ReasonSIPMeaning(r, rr.Entry, lang)
					lr.Name, lr.Meaning, lr.Fault = rr.Entry.Reason, meaning, fault.LabelFor(lang, persp)
				}
			}
			res.Reasons = append(res.Reasons, lr)
		}
	}
	return res, nil
}

// refsOnce names each RFC once: the section reference (RFC 3261 §21.4.24),
// then the other RFCs of the list that it does not already name.
func refsOnce(rfcs []string, ref string) string {
	out := []string{}
	if ref != "" {
		out = append(out, ref)
	}
	for _, r := range rfcs {
		if !slices.ContainsFunc(out, func(o string) bool { return o == r || strings.HasPrefix(o, r+" ") }) {
			out = append(out, r)
		}
	}
	return strings.Join(out, ", ")
}

// lookupError is what a person reads when their value was not understood:
// the classifier's message in their language, never an internal name.
func lookupError(err error, lang catalog.Lang) string {
	var ae *catalog.ArgError
	if errors.As(err, &ae) {
		return ae.Message(lang)
	}
	return (&catalog.ArgError{Problem: catalog.ArgNotUnderstood}).Message(lang)
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
		res, err := lookupValue(d.Q, lang, h.opt.Perspective)
		if err != nil {
			d.Error, status = lookupError(err, lang), http.StatusBadRequest
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
	res, err := lookupValue(r.URL.Query().Get("q"), lang, h.opt.Perspective)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{lookupError(err, lang)})
		return
	}
	writeJSON(w, http.StatusOK, res)
}
