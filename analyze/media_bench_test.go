package analyze

import (
	"net/netip"
	"testing"
	"time"
)

// mediaLoad is RTP as a busy capture point sees it: calls streams at
// once, each a G.711 stream (payload type 8, 20 ms, 160 bytes) from one
// port to another, their packets interleaved in time, n packets each.
func mediaLoad(calls, n int) []MediaPacket {
	t0 := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i * 7) // some audio, not silence
	}
	var out []MediaPacket
	for i := range n {
		for c := range calls {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(c >> 8), byte(c)}), uint16(4000+2*c))
			dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(c)}), uint16(20000+2*c))
			out = append(out, MediaPacket{Frame: len(out) + 1, Time: t0.Add(time.Duration(i)*20*time.Millisecond + time.Duration(c)*time.Microsecond),
				Src: src, Dst: dst, Data: rtpPacket(8, uint16(i), uint32(i*160), uint32(0x1000+c), payload)})
		}
	}
	return out
}

func benchmarkAddMedia(b *testing.B, calls, n int) {
	pkts := mediaLoad(calls, n)
	b.ReportAllocs()
	for b.Loop() {
		a := New(Options{})
		a.EnableMedia()
		feedCall(b, a, pkts[0].Time.Add(-time.Second))
		for i := range pkts {
			a.AddMedia(&pkts[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pkts)), "ns/pkt")
}

// BenchmarkAddMedia is the analyzer's cost per RTP packet on one stream
// each way of a call of 160 s (8000 packets each way): the common case of
// a capture on a phone or a small PBX, and of bench/media.sh.
func BenchmarkAddMedia(b *testing.B) { benchmarkAddMedia(b, 2, 8000) }

// BenchmarkAddMediaMany is the cost per RTP packet with 400 streams
// interleaved, as on a busy SBC: consecutive packets belong to different
// streams.
func BenchmarkAddMediaMany(b *testing.B) { benchmarkAddMedia(b, 400, 500) }

// Once a stream is known, a packet of it allocates nothing: a capture of
// millions of RTP packets must not turn into garbage.
func TestAddMediaAllocs(t *testing.T) {
	pkts := mediaLoad(50, 200)
	a := New(Options{})
	a.EnableMedia()
	feedCall(t, a, pkts[0].Time.Add(-time.Second))
	for i := range pkts[:100] { // every stream seen
		a.AddMedia(&pkts[i])
	}
	i := 100
	if n := testing.AllocsPerRun(len(pkts)-101, func() { a.AddMedia(&pkts[i]); i++ }); n != 0 {
		t.Errorf("AddMedia allocates %.2f times per packet of a known stream, want 0", n)
	}
}
