# meshmon — `make help` lists the targets.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/meshmon/meshmon/version.Version=$(VERSION) -X github.com/meshmon/meshmon/version.Commit=$(COMMIT)
BIN     := bin/meshmon
# urfave_cli_no_docs leaves out urfave/cli's man-page and Markdown generator
# (blackfriday, md2man), which meshmon never calls: 0.25 MB of binary and
# 0.2 MB of heap built at start (docs/performance.md).
TAGS    := urfave_cli_no_docs
# Test timeout for the whole suite; multi-node tests run real hosts.
TEST_TIMEOUT ?= 20m
# The race detector needs cgo (a C compiler); without one, tests run without it.
RACE ?= $(shell command -v gcc >/dev/null 2>&1 && echo -race)

.DEFAULT_GOAL := help

.PHONY: help
help: ## show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/meshmon (static, version stamped)
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/meshmon

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

# --- Benchmarks (docs/performance.md) ------------------------------------------
# `make bench` measures bin/meshmon side by side with Serf: N real processes of
# each, every node in its own network namespace (needs root, ip, iptables).
# Shorten it with e.g. `make bench BENCH_N=10 BENCH_WINDOW=20s BENCH_ROUNDS=1`.
BENCH_CACHE  ?= $(CURDIR)/bin/bench-cache
SERF_VERSION ?= v0.11.0
SERF_BIN     := $(BENCH_CACHE)/serf-$(SERF_VERSION)/serf
BENCH_N      ?= 10,30
BENCH_WINDOW ?= 60s
BENCH_SETTLE ?= 10s
BENCH_ROUNDS ?= 3
BENCH_FLAGS  ?=
PROFILE_N      ?= 30
PROFILE_WINDOW ?= 30s
WIREBENCH    := bin/wirebench

$(SERF_BIN):
	GOBIN=$(dir $(SERF_BIN)) $(GO) install github.com/hashicorp/serf/cmd/serf@$(SERF_VERSION)

.PHONY: wirebench
wirebench:
	$(GO) build -o $(WIREBENCH) ./bench/wirebench

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 10s); a crash leaves its input in testdata/fuzz
	FUZZTIME=$(or $(FUZZTIME),10s) scripts/fuzz.sh

.PHONY: bench
bench: build wirebench $(SERF_BIN) ## meshmon vs Serf at N=10 and N=30, each node in its own netns: bytes, CPU, RSS, convergence, detection (root)
	set -o pipefail; ./$(WIREBENCH) -meshmon $(BIN) -serf $(SERF_BIN) -n $(BENCH_N) -window $(BENCH_WINDOW) \
		-settle $(BENCH_SETTLE) -rounds $(BENCH_ROUNDS) $(BENCH_FLAGS) | tee bin/bench.md

.PHONY: bench-quick
bench-quick: ## make bench at N=5 with a 15 s window and 2 rounds: checks the harness end to end in about 2 minutes
	$(MAKE) bench BENCH_N=5 BENCH_WINDOW=15s BENCH_SETTLE=5s BENCH_ROUNDS=2

.PHONY: profile
profile: build wirebench ## CPU (over a 30 s window) and heap profiles of one meshmon node at N=30, into bin/profile/ (root)
	./$(WIREBENCH) -systems meshmon -meshmon $(BIN) -n $(PROFILE_N) -window $(PROFILE_WINDOW) -rounds 0 -profile bin/profile $(BENCH_FLAGS)
	$(GO) tool pprof -top -cum -nodecount=40 bin/profile/cpu.pprof 2>/dev/null | head -50
	$(GO) tool pprof -top -nodecount=20 -sample_index=inuse_space bin/profile/heap.pprof 2>/dev/null | head -30

.PHONY: bench-loopback
bench-loopback: build ## the older Go benchmarks: 10 processes on loopback (detection, RSS, gossip bytes) and N nodes in one process
	MESHMON_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...

# The chaos soak (e2e/chaos TestSoak) needs root. SOAK_FOR and SOAK_NODES
# change its length and size; SOAK_TIMEOUT must exceed SOAK_FOR.
SOAK_FOR     ?= 30m
SOAK_NODES   ?= 10
SOAK_TIMEOUT ?= 90m

.PHONY: soak
soak: ## chaos soak (root): 10 nodes for 30 min of pauses, starvation, loss and cuts; prints false transitions, alerts, RSS drift
	MESHMON_SOAK=1 MESHMON_SOAK_FOR=$(SOAK_FOR) MESHMON_SOAK_NODES=$(SOAK_NODES) \
		$(GO) test -count=1 -v -run '^TestSoak$$' -timeout $(SOAK_TIMEOUT) ./e2e/chaos/

.PHONY: generate
generate: ## regenerate protobuf code (needs protoc and protoc-gen-go v1.36.12)
	cd p2p/pb && protoc --go_out=. --go_opt=paths=source_relative meshmon.proto

.PHONY: lint
lint: ## go vet, gofmt and staticcheck (v0.6.1: the module proxy serves it; it refuses 2025.1.1)
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...

.PHONY: vendor
vendor: ## re-fetch the pinned Swagger UI (swagger-ui-dist) from the npm registry and check its hashes
	scripts/vendor-swagger.sh

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin

# --- Docker -----------------------------------------------------------------
# `make docker` builds the image offline: a static linux binary plus the
# rootfs files (passwd/group for uid 10001, CA roots, tzdata) go into
# $(DOCKER_CONTEXT), and the Dockerfile's runtime-local stage, FROM scratch,
# copies them. No image is pulled. The classic builder is the default because
# it needs no buildx plugin; DOCKER_BUILDKIT=1 works where BuildKit does.
DOCKER          ?= docker
IMAGE           ?= meshmon:latest
DOCKER_BUILDKIT ?= 0
DOCKER_CONTEXT  := bin/docker-context
DOCKER_GOARCH   ?= $(shell $(GO) env GOARCH)
CA_BUNDLE       ?= /etc/ssl/certs/ca-certificates.crt
ZONEINFO_DIR    ?= /usr/share/zoneinfo

.PHONY: docker-context
docker-context: ## prepare bin/docker-context: linux binary and rootfs for the offline image
	@test -r $(CA_BUNDLE) || { echo "no CA bundle at $(CA_BUNDLE) (apt-get install ca-certificates, or set CA_BUNDLE)" >&2; exit 1; }
	@test -e $(ZONEINFO_DIR)/UTC || { echo "no tzdata at $(ZONEINFO_DIR) (apt-get install tzdata, or set ZONEINFO_DIR)" >&2; exit 1; }
	rm -rf $(DOCKER_CONTEXT)
	mkdir -p $(DOCKER_CONTEXT)/rootfs/etc/ssl/certs $(DOCKER_CONTEXT)/rootfs/usr/share $(DOCKER_CONTEXT)/rootfs/tmp $(DOCKER_CONTEXT)/rootfs/app/config
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DOCKER_GOARCH) $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(DOCKER_CONTEXT)/meshmon ./cmd/meshmon
	@# The same files as the Dockerfile's builder stage; keep the two in step.
	printf 'root:x:0:0:root:/root:/sbin/nologin\nmeshmon:x:10001:10001:meshmon:/app:/sbin/nologin\n' > $(DOCKER_CONTEXT)/rootfs/etc/passwd
	printf 'root:x:0:\nmeshmon:x:10001:\n' > $(DOCKER_CONTEXT)/rootfs/etc/group
	cp -L $(CA_BUNDLE) $(DOCKER_CONTEXT)/rootfs/etc/ssl/certs/ca-certificates.crt
	cp -a $(ZONEINFO_DIR) $(DOCKER_CONTEXT)/rootfs/usr/share/zoneinfo
	rm -rf $(DOCKER_CONTEXT)/rootfs/usr/share/zoneinfo/right
	chmod 0755 $(DOCKER_CONTEXT)/rootfs/app $(DOCKER_CONTEXT)/rootfs/app/config
	chmod 1777 $(DOCKER_CONTEXT)/rootfs/tmp

.PHONY: docker
docker: docker-context ## build the image meshmon:latest (IMAGE=...) offline: FROM scratch, no pull; see docs/docker.md
	DOCKER_BUILDKIT=$(DOCKER_BUILDKIT) $(DOCKER) build --target runtime-local \
		--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
		-t $(IMAGE) -f Dockerfile $(DOCKER_CONTEXT)
	@$(DOCKER) image inspect $(IMAGE) --format '$(IMAGE): {{.Size}} bytes'

.PHONY: e2e
e2e: docker ## Docker end-to-end tests: the image, the quick start, 3 containers (needs a running dockerd)
	MESHMON_E2E_DOCKER=1 MESHMON_IMAGE=$(IMAGE) MESHMON_DOCKER=$(DOCKER) $(GO) test -count=1 -v -timeout 15m ./e2e/docker/...
