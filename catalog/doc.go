// Package catalog is sipcause's knowledge base: every SIP response code in
// the IANA "Response Codes" registry (RFC 3261 §27.4 and later RFCs), the
// ITU-T Q.850 cause values with their RFC 3398 mappings, the Warning
// warn-codes (RFC 3261 §20.43) and the Reason header (RFC 3326), each with a
// plain-language explanation in English and Dutch, where the cause usually
// lies, and what to do about it.
//
// The knowledge is data: the YAML files under data/, embedded into the
// binary. A translator or a VoIP engineer can correct a text there without
// reading Go. go generate turns them into the Go tables the binary starts
// from (tables_gen.go), so that no run decodes YAML; tables made from other
// files than the embedded ones are not used (the files are decoded), and
// the package tests fail until go generate has been run.
//
// Lookups are total: an unknown code never panics, it is reported as not
// registered. Use Resolve to explain any code from 100 to 699 the way
// RFC 3261 §8.1.3.2 tells a user agent to treat it.
//
//	c, _ := catalog.Lookup(486)
//	fmt.Println(c.Reason, c.Fault)           // Busy Here remote
//	fmt.Println(c.Text(catalog.Dutch).Summary)
package catalog
