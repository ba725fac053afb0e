package capture

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

func TestDebugDump(t *testing.T) {
	f := os.Getenv("DUMP")
	if f == "" {
		t.Skip()
	}
	pkts, integ, err := readAll(t, f)
	for _, p := range pkts {
		line, _, _ := bytes.Cut(p.Payload, []byte("\r\n"))
		fmt.Printf("%d %s %s>%s %s %s %q\n", p.Frame, p.Time.Format("15:04:05.000000"), p.Src, p.Dst, p.Transport, p.Encap, line)
	}
	fmt.Printf("%+v %v\n", integ, err)
}
