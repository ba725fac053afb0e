//go:build !linux

package server

import "net"

// watchKernelDrops: only Linux reports socket drops with each datagram.
func watchKernelDrops(*net.UDPConn) bool { return false }

func kernelDrops([]byte) (uint32, bool) { return 0, false }
