#!/usr/bin/env bash
# device-footprint.sh: RSS of `tether device` running the demo app with 10
# pages connected to its command API, read from /proc/PID/status.
#
#   scripts/device-footprint.sh BINARY [BINARY...]
#
# For each binary in turn, RUNS times (default 3): start `BINARY hub` on
# 127.0.0.1 (the device calls home to it), start `BINARY device --root R
# --net sim` with the demo app, wait until it serves, connect PAGES (default
# 10) Python clients as a browser would: each fetches /, /app.js and
# /style.css gzipped, connects to the command API with websockets, sends
# ["GET","wifi",[]] and keeps reading; hold HOLD seconds (default 10), then
# read VmRSS, VmHWM, RssAnon and RssFile of the device. Prints one line per
# run and the median of each binary. Extra environment for the device
# process goes in DEVICE_ENV (e.g. DEVICE_ENV="GOGC=50"). HUB names the
# binary that runs the hub (default: the binary measured; a device-only
# build has no hub command).
set -euo pipefail

RUNS=${RUNS:-3}
PAGES=${PAGES:-10}
HOLD=${HOLD:-10}
PY=${PY:-/usr/bin/python3}
BASE=${BASE_PORT:-27700}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

hubport=$BASE
devhttp=$((BASE + 1))
devws=$((BASE + 2))
recovery=$((BASE + 3))
pageport=$((BASE + 4))
mkdir -p "$work/root"
cat >"$work/root/app.json" <<JSON
{
  "app": "demo",
  "demo": {
    "http": {"ip": "127.0.0.1", "port": $devhttp},
    "websocket": {"ip": "127.0.0.1", "port": $devws},
    "home": {"ip": "127.0.0.1", "port": $hubport}
  }
}
JSON

cat >"$work/pages.py" <<'PY'
import asyncio, sys, urllib.request, websockets
def load(base):                               # what a browser fetches first
    for path in ("/", "/app.js", "/style.css"):
        req = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
async def page(base, url, ready):
    await asyncio.to_thread(load, base)
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()                       # the state object on connect
        await ws.send('["GET","wifi",[]]')
        await ws.recv()
        ready.release()
        async for _ in ws:
            pass
async def main():
    base, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(page(base, url, ready)) for _ in range(n)]
    for _ in range(n):
        await asyncio.wait_for(ready.acquire(), 20)
    print("connected", n, flush=True)
    await asyncio.gather(*tasks)
asyncio.run(main())
PY

wait_port() { # host port
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "port $2 never opened" >&2
	return 1
}
field() { awk -v k="$1:" '$1==k {print $2}' "/proc/$2/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for bin in "$@"; do
	: >"$work/rss"
	for run in $(seq "$RUNS"); do
		"${HUB:-$bin}" hub --device-addr 127.0.0.1:$hubport --page-addr 127.0.0.1:$pageport --log-level warn >"$work/hub.log" 2>&1 &
		hub=$!
		pids+=("$hub")
		wait_port 127.0.0.1 $hubport
		env ${DEVICE_ENV:-} "$bin" device --root "$work/root" --net sim --recovery-addr 127.0.0.1:$recovery --log-level warn >"$work/dev.log" 2>&1 &
		dev=$!
		pids+=("$dev")
		wait_port 127.0.0.1 $devws
		sleep 2
		idle=$(field VmRSS $dev)
		"$PY" "$work/pages.py" "http://127.0.0.1:$devhttp" "ws://127.0.0.1:$devws/" "$PAGES" >"$work/pages.log" 2>&1 &
		py=$!
		pids+=("$py")
		for _ in $(seq 200); do grep -q connected "$work/pages.log" && break; sleep 0.1; done
		grep -q connected "$work/pages.log" || { echo "pages did not connect:" >&2; cat "$work/pages.log" "$work/dev.log" >&2; exit 1; }
		sleep "$HOLD"
		rss=$(field VmRSS $dev); hwm=$(field VmHWM $dev); anon=$(field RssAnon $dev); file=$(field RssFile $dev)
		echo "$bin run $run: VmRSS $rss kB (no page: $idle kB), VmHWM $hwm kB, RssAnon $anon kB, RssFile $file kB"
		echo "$rss $anon $file $idle $hwm" >>"$work/rss"
		kill "$py" "$dev" "$hub" 2>/dev/null || true
		wait "$py" "$dev" "$hub" 2>/dev/null || true
		pids=()
	done
	printf '%s median of %s: VmRSS %s kB, RssAnon %s kB, RssFile %s kB, no page %s kB, VmHWM %s kB\n' "$bin" "$RUNS" \
		"$(cut -d' ' -f1 "$work/rss" | median)" "$(cut -d' ' -f2 "$work/rss" | median)" \
		"$(cut -d' ' -f3 "$work/rss" | median)" "$(cut -d' ' -f4 "$work/rss" | median)" "$(cut -d' ' -f5 "$work/rss" | median)"
done
