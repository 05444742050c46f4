#!/usr/bin/env bash
# Installs what tether's tests need when it is missing, and nothing when it is
# all there: Debian's python3-websockets, chromium, nats-server, mosquitto and
# openssl, and playwright-core from npm (it ships no browser; the tests use
# /usr/bin/chromium). Run by "make test"; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
/usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=(python3-websockets)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nats-server >/dev/null || missing+=(nats-server)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v openssl >/dev/null || missing+=(openssl)
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]} with apt-get"
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d e2e/node_modules/playwright-core ]; then
	echo "deps: installing playwright-core with npm ci"
	(cd e2e && npm ci --silent --no-audit --no-fund)
fi
