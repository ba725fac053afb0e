// Command sipcause explains why a SIP call failed and whose side the
// problem is on. See README.md, or run `sipcause help`.
package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/sipcause/sipcause/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.OSEnv(isTerminal)))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
