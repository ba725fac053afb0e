package cli

import "github.com/sipcause/sipcause/report"

// The command line draws with the report package's terminal helpers, so
// that every subcommand looks the same.
type painter = report.Painter

func wrap(s, indent string, width int) string { return report.Wrap(s, indent, width) }
func padRight(s string, width int) string     { return report.Pad(s, width) }
func truncate(s string, width int) string     { return report.Truncate(s, width) }
