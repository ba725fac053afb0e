package catalog

import (
	"os"
	"reflect"
	"testing"

	"github.com/sipcause/sipcause/internal/yamltables"
)

// decodeYAML reads a file of data/ as the knowledge base is written:
// unknown fields are errors.
func decodeYAML(t *testing.T, name string, v any) {
	t.Helper()
	if err := yamltables.Decode(os.DirFS("."), "data/"+name, v); err != nil {
		t.Fatal(err)
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
	if sum, err := yamltables.Sum(dataFS); err != nil || sum != tablesSum {
		t.Errorf("data/*.yaml has checksum %08x (%v), the tables were made from %08x: run go generate ./catalog/", sum, err, tablesSum)
	}
}

// Tables made from other files than the embedded ones are not used: the
// files are decoded instead, and the catalog is the same.
func TestStaleTablesAreNotUsed(t *testing.T) {
	fresh, err := loadFor(tablesSum)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := loadFor(tablesSum + 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh, stale) {
		t.Error("the catalog decoded from the YAML differs from the one built from the tables")
	}
	if len(stale.codes) > 0 && len(codesTable) > 0 && &stale.codes[0].RFC[0] == &codesTable[0].RFC[0] {
		t.Error("a stale checksum still built the catalog from the tables")
	}
}

// Building the catalog from the tables, with the checksum of the files,
// takes well under a millisecond, where decoding the YAML takes 9 ms.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := load(); err != nil {
			b.Fatal(err)
		}
	}
}
