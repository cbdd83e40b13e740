package configsync

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a parsed YAML document strictly: unknown or repeated keys
// and values of the wrong kind are problems with their line and path, and
// every problem is collected rather than stopping at the first.
type decoder struct {
	problems
}

// parseDocument parses data into its root mapping node, or reports why not.
func (d *decoder) parseDocument(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.add(0, "", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.add(0, "", "file is empty")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		d.add(root.Line, "", "want a mapping of keys to values, got %s", kindName(root))
		return nil
	}
	return root
}

// field handles one key of a mapping.
type field struct {
	name string
	set  func(n *yaml.Node, path string)
}

// mapping visits the keys of n, calling each known field's setter, and
// reports unknown and repeated keys. It returns the keys that were present.
func (d *decoder) mapping(n *yaml.Node, path string, fields []field) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "want a mapping of keys to values, got %s", kindName(n))
		return nil
	}
	seen := map[string]*yaml.Node{}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if _, dup := seen[k.Value]; dup {
			d.add(k.Line, p, "key appears more than once")
			continue
		}
		seen[k.Value] = v
		j := slices.Index(names, k.Value)
		if j < 0 {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := closest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.add(k.Line, p, "%s", msg)
			continue
		}
		fields[j].set(v, p)
	}
	return seen
}

// str decodes a scalar as a string; null is the empty string.
func (d *decoder) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode {
		d.add(n.Line, path, "want a single value, got %s", kindName(n))
		return ""
	}
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// strList decodes a sequence of strings; a single string is a list of one.
func (d *decoder) strList(n *yaml.Node, path string) []string {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return nil
		}
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, "want a list, got %s", kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		out = append(out, d.str(c, fmt.Sprintf("%s[%d]", path, i)))
	}
	return out
}

// seq visits the items of a sequence.
func (d *decoder) seq(n *yaml.Node, path string, each func(i int, n *yaml.Node, path string)) {
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, "want a list, got %s", kindName(n))
		return
	}
	for i, c := range n.Content {
		each(i, c, fmt.Sprintf("%s[%d]", path, i))
	}
}

// duration decodes a duration string such as "1s"; ok is false on a problem.
func (d *decoder) duration(n *yaml.Node, path string) (Duration, bool) {
	s := d.str(n, path)
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.add(n.Line, path, "%q is not a duration: write it with a unit, e.g. 1s or 500ms", s)
		return 0, false
	}
	return Duration(v), true
}

// missing reports whether a required key's value is absent or empty. A
// value of the wrong kind is not missing: it has its own problem already.
func missing(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == ""))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "nothing"
	}
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
