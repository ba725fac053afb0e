package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// BenchmarkSQLiteAudioTimeline is the dashboard's 30-day MOS chart (one
// bucket a day) over 100,000 calls with an audio verdict, each with the
// JSON a real call has (its ladder, findings and streams).
func BenchmarkSQLiteAudioTimeline(b *testing.B) {
	const calls = 100_000
	s, err := OpenSQLite(filepath.Join(b.TempDir(), "audio.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	spacing := 30 * 24 * time.Hour / calls
	batch := make([]CallRecord, 0, 1000)
	for i := range calls {
		batch = append(batch, audioCall(i, t0.Add(time.Duration(i)*spacing)))
		if len(batch) == cap(batch) {
			if err := s.PutCalls(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for b.Loop() {
		got, err := s.AudioTimeline(ctx, t0, t0.Add(30*24*time.Hour), 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, x := range got {
			n += x.Calls
		}
		if n != calls {
			b.Fatalf("%d calls with a MOS in the chart, want %d", n, calls)
		}
	}
}

// audioCall is a call with an audio verdict and the parts of a real
// call's JSON that make it long.
func audioCall(i int, start time.Time) CallRecord {
	cr := testCall(i, 200, analyze.OutcomeAnswered)
	c := cr.Call
	c.Start = start
	mos := 3.0 + float64(i%15)/10
	verdict := "both"
	if i%10 == 0 {
		verdict = "one_way"
	}
	c.Audio = &analyze.Audio{Verdict: verdict, MOS: &mos}
	for k := range 8 {
		c.Messages = append(c.Messages, analyze.Exchange{Frame: 10*i + k, Time: start.Add(time.Duration(k) * 100 * time.Millisecond),
			Src: "192.0.2.10:5060", Dst: "198.51.100.20:5060", Label: fmt.Sprintf("step %d of the call", k)})
	}
	for k := range 3 {
		c.Findings = append(c.Findings, analyze.Finding{ID: fmt.Sprintf("finding-%d", k), Severity: "info",
			Values: map[string]string{"from": "198.51.100.20:5060", "code": "200", "secs": "1.5"}, Frames: []int{10 * i}})
	}
	c.Media = []*analyze.MediaStream{
		{Number: 1, Src: "192.0.2.10:4000", Dst: "198.51.100.20:5000", Codec: "PCMA", Packets: 1500, MOS: mos, Found: "sdp"},
		{Number: 2, Src: "198.51.100.20:5000", Dst: "192.0.2.10:4000", Codec: "PCMA", Packets: 1500, MOS: mos, Found: "sdp"},
	}
	return cr
}
