#!/bin/sh
# Installs the unmodified Heroku CLI that the compatibility tests drive cove with, at the
# version pinned in tests/heroku-cli/package-lock.json, into BUILD_DIR/heroku-cli, and prints
# the path of its `heroku` executable. An install whose lock file matches is reused, so only
# the first run (or a new pin) talks to the npm registry.
#
#   tools/heroku-cli.sh [BUILD_DIR]      (default: build)
set -eu

src=$(cd "$(dirname "$0")/../tests/heroku-cli" && pwd)
build=${1:-build}
mkdir -p "$build"
dir=$(cd "$build" && pwd)/heroku-cli
bin="$dir/node_modules/.bin/heroku"

if [ -x "$bin" ] && cmp -s "$src/package-lock.json" "$dir/package-lock.json"; then
	echo "$bin"
	exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "heroku-cli: npm is missing: run tools/install-deps.sh" >&2; exit 1; }
mkdir -p "$dir"
cp "$src/package.json" "$src/package-lock.json" "$dir/"
# npm ci installs exactly the lock file; no install scripts (the CLI needs none), no audit.
if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$dir/npm.log" 2>&1); then
	echo "heroku-cli: npm ci failed:" >&2
	cat "$dir/npm.log" >&2
	rm -f "$dir/package-lock.json"
	exit 1
fi
echo "$bin"
