#!/bin/sh
# Runs this example on one Linux machine: public-1 on a pretend internet,
# home-a and home-b each behind its own NAT router, every one in its own
# network namespace. The same topology as the NAT end-to-end test
# (e2e/nat). Needs root, iproute2 and iptables; touches nothing outside the
# namespaces it creates (named nat-demo-*), which have no route out.
#
#   sudo ./netns-demo.sh up        # build the namespaces, write configs, start 3 nodes
#   sudo ./netns-demo.sh status    # `meshmon status` as each node sees it
#   sudo ./netns-demo.sh get home-a /api/p2p    # any API path, from inside that node's namespace
#   sudo ./netns-demo.sh cut       # public-1 drops home-a's router: home-a loses its relay
#   sudo ./netns-demo.sh uncut
#   sudo ./netns-demo.sh down      # stop the nodes, delete the namespaces
#
# Environment: MESHMON (the binary; default ../../bin/meshmon, from
# `make build`), DEMO_DIR (config dirs and logs; default
# /tmp/meshmon-nat-demo). The nodes run as root (MESHMON_RUN_AS_ROOT=1).
set -eu
cd "$(dirname "$0")"
MESHMON=${MESHMON:-$PWD/../../bin/meshmon}
DIR=${DEMO_DIR:-/tmp/meshmon-nat-demo}
NS=nat-demo
NODES="public-1 home-a home-b"
PUBLIC_IP=10.77.0.10

die() { echo "netns-demo: $*" >&2; exit 1; }

# inns NODE CMD...: run CMD inside a namespace of the demo.
inns() { n=$1; shift; ip netns exec "$NS-$n" "$@"; }

need() {
  [ "$(id -u)" = 0 ] || die "run as root: network namespaces and iptables need it"
  for c in ip iptables; do
    command -v "$c" >/dev/null 2>&1 || die "$c not found (apt-get install iproute2 iptables)"
  done
  [ -x "$MESHMON" ] || die "no meshmon binary at $MESHMON: run make build, or set MESHMON"
}

# home NAME INDEX: a router (WAN 10.77.0.10<INDEX>) and a LAN 192.168.<INDEX>.0/24.
home() {
  h=$1 i=$2
  ip netns add "$NS-$h-nat"
  ip netns add "$NS-$h"
  ip -n "$NS-$h-nat" link set lo up
  ip -n "$NS-$h" link set lo up
  ip link add wan netns "$NS-$h-nat" type veth peer name "$h" netns "$NS-inet"
  ip -n "$NS-inet" link set "$h" master br0 up
  ip link add lan netns "$NS-$h-nat" type veth peer name eth0 netns "$NS-$h"
  ip -n "$NS-$h-nat" addr add "10.77.0.10$i/24" dev wan
  ip -n "$NS-$h-nat" addr add "192.168.$i.1/24" dev lan
  ip -n "$NS-$h-nat" link set wan up
  ip -n "$NS-$h-nat" link set lan up
  ip -n "$NS-$h" addr add "192.168.$i.2/24" dev eth0
  ip -n "$NS-$h" link set eth0 up
  ip -n "$NS-$h" route add default via "192.168.$i.1"
  inns "$h-nat" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
  # MASQUERADE, no port forwards, nothing new gets in from the WAN.
  inns "$h-nat" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
  inns "$h-nat" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  inns "$h-nat" iptables -A FORWARD -i wan -o lan -j DROP
  inns "$h-nat" iptables -A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  inns "$h-nat" iptables -A INPUT -i wan -j DROP
}

up() {
  need
  ip netns list | grep -q "^$NS-" && die "already up (./netns-demo.sh down first)"
  # The internet: a bridge in its own namespace, public-1 on it.
  ip netns add "$NS-inet"
  ip -n "$NS-inet" link set lo up
  ip -n "$NS-inet" link add br0 type bridge
  ip -n "$NS-inet" link set br0 up
  ip netns add "$NS-public-1"
  ip -n "$NS-public-1" link set lo up
  ip link add eth0 netns "$NS-public-1" type veth peer name public-1 netns "$NS-inet"
  ip -n "$NS-inet" link set public-1 master br0 up
  ip -n "$NS-public-1" addr add "$PUBLIC_IP/24" dev eth0
  ip -n "$NS-public-1" link set eth0 up
  home home-a 1
  home home-b 2

  # Configs: `meshmon init` writes each node's nodeconf.yml, key and
  # pubkey; every node then gets the same config.yml (this folder's, with
  # public-1's url pointing into the demo) and every pubkey.
  rm -rf "$DIR"
  mkdir -p "$DIR"
  for n in $NODES; do
    out=$(MESHMON_RUN_AS_ROOT=1 "$MESHMON" init --config-dir "$DIR/$n" --node-id "$n" --network nat-demo 2>&1) ||
      die "meshmon init $n: $out"
  done
  for n in $NODES; do
    sed "s#http://public-1.example.com:8000#http://$PUBLIC_IP:8000#" config.yml > "$DIR/$n/networks/nat-demo/config.yml"
    for m in $NODES; do
      [ "$m" = "$n" ] || cp "$DIR/$m/networks/nat-demo/pubkeys/$m.pub" "$DIR/$n/networks/nat-demo/pubkeys/"
    done
  done
  for n in $NODES; do
    MESHMON_RUN_AS_ROOT=1 ip netns exec "$NS-$n" "$MESHMON" run --config-dir "$DIR/$n" \
      --p2p-listen /ip4/0.0.0.0/tcp/4001 --p2p-listen /ip4/0.0.0.0/udp/4001/quic-v1 \
      >"$DIR/$n.log" 2>&1 &
    echo $! >"$DIR/$n.pid"
  done
  echo "started $NODES; configs and logs in $DIR"
  echo "in a few seconds: sudo $0 status"
}

status() {
  for n in $NODES; do
    echo "== as $n sees it"
    inns "$n" "$MESHMON" status --url http://127.0.0.1:8000 || true
  done
}

# get NODE PATH: GET an API path from inside NODE's namespace (its API is
# not reachable from outside the demo).
get() {
  [ $# = 2 ] || die "usage: $0 get NODE /api/PATH"
  command -v curl >/dev/null 2>&1 || die "get needs curl"
  inns "$1" curl -sS "http://127.0.0.1:8000$2"
  echo
}

# cut / uncut: public-1 drops (or no longer drops) every packet to and from
# home-a's router, home-a's only way to a relay and to the gossip.
cut() { inns public-1 iptables -I INPUT -s 10.77.0.101 -j DROP; inns public-1 iptables -I OUTPUT -d 10.77.0.101 -j DROP; }
uncut() { inns public-1 iptables -D INPUT -s 10.77.0.101 -j DROP; inns public-1 iptables -D OUTPUT -d 10.77.0.101 -j DROP; }

down() {
  pids=
  for n in $NODES; do
    if [ -f "$DIR/$n.pid" ]; then
      pids="$pids $(cat "$DIR/$n.pid")"
      rm -f "$DIR/$n.pid"
    fi
  done
  # SIGTERM: each node announces that it leaves, then exits; up to 10 s.
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 1
  done
  for ns in $(ip netns list | awk -v p="^$NS-" '$1 ~ p {print $1}'); do
    ip netns delete "$ns"
  done
  echo "stopped; configs and logs stay in $DIR"
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  get) shift; get "$@" ;;
  cut) cut ;;
  uncut) uncut ;;
  down) down ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
