package web

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (an
// event stream that does not end, for one).
func TestMain(m *testing.M) {
	// kin-openapi decodes only the media types it knows; the pages and the
	// event stream are text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("image/svg+xml", openapi3filter.PlainBodyDecoder)
	code := m.Run()
	// The default client keeps idle keep-alive connections; they are not leaks.
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
