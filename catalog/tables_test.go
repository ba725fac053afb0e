package catalog

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// decodeYAML reads a file of data/ as the knowledge base is written:
// unknown fields are errors.
func decodeYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("data/" + name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("data/%s: %v", name, err)
	}
}

// The Go tables a run starts from are the YAML files, decoded afresh: a
// file edited without go generate fails here, field by field.
func TestTablesMatchYAML(t *testing.T) {
	var codes []Code
	decodeYAML(t, "codes.yaml", &codes)
	var q struct {
		Causes  []Cause   `yaml:"causes"`
		ToSIP   []Mapping `yaml:"to_sip"`
		FromSIP []Mapping `yaml:"from_sip"`
	}
	decodeYAML(t, "q850.yaml", &q)
	var warnings []WarnCode
	decodeYAML(t, "warnings.yaml", &warnings)
	var hdrs []CauseHeader
	decodeYAML(t, "causeheaders.yaml", &hdrs)
	var phrases []WirePhrase
	decodeYAML(t, "phrases.yaml", &phrases)
	for _, c := range []struct {
		name      string
		yaml, gen any
	}{
		{"codes.yaml", codes, codesTable},
		{"q850.yaml causes", q.Causes, causesTable},
		{"q850.yaml to_sip", q.ToSIP, toSIPTable},
		{"q850.yaml from_sip", q.FromSIP, fromSIPTable},
		{"warnings.yaml", warnings, warningsTable},
		{"causeheaders.yaml", hdrs, causeHeadersTable},
		{"phrases.yaml", phrases, wirePhrasesTable},
	} {
		if !reflect.DeepEqual(c.yaml, c.gen) {
			t.Errorf("data/%s differs from tables_gen.go: run go generate ./catalog/", c.name)
		}
	}
	if len(codes) < 50 || len(q.Causes) < 50 {
		t.Fatalf("%d codes and %d causes decoded: the data is incomplete", len(codes), len(q.Causes))
	}
}

// Building the catalog from the tables takes no decoding: well under a
// millisecond, where decoding the YAML took 9 ms of every run.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := load(); err != nil {
			b.Fatal(err)
		}
	}
}
