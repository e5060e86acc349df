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
	if "$BUILD/parleyd" --print-api-docs | diff -u docs/api.md - >"$BUILD/test-logs/api-docs.diff" 2>&1; then
		pass=$((pass + 1))
		echo "ok    docs/api.md matches the method table"
	else
		fail=$((fail + 1))
		failed="$failed api-docs"
		echo "FAIL  docs/api.md differs from the method table: run 'make docs' (diff in $BUILD/test-logs/api-docs.diff)"
	fi
	# The settings table in docs/operations.md: the table that starts with
	# the header --print-config-docs prints, up to its last row.
	"$BUILD/parleyd" --print-config-docs >"$BUILD/test-logs/config-docs.md"
	if awk -v head="$(head -n 1 "$BUILD/test-logs/config-docs.md")" \
		'$0 == head { on = 1 } on && !/^\|/ { exit } on { print }' docs/operations.md |
		diff -u - "$BUILD/test-logs/config-docs.md" >"$BUILD/test-logs/config-docs.diff" 2>&1; then
		pass=$((pass + 1))
		echo "ok    docs/operations.md's settings table matches the code"
	else
		fail=$((fail + 1))
		failed="$failed config-docs"
		echo "FAIL  docs/operations.md's settings table differs from 'parleyd --print-config-docs' (diff in $BUILD/test-logs/config-docs.diff)"
	fi
	;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
