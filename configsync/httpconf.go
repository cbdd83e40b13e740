package configsync

import (
	"slices"
	"strconv"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// HTTPConf is nodeconf's optional http section: the limits, access control
// and TLS of the HTTP sidecar. Without it the sidecar serves plain HTTP to
// anyone, as the spec's quick start expects, within DefaultHTTPConf's
// limits.
type HTTPConf struct {
	// ReadTimeout bounds reading one request, body included (default 30s).
	ReadTimeout Duration
	// WriteTimeout bounds writing one response (default 60s). It does not
	// apply to /api/events/stream, whose every write has its own deadline.
	WriteTimeout Duration
	// IdleTimeout closes a keep-alive connection that sends no new request
	// for this long (default 120s).
	IdleTimeout Duration
	// MaxConnections caps the open connections to the sidecar; one more is
	// closed at once (default 512).
	MaxConnections int
	// MaxStreamsPerClient caps the open /api/events/stream of one client IP
	// address; one more answers 429 (default 8).
	MaxStreamsPerClient int
	// TLS, when set, serves HTTPS instead of HTTP.
	TLS *TLSFiles
	// Auth, when set, requires credentials on every path but Auth.Public.
	Auth *HTTPAuth
}

// TLSFiles names a PEM certificate chain and its private key. A relative
// path is relative to the config dir. The files are read again whenever
// either changes, so a renewed certificate needs no restart.
type TLSFiles struct {
	CertFile string
	KeyFile  string
}

// HTTPAuth is the sidecar's access control. A request passes with any one
// of the bearer tokens (Authorization: Bearer <token>) or any basic-auth
// user and password.
type HTTPAuth struct {
	// BearerTokens are accepted tokens, at least MinBearerTokenLen
	// characters each. Secrets: never logged or shown.
	BearerTokens []string
	// BasicUsers maps a user name to the bcrypt hash of its password.
	BasicUsers map[string]string
	// Public lists the paths served without credentials, out of
	// PublicPaths (default: DefaultPublicPaths).
	Public []string
}

// MinBearerTokenLen is the shortest bearer token accepted.
const MinBearerTokenLen = 16

// PublicPaths are the paths that http.auth.public may exempt from access
// control.
func PublicPaths() []string { return []string{"/api/health", "/api/p2p", "/metrics"} }

// DefaultPublicPaths is http.auth.public when it is not set: /api/p2p,
// which peers read to bootstrap.
func DefaultPublicPaths() []string { return []string{"/api/p2p"} }

// DefaultHTTPConf returns the sidecar settings used where nodeconf sets
// none.
func DefaultHTTPConf() HTTPConf {
	return HTTPConf{
		// A GET without a body needs far less; 30s forgives slow links.
		ReadTimeout: Duration(30 * time.Second),
		// The largest response, /api/view of a big network, is well under
		// a megabyte.
		WriteTimeout: Duration(60 * time.Second),
		// Browsers reuse a connection within a second or two.
		IdleTimeout: Duration(120 * time.Second),
		// Several dashboards, Prometheus and every peer's bootstrap at once.
		MaxConnections: 512,
		// A few dashboard tabs per browser.
		MaxStreamsPerClient: 8,
	}
}

func (d *decoder) httpConf(n *yaml.Node, path string, h *HTTPConf) {
	positiveDuration := func(dst *Duration) func(n *yaml.Node, p string) {
		return func(n *yaml.Node, p string) {
			if v, ok := d.duration(n, p); ok {
				if v <= 0 {
					d.add(n.Line, p, "%s is not positive: use a duration such as 30s", v)
					return
				}
				*dst = v
			}
		}
	}
	positiveInt := func(dst *int) func(n *yaml.Node, p string) {
		return func(n *yaml.Node, p string) {
			if v, ok := d.integer(n, p); ok {
				if v < 1 {
					d.add(n.Line, p, "%d is too small: use at least 1", v)
					return
				}
				*dst = v
			}
		}
	}
	d.mapping(n, path, []field{
		{"read_timeout", positiveDuration(&h.ReadTimeout)},
		{"write_timeout", positiveDuration(&h.WriteTimeout)},
		{"idle_timeout", positiveDuration(&h.IdleTimeout)},
		{"max_connections", positiveInt(&h.MaxConnections)},
		{"max_streams_per_client", positiveInt(&h.MaxStreamsPerClient)},
		{"tls", func(n *yaml.Node, p string) { h.TLS = d.tlsFiles(n, p) }},
		{"auth", func(n *yaml.Node, p string) { h.Auth = d.httpAuth(n, p) }},
	})
}

func (d *decoder) tlsFiles(n *yaml.Node, path string) *TLSFiles {
	t := &TLSFiles{}
	present := d.mapping(n, path, []field{
		{"cert_file", func(n *yaml.Node, p string) { t.CertFile = d.str(n, p) }},
		{"key_file", func(n *yaml.Node, p string) { t.KeyFile = d.str(n, p) }},
	})
	if present == nil {
		return nil
	}
	for _, k := range []string{"cert_file", "key_file"} {
		if missing(present[k]) {
			d.add(n.Line, join(path, k), "required with tls: give the path of a PEM file")
		}
	}
	return t
}

func (d *decoder) httpAuth(n *yaml.Node, path string) *HTTPAuth {
	a := &HTTPAuth{Public: DefaultPublicPaths()}
	present := d.mapping(n, path, []field{
		{"bearer_tokens", func(n *yaml.Node, p string) {
			a.BearerTokens = d.strList(n, p)
			for i, tok := range a.BearerTokens {
				// The token is a secret: the message gives its length only.
				if len(tok) < MinBearerTokenLen {
					d.add(itemLine(n, i), itemPath(p, i), "too short (%d characters): use at least %d, e.g. from openssl rand -hex 32", len(tok), MinBearerTokenLen)
				}
			}
		}},
		{"basic_users", func(n *yaml.Node, p string) {
			if n.Kind != yaml.MappingNode {
				d.add(n.Line, p, "want a mapping of user name to bcrypt hash, got %s", kindName(n))
				return
			}
			a.BasicUsers = map[string]string{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				up := join(p, k.Value)
				if k.Value == "" || !printableNoColon(k.Value) {
					d.add(k.Line, p, "not a valid user name: use printable characters without ':'")
					continue
				}
				if _, dup := a.BasicUsers[k.Value]; dup {
					d.add(k.Line, up, "key appears more than once")
					continue
				}
				hash := d.str(v, up)
				if _, err := bcrypt.Cost([]byte(hash)); err != nil {
					// The hash is not shown: it may be a password pasted by mistake.
					d.add(v.Line, up, "not a bcrypt hash: write the output of htpasswd -nbB user password after the ':', e.g. $2y$10$…")
					continue
				}
				a.BasicUsers[k.Value] = hash
			}
		}},
		{"public", func(n *yaml.Node, p string) {
			a.Public = d.strList(n, p)
			if a.Public == nil {
				a.Public = []string{}
			}
			for i, s := range a.Public {
				if !slices.Contains(PublicPaths(), s) {
					d.add(itemLine(n, i), itemPath(p, i), "%q cannot be public: use any of /api/health, /api/p2p, /metrics", s)
				}
			}
		}},
	})
	if present == nil {
		return nil
	}
	// Only a section with neither key is reported: a bad entry has its own problem.
	if missing(present["bearer_tokens"]) && missing(present["basic_users"]) {
		d.add(n.Line, path, "give bearer_tokens or basic_users (or remove auth to serve without access control)")
	}
	return a
}

// integer decodes a scalar as an int; ok is false on a problem.
func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	s := d.str(n, path)
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		d.add(n.Line, path, "%q is not a whole number", s)
		return 0, false
	}
	return v, true
}

// itemLine is the line of item i of a list node (or of n when it is a
// single value standing for a list of one).
func itemLine(n *yaml.Node, i int) int {
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i].Line
	}
	return n.Line
}

func itemPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func printableNoColon(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ':' {
			return false
		}
	}
	return true
}
