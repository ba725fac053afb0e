package capture

import (
	"bytes"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func benchmarkRead(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := Open("bench", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

func benchmarkShared(b *testing.B, name string) {
	data, err := os.ReadFile(filepath.Join(sharedCaptures, name))
	if err != nil {
		sharedtest.Missing(b, filepath.Join(sharedCaptures, name), err)
	}
	benchmarkRead(b, data)
}

// BenchmarkReadUDP reads a SIPp load run: 8989 SIP messages over UDP.
func BenchmarkReadUDP(b *testing.B) {
	benchmarkShared(b, "goffinet-sip_captures__branch-scenario-sipp.pcapng")
}

// BenchmarkReadTCP reads SIP split across TCP segments.
func BenchmarkReadTCP(b *testing.B) {
	benchmarkShared(b, "heplify__sip_ipv4_tcp_fragmented.pcap")
}

// BenchmarkReadRTP reads a capture that is mostly RTP: the cost of frames
// that carry no SIP.
func BenchmarkReadRTP(b *testing.B) {
	benchmarkShared(b, "heplify__rtp_rtcp_sip_ipv4_udp.pcap")
}

// BenchmarkReadSynthetic reads the generated captures, for machines without
// the shared data.
func BenchmarkReadSynthetic(b *testing.B) {
	data := synthCaptures(b)["tcp-reorder"]
	benchmarkRead(b, data)
}
