#!/usr/bin/env bash
# Measures tether hub against Debian's Mosquitto 2.0 over WebSockets in one
# run, as docs/PERFORMANCE.md reports it, with the raw TCP relay (tether
# bench tcp-relay-server: the same messages as bytes between sockets) as
# the ceiling: each server pinned to CPU $SERVER_CPU, the load generator
# (tether bench) to CPU $BENCH_CPU, 64-byte messages on 127.0.0.1. Every
# hub binary given is measured in turn beside the same Mosquitto and raw
# relay, so an older build can be compared in the same run:
#
#   go build -o tether ./cmd/tether
#   scripts/bench-mosquitto.sh ./tether [./tether-old ...]
#
# SHAPES picks what runs (default all): loop (closed loops 1x1, 10x2,
# 100x1), rate (server cpu at 20,000 deliveries/s each way), fanout (1 device
# to 1,000 pages, window 64), idle (10,000 and 19,000 idle connections on a
# fresh server each; not the raw relay), echo (the first TETHER's device
# running the echoserver app against tether bench tcp-echo-server, 1 and 50
# clients). SERVERS picks the servers (default "hub mosquitto tcp").
# DURATION (default 10s) is each closed loop's length. PORT (default 17770)
# is the hub's device port; the page port is the next one, Mosquitto's
# WebSocket and MQTT ports the two after, then the raw relay's, the
# echoserver's, the raw echo's and the device's recovery port.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TETHER [TETHER...]" >&2; exit 2; }
BENCH=$1
SHAPES=${SHAPES:-"loop rate fanout idle echo"}
SERVERS=${SERVERS:-"hub mosquitto tcp"}
DURATION=${DURATION:-10s}
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT=${PORT:-17770}
DEV=127.0.0.1:$PORT PAGE=127.0.0.1:$((PORT + 1)) MQTT=127.0.0.1:$((PORT + 2)) RAW=127.0.0.1:$((PORT + 4))
ECHO=127.0.0.1:$((PORT + 5)) TCPECHO=127.0.0.1:$((PORT + 6)) RECOVERY=127.0.0.1:$((PORT + 7))
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cat >"$work/mosq.conf" <<EOF
listener $((PORT + 2)) 127.0.0.1
protocol websockets
listener $((PORT + 3)) 127.0.0.1
protocol mqtt
allow_anonymous true
EOF
ulimit -n "$(ulimit -Hn)"

answers() { (echo >"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }
# wait_port ADDR: waits for the server just started ($pid) to listen on ADDR
wait_port() {
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || { echo "server exited: $(cat "$work/server.log")" >&2; exit 1; }
		answers "$1" && return
		sleep 0.1
	done
	echo "no server on $1" >&2
	exit 1
}
for a in $DEV $PAGE $MQTT $RAW $ECHO $TCPECHO $RECOVERY; do
	if answers "$a"; then echo "$a is taken by another process: choose another PORT" >&2; exit 1; fi
done

# start_server hub BIN | start_server mosquitto | start_server tcp: starts it
# pinned, sets $pid
start_server() {
	if [ "$1" = tcp ]; then
		taskset -c "$SERVER_CPU" "$BENCH" bench tcp-relay-server --addr $RAW 2>"$work/server.log" &
		pid=$!
		wait_port $RAW
	elif [ "$1" = hub ]; then
		# every bench connection comes from 127.0.0.1: no per-address bound
		# (on hubs that have one)
		local unbound=()
		"$2" hub --help 2>/dev/null | grep -q conns-per-addr && unbound=(--device-conns-per-addr 0 --page-conns-per-addr 0)
		taskset -c "$SERVER_CPU" "$2" hub --device-addr $DEV --page-addr $PAGE --log-level warn "${unbound[@]}" 2>"$work/server.log" &
		pid=$!
		wait_port $DEV
	else
		taskset -c "$SERVER_CPU" "$MOSQUITTO" -c "$work/mosq.conf" 2>"$work/server.log" &
		pid=$!
		wait_port $MQTT
	fi
	pids+=("$pid")
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

# relay NAME ARGS...: one tether bench relay run against the server running
relay() {
	local name=$1 kind=$2
	shift 2
	local target=(--device-url ws://$DEV --page-url ws://$PAGE)
	[ "$kind" = mosquitto ] && target=(--broker mqtt --url ws://$MQTT)
	[ "$kind" = tcp ] && target=(--broker tcp --url tcp://$RAW)
	echo "== $name: $*"
	taskset -c "$BENCH_CPU" "$BENCH" bench relay "${target[@]}" --pid "$pid" "$@"
}

servers() {
	for kind in $SERVERS; do
		case $kind in
		hub) for bin in "${HUBS[@]}"; do echo "hub $bin"; done ;;
		mosquitto | tcp) echo "$kind -" ;;
		esac
	done
}

# echo_shape: the echoserver app of a tether device against the raw TCP
# echo, each pinned like the servers, 64-byte round trips
echo_shape() {
	mkdir -p "$work/devroot"
	printf '{"app": "echoserver", "auth": "off", "echoserver": {"listen_addr": "%s", "listen_port": %s}}\n' "${ECHO%:*}" "${ECHO#*:}" >"$work/devroot/app.json"
	taskset -c "$SERVER_CPU" "$BENCH" device --root "$work/devroot" --net sim --recovery-addr $RECOVERY --log-level warn 2>"$work/server.log" >/dev/null &
	pid=$!
	pids+=("$pid")
	wait_port $ECHO
	local device=$pid
	taskset -c "$SERVER_CPU" "$BENCH" bench tcp-echo-server --addr $TCPECHO 2>"$work/server.log" &
	pid=$!
	pids+=("$pid")
	wait_port $TCPECHO
	local tcp=$pid
	for clients in 1 50; do
		echo "== raw tcp echo: --clients $clients"
		taskset -c "$BENCH_CPU" "$BENCH" bench echo tcp://$TCPECHO --clients "$clients" --size 64 --duration "$DURATION" --pid "$tcp"
		echo "== echoserver (tether device $BENCH): --clients $clients"
		taskset -c "$BENCH_CPU" "$BENCH" bench echo ws://$ECHO/ --clients "$clients" --size 64 --duration "$DURATION" --pid "$device"
	done
	kill "$tcp" "$device"
	wait "$tcp" "$device" 2>/dev/null || true
}
HUBS=("$@")

echo "# $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg), servers on cpu $SERVER_CPU, bench on cpu $BENCH_CPU"
case " $SHAPES " in *" echo "*) echo_shape ;; esac
while read -r kind bin; do
	name=$kind
	[ "$kind" = hub ] && name="hub $bin"
	for shape in $SHAPES; do
		case $shape in
		loop)
			start_server "$kind" "$bin"
			relay "$name" "$kind" --devices 1 --pages 1 --closed-loop --duration "$DURATION"
			relay "$name" "$kind" --devices 10 --pages 2 --closed-loop --duration "$DURATION"
			relay "$name" "$kind" --devices 100 --pages 1 --closed-loop --duration "$DURATION"
			stop_server
			;;
		rate)
			start_server "$kind" "$bin"
			relay "$name" "$kind" --devices 10 --pages 2 --rate 1000 --duration 8s
			stop_server
			;;
		echo) ;; # once, above
		fanout)
			start_server "$kind" "$bin"
			relay "$name" "$kind" --devices 1 --pages 1000 --closed-loop --window 64 --direction down --duration "$DURATION"
			stop_server
			;;
		idle)
			[ "$kind" = tcp ] && continue
			for n in 10000 19000; do
				start_server "$kind" "$bin"
				url=ws://$DEV broker=()
				[ "$kind" = mosquitto ] && url=ws://$MQTT broker=(--broker mqtt)
				echo "== $name: idle $n"
				taskset -c "$BENCH_CPU" "$BENCH" bench idle "${broker[@]}" --url "$url" --devices "$n" --ramp 2000 --hold 10s --pid "$pid"
				stop_server
			done
			;;
		esac
	done
done < <(servers)
