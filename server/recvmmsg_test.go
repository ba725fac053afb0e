package server

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// TestBatchReader: datagrams of any size up to the largest are read whole,
// in order, several per call; on Linux without an allocation per read.
// (The kernel's control messages carry a drop count only once it drops:
// TestKernelDrops reads them.)
func TestBatchReader(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	setReadBuffer(conn, 1<<20)
	watchKernelDrops(conn)
	msgs := make([]ipv4.Message, 4)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
		msgs[i].OOB = make([]byte, 64)
	}
	read := newBatchReader(conn, msgs)
	out, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var sent [][]byte
	for i, n := range []int{1, 300, 65507, 0, 4000, 7} {
		d := bytes.Repeat([]byte{byte('a' + i)}, n)
		if _, err := out.Write(d); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, d)
	}
	var got [][]byte
	calls := 0
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < len(sent) {
		n, err := read()
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		calls++
		for _, m := range msgs[:n] {
			got = append(got, bytes.Clone(m.Buffers[0][:m.N]))
			if m.NN < 0 || m.NN > len(m.OOB) {
				t.Errorf("datagram %d: %d bytes of control messages in %d", len(got), m.NN, len(m.OOB))
			}
		}
	}
	for i := range sent {
		if !bytes.Equal(got[i], sent[i]) {
			t.Errorf("datagram %d: %d bytes read, %d sent", i, len(got[i]), len(sent[i]))
		}
	}
	if runtime.GOOS == "linux" && calls >= len(sent) {
		t.Errorf("%d datagrams took %d reads; want several per read", len(sent), calls)
	}
	if runtime.GOOS != "linux" {
		return
	}
	allocs := testing.AllocsPerRun(50, func() {
		for range len(msgs) {
			out.Write(sent[1])
		}
		for left := len(msgs); left > 0; {
			n, err := read()
			if err != nil {
				t.Fatal(err)
			}
			left -= n
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per batch read; want none", allocs)
	}
}

// BenchmarkBatchFill copies a read of 64 datagrams of 400 bytes into a
// batch new from the pool, as after a garbage collection emptied it: one
// allocation for the arena, not one per doubling.
func BenchmarkBatchFill(b *testing.B) {
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bytes.Repeat([]byte{'x'}, 400)}
		msgs[i].N = 400
	}
	b.ReportAllocs()
	for b.Loop() {
		bt := new(batch)
		bt.fill(msgs, time.Time{})
	}
}
