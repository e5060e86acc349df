#!/bin/sh
# fuzz.sh — builds every libFuzzer target fuzz/fuzz_<name>.c against the
# server sources into build-fuzz/, then runs each for FUZZ_SECONDS seconds
# (default 60) on a copy of its seed corpus fuzz/corpus/<name>/ (the seeds in
# the repository are never modified).  Exits non-zero if a target fails to
# build or finds a crash; crash inputs are left as build-fuzz/<target>-crash-*.
#
# Usage: sh scripts/fuzz.sh [name ...]   (default: every target; "http" runs
#        fuzz/fuzz_http.c only).  Run from the repository root (make fuzz).
set -u

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
OUT=build-fuzz
CC=clang
# -fno-sanitize-recover makes an UBSan finding a crash, not just a message.
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 \
-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Isrc -Iinclude"
PKGS="libuv jansson sqlite3 libsodium libmagic libjpeg libpng libwebp"

cd "$(dirname "$0")/.." || exit 1

if ! PKG_CFLAGS=$(pkg-config --cflags $PKGS) || ! PKG_LIBS=$(pkg-config --libs $PKGS); then
	echo "fuzz.sh: pkg-config does not know $PKGS (run scripts/install-deps.sh)" >&2
	exit 1
fi
LIBS="$PKG_LIBS -lhttp_parser -lwslay -lpthread -lm"

# Every server source, as the Makefile's SERVER_SRCS (globs that match
# nothing are dropped).
SRCS=""
for f in src/util/*.c src/net/*.c src/api/*.c src/core/*.c src/store/*.c src/bus/*.c src/safety/*.c src/media/*.c; do
	[ -f "$f" ] && SRCS="$SRCS $f"
done

if [ $# -gt 0 ]; then
	TARGETS=""
	for n in "$@"; do
		TARGETS="$TARGETS fuzz/fuzz_$n.c"
	done
else
	TARGETS=$(ls fuzz/fuzz_*.c 2>/dev/null)
fi
if [ -z "$TARGETS" ]; then
	echo "fuzz.sh: no fuzz/fuzz_*.c targets" >&2
	exit 1
fi

mkdir -p "$OUT/corpus"
failed=""
for t in $TARGETS; do
	target=$(basename "$t" .c)
	name=${target#fuzz_}
	echo "== $target: building"
	# shellcheck disable=SC2086  # word splitting of the flag lists is wanted
	if ! $CC $CFLAGS $PKG_CFLAGS "$t" $SRCS -o "$OUT/$target" $LIBS; then
		echo "== $target: BUILD FAILED"
		failed="$failed $target(build)"
		continue
	fi
	corpus="$OUT/corpus/$name"
	rm -rf "$corpus"
	mkdir -p "$corpus"
	if [ -d "fuzz/corpus/$name" ]; then
		cp -R "fuzz/corpus/$name/." "$corpus/"
	else
		echo "== $target: no seed corpus fuzz/corpus/$name/, starting empty"
	fi
	echo "== $target: fuzzing for $FUZZ_SECONDS s"
	if ! "./$OUT/$target" -max_len=65536 -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$OUT/$target-" "$corpus" >"$OUT/$target.log" 2>&1; then
		tail -n 40 "$OUT/$target.log"
		echo "== $target: CRASHED (log: $OUT/$target.log)"
		failed="$failed $target"
		continue
	fi
	grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$OUT/$target.log"
	echo "== $target: ok"
done

if [ -n "$failed" ]; then
	echo "fuzz.sh: failed:$failed" >&2
	exit 1
fi
echo "fuzz.sh: all targets ran clean"
