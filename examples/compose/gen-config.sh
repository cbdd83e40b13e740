#!/bin/sh
# Writes ./config/<node>/ for each node of docker-compose.yml: the node's key
# (made by the image itself with `meshmon keys show`), its nodeconf.yml, the
# network's config.yml listing every node at http://<service>:8000, and every
# node's public key. The dirs are yours, so the containers step down to you
# and every file they write stays yours.
#
#   ./gen-config.sh                 # then: docker compose up -d
#
# Environment: MESHMON_IMAGE (default meshmon:latest), NODES (default
# "node-1 node-2 node-3", must match the services), NETWORK (default
# compose-demo). Keys are never overwritten; config.yml and pubkeys/ are
# rewritten from the node list on every run.
set -eu
cd "$(dirname "$0")"
IMAGE=${MESHMON_IMAGE:-meshmon:latest}
NODES=${NODES:-node-1 node-2 node-3}
NETWORK=${NETWORK:-compose-demo}
mkdir -p config
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for n in $NODES; do
  dir=config/$n
  mkdir -p "$dir/networks/$NETWORK/pubkeys"
  if [ ! -f "$dir/nodeconf.yml" ]; then
    printf 'networks:\n  - directory: %s\n    node_id: %s\n' "$NETWORK" "$n" > "$dir/nodeconf.yml"
  fi
  # Creates config/<node>/.private_keys/node.key on first use; prints the
  # peer ID and the public key PEM.
  docker run --rm -v "$PWD/$dir:/app/config" "$IMAGE" keys show > "$tmp/$n.keys"
  sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' "$tmp/$n.keys" > "$tmp/$n.pub"
  echo "$n: $(sed -n 's/^peer_id: //p' "$tmp/$n.keys")"
done

{
  echo "# Written by gen-config.sh: the same file on every node."
  echo "network_id: $NETWORK"
  echo "node_config:"
  for n in $NODES; do
    printf '  - node_id: %s\n    url: http://%s:8000\n' "$n" "$n"
  done
} > "$tmp/config.yml"

for n in $NODES; do
  cp "$tmp/config.yml" "config/$n/networks/$NETWORK/config.yml"
  for m in $NODES; do
    cp "$tmp/$m.pub" "config/$n/networks/$NETWORK/pubkeys/$m.pub"
  done
done

echo "config written for: $NODES (network $NETWORK); now: docker compose up -d"
