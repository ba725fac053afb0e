package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// TestClickHouseMigrateMOS opens a database of schema version 3, made
// before the mos and one_way columns: its calls get -1, and the MOS chart
// reads theirs from their JSON, as it did then; calls stored after the
// migration are read from the columns, and the two kinds add up in one
// bucket.
func TestClickHouseMigrateMOS(t *testing.T) {
	srv := clickhouseServer(t)
	ctx := context.Background()
	db := fmt.Sprintf("migmos%d", dbSeq.Add(1))
	url := srv.URL(db)
	s := openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	f := func(v float64) *float64 { return &v }
	put := func(s Store, first int, audio ...*analyze.Audio) {
		t.Helper()
		var batch []CallRecord
		for i, a := range audio {
			cr := testCall(first+i, 200, analyze.OutcomeAnswered) // a minute apart
			cr.Call.Audio = a
			batch = append(batch, cr)
		}
		if err := s.PutCalls(ctx, batch); err != nil {
			t.Fatal(err)
		}
		flush(t, s)
	}
	// Before: two calls with a MOS (one of them one way), one without.
	put(s, 1, &analyze.Audio{Verdict: "both", MOS: f(4.4)}, &analyze.Audio{Verdict: "one_way", MOS: f(3.2)}, &analyze.Audio{Verdict: "none"})
	downgrade(t, s, db, "DROP COLUMN mos, DROP COLUMN one_way", 3)
	s.Close()
	s = openCH(t, url, filepath.Join(t.TempDir(), "spool"))
	defer s.Close()
	rows, err := s.query(ctx, "SELECT max(version), (SELECT countIf(mos = -1) FROM "+db+".calls) FROM "+db+".sipcause_schema")
	if err != nil || len(rows) != 1 || rows[0][0] != fmt.Sprint(SchemaVersion) || rows[0][1] != "3" {
		t.Fatalf("schema and calls with mos -1 after migrating: %v (%v)", rows, err)
	}
	// After: one more call with a MOS, in the same hour.
	put(s, 10, &analyze.Audio{Verdict: "both", MOS: f(2.0)})
	got, err := s.AudioTimeline(ctx, t0, t0.Add(2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []AudioBucket{{Start: t0, Calls: 3, MeanMOS: (4.4 + 3.2 + 2.0) / 3, WorstMOS: 2.0, OneWay: 1}, {Start: t0.Add(time.Hour)}}
	got[0].MeanMOS = float64(int64(got[0].MeanMOS*1e9+0.5)) / 1e9
	want[0].MeanMOS = float64(int64(want[0].MeanMOS*1e9+0.5)) / 1e9
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MOS chart across the migration:\n got %+v\nwant %+v", got, want)
	}
}
