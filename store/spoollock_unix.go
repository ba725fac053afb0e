//go:build unix

package store

import (
	"os"
	"syscall"
)

// lockSpool takes the spool directory's lock file for this process alone
// (flock, released by the kernel when the process ends), failing at once
// when another process holds it.
func lockSpool(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
