package configsync

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const nodeconfFile = "nodeconf.yml"

// refView is the part of a NetworkRef the tests compare; fields added to
// NetworkRef later do not break these tables.
type refView struct {
	Directory, NodeID, ConfigType, GitRepo, GitRef string
	GitInterval                                    Duration
	DiscordWebhook, Webhook                        Webhooks
}

func viewRef(r NetworkRef) refView {
	v := refView{r.Directory, r.NodeID, r.ConfigType, r.GitRepo, r.GitRef, r.GitInterval, r.DiscordWebhook, r.Webhook}
	if len(v.DiscordWebhook) == 0 {
		v.DiscordWebhook = nil
	}
	if len(v.Webhook) == 0 {
		v.Webhook = nil
	}
	return v
}

// validNodeConfs are the valid files in testdata/nodeconf and what they
// decode to.
var validNodeConfs = map[string]struct {
	networks []refView
	listen   Listen
	http     *HTTPConf // nil: DefaultHTTPConf()
}{
	"valid-spec-example.yml": {
		networks: []refView{{Directory: "my-network", NodeID: "my-node", ConfigType: ConfigLocal}},
		listen:   DefaultListen(),
	},
	"valid-full.yml": {
		networks: []refView{
			{
				Directory:      "my-network",
				NodeID:         "my-node",
				ConfigType:     ConfigLocal,
				DiscordWebhook: Webhooks{"default": "https://discord.com/api/webhooks/123/SECRET-token"},
				Webhook:        Webhooks{"default": "https://hooks.example.com/meshmon/SECRET-token"},
			},
			{
				Directory:   "shared",
				NodeID:      "edge-1.eu",
				ConfigType:  ConfigGit,
				GitRepo:     "https://github.com/your-org/meshmon-configs.git",
				GitRef:      "main",
				GitInterval: Duration(5 * time.Minute),
				DiscordWebhook: Webhooks{
					"alerts":   "https://discord.com/api/webhooks/123/SECRET-token",
					"ops_team": "https://discordapp.com/api/webhooks/456/SECRET-token",
				},
				Webhook: Webhooks{"pager": "http://10.0.0.5:9000/hook"},
			},
		},
		listen: Listen{
			HTTP:     "127.0.0.1:8080",
			P2P:      []string{"/ip4/0.0.0.0/tcp/4101", "/ip6/::/udp/4101/quic-v1"},
			Announce: []string{"/dns4/node.example.com/tcp/4101"},
		},
		http: &HTTPConf{
			ReadTimeout:         Duration(20 * time.Second),
			WriteTimeout:        Duration(40 * time.Second),
			IdleTimeout:         Duration(90 * time.Second),
			MaxConnections:      100,
			MaxStreamsPerClient: 4,
			TLS:                 &TLSFiles{CertFile: "tls/cert.pem", KeyFile: "tls/key.pem"},
			Auth: &HTTPAuth{
				BearerTokens: []string{"SECRET-0123456789abcdef"},
				BasicUsers:   map[string]string{"prometheus": testBcryptHash},
				Public:       []string{"/api/health", "/api/p2p"},
			},
		},
	},
	"valid-http-auth-defaults.yml": {
		networks: []refView{{Directory: "my-network", NodeID: "my-node", ConfigType: ConfigLocal}},
		listen:   DefaultListen(),
		http: func() *HTTPConf {
			h := DefaultHTTPConf()
			h.Auth = &HTTPAuth{BearerTokens: []string{"SECRET-0123456789abcdef"}, Public: []string{"/api/p2p"}}
			return &h
		}(),
	},
	"valid-git-defaults.yml": {
		networks: []refView{{
			Directory:   "shared",
			NodeID:      "my-node",
			ConfigType:  ConfigGit,
			GitRepo:     "git@github.com:your-org/meshmon-configs.git",
			GitInterval: DefaultGitInterval,
		}},
		listen: DefaultListen(),
	},
	"valid-listen-http-only.yml": {
		networks: []refView{{Directory: "my-network", NodeID: "my-node", ConfigType: ConfigLocal}},
		listen:   Listen{HTTP: ":9000", P2P: DefaultListen().P2P},
	},
}

// testBcryptHash is bcrypt("scrape-password") at the minimum cost.
const testBcryptHash = "$2a$04$VHlWg73XnrdKv2FBW42NuOR046TbcrCyMJdtziKqJeQuHpvuiD.vO"

// invalidNodeConfs are the invalid files in testdata/nodeconf, one per
// rule, and every problem each must report, in order.
var invalidNodeConfs = map[string][]string{
	"invalid-empty-file.yml":    {"nodeconf.yml: file is empty"},
	"invalid-comments-only.yml": {"nodeconf.yml: file is empty"},
	"invalid-yaml.yml":          {"nodeconf.yml: not valid YAML: line 3: mapping values are not allowed in this context"},
	"invalid-not-mapping.yml":   {"nodeconf.yml:1: want a mapping of keys to values, got a list"},
	"invalid-root-scalar.yml":   {`nodeconf.yml:1: want a mapping of keys to values, got "my-network"`},
	"invalid-missing-networks.yml": {
		"nodeconf.yml:1: networks: required: list the networks this node joins",
	},
	"invalid-empty-networks.yml":      {"nodeconf.yml:1: networks: list at least one network"},
	"invalid-null-networks.yml":       {"nodeconf.yml:1: networks: want a list, got nothing"},
	"invalid-networks-not-list.yml":   {"nodeconf.yml:2: networks: want a list, got a mapping"},
	"invalid-network-not-mapping.yml": {`nodeconf.yml:2: networks[0]: want a mapping of keys to values, got "my-network"`},
	"invalid-alias.yml":               {"nodeconf.yml:5: networks[1]: want a mapping of keys to values, got an alias"},
	"invalid-missing-directory.yml":   {"nodeconf.yml:2: networks[0].directory: required"},
	"invalid-empty-directory.yml":     {"nodeconf.yml:2: networks[0].directory: required"},
	"invalid-directory-chars.yml": {
		`nodeconf.yml:2: networks[0].directory: "../other" is not a valid directory name: ` + idRuleText,
	},
	"invalid-duplicate-directory.yml": {
		`nodeconf.yml:4: networks[1].directory: "my-network" is already used by networks[0]`,
	},
	"invalid-missing-node-id.yml": {"nodeconf.yml:2: networks[0].node_id: required"},
	"invalid-empty-node-id.yml":   {"nodeconf.yml:2: networks[0].node_id: required"},
	"invalid-node-id-chars.yml": {
		`nodeconf.yml:3: networks[0].node_id: "my node" is not a valid node_id: ` + idRuleText,
	},
	"invalid-node-id-too-long.yml": {
		`nodeconf.yml:3: networks[0].node_id: "` + strings.Repeat("n", 65) + `" is not a valid node_id: ` + idRuleText,
	},
	"invalid-value-kind.yml": {"nodeconf.yml:3: networks[0].node_id: want a single value, got a list"},
	"invalid-config-type.yml": {
		`nodeconf.yml:4: networks[0].config_type: "svn" is not a config type: use local or git`,
	},
	"invalid-git-without-repo.yml": {"nodeconf.yml:4: networks[0].git_repo: required with config_type: git"},
	"invalid-git-empty-repo.yml":   {"nodeconf.yml:5: networks[0].git_repo: required with config_type: git"},
	"invalid-git-repo-with-local.yml": {
		"nodeconf.yml:5: networks[0].git_repo: only used with config_type: git",
	},
	"invalid-git-ref-without-git.yml": {
		"nodeconf.yml:4: networks[0].git_ref: only used with config_type: git",
	},
	"invalid-git-interval.yml": {
		`nodeconf.yml:6: networks[0].git_interval: "30" is not a duration: write it with a unit, e.g. 1s or 500ms`,
	},
	"invalid-git-interval-too-short.yml": {
		"nodeconf.yml:6: networks[0].git_interval: 500ms is too short: use at least 1s",
	},
	"invalid-webhook-scheme.yml": {
		"nodeconf.yml:4: networks[0].discord_webhook: not a webhook URL: want an http:// or https:// URL",
	},
	"invalid-webhook-no-host.yml": {
		"nodeconf.yml:4: networks[0].webhook: not a webhook URL: the URL has no host",
	},
	"invalid-webhook-unparsable.yml": {
		"nodeconf.yml:4: networks[0].discord_webhook: not a webhook URL: cannot parse it",
	},
	"invalid-webhook-empty.yml": {
		"nodeconf.yml:4: networks[0].discord_webhook: not a webhook URL: want an http:// or https:// URL",
	},
	"invalid-webhook-map-url.yml": {
		"nodeconf.yml:6: networks[0].discord_webhook.ops: not a webhook URL: want an http:// or https:// URL",
	},
	"invalid-webhook-name.yml": {
		"nodeconf.yml:5: networks[0].webhook: not a valid webhook name (write name: URL): " + idRuleText,
	},
	"invalid-webhook-url-as-name.yml": {
		"nodeconf.yml:4: networks[0].discord_webhook: not a valid webhook name (write name: URL): " + idRuleText,
	},
	"invalid-webhook-duplicate-name.yml": {
		"nodeconf.yml:6: networks[0].discord_webhook.alerts: key appears more than once",
	},
	"invalid-webhook-kind.yml": {
		"nodeconf.yml:5: networks[0].discord_webhook: want a URL or a mapping of name to URL, got a list",
	},
	"invalid-listen-not-mapping.yml": {`nodeconf.yml:4: listen: want a mapping of keys to values, got ":8000"`},
	"invalid-listen-http.yml": {
		`nodeconf.yml:5: listen.http: "8000" is not a listen address: write host:port or :port, e.g. :8000`,
	},
	"invalid-listen-p2p.yml": {
		`nodeconf.yml:7: listen.p2p[1]: "/ip9/0.0.0.0/tcp/4001" is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001): ` +
			`failed to parse multiaddr "/ip9/0.0.0.0/tcp/4001": unknown protocol ip9`,
	},
	"invalid-listen-announce.yml": {
		`nodeconf.yml:5: listen.announce[0]: "203.0.113.7:4001" is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001): ` +
			`failed to parse multiaddr "203.0.113.7:4001": must begin with /`,
	},
	"invalid-http-timeout.yml": {
		"nodeconf.yml:5: http.idle_timeout: 0s is not positive: use a duration such as 30s",
	},
	"invalid-http-max-connections.yml": {`nodeconf.yml:5: http.max_connections: "many" is not a whole number`},
	"invalid-http-max-streams.yml": {
		"nodeconf.yml:5: http.max_streams_per_client: 0 is too small: use at least 1",
	},
	"invalid-http-tls-missing-key.yml": {
		"nodeconf.yml:6: http.tls.key_file: required with tls: give the path of a PEM file",
	},
	"invalid-http-auth-no-credentials.yml": {
		"nodeconf.yml:6: http.auth: give bearer_tokens or basic_users (or remove auth to serve without access control)",
	},
	"invalid-http-auth-short-token.yml": {
		"nodeconf.yml:6: http.auth.bearer_tokens[0]: too short (12 characters): use at least 16, e.g. from openssl rand -hex 32",
	},
	"invalid-http-auth-not-bcrypt.yml": {
		"nodeconf.yml:7: http.auth.basic_users.prom: not a bcrypt hash: write the output of htpasswd -nbB user password after the ':', e.g. $2y$10$…",
	},
	"invalid-http-auth-public.yml": {
		`nodeconf.yml:7: http.auth.public[0]: "/api/view" cannot be public: use any of /api/health, /api/p2p, /metrics`,
	},
	"invalid-http-auth-users-kind.yml": {
		"nodeconf.yml:6: http.auth.basic_users: want a mapping of user name to bcrypt hash, got a list",
	},
	"invalid-http-auth-user-name.yml": {
		"nodeconf.yml:7: http.auth.basic_users: not a valid user name: use printable characters without ':'",
	},
	"invalid-misspelt-key.yml": {
		`nodeconf.yml:4: networks[0].config_typ: unknown field "config_typ" (did you mean "config_type"?)`,
	},
	"invalid-misspelt-root-key.yml": {
		`nodeconf.yml:4: listn: unknown field "listn" (did you mean "listen"?)`,
	},
	"invalid-unknown-key.yml": {`nodeconf.yml:4: networks[0].interval: unknown field "interval"`},
	"invalid-duplicate-key.yml": {
		"nodeconf.yml:4: networks[0].node_id: key appears more than once",
	},
	"invalid-several.yml": {
		`nodeconf.yml:4: networks[0].node_id: "my node" is not a valid node_id: ` + idRuleText,
		"nodeconf.yml:6: networks[0].discord_webhook: not a webhook URL: want an http:// or https:// URL",
		"nodeconf.yml:5: networks[0].git_repo: required with config_type: git",
		`nodeconf.yml:8: networks[1].nodeid: unknown field "nodeid" (did you mean "node_id"?)`,
		"nodeconf.yml:7: networks[1].node_id: required",
		`nodeconf.yml:10: listen.http: "8000" is not a listen address: write host:port or :port, e.g. :8000`,
		`nodeconf.yml:7: networks[1].directory: "my-network" is already used by networks[0]`,
	},
}

func TestParseNodeConfTestdata(t *testing.T) {
	for _, name := range testdataNames(t, "nodeconf", validNodeConfs, invalidNodeConfs) {
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, "nodeconf", name)
			call := fmt.Sprintf("ParseNodeConf(%s)", name)
			nc, err := ParseNodeConf(data, nodeconfFile)
			if want, ok := invalidNodeConfs[name]; ok {
				if nc != nil {
					t.Errorf("%s = %+v; want nil", call, nc)
				}
				checkProblems(t, call, err, nodeconfFile, want)
				return
			}
			want := validNodeConfs[name]
			if err != nil {
				t.Fatalf("%s = %v; want no error", call, err)
			}
			var got []refView
			for _, r := range nc.Networks {
				got = append(got, viewRef(r))
			}
			if !reflect.DeepEqual(got, want.networks) {
				t.Errorf("%s.Networks =\n\t%+v\nwant\n\t%+v", call, got, want.networks)
			}
			if !reflect.DeepEqual(nc.Listen, want.listen) {
				t.Errorf("%s.Listen = %+v; want %+v", call, nc.Listen, want.listen)
			}
			wantHTTP := DefaultHTTPConf()
			if want.http != nil {
				wantHTTP = *want.http
			}
			if !reflect.DeepEqual(nc.HTTP, wantHTTP) {
				t.Errorf("%s.HTTP = %+v; want %+v", call, nc.HTTP, wantHTTP)
			}
		})
	}
}

// TestParseNodeConfSeveralProblems checks that a file with several problems
// reports every one, in document walk order, joined with errors.Join.
func TestParseNodeConfSeveralProblems(t *testing.T) {
	_, err := ParseNodeConf(readTestdata(t, "nodeconf", "invalid-several.yml"), nodeconfFile)
	ps := Problems(err)
	if len(ps) != 7 {
		t.Fatalf("len(Problems(ParseNodeConf(invalid-several.yml))) = %d; want 7", len(ps))
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := []string{
		"networks[0].node_id", "networks[0].discord_webhook", "networks[0].git_repo",
		"networks[1].nodeid", "networks[1].node_id", "listen.http", "networks[1].directory",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("paths of Problems(ParseNodeConf(invalid-several.yml)) = %q; want %q", paths, want)
	}
	if u, ok := err.(interface{ Unwrap() []error }); !ok || len(u.Unwrap()) != 7 {
		t.Errorf("ParseNodeConf(invalid-several.yml) error is %T; want errors.Join of 7 problems", err)
	}
}

func TestParseNodeConfDefaults(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(*NodeConf) (got, want any)
	}{
		{"listen defaults", "networks: [{directory: a, node_id: b}]", func(nc *NodeConf) (any, any) {
			return nc.Listen, DefaultListen()
		}},
		{"config_type defaults to local", "networks: [{directory: a, node_id: b}]", func(nc *NodeConf) (any, any) {
			return nc.Networks[0].ConfigType, ConfigLocal
		}},
		{"git_interval unset in local mode", "networks: [{directory: a, node_id: b}]", func(nc *NodeConf) (any, any) {
			return nc.Networks[0].GitInterval, Duration(0)
		}},
		{"git_interval defaults to 60s in git mode", "networks: [{directory: a, node_id: b, config_type: git, git_repo: r}]", func(nc *NodeConf) (any, any) {
			return nc.Networks[0].GitInterval, Duration(60 * time.Second)
		}},
		{"git_interval kept in git mode", "networks: [{directory: a, node_id: b, config_type: git, git_repo: r, git_interval: 1s}]", func(nc *NodeConf) (any, any) {
			return nc.Networks[0].GitInterval, Duration(time.Second)
		}},
		{"a single webhook URL is named default", "networks: [{directory: a, node_id: b, webhook: 'https://h.example/x'}]", func(nc *NodeConf) (any, any) {
			return nc.Networks[0].Webhook, Webhooks{"default": "https://h.example/x"}
		}},
		{"no webhook is empty", "networks: [{directory: a, node_id: b}]", func(nc *NodeConf) (any, any) {
			return len(nc.Networks[0].DiscordWebhook) + len(nc.Networks[0].Webhook), 0
		}},
		{"one p2p address as a string", "networks: [{directory: a, node_id: b}]\nlisten: {p2p: /ip4/0.0.0.0/tcp/1}", func(nc *NodeConf) (any, any) {
			return nc.Listen, Listen{HTTP: ":8000", P2P: []string{"/ip4/0.0.0.0/tcp/1"}}
		}},
		{"ids that look like other YAML types", "networks: [{directory: 2024, node_id: true}]", func(nc *NodeConf) (any, any) {
			return [2]string{nc.Networks[0].Directory, nc.Networks[0].NodeID}, [2]string{"2024", "true"}
		}},
		{"64-character node_id", "networks: [{directory: a, node_id: " + strings.Repeat("n", 64) + "}]", func(nc *NodeConf) (any, any) {
			return nc.Networks[0].NodeID, strings.Repeat("n", 64)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := ParseNodeConf([]byte(tt.in), nodeconfFile)
			if err != nil {
				t.Fatalf("ParseNodeConf(%q) = %v; want no error", tt.in, err)
			}
			if got, want := tt.check(nc); !reflect.DeepEqual(got, want) {
				t.Errorf("ParseNodeConf(%q): got %+v; want %+v", tt.in, got, want)
			}
		})
	}
}

func TestDefaultListen(t *testing.T) {
	want := Listen{
		HTTP: ":8000",
		P2P: []string{
			"/ip4/0.0.0.0/tcp/4001",
			"/ip4/0.0.0.0/udp/4001/quic-v1",
			"/ip6/::/tcp/4001",
			"/ip6/::/udp/4001/quic-v1",
		},
	}
	if got := DefaultListen(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultListen() = %+v; want %+v", got, want)
	}
	// Each call returns its own slice: a caller changing it changes no
	// later default.
	DefaultListen().P2P[0] = "changed"
	if got := DefaultListen().P2P[0]; got != want.P2P[0] {
		t.Errorf("DefaultListen().P2P[0] after a caller changed a copy = %q; want %q", got, want.P2P[0])
	}
}

// TestParseNodeConfWebhookSecrets checks that no problem ever shows a
// webhook URL, whatever is wrong with it or around it.
func TestParseNodeConfWebhookSecrets(t *testing.T) {
	const url = "https://discord.com/api/webhooks/987/" + secretMarker + "-abc"
	shapes := []struct{ name, value string }{
		{"wrong scheme", "ftp://discord.com/api/webhooks/987/" + secretMarker},
		{"no scheme", "discord.com/api/webhooks/987/" + secretMarker},
		{"no host", "https:///api/webhooks/987/" + secretMarker},
		{"port only", "https://:443/api/webhooks/987/" + secretMarker},
		{"unparsable", `"https://discord.com/api/webhooks/987/` + secretMarker + `%zz"`},
		{"bad IPv6 host", `"https://[::1/` + secretMarker + `"`},
		{"URL as a flow-mapping key", "{" + url + "}"},
		{"URL as a block-mapping key", "\n      " + url + ":"},
		{"URL as a name with a URL value", "\n      " + url + ": " + url},
		{"bad URL under a name", "\n      alerts: ftp://x/" + secretMarker},
		{"list of URLs", "[" + url + "]"},
		{"list under a name", "\n      alerts: [" + url + "]"},
		{"mapping under a name", "\n      alerts: {url: " + url + "}"},
		{"duplicate name", "\n      alerts: " + url + "\n      alerts: " + url},
		{"good URL, bad sibling field", url + "\n    node_id: bad id"},
		{"good URL, misspelt sibling field", url + "\n    discord_webhok: " + url},
	}
	for _, field := range []string{"discord_webhook", "webhook"} {
		for _, s := range shapes {
			t.Run(field+"/"+s.name, func(t *testing.T) {
				in := "networks:\n  - directory: my-network\n    node_id: my-node\n    " + field + ": " + s.value + "\n"
				_, err := ParseNodeConf([]byte(in), nodeconfFile)
				if err == nil {
					t.Fatalf("ParseNodeConf(%q) = nil error; want a problem", in)
				}
				if got := err.Error(); strings.Contains(got, secretMarker) {
					t.Errorf("ParseNodeConf(%q) = %q; want no webhook URL in it", in, got)
				}
			})
		}
	}
	t.Run("testdata", func(t *testing.T) {
		for name := range invalidNodeConfs {
			_, err := ParseNodeConf(readTestdata(t, "nodeconf", name), nodeconfFile)
			if got := fmt.Sprint(err); strings.Contains(got, secretMarker) {
				t.Errorf("ParseNodeConf(%s) = %q; want no webhook URL in it", name, got)
			}
		}
		for _, want := range invalidNodeConfs {
			for _, msg := range want {
				if strings.Contains(msg, secretMarker) {
					t.Errorf("expected message %q holds a webhook URL", msg)
				}
			}
		}
	})
}

func TestWebhooksNames(t *testing.T) {
	tests := []struct {
		in   Webhooks
		want []string
	}{
		{nil, []string{}},
		{Webhooks{"default": "u"}, []string{"default"}},
		{Webhooks{"ops": "u", "alerts": "v", "b": "w"}, []string{"alerts", "b", "ops"}},
	}
	for _, tt := range tests {
		if got := tt.in.Names(); !slices.Equal(got, tt.want) {
			t.Errorf("Webhooks(%v).Names() = %q; want %q", tt.in.Names(), got, tt.want)
		}
	}
}

// FuzzParseNodeConf checks that ParseNodeConf never panics and that what it
// accepts obeys every rule it checks.
func FuzzParseNodeConf(f *testing.F) {
	addTestdataSeeds(f, "nodeconf")
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := ParseNodeConf(data, nodeconfFile)
		if err != nil {
			if nc != nil {
				t.Fatalf("ParseNodeConf(%q) = %+v, %v; want nil config with an error", data, nc, err)
			}
			checkFuzzProblems(t, data, err, nodeconfFile)
			return
		}
		if nc == nil || len(nc.Networks) == 0 {
			t.Fatalf("ParseNodeConf(%q) = %+v, nil; want at least one network", data, nc)
		}
		dirs := map[string]bool{}
		for i, r := range nc.Networks {
			if !idPattern.MatchString(r.Directory) || !idPattern.MatchString(r.NodeID) {
				t.Errorf("ParseNodeConf(%q).Networks[%d] = %q, %q; want valid ids", data, i, r.Directory, r.NodeID)
			}
			if dirs[r.Directory] {
				t.Errorf("ParseNodeConf(%q): directory %q twice; want unique", data, r.Directory)
			}
			dirs[r.Directory] = true
			switch r.ConfigType {
			case ConfigGit:
				if r.GitRepo == "" || r.GitInterval < Duration(time.Second) {
					t.Errorf("ParseNodeConf(%q).Networks[%d] = %+v; want git_repo and git_interval >= 1s", data, i, r)
				}
			case ConfigLocal:
				if r.GitRepo != "" || r.GitRef != "" || r.GitInterval != 0 {
					t.Errorf("ParseNodeConf(%q).Networks[%d] = %+v; want no git fields in local mode", data, i, r)
				}
			default:
				t.Errorf("ParseNodeConf(%q).Networks[%d].ConfigType = %q; want local or git", data, i, r.ConfigType)
			}
			for _, w := range []Webhooks{r.DiscordWebhook, r.Webhook} {
				for name, u := range w {
					if !idPattern.MatchString(name) || checkHTTPURL(u) != nil {
						t.Errorf("ParseNodeConf(%q).Networks[%d] has webhook %q; want a valid name and URL", data, i, name)
					}
				}
			}
		}
		if nc.Listen.HTTP == "" {
			t.Errorf("ParseNodeConf(%q).Listen.HTTP = \"\"; want an address", data)
		}
		checkFuzzHTTPConf(t, data, nc.HTTP)
	})
}

// checkFuzzHTTPConf asserts every rule ParseNodeConf checks of an accepted
// http section.
func checkFuzzHTTPConf(t *testing.T, data []byte, h HTTPConf) {
	t.Helper()
	if h.ReadTimeout <= 0 || h.WriteTimeout <= 0 || h.IdleTimeout <= 0 || h.MaxConnections < 1 || h.MaxStreamsPerClient < 1 {
		t.Errorf("ParseNodeConf(%q).HTTP = %+v; want positive limits", data, h)
	}
	if h.TLS != nil && (h.TLS.CertFile == "" || h.TLS.KeyFile == "") {
		t.Errorf("ParseNodeConf(%q).HTTP.TLS = %+v; want both files", data, *h.TLS)
	}
	a := h.Auth
	if a == nil {
		return
	}
	if len(a.BearerTokens) == 0 && len(a.BasicUsers) == 0 {
		t.Errorf("ParseNodeConf(%q).HTTP.Auth has no credentials", data)
	}
	for _, tok := range a.BearerTokens {
		if len(tok) < MinBearerTokenLen {
			t.Errorf("ParseNodeConf(%q) accepted a %d-character token", data, len(tok))
		}
	}
	for u, hash := range a.BasicUsers {
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || u == "" || strings.Contains(u, ":") {
			t.Errorf("ParseNodeConf(%q) accepted user %q with hash %q", data, u, hash)
		}
	}
	for _, p := range a.Public {
		if !slices.Contains(PublicPaths(), p) {
			t.Errorf("ParseNodeConf(%q) made %q public", data, p)
		}
	}
}

// checkFuzzProblems checks an error from a Parse function: it is made of
// Problems, all in file, and its text is theirs.
func checkFuzzProblems(t *testing.T, data []byte, err error, file string) {
	t.Helper()
	ps := Problems(err)
	if len(ps) == 0 {
		t.Fatalf("Parse(%q) = %v; want Problems", data, err)
	}
	var msgs []string
	for _, p := range ps {
		if p.File != file || p.Line < 0 || p.Msg == "" {
			t.Errorf("Parse(%q) problem = %+v; want File %q, Line >= 0 and a message", data, p, file)
		}
		msgs = append(msgs, p.Error())
	}
	if got, want := err.Error(), strings.Join(msgs, "\n"); got != want {
		t.Errorf("Parse(%q).Error() = %q; want %q", data, got, want)
	}
}
