// Package store keeps the calls and registrations that `sipcause serve`
// collects: the analyzer's explanation of each call as JSON, the indexed
// columns the web UI searches on, and the raw SIP messages the call was
// built from.
//
// Store is the interface the collector and the UI use; SQLite is the
// embedded implementation (pure Go, one file, WAL):
//
//	db, err := store.OpenSQLite("sipcause.db")
//	if err != nil { ... }
//	defer db.Close()
//	err = db.PutCalls(ctx, []store.CallRecord{{Call: call, Messages: raw}})
//	calls, err := db.SearchCalls(ctx, store.Query{Number: "31201234567", Outcome: analyze.OutcomeBusy})
//
// A batch is one transaction: acknowledged batches survive a killed
// process, an interrupted one leaves no trace.
//
// ClickHouse is the backend for many collectors and months of calls
// (OpenClickHouse): one server or a cluster, over ClickHouse's HTTP
// interface, with a spool on local disk that keeps acknowledged batches
// while ClickHouse is away. Both backends pass one test suite.
package store
