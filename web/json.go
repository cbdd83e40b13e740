package web

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// As json.Encoder did: the status, and no body.
		w.WriteHeader(status)
		return
	}
	b = append(b, '\n')
	// The length lets gzipHandler leave small answers uncompressed.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}
