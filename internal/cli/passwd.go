package cli

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sipcause/sipcause/server"
)

// runPasswd prints a users-file line for `serve --auth-users`: the name
// and a bcrypt hash of the password, read from standard input (asked
// twice, without echo, on a terminal).
func runPasswd(args []string, env Env) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" || strings.ContainsAny(pos[0], ":\n\r") {
		return usagef("passwd: give one user name (without ':')")
	}
	var pass []byte
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return err
		}
		fmt.Fprint(env.Stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return err
		}
		if string(p1) != string(p2) {
			return usagef("passwd: the passwords differ")
		}
		pass = p1
	} else {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return usagef("passwd: no password on standard input")
		}
		pass = []byte(strings.TrimRight(line, "\r\n"))
	}
	h, err := server.HashPassword(pass)
	if err != nil {
		return usagef("passwd: %v", err)
	}
	_, err = fmt.Fprintf(env.Stdout, "%s:%s\n", pos[0], h)
	return err
}
