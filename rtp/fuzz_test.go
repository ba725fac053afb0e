package rtp

import (
	"testing"
	"time"
)

// FuzzParse: no input may panic; a parsed header stays within the packet,
// and a stream fed with it stays consistent.
func FuzzParse(f *testing.F) {
	f.Add(packet(0, false, 1, 160, 42))
	f.Add(packet(101, true, 65535, 0, 1, 1, 10, 0, 160))
	f.Add([]byte{0xbf, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		err := Parse(b, &h)
		if err != nil {
			return
		}
		if h.PayloadOffset < 12 || h.PayloadLen < 0 || h.PayloadOffset+h.PayloadLen > len(b) {
			t.Fatalf("payload %d+%d outside %d bytes", h.PayloadOffset, h.PayloadLen, len(b))
		}
		var s Stream
		s.MapPayload(h.PayloadType, "telephone-event", 0)
		for i := range 3 {
			s.Add(time.Unix(int64(i), 0), &h, b[h.PayloadOffset:h.PayloadOffset+h.PayloadLen])
		}
		if s.Packets != 3 || s.ndigits > maxDigits {
			t.Fatal("stream state")
		}
	})
}

// FuzzParseRTCP: no input may panic or report more blocks than it keeps.
func FuzzParseRTCP(f *testing.F) {
	f.Add([]byte{0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 64, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 207, 0, 10, 0, 0, 0, 1, 7, 0, 0, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRTCP(b)
		if err == nil && (r.NBlocks < 0 || r.NBlocks > maxBlocks) {
			t.Fatalf("%d blocks", r.NBlocks)
		}
	})
}

// FuzzParseQoSReport: no input may panic, and what is read stays within
// its bounds.
func FuzzParseQoSReport(f *testing.F) {
	f.Add([]byte(rtpAgentFull))
	f.Add([]byte(`{"TOTAL_PACKETS":1,"SSRC":"0x1","MOS":"439","SRC_IP":"::1","SRC_PORT":"5"}`))
	f.Add([]byte(`{"CUM_PACKET_LOSS":null,"MEAN_JITTER":"1e3","CODEC_NAME":"\u0000pcmu"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseQoSReport(b)
		if err != nil {
			return
		}
		if len(r.CallID) > maxQoSCallID || len(r.Codec) > maxQoSCodec || r.MOS != 0 && (r.MOS < 1 || r.MOS > 5) ||
			r.MaxJitterMS > maxQoSMS || r.MeanJitterMS > maxQoSMS || r.PayloadType > 127 || r.PayloadType < -1 {
			t.Fatalf("out of bounds: %+v", r)
		}
	})
}
