// Package analyze rebuilds SIP transactions, dialogs, calls and
// registrations from time-ordered messages and explains every failure: what
// happened, where the cause lies (your side, your provider, the remote side,
// the network) and which frames show it.
//
// The analyzer is pure: it reads no clock, keeps no global state and starts
// no goroutines. Time comes from the messages (the capture), so timer-based
// findings such as "no answer within Timer B" are computed from capture
// timestamps, and the same input always gives the same report.
//
//	a := analyze.New(analyze.Options{})
//	for _, m := range messages { // in capture order
//		a.Add(m)
//	}
//	rep := a.Finish()
//	for _, c := range rep.Calls {
//		fmt.Println(c.CallID, c.Outcome, c.Fault)
//	}
package analyze
