package report

import (
	"sort"
	"strconv"

	"github.com/sipcause/sipcause/analyze"
)

// flowItem is one row of the flow: a SIP message, or the summary of one
// direction of RTP (all its streams) drawn as a double arrow where it
// began.
type flowItem struct {
	analyze.Exchange
	media bool
}

// flowItems merges the call's messages with one row per RTP direction, in
// time order. The media row goes between the caller's and the callee's
// columns (where the first INVITE went), whatever addresses the RTP used.
func flowItems(c *analyze.Call) []flowItem {
	items := make([]flowItem, 0, len(c.Messages)+2)
	for _, m := range c.Messages {
		items = append(items, flowItem{Exchange: m})
	}
	if len(c.Media) == 0 || len(c.Messages) == 0 {
		return items
	}
	caller, callee := c.Messages[0].Src, c.Messages[0].Dst
	type sum struct {
		first      analyze.MediaStream
		packets    int
		lost       int
		mos        float64
		from, to   string
		firstFrame int
	}
	var dirs []*sum
	byDir := map[string]*sum{}
	for _, s := range c.Media {
		d := byDir[s.Direction]
		if d == nil {
			d = &sum{first: *s, mos: s.MOS, firstFrame: s.FirstFrame}
			switch s.Direction {
			case "caller_to_callee":
				d.from, d.to = caller, callee
			case "callee_to_caller":
				d.from, d.to = callee, caller
			default:
				continue
			}
			byDir[s.Direction] = d
			dirs = append(dirs, d)
		}
		d.packets += s.Packets
		d.lost += s.Lost
		d.mos = min(d.mos, s.MOS)
		if s.Start.Before(d.first.Start) {
			d.first.Start, d.firstFrame = s.Start, s.FirstFrame
		}
	}
	for _, d := range dirs {
		label := "RTP " + strconv.Itoa(d.packets) + " pkts"
		if d.lost > 0 {
			label += ", " + strconv.Itoa(d.lost) + " lost"
		}
		label += ", MOS " + strconv.FormatFloat(d.mos, 'f', 1, 64)
		items = append(items, flowItem{media: true, Exchange: analyze.Exchange{
			Frame: d.firstFrame, Time: d.first.Start, Src: d.from, Dst: d.to, Label: label}})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Time.Before(items[j].Time) })
	return items
}
