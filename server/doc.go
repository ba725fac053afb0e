// Package server is `sipcause serve`: a live HEP collector, the embedded
// store and a web UI with a JSON API, on one machine with no external
// services.
//
// The Collector receives HEP v1/v2/v3 (the Homer Encapsulation Protocol) over
// UDP and TCP, and optionally plain SIP mirrored over UDP, rebuilds calls
// and registrations with the same analyzer as `sipcause analyze`, and
// writes each finished call with its explanation and raw messages to a
// store.Store. The Handler serves the pages (search, call detail with the
// ladder diagram, registrations, upload with optional storing, code
// lookup, a dashboard of RFC 6076 metrics and failed calls) and the API
// under /api/v1/, from templates and styles embedded in the binary, in
// English or Dutch, with times in HandlerOptions.Location.
//
//	st, _ := store.OpenSQLite("sipcause.db")
//	m := server.NewMetrics()
//	col, _ := server.NewCollector(server.CollectorOptions{HEPAddr: "127.0.0.1:9060"}, st, m)
//	h := server.NewHandler(server.HandlerOptions{}, st, m)
//	go col.Run(ctx)
//	http.ListenAndServe("127.0.0.1:8080", h)
package server
