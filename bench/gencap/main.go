// Command gencap writes a synthetic SIP capture for the benchmarks:
//
//	go run ./bench/gencap -mb 100 -o /tmp/big.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/sipcause/sipcause/internal/synth"
)

func main() {
	mb := flag.Int("mb", 100, "approximate size in MiB")
	out := flag.String("o", "synthetic.pcap", "output file")
	seed := flag.Uint64("seed", 1, "random seed")
	rtp := flag.Bool("rtp", false, "add the RTP media of answered calls")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := synth.Write(bw, synth.Options{Bytes: int64(*mb) << 20, Seed: *seed, RTP: *rtp})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gencap: %s: %d packets (%d RTP), %d calls, %d registrations, %d bytes\n", *out, st.Packets, st.RTPPackets, st.Calls, st.Registrations, st.Bytes)
}
