// Package sharedtest is for tests only: it finds the project's shared
// folder of real captures and reference tables, which lives beside the
// repository (../shared), and decides what a test does when it is absent.
// Without CI the test skips and names the directory it looked for; under
// CI=true a missing folder fails the test, so that a CI run cannot pass
// by skipping every test that reads real data.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Missing is called by a test that could not open rel (a path relative to
// the package directory, as the test used it) because of err. It skips
// the test, naming the absolute directory it looked in, or fails it under
// CI=true. It never returns.
func Missing(tb testing.TB, rel string, err error) {
	tb.Helper()
	abs, aerr := filepath.Abs(rel)
	if aerr != nil {
		abs = rel
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s: %v (CI=true: the shared folder beside the repository is required)", abs, err)
	}
	tb.Skipf("%s not found (%v): the shared folder is not beside the repository", abs, err)
}
