package configsync

import (
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeFS is a commit's tree as an fs.FS, so that a commit is validated by
// the same code as a directory on disk (loadNetworkFS). Files are read from
// the object store, never from the checkout's working tree.
type treeFS struct{ root *object.Tree }

// Open opens a file or directory of the tree.
func (t treeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &treeDir{name: ".", tree: t.root}, nil
	}
	e, err := t.root.FindEntry(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if e.Mode == filemode.Dir {
		sub, err := t.root.Tree(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeDir{name: name, tree: sub}, nil
	}
	info := treeInfo{name: path.Base(name), mode: fileMode(e.Mode)}
	if e.Mode == filemode.Regular || e.Mode == filemode.Executable {
		f, err := t.root.TreeEntryFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		info.size = f.Size
		return &treeFile{info: info, file: f}, nil
	}
	return &treeFile{info: info}, nil
}

// fileMode maps a git file mode to an fs.FileMode.
func fileMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Regular, filemode.Deprecated:
		return 0o644
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Dir:
		return fs.ModeDir | 0o755
	default: // a submodule
		return fs.ModeIrregular
	}
}

// treeInfo is the fs.FileInfo of a tree entry.
type treeInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i treeInfo) Name() string       { return i.name }
func (i treeInfo) Size() int64        { return i.size }
func (i treeInfo) Mode() fs.FileMode  { return i.mode }
func (i treeInfo) ModTime() time.Time { return time.Time{} }
func (i treeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i treeInfo) Sys() any           { return nil }

// treeFile is an open file of a tree; its blob is read on the first Read.
type treeFile struct {
	info treeInfo
	file *object.File // nil for a link or submodule
	r    io.ReadCloser
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *treeFile) Read(p []byte) (int, error) {
	if f.file == nil {
		return 0, &fs.PathError{Op: "read", Path: f.info.name, Err: fs.ErrInvalid}
	}
	if f.r == nil {
		r, err := f.file.Reader()
		if err != nil {
			return 0, err
		}
		f.r = r
	}
	return f.r.Read(p)
}

func (f *treeFile) Close() error {
	if f.r != nil {
		return f.r.Close()
	}
	return nil
}

// treeDir is an open directory of a tree.
type treeDir struct {
	name string
	tree *object.Tree
	read int // entries already returned by ReadDir
}

func (d *treeDir) Stat() (fs.FileInfo, error) {
	return treeInfo{name: path.Base(d.name), mode: fs.ModeDir | 0o755}, nil
}

func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}

func (d *treeDir) Close() error { return nil }

// ReadDir returns the directory's entries in the tree's (name) order.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.tree.Entries[d.read:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	out := make([]fs.DirEntry, 0, len(rest))
	for _, e := range rest {
		info := treeInfo{name: e.Name, mode: fileMode(e.Mode)}
		if e.Mode == filemode.Regular || e.Mode == filemode.Executable {
			if f, err := d.tree.TreeEntryFile(&e); err == nil {
				info.size = f.Size
			}
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	d.read += len(rest)
	return out, nil
}
