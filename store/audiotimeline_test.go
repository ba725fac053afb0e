package store

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// TestAudioTimeline: on both backends, the calls with an audio verdict
// give each hour its mean and worst MOS and its one-way calls; calls
// without a verdict, and legs of another call, are left out.
func TestAudioTimeline(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := b.open(t)
			at, ok := s.(AudioTimeliner)
			if !ok {
				t.Fatalf("%T has no AudioTimeline", s)
			}
			f := func(v float64) *float64 { return &v }
			var batch []CallRecord
			add := func(i int, a *analyze.Audio, legOf string) {
				cr := testCall(i, 200, analyze.OutcomeAnswered)
				cr.Call.Audio, cr.Call.LegOf = a, legOf
				// A stream with a MOS of its own: the call's is the one read.
				cr.Call.Media = []*analyze.MediaStream{{Number: 1, MOS: 1.5, Found: "sdp"}}
				batch = append(batch, cr)
			}
			// First hour (calls start a minute apart from t0): 4.4 and 3.2, one way.
			add(1, &analyze.Audio{Verdict: "both", MOS: f(4.4)}, "")
			add(2, &analyze.Audio{Verdict: "one_way", Direction: "caller_to_callee", MOS: f(3.2)}, "")
			add(3, nil, "")                                                     // no verdict
			add(4, &analyze.Audio{Verdict: "both", MOS: f(1.0)}, "call-1@test") // a leg
			// Second hour: a call without a MOS (none at all) and 4.0.
			add(61, &analyze.Audio{Verdict: "none"}, "")
			add(62, &analyze.Audio{Verdict: "both", MOS: f(4.0)}, "")
			if err := s.PutCalls(ctx, batch); err != nil {
				t.Fatal(err)
			}
			flush(t, s)
			got, err := at.AudioTimeline(ctx, t0, t0.Add(3*time.Hour), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			want := []AudioBucket{
				{Start: t0, Calls: 2, MeanMOS: 3.8, WorstMOS: 3.2, OneWay: 1},
				{Start: t0.Add(time.Hour), Calls: 1, MeanMOS: 4.0, WorstMOS: 4.0},
				{Start: t0.Add(2 * time.Hour)},
			}
			if len(got) != len(want) {
				t.Fatalf("%d buckets: %+v", len(got), got)
			}
			for i := range want {
				g, w := got[i], want[i]
				if !g.Start.Equal(w.Start) || g.Calls != w.Calls || g.OneWay != w.OneWay ||
					math.Abs(g.MeanMOS-w.MeanMOS) > 1e-6 || math.Abs(g.WorstMOS-w.WorstMOS) > 1e-6 {
					t.Errorf("bucket %d = %+v; want %+v", i, g, w)
				}
			}
			if _, err := at.AudioTimeline(ctx, t0, t0, time.Hour); err == nil {
				t.Error("an empty range was accepted")
			}
			if _, err := at.AudioTimeline(ctx, t0, t0.Add(time.Hour), time.Millisecond); err == nil {
				t.Error("3.6 million buckets were accepted")
			}
		})
	}
}

// TestMigrateMOS opens a database made before the mos and one_way
// columns, whose calls with an audio verdict kept their JSON plain: the
// columns are filled from the JSON, and the MOS chart gives what it gave
// when it read the JSON.
func TestMigrateMOS(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	f := func(v float64) *float64 { return &v }
	var batch []CallRecord
	for i, a := range []*analyze.Audio{
		{Verdict: "both", MOS: f(4.4)}, {Verdict: "one_way", MOS: f(3.2)}, nil, {Verdict: "none"}, {Verdict: "both", MOS: f(4.0)},
	} {
		cr := testCall(1+30*i, 200, analyze.OutcomeAnswered) // two a bucket of an hour
		cr.Call.Audio = a
		batch = append(batch, cr)
	}
	if err := s.PutCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want, err := s.AudioTimeline(ctx, t0, t0.Add(3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The old layout: no mos, no one_way, the audio index on (audio,
	// start), and plain JSON for the calls with a verdict.
	for _, cr := range batch {
		if AudioClass(cr.Call) == "" {
			continue
		}
		js, err := cr.json()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.Exec(`UPDATE calls SET json = ?, json_codec = 0 WHERE call_id = ?`, js, cr.Call.CallID); err != nil {
			t.Fatal(err)
		}
	}
	// And one call whose JSON was damaged on the disk: it must not stop
	// the migration.
	bad := testCall(200, 200, analyze.OutcomeAnswered)
	bad.Call.Audio = &analyze.Audio{Verdict: "both", MOS: f(1.0)}
	if err := s.PutCalls(ctx, []CallRecord{bad}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE calls SET json = '{"audio": {"mos": 1', json_codec = 0 WHERE call_id = ?`, bad.Call.CallID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`DROP INDEX calls_audio_verdict; ALTER TABLE calls DROP COLUMN mos; ALTER TABLE calls DROP COLUMN one_way;
		CREATE INDEX calls_audio ON calls(audio, start)`); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s, path)
	got, err := s2.AudioTimeline(ctx, t0, t0.Add(3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || want[0].Calls != 2 || want[0].OneWay != 1 || want[2].Calls != 1 {
		t.Errorf("after migrating: %+v\nbefore: %+v", got, want)
	}
	var old int
	if err := s2.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'calls_audio'`).Scan(&old); err != nil || old != 0 {
		t.Errorf("the old audio index is still there (%d, %v)", old, err)
	}
}
