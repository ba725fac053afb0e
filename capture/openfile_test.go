package capture

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestOpenFile reads a gzip-compressed pcap from disk, whatever its name.
func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.dat")
	data := gzipBytes(writePcap(t, layers.LinkTypeEthernet, true, basicCall(udpEthFrame)))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.File != path {
			t.Errorf("File = %q, want %q", p.File, path)
		}
		n++
	}
	if want := synthStart.Add(2 * ms); !r.LastFrameTime().Equal(want) {
		t.Errorf("LastFrameTime = %v, want %v", r.LastFrameTime(), want)
	}
	if n != 3 || r.Format() != "pcap" {
		t.Errorf("%d packets from %s, want 3 from pcap", n, r.Format())
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile(missing) = %v, want not-exist", err)
	}
}
