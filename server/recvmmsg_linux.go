package server

import (
	"net"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of recvmmsg(2): a message header and the
// length the kernel received into it.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// newBatchReader returns a function that reads up to len(msgs) datagrams
// from conn with one recvmmsg system call into msgs' buffers (one each)
// and control buffers, setting N and NN of each message read, and returns
// how many it read. The headers are built once: x/net's ReadBatch builds
// them on each call and makes each sender's address a net.Addr, an
// allocation per datagram that the HEP receiver never looks at (HEP names
// the addresses itself).
func newBatchReader(conn *net.UDPConn, msgs []ipv4.Message) func() (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil || len(msgs) == 0 {
		pc := ipv4.NewPacketConn(conn)
		return func() (int, error) { return pc.ReadBatch(msgs, 0) }
	}
	hdrs := make([]mmsghdr, len(msgs))
	iovs := make([]unix.Iovec, len(msgs))
	for i := range msgs {
		b := msgs[i].Buffers[0]
		iovs[i].Base = unsafe.SliceData(b)
		iovs[i].SetLen(len(b))
		hdrs[i].hdr.Iov = &iovs[i]
		hdrs[i].hdr.SetIovlen(1)
		if len(msgs[i].OOB) > 0 {
			hdrs[i].hdr.Control = unsafe.SliceData(msgs[i].OOB)
		}
	}
	var n int
	var errno unix.Errno
	recv := func(fd uintptr) bool {
		for i := range hdrs {
			// The kernel sets these to what it filled in.
			hdrs[i].hdr.SetControllen(len(msgs[i].OOB))
			hdrs[i].hdr.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // nothing yet: wait for the socket to be readable
		}
		n, errno = int(r), e
		return true
	}
	return func() (int, error) {
		n, errno = 0, 0
		if err := rc.Read(recv); err != nil {
			return 0, err
		}
		if errno != 0 {
			return 0, errno
		}
		for i := range n {
			msgs[i].N, msgs[i].NN = int(hdrs[i].n), int(hdrs[i].hdr.Controllen)
		}
		return n, nil
	}
}
