package analyze

import (
	"embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sipcause/sipcause/catalog"
)

//go:embed data/findings.yaml
var findingsFS embed.FS

type findingText struct {
	ID       string   `yaml:"id"`
	Severity string   `yaml:"severity"`
	EN       string   `yaml:"en"`
	NL       string   `yaml:"nl"`
	AdviceEN []string `yaml:"advice_en"`
	AdviceNL []string `yaml:"advice_nl"`
}

var findingTexts = sync.OnceValues(func() (map[string]findingText, error) {
	b, err := findingsFS.ReadFile("data/findings.yaml")
	if err != nil {
		return nil, err
	}
	var list []findingText
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("analyze: data/findings.yaml: %w", err)
	}
	m := make(map[string]findingText, len(list))
	for _, f := range list {
		if _, dup := m[f.ID]; dup {
			return nil, fmt.Errorf("analyze: data/findings.yaml: id %q twice", f.ID)
		}
		m[f.ID] = f
	}
	return m, nil
})

// FindingIDs returns every finding id the analyzer can report.
func FindingIDs() []string {
	m, err := findingTexts()
	if err != nil {
		panic(err)
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

type texts struct {
	lang catalog.Lang
	m    map[string]findingText
}

func loadTexts(lang catalog.Lang) *texts {
	m, err := findingTexts()
	if err != nil {
		panic(err) // embedded data; the package tests load it
	}
	return &texts{lang: lang, m: m}
}

// vars are the placeholder values of a finding text.
type vars map[string]string

func (t *texts) finding(id string, v vars, frames ...int) Finding {
	ft, ok := t.m[id]
	if !ok {
		panic("analyze: finding without text: " + id)
	}
	tmpl := ft.EN
	if t.lang == catalog.Dutch {
		tmpl = ft.NL
	}
	if c, ok := v["count"]; ok {
		if _, set := v["times"]; !set {
			v["times"] = times(c)
		}
	}
	return Finding{ID: id, Severity: ft.Severity, Text: fill(tmpl, v), Frames: uniqueFrames(frames)}
}

func (t *texts) advice(id string) []string {
	ft := t.m[id]
	if t.lang == catalog.Dutch {
		return ft.AdviceNL
	}
	return ft.AdviceEN
}

// fill replaces {name} placeholders; unknown ones are left as they are.
func fill(tmpl string, v vars) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			break
		}
		name := tmpl[i+1 : i+j]
		b.WriteString(tmpl[:i])
		if val, ok := v[name]; ok {
			b.WriteString(val)
		} else {
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func uniqueFrames(fs []int) []int {
	out := make([]int, 0, len(fs))
	seen := map[int]bool{}
	for _, f := range fs {
		if f > 0 && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// word returns a UI word in the report's language.
func (t *texts) word(en, nl string) string {
	if t.lang == catalog.Dutch {
		return nl
	}
	return en
}

// times says how often, in English: once, twice, 3 times.
func times(n string) string {
	switch n {
	case "1":
		return "once"
	case "2":
		return "twice"
	}
	return n + " times"
}

// secs writes a duration in seconds with one decimal, with the decimal
// comma in Dutch.
func (t *texts) secs(d time.Duration) string {
	s := secs(d)
	if t.lang == catalog.Dutch {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
