// Package webtest checks HTTP exchanges with a meshmon node against the
// OpenAPI document (web/openapi.yaml), for tests of any package that runs
// nodes: the document is the contract, and every real response, errors
// included, must match it.
package webtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/meshmon/meshmon/web"
)

// Contract validates requests and responses against the OpenAPI document.
// It is safe for concurrent use.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

// NewContract loads and validates the OpenAPI document. It registers text
// decoders for text/html and text/event-stream with kin-openapi (which
// knows neither) so those responses can be checked too.
func NewContract() (*Contract, error) {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(web.OpenAPIYAML())
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi: validate: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: router: %w", err)
	}
	return &Contract{doc: doc, router: router}, nil
}

// Doc is the loaded document.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// Check validates a response (status, headers and body) to req against the
// document. The status must be one the operation documents.
func (c *Contract) Check(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: not in the document: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true}}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("%s %s: response %d does not match the document: %w", req.Method, req.URL, status, err)
	}
	return nil
}

// Get sends GET base+path with the given headers, validates the response
// and returns its status and body. An event stream is read up to the end of
// its first view message and then closed.
func (c *Contract) Get(t testing.TB, base, path string, header http.Header) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		for _, s := range v {
			req.Header.Add(k, s)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body []byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, err = firstView(resp.Body)
	} else {
		body, err = io.ReadAll(resp.Body)
	}
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	if err := c.Check(ctx, req, resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("%v\n%s", err, truncate(body))
	}
	return resp.StatusCode, body
}

// firstView reads an event stream up to the end of its first view message.
func firstView(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	br := bufio.NewReader(r)
	view := false
	for {
		line, err := br.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			return out.Bytes(), fmt.Errorf("stream ended before a view: %w", err)
		}
		view = view || line == "event: view\n"
		if view && line == "\n" {
			return out.Bytes(), nil
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return fmt.Sprintf("%s… (%d bytes)", b[:2000], len(b))
	}
	return string(b)
}
