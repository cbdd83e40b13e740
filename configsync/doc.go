// Package configsync reads, validates and scaffolds meshmon's configuration:
// the node configuration (nodeconf.yml), each network's config.yml and
// pubkeys/, and the node's Ed25519 key on disk. Parsing is pure (bytes in,
// config or every problem out, each with file, line and field path); writing
// files happens only in the functions whose names say so. GitSync keeps the
// checkouts of git-mode networks (config_type: git) up to date with go-git,
// so no git binary is needed; a checkout only ever moves to a commit whose
// config validates. It imports none of meshmon's other packages. See
// DESIGN.md §3.
package configsync
