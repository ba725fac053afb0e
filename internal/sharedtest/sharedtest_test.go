package sharedtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingChild is run by TestMissing in a child process.
func TestMissingChild(t *testing.T) {
	if os.Getenv("SHAREDTEST_CHILD") == "" {
		t.Skip("run by TestMissing")
	}
	Missing(t, "../../../no-such-shared/captures", errors.New("no such file"))
}

// TestMissing runs TestMissingChild without and with CI=true: the first
// skips and names the absolute directory, the second fails.
func TestMissing(t *testing.T) {
	want, _ := filepath.Abs("../../../no-such-shared/captures")
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingChild$", "-test.v")
		cmd.Env = append(os.Environ(), "SHAREDTEST_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		s := string(out)
		if !strings.Contains(s, want) {
			t.Errorf("CI=%q: output does not name %s:\n%s", ci, want, s)
		}
		if ci == "" && (err != nil || !strings.Contains(s, "--- SKIP")) {
			t.Errorf("without CI: want a skip, got err=%v\n%s", err, s)
		}
		if ci == "true" && (err == nil || !strings.Contains(s, "--- FAIL")) {
			t.Errorf("CI=true: want a failure, got err=%v\n%s", err, s)
		}
	}
}
