package analyze

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Go tables a run starts from are the YAML files, decoded afresh: a
// text edited without go generate fails here.
func TestTextTablesMatchYAML(t *testing.T) {
	for _, c := range []struct {
		file string
		v    any // a pointer to decode into
		gen  any
	}{
		{"findings.yaml", &[]FindingText{}, findingsTable},
		{"media.yaml", &[]FindingText{}, mediaFindingsTable},
		{"phrases.yaml", &[]Phrase{}, phrasesTable},
		{"media_phrases.yaml", &[]Phrase{}, mediaPhrasesTable},
	} {
		b, err := os.ReadFile("data/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(c.v); err != nil {
			t.Fatalf("data/%s: %v", c.file, err)
		}
		if got := reflect.ValueOf(c.v).Elem().Interface(); !reflect.DeepEqual(got, c.gen) {
			t.Errorf("data/%s differs from texts_gen.go: run go generate ./analyze/", c.file)
		}
		if reflect.ValueOf(c.gen).Len() < 5 {
			t.Errorf("data/%s: only %d entries", c.file, reflect.ValueOf(c.gen).Len())
		}
	}
}
