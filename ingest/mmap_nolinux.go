//go:build unix && !linux

package ingest

// mapPopulate is MAP_POPULATE where the system has it.
const mapPopulate = 0
