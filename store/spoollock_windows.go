//go:build windows

package store

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockSpool takes the spool directory's lock file for this process alone
// (LockFileEx, released by Windows when the process ends), failing at once
// when another process holds it.
func lockSpool(f *os.File) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}
