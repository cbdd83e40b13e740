# meshmon — `make help` lists the targets.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/meshmon/meshmon/version.Version=$(VERSION) -X github.com/meshmon/meshmon/version.Commit=$(COMMIT)
BIN     := bin/meshmon
# Test timeout for the whole suite; multi-node tests run real hosts.
TEST_TIMEOUT ?= 20m
# The race detector needs cgo (a C compiler); without one, tests run without it.
RACE ?= $(shell command -v gcc >/dev/null 2>&1 && echo -race)

.DEFAULT_GOAL := help

.PHONY: help
help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/meshmon (static, version stamped)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/meshmon

.PHONY: run
run: build ## build and run a live 5-node demo network; dashboard on http://localhost:8000
	./$(BIN) demo

.PHONY: demo
demo: run ## same as run

.PHONY: test
test: ## run the whole test suite (unit, multi-node, process-level)
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test $(RACE) -count=1 -timeout $(TEST_TIMEOUT) ./...

.PHONY: bench
bench: build ## run the benchmarks (detection time, RSS, gossip bytes; in-process scale)
	MESHMON_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...

.PHONY: generate
generate: ## regenerate protobuf code (needs protoc and protoc-gen-go v1.36.12)
	cd p2p/pb && protoc --go_out=. --go_opt=paths=source_relative meshmon.proto

.PHONY: lint
lint: ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin
