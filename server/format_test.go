package server

import (
	"testing"
	"time"

	"github.com/sipcause/sipcause/catalog"
)

func TestFormat(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	ts := time.Date(2026, 11, 27, 3, 28, 14, 526e6, time.UTC) // 04:28 in Amsterdam (CET)
	summer := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)     // 10:00 (CEST)
	for _, tt := range []struct{ got, want string }{
		{fmtTime(ts, ams, catalog.Dutch, false), "27-11-2026 04:28:14"},
		{fmtTime(ts, ams, catalog.English, false), "2026-11-27 04:28:14"},
		{fmtTime(ts, ams, catalog.Dutch, true), "27-11-2026 04:28:14,526"},
		{fmtTime(summer, ams, catalog.Dutch, false), "01-07-2026 10:00:00"},
		{fmtTime(ts, time.UTC, catalog.English, false), "2026-11-27 03:28:14"},
		{zoneName(ams, ts), "Europe/Amsterdam"},
		{zoneName(time.FixedZone("", 3600), ts), ""},
		{fmtInt(8989, catalog.Dutch), "8989"},
		{fmtInt(1234567, catalog.Dutch), "1.234.567"},
		{fmtInt(12345, catalog.English), "12,345"},
		{fmtPct(33.333, true, catalog.Dutch), "33,3 %"},
		{fmtPct(33.333, true, catalog.English), "33.3 %"},
		{fmtPct(0, false, catalog.Dutch), "–"},
		{fmtMS(850, catalog.Dutch), "850 ms"},
		{fmtMS(2500, catalog.Dutch), "2,5 s"},
		{fmtMS(1286000, catalog.Dutch), "21 min 26 s"},
		{fmtMS(3720000, catalog.English), "1 h 2 min"},
		{fmtMS(600000, catalog.Dutch), "10 min"},
		{fmtMS(3600000, catalog.Dutch), "1 h"},
		{aorShort("sip:telephone1@172.16.98.101;transport=UDP"), "telephone1@172.16.98.101"},
		{aorShort("<sips:1001@pbx.example>"), "1001@pbx.example"},
		{aorShort("1001"), "1001"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestNiceTop(t *testing.T) {
	for _, tt := range []struct {
		v     float64
		whole bool
		want  float64
	}{{5, true, 8}, {4, true, 4}, {9, true, 12}, {1, true, 4}, {0, true, 4}, {37, true, 40}, {1148, true, 1200}, {2.6, false, 4}, {0.3, false, 0.4}, {730, false, 800}} {
		if got := niceTop(tt.v, tt.whole); got != tt.want {
			t.Errorf("niceTop(%v, %v) = %v, want %v", tt.v, tt.whole, got, tt.want)
		}
	}
}

func TestFmtMinute(t *testing.T) {
	ts := time.Date(2026, 11, 27, 3, 28, 14, 0, time.UTC)
	if got := fmtMinute(ts, time.UTC, catalog.Dutch); got != "27-11-2026 03:28" {
		t.Errorf("%q", got)
	}
	if got := fmtMinute(time.Time{}, time.UTC, catalog.Dutch); got != "–" {
		t.Errorf("zero: %q", got)
	}
}
