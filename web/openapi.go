package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"gopkg.in/yaml.v3"
)

// openAPIYAML is the hand-written OpenAPI document, the API's contract.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIYAML returns the OpenAPI document as written (YAML), for tools and
// tests.
func OpenAPIYAML() []byte { return append([]byte(nil), openAPIYAML...) }

// openAPIDoc is the OpenAPI document converted to JSON once, at NewServer.
type openAPIDoc struct {
	json []byte
	err  error
}

// newOpenAPIDoc converts the embedded YAML to JSON and, when version is
// set, puts the running version in info.version.
func newOpenAPIDoc(version string) openAPIDoc {
	b, err := openAPIJSON(openAPIYAML, version)
	return openAPIDoc{json: b, err: err}
}

func (o openAPIDoc) serve(w http.ResponseWriter, r *http.Request) {
	if o.err != nil {
		// Only a broken build gets here; the tests parse the document.
		writeError(w, http.StatusInternalServerError, "openapi document: "+o.err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(o.json)
}

// openAPIJSON converts an OpenAPI document from YAML to JSON.
func openAPIJSON(doc []byte, version string) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("openapi: yaml: %w", err)
	}
	v, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok && version != "" {
		if info, ok := m["info"].(map[string]any); ok {
			info["version"] = version
		}
	}
	return json.Marshal(v)
}

// jsonValue turns what yaml.v3 decodes into values encoding/json accepts:
// mapping keys become strings (YAML reads the response code 200 as an int).
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
		return x, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case string, int, int64, uint64, float64, bool:
				out[fmt.Sprint(k)] = j
			default:
				return nil, fmt.Errorf("openapi: mapping key %v (%T) is not a scalar", k, k)
			}
		}
		return out, nil
	case []any:
		for i, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
		return x, nil
	}
	return v, nil
}
