package configsync

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// monitorDoc is a network config with three members and the given monitors
// block (indented as a top-level key's value), starting at line 7.
func monitorDoc(monitors string) []byte {
	return []byte("network_id: test\nnode_config:\n  - node_id: a\n  - node_id: b\n  - node_id: c\nmonitors:\n" + monitors)
}

func TestParseMonitors(t *testing.T) {
	nc, err := ParseNetworkConfig(monitorDoc(`
  - name: web
    type: http
    host: example.com/health
  - name: Shop API
    type: https
    host: https://user:pw@shop.example.com/api?token=x
    group: shop
    interval: 30s
    timeout: 5s
    retry: 2
    block: [c]
    method: head
    headers:
      authorization: Bearer x
    follow_redirects: false
    skip_tls_verify: true
    expect_status: [200, 204]
    body_contains: ok
    body_regex: "^ok"
    max_response_time: 2s
    warn_days: 7
  - name: db
    type: tcp
    host: db.example.com:5432
    allow: [a, b]
    interval: 5s
  - name: resolver
    type: dns
    host: example.com
    record_type: aaaa
    server: 127.0.0.1:5353
  - name: cert
    type: tls
    host: example.com
    skip_tls_verify: true
  - name: gw
    type: ping
    host: 192.0.2.1
`), networkFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []Monitor{
		{Name: "web", Type: "http", Host: "http://example.com/health", Group: "default", Interval: Duration(time.Minute),
			Timeout: Duration(10 * time.Second), Retry: 1, Method: "GET", FollowRedirects: true},
		{Name: "Shop API", Type: "https", Host: "https://user:pw@shop.example.com/api?token=x", Group: "shop",
			Interval: Duration(30 * time.Second), Timeout: Duration(5 * time.Second), Retry: 2, Block: []string{"c"},
			Method: "HEAD", Headers: map[string]string{"Authorization": "Bearer x"}, SkipTLSVerify: true,
			ExpectStatus: []int{200, 204}, BodyContains: "ok", BodyRegex: "^ok", MaxResponseTime: Duration(2 * time.Second), WarnDays: 7},
		{Name: "db", Type: "tcp", Host: "db.example.com:5432", Group: "default", Interval: Duration(5 * time.Second),
			Timeout: Duration(5 * time.Second), Retry: 1, Allow: []string{"a", "b"}},
		{Name: "resolver", Type: "dns", Host: "example.com", Group: "default", Interval: Duration(time.Minute),
			Timeout: Duration(10 * time.Second), Retry: 1, RecordType: "AAAA", Server: "127.0.0.1:5353"},
		{Name: "cert", Type: "tls", Host: "example.com", Group: "default", Interval: Duration(time.Minute),
			Timeout: Duration(10 * time.Second), Retry: 1, SkipTLSVerify: true, WarnDays: 14},
		{Name: "gw", Type: "ping", Host: "192.0.2.1", Group: "default", Interval: Duration(time.Minute),
			Timeout: Duration(10 * time.Second), Retry: 1},
	}
	if !reflect.DeepEqual(nc.Monitors, want) {
		t.Fatalf("monitors:\n got %+v\nwant %+v", nc.Monitors, want)
	}
	if got := nc.Monitors[1].Runners(nc); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Shop API runners = %v, want [a b] (c is blocked)", got)
	}
	if got := nc.Monitors[2].Runners(nc); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("db runners = %v, want [a b] (allow)", got)
	}
	if got := nc.Monitors[1].Target(); got != "https://shop.example.com/api" {
		t.Errorf("Target() = %q: user info and query must not be shown", got)
	}
}

func TestParseMonitorsNone(t *testing.T) {
	for _, doc := range []string{"", "\n"} {
		nc, err := ParseNetworkConfig(monitorDoc(doc), networkFile)
		if err != nil || len(nc.Monitors) != 0 {
			t.Errorf("monitors: with nothing: %v, %v", nc, err)
		}
	}
}

// TestParseMonitorsErrors pins each rule's message and line (file:line like
// every config problem).
func TestParseMonitorsErrors(t *testing.T) {
	const f = "networks/test/config.yml:"
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"not a list", "  name: x\n", []string{f + "7: monitors: want a list, got a mapping"}},
		{"required", "  - group: x\n", []string{
			f + "7: monitors[0].name: required", f + "7: monitors[0].type: required", f + "7: monitors[0].host: required"}},
		{"empty name", "  - name: \"\"\n    type: tcp\n    host: h:1\n", []string{f + "7: monitors[0].name: must not be empty"}},
		{"bad name", "  - name: \"a/b\"\n    type: tcp\n    host: h:1\n",
			[]string{f + `7: monitors[0].name: "a/b" is not a valid monitor name: ` + monitorNameRule}},
		{"duplicate name", "  - {name: x, type: tcp, host: 'h:1'}\n  - {name: x, type: tcp, host: 'h:2'}\n",
			[]string{f + `8: monitors[1].name: "x" is already used by monitors[0]`}},
		{"unknown type", "  - {name: x, type: smtp, host: h}\n",
			[]string{f + `7: monitors[0].type: "smtp" is not a monitor type: use http, https, tcp, dns, tls, ping`}},
		{"misspelt key", "  - {name: x, type: tcp, host: 'h:1', intervall: 5s}\n",
			[]string{f + `7: monitors[0].intervall: unknown field "intervall" (did you mean "interval"?)`}},
		{"interval range", "  - {name: x, type: tcp, host: 'h:1', interval: 500ms}\n",
			[]string{f + "7: monitors[0].interval: 500ms is out of range: use 1s to 24h"}},
		{"timeout over interval", "  - {name: x, type: tcp, host: 'h:1', interval: 5s, timeout: 6s}\n",
			[]string{f + "7: monitors[0].timeout: 6s is longer than the interval 5s"}},
		{"retry range", "  - {name: x, type: tcp, host: 'h:1', retry: 11}\n",
			[]string{f + "7: monitors[0].retry: 11 is out of range: use 0 to 10"}},
		{"tcp without port", "  - {name: x, type: tcp, host: db.example.com}\n",
			[]string{f + `7: monitors[0].host: "db.example.com": a tcp monitor needs host:port, e.g. db.example.com:5432`}},
		{"https with http url", "  - {name: x, type: https, host: 'http://e.com'}\n",
			[]string{f + `7: monitors[0].host: "http://e.com": an https monitor needs an https:// URL (or use type http)`}},
		{"ftp url", "  - {name: x, type: http, host: 'ftp://e.com'}\n",
			[]string{f + `7: monitors[0].host: "ftp://e.com": use an http:// or https:// URL`}},
		{"dns with url", "  - {name: x, type: dns, host: 'https://e.com'}\n",
			[]string{f + `7: monitors[0].host: "https://e.com": a dns monitor takes a bare host name or IP address, e.g. example.com`}},
		{"record type", "  - {name: x, type: dns, host: e.com, record_type: ANY}\n",
			[]string{f + `7: monitors[0].record_type: "ANY" is not a record type: use A, AAAA, CNAME, MX, TXT, NS, SRV, PTR, SOA`}},
		{"dns server url", "  - {name: x, type: dns, host: e.com, server: 'udp://1.1.1.1'}\n",
			[]string{f + `7: monitors[0].server: "udp://1.1.1.1": give a host or host:port, not a URL, e.g. 1.1.1.1 or dns.example.com:53`}},
		{"http field on tcp", "  - {name: x, type: tcp, host: 'h:1', body_contains: ok}\n",
			[]string{f + "7: monitors[0].body_contains: applies to http and https monitors only, not tcp"}},
		{"dns field on http", "  - {name: x, type: http, host: e.com, record_type: A}\n",
			[]string{f + "7: monitors[0].record_type: applies to dns monitors only, not http"}},
		{"skip_tls_verify on dns", "  - {name: x, type: dns, host: e.com, skip_tls_verify: true}\n",
			[]string{f + "7: monitors[0].skip_tls_verify: applies to http, https and tls monitors only, not dns"}},
		{"warn_days on tcp", "  - {name: x, type: tcp, host: 'h:1', warn_days: 3}\n",
			[]string{f + "7: monitors[0].warn_days: applies to tls and https monitors only, not tcp"}},
		{"status code", "  - {name: x, type: http, host: e.com, expect_status: [200, 42]}\n",
			[]string{f + "7: monitors[0].expect_status[1]: 42 is not an HTTP status code: use 100 to 599"}},
		{"regex", "  - {name: x, type: http, host: e.com, body_regex: '(a'}\n",
			[]string{f + "7: monitors[0].body_regex: not a valid regular expression (RE2 syntax): error parsing regexp: missing closing ): `(a`"}},
		{"max response over timeout", "  - {name: x, type: http, host: e.com, timeout: 2s, max_response_time: 3s}\n",
			[]string{f + "7: monitors[0].max_response_time: 3s is longer than the timeout 2s: a probe stops at the timeout"}},
		{"method", "  - {name: x, type: http, host: e.com, method: FETCH}\n",
			[]string{f + `7: monitors[0].method: "FETCH" is not a method: use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS`}},
		{"user agent header", "  - name: x\n    type: http\n    host: e.com\n    headers:\n      User-Agent: curl\n",
			[]string{f + "11: monitors[0].headers.User-Agent: meshmon sets User-Agent itself (meshmon/<version> (node <node_id>)), so service owners see which member probed"}},
		{"header value lines", "  - name: x\n    type: http\n    host: e.com\n    headers:\n      X-A: \"a\\nb\"\n",
			[]string{f + "11: monitors[0].headers.X-A: a header value must be one line"}},
		{"follow_redirects", "  - {name: x, type: http, host: e.com, follow_redirects: yes}\n",
			[]string{f + `7: monitors[0].follow_redirects: "yes" is not true or false`}},
		{"allow unknown member", "  - {name: x, type: tcp, host: 'h:1', allow: [a, z]}\n",
			[]string{f + `7: monitors[0].allow[1]: "z" is not a node_id of node_config`}},
		{"nobody runs it", "  - {name: x, type: tcp, host: 'h:1', allow: [a], block: [a]}\n",
			[]string{f + `7: monitors[0]: no member runs monitor "x": allow and block leave nobody`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseNetworkConfig(monitorDoc(c.doc), networkFile)
			if got := problemStrings(err); !slices.Equal(got, c.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestParseMonitorsTooMany(t *testing.T) {
	var b strings.Builder
	for i := range MaxMonitors + 1 {
		b.WriteString("  - {name: m" + strconv.Itoa(i) + ", type: ping, host: e.com}\n")
	}
	_, err := ParseNetworkConfig(monitorDoc(b.String()), networkFile)
	want := "networks/test/config.yml:7: monitors: 101 monitors; a network has at most 100"
	if got := problemStrings(err); !slices.Equal(got, []string{want}) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}
