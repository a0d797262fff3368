#!/bin/bash
# The dashboard's browser tests: installs playwright-core (npm ci, cached in BUILD/browser-tests,
# redone when package-lock.json changes), then drives Debian's Chromium headless against a
# fresh `coved api` of BUILD on 127.0.0.1. TAP on stdout; screenshots in BUILD/screenshots/.
#
#   tests/browser/run.sh BUILD
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: tests/browser/run.sh BUILD}" && pwd)
deps="$build/browser-tests"

fail() {
	echo "not ok 1 browser tests: $*"
	echo "1..1"
	exit 1
}

command -v node >/dev/null || fail "node is missing: run tools/install-deps.sh"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is missing: run tools/install-deps.sh"

want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$deps/node_modules/playwright-core/package.json" ] || [ "$(cat "$deps/.lock-sha256" 2>/dev/null)" != "$want" ]; then
	rm -rf "$deps"
	mkdir -p "$deps"
	cp "$here/package.json" "$here/package-lock.json" "$deps/"
	if ! (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error) >"$deps/npm.log" 2>&1; then
		sed 's/^/# /' "$deps/npm.log"
		fail "npm ci of tests/browser failed"
	fi
	echo "$want" >"$deps/.lock-sha256"
fi

COVE_BUILD_DIR="$build" COVE_BROWSER_DEPS="$deps/node_modules" exec node "$here/dashboard.test.mjs"
