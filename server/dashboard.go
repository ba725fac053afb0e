package server

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/sipcause/sipcause/catalog"
	"github.com/sipcause/sipcause/store"
)

// chart is a bar, stacked-bar or line chart drawn as inline SVG by the
// template. It is drawn in a viewBox of chartW × chartH and shown at the
// card's width.
type chart struct {
	ID            string
	Title         string
	Note          string
	Width, Height int
	Left, Top     int
	PlotW, PlotH  int
	Bars          []chartBar
	Lines         []chartLine
	YTicks        []chartTick
	XTicks        []chartTick
	Legend        []chartLine
}

type chartBar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

type chartLine struct {
	Class  string
	Name   string
	Points string
	Dots   []chartDot
}

type chartDot struct {
	X, Y  int
	Title string
}

type chartTick struct {
	Pos   int
	Label string
}

const (
	chartW, chartH   = 1100, 220
	chartL, chartT   = 56, 16
	chartPW, chartPH = chartW - chartL - 16, chartH - chartT - 34
	topGroups        = 5  // series in a stacked chart, the rest is "other"
	topRows          = 10 // rows of a top list
)

// kpi is one number of the dashboard with the sentence that says what it
// means, so that a ratio is never shown bare.
type kpi struct {
	ID, Name, Value, Meaning string
}

// topRow is one row of a top list: a number or a peer with its failed
// calls and a link to them.
type topRow struct {
	Key, Count, Link string
}

type dashData struct {
	Ranges     [][3]string // key, link, label in the reader's language
	Range      string
	Empty      bool
	Stats      [3]string // calls, registrations, messages
	Period     [3]string // from, to, the zone
	KPIs       []kpi
	Charts     []*chart
	TopNumbers []topRow
	TopPeers   []topRow
}

var dashRanges = []struct {
	key  string
	span time.Duration
	step time.Duration
}{
	{"1h", time.Hour, time.Minute},
	{"6h", 6 * time.Hour, 5 * time.Minute},
	{"24h", 24 * time.Hour, 15 * time.Minute},
	{"7d", 7 * 24 * time.Hour, 2 * time.Hour},
	{"30d", 30 * 24 * time.Hour, 8 * time.Hour},
}

// dashboard shows the RFC 6076 metrics and the failed calls over time: by
// final answer, by whose side and by peer, with the numbers and peers that
// fail most. The period ends at the newest stored call, not at the clock,
// so that a replayed or uploaded capture shows.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	l := labelsFor(lang)
	loc := h.opt.Location
	d := dashData{Range: r.URL.Query().Get("range")}
	span, step := 24*time.Hour, 15*time.Minute
	found := false
	for _, x := range dashRanges {
		d.Ranges = append(d.Ranges, [3]string{x.key, "/dashboard?range=" + x.key, l["range_"+x.key]})
		if x.key == d.Range {
			span, step, found = x.span, x.step, true
		}
	}
	if !found {
		d.Range = "24h"
	}
	st, err := h.st.Stats(r.Context())
	if err != nil {
		h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
		return
	}
	d.Stats = [3]string{fmtInt(st.Calls, lang), fmtInt(st.Registrations, lang), fmtInt(st.Messages, lang)}
	if st.Calls == 0 {
		d.Empty = true
		h.render(w, r, http.StatusOK, "dashboard", l["dash_title"], d)
		return
	}
	to := st.Newest.Truncate(step).Add(step)
	from := to.Add(-span)
	bs, err := h.st.Timeline(r.Context(), from, to, step)
	if err != nil {
		h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
		return
	}
	// Each end whole on a line: a phone must not break "27-11-2026" at a hyphen.
	d.Period = [3]string{fmtMinute(from, loc, lang), fmtMinute(to, loc, lang), zoneName(loc, to)}
	var tot store.Bucket
	for _, b := range bs {
		tot.Attempts += b.Attempts
		tot.Answered += b.Answered
		tot.Redirected += b.Redirected
		tot.Effective += b.Effective
		tot.Ineffective += b.Ineffective
		tot.PDDSumMS += b.PDDSumMS
		tot.PDDCount += b.PDDCount
	}
	pdd := "–"
	if v, ok := tot.MeanPDD(); ok {
		pdd = fmtMS(int64(math.Round(v)), lang)
	}
	pct := func(v float64, ok bool) string { return fmtPct(v, ok, lang) }
	d.KPIs = []kpi{
		{"attempts", l["dash_attempts"], fmtInt(int64(tot.Attempts), lang), ""},
		{"ser", "SER", pct(tot.SER()), l["ratio_ser"]},
		{"seer", "SEER", pct(tot.SEER()), l["ratio_seer"]},
		{"isa", "ISA", pct(tot.ISA()), l["ratio_isa"]},
		{"scr", "SCR", pct(tot.SCR()), l["ratio_scr"]},
		{"pdd", "PDD", pdd, l["ratio_pdd"]},
	}
	ax := axis{bs: len(bs), step: step, from: from, loc: loc, lang: lang}
	d.Charts = []*chart{barChart("attempts", l["dash_attempts"], bs, ax)}
	for _, g := range []struct{ id, by, title string }{
		{"by-cause", store.ByStatus, l["dash_by_cause"]},
		{"by-side", store.ByFault, l["dash_by_side"]},
		{"by-peer", store.ByPeer, l["dash_by_peer"]},
	} {
		cs, err := h.st.CountCalls(r.Context(), store.CountQuery{From: from, To: to, Step: step, By: g.by, Outcomes: store.FailedOutcomes})
		if err != nil {
			h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
			return
		}
		c := stackedChart(g.id, g.title, cs, ax, func(k string) (string, string) { return groupLabel(g.by, k, lang, h.opt.Perspective, l) }, l["dash_other"])
		if g.by == store.ByStatus {
			c.Note = l["dash_failed_note"]
		}
		d.Charts = append(d.Charts, c)
	}
	// Calls by their audio verdict: only those that had one (media was
	// captured or its agents sent RTCP), each bar split into problems
	// (one way, none, poor MOS) and good audio.
	cs, err := h.st.CountCalls(r.Context(), store.CountQuery{From: from, To: to, Step: step, By: store.ByAudio})
	if err != nil {
		h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
		return
	}
	cs = slices.DeleteFunc(cs, func(c store.Count) bool { return c.Key == "" })
	if len(cs) > 0 {
		c := stackedChart("by-audio", l["dash_by_audio"], cs, ax, func(k string) (string, string) {
			return l["audio_"+k], map[string]string{store.AudioProblem: "s3", store.AudioOK: "s2"}[k]
		}, l["dash_other"])
		c.Note = l["dash_audio_note"]
		d.Charts = append(d.Charts, c)
	}
	// MOS and one-way calls over time (dashaudio.go), where the store can
	// read them from the calls it keeps: only when some call of the period
	// had an audio verdict, as reading them parses each such call.
	if at, ok := h.st.(store.AudioTimeliner); ok && len(cs) > 0 {
		ab, err := at.AudioTimeline(r.Context(), from, to, step)
		if err != nil {
			h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
			return
		}
		d.Charts = append(d.Charts, audioCharts(ab, ax, l)...)
	}
	d.Charts = append(d.Charts,
		lineChart("ratios", l["dash_ratios"], bs, ax, 100, []series{
			{"ser", "SER", store.Bucket.SER}, {"seer", "SEER", store.Bucket.SEER},
			{"isa", "ISA", store.Bucket.ISA}, {"scr", "SCR", store.Bucket.SCR}}),
		lineChart("pdd", l["dash_pdd"], bs, ax, 0, []series{{"pdd", "PDD", store.Bucket.MeanPDD}}))
	for _, t := range []struct {
		by   string
		rows *[]topRow
	}{{store.ByCallee, &d.TopNumbers}, {store.ByPeer, &d.TopPeers}} {
		cs, err := h.st.CountCalls(r.Context(), store.CountQuery{From: from, To: to, By: t.by, Outcomes: store.FailedOutcomes, Top: topRows})
		if err != nil {
			h.render(w, r, http.StatusInternalServerError, "error", "error", err.Error())
			return
		}
		for _, c := range cs {
			row := topRow{Key: c.Key, Count: fmtInt(int64(c.Count), lang)}
			if t.by == store.ByCallee && c.Key != "" {
				v := url.Values{"number": {c.Key}, "from": {from.In(loc).Format("2006-01-02T15:04")}, "to": {to.In(loc).Format("2006-01-02T15:04")}}
				row.Link = "/calls?" + v.Encode()
			}
			*t.rows = append(*t.rows, row)
		}
	}
	h.render(w, r, http.StatusOK, "dashboard", l["dash_title"], d)
}

// groupLabel names a group of a stacked chart and gives its colour class.
func groupLabel(by, key string, lang catalog.Lang, persp catalog.Perspective, l map[string]string) (string, string) {
	switch by {
	case store.ByStatus:
		n, _ := strconv.Atoi(key)
		if n == 0 {
			return l["no_final"], ""
		}
		return key + " " + catalog.Phrase(n), ""
	case store.ByFault:
		return catalog.Fault(key).LabelFor(lang, persp), "f-" + key
	}
	if key == "" {
		return "?", ""
	}
	return key, ""
}

// axis is the time axis shared by a dashboard's charts.
type axis struct {
	bs   int
	step time.Duration
	from time.Time
	loc  *time.Location
	lang catalog.Lang
}

func (a axis) x(i int) int { return chartL + i*chartPW/a.bs }

func (a axis) ticks() []chartTick {
	var out []chartTick
	every := max(1, a.bs/8)
	for i := 0; i < a.bs; i += every {
		out = append(out, chartTick{Pos: a.x(i), Label: fmtShort(a.from.Add(time.Duration(i)*a.step), a.loc, a.lang, a.step >= time.Hour)})
	}
	return out
}

func (a axis) when(i int) string {
	return fmtMinute(a.from.Add(time.Duration(i)*a.step), a.loc, a.lang)
}

type series struct {
	class, name string
	value       func(store.Bucket) (float64, bool)
}

func yTicks(top float64, lang catalog.Lang) []chartTick {
	var out []chartTick
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		prec := 0
		if v != math.Trunc(v) {
			prec = 1
		}
		out = append(out, chartTick{Pos: chartT + chartPH - int(float64(chartPH)*float64(i)/4), Label: fmtFloat(v, prec, lang)})
	}
	return out
}

// niceTop rounds a maximum up so that each of the four grid steps is 1, 2,
// 2.5, 3 or 5 times a power of ten; counts keep whole steps (no 1.25 calls).
func niceTop(v float64, whole bool) float64 {
	if v <= 0 {
		return 4
	}
	q := v / 4
	p := math.Pow(10, math.Floor(math.Log10(q)))
	for _, m := range []float64{1, 2, 2.5, 3, 5, 10} {
		step := m * p
		if whole && (step < 1 || step != math.Trunc(step)) {
			continue
		}
		if q <= step {
			return 4 * step
		}
	}
	return 40 * p
}

func newChart(id, title string) *chart {
	return &chart{ID: id, Title: title, Width: chartW, Height: chartH, Left: chartL, Top: chartT, PlotW: chartPW, PlotH: chartPH}
}

func barChart(id, title string, bs []store.Bucket, ax axis) *chart {
	c := newChart(id, title)
	top := 0
	for _, b := range bs {
		top = max(top, b.Attempts)
	}
	ny := niceTop(float64(top), true)
	bw := max(1, chartPW/len(bs))
	for i, b := range bs {
		hgt := int(float64(chartPH) * float64(b.Attempts) / ny)
		c.Bars = append(c.Bars, chartBar{X: ax.x(i), Y: chartT + chartPH - hgt, W: max(1, bw-1), H: hgt, Class: "bar",
			Title: fmt.Sprintf("%s: %s", ax.when(i), fmtInt(int64(b.Attempts), ax.lang))})
	}
	c.YTicks, c.XTicks = yTicks(ny, ax.lang), ax.ticks()
	return c
}

// stackedChart draws failed calls per bucket, one colour per group: the
// topGroups largest groups of the period, the rest together as "other".
func stackedChart(id, title string, cs []store.Count, ax axis, label func(string) (string, string), other string) *chart {
	c := newChart(id, title)
	totals := map[string]int{}
	var order []string
	for _, x := range cs {
		if _, ok := totals[x.Key]; !ok {
			order = append(order, x.Key)
		}
		totals[x.Key] += x.Count
	}
	// Largest first; ties by key, so the colours are stable.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && (totals[order[j]] > totals[order[j-1]] || totals[order[j]] == totals[order[j-1]] && order[j] < order[j-1]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	group := map[string]int{}
	for i, k := range order {
		group[k] = min(i, topGroups)
	}
	ngroups := min(len(order), topGroups+1)
	names := make([]string, ngroups)
	classes := make([]string, ngroups)
	for i := range ngroups {
		classes[i] = "s" + strconv.Itoa(i)
		if i == topGroups {
			names[i] = other
			classes[i] = "s-other"
			continue
		}
		n, cl := label(order[i])
		names[i] = n
		if cl != "" {
			classes[i] = cl
		}
	}
	per := make([][]int, ax.bs)
	for i := range per {
		per[i] = make([]int, ngroups)
	}
	for _, x := range cs {
		b := int(x.Start.Sub(ax.from) / ax.step)
		if b >= 0 && b < ax.bs {
			per[b][group[x.Key]] += x.Count
		}
	}
	top := 0
	for _, p := range per {
		s := 0
		for _, v := range p {
			s += v
		}
		top = max(top, s)
	}
	ny := niceTop(float64(top), true)
	bw := max(1, chartPW/ax.bs)
	for i, p := range per {
		y := chartT + chartPH
		for g, v := range p {
			if v == 0 {
				continue
			}
			hgt := max(1, int(float64(chartPH)*float64(v)/ny))
			y -= hgt
			c.Bars = append(c.Bars, chartBar{X: ax.x(i), Y: y, W: max(1, bw-1), H: hgt, Class: "bar " + classes[g],
				Title: fmt.Sprintf("%s · %s: %s", ax.when(i), names[g], fmtInt(int64(v), ax.lang))})
		}
	}
	for g := range ngroups {
		c.Legend = append(c.Legend, chartLine{Class: classes[g], Name: names[g]})
	}
	c.YTicks, c.XTicks = yTicks(ny, ax.lang), ax.ticks()
	return c
}

func lineChart(id, title string, bs []store.Bucket, ax axis, fixedTop float64, ss []series) *chart {
	c := newChart(id, title)
	top := fixedTop
	if top == 0 {
		for _, b := range bs {
			for _, s := range ss {
				if v, ok := s.value(b); ok {
					top = max(top, v)
				}
			}
		}
		top = niceTop(top, false)
	}
	for _, s := range ss {
		ln := chartLine{Class: s.class, Name: s.name}
		for i, b := range bs {
			v, ok := s.value(b)
			if !ok {
				continue
			}
			x := ax.x(i) + chartPW/len(bs)/2
			y := chartT + chartPH - int(float64(chartPH)*v/top)
			ln.Points += fmt.Sprintf("%d,%d ", x, y)
			ln.Dots = append(ln.Dots, chartDot{X: x, Y: y, Title: fmt.Sprintf("%s %s: %s", s.name, ax.when(i), fmtFloat(v, 1, ax.lang))})
		}
		c.Lines = append(c.Lines, ln)
		c.Legend = append(c.Legend, chartLine{Class: s.class, Name: s.name})
	}
	c.YTicks, c.XTicks = yTicks(top, ax.lang), ax.ticks()
	return c
}
