// Package web is meshmon's HTTP sidecar: the REST API, and later the OpenAPI
// document with Swagger UI at /docs, the embedded dashboard and /metrics. It
// reads only immutable snapshots from the node.
package web
