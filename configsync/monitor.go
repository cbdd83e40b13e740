package configsync

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxMonitors is the most monitors a network may define. Each member
// publishes one result per monitor it runs, so the limit bounds the size of
// a MonitorReport (the wire protocol allows 128).
const MaxMonitors = 100

// Monitor types.
const (
	MonitorHTTP  = "http"
	MonitorHTTPS = "https"
	MonitorTCP   = "tcp"
	MonitorDNS   = "dns"
	MonitorTLS   = "tls"
	MonitorPing  = "ping"
)

// MonitorTypes lists the monitor types, in documentation order.
func MonitorTypes() []string {
	return []string{MonitorHTTP, MonitorHTTPS, MonitorTCP, MonitorDNS, MonitorTLS, MonitorPing}
}

// DNSRecordTypes are the record types a dns monitor may query.
func DNSRecordTypes() []string {
	return []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "PTR", "SOA"}
}

// HTTPMethods are the methods an http monitor may use.
func HTTPMethods() []string {
	return []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions}
}

// Monitor defaults (docs/monitors.md).
const (
	DefaultMonitorGroup    = "default"
	DefaultMonitorInterval = Duration(time.Minute)
	DefaultMonitorRetry    = 1
	DefaultMonitorTimeout  = Duration(10 * time.Second)
	DefaultTLSWarnDays     = 14
)

// Monitor is one entry of a network's monitors: an external service that
// every member it names probes, with one agreed verdict.
type Monitor struct {
	// Name identifies the monitor in the network (unique).
	Name string
	// Type is one of MonitorTypes.
	Type string
	// Host is what is probed: a URL for http/https (a bare host gets the
	// type's scheme), host:port for tcp, host or host:port for tls (port
	// 443), a domain name for dns, a host or IP for ping.
	Host string
	// Group groups monitors on the dashboard (default "default").
	Group string
	// Interval is the time between probes (default 1m).
	Interval Duration
	// Timeout bounds one probe (default the smaller of 10s and Interval).
	Timeout Duration
	// Retry is how many consecutive failed probes a vantage point retries,
	// Interval/4 apart, before it reports the monitor down (default 1).
	Retry int
	// Allow lists the members that run it (empty: every member); Block
	// lists members that do not.
	Allow, Block []string

	// Method, Headers, FollowRedirects, ExpectStatus, BodyContains,
	// BodyRegex and MaxResponseTime are for http and https; SkipTLSVerify
	// for http, https and tls.
	Method          string
	Headers         map[string]string
	FollowRedirects bool
	SkipTLSVerify   bool
	ExpectStatus    []int
	BodyContains    string
	BodyRegex       string
	MaxResponseTime Duration

	// RecordType and Server are for dns: the record type (default A) and
	// the server as host or host:port (default: the system resolver).
	RecordType string
	Server     string

	// WarnDays is for tls (default 14) and https (default 0: off): warn
	// when the certificate expires within this many days.
	WarnDays int
}

// Runs reports whether member nodeID runs the monitor (allow and block).
func (m Monitor) Runs(nodeID string) bool {
	if len(m.Allow) > 0 && !slices.Contains(m.Allow, nodeID) {
		return false
	}
	return !slices.Contains(m.Block, nodeID)
}

// Runners returns the members of nc that run the monitor, in config order.
func (m Monitor) Runners(nc *NetworkConfig) []string {
	var out []string
	for _, mem := range nc.NodeConfig {
		if m.Runs(mem.NodeID) {
			out = append(out, mem.NodeID)
		}
	}
	return out
}

// Target is Host as it can be shown: a URL without user info, query or
// fragment (they may hold credentials).
func (m Monitor) Target() string {
	if m.Type != MonitorHTTP && m.Type != MonitorHTTPS {
		return m.Host
	}
	u, err := url.Parse(m.Host)
	if err != nil {
		return "(invalid url)"
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}

// monitorNamePattern is what a monitor name may be: it is a metric label, a
// path segment of the API and a word in alerts.
var monitorNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$`)

const monitorNameRule = "use 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit and not ending in a space"

// httpOnly are the fields that only http and https monitors take.
var httpOnly = []string{"method", "headers", "follow_redirects", "expect_status",
	"body_contains", "body_regex", "max_response_time"}

// monitors decodes the monitors list; members are checked after node_config.
func (d *decoder) monitors(n *yaml.Node, path string) []Monitor {
	var out []Monitor
	d.seq(n, path, func(i int, n *yaml.Node, p string) {
		out = append(out, d.monitor(n, p))
	})
	if len(out) > MaxMonitors {
		d.add(n.Line, path, "%d monitors; a network has at most %d", len(out), MaxMonitors)
	}
	return out
}

func (d *decoder) monitor(n *yaml.Node, path string) Monitor {
	m := Monitor{Group: DefaultMonitorGroup, Interval: DefaultMonitorInterval, Retry: DefaultMonitorRetry, WarnDays: -1}
	lines := map[string]int{}
	at := func(key string, n *yaml.Node) { lines[key] = n.Line }
	present := d.mapping(n, path, []field{
		{"name", func(n *yaml.Node, p string) {
			at("name", n)
			m.Name = d.str(n, p)
			if m.Name != "" && !monitorNamePattern.MatchString(m.Name) {
				d.add(n.Line, p, "%q is not a valid monitor name: %s", m.Name, monitorNameRule)
			}
		}},
		{"type", func(n *yaml.Node, p string) {
			at("type", n)
			m.Type = d.str(n, p)
			if m.Type != "" && !slices.Contains(MonitorTypes(), m.Type) {
				d.add(n.Line, p, "%q is not a monitor type: use %s", m.Type, strings.Join(MonitorTypes(), ", "))
			}
		}},
		{"host", func(n *yaml.Node, p string) { at("host", n); m.Host = d.str(n, p) }},
		{"group", func(n *yaml.Node, p string) {
			m.Group = d.str(n, p)
			if m.Group == "" || len(m.Group) > 64 || !printableNoColon(m.Group) {
				d.add(n.Line, p, "%q is not a group name: use 1-64 printable characters", m.Group)
			}
		}},
		{"interval", func(n *yaml.Node, p string) {
			at("interval", n)
			if v, ok := d.duration(n, p); ok {
				m.Interval = v
				if v < Duration(time.Second) || v > Duration(24*time.Hour) {
					d.add(n.Line, p, "%s is out of range: use 1s to 24h", v)
				}
			}
		}},
		{"timeout", func(n *yaml.Node, p string) {
			at("timeout", n)
			if v, ok := d.duration(n, p); ok {
				m.Timeout = v
				if v < Duration(100*time.Millisecond) || v > Duration(time.Minute) {
					d.add(n.Line, p, "%s is out of range: use 100ms to 1m", v)
				}
			}
		}},
		{"retry", func(n *yaml.Node, p string) {
			if v, ok := d.integer(n, p); ok {
				m.Retry = v
				if v < 0 || v > 10 {
					d.add(n.Line, p, "%d is out of range: use 0 to 10", v)
				}
			}
		}},
		{"allow", func(n *yaml.Node, p string) { at("allow", n); m.Allow = d.strList(n, p) }},
		{"block", func(n *yaml.Node, p string) { at("block", n); m.Block = d.strList(n, p) }},
		{"method", func(n *yaml.Node, p string) {
			m.Method = strings.ToUpper(d.str(n, p))
			if m.Method != "" && !slices.Contains(HTTPMethods(), m.Method) {
				d.add(n.Line, p, "%q is not a method: use %s", m.Method, strings.Join(HTTPMethods(), ", "))
			}
		}},
		{"headers", func(n *yaml.Node, p string) { m.Headers = d.headers(n, p) }},
		{"follow_redirects", func(n *yaml.Node, p string) { m.FollowRedirects = d.boolean(n, p, true) }},
		{"skip_tls_verify", func(n *yaml.Node, p string) { m.SkipTLSVerify = d.boolean(n, p, m.SkipTLSVerify) }},
		{"expect_status", func(n *yaml.Node, p string) { m.ExpectStatus = d.statusCodes(n, p) }},
		{"body_contains", func(n *yaml.Node, p string) { m.BodyContains = d.str(n, p) }},
		{"body_regex", func(n *yaml.Node, p string) {
			m.BodyRegex = d.str(n, p)
			if _, err := regexp.Compile(m.BodyRegex); err != nil {
				d.add(n.Line, p, "not a valid regular expression (RE2 syntax): %v", err)
			}
		}},
		{"max_response_time", func(n *yaml.Node, p string) {
			at("max_response_time", n)
			if v, ok := d.duration(n, p); ok {
				m.MaxResponseTime = v
				if v <= 0 {
					d.add(n.Line, p, "%s must be positive", v)
				}
			}
		}},
		{"record_type", func(n *yaml.Node, p string) {
			m.RecordType = strings.ToUpper(d.str(n, p))
			if !slices.Contains(DNSRecordTypes(), m.RecordType) {
				d.add(n.Line, p, "%q is not a record type: use %s", m.RecordType, strings.Join(DNSRecordTypes(), ", "))
			}
		}},
		{"server", func(n *yaml.Node, p string) {
			m.Server = d.str(n, p)
			if err := checkHostPort(m.Server, "53"); err != nil {
				d.add(n.Line, p, "%q: %v, e.g. 1.1.1.1 or dns.example.com:53", m.Server, err)
			}
		}},
		{"warn_days", func(n *yaml.Node, p string) {
			if v, ok := d.integer(n, p); ok {
				m.WarnDays = v
				if v < 0 || v > 365 {
					d.add(n.Line, p, "%d is out of range: use 0 to 365", v)
				}
			}
		}},
	})
	if present == nil {
		return m
	}
	for _, key := range []string{"name", "type", "host"} {
		if present[key] == nil {
			d.add(n.Line, join(path, key), "required")
		} else if missing(present[key]) {
			d.add(present[key].Line, join(path, key), "must not be empty")
		}
	}
	if m.Timeout == 0 {
		m.Timeout = min(DefaultMonitorTimeout, m.Interval)
	} else if m.Timeout > m.Interval {
		d.add(lines["timeout"], join(path, "timeout"), "%s is longer than the interval %s", m.Timeout, m.Interval)
	}
	if m.MaxResponseTime > m.Timeout {
		d.add(lines["max_response_time"], join(path, "max_response_time"),
			"%s is longer than the timeout %s: a probe stops at the timeout", m.MaxResponseTime, m.Timeout)
	}
	isHTTP := m.Type == MonitorHTTP || m.Type == MonitorHTTPS
	if !isHTTP && m.Type != "" {
		for _, key := range httpOnly {
			if present[key] != nil {
				d.add(present[key].Line, join(path, key), "applies to http and https monitors only, not %s", m.Type)
			}
		}
	}
	if m.Type != MonitorDNS && m.Type != "" {
		for _, key := range []string{"record_type", "server"} {
			if present[key] != nil {
				d.add(present[key].Line, join(path, key), "applies to dns monitors only, not %s", m.Type)
			}
		}
	}
	if m.Type != MonitorTLS && m.Type != MonitorHTTPS && m.Type != "" && present["warn_days"] != nil {
		d.add(present["warn_days"].Line, join(path, "warn_days"), "applies to tls and https monitors only, not %s", m.Type)
	}
	if !isHTTP && m.Type != MonitorTLS && m.Type != "" && present["skip_tls_verify"] != nil {
		d.add(present["skip_tls_verify"].Line, join(path, "skip_tls_verify"), "applies to http, https and tls monitors only, not %s", m.Type)
	}
	if m.WarnDays < 0 {
		m.WarnDays = 0
		if m.Type == MonitorTLS {
			m.WarnDays = DefaultTLSWarnDays
		}
	}
	if isHTTP && m.Method == "" {
		m.Method = http.MethodGet
	}
	if isHTTP && present["follow_redirects"] == nil {
		m.FollowRedirects = true
	}
	if m.Type == MonitorDNS && m.RecordType == "" {
		m.RecordType = "A"
	}
	if m.Host != "" {
		host, err := normalizeMonitorHost(m.Type, m.Host)
		if err != nil {
			d.add(lines["host"], join(path, "host"), "%v", err)
		} else {
			m.Host = host
		}
	}
	return m
}

// normalizeMonitorHost checks host for a monitor of type typ and returns it
// in the form the probe takes (a bare http host gets its scheme).
func normalizeMonitorHost(typ, host string) (string, error) {
	switch typ {
	case MonitorHTTP, MonitorHTTPS:
		if !strings.Contains(host, "://") {
			host = typ + "://" + host
		}
		u, err := url.Parse(host)
		if err != nil {
			return "", fmt.Errorf("%q is not a URL, e.g. https://example.com/health", host)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", fmt.Errorf("%q: use an http:// or https:// URL", host)
		}
		if typ == MonitorHTTPS && u.Scheme != "https" {
			return "", fmt.Errorf("%q: an https monitor needs an https:// URL (or use type http)", host)
		}
		if u.Hostname() == "" {
			return "", fmt.Errorf("%q has no host, e.g. https://example.com/health", host)
		}
		return host, nil
	case MonitorTCP:
		h, port, err := net.SplitHostPort(host)
		if err != nil || h == "" || port == "" {
			return "", fmt.Errorf("%q: a tcp monitor needs host:port, e.g. db.example.com:5432", host)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", fmt.Errorf("%q: %q is not a port number", host, port)
		}
		return host, nil
	case MonitorTLS:
		if err := checkHostPort(host, "443"); err != nil {
			return "", fmt.Errorf("%q: %v, e.g. example.com or example.com:8443", host, err)
		}
		return host, nil
	case MonitorDNS, MonitorPing:
		if strings.ContainsAny(host, "/:@ ") && net.ParseIP(host) == nil {
			return "", fmt.Errorf("%q: a %s monitor takes a bare host name or IP address, e.g. example.com", host, typ)
		}
		return host, nil
	}
	return host, nil
}

// checkHostPort accepts "host" or "host:port".
func checkHostPort(s, defPort string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/@ ") {
		return fmt.Errorf("give a host or host:port, not a URL")
	}
	h, port, err := net.SplitHostPort(s)
	if err != nil {
		h, port = strings.Trim(s, "[]"), defPort
	}
	if h == "" {
		return fmt.Errorf("no host")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q is not a port number", port)
	}
	return nil
}

// headers decodes a mapping of header names to values.
func (d *decoder) headers(n *yaml.Node, path string) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "want a mapping of header names to values, got %s", kindName(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		name := http.CanonicalHeaderKey(k.Value)
		switch {
		case !validHeaderName(k.Value):
			d.add(k.Line, p, "%q is not a header name", k.Value)
		case name == "User-Agent":
			d.add(k.Line, p, "meshmon sets User-Agent itself (meshmon/<version> (node <node_id>)), so service owners see which member probed")
		case name == "Content-Length":
			d.add(k.Line, p, "%s is set by the HTTP client", name)
		default:
			if _, dup := out[name]; dup {
				d.add(k.Line, p, "header appears more than once")
			}
			val := d.str(v, p)
			if strings.ContainsAny(val, "\r\n") {
				d.add(v.Line, p, "a header value must be one line")
			}
			out[name] = val
		}
	}
	return out
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// statusCodes decodes a list of HTTP status codes (a single code is a list
// of one).
func (d *decoder) statusCodes(n *yaml.Node, path string) []int {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			d.add(n.Line, path, "list at least one status code, or leave it out for any 2xx or 3xx")
		}
	}
	var out []int
	for i, c := range items {
		p := path
		if n.Kind == yaml.SequenceNode {
			p = itemPath(path, i)
		}
		v, ok := d.integer(c, p)
		if !ok {
			continue
		}
		if v < 100 || v > 599 {
			d.add(c.Line, p, "%d is not an HTTP status code: use 100 to 599", v)
			continue
		}
		out = append(out, v)
	}
	return out
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, path string, def bool) bool {
	s := d.str(n, path)
	if n.Kind != yaml.ScalarNode {
		return def
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	d.add(n.Line, path, "%q is not true or false", s)
	return def
}

// checkMonitors checks what needs the whole config: unique names, and allow
// and block naming members.
func (d *decoder) checkMonitors(root *yaml.Node, nc *NetworkConfig) {
	seen := map[string]int{}
	members := nc.memberSet()
	for i, m := range nc.Monitors {
		path := fmt.Sprintf("monitors[%d]", i)
		line := lineOf(root, "monitors", i)
		if m.Name != "" {
			if j, dup := seen[m.Name]; dup {
				d.add(line, join(path, "name"), "%q is already used by monitors[%d]", m.Name, j)
			} else {
				seen[m.Name] = i
			}
		}
		for _, l := range []struct {
			key   string
			nodes []string
		}{{"allow", m.Allow}, {"block", m.Block}} {
			for j, id := range l.nodes {
				if !members[id] {
					d.add(line, itemPath(join(path, l.key), j), "%q is not a node_id of node_config", id)
				}
			}
		}
		if m.Name != "" && len(nc.NodeConfig) > 0 && len(m.Runners(nc)) == 0 {
			d.add(line, path, "no member runs monitor %q: allow and block leave nobody", m.Name)
		}
	}
}
