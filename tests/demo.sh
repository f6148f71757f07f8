#!/bin/sh
# make demo: a 1 GiB ttcp transfer between two processes, each with its own virtual
# kernel, over sockin (the paper's section 2.2, no privileges), beside the same
# transfer between two plain host processes.
set -eu
cd "$(dirname "$0")/.."
B=examples-c/build
PORT=${PORT:-$((20000 + $$ % 20000))}
N=${N:-131072}   # buffers of 8 KiB: 1 GiB
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

run() { # $1 = label, $2 = binary, env RUMP_NET may be set
  label=$1; bin=$2
  "$bin" -r -s -p "$PORT" 2>"/tmp/ttcp-r.$$" & rpid=$!; pids="$pids $rpid"
  i=0; while ! grep -q "ttcp-r: buflen" "/tmp/ttcp-r.$$" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  "$bin" -t -s -n "$N" -l 8192 -p "$PORT" 127.0.0.1 2>"/tmp/ttcp-t.$$"
  wait "$rpid"
  echo "== $label"; cat "/tmp/ttcp-t.$$" "/tmp/ttcp-r.$$" | grep -E "real seconds"
  LAST_MBPS=$(sed -n 's/^ttcp-r: bytes=.* MBps=\([0-9.]*\).*/\1/p' "/tmp/ttcp-r.$$")
  rm -f "/tmp/ttcp-t.$$" "/tmp/ttcp-r.$$"
  PORT=$((PORT + 1))
}

run "host kernel (two plain processes)" "$B/ttcp"
HOST_MBPS=$LAST_MBPS
RUMP_NET=sockin; export RUMP_NET
run "rump sockin (two virtual kernels, macro-wrapped ttcp)" "$B/ttcp-rump"
echo "== sockin / host throughput: $(awk -v a="$LAST_MBPS" -v b="$HOST_MBPS" 'BEGIN { printf "%.2f", a / b }')x"
