#!/bin/bash
# Runs the unit tests (cmocka, TAP output) and the end-to-end tests (bats, TAP output) of
# each build directory given, and prints one closing line: `N passed, N failed`.
# Exits non-zero when anything failed or nothing ran.
#
#   tests/run.sh build [build-sanitize ...]
#   E2E_FILTER=spaces tests/run.sh build     only e2e files whose name contains "spaces"
#   BROWSER_TESTS=0 tests/run.sh build       without the dashboard's browser tests
#
# The browser tests (tests/browser/) run once, on the first build without sanitizers: the
# browser dominates their time, and tests/e2e/api-dashboard.bats covers the C side under ASan.
# Skipped tests (`ok N name # SKIP reason`) are counted apart.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
skipped=0
failures=()
browser_ran=false

# Reads TAP on stdin, echoes it, and adds its results to the counters.
count_tap() {
	local label=$1 line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"not ok"*)
			failed=$((failed + 1))
			failures+=("$label: ${line#not ok }")
			;;
		"ok"*" # "[Ss][Kk][Ii][Pp]*) skipped=$((skipped + 1)) ;;
		"ok"*) passed=$((passed + 1)) ;;
		esac
	done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for build in "$@"; do
	echo "# unit tests ($build)"
	for t in "$build"/tests/unit/test-*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name=$(basename "$t")
		out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
		status=$?
		count_tap "$build/$name" <<<"$out"
		if [ $status -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
			echo "not ok - $name exited with status $status"
			failed=$((failed + 1))
			failures+=("$build/$name: exited with status $status")
		fi
	done

	# The fuzzers, each for a bounded time on its corpus (new inputs go to a scratch directory,
	# never into the source tree); a crash is a failure, with the input left in the build.
	echo "# fuzzers ($build, ${FUZZ_SECONDS:-10} s each)"
	for f in "$build"/tests/fuzz/fuzz-*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=$PWD/tests/fuzz/corpus/${name#fuzz-}
		args=(-max_total_time="${FUZZ_SECONDS:-10}" -print_final_stats=1)
		[ -f "tests/fuzz/${name#fuzz-}.dict" ] && args+=(-dict="$PWD/tests/fuzz/${name#fuzz-}.dict")
		scratch=$(mktemp -d)
		log=$build/tests/fuzz/$name.log
		exe=$(realpath "$f")
		if (cd "$build/tests/fuzz" && "$exe" "${args[@]}" "$scratch" "$corpus") >"$log" 2>&1; then
			runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
			count_tap "$build/$name" <<<"ok - $name: ${runs:-?} inputs, no failure"
		else
			count_tap "$build/$name" <<<"not ok - $name: see $log"
			tail -20 "$log"
		fi
		rm -rf "$scratch"
	done

	echo "# end-to-end tests ($build)"
	files=()
	for f in tests/e2e/*.bats; do
		[[ -z "${E2E_FILTER:-}" || "$f" == *"$E2E_FILTER"* ]] && files+=("$f")
	done
	if [ ${#files[@]} -gt 0 ]; then
		out=$(COVE_BUILD_DIR="$PWD/$build" bats --tap "${files[@]}" 2>&1)
		count_tap "$build/e2e" <<<"$out"
	fi

	sanitize=$(jq -r '.[] | select(.name == "b_sanitize") | .value | tostring' \
		"$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo unknown)
	if ! $browser_ran && [ "${BROWSER_TESTS:-1}" != 0 ] && [ "$sanitize" = none ] &&
		[[ -z "${E2E_FILTER:-}" || dashboard == *"$E2E_FILTER"* || browser == *"$E2E_FILTER"* ]]; then
		browser_ran=true
		echo "# browser tests ($build)"
		out=$(timeout 300 tests/browser/run.sh "$build" 2>&1)
		status=$?
		count_tap "$build/browser" <<<"$out"
		if [ $status -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
			echo "not ok - browser tests exited with status $status"
			failed=$((failed + 1))
			failures+=("$build/browser: exited with status $status")
		fi
	fi
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
