#!/bin/sh
# run-tests.sh BUILD [unit|integration|all] — runs the test binaries built in
# BUILD and the docs check, prints one summary line per suite and a closing
# "N passed, N failed" line; exits non-zero if anything failed.
BUILD=${1:-build}
WHAT=${2:-all}
pass=0
fail=0
failed=""
export PARLEYD="$BUILD/parleyd"
export PARLEY_BIN="$BUILD/parley"

run_dir() {
	for t in "$1"/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		log="$BUILD/test-logs/$name.log"
		mkdir -p "$BUILD/test-logs"
		start=$(date +%s)
		if "$t" >"$log" 2>&1; then
			pass=$((pass + 1))
			echo "ok    $name ($(( $(date +%s) - start ))s)"
		else
			fail=$((fail + 1))
			failed="$failed $name"
			echo "FAIL  $name ($(( $(date +%s) - start ))s) — log: $log"
			tail -n 30 "$log" | sed 's/^/      /'
		fi
	done
}

# Browser tests (headless Chromium): tests/web/run.sh BUILD prints its own
# "N passed, N failed" line; its exit status decides.
run_web() {
	[ -f tests/web/run.sh ] || return 0
	mkdir -p "$BUILD/test-logs"
	start=$(date +%s)
	if sh tests/web/run.sh "$BUILD" >"$BUILD/test-logs/web.log" 2>&1; then
		pass=$((pass + 1))
		echo "ok    web (browser tests, $(( $(date +%s) - start ))s)"
	else
		fail=$((fail + 1))
		failed="$failed web"
		echo "FAIL  web (browser tests) — log: $BUILD/test-logs/web.log"
		tail -n 40 "$BUILD/test-logs/web.log" | sed 's/^/      /'
	fi
}

# The docs that are generated from the code, compared with it: docs/api.md
# whole, and in docs/operations.md the settings table (from the header
# --print-config-docs prints to the table's last row).
api_docs() {
	"$BUILD/parleyd" --print-api-docs | diff -u docs/api.md -
}

config_docs() {
	gen="$BUILD/test-logs/config-docs.md"
	"$BUILD/parleyd" --print-config-docs >"$gen" || return 1
	awk -v head="$(head -n 1 "$gen")" '$0 == head { on = 1 } on && !/^\|/ { exit } on { print }' \
		docs/operations.md | diff -u - "$gen"
}

# check NAME OK_TEXT FAIL_TEXT CMD...: one docs check counted as a test; its
# output goes to test-logs/NAME.diff.
check() {
	name=$1 ok=$2 bad=$3
	shift 3
	if "$@" >"$BUILD/test-logs/$name.diff" 2>&1; then
		pass=$((pass + 1))
		echo "ok    $ok"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL  $bad (diff in $BUILD/test-logs/$name.diff)"
	fi
}

case "$WHAT" in
unit) run_dir "$BUILD/tests/unit" ;;
integration) run_dir "$BUILD/tests/integration" ;;
web)
	run_web
	;;
*)
	run_dir "$BUILD/tests/unit"
	run_dir "$BUILD/tests/integration"
	run_web
	check api-docs "docs/api.md matches the method table" \
		"docs/api.md differs from the method table: run 'make docs'" api_docs
	check config-docs "docs/operations.md's settings table matches the code" \
		"docs/operations.md's settings table differs from 'parleyd --print-config-docs'" config_docs
	;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
