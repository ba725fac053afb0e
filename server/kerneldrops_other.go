//go:build !linux

package server

import "net"

// watchKernelDrops: only Linux reports socket drops with each datagram.
func watchKernelDrops(*net.UDPConn) bool { return false }

func kernelDrops([]byte) (uint32, bool) { return 0, false }

// setReadBuffer asks for a receive buffer of n bytes.
func setReadBuffer(conn *net.UDPConn, n int) { conn.SetReadBuffer(n) }

// readBuffer: unknown here.
func readBuffer(*net.UDPConn) int { return 0 }
