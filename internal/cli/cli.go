// Package cli implements the sipcause command line. Every subcommand takes
// its options and writers, returns an error, and leaves exiting to main.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/sipcause/sipcause/catalog"
)

// Exit statuses of the sipcause command.
const (
	ExitOK      = 0 // the input was read (failed calls are findings, not errors)
	ExitDamaged = 1 // an input was damaged; a partial result was printed
	ExitUsage   = 2 // bad usage or an argument that cannot be understood
)

// Env is what the command sees of its process: arguments, streams and
// environment. Tests fill it in; main passes the real ones.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// IsTerminal reports whether w is a terminal (for colour and progress).
	IsTerminal func(w io.Writer) bool
	// MemoryTarget is the memory analyze tries to stay under (see package
	// memlimit); zero leaves the Go runtime's limit alone, as tests do,
	// which share one process.
	MemoryTarget uint64
}

// UsageError is a mistake in how sipcause was called: exit status 2.
// Flag is set when the flag package refused the arguments; Main then
// words it in the reader's language.
type UsageError struct {
	Msg  string
	Cmd  string
	Flag error
}

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// DamagedError says an input could only be read in part: exit status 1.
type DamagedError struct{ Err error }

func (e *DamagedError) Error() string { return e.Err.Error() }
func (e *DamagedError) Unwrap() error { return e.Err }

const usageText = `sipcause explains why a SIP call failed and whose side the problem is on.

Usage:
  sipcause analyze FILE...    explain every call and registration in captures or logs
  sipcause messages FILE...   list every SIP message in captures or logs
  sipcause flow FILE...       draw the ladder diagram of each call (--call ID, --width N)
  sipcause code ARG...        explain a status code, status line, Reason or Warning value
  sipcause codes              list every registered SIP response code
  sipcause serve              web UI, live HEP collector and store (--http, --hep, --db)
  sipcause passwd NAME        print a line for serve --auth-users (bcrypt)
  sipcause version            show the version, the commit and the Go version
  sipcause help [COMMAND]     show this help, or a command's flags

Common flags:
  --lang en|nl   language of the texts (default from LC_ALL, LC_MESSAGES, LANG)
  --json         machine-readable output

Exit status: 0 done, 1 an input was damaged or skipped (partial output) or a
filter (--call, --number) matched nothing, 2 bad usage.
`

// Main runs the sipcause command with args (without the program name) and
// returns the exit status.
func Main(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.IsTerminal == nil {
		env.IsTerminal = func(io.Writer) bool { return false }
	}
	err := run(args, env)
	if err == nil {
		return ExitOK
	}
	var help *helpRequest
	if errors.As(err, &help) {
		fmt.Fprint(env.Stdout, commandHelp(help.fs, langOfArgs(args, env)))
		return ExitOK
	}
	lang := langOfArgs(args, env)
	var ue *UsageError
	if errors.As(err, &ue) {
		if ue.Flag != nil {
			fmt.Fprintf(env.Stderr, "sipcause: %s: %s\n", ue.Cmd, flagErrorText(ue.Flag, lang))
		} else {
			fmt.Fprintf(env.Stderr, "sipcause: %s\n", inputErrorText(err.Error(), lang))
		}
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "sipcause: %s\n", inputErrorText(err.Error(), lang))
	var de *DamagedError
	if errors.As(err, &de) {
		return ExitDamaged
	}
	return ExitDamaged
}

func run(args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usageFor(langFromEnv(env.Getenv)))
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "code":
		return runCode(rest, env)
	case "codes":
		return runCodes(rest, env)
	case "analyze":
		return runAnalyze(rest, env)
	case "messages":
		return runMessages(rest, env)
	case "flow":
		return runFlow(rest, env)
	case "serve":
		return runServe(rest, env)
	case "passwd":
		return runPasswd(rest, env)
	case "version", "--version", "-version":
		return runVersion(env.Stdout)
	case "help", "-h", "--help":
		if len(rest) > 0 {
			if _, ok := synopses[rest[0]]; ok {
				return run([]string{rest[0], "--help"}, env)
			}
		}
		fmt.Fprint(env.Stdout, usageFor(langOfArgs(args, env)))
		return nil
	}
	return usagef("unknown command %q (try: sipcause help)", cmd)
}

// parseFlags parses fs over args, allowing flags after positional
// arguments, and returns the positional arguments. "--" ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs: fs}
			}
			return nil, &UsageError{Msg: fmt.Sprintf("%s: %v", fs.Name(), err), Cmd: fs.Name(), Flag: err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// helpRequest is -h or --help on a subcommand: its help goes to standard
// output and the exit status is 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return "help requested" }

// synopses are the first lines of each subcommand's help.
var synopses = map[string]string{
	"analyze":  "sipcause analyze [flags] FILE...\n\nRebuilds every call and registration in captures (pcap, pcapng, HEP, gzip) or\nSIP logs (\"-\" is standard input) and explains each failure and whose side it is on.",
	"messages": "sipcause messages [flags] FILE...\n\nLists every SIP message, then, on standard error, the zone of its times and the capture's integrity counts.",
	"flow":     "sipcause flow [flags] FILE...\n\nDraws the ladder diagram of each call (or of one) in the terminal.",
	"code":     "sipcause code [flags] ARG...\n\nExplains status codes (486), status lines (SIP/2.0 486 Busy Here),\nReason values (Q.850;cause=17) and Warning values (399 host \"text\").",
	"codes":    "sipcause codes [flags]\n\nLists every registered SIP response code.",
	"serve":    "sipcause serve [flags]\n\nRuns the web UI, the JSON API and the HEP/SIP collector, storing calls in SQLite.",
	"passwd":   "sipcause passwd NAME\n\nReads a password (asked twice on a terminal, else the first line of standard input)\nand prints NAME:bcrypt-hash, a line for the file of serve --auth-users.",
}

// commandHelp is a subcommand's help in lang. The commands a helpdesk
// uses have their Dutch words; serve and passwd, for administrators, keep
// the English ones of their flags.
func commandHelp(fs *flag.FlagSet, lang catalog.Lang) string {
	usage, flags, value, def, synopsis := "Usage: ", "Flags:", " VALUE", "default", synopses[fs.Name()]
	if lang == catalog.Dutch {
		usage, flags, value, def = "Gebruik: ", "Opties:", " WAARDE", "standaard"
		if nl, ok := synopsesNL[fs.Name()]; ok {
			synopsis = nl
		}
	}
	var b strings.Builder
	b.WriteString(usage)
	b.WriteString(synopsis)
	b.WriteString("\n\n" + flags + "\n")
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
			name += value
		}
		text := f.Usage
		if lang == catalog.Dutch {
			if nl, ok := flagsNL[fs.Name()+"."+f.Name]; ok {
				text = nl
			} else if nl, ok := flagsNL[f.Name]; ok {
				text = nl
			}
		}
		line := fmt.Sprintf("  %-22s %s", name, text)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			line += " (" + def + " " + f.DefValue + ")"
		}
		b.WriteString(line + "\n")
	})
	return b.String()
}

// usageFor is the command's overview in lang.
func usageFor(lang catalog.Lang) string {
	if lang == catalog.Dutch {
		return usageTextNL
	}
	return usageText
}

const usageTextNL = `sipcause legt uit waarom een SIP-gesprek mislukte en bij wie de oorzaak ligt.

Gebruik:
  sipcause analyze BESTAND...   elk gesprek en elke aanmelding in opnames of logs uitleggen
  sipcause messages BESTAND...  elk SIP-bericht in opnames of logs tonen
  sipcause flow BESTAND...      het berichtenverloop van elk gesprek tekenen (--call ID, --width N)
  sipcause code WAARDE...       een statuscode, statusregel, Reason- of Warning-waarde uitleggen
  sipcause codes                elke geregistreerde SIP-statuscode tonen
  sipcause serve                web-UI, HEP-collector en opslag (--http, --hep, --db)
  sipcause passwd NAAM          een regel voor serve --auth-users afdrukken (bcrypt)
  sipcause version              versie, commit en Go-versie tonen
  sipcause help [OPDRACHT]      deze hulp tonen, of de opties van een opdracht

Algemene opties:
  --lang en|nl   taal van de teksten (standaard uit LC_ALL, LC_MESSAGES, LANG)
  --json         uitvoer voor programma's

Afsluitstatus: 0 klaar, 1 een invoer was beschadigd of is overgeslagen (het
rapport is onvolledig) of een filter (--call, --number) vond niets, 2 verkeerd
gebruik.
`

// synopsesNL are the synopses of the helpdesk's commands in Dutch.
var synopsesNL = map[string]string{
	"analyze":  "sipcause analyze [opties] BESTAND...\n\nBouwt elk gesprek en elke aanmelding na uit opnames (pcap, pcapng, HEP, gzip) of\nSIP-logs (\"-\" is standaardinvoer) en legt bij elke storing uit wat er misging en bij wie de oorzaak ligt.",
	"messages": "sipcause messages [opties] BESTAND...\n\nToont elk SIP-bericht; daarna, op standaardfout, de tijdzone van de tijden en de tellingen van de opname.",
	"flow":     "sipcause flow [opties] BESTAND...\n\nTekent het berichtenverloop van elk gesprek (of van één) in de terminal.",
	"code":     "sipcause code [opties] WAARDE...\n\nLegt statuscodes (486), statusregels (SIP/2.0 486 Busy Here),\nReason-waarden (Q.850;cause=17) en Warning-waarden (399 host \"tekst\") uit.",
	"codes":    "sipcause codes [opties]\n\nToont elke geregistreerde SIP-statuscode.",
}

// flagsNL are the Dutch descriptions of the helpdesk's flags, by name or
// by command.name where a name means something else per command.
var flagsNL = map[string]string{
	"all":            "tekst: leg ook de opgenomen gesprekken uit",
	"call":           "toon alleen het gesprek met deze Call-ID (of een uniek begin ervan)",
	"cpuprofile":     "schrijf een CPU-profiel van de run naar dit bestand (voor go tool pprof)",
	"csv":            "één CSV-regel per gesprek",
	"html":           "schrijf ook een losstaand HTML-rapport naar dit bestand (- voor standaarduitvoer)",
	"analyze.json":   "het rapport als JSON",
	"messages.json":  "JSON Lines",
	"code.json":      "JSON",
	"codes.json":     "JSON",
	"lang":           "taal: en of nl",
	"local":          "uw eigen kant: IP-adres, CIDR of hostnaam (mag vaker)",
	"memprofile":     "schrijf aan het eind van de run een heap-profiel naar dit bestand",
	"no-media":       "sla RTP en RTCP over (geen oordeel over het geluid; sneller bij opnames die vooral media zijn)",
	"number":         "toon alleen gesprekken en aanmeldingen van dit nummer of deze gebruiker (het overzicht blijft compleet)",
	"perspective":    "wie het rapport leest: customer (\"uw provider\") of provider (\"ons netwerk/platform\", \"de kant van de klant\")",
	"redact":         "vervang nummers, gebruikersnamen en IP-adressen door pseudoniemen",
	"redact-domains": "met --redact: vervang ook domeinnamen en de namen van invoerbestanden",
	"stats":          "tekst: ook de RFC 6076-meetwaarden per gesprekspartner",
	"tz":             "tijdzone van de getoonde tijden: een IANA-naam (Europe/Amsterdam), UTC of local (standaard: de zone van het systeem, TZ telt mee)",
	"width":          "breedte van het diagram in kolommen",
	"class":          "alleen deze klasse (1..6)",
}

// langFromEnv picks the language from the POSIX locale variables, in their
// order of precedence: nl_* gives Dutch, anything else English.
func langFromEnv(getenv func(string) string) catalog.Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "nl") {
				return catalog.Dutch
			}
			return catalog.English
		}
	}
	return catalog.English
}

// langFlag registers --lang on fs; call resolve after parsing.
func langFlag(fs *flag.FlagSet, env Env) func() (catalog.Lang, error) {
	s := fs.String("lang", "", "language: en or nl")
	return func() (catalog.Lang, error) {
		if *s == "" {
			return langFromEnv(env.Getenv), nil
		}
		l, err := catalog.ParseLang(*s)
		if err != nil {
			return "", usagef("--lang %q: want en or nl", *s)
		}
		return l, nil
	}
}

// perspectiveFlag registers --perspective on fs: who reads the verdict,
// the provider's customer (the default) or the provider's own helpdesk
// (review T25); it changes only how the side is worded.
func perspectiveFlag(fs *flag.FlagSet) func() (catalog.Perspective, error) {
	s := fs.String("perspective", "customer", "who reads the report: customer (\"your provider\") or provider (\"our network\", \"the customer's side\")")
	return func() (catalog.Perspective, error) {
		p := catalog.Perspective(strings.ToLower(*s))
		if !p.Valid() {
			return "", usagef("--perspective %q: want customer or provider", *s)
		}
		return p, nil
	}
}

// useColour reports whether to colour output written to w: only on a
// terminal, and never when NO_COLOR is set (https://no-color.org).
func useColour(env Env, w io.Writer) bool {
	if env.Getenv("NO_COLOR") != "" || env.Getenv("TERM") == "dumb" {
		return false
	}
	return env.IsTerminal(w)
}

// OSEnv returns the Env of the running process.
func OSEnv(isTerminal func(io.Writer) bool) Env {
	env := Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, IsTerminal: isTerminal}
	if os.Getenv("GOMEMLIMIT") == "" && os.Getenv("GOGC") == "" {
		env.MemoryTarget = analyzeMemoryTarget
	}
	return env
}

// analyzeMemoryTarget is what analyze tries to stay under: with the binary's
// own pages and the capture's mapped windows (about 15 MiB the collector
// does not count), a peak below 100 MB on a busy hour's capture at twice
// its call rate (issue 12: 94 MiB, against 98 MiB with 84 MiB here, for
// five more collections of 36); a user who sets GOMEMLIMIT or GOGC decides
// instead.
const analyzeMemoryTarget = 78 << 20

// langOfArgs is the language a usage error is worded in: --lang as given
// (even after the flag that was refused, so not yet parsed), else the
// locale.
func langOfArgs(args []string, env Env) catalog.Lang {
	for i, a := range args {
		v, ok := "", false
		switch {
		case a == "--lang" || a == "-lang":
			if i+1 < len(args) {
				v, ok = args[i+1], true
			}
		case strings.HasPrefix(a, "--lang="), strings.HasPrefix(a, "-lang="):
			v, ok = a[strings.Index(a, "=")+1:], true
		}
		if ok {
			if l, err := catalog.ParseLang(v); err == nil {
				return l
			}
		}
	}
	return langFromEnv(env.Getenv)
}

// flagErrors are the messages of Go's flag package, with their Dutch
// wording: what a helpdesk agent sees after a typing mistake in a flag.
var flagErrors = []struct {
	re *regexp.Regexp
	nl string
}{
	{regexp.MustCompile(`^flag provided but not defined: (.*)$`), "onbekende optie: $1 (zie sipcause help)"},
	{regexp.MustCompile(`^flag needs an argument: (.*)$`), "optie $1 heeft een waarde nodig"},
	{regexp.MustCompile(`^invalid boolean value (".*") for (.*): .*$`), "ongeldige waarde $1 voor $2: gebruik true of false"},
	{regexp.MustCompile(`^invalid value (".*") for flag (.*): .*$`), "ongeldige waarde $1 voor optie $2"},
	{regexp.MustCompile(`^bad flag syntax: (.*)$`), "onjuist geschreven optie: $1"},
}

// flagErrorText words an error of the flag package in lang.
func flagErrorText(err error, lang catalog.Lang) string {
	msg := err.Error()
	if lang != catalog.Dutch {
		return msg
	}
	for _, f := range flagErrors {
		if f.re.MatchString(msg) {
			return f.re.ReplaceAllString(msg, f.nl)
		}
	}
	return msg
}

// inputErrorsNL words in Dutch what the readers and the system say about
// an input that cannot be read: a helpdesk agent who drops a wrong file
// among the captures reads why it was skipped in the report's language.
var inputErrorsNL = strings.NewReplacer(
	"not a pcap, pcapng, HEP or SIP log file", "geen pcap-, pcapng-, HEP- of SIP-logbestand",
	" (skipped)", " (overgeslagen)",
	"no such file or directory", "bestand of map bestaat niet",
	"permission denied", "geen toegang",
	"is a directory", "is een map",
)

// openPrefix is the verb os puts before a path it could not open.
var openPrefix = regexp.MustCompile(`(^|\n|: )open (\S+): `)

// optionErrorsNL are the command's own refusals of an option's value,
// worded in Dutch (the option's words stay as typed).
var optionErrorsNL = []struct {
	re *regexp.Regexp
	nl string
}{
	{regexp.MustCompile(`^--tz (".*"): not a time zone \(try Europe/Amsterdam or UTC\)$`), "--tz $1: geen tijdzone (probeer Europe/Amsterdam of UTC)"},
	{regexp.MustCompile(`^--perspective (".*"): want customer or provider$`), "--perspective $1: kies customer (klant) of provider"},
	{regexp.MustCompile(`^no command given$`), "geen opdracht gegeven (zie sipcause help)"},
	{regexp.MustCompile(`^unknown command (".*") \(try: sipcause help\)$`), "onbekende opdracht $1 (zie sipcause help)"},
	{regexp.MustCompile(`^code: give at least one code, status line, Reason or Warning value \(e\.g\. sipcause code 486\)$`), "code: geef minstens één code, statusregel, Reason- of Warning-waarde op (bijvoorbeeld sipcause code 486)"},
	{regexp.MustCompile(`^codes: unexpected argument (".*") \(to explain one code: sipcause code (.*)\)$`), "codes: onverwacht argument $1 (één code uitleggen: sipcause code $2)"},
	{regexp.MustCompile(`^codes: --class (-?\d+): want 1 to 6$`), "codes: --class $1: kies 1 tot en met 6"},
	{regexp.MustCompile(`^flow: --width (-?\d+): want 40 to 1000$`), "flow: --width $1: kies 40 tot en met 1000"},
}

// inputErrorText words an error about an input or an option's value in
// lang; other errors pass.
func inputErrorText(msg string, lang catalog.Lang) string {
	if lang != catalog.Dutch {
		return msg
	}
	for _, o := range optionErrorsNL {
		if o.re.MatchString(msg) {
			return o.re.ReplaceAllString(msg, o.nl)
		}
	}
	return inputErrorsNL.Replace(openPrefix.ReplaceAllString(msg, "$1$2: "))
}
