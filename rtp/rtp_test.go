package rtp

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// packet builds an RTP packet (RFC 3550 §5.1) with a 160-byte payload.
func packet(pt uint8, marker bool, seq uint16, ts, ssrc uint32, payload ...byte) []byte {
	b := make([]byte, 12, 12+160)
	b[0] = 0x80
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	if payload == nil {
		payload = make([]byte, 160)
	}
	return append(b, payload...)
}

func TestParse(t *testing.T) {
	ext := packet(0, false, 1, 2, 3)
	ext[0] |= 0x10 | 0x01 // one CSRC and an extension
	ext = append(ext[:12], append([]byte{0, 0, 0, 9, 0xbe, 0xde, 0, 1, 1, 2, 3, 4}, make([]byte, 20)...)...)
	pad := packet(8, true, 7, 8, 9, 1, 2, 3, 0, 0, 3)
	pad[0] |= 0x20
	for _, tc := range []struct {
		name    string
		b       []byte
		off, n  int
		wantErr bool
	}{
		{"plain", packet(0, false, 1, 160, 42), 12, 160, false},
		{"csrc and extension", ext, 24, 20, false},
		{"padding", pad, 12, 3, false},
		{"short", []byte{0x80, 0, 0}, 0, 0, true},
		{"version 1", append([]byte{0x40}, make([]byte, 20)...), 0, 0, true},
		{"csrc past end", append([]byte{0x8f}, make([]byte, 20)...), 0, 0, true},
		{"padding past payload", append(packet(0, false, 1, 1, 1, 9)[:12:12], 0xff), 0, 0, true},
	} {
		if tc.name == "padding past payload" {
			tc.b[0] |= 0x20
		}
		var h Header
		err := Parse(tc.b, &h)
		if tc.wantErr {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("%s: error %v, want *ParseError", tc.name, err)
			}
			continue
		}
		if err != nil || h.PayloadOffset != tc.off || h.PayloadLen != tc.n {
			t.Errorf("%s: offset %d len %d err %v, want %d %d", tc.name, h.PayloadOffset, h.PayloadLen, err, tc.off, tc.n)
		}
	}
}

// feed adds packets every 20 ms with 160 timestamp units each (G.711), the
// sequence numbers given; arrival offsets in ms move single packets.
func feed(s *Stream, seqs []uint16, jitterMS map[int]float64) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, q := range seqs {
		at := t0.Add(time.Duration(int(q-seqs[0])) * 20 * time.Millisecond)
		if j, ok := jitterMS[i]; ok {
			at = at.Add(time.Duration(j * float64(time.Millisecond)))
		}
		b := packet(PayloadPCMU, false, q, uint32(q-seqs[0])*160, 7)
		var h Header
		Parse(b, &h)
		s.Add(at, &h, b[h.PayloadOffset:])
	}
}

// Loss across the sequence wrap-around (RFC 3550 §A.1): every 10th packet
// of 200 dropped, starting at 65500.
func TestStreamLossOverWrap(t *testing.T) {
	var seqs []uint16
	for i := range 200 {
		if i%10 == 5 {
			continue
		}
		seqs = append(seqs, uint16(65500+i))
	}
	var s Stream
	feed(&s, seqs, nil)
	if s.Packets != 180 || s.Expected() != 200 || s.Lost() != 20 {
		t.Errorf("packets %d expected %d lost %d, want 180 200 20", s.Packets, s.Expected(), s.Lost())
	}
	if math.Abs(s.MaxDeltaMS-40) > 1e-9 || s.MaxJitterMS > 1e-9 {
		t.Errorf("max delta %.3f jitter %.3f, want 40 and 0: a gap in sequence is no jitter", s.MaxDeltaMS, s.MaxJitterMS)
	}
	if math.Abs(s.LossPercent()-10) > 1e-9 {
		t.Errorf("loss %.2f%%, want 10%%", s.LossPercent())
	}
}

func TestStreamDuplicatesAndReorder(t *testing.T) {
	var s Stream
	feed(&s, []uint16{1, 2, 3, 3, 5, 4, 6}, nil)
	if s.Duplicates != 1 || s.OutOfOrder != 1 {
		t.Errorf("duplicates %d out of order %d, want 1 and 1", s.Duplicates, s.OutOfOrder)
	}
	if s.Lost() != -1 {
		t.Errorf("lost %d, want -1 (7 packets for 6 numbers, as Wireshark counts)", s.Lost())
	}
}

// One packet 10 ms late: D is 10 ms for it and the next (RFC 3550 §A.8),
// so J = 10/16 then 10/16 + (10 - 10/16)/16.
func TestStreamJitter(t *testing.T) {
	var s Stream
	feed(&s, []uint16{1, 2, 3, 4, 5}, map[int]float64{2: 10})
	j1 := 10.0 / 16
	j2 := j1 + (10-j1)/16
	j3 := j2 - j2/16
	if math.Abs(s.MaxJitterMS-j2) > 1e-9 {
		t.Errorf("max jitter %.6f, want %.6f", s.MaxJitterMS, j2)
	}
	want := (0 + j1 + j2 + j3) / 4
	if math.Abs(s.MeanJitterMS-want) > 1e-9 {
		t.Errorf("mean jitter %.6f, want %.6f", s.MeanJitterMS, want)
	}
}

// RFC 4733 events: a new event has a new timestamp; the end packet sent
// three times counts once.
func TestStreamDTMF(t *testing.T) {
	var s Stream
	s.MapPayload(101, "telephone-event", 8000)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := uint16(1)
	add := func(pt uint8, ts uint32, payload ...byte) {
		b := packet(pt, false, seq, ts, 9, payload...)
		var h Header
		Parse(b, &h)
		s.Add(t0.Add(time.Duration(seq)*20*time.Millisecond), &h, b[h.PayloadOffset:h.PayloadOffset+h.PayloadLen])
		seq++
	}
	add(0, 0)
	for _, ev := range []struct {
		code uint8
		ts   uint32
	}{{1, 160}, {11, 800}, {10, 1600}} {
		add(101, ev.ts, ev.code, 0x0a, 0, 160)
		add(101, ev.ts, ev.code, 0x8a, 1, 64)
		add(101, ev.ts, ev.code, 0x8a, 1, 64)
	}
	add(PayloadCN, 2000, 0x40)
	if got := s.Digits(); got != "1#*" {
		t.Errorf("digits %q, want 1#*", got)
	}
	if s.EventPackets != 9 || s.ComfortNoise != 1 {
		t.Errorf("events %d comfort noise %d, want 9 and 1", s.EventPackets, s.ComfortNoise)
	}
	if s.Codec(101) != "telephone-event" || s.Codec(8) != "PCMA" {
		t.Errorf("codec names %q %q", s.Codec(101), s.Codec(8))
	}
}

// The timeline keeps a fixed number of slices however long the stream.
func TestStreamTimelineFixed(t *testing.T) {
	var s Stream
	seqs := make([]uint16, 0, 10000)
	for i := range 10000 { // 200 s
		seqs = append(seqs, uint16(i))
	}
	feed(&s, seqs, nil)
	total := 0
	for _, b := range s.Timeline {
		total += b.Packets
	}
	if total != 10000 || s.BucketWidth < 4*time.Second {
		t.Errorf("timeline holds %d packets in %v slices", total, s.BucketWidth)
	}
}

func TestParseRTCP(t *testing.T) {
	sr := make([]byte, 28+24)
	sr[0], sr[1] = 0x81, TypeSR
	binary.BigEndian.PutUint16(sr[2:], uint16(len(sr)/4-1))
	binary.BigEndian.PutUint32(sr[4:], 0x1111)
	binary.BigEndian.PutUint32(sr[8:], 0xaabbccdd)  // NTP seconds
	binary.BigEndian.PutUint32(sr[12:], 0xeeff0011) // NTP fraction
	blk := sr[28:]
	binary.BigEndian.PutUint32(blk, 0x2222)
	blk[4] = 64                               // 25 % lost
	blk[5], blk[6], blk[7] = 0xff, 0xff, 0xfe // cumulative -2
	binary.BigEndian.PutUint32(blk[12:], 80)  // jitter 10 ms at 8 kHz
	binary.BigEndian.PutUint32(blk[16:], 0x1234)
	binary.BigEndian.PutUint32(blk[20:], 65536) // 1 s
	xr := make([]byte, 8+36)
	xr[0], xr[1] = 0x80, TypeXR
	binary.BigEndian.PutUint16(xr[2:], uint16(len(xr)/4-1))
	xr[8] = 7
	binary.BigEndian.PutUint16(xr[10:], 8)
	binary.BigEndian.PutUint32(xr[12:], 0x2222)
	xr[16] = 13 // loss rate
	xr[34] = 41 // MOS-LQ 4.1
	r, err := ParseRTCP(append(sr, xr...))
	if err != nil {
		t.Fatal(err)
	}
	b := r.Blocks[0]
	if !r.SR || r.SenderSSRC != 0x1111 || r.NTPMiddle != 0xccddeeff || r.NBlocks != 1 ||
		b.SSRC != 0x2222 || b.FractionLost != 64 || b.CumulativeLost != -2 || b.Jitter != 80 || b.LSR != 0x1234 || b.DLSR != 65536 {
		t.Errorf("decoded %+v", r)
	}
	if !r.HasXR || r.XR.SSRC != 0x2222 || r.XR.LossRate != 13 || r.XR.MOSLQ != 41 {
		t.Errorf("XR %+v", r.XR)
	}
	if r.Bye {
		t.Error("an SR and XR read as a BYE")
	}
	// The session member leaves (RFC 3550 §6.6): an SR and a BYE, and a
	// BYE sent alone, which names the leaving source itself.
	bye := []byte{0x81, TypeBYE, 0, 1, 0, 0, 0x33, 0x33}
	if r, err := ParseRTCP(append(sr[:len(sr):len(sr)], bye...)); err != nil || !r.Bye || r.SenderSSRC != 0x1111 || r.NBlocks != 1 {
		t.Errorf("SR+BYE: %+v (%v)", r, err)
	}
	if r, err := ParseRTCP(bye); err != nil || !r.Bye || r.SenderSSRC != 0x3333 {
		t.Errorf("BYE alone: bye %v, SSRC %#x (%v)", r.Bye, r.SenderSSRC, err)
	}
	if _, err := ParseRTCP([]byte{0x80, 200, 0, 99}); err == nil {
		t.Error("a length past the packet must fail")
	}
	if !IsRTCP(sr) || IsRTCP(packet(0, true, 1, 1, 1)) {
		t.Error("IsRTCP")
	}
}

// The E-model: G.711 without loss is about 4.4; loss lowers the score,
// G.729 more than G.711 for the same loss (G.113 Bpl).
func TestEstimateMOS(t *testing.T) {
	clean := EstimateMOS("PCMU", 0, 0, 0)
	if clean < 4.35 || clean > 4.45 {
		t.Errorf("clean G.711 MOS %.2f", clean)
	}
	prev := clean
	for _, loss := range []float64{1, 3, 5, 10, 20} {
		m := EstimateMOS("PCMA", loss, 5, 0)
		if m >= prev {
			t.Errorf("MOS at %.0f%% loss %.2f not below %.2f", loss, m, prev)
		}
		prev = m
		if g729 := EstimateMOS("G729", loss, 5, 0); g729 >= m {
			t.Errorf("G.729 at %.0f%% loss %.2f not below G.711 %.2f", loss, g729, m)
		}
	}
	if MOSFromR(-5) != 1 || MOSFromR(120) != 4.5 {
		t.Error("MOSFromR bounds")
	}
}

// A 2100 Hz tone in PCMA and a 1100 Hz one in PCMU are found; speech-like
// noise and silence are not.
func TestFaxTones(t *testing.T) {
	enc := func(freq float64, alawCoded bool, i int) []byte {
		p := make([]byte, 160)
		for j := range p {
			x := int16(8000 * math.Sin(2*math.Pi*freq*float64(i*160+j)/8000))
			p[j] = linearToG711(x, alawCoded)
		}
		return p
	}
	run := func(freq float64, pt uint8) string {
		var s Stream
		t0 := time.Unix(0, 0)
		for i := range 30 {
			payload := enc(freq, pt == PayloadPCMA, i)
			b := packet(pt, false, uint16(i), uint32(i*160), 5, payload...)
			var h Header
			Parse(b, &h)
			s.Add(t0.Add(time.Duration(i)*20*time.Millisecond), &h, b[h.PayloadOffset:])
		}
		return s.FaxTones()
	}
	if got := run(FreqCED, PayloadPCMA); got != "ced" {
		t.Errorf("2100 Hz in PCMA: %q", got)
	}
	if got := run(FreqCNG, PayloadPCMU); got != "cng" {
		t.Errorf("1100 Hz in PCMU: %q", got)
	}
	if got := run(440, PayloadPCMU); got != "" {
		t.Errorf("440 Hz: %q", got)
	}
	if got := run(0, PayloadPCMU); got != "" {
		t.Errorf("silence: %q", got)
	}
}

// linearToG711 encodes by searching the decoding table: slow, for tests.
func linearToG711(x int16, alawCoded bool) byte {
	table := &mulaw
	if alawCoded {
		table = &alaw
	}
	best, bestD := 0, math.MaxInt
	for i, v := range table {
		if d := int(v) - int(x); d*d < bestD {
			best, bestD = i, d*d
		}
	}
	return byte(best)
}

// Spot values of ITU-T G.711 tables 1 and 2.
func TestG711Tables(t *testing.T) {
	for _, tc := range []struct {
		got, want int16
	}{{mulaw[0xff], 0}, {mulaw[0x00], -32124}, {mulaw[0x80], 32124}, {mulaw[0x7e], -8}, {alaw[0xd5], 8}, {alaw[0x55], -8}, {alaw[0xaa], 32256}, {alaw[0x2a], -32256}} {
		if tc.got != tc.want {
			t.Errorf("%d, want %d", tc.got, tc.want)
		}
	}
}

// The MOS scale is 1 to 4.5 even where G.107's cubic dips below 1.
func TestMOSFromRBounds(t *testing.T) {
	for r := -10.0; r <= 110; r += 0.5 {
		if m := MOSFromR(r); m < 1 || m > 4.5 {
			t.Fatalf("R %.1f: MOS %.3f", r, m)
		}
	}
}

// sub is time's Sub, also for times centuries apart and for times whose
// seconds or nanoseconds go the other way.
func TestSubIsTimeSub(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := []time.Time{time.Unix(0, 0), time.Unix(1700000000, 999999999), time.Unix(-62135596800, 0), time.Unix(1<<40, 5), time.Unix(-1<<40, 7)}
	for range 200000 {
		a := base[rng.IntN(len(base))].Add(time.Duration(rng.Int64N(1<<62) - 1<<61))
		b := a.Add(time.Duration(rng.Int64N(1<<(10+rng.IntN(52))) - 1<<(8+rng.IntN(50))))
		if rng.IntN(4) == 0 {
			b = base[rng.IntN(len(base))]
		}
		if got, want := sub(a, b), a.Sub(b); got != want {
			t.Fatalf("sub(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
}

// toneSharesGoertzel is the reference toneShares is held to: two
// Goertzel filters (the recursion s[n] = x[n] + 2cos(w) s[n-1] - s[n-2])
// over the samples, with the energy summed in floats.
func toneSharesGoertzel(payload []byte, alawCoded bool) (cng, ced float64) {
	table := &mulaw
	if alawCoded {
		table = &alaw
	}
	c1, c2 := 2*math.Cos(2*math.Pi*FreqCNG/8000), 2*math.Cos(2*math.Pi*FreqCED/8000)
	var a1, a2, b1, b2, energy float64
	for _, v := range payload {
		x := float64(table[v])
		energy += x * x
		a1, a2 = x+c1*a1-a2, a1
		b1, b2 = x+c2*b1-b2, b1
	}
	n := float64(len(payload))
	if energy < n*100*100 {
		return 0, 0
	}
	norm := energy * n / 2
	return (a1*a1 + a2*a2 - c1*a1*a2) / norm, (b1*b1 + b2*b2 - c2*b1*b2) / norm
}

// toneShares gives the Goertzel filters' shares, to 1e-9, on quiet and
// loud payloads, noise and tones, at the quiet threshold too (the energy
// is summed in integers there, exactly).
func TestToneSharesMatchGoertzel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	quiet, tones := 0, 0
	for i := range 6000 {
		alawCoded := i%2 == 1
		p := make([]byte, 80+rng.IntN(400))
		amp := rng.IntN(300)
		freq := [...]float64{0, FreqCNG, FreqCED, 1700}[i%4]
		for j := range p {
			v := float64(rng.IntN(2*amp+1) - amp)
			if freq != 0 {
				v = float64(amp*20) * math.Sin(2*math.Pi*freq/8000*float64(j)+float64(i))
			}
			p[j] = linearToG711(int16(v), alawCoded)
		}
		if i%7 == 0 {
			p = p[:len(p)/2] // odd lengths, other sums
		}
		c, d := toneShares(p, alawCoded)
		wc, wd := toneSharesGoertzel(p, alawCoded)
		if math.Abs(c-wc) > 1e-9 || math.Abs(d-wd) > 1e-9 || (c == 0) != (wc == 0) {
			t.Fatalf("payload %d: %v %v, want %v %v", i, c, d, wc, wd)
		}
		if c == 0 && d == 0 {
			quiet++
		}
		if c > 0.6 || d > 0.6 {
			tones++
		}
	}
	if quiet < 600 || quiet > 5400 || tones < 600 {
		t.Errorf("%d of 6000 payloads quiet, %d tones: the test misses a case", quiet, tones)
	}
}

// The timeline puts each packet in the slice its time divided by the
// slice width says, as the width doubles, for times that go back, jump
// ahead or repeat: the slice of the packet before, asked first, is only
// taken when the division would give it too.
func TestTimelineSlices(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for run := range 200 {
		var s Stream
		var ref [TimelineBuckets]int
		width := time.Second
		t0 := time.Unix(1700000000, 0)
		at := t0
		for i := range 3000 {
			switch r := rng.IntN(100); {
			case r < 80:
				at = at.Add(20 * time.Millisecond)
			case r < 88:
				at = at.Add(-time.Duration(rng.Int64N(int64(3 * time.Second))))
			case r < 95:
				at = at.Add(time.Duration(rng.Int64N(int64(time.Minute) << uint(run%8))))
			}
			if run%2 == 0 { // on the 20 ms grid: packets fall on the slices' bounds
				at = t0.Add(at.Sub(t0) / (20 * time.Millisecond) * (20 * time.Millisecond))
			}
			var h Header
			b := packet(PayloadPCMU, false, uint16(i), uint32(i*160), 7)
			Parse(b, &h)
			s.Add(at, &h, b[h.PayloadOffset:])
			since := at.Sub(s.First)
			idx := int(since / width)
			for idx >= TimelineBuckets {
				for j := range TimelineBuckets / 2 {
					ref[j] = ref[2*j] + ref[2*j+1]
				}
				clear(ref[TimelineBuckets/2:])
				width *= 2
				idx = int(since / width)
			}
			if idx >= 0 {
				ref[idx]++
			}
		}
		if s.BucketWidth != width {
			t.Fatalf("run %d: width %v, want %v", run, s.BucketWidth, width)
		}
		for j := range ref {
			if s.Timeline[j].Packets != ref[j] {
				t.Fatalf("run %d: slice %d holds %d packets, want %d", run, j, s.Timeline[j].Packets, ref[j])
			}
		}
	}
}

// BenchmarkToneShares measures the fax tone check on a 20 ms G.711 payload
// of CNG, against the Goertzel filters it replaced.
func BenchmarkToneShares(b *testing.B) {
	p := make([]byte, 160)
	for j := range p {
		p[j] = linearToG711(int16(6000*math.Sin(2*math.Pi*FreqCNG/8000*float64(j))), false)
	}
	b.Run("tables", func(b *testing.B) {
		for b.Loop() {
			toneShares(p, false)
		}
	})
	b.Run("goertzel", func(b *testing.B) {
		for b.Loop() {
			toneSharesGoertzel(p, false)
		}
	})
}
