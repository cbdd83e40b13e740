// Package version holds the build's version and commit, stamped at link time
// with -ldflags "-X github.com/meshmon/meshmon/version.Version=… -X …Commit=…".
package version

// Version is the release version, "dev" for an unstamped build.
var Version = "dev"

// Commit is the git commit the binary was built from, "unknown" when unstamped.
var Commit = "unknown"

// String returns "Version (Commit)".
func String() string { return Version + " (" + Commit + ")" }
