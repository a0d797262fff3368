# Shared helpers of the end-to-end suite: each test file runs its own coved, on a free port,
# with a fresh data directory, and tears it down at the end.
#
#   setup_file()    { coved_start; }
#   teardown_file() { coved_stop; }
#
# After coved_start: COVE_API_URL and COVE_API_KEY (the admin token) are exported, COVED_DATA
# is the data directory, and `cove` runs the CLI under test.
#
# Calling the API from a test:
#
#   body=$(api POST /spaces '{"name":"s1"}')     the body; the status survives the subshell:
#   [ "$(api_status)" = 201 ]                    api_status and api_header NAME read it back
#   body=$(api_expect 201 POST /spaces '{...}')  fails the test unless the status is 201
#   body=$(api_as "$token" GET /apps)            as another user (make_user prints a token)
#   refused 422 invalid_params POST /spaces '{"name":"Bad"}'
#                                                the request must fail with that status and a
#                                                Platform API error body, and change nothing

: "${COVE_BUILD_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
export COVE_BUILD_DIR
export PATH="$COVE_BUILD_DIR:$PATH"

# The role coved runs in: `api` (the default: the control plane alone, no namespaces made)
# or `all` (with the agent of this host: spaces become networks and dynos run; needs root).
coved_role_args() {
	case "${COVED_ROLE:-api}" in
	all) ;;
	*) printf '%s\n' "${COVED_ROLE:-api}" ;;
	esac
}

# Starts coved with the given extra arguments and waits until it answers.
coved_start() {
	# The namespaces there before this file's first coved: netns_sweep leaves them alone.
	[ -z "${BATS_FILE_TMPDIR:-}" ] || [ -e "$BATS_FILE_TMPDIR/netns.before" ] ||
		{ ip netns list 2>/dev/null | awk '{ print $1 }' >"$BATS_FILE_TMPDIR/netns.before"; } 2>/dev/null || true
	COVED_DATA=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/coved.XXXXXX")
	export COVED_DATA
	"$COVE_BUILD_DIR/coved" $(coved_role_args) --data-dir "$COVED_DATA" --listen 127.0.0.1:0 "$@" \
		>"$COVED_DATA/coved.log" 2>&1 3>&- &
	COVED_PID=$!
	export COVED_PID
	echo "$COVED_PID" >"$COVED_DATA/coved.pid"
	coved_wait
	export COVE_API_KEY
	COVE_API_KEY=$(cat "$COVED_DATA/admin.token")
	# Keep the CLI from finding a developer's own ~/.netrc.
	export HOME="$COVED_DATA/home"
	mkdir -p "$HOME"
}

# Waits for the coved of COVED_DATA to write its URL and answer.
coved_wait() {
	local i
	for i in $(seq 1 100); do
		if [ -s "$COVED_DATA/run/api.url" ]; then
			COVE_API_URL=$(cat "$COVED_DATA/run/api.url")
			export COVE_API_URL
			# The HTTPS side (docs/operations.md): its URL, and the CA that signed its certificate.
			COVE_API_TLS_URL=$(cat "$COVED_DATA/run/api-tls.url" 2>/dev/null || true)
			COVED_CA="$COVED_DATA/tls/ca.pem"
			export COVE_API_TLS_URL COVED_CA
			if curl -fsS -o /dev/null "$COVE_API_URL/regions" -H "Authorization: Bearer $(cat "$COVED_DATA/admin.token")"; then
				return 0
			fi
		fi
		if ! kill -0 "$COVED_PID" 2>/dev/null; then
			echo "coved exited early:" >&2
			cat "$COVED_DATA/coved.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "coved did not answer in 10 s:" >&2
	cat "$COVED_DATA/coved.log" >&2
	return 1
}

# Restarts coved on the same data directory and port. Also starts it again after it died
# (coved_kill): only a running coved is stopped first.
coved_restart() {
	coved_stop_process
	local port=${COVE_API_URL##*:} tls=()
	# HTTPS on its port of before too: the next port may not be free.
	[ -n "${COVE_API_TLS_URL:-}" ] && tls=(--listen-tls "127.0.0.1:${COVE_API_TLS_URL##*:}")
	rm -f "$COVED_DATA/run/api.url" "$COVED_DATA/run/api-tls.url"
	"$COVE_BUILD_DIR/coved" $(coved_role_args) --data-dir "$COVED_DATA" --listen "127.0.0.1:$port" "${tls[@]}" "$@" \
		>>"$COVED_DATA/coved.log" 2>&1 3>&- &
	COVED_PID=$!
	export COVED_PID
	# Each test runs in a subshell: the file is how teardown_file finds a coved a test restarted.
	echo "$COVED_PID" >"$COVED_DATA/coved.pid"
	coved_wait
}

# Kills coved with SIGKILL, as a crash or the OOM killer would, and reaps it.
coved_kill() {
	kill -KILL "$COVED_PID" 2>/dev/null || true
	wait "$COVED_PID" 2>/dev/null || true
}

coved_stop_process() {
	[ -s "${COVED_DATA:-}/coved.pid" ] && COVED_PID=$(cat "$COVED_DATA/coved.pid")
	if [ -n "${COVED_PID:-}" ] && kill -0 "$COVED_PID" 2>/dev/null; then
		kill -TERM "$COVED_PID"
		local i
		for i in $(seq 1 50); do
			kill -0 "$COVED_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$COVED_PID" 2>/dev/null || true
	fi
	wait "$COVED_PID" 2>/dev/null || true
}

coved_stop() {
	coved_stop_process
	# Under the sanitizer build a report in the log is a failure of the file.
	if grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$COVED_DATA/coved.log" 2>/dev/null; then
		echo "sanitizer report in coved.log:" >&2
		cat "$COVED_DATA/coved.log" >&2
		return 1
	fi
}

# Where api() leaves the status and headers of the last call: per test, so that they survive
# `$(api ...)`. Override with API_DIR (e.g. for calls from a background job).
api_dir() {
	local dir=${API_DIR:-${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${COVED_DATA:-/tmp}}}}
	mkdir -p "$dir"
	printf '%s\n' "$dir"
}

# api METHOD PATH [JSON] [curl args...]: calls the API and prints the body. JSON may be left
# out before curl arguments (they start with '-'), and may be @FILE for a body too large for
# an argument. It authenticates with API_TOKEN, else as the admin; API_TOKEN=none sends no
# Authorization header. API_ACCEPT replaces the Accept header. The status and the headers
# are kept for api_status and api_header; API_STATUS and API_BODY are set too when not in a
# subshell.
api() {
	local method=$1 path=$2 body=
	shift 2
	# The body is optional: curl arguments may follow the path directly.
	if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
		body=$1
		shift
	fi
	local dir auth=()
	dir=$(api_dir)
	local token=${API_TOKEN:-$COVE_API_KEY}
	[ "$token" = none ] || auth=(-H "Authorization: Bearer $token")
	local out
	out=$(curl -sS -X "$method" "$COVE_API_URL$path" \
		-H "Accept: ${API_ACCEPT:-application/vnd.heroku+json; version=3}" \
		-H "Content-Type: application/json" \
		"${auth[@]}" -D "$dir/headers" \
		${body:+--data-binary "$body"} -w '\n%{http_code}' "$@")
	API_STATUS=${out##*$'\n'}
	API_BODY=${out%$'\n'*}
	printf '%s\n' "$API_STATUS" >"$dir/status"
	printf '%s\n' "$API_BODY"
}

# api_as TOKEN METHOD PATH [JSON] [curl args...]: api() as the owner of TOKEN.
api_as() {
	local token=$1
	shift
	API_TOKEN=$token api "$@"
}

# The HTTP status of the last api() call.
api_status() {
	cat "$(api_dir)/status"
}

# A response header of the last api() call, or nothing.
api_header() {
	local name=$1
	tr -d '\r' <"$(api_dir)/headers" | awk -v n="$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" \
		'index(tolower($0), n ":") == 1 { sub(/^[^:]*:[ \t]*/, ""); v = $0 } END { if (v != "") print v }'
}

# api_expect STATUS METHOD PATH [JSON] [curl args...]: api(), failing unless the status is
# STATUS; prints the body.
api_expect() {
	local want=$1
	shift
	local body status
	body=$(api "$@")
	status=$(api_status)
	if [ "$status" != "$want" ]; then
		echo "$1 $2: expected status $want, got $status: $body" >&2
		return 1
	fi
	printf '%s\n' "$body"
}

# The store as text, minus the audit trail (which records refused requests too): what a
# request that "changes nothing" must leave as it was.
store_dump() {
	sqlite3 "$COVED_DATA/cove.db" .dump | grep -v -E 'audit_events|sqlite_sequence'
}

# refused STATUS ID METHOD PATH [JSON] [curl args...]: the request must be answered with
# STATUS and a Platform API error body {"id": ID, "message": "..."} with a message, and must
# leave the store as it was. Prints the message.
refused() {
	local want=$1 want_id=$2
	shift 2
	local before after body status
	before=$(store_dump)
	body=$(api "$@")
	status=$(api_status)
	after=$(store_dump)
	if [ "$status" != "$want" ]; then
		echo "$1 $2: expected status $want, got $status: $body" >&2
		return 1
	fi
	if ! jq -e --arg id "$want_id" \
		'type == "object" and .id == $id and (.message | type == "string" and length > 0)' \
		>/dev/null <<<"$body"; then
		echo "$1 $2: expected an error body with id '$want_id', got: $body" >&2
		return 1
	fi
	if [ "$before" != "$after" ]; then
		echo "$1 $2: a refused request changed the store:" >&2
		diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2
		return 1
	fi
	jq -r .message <<<"$body"
}

# Creates a user with a password and prints a token for them.
make_user() {
	local email=$1 password=${2:-password-of-$1}
	curl -fsS -X POST "$COVE_API_URL/users" -H "Authorization: Bearer $COVE_API_KEY" \
		-H "Content-Type: application/json" -d "{\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null
	curl -fsS -X POST "$COVE_API_URL/oauth/authorizations" -u "$email:$password" |
		jq -r .access_token.token
}

# add_member TEAM EMAIL [ROLE]: adds a user to a team (as the admin).
add_member() {
	local team=$1 email=$2 role=${3:-member}
	api_expect 201 PUT "/teams/$team/members" "{\"email\":\"$email\",\"role\":\"$role\"}" >/dev/null
}

# ---- the CLI (tests/e2e/cli-*.bats) ---------------------------------------------------------

# cli_refused STATUS ARGS...: runs `cove ARGS...` (stdin from /dev/null) and expects exit
# status STATUS, nothing on stdout, and exactly one line on stderr, `cove: <message>`.
# Prints the message.
cli_refused() {
	local want=$1
	shift
	local dir status=0
	dir=$(api_dir)
	cove "$@" >"$dir/cli.out" 2>"$dir/cli.err" </dev/null || status=$?
	if [ "$status" != "$want" ]; then
		echo "cove $*: expected exit status $want, got $status" >&2
		cat "$dir/cli.out" "$dir/cli.err" >&2
		return 1
	fi
	if [ -s "$dir/cli.out" ]; then
		echo "cove $*: expected nothing on stdout, got:" >&2
		cat "$dir/cli.out" >&2
		return 1
	fi
	if [ "$(wc -l <"$dir/cli.err")" -ne 1 ] || ! grep -q '^cove: .' "$dir/cli.err"; then
		echo "cove $*: expected one line 'cove: <message>' on stderr, got:" >&2
		cat "$dir/cli.err" >&2
		return 1
	fi
	sed 's/^cove: //' "$dir/cli.err"
}

# release_slug APP: gives APP a slug with a web and a worker process type and releases it,
# as a build would (as the admin).
release_slug() {
	local app=$1 slug
	slug=$(api_expect 201 POST "/apps/$app/slugs" \
		'{"process_types":{"web":"python3 -m http.server $PORT","worker":"sleep 1000"}}' | jq -r .id)
	api_expect 201 POST "/apps/$app/releases" "{\"slug\":\"$slug\"}" >/dev/null
}

# After this file's coved stopped: removes the spaces' and dynos' namespaces it made that are
# still there (none, when the agent and the teardown did their work), and says so on the TAP
# stream, so that a leak is seen and does not outlive the file.
netns_sweep() {
	[ -n "${BATS_FILE_TMPDIR:-}" ] && [ -e "$BATS_FILE_TMPDIR/netns.before" ] || return 0
	local kind ns
	for kind in d s; do
		for ns in $(ip netns list 2>/dev/null | awk -v k="cove-$kind-" 'index($1, k) == 1 { print $1 }'); do
			grep -qxF "$ns" "$BATS_FILE_TMPDIR/netns.before" && continue
			echo "# $(basename "$BATS_TEST_FILENAME"): the namespace $ns was left behind; removed" >&3
			if [ "$kind" = d ]; then
				"$COVE_BUILD_DIR/src/net/cove-net" dyno-destroy --dyno "${ns#cove-d-}" >/dev/null 2>&1 || true
			else
				"$COVE_BUILD_DIR/src/net/cove-net" space-destroy --space "${ns#cove-s-}" >/dev/null 2>&1 || true
			fi
		done
	done
}
