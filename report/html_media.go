package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// htmlMedia is a call's RTP streams on the HTML page: a table, and per
// stream its loss and jitter over time as a small SVG chart.
type htmlMedia struct {
	Title   string
	Head    []string
	Streams []htmlStream
	Legend  string
}

type htmlStream struct {
	N                                 int
	Dir, Src, Dst, Codec, SSRC        string
	Packets, Lost, Jitter, Delta, MOS string
	Chart                             *streamChart
}

// streamChart is the layout of one stream's timeline (analyze.Bucket):
// bars of lost packets and a line of the highest jitter per slice.
type streamChart struct {
	Width, Height int
	Bars          []chartBar
	Jitter        string // polyline points
	Title         string
}

type chartBar struct{ X, Y, W, H string }

var mediaHTMLWords = map[catalog.Lang]struct {
	title, legend string
	head          []string
	dirs          map[string]string
}{
	catalog.English: {"Audio streams (RTP)", "Bars: packets lost per slice; line: highest jitter per slice.",
		[]string{"#", "Direction", "From", "To", "Codec", "SSRC", "Packets", "Lost", "Max jitter", "Max gap", "MOS", "Over time"},
		map[string]string{"caller_to_callee": "caller → called", "callee_to_caller": "called → caller", "unknown": "?"}},
	catalog.Dutch: {"Geluidsstromen (RTP)", "Staven: verloren pakketten per deel; lijn: hoogste jitter per deel.",
		[]string{"#", "Richting", "Van", "Naar", "Codec", "SSRC", "Pakketten", "Verloren", "Max. jitter", "Max. gat", "MOS", "Verloop"},
		map[string]string{"caller_to_callee": "beller → gebelde", "callee_to_caller": "gebelde → beller", "unknown": "?"}},
}

// buildMedia lays out the streams of a call for the page; nil when the
// call has none.
func buildMedia(streams []*analyze.MediaStream, lang catalog.Lang) *htmlMedia {
	if len(streams) == 0 {
		return nil
	}
	w, ok := mediaHTMLWords[lang]
	if !ok {
		w = mediaHTMLWords[catalog.English]
	}
	dec := func(f float64, digits int) string {
		s := strconv.FormatFloat(f, 'f', digits, 64)
		if lang == catalog.Dutch {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	m := &htmlMedia{Title: w.title, Head: w.head, Legend: w.legend}
	for _, s := range streams {
		lost := strconv.Itoa(s.Lost)
		if s.Lost > 0 {
			lost += " (" + dec(s.LossPercent, 1) + " %)"
		}
		m.Streams = append(m.Streams, htmlStream{
			N: s.Number, Dir: w.dirs[s.Direction], Src: s.Src, Dst: s.Dst, Codec: s.Codec,
			SSRC: fmt.Sprintf("0x%08X", s.SSRC), Packets: strconv.Itoa(s.Packets), Lost: lost,
			Jitter: dec(s.MaxJitterMS, 1) + " ms", Delta: dec(s.MaxDeltaMS, 0) + " ms", MOS: dec(s.MOS, 1),
			Chart: chartOf(s),
		})
	}
	return m
}

// chartOf draws a stream's timeline: 4 px per slice, lost packets as bars
// scaled to the worst slice, jitter as a line scaled to at least 40 ms (the
// threshold sipcause reports), so that a flat line means little jitter.
func chartOf(s *analyze.MediaStream) *streamChart {
	if len(s.Timeline) == 0 {
		return nil
	}
	// At least 5 px a slice, and 120 px for a short stream.
	const h = 36
	slot := max(5.0, 120/float64(len(s.Timeline)))
	c := &streamChart{Width: int(slot * float64(len(s.Timeline))), Height: h,
		Title: fmt.Sprintf("%d × %d ms", len(s.Timeline), s.BucketMS)}
	maxLost, maxJit := 1, 40.0
	for _, b := range s.Timeline {
		maxLost = max(maxLost, b.Lost)
		maxJit = max(maxJit, b.MaxJitterMS)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	var pts []string
	for i, b := range s.Timeline {
		if b.Lost > 0 {
			bh := float64(h-2) * float64(b.Lost) / float64(maxLost)
			c.Bars = append(c.Bars, chartBar{X: f(float64(i)*slot + 0.5), Y: f(float64(h) - bh), W: f(slot - 1), H: f(bh)})
		}
		y := float64(h-1) - float64(h-2)*b.MaxJitterMS/maxJit
		pts = append(pts, f(float64(i)*slot+slot/2)+","+f(y))
	}
	c.Jitter = strings.Join(pts, " ")
	return c
}
