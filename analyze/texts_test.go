package analyze

import (
	"reflect"
	"testing"

	"github.com/sipcause/sipcause/internal/yamltables"
)

// The Go tables a run starts from are the YAML files, decoded afresh: a
// text edited without go generate fails here.
func TestTextTablesMatchYAML(t *testing.T) {
	files, err := decodeTexts()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file      string
		yaml, gen any
	}{
		{"findings.yaml", files.findings, findingsTable},
		{"media.yaml", files.media, mediaFindingsTable},
		{"phrases.yaml", files.phrases, phrasesTable},
		{"media_phrases.yaml", files.mediaPhrases, mediaPhrasesTable},
	} {
		if !reflect.DeepEqual(c.yaml, c.gen) {
			t.Errorf("data/%s differs from texts_gen.go: run go generate ./analyze/", c.file)
		}
		if reflect.ValueOf(c.gen).Len() < 5 {
			t.Errorf("data/%s: only %d entries", c.file, reflect.ValueOf(c.gen).Len())
		}
	}
	if sum, err := yamltables.Sum(textsFS); err != nil || sum != tablesSum {
		t.Errorf("data/*.yaml has checksum %08x (%v), the tables were made from %08x: run go generate ./analyze/", sum, err, tablesSum)
	}
}

// Tables made from other files than the embedded ones are not used: the
// files are decoded instead.
func TestStaleTextTablesAreNotUsed(t *testing.T) {
	fresh, err := textsFor(tablesSum)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := textsFor(tablesSum + 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh, stale) {
		t.Error("the texts decoded from the YAML differ from the tables")
	}
	if &fresh.findings[0] != &findingsTable[0] || &stale.findings[0] == &findingsTable[0] {
		t.Error("the tables were not used with their own checksum, or used with another")
	}
}
