package catalog_test

import (
	"fmt"

	"github.com/sipcause/sipcause/catalog"
)

func ExampleLookup() {
	c, ok := catalog.Lookup(486)
	fmt.Println(ok, c.Code, c.Reason, c.Fault, c.Ref)
	// Output: true 486 Busy Here remote RFC 3261 §21.4.24
}

func ExampleResolve() {
	r, _ := catalog.Resolve(499)
	fmt.Println(r.Registered, r.Entry.Code, r.Entry.Reason)
	// Output: false 400 Bad Request
}

func ExampleParseReason() {
	rs, _ := catalog.ParseReason(`SIP;cause=487, Q.850;cause=16;text="Normal call clearing"`)
	cat := catalog.Default()
	for _, r := range rs {
		if r.IsQ850() {
			c, _ := cat.Cause(r.Cause)
			fmt.Println("Q.850", r.Cause, c.Name)
		} else {
			fmt.Println(r.Protocol, r.Cause, catalog.Phrase(r.Cause))
		}
	}
	// Output:
	// SIP 487 Request Terminated
	// Q.850 16 Normal call clearing
}

func ExampleCatalog_SIPToCause() {
	cat := catalog.Default()
	fmt.Println(cat.SIPToCause(486), cat.SIPToCause(404), cat.SIPToCause(499), cat.CauseToSIP(17))
	// Output: 17 1 31 486
}
