# Shared helpers of the end-to-end suite: each test file runs its own coved, on a free port,
# with a fresh data directory, and tears it down at the end.
#
#   setup_file()    { coved_start; }
#   teardown_file() { coved_stop; }
#
# After coved_start: COVE_API_URL and COVE_API_KEY (the admin token) are exported, COVED_DATA
# is the data directory, and `cove` runs the CLI under test.

: "${COVE_BUILD_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
export COVE_BUILD_DIR
export PATH="$COVE_BUILD_DIR:$PATH"

# Starts coved with the given extra arguments and waits until it answers.
coved_start() {
	COVED_DATA=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/coved.XXXXXX")
	export COVED_DATA
	"$COVE_BUILD_DIR/coved" --data-dir "$COVED_DATA" --listen 127.0.0.1:0 "$@" \
		>"$COVED_DATA/coved.log" 2>&1 3>&- &
	COVED_PID=$!
	export COVED_PID
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

# Restarts coved on the same data directory and port.
coved_restart() {
	coved_stop_process
	local port=${COVE_API_URL##*:}
	rm -f "$COVED_DATA/run/api.url"
	"$COVE_BUILD_DIR/coved" --data-dir "$COVED_DATA" --listen "127.0.0.1:$port" "$@" \
		>>"$COVED_DATA/coved.log" 2>&1 3>&- &
	COVED_PID=$!
	export COVED_PID
	coved_wait
}

coved_stop_process() {
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

# api METHOD PATH [JSON] [curl args...]: calls the API as the admin; prints the body and
# sets API_STATUS.
api() {
	local method=$1 path=$2 body=${3:-}
	shift 3 2>/dev/null || shift $#
	local out
	out=$(curl -sS -X "$method" "$COVE_API_URL$path" \
		-H "Accept: application/vnd.heroku+json; version=3" \
		-H "Content-Type: application/json" \
		-H "Authorization: Bearer ${API_TOKEN:-$COVE_API_KEY}" \
		${body:+--data-binary "$body"} -w '\n%{http_code}' "$@")
	API_STATUS=${out##*$'\n'}
	API_BODY=${out%$'\n'*}
	printf '%s\n' "$API_BODY"
}

# Creates a user with a password and prints a token for them.
make_user() {
	local email=$1 password=${2:-password-of-$1}
	curl -fsS -X POST "$COVE_API_URL/users" -H "Authorization: Bearer $COVE_API_KEY" \
		-H "Content-Type: application/json" -d "{\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null
	curl -fsS -X POST "$COVE_API_URL/oauth/authorizations" -u "$email:$password" |
		jq -r .access_token.token
}
