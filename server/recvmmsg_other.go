//go:build !linux

package server

import (
	"net"

	"golang.org/x/net/ipv4"
)

// newBatchReader returns a function that reads datagrams from conn into
// msgs, as many as one call of x/net's ReadBatch reads (one, off Linux).
func newBatchReader(conn *net.UDPConn, msgs []ipv4.Message) func() (int, error) {
	pc := ipv4.NewPacketConn(conn)
	return func() (int, error) { return pc.ReadBatch(msgs, 0) }
}
