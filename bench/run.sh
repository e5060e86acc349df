#!/bin/sh
# bench/run.sh — Parley's benchmark (`make bench`; see bench/README.md).
#
#   sh bench/run.sh [BUILD] [--quick | --big] [loadgen options]
#
# BUILD is the build folder holding parleyd and libparley.a (default
# "build"); `make bench` builds them first.  This script installs Debian's
# mosquitto and libmosquitto-dev when they are missing (as root, with
# apt-get), compiles the load generator (bench/*.c) against libparley and
# libmosquitto, and starts
#   - parleyd on a free loopback port with a fresh data folder and the
#     production durability setting (sync=full: every acknowledged write was
#     fsynced), the rate limits raised so they do not cap the load;
#   - a second parleyd, the same but for large_group_threshold=1000, so a
#     200-member group is also measured with fan-out on write;
#   - mosquitto on a free loopback port from a generated config
#     (persistence off, anonymous clients), the peer broker of the
#     side-by-side figures;
# pins the servers to one core and the generator to the other when it can,
# runs bench/loadgen, stops everything, and leaves the figures in
# bench/results/latest.json.  Under make, the options can be given as
# `make bench ARGS=--quick`.
#
# BENCH_STORE_DIR=/path keeps the first server's data folder there instead
# of a fresh one that is deleted at the end: an empty or missing folder is
# filled and kept, a folder kept by an earlier run is reused as it is (the
# generator reads the users and chats it made from bench-state in it and
# tops the store up to --store messages).  Give the same size options each
# time.
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

# The peer broker and its client library, from Debian.
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ] || [ ! -f /usr/include/mosquitto.h ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench: installing mosquitto and libmosquitto-dev" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto libmosquitto-dev >&2 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto libmosquitto-dev >&2; }
	else
		echo "bench: mosquitto and libmosquitto-dev are missing: apt-get install mosquitto libmosquitto-dev" >&2
		exit 2
	fi
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

mkdir -p "$BUILD/bench" "$RESULTS"
echo "bench: compiling the load generator" >&2
# shellcheck disable=SC2046 # pkg-config prints a list of flags
${BENCH_CC:-cc} -O2 -g -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	-Wno-unused-parameter -Isrc -Iinclude $(pkg-config --cflags jansson sqlite3) bench/*.c "$LIB" \
	-o "$LOADGEN" $(pkg-config --libs jansson sqlite3) -lmosquitto -lpthread -lm

# The data folders sit beside the build, on the disk the server would use:
# a tmpfs /tmp would make every fsync free and the write figures meaningless.
TMP=$(mktemp -d "$BUILD/bench/run.XXXXXX")
DATA=$TMP/data
STATE=
if [ -n "${BENCH_STORE_DIR:-}" ]; then
	mkdir -p "$BENCH_STORE_DIR"
	DATA=$(cd "$BENCH_STORE_DIR" && pwd -P)
	STATE=$DATA/bench-state
	if [ -f "$DATA/parley.db" ] && [ ! -f "$DATA/bench-state" ]; then
		echo "bench: $DATA holds a store but no bench-state: not one this script kept" >&2
		rm -rf "$TMP"
		exit 2
	fi
	rm -f "$DATA/parleyd.addr"
	if [ -f "$DATA/bench-state" ]; then
		echo "bench: reusing the store kept in $DATA" >&2
	else
		echo "bench: building a store to keep in $DATA" >&2
	fi
fi
DATA2=$TMP/data2
PID=
PID2=
MQPID=
cleanup() {
	rc=$?
	for p in $PID $PID2 $MQPID; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	if [ "$rc" -ne 0 ]; then
		for f in parleyd.log parleyd2.log mosquitto.log; do
			[ -s "$TMP/$f" ] || continue
			echo "bench: last lines of $f:" >&2
			tail -n 20 "$TMP/$f" >&2
		done
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two cores or more: the servers on core 0, the generator on core 1, so
# neither steals the other's CPU and the server's CPU figures are its own.
# Only one server is under load at a time; the others sit idle.
SRV_PIN=
LG_PIN=
PINNING="none"
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if command -v taskset >/dev/null 2>&1 && [ "$CORES" -ge 2 ] && taskset -c 1 true 2>/dev/null; then
	SRV_PIN="taskset -c 0"
	LG_PIN="taskset -c 1"
	PINNING="parleyd (both) and mosquitto on cpu 0, loadgen on cpu 1"
fi

# What the servers were built from: this work tree's commit ("-dirty" with
# uncommitted changes) when BUILD is inside it, else $BENCH_COMMIT if the
# caller says, else unknown.
COMMIT=${BENCH_COMMIT:-"unknown (built outside this work tree)"}
case "$(cd "$BUILD" && pwd -P)/" in
"$(pwd -P)"/*) COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown) ;;
esac

FSTYPE=$(stat -f -c %T "$TMP" 2>/dev/null || echo unknown)
echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $COMMIT," \
	"$CORES cores ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'))," \
	"pinning: $PINNING, data on $FSTYPE" >&2
case "$FSTYPE" in
tmpfs | ramfs) echo "bench: WARNING: the data folder is in memory; fsync costs nothing here" >&2 ;;
esac

# start_parleyd DATA LOG [VAR=VALUE...]: starts parleyd with the bench's
# settings in the background; its pid is in $!.
start_parleyd() {
	d=$1
	log=$2
	shift 2
	mkdir -p "$d"
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
		"$@" \
		$SRV_PIN "$PARLEYD" --listen 127.0.0.1:0 --data "$d" >"$log" 2>&1 &
}

# wait_addr DATA PID: waits for parleyd's address file.  A fresh store
# starts in well under a second; a kept store may first run a schema
# migration (migration 12 took 16 s on the 12 GB one), so the wait is long
# and parleyd's exit ends it early.
START_WAIT_S=600
wait_addr() {
	i=0
	while [ ! -s "$1/parleyd.addr" ]; do
		kill -0 "$2" 2>/dev/null || { echo "bench: parleyd exited at start-up" >&2; exit 1; }
		i=$((i + 1))
		[ "$i" -le $((START_WAIT_S * 10)) ] ||
			{ echo "bench: parleyd did not start within $START_WAIT_S s" >&2; exit 1; }
		sleep 0.1
	done
}

start_parleyd "$DATA" "$TMP/parleyd.log"
PID=$!
start_parleyd "$DATA2" "$TMP/parleyd2.log" PARLEY_LARGE_GROUP_THRESHOLD=1000
PID2=$!
wait_addr "$DATA" "$PID"
wait_addr "$DATA2" "$PID2"
ADDR=$(cat "$DATA/parleyd.addr")
ADDR2=$(cat "$DATA2/parleyd.addr")
echo "bench: parleyd (pid $PID) on $ADDR; parleyd with large_group_threshold=1000 (pid $PID2) on $ADDR2" >&2

# Mosquitto on a free loopback port, from a generated config: persistence
# off (nothing is written to disk), anonymous clients, no $SYS topics, and
# two settings that would otherwise handicap it:
#  - set_tcp_nodelay true: Nagle's algorithm off (its default is on, which
#    costs 40 ms delayed-ACK stalls on loopback; parleyd sets TCP_NODELAY
#    too, and the generator's MQTT clients set it on their side);
#  - allow_duplicate_messages true: 2.0's default (false) compares each
#    delivery's client id with every client the message already went to,
#    which makes a fan-out to N subscribers cost O(N^2) strcmp calls; 2.0
#    deprecates the option and announces true as the future default (it
#    logs a warning saying so).  No subscriber here has overlapping
#    subscriptions, so no message is delivered twice either way.
# Everything else at its defaults (max_inflight_messages 20,
# max_queued_messages 1000).
MQPORT=
for p in $(seq 18830 18999); do
	if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
		MQPORT=$p
		break
	fi
done
[ -n "$MQPORT" ] || { echo "bench: no free port for mosquitto" >&2; exit 1; }
{
	echo "# generated by bench/run.sh"
	echo "per_listener_settings false"
	echo "listener $MQPORT 127.0.0.1"
	echo "allow_anonymous true"
	echo "persistence false"
	echo "sys_interval 0"
	echo "set_tcp_nodelay true"
	echo "allow_duplicate_messages true"
	echo "log_dest stderr"
	echo "log_type error"
	echo "log_type warning"
} >"$TMP/mosquitto.conf"
# shellcheck disable=SC2086 # SRV_PIN is a command prefix or empty
$SRV_PIN "$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
MQPID=$!
i=0
while [ -z "$(ss -Hltn "sport = :$MQPORT" 2>/dev/null)" ]; do
	kill -0 "$MQPID" 2>/dev/null || { echo "bench: mosquitto exited at start-up" >&2; exit 1; }
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "bench: mosquitto did not start within 10 s" >&2; exit 1; }
	sleep 0.1
done
MQVERSION=$("$MOSQUITTO" -h 2>/dev/null | sed -n 's/^mosquitto version \(.*\)/\1/p' | head -n 1)
echo "bench: mosquitto $MQVERSION (pid $MQPID) on 127.0.0.1:$MQPORT" >&2

VERSIONS="parleyd $("$PARLEYD" --version 2>/dev/null | head -n 1 | sed 's/^parleyd //')"
VERSIONS="$VERSIONS (commit $COMMIT), mosquitto $MQVERSION"
VERSIONS="$VERSIONS, libmosquitto $(dpkg-query -W -f '${Version}' libmosquitto1 2>/dev/null || echo '?')"
VERSIONS="$VERSIONS, SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?')"
VERSIONS="$VERSIONS, libuv $(pkg-config --modversion libuv 2>/dev/null || echo '?'), Linux $(uname -r)"
VERSIONS="$VERSIONS, $CORES cores, open files $(ulimit -n)"
echo "bench: $VERSIONS" >&2

LG_RC=0
if [ -n "$STATE" ]; then
	set -- --state "$STATE" "$@"
fi
# shellcheck disable=SC2086 # LG_PIN is a command prefix or empty
$LG_PIN "$LOADGEN" --server "http://$ADDR" --pid "$PID" --data "$DATA" --out "$RESULTS/latest.json" \
	--server2 "http://$ADDR2" --pid2 "$PID2" --mqtt "127.0.0.1:$MQPORT" --mqtt-pid "$MQPID" \
	--mqtt-version "mosquitto $MQVERSION" --versions "$VERSIONS" --pinning "$PINNING" "$@" || LG_RC=$?

SRV_RC=0
for p in $PID $PID2 $MQPID; do
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	[ "$rc" -eq 0 ] || { echo "bench: process $p exited with status $rc" >&2; SRV_RC=1; }
done
PID=
PID2=
MQPID=
if [ "$SRV_RC" -ne 0 ]; then
	exit 1
fi
if [ "$LG_RC" -ne 0 ]; then
	echo "bench: the load generator failed (status $LG_RC)" >&2
	exit "$LG_RC"
fi
echo "bench: figures written to $RESULTS/latest.json" >&2
