package web

import (
	"bytes"
	"encoding/json"
)

// volatileViewKeys are the View fields that change on every computation
// without changing what the view says: measured RTTs, heartbeat ages and
// the computation time. The stream sends a new view when anything else
// changes, and refreshes these only every streamViewRefresh.
var volatileViewKeys = []string{"rtt_ms", "last_heard_ms", "updated_at"}

// viewShape returns the JSON of a view (as marshalled) without its
// volatile fields, in a canonical key order, so two views that say the
// same thing have equal shapes.
func viewShape(viewJSON []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(viewJSON))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	stripVolatile(v)
	return json.Marshal(v)
}

func stripVolatile(v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range volatileViewKeys {
			delete(x, k)
		}
		for _, c := range x {
			stripVolatile(c)
		}
	case []any:
		for _, c := range x {
			stripVolatile(c)
		}
	}
}
