# Helpers of the tests that drive cove with the unmodified Heroku CLI (tests/e2e/heroku-*.bats),
# installed at the version pinned in tests/heroku-cli by tools/heroku-cli.sh under the build
# directory. The CLI talks to coved's HTTPS side and trusts coved's own CA; every outside call
# it would make is switched off (shared/reference/heroku-cli.md, section 1), and its HOME is
# the test's own, as it writes a git credential helper into the global git config.
#
#   heroku_setup            after coved_start: the CLI and its environment
#   hk ARGS...              runs `heroku ARGS...`; $output is stdout, $stderr_out stderr,
#                           $status the exit status (like bats' run)
#   api_has METHOD PATH     whether coved has a route there (for parts other branches build)

load helpers

heroku_setup() {
	local bin
	bin=$("$BATS_TEST_DIRNAME/../../tools/heroku-cli.sh" "$COVE_BUILD_DIR") || return 1
	export PATH="$(dirname "$bin"):$PATH"
	[ -n "$COVE_API_TLS_URL" ] || { echo "coved serves no HTTPS" >&2; return 1; }
	export HEROKU_HOST="$COVE_API_TLS_URL"
	export HEROKU_API_KEY="$COVE_API_KEY"
	export HEROKU_GIT_HOST="${COVE_API_TLS_URL#https://}"
	export HEROKU_PARTICLEBOARD_URL="$COVE_API_TLS_URL"
	export DISABLE_TELEMETRY=true HEROKU_SKIP_NEW_VERSION_CHECK=true HEROKU_DISABLE_AUTOUPDATE=1
	export NODE_EXTRA_CA_CERTS="$COVED_CA" GIT_SSL_CAINFO="$COVED_CA"
	export HOME="$COVED_DATA/heroku-home"
	mkdir -p "$HOME"
	export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@acme.test
	export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@acme.test
	export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1
	unset HEROKU_APP
}

hk() {
	local err="$BATS_TEST_TMPDIR/hk.err"
	status=0
	output=$(heroku "$@" 2>"$err" </dev/null) || status=$?
	# The CLI's notices that have nothing to do with cove.
	stderr_out=$(grep -v -e 'terms of service' -e 'terms-of-service' -e 'HEROKU_API_KEY is set' "$err" || true)
	# bats shows this only when the test fails.
	printf 'heroku %s: exit %s\n--- stdout\n%s\n--- stderr\n%s\n' "$*" "$status" "$output" "$stderr_out" >&2
}

api_has() {
	local body
	if [ "$1" = GET ]; then body=$(api GET "$2"); else body=$(api "$1" "$2" '{}'); fi
	! [[ "$(api_status)" = 404 && "$body" == *'"no route for '* ]]
}
