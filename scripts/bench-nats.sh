#!/usr/bin/env bash
# Relay throughput through one tether hub, then across two hubs clustered
# over NATS, in the same run: the numbers for docs/PERFORMANCE.md
# ("Hub relay across NATS"). Needs nats-server (Debian: apt-get install
# nats-server) and a built tether (TETHER, default ./tether).
#
#   go build -o tether ./cmd/tether && scripts/bench-nats.sh
#   BENCH="--devices 100 --pages 1 --rate 100" scripts/bench-nats.sh
set -euo pipefail
T=${TETHER:-./tether}
BENCH=${BENCH:---devices 1 --pages 1 --closed-loop}
DURATION=${DURATION:-10s}
W=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not open" >&2; exit 1; }

NP=$(port)
nats-server -a 127.0.0.1 -p "$NP" >"$W/nats.log" 2>&1 & pids+=($!)
wait_port "$NP"
hub() { # name device-port page-port [--nats URL]
	"$T" hub --name "$1" --device-addr "127.0.0.1:$2" --page-addr "127.0.0.1:$3" --log-level warn "${@:4}" >"$W/$1.log" 2>&1 & pids+=($!)
	wait_port "$2"; wait_port "$3"
}
D1=$(port); P1=$(port); hub solo "$D1" "$P1"
DA=$(port); PA=$(port); hub A "$DA" "$PA" --nats "nats://127.0.0.1:$NP"
DB=$(port); PB=$(port); hub B "$DB" "$PB" --nats "nats://127.0.0.1:$NP"

echo "== one hub: device and page on the same hub"
"$T" bench relay $BENCH --duration "$DURATION" --device-url "ws://127.0.0.1:$D1" --page-url "ws://127.0.0.1:$P1"
echo "== two hubs over NATS: device on hub A, page on hub B"
"$T" bench relay $BENCH --duration "$DURATION" --device-url "ws://127.0.0.1:$DA" --page-url "ws://127.0.0.1:$PB"
echo "== two hubs over NATS: device and page on hub A (local path)"
"$T" bench relay $BENCH --duration "$DURATION" --device-url "ws://127.0.0.1:$DA" --page-url "ws://127.0.0.1:$PA"
