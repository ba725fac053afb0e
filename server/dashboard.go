package server

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/sipcause/sipcause/store"
)

// chart is a line or bar chart drawn as inline SVG by the template.
type chart struct {
	Title         string
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
	chartW, chartH    = 920, 220
	chartL, chartT    = 56, 16
	chartPW, chartPH  = chartW - chartL - 16, chartH - chartT - 34
	dashboardMaxBucks = 96
)

type dashData struct {
	Ranges  [][2]string
	Range   string
	Empty   bool
	Stats   store.Stats
	Period  string
	Charts  []*chart
	Summary [][2]string
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

// dashboard shows the RFC 6076 metrics over time. The period ends at the
// newest stored call, not at the clock, so that a replayed capture shows.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	l := labelsFor(h.language(w, r))
	d := dashData{Range: r.URL.Query().Get("range")}
	span, step := 24*time.Hour, 15*time.Minute
	found := false
	for _, x := range dashRanges {
		d.Ranges = append(d.Ranges, [2]string{x.key, "/dashboard?range=" + x.key})
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
	d.Stats = st
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
	d.Period = from.UTC().Format("2006-01-02 15:04") + " – " + to.UTC().Format("2006-01-02 15:04") + " UTC"
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
	pctS := func(v float64, ok bool) string {
		if !ok {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	}
	pdd := "–"
	if v, ok := tot.MeanPDD(); ok {
		pdd = strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	}
	d.Summary = [][2]string{{l["dash_attempts"], strconv.Itoa(tot.Attempts)}, {"SER", pctS(tot.SER())}, {"SEER", pctS(tot.SEER())},
		{"ISA", pctS(tot.ISA())}, {"SCR", pctS(tot.SCR())}, {l["pdd"], pdd}}
	d.Charts = []*chart{
		barChart(l["dash_attempts"], bs, step),
		lineChart(l["dash_ratios"], bs, step, 100, []series{
			{"ser", "SER", store.Bucket.SER}, {"seer", "SEER", store.Bucket.SEER},
			{"isa", "ISA", store.Bucket.ISA}, {"scr", "SCR", store.Bucket.SCR}}),
		lineChart(l["dash_pdd"], bs, step, 0, []series{{"pdd", "PDD", store.Bucket.MeanPDD}}),
	}
	h.render(w, r, http.StatusOK, "dashboard", l["dash_title"], d)
}

type series struct {
	class, name string
	value       func(store.Bucket) (float64, bool)
}

func xTicks(bs []store.Bucket, step time.Duration) []chartTick {
	var out []chartTick
	every := max(1, len(bs)/8)
	layout := "15:04"
	if step >= time.Hour {
		layout = "01-02 15h"
	}
	for i := 0; i < len(bs); i += every {
		out = append(out, chartTick{Pos: chartL + i*chartPW/len(bs), Label: bs[i].Start.UTC().Format(layout)})
	}
	return out
}

func yTicks(top float64) []chartTick {
	var out []chartTick
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		out = append(out, chartTick{Pos: chartT + chartPH - int(float64(chartPH)*float64(i)/4), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return out
}

// niceTop rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceTop(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func newChart(title string) *chart {
	return &chart{Title: title, Width: chartW, Height: chartH, Left: chartL, Top: chartT, PlotW: chartPW, PlotH: chartPH}
}

func barChart(title string, bs []store.Bucket, step time.Duration) *chart {
	c := newChart(title)
	top := 0
	for _, b := range bs {
		top = max(top, b.Attempts)
	}
	ny := niceTop(float64(top))
	bw := max(1, chartPW/len(bs))
	for i, b := range bs {
		hgt := int(float64(chartPH) * float64(b.Attempts) / ny)
		c.Bars = append(c.Bars, chartBar{X: chartL + i*chartPW/len(bs), Y: chartT + chartPH - hgt, W: max(1, bw-1), H: hgt,
			Title: fmt.Sprintf("%s: %d", b.Start.UTC().Format("2006-01-02 15:04"), b.Attempts)})
	}
	c.YTicks, c.XTicks = yTicks(ny), xTicks(bs, step)
	return c
}

func lineChart(title string, bs []store.Bucket, step time.Duration, fixedTop float64, ss []series) *chart {
	c := newChart(title)
	top := fixedTop
	if top == 0 {
		for _, b := range bs {
			for _, s := range ss {
				if v, ok := s.value(b); ok {
					top = max(top, v)
				}
			}
		}
		top = niceTop(top)
	}
	for _, s := range ss {
		ln := chartLine{Class: s.class, Name: s.name}
		for i, b := range bs {
			v, ok := s.value(b)
			if !ok {
				continue
			}
			x := chartL + i*chartPW/len(bs) + chartPW/len(bs)/2
			y := chartT + chartPH - int(float64(chartPH)*v/top)
			ln.Points += fmt.Sprintf("%d,%d ", x, y)
			ln.Dots = append(ln.Dots, chartDot{X: x, Y: y, Title: fmt.Sprintf("%s %s: %.1f", s.name, b.Start.UTC().Format("2006-01-02 15:04"), v)})
		}
		c.Lines = append(c.Lines, ln)
		c.Legend = append(c.Legend, chartLine{Class: s.class, Name: s.name})
	}
	c.YTicks, c.XTicks = yTicks(top), xTicks(bs, step)
	return c
}
