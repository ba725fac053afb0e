package server

import (
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"
)

// watchKernelDrops asks the kernel to report, with each datagram, how many
// it dropped on this socket because the receive buffer was full
// (SO_RXQ_OVFL, Linux): a flood the collector never saw is counted too.
func watchKernelDrops(conn *net.UDPConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) == nil
	})
	return ok
}

// kernelDrops reads the SO_RXQ_OVFL count from a datagram's control
// messages: the drops on the socket so far.
func kernelDrops(oob []byte) (uint32, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}
