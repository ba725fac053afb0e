package analyze

import (
	"embed"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sipcause/sipcause/internal/yamltables"
)

// The texts are the YAML files under data/; texts_gen.go holds them as Go
// tables, so that no run spends its start decoding YAML. The tables carry
// the checksum of the files they were made from: when a file was edited
// without go generate, the files are decoded instead, so that what sipcause
// says never depends on go generate (and TestTextTablesMatchYAML fails).
//
//go:generate go run ../internal/gentables analyze
//go:embed data/*.yaml
var textsFS embed.FS

// textFiles are the entries of the four files.
type textFiles struct {
	findings, media       []FindingText
	phrases, mediaPhrases []Phrase
}

// textTables are the four files' entries: from texts_gen.go when its
// checksum is the embedded files', else decoded from them.
var textTables = sync.OnceValues(func() (textFiles, error) { return textsFor(tablesSum) })

// textsFor is textTables with the checksum the tables were made for.
func textsFor(made uint32) (textFiles, error) {
	if sum, err := yamltables.Sum(textsFS); err == nil && sum == made {
		return textFiles{findingsTable, mediaFindingsTable, phrasesTable, mediaPhrasesTable}, nil
	}
	return decodeTexts()
}

// decodeTexts reads the four YAML files themselves.
func decodeTexts() (t textFiles, err error) {
	for _, f := range []struct {
		name string
		v    any
	}{
		{"data/findings.yaml", &t.findings}, {"data/media.yaml", &t.media},
		{"data/phrases.yaml", &t.phrases}, {"data/media_phrases.yaml", &t.mediaPhrases},
	} {
		if err := yamltables.Decode(textsFS, f.name, f.v); err != nil {
			return t, fmt.Errorf("analyze: %w", err)
		}
	}
	return t, nil
}

// FindingText is the entry of one finding id in data/findings.yaml: its
// severity and its texts in English and Dutch, with {placeholders} that the
// finding's Values and Parts fill. The analyzer only uses the severity; the
// report package renders the texts in the language the reader asks for.
type FindingText struct {
	ID       string   `yaml:"id"`
	Severity string   `yaml:"severity"`
	EN       string   `yaml:"en"`
	NL       string   `yaml:"nl"`
	AdviceEN []string `yaml:"advice_en"`
	AdviceNL []string `yaml:"advice_nl"`
}

// Phrase is one entry of data/phrases.yaml: a short piece of text that a
// finding's Parts, a host's role reason or a summary refer to by id. One
// is used when the phrase's "n" value is 1 and the entry has a singular
// form.
type Phrase struct {
	ID    string `yaml:"id"`
	EN    string `yaml:"en"`
	NL    string `yaml:"nl"`
	OneEN string `yaml:"one_en"`
	OneNL string `yaml:"one_nl"`
}

// byID indexes the entries of tables (each from the file of the same
// index) by id; an id twice is an error naming its file.
func byID[T any](files []string, tables [][]T, id func(*T) string) (map[string]T, error) {
	m := map[string]T{}
	for i, list := range tables {
		for j := range list {
			k := id(&list[j])
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("analyze: %s: id %q twice", files[i], k)
			}
			m[k] = list[j]
		}
	}
	return m, nil
}

// The media findings (RTP, RTCP) and their phrases are kept in files of
// their own.
var findingTexts = sync.OnceValues(func() (map[string]FindingText, error) {
	t, err := textTables()
	if err != nil {
		return nil, err
	}
	return byID([]string{"data/findings.yaml", "data/media.yaml"}, [][]FindingText{t.findings, t.media},
		func(f *FindingText) string { return f.ID })
})

var phrases = sync.OnceValues(func() (map[string]Phrase, error) {
	t, err := textTables()
	if err != nil {
		return nil, err
	}
	return byID([]string{"data/phrases.yaml", "data/media_phrases.yaml"}, [][]Phrase{t.phrases, t.mediaPhrases},
		func(p *Phrase) string { return p.ID })
})

// FindingTexts returns the texts of every finding id, keyed by id. The map
// is shared: callers must not change it.
func FindingTexts() map[string]FindingText {
	m, err := findingTexts()
	if err != nil {
		panic(err) // embedded data; the package tests load it
	}
	return m
}

// Phrases returns every phrase of data/phrases.yaml, keyed by id. The map
// is shared: callers must not change it.
func Phrases() map[string]Phrase {
	m, err := phrases()
	if err != nil {
		panic(err) // embedded data; the package tests load it
	}
	return m
}

// FindingIDs returns every finding id the analyzer can report.
func FindingIDs() []string {
	m := FindingTexts()
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

type texts struct {
	m map[string]FindingText
}

func loadTexts() *texts {
	Phrases() // fail early on a broken file, as for the findings
	return &texts{m: FindingTexts()}
}

// vars are the placeholder values of a finding: data, never words of a
// language.
type vars map[string]string

func (t *texts) finding(id string, v vars, frames ...int) Finding {
	ft, ok := t.m[id]
	if !ok {
		panic("analyze: finding without text: " + id)
	}
	f := Finding{ID: id, Severity: ft.Severity, Values: maps.Clone(v), Frames: uniqueFrames(frames)}
	if f.Values == nil {
		f.Values = map[string]string{} // written as {}, not null
	}
	return f
}

// findingWith is finding with placeholders made of phrases.
func (t *texts) findingWith(id string, v vars, parts map[string][]Part, frames ...int) Finding {
	f := t.finding(id, v, frames...)
	if len(parts) > 0 {
		f.Parts = parts
	}
	return f
}

// phrase is a Part that names a phrase of data/phrases.yaml.
func phrase(id string, kv ...string) Part {
	p := Part{Phrase: id}
	if len(kv) > 1 {
		p.Values = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Values[kv[i]] = kv[i+1]
		}
	}
	return p
}

// raw is a Part of text taken from the wire, shown as it is.
func raw(s string) Part { return Part{Raw: s} }

// one is a Parts map with a single placeholder.
func one(name string, ps ...Part) map[string][]Part { return map[string][]Part{name: ps} }

func uniqueFrames(fs []int) []int {
	out := make([]int, 0, len(fs))
	if len(fs) <= 16 {
		// A finding names a few frames: a walk of those kept is cheaper
		// than a map made for each finding.
		for _, f := range fs {
			if f > 0 && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		return out
	}
	seen := map[int]bool{}
	for _, f := range fs {
		if f > 0 && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// secs writes a duration in seconds with one decimal and a decimal point;
// the report package shows it with the reader's decimal sign.
func secs(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}
