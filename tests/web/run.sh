#!/bin/sh
# tests/web/run.sh BUILD [screenshots] — the web app's end-to-end tests in
# headless Chromium (driven by playwright-core), or with "screenshots" the
# refresh of docs/screenshots/*.png.  Installs what it needs: Debian's
# chromium (as root; otherwise prints the command) and playwright-core from
# npm into tests/web/node_modules.  Starts its own parleyd on a free loopback
# port with a temporary data folder, runs `node --test`, stops the server.
# Exit status: non-zero when anything failed.
set -u
BUILD=${1:-build}
MODE=${2:-test}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
case "$BUILD" in /*) PARLEYD="$BUILD/parleyd" ;; *) PARLEYD="$ROOT/$BUILD/parleyd" ;; esac

fail() {
	echo "tests/web: $*" >&2
	exit 1
}

[ -x "$PARLEYD" ] || fail "no daemon at $PARLEYD (run make first)"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null ||
			fail "could not install nodejs and npm"
	else
		fail "Node.js is missing; install it with: sudo apt-get install -y nodejs npm"
	fi
fi

if [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "tests/web: installing Debian's chromium"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
			fail "could not install chromium"
	else
		fail "Chromium is missing; install it with: sudo apt-get install -y chromium"
	fi
fi

if [ ! -f "$HERE/node_modules/playwright-core/package.json" ]; then
	echo "tests/web: installing playwright-core from npm"
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci failed in tests/web"
fi

DATA=$(mktemp -d "${TMPDIR:-/tmp}/parley-web.XXXXXX")
PARLEY_PASSWORD_COST=min \
PARLEY_RATE_AUTH_IP_PER_MIN=100000 \
PARLEY_RATE_REQUESTS_PER_SEC=100000 \
PARLEY_RATE_MESSAGES_PER_SEC=100000 \
PARLEY_RATE_MESSAGES_BURST=100000 \
PARLEY_RATE_LOGIN_ACCOUNT_PER_MIN=100000 \
PARLEY_WEB_ROOT="$ROOT/web" \
	"$PARLEYD" --listen 127.0.0.1:0 --data "$DATA" >"$DATA/parleyd.log" 2>&1 &
PID=$!

stop() {
	kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$DATA"
}
trap stop EXIT
trap 'exit 130' INT TERM

i=0
while [ ! -s "$DATA/parleyd.addr" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
		cat "$DATA/parleyd.log" >&2
		fail "parleyd did not start"
	fi
	sleep 0.1
done
PARLEY_WEB_URL="http://$(cat "$DATA/parleyd.addr")"
export PARLEY_WEB_URL PARLEYD
echo "tests/web: parleyd at $PARLEY_WEB_URL"

cd "$HERE" || exit 1
if [ "$MODE" = screenshots ]; then
	node screenshots.mjs "$ROOT/docs/screenshots"
	exit $?
fi
node --test --test-reporter=spec --test-concurrency="${WEB_TEST_JOBS:-2}" ./*.test.mjs
