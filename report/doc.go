// Package report renders an analysis (analyze.Report) for people and
// programs: aligned text for a terminal, JSON with a schema version, CSV
// with one row per call, and a self-contained HTML page with a ladder
// diagram per call. Every format comes from the same model, so the CLI and
// the web UI say the same thing.
package report
