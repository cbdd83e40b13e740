// Package web is meshmon's HTTP sidecar (DESIGN.md §8): the REST API under
// /api, the OpenAPI document at /openapi.json with Swagger UI at /docs, the
// live event stream, and the /metrics mount. It reads only immutable
// snapshots through the functions of Deps and owns no state of its own.
//
// openapi.yaml is the contract: the tests validate every response against
// it. docs/api.md describes the API for people.
package web
