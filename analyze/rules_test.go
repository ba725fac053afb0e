package analyze

import (
	"path/filepath"
	"testing"

	"github.com/sipcause/sipcause/catalog"
)

// Every rule of the verdict table decides at least one call of the
// hand-written cases, so a rule that can no longer fire (shadowed by one
// above it, or its condition broken) fails here rather than sitting in
// the table unread.
func TestEveryVerdictRuleFires(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatal("no cases", err)
	}
	fired := map[string][]string{}
	for _, f := range files {
		r := analyzeFiles(t, catalog.English, f)
		for _, c := range r.Calls {
			if c.rule != "" {
				fired[c.rule] = append(fired[c.rule], c.CallID)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range callRules {
		if seen[r.name] {
			t.Errorf("two rules named %q", r.name)
		}
		seen[r.name] = true
		if len(fired[r.name]) == 0 {
			t.Errorf("rule %q decided no call of testdata/cases", r.name)
		}
	}
	for name := range fired {
		if !seen[name] {
			t.Errorf("a call was decided by %q, which is not in the table", name)
		}
	}
}
