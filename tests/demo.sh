#!/bin/sh
# make demo: the paper's section 4.2 setup, rootless, on shmif buses in a temporary
# folder: a router process between two subnets, an echo daemon behind it, and from the
# other side rping (UDP and TCP round-trip times) and ttcp (TCP throughput). Then ttcp
# over sockin beside the host kernel. Leaves a pcap of each bus; stops every process it
# started, by PID.
set -eu
cd "$(dirname "$0")/.."
B=examples-c/build
T=target/release
DIR=${DEMO_DIR:-$(mktemp -d /tmp/rumpnet-demo.XXXXXX)}
mkdir -p "$DIR"
A="$DIR/bus-a"
BB="$DIR/bus-b"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

waitfor() { # $1 = file, $2 = text: wait (bounded) until a daemon says it is ready
  i=0; while ! grep -q "$2" "$1" 2>/dev/null; do
    i=$((i+1)); [ $i -lt 100 ] || { echo "demo: $1 never said '$2'" >&2; cat "$1" >&2; exit 1; }
    sleep 0.05
  done
}

echo "== routed network in $DIR"
echo "   10.0.1.2 (client) --bus-a-- 10.0.1.1 [router] 10.0.2.1 --bus-b-- 10.0.2.2 (echod)"
RUMP_NET="shmif $A 10.0.1.1/24; shmif $BB 10.0.2.1/24; forward" $B/router >"$DIR/router.out" 2>&1 &
pids="$pids $!"
waitfor "$DIR/router.out" "router ready"
RUMP_NET="shmif $BB 10.0.2.2/24; route default 10.0.2.1" $B/echod 7 >"$DIR/echod.out" 2>&1 &
pids="$pids $!"
waitfor "$DIR/echod.out" "echod ready"
CLIENT="shmif $A 10.0.1.2/24; route default 10.0.1.1"

echo "== rping: UDP round trips through the router"
RUMP_NET="$CLIENT" $B/rping -c 50 10.0.2.2 7 | tail -3

echo "== rping -t: TCP round trips through the router"
RUMP_NET="$CLIENT" $B/rping -t -c 50 10.0.2.2 7 | tail -1

echo "== ttcp: 128 MiB over TCP through the router (the kernels' own TCP)"
RUMP_NET="shmif $BB 10.0.2.2/24; route default 10.0.2.1" $B/ttcp-rump -r -s -p 5001 2>"$DIR/ttcp-r.out" &
rpid=$!; pids="$pids $rpid"
waitfor "$DIR/ttcp-r.out" "ttcp-r: buflen"; sleep 0.2
RUMP_NET="$CLIENT" $B/ttcp-rump -t -s -l 8192 -n 16384 -p 5001 10.0.2.2 2>"$DIR/ttcp-t.out" || cat "$DIR/ttcp-t.out"
wait "$rpid" 2>/dev/null || true
grep -h "real seconds" "$DIR/ttcp-t.out" "$DIR/ttcp-r.out" || cat "$DIR/ttcp-t.out" "$DIR/ttcp-r.out"

echo "== packet captures of the buses"
$T/shmif_dumpbus -p "$DIR/bus-a.pcap" "$A"
$T/shmif_dumpbus -p "$DIR/bus-b.pcap" "$BB"
echo "   $DIR/bus-a.pcap  $DIR/bus-b.pcap   (tcpdump -nn -r FILE)"

echo "== TCP: ttcp over sockin (two virtual kernels on host sockets) beside the host kernel"
PORT=$((20000 + $$ % 20000))
run() { # $1 = label, $2 = binary
  "$2" -r -s -p "$PORT" 2>"$DIR/r.out" & r=$!; pids="$pids $r"
  waitfor "$DIR/r.out" "ttcp-r: buflen"; sleep 0.1
  "$2" -t -s -n 32768 -l 8192 -p "$PORT" 127.0.0.1 2>"$DIR/t.out"
  wait "$r" || true
  echo "   $1: $(grep -h 'real seconds' "$DIR/r.out")"
  MBPS=$(sed -n 's/^ttcp-r: bytes=.* MBps=\([0-9.]*\).*/\1/p' "$DIR/r.out")
  PORT=$((PORT + 1))
}
run "host kernel " "$B/ttcp"; HOST=$MBPS
RUMP_NET=sockin run "rump sockin" "$B/ttcp-rump"
echo "   sockin / host throughput: $(awk -v a="$MBPS" -v b="$HOST" 'BEGIN { printf "%.2f", a / b }')x"
