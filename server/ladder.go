package server

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// ladder is a call's message sequence chart drawn as inline SVG: a column
// per host, an arrow per message. It is a small version of the report
// package's ladder, which is not exported.
type ladder struct {
	Width, Height int
	LifeEnd       int
	Hosts         []ladderHost
	Rows          []ladderRow
	More          int
}

type ladderHost struct {
	X, BoxX, BoxW int
	Label         string
}

type ladderRow struct {
	Y, TextY, X1, X2, TextX int
	Head, Label, Title      string
	Time                    string
	Class                   string
	Retrans                 bool
}

const (
	ladderLeft    = 90
	ladderTop     = 50
	ladderRowH    = 26
	ladderSpacing = 230
	ladderMaxRows = 300
)

func buildLadder(ms []analyze.Exchange, l map[string]string) *ladder {
	if len(ms) == 0 {
		return nil
	}
	col := map[string]int{}
	var hosts []string
	for _, m := range ms {
		for _, h := range []string{m.Src, m.Dst} {
			if _, ok := col[h]; !ok {
				col[h] = len(hosts)
				hosts = append(hosts, h)
			}
		}
	}
	lad := &ladder{Width: ladderLeft + ladderSpacing*len(hosts) + 10}
	for i, h := range hosts {
		x := ladderLeft + ladderSpacing*i + ladderSpacing/2
		lad.Hosts = append(lad.Hosts, ladderHost{X: x, BoxX: x - ladderSpacing/2 + 8, BoxW: ladderSpacing - 16, Label: clip(h, 30)})
	}
	rows := ms
	if len(rows) > ladderMaxRows {
		rows, lad.More = rows[:ladderMaxRows], len(rows)-ladderMaxRows
	}
	t0 := ms[0].Time
	for i, m := range rows {
		y := ladderTop + 20 + i*ladderRowH
		a, b := col[m.Src], col[m.Dst]
		xa, xb := lad.Hosts[a].X, lad.Hosts[b].X
		row := ladderRow{Y: y, TextY: y - 5, X1: xa, X2: xb, TextX: (xa + xb) / 2, Retrans: m.Retrans,
			Time: "+" + strconv.FormatFloat(m.Time.Sub(t0).Seconds(), 'f', 3, 64), Class: msgClass(m.Label)}
		row.Label = clip(m.Label, 34)
		if m.Retrans {
			row.Label = "↻ " + row.Label
		}
		row.Title = fmt.Sprintf("%s — %s → %s, %s %d, %s", m.Label, m.Src, m.Dst, l["frame"], m.Frame, m.Time.UTC().Format(time.TimeOnly+".000000"))
		switch {
		case a == b:
			row.X2 = xa + 30
			row.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", xa+30, y, xa+22, y-4, xa+22, y+4)
			row.TextX = xa + 80
		case a < b:
			row.X2 = xb - 8
			row.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", xb, y, xb-9, y-4, xb-9, y+4)
		default:
			row.X2 = xb + 8
			row.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", xb, y, xb+9, y-4, xb+9, y+4)
		}
		lad.Rows = append(lad.Rows, row)
	}
	lad.LifeEnd = ladderTop + 20 + len(rows)*ladderRowH
	lad.Height = lad.LifeEnd + 10
	return lad
}

func msgClass(label string) string {
	if label == "" || label[0] < '1' || label[0] > '6' {
		return "req"
	}
	switch label[0] {
	case '1':
		return "prov"
	case '2':
		return "succ"
	case '3':
		return "redir"
	}
	return "fail"
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func parseAddrPort(s string) (netip.AddrPort, error) { return netip.ParseAddrPort(s) }
