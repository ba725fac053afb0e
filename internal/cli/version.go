package cli

import (
	"fmt"
	"io"
	"runtime/debug"
)

// versionText says which sipcause this is: the module version (or
// "(devel)" for a build from a checkout), the commit it was built from
// (with "+dirty" when the tree had changes) and the Go version, from the
// build information the Go toolchain embeds.
func versionText(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "sipcause (unknown version: no build information)\n"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	commit, dirty, when := "unknown", false, ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 12 {
				commit = commit[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	if dirty {
		commit += "+dirty"
	}
	out := fmt.Sprintf("sipcause %s\ncommit %s", version, commit)
	if when != "" {
		out += " (" + when + ")"
	}
	return out + "\n" + info.GoVersion + "\n"
}

func runVersion(w io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	_, err := io.WriteString(w, versionText(info, ok))
	return err
}
