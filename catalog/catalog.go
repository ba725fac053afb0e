package catalog

import (
	"embed"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sipcause/sipcause/internal/yamltables"
)

// The YAML files under data/ are the knowledge base; tables_gen.go holds
// them as Go tables, so that no run spends its start decoding YAML. The
// tables carry the checksum of the files they were made from: when a file
// was edited without go generate, the files are decoded instead, so that
// what sipcause says never depends on go generate, only how fast it starts
// (and TestTablesMatchYAML fails).
//
//go:generate go run ../internal/gentables catalog
//go:embed data/*.yaml
var dataFS embed.FS

// Lang is the language of a text: English or Dutch.
type Lang string

// The languages the knowledge base is written in.
const (
	English Lang = "en"
	Dutch   Lang = "nl"
)

// Langs lists every language the knowledge base is written in.
var Langs = []Lang{English, Dutch}

// ParseLang turns "en", "nl" (any case, with or without a region such as
// "nl_NL.UTF-8") into a Lang.
func ParseLang(s string) (Lang, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(l, "_-.@"); i >= 0 {
		l = l[:i]
	}
	switch l {
	case "en":
		return English, nil
	case "nl":
		return Dutch, nil
	}
	return "", fmt.Errorf("catalog: unknown language %q (want en or nl)", s)
}

// Fault says where the cause of a failure usually lies, seen from the
// person who uses sipcause: their own side, their telephone service, the
// called party and the networks beyond, or the path in between.
type Fault string

// The fault locations.
const (
	FaultLocal    Fault = "local"    // your phone, PBX, router/firewall, settings or account
	FaultProvider Fault = "provider" // your telephone service
	FaultRemote   Fault = "remote"   // the called party or the networks beyond
	FaultNetwork  Fault = "network"  // the path between, when it cannot be pinned down
	FaultNone     Fault = "none"     // not a failure
)

// Faults lists every fault location.
var Faults = []Fault{FaultLocal, FaultProvider, FaultRemote, FaultNetwork, FaultNone}

// Valid reports whether f is one of the five fault words.
func (f Fault) Valid() bool { return slices.Contains(Faults, f) }

// Label returns the fault location as a person would say it in lang.
func (f Fault) Label(lang Lang) string {
	nl := lang == Dutch
	switch f {
	case FaultLocal:
		if nl {
			return "uw kant"
		}
		return "your side"
	case FaultProvider:
		if nl {
			return "uw provider"
		}
		return "your provider"
	case FaultRemote:
		if nl {
			return "de andere kant" // on an incoming call the other side is the caller
		}
		return "the other side"
	case FaultNetwork:
		if nl {
			return "het netwerk onderweg"
		}
		return "the network in between"
	case FaultNone:
		if nl {
			return "geen storing"
		}
		return "no fault"
	}
	return string(f)
}

// Perspective is who reads a verdict. The fault words are written for the
// customer of a telephone service ("your provider"); a provider's own
// helpdesk, fed by its own SBC, reads "your provider" as "us" (review
// T25). Only the wording of the side changes, never the verdict.
type Perspective string

// The perspectives.
const (
	PerspectiveCustomer Perspective = "customer" // the user of the telephone service (the default)
	PerspectiveProvider Perspective = "provider" // the provider's own helpdesk or engineers
)

// Valid reports whether p is one of the perspectives.
func (p Perspective) Valid() bool { return p == PerspectiveCustomer || p == PerspectiveProvider }

// LabelFor is Label as a reader of perspective p would say it: seen from
// the provider, your side is the customer's, your provider is "our
// network", the remote side is the other side. An empty or unknown
// perspective is the customer's.
func (f Fault) LabelFor(lang Lang, p Perspective) string {
	if p != PerspectiveProvider {
		return f.Label(lang)
	}
	nl := lang == Dutch
	switch f {
	case FaultLocal:
		if nl {
			return "de kant van de klant"
		}
		return "the customer's side"
	case FaultProvider:
		if nl {
			return "ons netwerk/platform"
		}
		return "our network/platform"
	case FaultRemote:
		if nl {
			return "de andere kant"
		}
		return "the other side"
	case FaultNetwork:
		if nl {
			return "het netwerk ertussen"
		}
		return "the network between"
	}
	return f.Label(lang)
}

// Text is what the knowledge base says about an entry in one language.
type Text struct {
	Summary     string   `yaml:"summary" json:"summary"`         // one line
	Explanation string   `yaml:"explanation" json:"explanation"` // what happened and the usual causes
	Advice      []string `yaml:"advice" json:"advice"`           // what to do, step by step
	Note        string   `yaml:"note,omitempty" json:"note,omitempty"`
}

// Code is one SIP response code of the IANA registry (RFC 3261 §21, §27.4).
type Code struct {
	Code       int      `yaml:"code"`
	Reason     string   `yaml:"reason"`      // the registered reason phrase, exactly
	WireReason string   `yaml:"wire_reason"` // the phrase sent on the wire when it differs (202)
	RFC        []string `yaml:"rfc"`         // defining RFCs, "RFC 3261"
	Ref        string   `yaml:"ref"`         // the section that defines it
	Deprecated bool     `yaml:"deprecated"`
	Fault      Fault    `yaml:"fault"`   // where the cause usually lies
	Headers    []string `yaml:"headers"` // headers worth looking at with it
	EN         Text     `yaml:"en"`
	NL         Text     `yaml:"nl"`
}

// Class returns the response class 1..6 of the code.
func (c Code) Class() int { return c.Code / 100 }

// Text returns the texts in lang (English for an unknown language).
func (c Code) Text(lang Lang) Text {
	if lang == Dutch {
		return c.NL
	}
	return c.EN
}

// Cause is an ITU-T Q.850 cause value (Q.850 §2.2.5), as carried in a
// Reason header (RFC 3326) or mapped from ISUP by RFC 3398.
type Cause struct {
	Cause int    `yaml:"cause"`
	Name  string `yaml:"name"`  // the Q.850 name
	Class string `yaml:"class"` // the cause class from bits 7-5
	Fault Fault  `yaml:"fault"` // where the cause usually lies
	EN    string `yaml:"en"`    // a short meaning
	NL    string `yaml:"nl"`
}

// Text returns the short meaning in lang.
func (c Cause) Text(lang Lang) string {
	if lang == Dutch {
		return c.NL
	}
	return c.EN
}

// WarnCode is a Warning header warn-code (RFC 3261 §20.43, IANA warn-codes).
type WarnCode struct {
	Code int    `yaml:"code"`
	Text string `yaml:"text"` // the recommended warn-text
	RFC  string `yaml:"rfc"`
	EN   string `yaml:"en"`
	NL   string `yaml:"nl"`
}

// Meaning returns the plain-language meaning in lang.
func (w WarnCode) Meaning(lang Lang) string {
	if lang == Dutch {
		return w.NL
	}
	return w.EN
}

// Mapping is one row of an RFC 3398 mapping table.
type Mapping struct {
	Cause int    `yaml:"cause"`
	Code  int    `yaml:"code"`
	Note  string `yaml:"note"`
}

type q850File struct {
	Causes  []Cause   `yaml:"causes"`
	ToSIP   []Mapping `yaml:"to_sip"`
	FromSIP []Mapping `yaml:"from_sip"`
}

// Catalog is a loaded knowledge base. It is read-only and safe for
// concurrent use.
type Catalog struct {
	codes    []Code
	byCode   map[int]int
	causes   []Cause
	byCause  map[int]int
	toSIP    map[int][]Mapping
	fromSIP  map[int]Mapping
	warnings []WarnCode
	byWarn   map[int]int
	phrases  []WirePhrase
	causeHdr []CauseHeader
}

// CauseHeader is a header in which a widespread server carries the Q.850
// cause behind a SIP answer, as a Reason header (RFC 3326) would.
type CauseHeader struct {
	Server     string `yaml:"server"`
	CodeHeader string `yaml:"code_header"` // holds the cause number
	TextHeader string `yaml:"text_header"` // holds its name; may be empty
	Source     string `yaml:"source"`
}

// CauseHeaders returns the headers that carry Q.850 causes.
func (c *Catalog) CauseHeaders() []CauseHeader { return slices.Clone(c.causeHdr) }

// WirePhrase is a reason phrase a widespread server sends when it means
// something more precise than its code (RFC 3261 §21: the phrase is the
// server's choice). Kept as data beside the codes, with its source.
type WirePhrase struct {
	Server  string `yaml:"server"`  // who sends it
	Code    int    `yaml:"code"`    // the code it comes with; 0: any code
	Match   string `yaml:"match"`   // a part of the phrase, lower case
	Meaning string `yaml:"meaning"` // what it says, as an analyzer finding id
	Source  string `yaml:"source"`  // where the phrase is written
}

// WirePhrases returns every known wire phrase, in the order of the data.
func (c *Catalog) WirePhrases() []WirePhrase { return slices.Clone(c.phrases) }

// WirePhrase returns what the reason phrase sent with code says when a
// known server sent it; ok is false when the phrase is nothing special.
// An entry for the exact code wins over one for any code.
func (c *Catalog) WirePhrase(code int, phrase string) (WirePhrase, bool) {
	p := strings.ToLower(phrase)
	var any WirePhrase
	found := false
	for _, w := range c.phrases {
		if !strings.Contains(p, w.Match) {
			continue
		}
		if w.Code == code {
			return w, true
		}
		if w.Code == 0 && !found {
			any, found = w, true
		}
	}
	return any, found
}

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) { return load() })

// Default returns the knowledge base embedded in the binary. It panics only
// if the embedded data is broken, which the package tests rule out.
func Default() *Catalog {
	c, err := defaultCatalog()
	if err != nil {
		panic(err)
	}
	return c
}

// tables is the knowledge base as read from data/: by tables_gen.go, or
// by decoding the YAML.
type tables struct {
	codes          []Code
	causes         []Cause
	toSIP, fromSIP []Mapping
	warnings       []WarnCode
	causeHdr       []CauseHeader
	phrases        []WirePhrase
}

// load builds the catalog from the tables of tables_gen.go when they were
// made from the files embedded now, else from the files.
func load() (*Catalog, error) { return loadFor(tablesSum) }

// loadFor is load with the checksum the tables were made for.
func loadFor(made uint32) (*Catalog, error) {
	t := tables{codesTable, causesTable, toSIPTable, fromSIPTable, warningsTable, causeHeadersTable, wirePhrasesTable}
	if sum, err := yamltables.Sum(dataFS); err != nil || sum != made {
		if t, err = decodeTables(); err != nil {
			return nil, err
		}
	}
	return build(t)
}

// decodeTables reads the YAML files themselves.
func decodeTables() (tables, error) {
	var t tables
	var q q850File
	for _, f := range []struct {
		name string
		v    any
	}{
		{"data/codes.yaml", &t.codes}, {"data/q850.yaml", &q}, {"data/warnings.yaml", &t.warnings},
		{"data/causeheaders.yaml", &t.causeHdr}, {"data/phrases.yaml", &t.phrases},
	} {
		if err := decode(f.name, f.v); err != nil {
			return t, err
		}
	}
	t.causes, t.toSIP, t.fromSIP = q.Causes, q.ToSIP, q.FromSIP
	return t, nil
}

func decode(name string, v any) error {
	if err := yamltables.Decode(dataFS, name, v); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

// build checks what the YAML cannot say by itself (no code or cause
// twice, valid faults) and indexes the tables.
func build(t tables) (*Catalog, error) {
	c := &Catalog{byCode: map[int]int{}, byCause: map[int]int{}, toSIP: map[int][]Mapping{}, fromSIP: map[int]Mapping{}, byWarn: map[int]int{}}
	c.codes = slices.Clone(t.codes)
	sort.Slice(c.codes, func(i, j int) bool { return c.codes[i].Code < c.codes[j].Code })
	for i, e := range c.codes {
		if _, dup := c.byCode[e.Code]; dup {
			return nil, fmt.Errorf("catalog: data/codes.yaml: code %d listed twice", e.Code)
		}
		if !e.Fault.Valid() {
			return nil, fmt.Errorf("catalog: data/codes.yaml: code %d: bad fault %q", e.Code, e.Fault)
		}
		c.byCode[e.Code] = i
	}
	c.causes = slices.Clone(t.causes)
	sort.Slice(c.causes, func(i, j int) bool { return c.causes[i].Cause < c.causes[j].Cause })
	for i, e := range c.causes {
		if _, dup := c.byCause[e.Cause]; dup {
			return nil, fmt.Errorf("catalog: data/q850.yaml: cause %d listed twice", e.Cause)
		}
		c.byCause[e.Cause] = i
	}
	for _, m := range t.toSIP {
		c.toSIP[m.Cause] = append(c.toSIP[m.Cause], m)
	}
	for _, m := range t.fromSIP {
		c.fromSIP[m.Code] = m
	}
	c.warnings = slices.Clone(t.warnings)
	sort.Slice(c.warnings, func(i, j int) bool { return c.warnings[i].Code < c.warnings[j].Code })
	for i, w := range c.warnings {
		c.byWarn[w.Code] = i
	}
	c.causeHdr = t.causeHdr
	for _, h := range c.causeHdr {
		if h.CodeHeader == "" || h.Source == "" {
			return nil, fmt.Errorf("catalog: data/causeheaders.yaml: %q: code_header and source must be set", h.Server)
		}
	}
	c.phrases = t.phrases
	for _, w := range c.phrases {
		if w.Match == "" || w.Match != strings.ToLower(w.Match) || w.Meaning == "" || w.Source == "" {
			return nil, fmt.Errorf("catalog: data/phrases.yaml: %q: match must be lower case and meaning and source set", w.Match)
		}
	}
	return c, nil
}

// Codes returns every registered code in ascending order.
func (c *Catalog) Codes() []Code { return slices.Clone(c.codes) }

// Lookup returns the registered entry for code. ok is false when code is
// not in the registry; Lookup never panics.
func (c *Catalog) Lookup(code int) (Code, bool) {
	i, ok := c.byCode[code]
	if !ok {
		return Code{}, false
	}
	return c.codes[i], true
}

// Phrase returns the registered reason phrase of code, or "" when the code is
// not registered.
func (c *Catalog) Phrase(code int) string {
	e, _ := c.Lookup(code)
	return e.Reason
}

// Resolution is how a code is to be understood: the registered entry, or
// for a code that is not registered the entry of its class's default.
type Resolution struct {
	Asked      int  // the code as given
	Registered bool // false: Entry is the class default, per RFC 3261 §8.1.3.2
	Entry      Code
}

// ErrCodeRange is returned by Resolve for a number outside 100..699.
type ErrCodeRange struct{ Code int }

func (e *ErrCodeRange) Error() string {
	return fmt.Sprintf("catalog: %d is not a SIP status code (they run from 100 to 699)", e.Code)
}

// Resolve returns the entry to explain code with. A registered code gets
// its own entry. An unregistered code from 100 to 699 gets the x00 code of
// its class, as RFC 3261 §8.1.3.2 requires ("an unrecognized response
// ... MUST be treated as being equivalent to the x00 response code of that
// class"), except that an unknown 1xx is treated as 183 (Session Progress)
// by the same section. Anything else is an *ErrCodeRange.
func (c *Catalog) Resolve(code int) (Resolution, error) {
	if code < 100 || code > 699 {
		return Resolution{}, &ErrCodeRange{Code: code}
	}
	if e, ok := c.Lookup(code); ok {
		return Resolution{Asked: code, Registered: true, Entry: e}, nil
	}
	def := code / 100 * 100
	if def == 100 {
		def = 183
	}
	e, _ := c.Lookup(def)
	return Resolution{Asked: code, Entry: e}, nil
}

// Causes returns every assigned Q.850 cause value in ascending order.
func (c *Catalog) Causes() []Cause { return slices.Clone(c.causes) }

// Cause returns the Q.850 cause with value v; ok is false for an
// unassigned (spare) value.
func (c *Catalog) Cause(v int) (Cause, bool) {
	i, ok := c.byCause[v]
	if !ok {
		return Cause{}, false
	}
	return c.causes[i], true
}

// CauseClass returns the Q.850 class of any value 0..127 from bits 7-5
// (Q.850 §2.2.5.1), whether the value is assigned or not.
func CauseClass(v int) string {
	switch {
	case v < 0 || v > 127:
		return ""
	case v < 32:
		return "normal event"
	case v < 48:
		return "resource unavailable"
	case v < 64:
		return "service or option not available"
	case v < 80:
		return "service or option not implemented"
	case v < 96:
		return "invalid message"
	case v < 112:
		return "protocol error"
	}
	return "interworking"
}

// CauseToSIP maps a Q.850 cause received from ISUP to the SIP final response
// a gateway sends, per RFC 3398 §7.2.4.1. Cause 22 has two rows (without and
// with a diagnostic): the first is returned; use CauseToSIPAll for both.
// A cause that the table leaves out maps to 500 (the section's default);
// cause 16 (normal clearing) and 44 map to no response at all: 0.
func (c *Catalog) CauseToSIP(cause int) int {
	rows, ok := c.toSIP[cause]
	if !ok {
		return 500
	}
	return rows[0].Code
}

// CauseToSIPAll returns every RFC 3398 §7.2.4.1 row for cause, or nil when
// the table has none (and the default of 500 applies).
func (c *Catalog) CauseToSIPAll(cause int) []Mapping { return slices.Clone(c.toSIP[cause]) }

// SIPToCause maps a SIP final response 4xx-6xx to the Q.850 cause a gateway
// puts in the ISUP REL, per RFC 3398 §8.2.6.1. A code the table leaves out
// maps to 31 (Normal, unspecified), the section's default; 487 has no
// mapping and returns 0; 488 and 606 are decided "by Warning header" and get
// the recommended default 31. Codes below 400 return 0.
func (c *Catalog) SIPToCause(code int) int {
	if code < 400 || code > 699 {
		return 0
	}
	m, ok := c.fromSIP[code]
	if !ok {
		return 31
	}
	return m.Cause
}

// SIPToCauseMapping returns the RFC 3398 §8.2.6.1 row for code and whether
// the table lists it.
func (c *Catalog) SIPToCauseMapping(code int) (Mapping, bool) {
	m, ok := c.fromSIP[code]
	return m, ok
}

// WarnCodes returns every registered warn-code in ascending order.
func (c *Catalog) WarnCodes() []WarnCode { return slices.Clone(c.warnings) }

// WarnCode returns the registered warn-code w; ok is false when w is not
// registered.
func (c *Catalog) WarnCode(w int) (WarnCode, bool) {
	i, ok := c.byWarn[w]
	if !ok {
		return WarnCode{}, false
	}
	return c.warnings[i], true
}

// Lookup returns the registered entry for code from the default catalog.
func Lookup(code int) (Code, bool) { return Default().Lookup(code) }

// Phrase returns the registered reason phrase of code, "" when unknown.
func Phrase(code int) string { return Default().Phrase(code) }

// Resolve explains any code 100..699 from the default catalog.
func Resolve(code int) (Resolution, error) { return Default().Resolve(code) }
