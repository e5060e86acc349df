#!/bin/sh
# bench/run.sh — Parley's benchmark (`make bench`; see bench/README.md).
#
#   sh bench/run.sh [BUILD] [--quick] [loadgen options]
#
# BUILD is the build folder holding parleyd and libparley.a (default
# "build"); `make bench` builds them first.  This script compiles the load
# generator (bench/*.c) against libparley, starts parleyd on a free loopback
# port with a fresh data folder and the production durability setting
# (sync=full: every acknowledged write was fsynced), raises the rate limits
# so they do not cap the load, pins the server and the generator to
# different cores when it can, runs bench/loadgen, stops the server, and
# leaves the figures in bench/results/latest.json.  Under make, the options
# can be given as `make bench ARGS=--quick`.
set -eu

cd "$(dirname "$0")/.."
BUILD=build
case "${1:-}" in
"" | -*) ;;
*) BUILD=$1; shift ;;
esac
if [ $# -eq 0 ] && [ -n "${ARGS:-}" ]; then
	# shellcheck disable=SC2086 # ARGS is a list of options
	set -- $ARGS
fi

PARLEYD=$BUILD/parleyd
LIB=$BUILD/libparley.a
LOADGEN=$BUILD/bench/loadgen
RESULTS=bench/results
for f in "$PARLEYD" "$LIB"; do
	[ -f "$f" ] || { echo "bench: $f is missing; run 'make bench' (or 'make all') first" >&2; exit 2; }
done

mkdir -p "$BUILD/bench" "$RESULTS"
echo "bench: compiling the load generator" >&2
# shellcheck disable=SC2046 # pkg-config prints a list of flags
${BENCH_CC:-cc} -O2 -g -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	-Wno-unused-parameter -Isrc -Iinclude $(pkg-config --cflags jansson) bench/*.c "$LIB" \
	-o "$LOADGEN" $(pkg-config --libs jansson) -lpthread -lm

# The data folder sits beside the build, on the disk the server would use:
# a tmpfs /tmp would make every fsync free and the write figures meaningless.
TMP=$(mktemp -d "$BUILD/bench/run.XXXXXX")
DATA=$TMP/data
PID=
cleanup() {
	rc=$?
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -s "$TMP/parleyd.log" ]; then
		echo "bench: last lines of the server's log:" >&2
		tail -n 20 "$TMP/parleyd.log" >&2
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two cores or more: the server on core 0, the generator on core 1, so
# neither steals the other's CPU and the server's CPU figures are its own.
SRV_PIN=
LG_PIN=
PINNING="none"
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if command -v taskset >/dev/null 2>&1 && [ "$CORES" -ge 2 ] && taskset -c 1 true 2>/dev/null; then
	SRV_PIN="taskset -c 0"
	LG_PIN="taskset -c 1"
	PINNING="parleyd on cpu 0, loadgen on cpu 1"
fi

FSTYPE=$(stat -f -c %T "$TMP" 2>/dev/null || echo unknown)
echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
	"$CORES cores ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'))," \
	"pinning: $PINNING, data on $FSTYPE" >&2
case "$FSTYPE" in
tmpfs | ramfs) echo "bench: WARNING: the data folder is in memory; fsync costs nothing here" >&2 ;;
esac

mkdir -p "$DATA"
# shellcheck disable=SC2086 # SRV_PIN is a command prefix or empty
env PARLEY_PASSWORD_COST=min \
	PARLEY_SYNC=full \
	PARLEY_LOG_LEVEL=warn \
	PARLEY_MAX_CONNECTIONS=19000 \
	PARLEY_RATE_AUTH_IP_PER_MIN=1000000 \
	PARLEY_RATE_LOGIN_ACCOUNT_PER_MIN=1000000 \
	PARLEY_RATE_REQUESTS_PER_SEC=1000000 \
	PARLEY_RATE_MESSAGES_PER_SEC=1000000 \
	PARLEY_RATE_MESSAGES_BURST=1000000 \
	$SRV_PIN "$PARLEYD" --listen 127.0.0.1:0 --data "$DATA" >"$TMP/parleyd.log" 2>&1 &
PID=$!

i=0
while [ ! -s "$DATA/parleyd.addr" ]; do
	kill -0 "$PID" 2>/dev/null || { echo "bench: parleyd exited at start-up" >&2; exit 1; }
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "bench: parleyd did not start within 10 s" >&2; exit 1; }
	sleep 0.1
done
ADDR=$(cat "$DATA/parleyd.addr")
echo "bench: parleyd (pid $PID) listening on $ADDR" >&2

LG_RC=0
# shellcheck disable=SC2086 # LG_PIN is a command prefix or empty
$LG_PIN "$LOADGEN" --server "http://$ADDR" --pid "$PID" --data "$DATA" --out "$RESULTS/latest.json" \
	--pinning "$PINNING" "$@" || LG_RC=$?

kill -TERM "$PID"
SRV_RC=0
wait "$PID" || SRV_RC=$?
PID=
if [ "$SRV_RC" -ne 0 ]; then
	echo "bench: parleyd exited with status $SRV_RC" >&2
	exit 1
fi
if [ "$LG_RC" -ne 0 ]; then
	echo "bench: the load generator failed (status $LG_RC)" >&2
	exit "$LG_RC"
fi
echo "bench: figures written to $RESULTS/latest.json" >&2
