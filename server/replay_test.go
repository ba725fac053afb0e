package server

import (
	"bytes"
	"encoding/binary"
	"github.com/sipcause/sipcause/internal/sharedtest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const sharedCaptures = "../../shared/testdata/captures"

func sharedCapture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(sharedCaptures, name)
	if _, err := os.Stat(p); err != nil {
		sharedtest.Missing(t, p, err)
	}
	return p
}

// hepPackets reads the HEP packets a capture carries, as they were sent:
// UDP payloads, and HEP3 packets cut from TCP streams by their length.
func hepPackets(t testing.TB, file string) [][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type frameReader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var rd frameReader
	var link layers.LinkType
	if r, err := pcapgo.NewReader(f); err == nil {
		rd, link = r, r.LinkType()
	} else {
		f.Seek(0, 0)
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: neither pcap nor pcapng: %v", file, err)
		}
		rd, link = r, r.LinkType()
	}
	var out [][]byte
	streams := map[gopacket.Flow]*bytes.Buffer{}
	for {
		data, _, err := rd.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, link, gopacket.Default)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			out = append(out, bytes.Clone(u.Payload))
			continue
		}
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || len(tcp.Payload) == 0 || p.NetworkLayer() == nil {
			continue
		}
		key := p.NetworkLayer().NetworkFlow()
		buf := streams[key]
		if buf == nil {
			buf = &bytes.Buffer{}
			streams[key] = buf
		}
		buf.Write(tcp.Payload)
		for buf.Len() >= 6 && string(buf.Bytes()[:4]) == "HEP3" {
			n := int(binary.BigEndian.Uint16(buf.Bytes()[4:]))
			if n < 6 || buf.Len() < n {
				break
			}
			out = append(out, bytes.Clone(buf.Next(n)))
		}
	}
	return out
}
