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

// setReadBuffer asks for a receive buffer of n bytes. The kernel caps what
// SetReadBuffer gets at net.core.rmem_max (often 208 KB or 4 MB: a few
// milliseconds of a busy collector's datagrams); a collector allowed to
// (CAP_NET_ADMIN) takes n past that cap with SO_RCVBUFFORCE, so a burst,
// or a moment the machine gives the receiver no CPU, is held instead of
// dropped.
func setReadBuffer(conn *net.UDPConn, n int) {
	conn.SetReadBuffer(n)
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		// Linux reports twice what was asked for (its bookkeeping).
		if got, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil && got < 2*n {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) // refused without the capability: the capped buffer stays
		}
	})
}

// readBuffer returns the receive buffer the kernel gave conn, in bytes
// it counts against it.
func readBuffer(conn *net.UDPConn) int {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
	return n
}
