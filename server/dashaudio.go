package server

import (
	"fmt"

	"github.com/sipcause/sipcause/store"
)

// mosFloor and mosTop are the ends of the MOS scale (ITU-T P.800): the
// MOS chart runs from 1 to 5, not from 0.
const mosFloor, mosTop = 1.0, 5.0

// audioCharts draws the audio of the stored calls over time (the store's
// AudioTimeline): the mean MOS of each bucket and its worst call as lines
// on the 1..5 scale, and the calls whose audio went one way only as bars.
// A chart with nothing to show is left out.
func audioCharts(ab []store.AudioBucket, ax axis, l map[string]string) []*chart {
	var out []*chart
	anyMOS, topOneWay := false, 0
	for _, b := range ab {
		anyMOS = anyMOS || b.Calls > 0
		topOneWay = max(topOneWay, b.OneWay)
	}
	if anyMOS {
		c := newChart("mos", l["dash_mos"])
		c.Note = l["dash_mos_note"]
		y := func(v float64) int {
			v = min(max(v, mosFloor), mosTop)
			return chartT + chartPH - int(float64(chartPH)*(v-mosFloor)/(mosTop-mosFloor))
		}
		for _, s := range []struct {
			class, name string
			value       func(store.AudioBucket) float64
		}{
			{"mos-mean", l["mos_mean"], func(b store.AudioBucket) float64 { return b.MeanMOS }},
			{"mos-worst", l["mos_worst"], func(b store.AudioBucket) float64 { return b.WorstMOS }},
		} {
			ln := chartLine{Class: s.class, Name: s.name}
			for i, b := range ab {
				if b.Calls == 0 || i >= ax.bs {
					continue
				}
				v := s.value(b)
				x, yy := ax.x(i)+chartPW/ax.bs/2, y(v)
				ln.Points += fmt.Sprintf("%d,%d ", x, yy)
				ln.Dots = append(ln.Dots, chartDot{X: x, Y: yy, Title: fmt.Sprintf("%s %s: %s (%s)", s.name, ax.when(i),
					fmtFloat(v, 1, ax.lang), fmt.Sprintf(l["mos_calls"], fmtInt(int64(b.Calls), ax.lang)))})
			}
			c.Lines = append(c.Lines, ln)
			c.Legend = append(c.Legend, chartLine{Class: s.class, Name: s.name})
		}
		for v := mosFloor; v <= mosTop; v++ {
			c.YTicks = append(c.YTicks, chartTick{Pos: y(v), Label: fmtFloat(v, 0, ax.lang)})
		}
		c.XTicks = ax.ticks()
		out = append(out, c)
	}
	if topOneWay > 0 {
		c := newChart("one-way", l["dash_one_way"])
		c.Note = l["dash_one_way_note"]
		ny := niceTop(float64(topOneWay), true)
		bw := max(1, chartPW/ax.bs)
		for i, b := range ab {
			if b.OneWay == 0 || i >= ax.bs {
				continue
			}
			hgt := max(1, int(float64(chartPH)*float64(b.OneWay)/ny))
			c.Bars = append(c.Bars, chartBar{X: ax.x(i), Y: chartT + chartPH - hgt, W: max(1, bw-1), H: hgt, Class: "bar s3",
				Title: fmt.Sprintf("%s: %s", ax.when(i), fmtInt(int64(b.OneWay), ax.lang))})
		}
		c.YTicks, c.XTicks = yTicks(ny, ax.lang), ax.ticks()
		out = append(out, c)
	}
	return out
}
