package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// hostile are values a sender can put in SIP headers.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' onmouseover='alert(1)`,
	`javascript:alert(1)`,
	`</style><script>alert(1)</script>`,
	`]]><svg onload=alert(1)>`,
	`</title><script>alert(1)</script>`,
}

// hostileReport fills every string a renderer shows with hostile values.
func hostileReport() *analyze.Report {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	h := func(i int) string { return hostile[i%len(hostile)] }
	f := []analyze.Finding{{ID: h(0), Severity: "error", Fault: h(1), Values: map[string]string{"value": h(2)},
		Parts: map[string][]analyze.Part{"what": {{Raw: h(3)}}}, Frames: []int{1}},
		{ID: "busy", Severity: "error", Values: map[string]string{"code": h(4), "phrase": h(5), "from": h(6)}}}
	msgs := []analyze.Exchange{
		{Frame: 1, Time: t0, Src: h(3), Dst: h(4), Label: h(5)},
		{Frame: 2, Time: t0.Add(time.Second), Src: h(4), Dst: h(3), Label: h(6), Retrans: true},
		{Frame: 3, Time: t0.Add(2 * time.Second), Src: h(4), Dst: h(4), Label: h(0)},
	}
	return &analyze.Report{
		SchemaVersion: 1, Lang: "en",
		Inputs:   []analyze.Input{{File: h(0), Format: h(1), Error: h(2)}},
		Summary:  analyze.Summary{Calls: 1, Failed: 1, First: &t0, Last: &t0},
		Findings: f,
		Hosts:    []analyze.Host{{Addr: h(3), Role: h(1), Agent: h(0), Why: h(2)}},
		Metrics:  analyze.Metrics{PerPeer: map[string]analyze.MetricSet{h(0): {Attempts: 1}, h(1): {Attempts: 2}}},
		Calls: []*analyze.Call{{
			CallID: h(0), From: h(1), To: h(2), Caller: h(3), Callee: h(4), CallerName: h(5), Asserted: h(6),
			Src: h(3), Dst: h(4), Start: t0, End: t0, FinalStatus: 486, Reason: h(0), Registered: h(1),
			Outcome: h(2), Fault: h(1),
			FinalFrom: &analyze.Responder{Addr: h(4), Agent: h(0)}, EndedBy: h(1), EndReason: h(2),
			Direction: h(3), Findings: f, Reasons: []analyze.Decoded{{Value: h(0)}},
			Warnings: []analyze.Decoded{{Value: h(2)}}, Linked: []string{h(4)}, Messages: msgs,
		}},
		Registrations: []*analyze.Register{{
			CallID: h(0), AOR: h(1), Contact: h(2), Src: h(3), Dst: h(4), Start: t0, FinalStatus: 403, Reason: h(5),
			Outcome: h(6), Fault: h(0), Findings: f, Messages: msgs,
		}},
	}
}

var (
	rawTag     = regexp.MustCompile(`(?i)<\s*(script|img|svg\s+onload|iframe)`)
	rawHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

func TestHTMLEscapesSIPStrings(t *testing.T) {
	for _, lang := range []catalog.Lang{catalog.English, catalog.Dutch} {
		var b bytes.Buffer
		if err := HTML(&b, hostileReport(), lang); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		if m := rawTag.FindString(page); m != "" {
			t.Errorf("%s: raw tag %q in page", lang, m)
		}
		// An event handler is only harmless as escaped text: right after
		// the escaped tag it came with.
		for _, loc := range rawHandler.FindAllStringIndex(page, -1) {
			before := page[max(0, loc[0]-20):loc[0]]
			if !strings.Contains(before, "&lt;img") && !strings.Contains(before, "&lt;svg") && !strings.Contains(before, "&#39;") {
				t.Errorf("%s: event handler attribute outside escaped text: %q", lang, page[max(0, loc[0]-40):min(len(page), loc[1]+20)])
			}
		}
		if strings.Contains(page, "</style><script") || strings.Contains(page, `href="javascript:`) {
			t.Errorf("%s: style or URL context broken", lang)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: hostile text not shown as text", lang)
		}
	}
}

func TestCSVAndFlowOfHostileReport(t *testing.T) {
	r := hostileReport()
	var b bytes.Buffer
	if err := CSV(&b, r); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Flow(&b, r.Calls[0], FlowOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
}

// sensitive gathers what Redact must hide from an unredacted report: the
// IP addresses of every endpoint and the users, numbers and names of the
// calls and registrations.
func sensitive(r *analyze.Report) map[string]bool {
	out := map[string]bool{}
	addr := func(s string) {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out[ap.Addr().String()] = true
		}
	}
	user := func(uri string) {
		if m := regexp.MustCompile(`^(?:.*<)?(?:sips?|tel):([^@;>]+)`).FindStringSubmatch(uri); m != nil && !notPersonal[strings.ToLower(m[1])] {
			out[m[1]] = true
		}
	}
	for _, h := range r.Hosts {
		addr(h.Addr)
	}
	for _, c := range r.Calls {
		addr(c.Src)
		addr(c.Dst)
		user(c.From)
		user(c.To)
		for _, s := range []string{c.Caller, c.Callee, c.CallerName} {
			if s != "" && !notPersonal[strings.ToLower(s)] {
				out[s] = true
			}
		}
		for _, m := range c.Messages {
			addr(m.Src)
			addr(m.Dst)
		}
	}
	for _, g := range r.Registrations {
		addr(g.Src)
		addr(g.Dst)
		user(g.AOR)
		user(g.Contact)
	}
	return out
}

// jsonStrings calls fn on every string value and key of a decoded JSON
// document, with the key it sits under.
func jsonStrings(v any, key string, fn func(key, s string)) {
	switch v := v.(type) {
	case string:
		fn(key, v)
	case []any:
		for _, x := range v {
			jsonStrings(x, key, fn)
		}
	case map[string]any:
		for k, x := range v {
			fn("", k)
			jsonStrings(x, k, fn)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, name := range goldenCaptures {
		t.Run(goldenName(name), func(t *testing.T) {
			orig := loadReport(t, name, catalog.English)
			secrets := sensitive(orig)
			if len(secrets) == 0 {
				t.Fatal("no sensitive values found to check")
			}
			r1 := loadReport(t, name, catalog.English)
			Redact(r1)
			j1, err := json.Marshal(r1)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(j1, &doc); err != nil {
				t.Fatal(err)
			}
			jsonStrings(doc, "", func(key, s string) {
				if key == "file" {
					return // input file names may stay
				}
				for v := range secrets {
					if containsToken(s, v) {
						t.Errorf("%q survived in %s: %q", v, key, s)
					}
				}
			})

			r2 := loadReport(t, name, catalog.English)
			Redact(r2)
			j2, _ := json.Marshal(r2)
			if !bytes.Equal(j1, j2) {
				t.Error("two redactions of the same capture differ")
			}
			// Redacting changes nothing that is not personal.
			if len(r1.Calls) != len(orig.Calls) || len(r1.Registrations) != len(orig.Registrations) {
				t.Error("redaction changed the number of calls or registrations")
			}
			for i, c := range r1.Calls {
				o := orig.Calls[i]
				if c.FinalStatus != o.FinalStatus || c.Outcome != o.Outcome || c.Fault != o.Fault {
					t.Errorf("call %d: status, outcome or fault changed", i)
				}
			}
		})
	}
}

// TestRedactStable checks that one value gets one pseudonym throughout a
// report, in structured fields and in free text alike.
func TestRedactStable(t *testing.T) {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	r := &analyze.Report{
		Hosts: []analyze.Host{{Addr: "192.0.2.10:5060"}, {Addr: "192.0.2.1:5060"}},
		Calls: []*analyze.Call{{
			CallID: "abc@192.0.2.10", From: `"Alice Smith" <sip:+31201234567@example.net>`, To: "sip:bob@192.0.2.1;user=phone",
			Caller: "+31201234567", Callee: "bob", CallerName: "Alice Smith", Src: "192.0.2.10:5060", Dst: "192.0.2.1:5060",
			Start: t0,
			Findings: []analyze.Finding{{ID: "forbidden", Values: map[string]string{
				"note": "192.0.2.1:5060 refused the call from +31201234567 (Alice Smith) to bob; 192.0.2.10 and 192.0.2.100 are different."}}},
			Warnings: []analyze.Decoded{{Value: `399 192.0.2.1 "no route for sip:bob@example.net from 2001:db8:0:1::5"`}},
			Messages: []analyze.Exchange{{Src: "192.0.2.10:5060", Dst: "192.0.2.1:5060", Label: "INVITE"}},
		}},
		Metrics: analyze.Metrics{PerPeer: map[string]analyze.MetricSet{"192.0.2.1:5060": {Attempts: 1}}},
	}
	Redact(r)
	c := r.Calls[0]
	if c.Src != r.Hosts[0].Addr || c.Dst != r.Hosts[1].Addr || c.Messages[0].Src != c.Src {
		t.Errorf("addresses not stable: hosts %v, call %s → %s, message %s", r.Hosts, c.Src, c.Dst, c.Messages[0].Src)
	}
	if _, ok := r.Metrics.PerPeer[c.Dst]; !ok {
		t.Errorf("per_peer key not redacted like dst %s: %v", c.Dst, r.Metrics.PerPeer)
	}
	if c.Caller == "+31201234567" || c.Callee == "bob" || c.CallerName == "Alice Smith" {
		t.Errorf("names left: %q %q %q", c.Caller, c.Callee, c.CallerName)
	}
	note := c.Findings[0].Values["note"]
	for _, s := range []string{c.CallID, c.From, c.To, note, c.Warnings[0].Value} {
		for _, secret := range []string{"192.0.2.1", "192.0.2.10", "192.0.2.100", "+31201234567", "bob", "Alice Smith", "2001:db8:0:1::5"} {
			if containsToken(s, secret) {
				t.Errorf("%q left in %q", secret, s)
			}
		}
	}
	if !strings.Contains(note, c.Caller) || !strings.Contains(note, c.Callee) || !strings.Contains(note, c.CallerName) {
		t.Errorf("finding values do not use the same pseudonyms: %q (caller %s, callee %s, name %s)", note, c.Caller, c.Callee, c.CallerName)
	}
	if !strings.Contains(c.From, "example.net") {
		t.Errorf("domain name should stay: %q", c.From)
	}
	want := `"name-1" <sip:num-1@example.net>`
	if c.From != want {
		t.Errorf("From = %q, want %q", c.From, want)
	}
}

// containsToken reports whether v occurs in s as a whole token, not glued
// to a letter or digit (so "10.0.0.1" is not found in "10.0.0.15").
func containsToken(s, v string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], v)
		if j < 0 {
			return false
		}
		j += i
		if bounded(s, j, j+len(v), true) {
			return true
		}
		i = j + 1
	}
}
