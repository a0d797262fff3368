#!/usr/bin/env bats
# The dashboard's files as the API serves them: no token needed, the right types, a strict
# Content-Security-Policy, revalidation by ETag, and nothing else opened up. The pages
# themselves are tested in a browser: tests/browser/.

load helpers

setup_file() { coved_start; }
teardown_file() { coved_stop; }

# get PATH [curl args...]: the body; headers in $BATS_TEST_TMPDIR/h, status in .../s
get() {
	local path=$1
	shift
	rm -f "$BATS_TEST_TMPDIR/body"
	curl -sS -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$COVE_API_URL$path" "$@" >"$BATS_TEST_TMPDIR/s"
}

header() {
	tr -d '\r' <"$BATS_TEST_TMPDIR/h" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" \
		'index(tolower($0), n ":") == 1 { sub(/^[^:]*:[ \t]*/, ""); print }'
}

@test "GET / is the dashboard's page, without a token, with a strict policy" {
	get /
	[ "$(cat "$BATS_TEST_TMPDIR/s")" = 200 ]
	[ "$(header Content-Type)" = "text/html; charset=utf-8" ]
	grep -q '<script type="module" src="/dashboard/main.js">' "$BATS_TEST_TMPDIR/body"
	csp=$(header Content-Security-Policy)
	[[ "$csp" == *"default-src 'none'"* ]]
	[[ "$csp" == *"script-src 'self'"* ]]
	[[ "$csp" == *"connect-src 'self'"* ]]
	[[ "$csp" == *"frame-ancestors 'none'"* ]]
	[[ "$csp" != *unsafe* ]]
	[ "$(header X-Content-Type-Options)" = nosniff ]
	[ "$(header X-Frame-Options)" = DENY ]
	[ "$(header Cache-Control)" = no-cache ]
	[ -n "$(header Request-Id)" ]
}

@test "every file has its content type; /dashboard and /dashboard/ are the page too" {
	get /dashboard/main.js
	[ "$(cat "$BATS_TEST_TMPDIR/s")" = 200 ]
	[ "$(header Content-Type)" = "text/javascript; charset=utf-8" ]
	get /dashboard/dashboard.css
	[ "$(header Content-Type)" = "text/css; charset=utf-8" ]
	get /dashboard/icon.svg
	[ "$(header Content-Type)" = "image/svg+xml" ]
	get /dashboard/index.html
	[ "$(header Content-Type)" = "text/html; charset=utf-8" ]
	for p in /dashboard /dashboard/; do
		get "$p"
		[ "$(cat "$BATS_TEST_TMPDIR/s")" = 200 ]
		grep -q '/dashboard/main.js' "$BATS_TEST_TMPDIR/body"
	done
}

@test "every file of web/ is embedded, byte for byte" {
	local f
	for f in "$BATS_TEST_DIRNAME"/../../web/*; do
		[ "$(basename "$f")" = meson.build ] && continue
		get "/dashboard/$(basename "$f")"
		[ "$(cat "$BATS_TEST_TMPDIR/s")" = 200 ]
		cmp "$f" "$BATS_TEST_TMPDIR/body"
	done
}

@test "a file is revalidated by its ETag: 304 while it is the same" {
	get /dashboard/main.js
	etag=$(header ETag)
	[[ "$etag" == \"*\" ]]
	get /dashboard/main.js -H "If-None-Match: $etag"
	[ "$(cat "$BATS_TEST_TMPDIR/s")" = 304 ]
	[ ! -s "$BATS_TEST_TMPDIR/body" ]
	[ "$(header ETag)" = "$etag" ]
	get /dashboard/main.js -H 'If-None-Match: "other"'
	[ "$(cat "$BATS_TEST_TMPDIR/s")" = 200 ]
}

@test "only the embedded files are served: no traversal, no other method, the API still wants a token" {
	for p in /dashboard/missing.js /dashboard/../admin.token /dashboard/%2e%2e/cove.db /dashboard/a/b.js /index.html /admin.token; do
		get "$p" --path-as-is
		[ "$(cat "$BATS_TEST_TMPDIR/s")" = 404 ] || { echo "$p: $(cat "$BATS_TEST_TMPDIR/s")"; return 1; }
		jq -e '.id == "not_found"' "$BATS_TEST_TMPDIR/body"
	done
	get / -X POST
	[ "$(cat "$BATS_TEST_TMPDIR/s")" = 404 ]
	get /apps
	[ "$(cat "$BATS_TEST_TMPDIR/s")" = 401 ]
	# API answers keep their own headers.
	get /regions -H "Authorization: Bearer $COVE_API_KEY"
	[ "$(header Cache-Control)" = no-store ]
	[ -z "$(header Content-Security-Policy)" ]
}
