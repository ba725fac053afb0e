package analyze

import (
	"path/filepath"
	"testing"

	"github.com/sipcause/sipcause/catalog"
)

// Every rule of the verdict tables (callRules, regRules) decides at least
// one call or registration of the hand-written cases, so a rule that can
// no longer fire (shadowed by one above it, or its condition broken)
// fails here rather than sitting in the table unread.
func TestEveryVerdictRuleFires(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatal("no cases", err)
	}
	fired := map[string]int{}
	for _, f := range files {
		r := analyzeFiles(t, catalog.English, f)
		for _, c := range r.Calls {
			if c.rule != "" {
				fired[c.rule]++
			}
		}
		for _, g := range r.Registrations {
			if g.rule != "" {
				fired[g.rule]++
			}
		}
	}
	var names []string
	for _, r := range callRules {
		names = append(names, r.name)
	}
	for _, r := range regRules {
		names = append(names, r.name)
	}
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			t.Errorf("two rules named %q", name)
		}
		seen[name] = true
		if fired[name] == 0 {
			t.Errorf("rule %q decided nothing in testdata/cases", name)
		}
	}
	for name := range fired {
		if !seen[name] {
			t.Errorf("something was decided by %q, which is in no table", name)
		}
	}
}
