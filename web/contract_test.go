package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// loadSpec loads and validates the embedded OpenAPI document with kin-openapi.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIYAML)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return doc, router
}

func TestOpenAPIJSONIsTheDocument(t *testing.T) {
	srv := serve(t, newFixture(t).full())
	resp := get(t, srv.URL+"/openapi.json", nil)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		t.Fatalf("load /openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("/openapi.json is not a valid OpenAPI document: %v", err)
	}
	if doc.Info.Version != "v0.3.0" {
		t.Errorf("info.version = %q; want the node's version v0.3.0", doc.Info.Version)
	}
	want, _ := loadSpec(t)
	if got, want := slices.Sorted(mapsKeys(doc.Paths.Map())), slices.Sorted(mapsKeys(want.Paths.Map())); !slices.Equal(got, want) {
		t.Errorf("/openapi.json paths = %v; want %v", got, want)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// contractCase is one request whose response must match the document.
type contractCase struct {
	name   string
	deps   string // "full" or "minimal"
	path   string // with query
	header http.Header
	want   int
}

func contractCases() []contractCase {
	return []contractCase{
		{"health", "full", "/api/health", nil, 200},
		{"health minimal", "minimal", "/api/health", nil, 200},
		{"p2p", "full", "/api/p2p", nil, 200},
		{"p2p without addrs", "minimal", "/api/p2p", nil, 200},
		{"view", "full", "/api/view", nil, 200},
		{"networks", "full", "/api/networks", nil, 200},
		{"network with config", "full", "/api/networks/prod", nil, 200},
		{"network of one", "full", "/api/networks/solo", nil, 200},
		{"unknown network", "full", "/api/networks/nope", nil, 404},
		{"unknown network, odd characters", "full", "/api/networks/" + url.PathEscape("a b/../c"), nil, 404},
		{"events", "full", "/api/events", nil, 200},
		{"events page", "full", "/api/events?limit=5&before=20", nil, 200},
		{"events filtered", "full", "/api/events?network=prod&severity=error&limit=1000", nil, 200},
		{"events none match", "full", "/api/events?network=nope", nil, 200},
		{"events limit 0", "full", "/api/events?limit=0", nil, 400},
		{"events limit too big", "full", "/api/events?limit=1001", nil, 400},
		{"events limit not a number", "full", "/api/events?limit=ten", nil, 400},
		{"events limit empty", "full", "/api/events?limit=", nil, 400},
		{"events before 0", "full", "/api/events?before=0", nil, 400},
		{"events before negative", "full", "/api/events?before=-3", nil, 400},
		{"events before huge", "full", "/api/events?before=99999999999999999999999", nil, 400},
		{"events bad severity", "full", "/api/events?severity=fatal", nil, 400},
		{"stream", "full", "/api/events/stream", nil, 200},
		{"stream resumed", "full", "/api/events/stream", http.Header{"Last-Event-ID": {"25"}}, 200},
		{"stream bad Last-Event-ID", "full", "/api/events/stream", http.Header{"Last-Event-ID": {"x"}}, 400},
		{"notification clusters", "full", "/api/notification_cluster", nil, 200},
		{"notification clusters without source", "minimal", "/api/notification_cluster", nil, 200},
		{"raw", "full", "/api/raw/prod", nil, 200},
		{"raw of one node", "full", "/api/raw/prod?node=server-02", nil, 200},
		{"raw empty", "full", "/api/raw/solo", nil, 200},
		{"raw unknown network", "full", "/api/raw/nope", nil, 404},
		{"raw without source", "minimal", "/api/raw/prod", nil, 200},
		{"raw without source, unknown network", "minimal", "/api/raw/nope", nil, 404},
		{"node history", "full", "/api/history/prod/nodes/server-03", nil, 200},
		{"node history 7d", "full", "/api/history/prod/nodes/server-01?range=7d", nil, 200},
		{"node history custom", "full", "/api/history/prod/nodes/server-02?from=2025-06-01T12:00:00Z&to=2025-06-01T12:30:00Z&resolution=minute", nil, 200},
		{"node history hourly", "full", "/api/history/prod/nodes/server-02?range=24h&resolution=hour", nil, 200},
		{"node history, member without history", "full", "/api/history/prod/nodes/server-04", nil, 200},
		{"node history bad range", "full", "/api/history/prod/nodes/server-03?range=2w", nil, 400},
		{"node history bad resolution", "full", "/api/history/prod/nodes/server-03?resolution=second", nil, 400},
		{"node history unknown node", "full", "/api/history/prod/nodes/nope", nil, 404},
		{"node history unknown network", "full", "/api/history/nope/nodes/server-01", nil, 404},
		{"node history without store", "minimal", "/api/history/prod/nodes/server-03", nil, 503},
		{"link history", "full", "/api/history/prod/links/server-01/server-03", nil, 200},
		{"link history bad from", "full", "/api/history/prod/links/server-01/server-03?from=yesterday", nil, 400},
		{"link history unknown", "full", "/api/history/prod/links/server-01/nope", nil, 404},
		{"link history without store", "minimal", "/api/history/prod/links/server-01/server-03", nil, 503},
		{"uptime", "full", "/api/history/prod/uptime", nil, 200},
		{"uptime with links and custom", "full", "/api/history/prod/uptime?links=true&range=1h", nil, 200},
		{"uptime bad links", "full", "/api/history/prod/uptime?links=maybe", nil, 400},
		{"uptime unknown network", "full", "/api/history/nope/uptime", nil, 404},
		{"uptime without store", "minimal", "/api/history/prod/uptime", nil, 503},
		{"outages", "full", "/api/history/prod/outages", nil, 200},
		{"outages custom", "full", "/api/history/prod/outages?from=2025-06-01T12:00:00Z&to=2025-06-01T12:45:00Z", nil, 200},
		{"outages bad range", "full", "/api/history/prod/outages?range=forever", nil, 400},
		{"outages unknown network", "full", "/api/history/nope/outages", nil, 404},
		{"outages without store", "minimal", "/api/history/prod/outages", nil, 503},
		{"alert history", "full", "/api/history/alerts", nil, 200},
		{"alert history of a network", "full", "/api/history/alerts?network=prod&limit=1", nil, 200},
		{"alert history bad limit", "full", "/api/history/alerts?limit=0", nil, 400},
		{"alert history without store", "minimal", "/api/history/alerts", nil, 503},
		{"monitors", "full", "/api/monitors", nil, 200},
		{"monitors without source", "minimal", "/api/monitors", nil, 200},
		{"monitor", "full", "/api/monitors/prod/shop", nil, 200},
		{"monitor 7d hourly", "full", "/api/monitors/prod/shop?range=7d&resolution=hour", nil, 200},
		{"monitor custom range", "full", "/api/monitors/prod/shop?from=2025-06-01T12:00:00Z&to=2025-06-01T12:45:00Z", nil, 200},
		{"monitor with a space in its name", "full", "/api/monitors/prod/status%20page?range=1h", nil, 200},
		{"monitor without history", "full", "/api/monitors/prod/new", nil, 200},
		{"monitor bad range", "full", "/api/monitors/prod/shop?range=2w", nil, 400},
		{"monitor bad resolution", "full", "/api/monitors/prod/shop?resolution=second", nil, 400},
		{"monitor unknown", "full", "/api/monitors/prod/nope", nil, 404},
		{"monitor unknown network", "full", "/api/monitors/nope/shop", nil, 404},
		{"monitor of a network without monitors", "full", "/api/monitors/solo/shop", nil, 404},
		{"monitor without source", "minimal", "/api/monitors/prod/shop", nil, 404},
		{"network status badge", "full", "/badge/prod/status.svg", nil, 200},
		{"network status badge, unknown", "full", "/badge/nope/status.svg", nil, 404},
		{"network uptime badge", "full", "/badge/prod/uptime.svg?range=7d", nil, 200},
		{"network uptime badge bad range", "full", "/badge/prod/uptime.svg?range=2w", nil, 400},
		{"network uptime badge, unknown", "full", "/badge/nope/uptime.svg", nil, 404},
		{"network uptime badge without store", "minimal", "/badge/prod/uptime.svg", nil, 503},
		{"node status badge", "full", "/badge/prod/nodes/server-03/status.svg", nil, 200},
		{"node status badge, unknown", "full", "/badge/prod/nodes/nope/status.svg", nil, 404},
		{"node uptime badge", "full", "/badge/prod/nodes/server-03/uptime.svg", nil, 200},
		{"node uptime badge bad range", "full", "/badge/prod/nodes/server-03/uptime.svg?range=1y", nil, 400},
		{"node uptime badge, unknown", "full", "/badge/prod/nodes/nope/uptime.svg", nil, 404},
		{"node uptime badge without store", "minimal", "/badge/prod/nodes/server-03/uptime.svg", nil, 503},
		{"status page", "full", "/status/prod", nil, 200},
		{"status page, unknown network", "full", "/status/nope", nil, 404},
		{"status page off", "minimal", "/status/prod", nil, 404},
		{"metrics", "full", "/metrics", nil, 200},
		{"metrics disabled", "minimal", "/metrics", nil, 404},
		{"openapi", "full", "/openapi.json", nil, 200},
		{"docs", "full", "/docs", nil, 200},
		{"stream beyond the per-client cap", "capped", "/api/events/stream", nil, 429},
		{"health without credentials", "auth", "/api/health", nil, 401},
		{"p2p without credentials", "auth", "/api/p2p", nil, 401},
		{"view without credentials", "auth", "/api/view", nil, 401},
		{"networks without credentials", "auth", "/api/networks", nil, 401},
		{"network without credentials", "auth", "/api/networks/prod", nil, 401},
		{"events without credentials", "auth", "/api/events", nil, 401},
		{"stream without credentials", "auth", "/api/events/stream", nil, 401},
		{"clusters without credentials", "auth", "/api/notification_cluster", nil, 401},
		{"raw without credentials", "auth", "/api/raw/prod", nil, 401},
		{"monitors without credentials", "auth", "/api/monitors", nil, 401},
		{"monitor without credentials", "auth", "/api/monitors/prod/shop", nil, 401},
		{"metrics without credentials", "auth", "/metrics", nil, 401},
		{"openapi without credentials", "auth", "/openapi.json", nil, 401},
		{"docs without credentials", "auth", "/docs", nil, 401},
		{"view with a token", "auth", "/api/view", http.Header{"Authorization": {"Bearer " + testToken}}, 200},
	}
}

// contractServers starts the servers the contract cases name: "full" and
// "minimal" over NewServer, "auth" a Sidecar whose every path needs a
// token, and "capped" a Sidecar whose one stream per client is taken.
func contractServers(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	authAddr, _ := startSidecar(t, f.full(), SidecarOptions{Access: &AccessControl{BearerTokens: []string{testToken}, Public: []string{}}})
	capped := f.full()
	capped.MaxStreamsPerClient = 1
	cappedAddr, _ := startSidecar(t, capped, SidecarOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	readSSE(openStream(t, ctx, "http://"+cappedAddr+"/api/events/stream").Body).next(t, "view")
	return map[string]string{"full": serve(t, f.full()).URL, "minimal": serve(t, f.minimal()).URL,
		"auth": "http://" + authAddr, "capped": "http://" + cappedAddr}
}

// TestResponsesMatchOpenAPI validates every response of the API, errors
// included, against the OpenAPI document, and checks that every documented
// operation and response status was exercised.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc, router := loadSpec(t)
	f := newFixture(t)
	servers := contractServers(t, f)
	covered := map[string]bool{}
	for _, tc := range contractCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, servers[tc.deps]+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v[0])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", tc.path, err)
			}
			defer resp.Body.Close()
			var body []byte
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				body = readSSEUntilView(t, resp.Body)
				cancel()
			} else if body, err = io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d; want %d\n%s", tc.path, resp.StatusCode, tc.want, body)
			}
			if resp.StatusCode >= 400 && strings.HasPrefix(tc.path, "/api/") {
				var e struct{ Error string }
				if json.Unmarshal(body, &e) != nil || e.Error == "" {
					t.Errorf("GET %s: error body %s; want {\"error\": \"…\"}", tc.path, body)
				}
			}

			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("GET %s: no route in the document: %v", tc.path, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{MultiError: true}}
			reqErr := openapi3filter.ValidateRequest(ctx, in)
			if (reqErr != nil) != (tc.want == http.StatusBadRequest) {
				t.Errorf("GET %s: document's request validation = %v; the server answered %d", tc.path, reqErr, resp.StatusCode)
			}
			err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 resp.StatusCode,
				Header:                 resp.Header,
				Body:                   io.NopCloser(bytes.NewReader(body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			})
			if err != nil {
				t.Errorf("GET %s: response %d does not match the document: %v\n%s", tc.path, resp.StatusCode, err, truncate(body))
			}
			covered[route.Path+" "+strconv.Itoa(resp.StatusCode)] = true
		})
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				if !covered[path+" "+code] {
					t.Errorf("%s %s: documented response %s is not exercised by any contract case", method, path, code)
				}
			}
		}
	}
}

// readSSEUntilView reads a stream up to the end of its first view message.
func readSSEUntilView(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var out bytes.Buffer
	br := bufio.NewReader(r)
	sawView := false
	for {
		line, err := br.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			t.Fatalf("stream ended before a view: %v\n%s", err, out.String())
		}
		if line == "event: view\n" {
			sawView = true
		}
		if sawView && line == "\n" {
			return out.Bytes()
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return fmt.Sprintf("%s… (%d bytes)", b[:2000], len(b))
	}
	return string(b)
}

// FuzzAPIQuery sends arbitrary query strings, path ids and Last-Event-ID
// headers to the API's parameterised endpoints. No answer is a 500, every
// JSON answer parses, and every error has the {"error": …} body.
func FuzzAPIQuery(f *testing.F) {
	f.Add(uint8(0), "", "limit=5&before=20&network=prod&severity=error", "")
	f.Add(uint8(0), "", "limit=0", "")
	f.Add(uint8(0), "", "before=99999999999999999999999&severity=fatal", "")
	f.Add(uint8(0), "", "limit=%zz", "")
	f.Add(uint8(1), "prod", "node=server-02", "")
	f.Add(uint8(1), "a b/../c", "node=%00", "")
	f.Add(uint8(2), "solo", "", "")
	f.Add(uint8(3), "", "", "25")
	f.Add(uint8(3), "", "", "x")
	f.Add(uint8(4), "prod", "range=7d&resolution=hour", "")
	f.Add(uint8(4), "nope", "from=2025-06-01T12:00:00Z&to=2025-06-01T11:00:00Z", "")
	fx := newFixture(f)
	d := fx.full()
	done := make(chan struct{})
	close(done)
	d.Done = done // streams answer one view and end
	h := NewServer(d)
	f.Fuzz(func(t *testing.T, which uint8, id, query, lastEventID string) {
		path := [...]string{"/api/events", "/api/raw/" + id, "/api/networks/" + id, "/api/events/stream",
			"/api/monitors/" + id + "/shop"}[which%5]
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: query},
			Header: http.Header{}, Host: "meshmon", RemoteAddr: "127.0.0.1:1234", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if rec.Code >= 500 {
			t.Fatalf("GET %s?%s = %d; want no server error\n%s", path, query, rec.Code, body)
		}
		if rec.Code >= 300 && rec.Code < 400 {
			return // the mux cleans odd paths by redirecting
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(body) {
			t.Fatalf("GET %s?%s = %d with invalid JSON: %q", path, query, rec.Code, body)
		}
		if rec.Code >= 400 {
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Fatalf("GET %s?%s = %d with body %q; want {\"error\": …}", path, query, rec.Code, body)
			}
		}
	})
}
