package configsync

import (
	"errors"
	"fmt"
)

// Problem is one thing wrong with a config file. Load and the Parse
// functions return every Problem found, joined with errors.Join.
type Problem struct {
	// File is the file the problem is in, as given to the parser.
	File string
	// Line is the 1-based line, or 0 when the problem has no single line.
	Line int
	// Path is the field path, e.g. "networks[1].node_id"; empty for the file.
	Path string
	// Msg says what is wrong and, where it helps, what to do.
	Msg string
}

// Error formats the problem as "<file>:<line>: <path>: <msg>".
func (p *Problem) Error() string {
	s := p.File
	if p.Line > 0 {
		s = fmt.Sprintf("%s:%d", s, p.Line)
	}
	if p.Path != "" {
		s += ": " + p.Path
	}
	return s + ": " + p.Msg
}

// Problems returns every *Problem inside err (as joined by Load or the Parse
// functions), in order.
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if p, ok := e.(*Problem); ok {
			out = append(out, p)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		walk(errors.Unwrap(e))
	}
	walk(err)
	return out
}

// problems collects Problems for one file.
type problems struct {
	file string
	list []error
}

func (ps *problems) add(line int, path, format string, args ...any) {
	ps.list = append(ps.list, &Problem{File: ps.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error { return errors.Join(ps.list...) }
