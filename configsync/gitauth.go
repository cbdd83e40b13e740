package configsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// KnownHostsPath is the known_hosts file inside the config dir that is
// consulted, before the system's, for the host keys of ssh git servers.
const KnownHostsPath = ".ssh/known_hosts"

// Errors of git authentication, for errors.Is.
var (
	// ErrGitTokenUnset: the variable named by git_token_env is unset or empty.
	ErrGitTokenUnset = errors.New("git token environment variable is unset or empty")
	// ErrNoKnownHosts: no known_hosts file exists to check an ssh server's
	// host key against.
	ErrNoKnownHosts = errors.New("no known_hosts file")
)

// gitRemote is how to reach one network's repository: its URL, the
// credentials to send and the secrets to keep out of error text.
type gitRemote struct {
	// url is git_repo as configured (it may hold credentials).
	url string
	// shown is url without credentials, for messages and .git/config.
	shown string
	// auth is nil for local repositories and URL-embedded credentials.
	auth transport.AuthMethod
	// userinfo is the URL's "user:password@", cut out of messages.
	userinfo string
	// secrets are strings never to show: the token, the URL's password.
	secrets []string
}

// remote builds how to reach ref's repository. dir is the config dir, to
// which a relative git_ssh_key is relative.
func (g *GitSync) remote(dir string, ref NetworkRef) (*gitRemote, error) {
	r := &gitRemote{url: ref.GitRepo, shown: RedactGitURL(ref.GitRepo)}
	proto, host, err := gitProtocol(ref.GitRepo)
	if err != nil {
		return nil, fmt.Errorf("git_repo %s: not a git URL", r.shown)
	}
	if u, err := url.Parse(ref.GitRepo); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			r.secrets = append(r.secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
		if proto == "https" || proto == "http" {
			// A user name alone may be a token (https://<token>@host/…).
			r.userinfo = u.User.String() + "@"
		}
	}
	switch {
	case ref.GitTokenEnv != "":
		token := g.getenv(ref.GitTokenEnv)
		if token == "" {
			return nil, fmt.Errorf("git_token_env: %w: set %s to the access token for %s", ErrGitTokenUnset, ref.GitTokenEnv, r.shown)
		}
		r.secrets = append(r.secrets, token)
		user := DefaultTokenUser
		if u, err := url.Parse(ref.GitRepo); err == nil && u.User != nil && u.User.Username() != "" {
			user = u.User.Username()
		}
		r.auth = &githttp.BasicAuth{Username: user, Password: token}
	case ref.GitSSHKey != "":
		auth, err := g.sshAuth(dir, ref, host)
		if err != nil {
			return nil, err
		}
		r.auth = auth
	}
	return r, nil
}

// sshAuth loads git_ssh_key and the known_hosts files for host.
func (g *GitSync) sshAuth(dir string, ref NetworkRef, host string) (*sshKeyAuth, error) {
	keyPath := ref.GitSSHKey
	if !filepath.IsAbs(keyPath) {
		keyPath = filepath.Join(dir, keyPath)
	}
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("git_ssh_key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if _, ok := err.(*ssh.PassphraseMissingError); ok {
		return nil, fmt.Errorf("git_ssh_key %s: the key has a passphrase: use a key without one (ssh-keygen -t ed25519 -N '')", keyPath)
	}
	if err != nil {
		return nil, fmt.Errorf("git_ssh_key %s: not an ssh private key: %v", keyPath, err)
	}
	ep, err := transport.NewEndpoint(ref.GitRepo)
	if err != nil {
		return nil, fmt.Errorf("git_repo %s: not a git URL", RedactGitURL(ref.GitRepo))
	}
	user := ep.User
	if user == "" {
		user = gitssh.DefaultUsername
	}
	port := ep.Port
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	files := g.knownHostsFiles(dir)
	if len(files) == 0 {
		return nil, fmt.Errorf("ssh %s: %w: add the server's host key to %s (e.g. ssh-keyscan %s >> %s)",
			host, ErrNoKnownHosts, filepath.Join(dir, KnownHostsPath), host, filepath.Join(dir, KnownHostsPath))
	}
	db, err := knownhosts.NewDB(files...)
	if err != nil {
		return nil, fmt.Errorf("ssh known_hosts: %w", err)
	}
	return &sshKeyAuth{user: user, signer: signer, db: db, hostPort: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// knownHostsFiles returns the known_hosts files that exist, in order: the
// config dir's .ssh/known_hosts, then those in $SSH_KNOWN_HOSTS (a list),
// or if it is unset ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
func (g *GitSync) knownHostsFiles(dir string) []string {
	candidates := []string{filepath.Join(dir, KnownHostsPath)}
	if env := filepath.SplitList(g.getenv("SSH_KNOWN_HOSTS")); len(env) > 0 {
		candidates = append(candidates, env...)
	} else {
		if home := g.getenv("HOME"); home != "" {
			candidates = append(candidates, filepath.Join(home, ".ssh", "known_hosts"))
		}
		candidates = append(candidates, "/etc/ssh/ssh_known_hosts")
	}
	var out []string
	for _, f := range candidates {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out
}

// sshKeyAuth authenticates with a key file and accepts only host keys
// listed in known_hosts; there is no trust on first use.
type sshKeyAuth struct {
	user     string
	signer   ssh.Signer
	db       *knownhosts.HostKeyDB
	hostPort string
}

// Name implements transport.AuthMethod.
func (a *sshKeyAuth) Name() string { return gitssh.PublicKeysName }

// String implements transport.AuthMethod; it shows no key material.
func (a *sshKeyAuth) String() string { return "user: " + a.user + ", name: " + a.Name() }

// ClientConfig implements gitssh.AuthMethod.
func (a *sshKeyAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback:   a.db.HostKeyCallback(),
		HostKeyAlgorithms: a.db.HostKeyAlgorithms(a.hostPort),
		Timeout:           sshDialTimeout,
	}, nil
}

// gitProtocol returns the transport of a git URL ("https", "http", "ssh",
// "file", "git") and its host.
func gitProtocol(raw string) (proto, host string, err error) {
	if raw == "" {
		return "", "", errors.New("empty URL")
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return "", "", err
	}
	if ep.Protocol != "file" && ep.Host == "" {
		return "", "", errors.New("the URL has no host")
	}
	return ep.Protocol, strings.Trim(ep.Host, "[]"), nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactGitURL returns a git URL safe to show: an http(s) URL loses its
// user info (a user name alone can be a token), any other URL its
// password. scp-like (user@host:path) and local paths are unchanged.
func RedactGitURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.User == nil {
		if err != nil && strings.Contains(raw, "://") {
			// Unparseable but URL-shaped: cut any user info out by hand.
			scheme, rest, _ := strings.Cut(raw, "://")
			if at := strings.LastIndex(rest, "@"); at >= 0 {
				return scheme + "://" + rest[at+1:]
			}
		}
		return raw
	}
	switch u.Scheme {
	case "http", "https":
		u.User = nil
	default:
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// httpUserinfo matches the user info of http(s) URLs in text.
var httpUserinfo = regexp.MustCompile(`(?i)\b(https?://)[^/\s"'@]*@`)

// scrub replaces r's URL and secrets in s.
func (r *gitRemote) scrub(s string) string {
	if r.url != r.shown {
		s = strings.ReplaceAll(s, r.url, r.shown)
	}
	if r.userinfo != "" {
		s = strings.ReplaceAll(s, r.userinfo, "")
	}
	// Any other user info of an http(s) URL, e.g. "user:***@" as net/http
	// prints it.
	s = httpUserinfo.ReplaceAllString(s, "$1")
	for _, sec := range r.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// wrap describes a failed operation on the repository, with every
// credential removed from the text. If the text held a credential, the
// original error is not reachable through Unwrap; the kinds callers branch
// on (auth required or refused, repository not found or empty, context
// ended, a missing file) still match errors.Is.
func (r *gitRemote) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("%s %s: %v", op, r.shown, err)
	clean := r.scrub(msg)
	if clean == msg {
		return fmt.Errorf("%s %s: %w", op, r.shown, err)
	}
	re := &redactedError{msg: clean}
	for _, kind := range []error{
		transport.ErrAuthenticationRequired, transport.ErrAuthorizationFailed,
		transport.ErrRepositoryNotFound, transport.ErrEmptyRemoteRepository,
		context.Canceled, context.DeadlineExceeded, fs.ErrNotExist,
	} {
		if errors.Is(err, kind) {
			re.kinds = append(re.kinds, kind)
		}
	}
	return re
}

// redactedError is an error whose text had credentials removed.
type redactedError struct {
	msg   string
	kinds []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.kinds }
