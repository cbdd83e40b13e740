# meshmon container image: FROM scratch, holding only the static binary, CA
# roots, tzdata, /etc/passwd and /etc/group for the user meshmon (10001), and
# an empty /tmp. docs/docker.md explains it; two ways to build it:
#
#   Offline, from a binary built on this machine (no image is pulled at all;
#   `make docker` prepares bin/docker-context and runs this):
#     DOCKER_BUILDKIT=0 docker build --target runtime-local -t meshmon:latest -f Dockerfile bin/docker-context
#
#   From source, for machines that can pull golang:<version> (BuildKit, the
#   default builder since Docker 23):
#     docker build -t meshmon:latest --build-arg VERSION=$(git describe --tags --always --dirty) \
#       --build-arg COMMIT=$(git rev-parse --short HEAD) .
#
# Stage order matters: the classic builder builds every stage up to --target
# in file order, so the offline stages come first and never reach the golang
# stage. BuildKit builds only the stages the target needs. There is no
# "# syntax=" line on purpose: BuildKit would pull the frontend image for it.

ARG GO_VERSION=1.26.8

# ---------------------------------------------------------------------------
# runtime-base: what both final images share (metadata only, no files).
FROM scratch AS runtime-base
# MESHMON_STEP_DOWN=1 turns on the step down from root described below; it
# is a feature of this image only: on a host, root stays root.
ENV PATH=/ \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    MESHMON_STEP_DOWN=1
# No USER: the container starts as root, and meshmon steps down at once,
# before it loads the config or writes a file: to the owner of /app/config
# (a bind-mounted ./config: the host user who made it), or to meshmon 10001
# when root owns the dir (it hands the dir to 10001 first). The rootless
# Docker and Podman case, --user and MESHMON_RUN_AS_ROOT=1 are in
# docs/docker.md, "Who owns the files (UID handling)". `meshmon healthcheck`,
# the HEALTHCHECK below, only makes an HTTP request: it needs no step down.
WORKDIR /app
# VOLUME /app/config is declared by each final stage, after the COPYs that
# fill it: the classic builder may discard what a step writes under a volume
# declared before it.
# 8000: HTTP (dashboard, API, /docs, /metrics). 4001: libp2p over TCP and QUIC.
EXPOSE 8000/tcp 4001/tcp 4001/udp
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/meshmon", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/meshmon"]
CMD ["run", "--config-dir", "/app/config"]

# ---------------------------------------------------------------------------
# runtime-local: the offline image. The build context is the directory
# `make docker` prepares: meshmon (static linux binary) and rootfs/ (etc/passwd,
# etc/group, etc/ssl/certs/ca-certificates.crt, usr/share/zoneinfo, tmp, app).
FROM runtime-base AS runtime-local
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="meshmon" \
      org.opencontainers.image.description="decentralised uptime monitor: nodes watch each other over libp2p and agree on who is up" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY rootfs/ /
# /app/config belongs to 10001, so without a bind mount (a volume made from
# it) the node steps down to 10001 and has nothing to chown.
COPY --chown=10001:10001 rootfs/app/ /app/
COPY meshmon /meshmon
VOLUME /app/config

# ---------------------------------------------------------------------------
# builder: compiles the static binary from source and prepares the same
# rootfs as `make docker` does. Only the from-source build reaches it.
FROM golang:${GO_VERSION}-bookworm AS builder
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# urfave_cli_no_docs: as in the Makefile (no man-page generator in the binary).
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -tags urfave_cli_no_docs \
      -ldflags "-s -w -X github.com/meshmon/meshmon/version.Version=${VERSION} -X github.com/meshmon/meshmon/version.Commit=${COMMIT}" \
      -o /out/meshmon ./cmd/meshmon
# Same files as the Makefile's docker-context target; keep the two in step.
RUN set -eu; \
    if [ ! -e /usr/share/zoneinfo/UTC ] || [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends tzdata ca-certificates; \
    fi; \
    r=/out/rootfs; \
    mkdir -p $r/etc/ssl/certs $r/usr/share $r/tmp $r/app/config; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nmeshmon:x:10001:10001:meshmon:/app:/sbin/nologin\n' > $r/etc/passwd; \
    printf 'root:x:0:\nmeshmon:x:10001:\n' > $r/etc/group; \
    cp /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/; \
    cp -a /usr/share/zoneinfo $r/usr/share/; \
    rm -rf $r/usr/share/zoneinfo/right; \
    chmod 1777 $r/tmp

# ---------------------------------------------------------------------------
# runtime: the from-source image (the default target: the last stage).
FROM runtime-base AS runtime
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="meshmon" \
      org.opencontainers.image.description="decentralised uptime monitor: nodes watch each other over libp2p and agree on who is up" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=builder /out/rootfs/ /
COPY --from=builder --chown=10001:10001 /out/rootfs/app/ /app/
COPY --from=builder /out/meshmon /meshmon
VOLUME /app/config
