package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AudioBucket is the audio of the calls of one time bucket that had an
// audio verdict (analyze.Audio): their mean and worst MOS (ITU-T P.800's
// 1..5 scale, as the analyzer estimated it with the E-model of G.107, or
// as an agent reported it) and how many had audio one way only. The
// dashboard draws them over time.
type AudioBucket struct {
	Start    time.Time `json:"start"`
	Calls    int       `json:"calls"`     // calls with a MOS
	MeanMOS  float64   `json:"mean_mos"`  // 0 when Calls is 0
	WorstMOS float64   `json:"worst_mos"` // 0 when Calls is 0
	OneWay   int       `json:"one_way"`   // calls with audio one way only
}

// AudioTimeliner is a store that can tell the audio of its calls per time
// bucket. Both stores of this package are; it is an interface of its own
// so that Store stays what every store must do.
type AudioTimeliner interface {
	// AudioTimeline returns one bucket per step from from to to, read from
	// the calls as they were stored (their audio verdict), leaving out
	// calls that continue another leg as Timeline does.
	AudioTimeline(ctx context.Context, from, to time.Time, step time.Duration) ([]AudioBucket, error)
}

func audioBuckets(from, to time.Time, step time.Duration) ([]AudioBucket, error) {
	if !to.After(from) || from.IsZero() || step <= 0 {
		return nil, errors.New("store: audio timeline: empty range")
	}
	if to.Sub(from)/step > 10000 {
		return nil, errors.New("store: audio timeline: more than 10000 buckets")
	}
	out := make([]AudioBucket, int((to.Sub(from)+step-1)/step))
	for i := range out {
		out[i].Start = from.Add(time.Duration(i) * step).UTC()
	}
	return out, nil
}

// AudioTimeline implements AudioTimeliner from the mos and one_way
// columns of the calls whose audio column (AudioClass) says they had a
// verdict. The audio index holds all four: the chart reads no row.
func (s *SQLite) AudioTimeline(ctx context.Context, from, to time.Time, step time.Duration) ([]AudioBucket, error) {
	out, err := audioBuckets(from, to, step)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT (start - ?) / ? AS b, count(mos), coalesce(avg(mos), 0), coalesce(min(mos), 0), sum(one_way)
		FROM calls INDEXED BY calls_audio_verdict WHERE audio != '' AND audio IN (?, ?) AND start >= ? AND start < ? AND leg_of = ''
		GROUP BY b ORDER BY b`, from.UnixNano(), int64(step), AudioOK, AudioProblem, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("store: audio timeline: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b int64
		var x AudioBucket
		if err := rows.Scan(&b, &x.Calls, &x.MeanMOS, &x.WorstMOS, &x.OneWay); err != nil {
			return nil, fmt.Errorf("store: audio timeline: %w", err)
		}
		if b >= 0 && b < int64(len(out)) {
			x.Start = out[b].Start
			out[b] = x
		}
	}
	return out, rows.Err()
}

// AudioTimeline implements AudioTimeliner from the mos and one_way
// columns of the calls whose audio column says they had a verdict, each
// call once however many copies of its row a batch sent again left.
//
// Calls stored before those columns (schema version 4) have a mos of -1:
// theirs are read from the call JSON the messages table keeps, only when
// the period has such calls. ClickHouse 18 has no JSONExtract: the audio
// object is found as the one "audio" key of the call
// (visitParamExtractRaw), and its mos and verdict read from it, where no
// other key of that name can come first. On a cluster that sub-query over
// the calls is a second Distributed read inside the first, which
// ClickHouse refuses unless it is GLOBAL: run once, its Call-IDs go to
// every shard.
func (s *ClickHouse) AudioTimeline(ctx context.Context, from, to time.Time, step time.Duration) ([]AudioBucket, error) {
	out, err := audioBuckets(from, to, step)
	if err != nil {
		return nil, err
	}
	w := strings.Join(timeWhere(from, to), " AND ")
	q := fmt.Sprintf(`SELECT intDiv(start_ns - %d, %d) AS b, countIf(mos > 0), sumIf(mos, mos > 0), minIf(mos, mos > 0), sumIf(one_way, mos >= 0), countIf(mos < 0) FROM (
		SELECT start_ns, mos, one_way FROM {DB}.calls WHERE %s AND leg_of = '' AND audio != '' LIMIT 1 BY call_id, start_ns)
		GROUP BY b`, from.UnixNano(), int64(step), w)
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: audio timeline: %w", err)
	}
	sums := make([]float64, len(out))
	add := func(r []string) error {
		if len(r) < 5 {
			return errors.New("store: audio timeline: unexpected answer from clickhouse")
		}
		b := atoi(r[0])
		if b < 0 || b >= int64(len(out)) {
			return nil
		}
		x := &out[b]
		x.OneWay += int(atoi(r[4]))
		n := int(atoi(r[1]))
		if n == 0 {
			return nil
		}
		sum, _ := strconv.ParseFloat(r[2], 64)
		worst, _ := strconv.ParseFloat(r[3], 64)
		if x.Calls == 0 || worst < x.WorstMOS {
			x.WorstMOS = worst
		}
		x.Calls += n
		sums[b] += sum
		return nil
	}
	older := int64(0)
	for _, r := range rows {
		if err := add(r); err != nil {
			return nil, err
		}
		if len(r) == 6 {
			older += atoi(r[5])
		}
	}
	if older > 0 {
		in := "IN"
		if s.cluster != "" {
			in = "GLOBAL IN"
		}
		q := fmt.Sprintf(`SELECT intDiv(start_ns - %d, %d) AS b, countIf(h), sumIf(m, h), minIf(m, h), countIf(v = 'one_way') FROM (
			SELECT start_ns, visitParamHas(a, 'mos') AS h, visitParamExtractFloat(a, 'mos') AS m, visitParamExtractString(a, 'verdict') AS v FROM (
				SELECT start_ns, visitParamExtractRaw(json, 'audio') AS a FROM {DB}.messages
				WHERE %s AND call_id %s (SELECT call_id FROM {DB}.calls WHERE %s AND leg_of = '' AND audio != '' AND mos < 0)
				LIMIT 1 BY call_id, start_ns))
			GROUP BY b`, from.UnixNano(), int64(step), w, in, w)
		rows, err := s.query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("store: audio timeline: %w", err)
		}
		for _, r := range rows {
			if err := add(r); err != nil {
				return nil, err
			}
		}
	}
	for i := range out {
		if out[i].Calls > 0 {
			out[i].MeanMOS = sums[i] / float64(out[i].Calls)
		}
	}
	return out, nil
}
