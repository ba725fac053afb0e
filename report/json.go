package report

import (
	"encoding/json"
	"io"

	"github.com/sipcause/sipcause/analyze"
)

// JSON writes r as indented JSON. Map keys are sorted by encoding/json and
// struct fields keep their declared order, so the same report always gives
// the same bytes.
func JSON(w io.Writer, r *analyze.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
