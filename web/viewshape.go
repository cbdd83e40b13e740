package web

import (
	"bytes"
	"encoding/json"
)

// The View fields that change on every computation without changing what
// the view says: measured RTTs, heartbeat ages and the computation time.
// The stream sends a new view when anything else changes, and refreshes
// these only every streamViewRefresh. Whether an RTT is known (> 0) and
// whether a member was ever heard (>= 0) are part of the shape, so the
// first measurements show at once.
const (
	keyRTT       = "rtt_ms"
	keyLastHeard = "last_heard_ms"
	keyUpdatedAt = "updated_at"
)

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
		delete(x, keyUpdatedAt)
		if n, ok := x[keyRTT].(json.Number); ok {
			f, _ := n.Float64()
			x[keyRTT] = f > 0
		}
		if n, ok := x[keyLastHeard].(json.Number); ok {
			f, _ := n.Float64()
			x[keyLastHeard] = f >= 0
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
