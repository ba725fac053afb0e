package report

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipcause/sipcause/analyze"
)

// Redact replaces phone numbers, user names, display names and IP
// addresses in every field of r by pseudonyms, so that a report can be
// attached to a ticket or shared in public. Ports, domain names, user
// agents, status codes, times and input file names are kept: they say what
// went wrong, not who called whom.
//
// Pseudonyms are stable within a report: the same value always gets the
// same one, in structured fields and inside free text (explanations,
// findings, Reason and Warning values, Call-IDs). They are handed out in
// order of first appearance while walking the report in a fixed order, so
// the same report always redacts to the same bytes:
//
//   - IPv4 addresses become 198.18.x.y (RFC 2544 benchmarking range),
//     IPv6 addresses 2001:db8::x (RFC 3849 documentation prefix), so
//     "address:port" stays an address;
//   - phone numbers (digits, perhaps with a leading +) become num-1, num-2...;
//   - other user parts of SIP URIs become user-1, user-2...;
//   - display names become name-1, name-2...
//
// Words such as "anonymous" that name no one are left alone: an anonymous
// caller being refused is often the very finding.
func Redact(r *analyze.Report) { RedactWith(r, nil) }

// RedactOptions choose what else Redact replaces.
type RedactOptions struct {
	// Domains replaces domain names (in URIs and free text) by
	// domain-1.example, domain-2.example..., and input file names by
	// input-1, input-2... (the extension is kept).
	Domains bool
}

// RedactWith is Redact that also rewrites texts shown with the report (the
// SIP messages as captured, for the HTML page) with the same pseudonyms.
// In those messages the URIs of the headers that name people (From, To,
// Contact, P-Asserted-Identity, ...) are pseudonymised with their display
// names, and user names in Authorization headers too.
func RedactWith(r *analyze.Report, texts []*string) { RedactAll(r, texts, RedactOptions{}) }

// RedactAll is RedactWith with options.
func RedactAll(r *analyze.Report, texts []*string, o RedactOptions) {
	p := newPseudonyms()
	p.domains = o.Domains
	walkReport(r, p.collector())
	for _, t := range texts {
		p.noteRaw(*t)
	}
	p.build()
	walkReport(r, p.rewrite)
	for _, t := range texts {
		*t = p.rewrite(kindText, *t)
	}
}

// personHeaders are the SIP headers whose value names a person or a line
// (RFC 3261 §20, RFC 3325, RFC 4244, RFC 5806), with compact forms.
var personHeaders = map[string]bool{
	"from": true, "f": true, "to": true, "t": true, "contact": true, "m": true,
	"p-asserted-identity": true, "p-preferred-identity": true, "remote-party-id": true,
	"diversion": true, "history-info": true, "referred-by": true, "b": true, "refer-to": true, "r": true,
	"p-called-party-id": true, "privacy": false,
}

// noteRaw finds what a raw SIP message says about people: URIs and display
// names in the headers that name them, the digest user name, and every
// address and URI user part anywhere else (Via, Call-ID, SDP).
func (p *pseudonyms) noteRaw(s string) {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		name, value, ok := strings.Cut(line, ":")
		if ok && !strings.ContainsAny(name, " \t") {
			switch n := strings.ToLower(strings.TrimSpace(name)); {
			case personHeaders[n]:
				for _, part := range strings.Split(value, ",") {
					p.noteURI(strings.TrimSpace(part))
				}
			case n == "authorization" || n == "proxy-authorization":
				if m := reDigestUser.FindStringSubmatch(value); m != nil {
					p.noteUser(m[1])
				}
			}
		}
		if strings.HasPrefix(line, "o=") { // SDP origin: the user name is the first field
			if f := strings.Fields(line[2:]); len(f) > 0 && f[0] != "-" {
				p.noteUser(f[0])
			}
		}
		p.noteText(line)
	}
}

// field kinds, so the collecting pass knows what a value is.
const (
	kindText  = iota // free text: search it for addresses and URIs
	kindAddr         // "ip:port" or "ip"
	kindURI          // a SIP/tel URI, perhaps in name-addr form
	kindUser         // a user part: number or name
	kindName         // a display name
	kindAgent        // Server/User-Agent: version numbers look like addresses, so only known values are replaced
	kindKeep         // not sensitive (enumerations), never changed
	kindFile         // an input file name: kept unless domains are redacted too
)

// fieldKind says, by JSON name, what the fields of the report hold. Any
// field not named here is free text, so a field added to the model later
// is redacted without anyone remembering to list it.
var fieldKind = map[string]int{
	"src": kindAddr, "dst": kindAddr, "addr": kindAddr, "per_peer": kindAddr,
	"from": kindURI, "to": kindURI, "asserted_identity": kindURI, "aor": kindURI, "contact": kindURI,
	"caller": kindUser, "callee": kindUser,
	"caller_name": kindName,
	"agent":       kindAgent,
	"file":        kindFile, "format": kindKeep, "lang": kindKeep, "severity": kindKeep, "fault": kindKeep,
	"outcome": kindKeep, "role": kindKeep, "direction": kindKeep, "ended_by": kindKeep, "id": kindKeep,
	"method": kindKeep, "registered_reason": kindKeep,
	// Counts by method, status code and outcome.
	"requests": kindKeep, "responses": kindKeep, "outcomes": kindKeep,
}

var timeType = reflect.TypeFor[time.Time]()

// walkReport calls fn on every string of r, in the order of the fields of
// the model (map keys sorted), and stores what fn returns.
func walkReport(r *analyze.Report, fn func(kind int, s string) string) {
	walkValue(reflect.ValueOf(r).Elem(), kindText, fn)
}

func walkValue(v reflect.Value, kind int, fn func(int, string) string) {
	if kind == kindKeep {
		return
	}
	if kind == kindFile && v.Kind() == reflect.String {
		if v.CanSet() {
			v.SetString(fn(kind, v.String()))
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(fn(kind, v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkValue(v.Elem(), kind, fn)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			k, ok := fieldKind[name]
			if !ok {
				k = kindText
			}
			walkValue(v.Field(i), k, fn)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkValue(v.Index(i), kind, fn)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		out := reflect.MakeMapWithSize(v.Type(), len(keys))
		for _, k := range keys {
			nk := reflect.New(v.Type().Key()).Elem()
			nk.SetString(fn(kind, k.String()))
			nv := reflect.New(v.Type().Elem()).Elem()
			nv.Set(v.MapIndex(k))
			walkValue(nv, kindText, fn)
			out.SetMapIndex(nk, nv)
		}
		if v.CanSet() {
			v.Set(out)
		}
	}
}

// notPersonal are user parts and display names that identify no one.
var notPersonal = map[string]bool{
	"anonymous": true, "unknown": true, "restricted": true, "private": true,
	"unavailable": true, "withheld": true, "invalid": true,
}

var (
	// Candidates only; netip.ParseAddr decides.
	reIPv4 = regexp.MustCompile(`\d{1,3}(?:\.\d{1,3}){3}`)
	reIPv6 = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[0-9A-Za-z]+)?`)
	// The user part of a sip:, sips: or tel: URI in free text.
	// An e-mail-like address (user@domain.tld) in free text, such as a
	// Warning text naming the account it refused.
	reEmail = regexp.MustCompile(`([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})`)
	// A MAC address: the hardware of a phone, in a User-Agent or an
	// instance id.
	reMAC = regexp.MustCompile(`\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b`)
	// A domain name: labels with at least one letter, a dot and a top-level
	// label of letters.
	reDomain     = regexp.MustCompile(`\b(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}\b`)
	reDigestUser = regexp.MustCompile(`(?i)username\s*=\s*"([^"]*)"`)
	reURIUser    = regexp.MustCompile(`(?i)(?:sips?:([^@\s<>;:"',]+)@|tel:(\+?[0-9][0-9.\-()]*))`)
)

// pseudonyms maps sensitive values to their stand-ins.
type pseudonyms struct {
	domains  bool // domain names and file names too
	nDomains int
	nFiles   int
	nMACs    int
	to       map[string]string
	order    []string // originals, longest first after build
	counts   [4]int   // ipv4, ipv6, number, user
	names    int
	byFirst  [256][]int // per first byte, the lengths of the originals, longest first
	original map[string]bool
}

func newPseudonyms() *pseudonyms {
	return &pseudonyms{to: map[string]string{}, original: map[string]bool{}}
}

func (p *pseudonyms) collector() func(int, string) string {
	return func(kind int, s string) string {
		if s == "" {
			return s
		}
		switch kind {
		case kindAddr:
			p.noteAddr(s)
		case kindURI:
			p.noteURI(s)
		case kindUser:
			p.noteUser(s)
		case kindName:
			p.noteName(s)
		case kindText:
			p.noteText(s)
		case kindFile:
			p.noteFile(s)
		}
		return s
	}
}

// noteFile gives an input file a pseudonym, keeping its extension.
func (p *pseudonyms) noteFile(s string) {
	if !p.domains || s == "" || s == "-" {
		return
	}
	if _, ok := p.to[s]; ok {
		return
	}
	p.nFiles++
	ext := ""
	if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= 8 {
		ext = s[i:]
	}
	p.original[s] = true
	p.to[s] = "input-" + strconv.Itoa(p.nFiles) + ext
	// The base name alone may appear in text too.
	if i := strings.LastIndexAny(s, "/\\"); i >= 0 && i+1 < len(s) {
		p.to[s[i+1:]] = p.to[s]
		p.original[s[i+1:]] = true
	}
}

// noteDomain gives a domain name a pseudonym under .example (RFC 2606).
func (p *pseudonyms) noteDomain(host string) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !p.domains || host == "" || !strings.Contains(host, ".") || strings.HasSuffix(host, ".example") {
		return
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return
	}
	if _, ok := p.to[host]; ok {
		return
	}
	p.nDomains++
	p.original[host] = true
	p.to[host] = "domain-" + strconv.Itoa(p.nDomains) + ".example"
}

func (p *pseudonyms) noteAddr(s string) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		p.noteIP(ap.Addr())
		return
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		p.noteIP(a)
		return
	}
	p.noteText(s)
}

func (p *pseudonyms) noteIP(a netip.Addr) {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() {
		return
	}
	s := a.String()
	if _, ok := p.to[s]; ok {
		return
	}
	p.original[s] = true
	if a.Is4() {
		p.counts[0]++
		n := p.counts[0]
		if n >= 1<<17 { // 198.18.0.0/15 is used up
			p.to[s] = "ip-" + strconv.Itoa(n)
			return
		}
		p.to[s] = netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)}).String()
		return
	}
	p.counts[1]++
	p.to[s] = "2001:db8::" + strconv.FormatUint(uint64(p.counts[1]), 16)
	// The long form of the same address may appear in text too.
	if long := a.StringExpanded(); long != s {
		p.to[long] = p.to[s]
		p.original[long] = true
	}
}

// noteURI takes a name-addr or addr-spec: "Name" <sip:user@host;p>.
func (p *pseudonyms) noteURI(s string) {
	if i := strings.IndexByte(s, '<'); i > 0 {
		p.noteName(strings.Trim(strings.TrimSpace(s[:i]), `"`))
	}
	p.noteText(s)
	// A host that is an address, or a domain name.
	host := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		host = s[i+1:]
	} else if i := strings.Index(strings.ToLower(s), "sip:"); i >= 0 {
		host = s[i+4:]
	} else {
		host = ""
	}
	if j := strings.IndexAny(host, ";>?"); j >= 0 {
		host = host[:j]
	}
	if host != "" {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		p.noteAddr(host)
		p.noteDomain(host)
	}
}

func (p *pseudonyms) noteUser(s string) {
	s = strings.TrimSpace(s)
	if s == "" || notPersonal[strings.ToLower(s)] {
		return
	}
	if _, ok := p.to[s]; ok {
		return
	}
	if a, err := netip.ParseAddr(s); err == nil {
		p.noteIP(a)
		return
	}
	p.original[s] = true
	if isPhoneNumber(s) {
		p.counts[2]++
		p.to[s] = "num-" + strconv.Itoa(p.counts[2])
		return
	}
	p.counts[3]++
	p.to[s] = "user-" + strconv.Itoa(p.counts[3])
}

func (p *pseudonyms) noteName(s string) {
	s = strings.TrimSpace(s)
	if s == "" || notPersonal[strings.ToLower(s)] {
		return
	}
	if _, ok := p.to[s]; ok {
		return
	}
	if isPhoneNumber(s) {
		p.noteUser(s)
		return
	}
	p.original[s] = true
	p.names++
	p.to[s] = "name-" + strconv.Itoa(p.names)
}

// noteText finds addresses, URI user parts, e-mail-like addresses (in
// Reason and Warning texts), MAC addresses and, with domains, domain names
// in free text.
func (p *pseudonyms) noteText(s string) {
	for _, m := range reEmail.FindAllStringSubmatch(s, -1) {
		p.noteUser(m[1])
		p.noteDomain(m[2])
	}
	for _, m := range reMAC.FindAllString(s, -1) {
		p.noteMAC(m)
	}
	if p.domains {
		for _, m := range reDomain.FindAllString(s, -1) {
			if strings.ContainsAny(m, "abcdefghijklmnopqrstuvwxyz") {
				p.noteDomain(m)
			}
		}
	}
	for _, m := range reURIUser.FindAllStringSubmatch(s, -1) {
		u := m[1]
		if u == "" {
			u = m[2]
		}
		p.noteUser(u)
	}
	for _, loc := range reIPv4.FindAllStringIndex(s, -1) {
		if bounded(s, loc[0], loc[1], true) {
			if a, err := netip.ParseAddr(s[loc[0]:loc[1]]); err == nil {
				p.noteIP(a)
			}
		}
	}
	if strings.Count(s, ":") >= 2 {
		for _, loc := range reIPv6.FindAllStringIndex(s, -1) {
			if a, err := netip.ParseAddr(s[loc[0]:loc[1]]); err == nil && a.Is6() && !a.Is4In6() {
				p.noteIP(a)
			}
		}
	}
}

// noteMAC gives a MAC address a pseudonym in the locally administered
// range (02:00:00:…), which names no real device.
func (p *pseudonyms) noteMAC(s string) {
	if _, ok := p.to[s]; ok {
		return
	}
	p.nMACs++
	n := p.nMACs
	sep := s[2:3]
	p.original[s] = true
	p.to[s] = fmt.Sprintf("02%s00%s00%s00%s%02x%s%02x", sep, sep, sep, sep, (n>>8)&0xff, sep, n&0xff)
}

// isPhoneNumber reports whether s is a number as dialled: digits with
// perhaps a leading + and separators.
func isPhoneNumber(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == '-', r == '.', r == ' ', r == '(', r == ')', r == '*', r == '#':
		default:
			return false
		}
	}
	return digits > 0
}

// build orders the originals longest first, so that a longer value is
// replaced before a shorter one inside it (a number inside a URI user part,
// 10.0.0.1 inside 10.0.0.10). A pseudonym that happens to equal an original
// value elsewhere in the report is harmless: replacement is one pass.
func (p *pseudonyms) build() {
	p.order = p.order[:0]
	for k := range p.to {
		p.order = append(p.order, k)
	}
	slices.SortFunc(p.order, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	// A value is looked up by its length rather than compared with every
	// original: a capture of a million numbers has a million originals,
	// but a few dozen lengths (it took minutes for 300,000 calls).
	p.byFirst = [256][]int{}
	for _, k := range p.order {
		if ls := p.byFirst[k[0]]; len(ls) == 0 || ls[len(ls)-1] != len(k) {
			p.byFirst[k[0]] = append(ls, len(k))
		}
	}
}

// rewrite replaces every known value in s, in one pass from left to right,
// matching only whole tokens: 10.0.0.1 is not found in 10.0.0.15, nor 123
// in 41234.
func (p *pseudonyms) rewrite(kind int, s string) string {
	if s == "" || kind == kindKeep {
		return s
	}
	if v, ok := p.to[s]; ok {
		return v
	}
	s = p.rewriteIPv6(s)
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		lens := p.byFirst[s[i]]
		if len(lens) == 0 || (i > 0 && glued(s[i-1], s[i]) && !octetOverflow(s, i)) {
			continue
		}
		for _, n := range lens {
			if i+n > len(s) {
				continue
			}
			c := s[i : i+n]
			if _, known := p.to[c]; known && (bounded(s, i, i+len(c), false) || octetOverflow(s, i) && (i+len(c) == len(s) || !glued(s[i+len(c)-1], s[i+len(c)]))) {
				b.WriteString(s[last:i])
				b.WriteString(p.to[c])
				i += len(c) - 1
				last = i + 1
				break
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// rewriteIPv6 replaces IPv6 addresses written in any notation (leading
// zeros, upper case, not compressed, in brackets, with a zone) by the
// pseudonym of the address they denote: the text of a message may write
// one address several ways.
func (p *pseudonyms) rewriteIPv6(s string) string {
	if strings.Count(s, ":") < 2 {
		return s
	}
	return reIPv6.ReplaceAllStringFunc(s, func(m string) string {
		addr := m
		zone := ""
		if i := strings.IndexByte(m, '%'); i >= 0 {
			addr, zone = m[:i], m[i:]
		}
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is6() || a.Is4In6() {
			return m
		}
		if v, ok := p.to[a.String()]; ok {
			return v + zone
		}
		return m
	})
}

// bounded reports whether s[i:j] is a whole token: not glued to a letter
// or digit on either side. With dots, an address followed by ".5" is not
// whole either.
//
// Glued means of the same kind: digits to digits, letters to letters. A
// Via branch such as "z9hG4bK-430aa1de192.168.1.2" still names the
// address 192.168.1.2, so a letter before a digit does not hide it.
func bounded(s string, i, j int, dots bool) bool {
	if i > 0 && glued(s[i-1], s[i]) {
		return false
	}
	if j < len(s) && glued(s[j-1], s[j]) {
		return false
	}
	if dots {
		if i > 0 && s[i-1] == '.' || j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			return false
		}
	}
	return true
}

// octetOverflow reports whether the digits glued before s[i] would make
// the first octet of an IPv4 address at i impossible ("…a41192.168.1.2"
// in a Via branch): then the address starts at i all the same.
func octetOverflow(s string, i int) bool {
	j := i
	for j > 0 && isDigit(s[j-1]) {
		j--
	}
	k := i
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	if j == i || k == len(s) || s[k] != '.' {
		return false
	}
	n, err := strconv.Atoi(s[j:k])
	return k-j > 3 || err != nil || n > 255
}

func glued(a, b byte) bool {
	return wordByte(a) && wordByte(b) && isDigit(a) == isDigit(b)
}

func wordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Redactor hands out the same pseudonyms as Redact for values that are not
// in a report (the message list of `sipcause messages`): note every value
// first, then Build, then rewrite.
type Redactor struct{ p *pseudonyms }

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{p: newPseudonyms()} }

// NoteAddr notes an "ip:port" or an IP address.
func (r *Redactor) NoteAddr(s string) { r.p.noteAddr(s) }

// NoteURI notes a SIP or tel URI, perhaps with a display name.
func (r *Redactor) NoteURI(s string) { r.p.noteURI(s) }

// NoteText notes the addresses and URI user parts in free text.
func (r *Redactor) NoteText(s string) { r.p.noteText(s) }

// Build fixes the pseudonyms; call it after the last Note.
func (r *Redactor) Build() { r.p.build() }

// Rewrite replaces every noted value in s by its pseudonym.
func (r *Redactor) Rewrite(s string) string { return r.p.rewrite(kindText, s) }
