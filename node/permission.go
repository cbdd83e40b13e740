package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// explainPermission turns a permission error on the config dir into one
// that says what to do: the usual cause is a container running as another
// user than the one owning the mounted ./config.
func explainPermission(dir string, err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	owner := ""
	if fi, serr := os.Stat(dir); serr == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			owner = fmt.Sprintf(" (owned by uid %d, gid %d)", st.Uid, st.Gid)
		}
	}
	return fmt.Errorf("%w\nthis process (uid %d) cannot write the config dir %s%s: run it as the owner "+
		"(with Docker: --user \"$(id -u):$(id -g)\") or give the dir to this user (chown -R %d %s)",
		err, os.Getuid(), dir, owner, os.Getuid(), dir)
}
