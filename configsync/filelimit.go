package configsync

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrTooLarge is wrapped by the error for a config file over its limit.
var ErrTooLarge = errors.New("file too large")

// tooLarge is the error for a file of size bytes over limit.
func tooLarge(size, limit int64) error {
	return fmt.Errorf("%w: %d bytes, at most %s: this is not a meshmon config file (check its name)", ErrTooLarge, size, sizeText(limit))
}

// sizeText writes a limit as KiB or MiB.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// ReadConfigFile reads a config file of at most MaxConfigSize bytes. A
// larger file is an error wrapping ErrTooLarge, found before it is read.
func ReadConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, MaxConfigSize)
}

// readFSFile reads name from fsys, at most limit bytes; name must be a
// regular file (a link is followed where fsys follows it, as os.DirFS does).
func readFSFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (mode %s): it must be the file itself, not a link or directory", st.Mode())
	}
	return readLimited(f, limit)
}

// readLimited reads r whole, failing with ErrTooLarge past limit. The size
// from Stat is checked first; reading stops at limit+1 bytes whatever Stat
// said (a file that grows, a pipe).
func readLimited(f fs.File, limit int64) ([]byte, error) {
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooLarge(st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(int64(len(data)), limit)
	}
	return data, nil
}
