# Helpers of the dyno sandbox's end-to-end tests (tests/e2e/sandbox-*.bats). They run
# cove-sandbox as root against the host's real cgroups and namespaces; each test gets a scratch
# directory with a small "slug" in it, and teardown kills and cleans up every dyno in it.
#
#   setup()    { sandbox_setup; }
#   teardown() { sandbox_teardown; }
#   sb_run NAME [run options] [--] COMMAND...   start a dyno with state dir $SB_TMP/NAME
#   sb_dir NAME                                 its state directory

: "${COVE_BUILD_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
SANDBOX="$COVE_BUILD_DIR/src/sandbox/cove-sandbox"
# An app's uid and gid, on purpose absent from the host's /etc/passwd.
DYNO_UID=40123
DYNO_GID=40124

sandbox_setup() {
	[ "$(id -u)" -eq 0 ] || skip "the sandbox needs root"
	[ -x "$SANDBOX" ] || skip "no $SANDBOX: build first"
	# Not under BATS_TEST_TMPDIR: its path is long, and the sandbox wants short, plain ones.
	SB_TMP=$(mktemp -d /tmp/cove-sandbox-test.XXXXXX)
	APP_DIR=$SB_TMP/app
	mkdir -p "$APP_DIR/bin"
	echo "hello from the slug" >"$APP_DIR/greeting"
	printf 'web: bin/web\n' >"$APP_DIR/Procfile"
	# The agent extracts a slug as the app's user, so that its dynos may change their /app.
	chown -R "$DYNO_UID:$DYNO_GID" "$APP_DIR"
}

sb_dir() {
	echo "$SB_TMP/$1"
}

sb_run() {
	local name=$1
	shift
	"$SANDBOX" run --state-dir "$SB_TMP/$name" --app-dir "$APP_DIR" --uid "$DYNO_UID" --gid "$DYNO_GID" "$@"
}

# Prints the value of key from "key=value" lines on stdin.
kv() {
	sed -n "s/^$1=//p" | head -n 1
}

# sb_field NAME KEY: a field of the dyno's pid file.
sb_field() {
	kv "$2" <"$SB_TMP/$1/pid"
}

# Waits up to 5 s for a command to succeed.
wait_for() {
	local i
	for i in $(seq 1 50); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

# The host pid of the dyno's command (the child of its init).
sb_command_pid() {
	local init
	init=$(sb_field "$1" init_pid)
	cut -d' ' -f1 "/proc/$init/task/$init/children"
}

# Kills and cleans up every dyno under $SB_TMP: by directory, since `run sb_run` starts dynos in
# a subshell that cannot tell the test's own shell about them.
sandbox_teardown() {
	local dir status=0
	[ -n "${SB_TMP:-}" ] || return 0
	for dir in "$SB_TMP"/*/; do
		dir=${dir%/}
		[ "$dir" != "$APP_DIR" ] || continue
		[ -e "$dir/pid" ] || continue
		"$SANDBOX" kill --state-dir "$dir" --signal KILL 2>/dev/null || true
		"$SANDBOX" wait --state-dir "$dir" --timeout 10 >/dev/null 2>&1 || true
		# Under the sanitizer build a report from the shim is a failure of the test.
		if grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$dir/shim.log" 2>/dev/null; then
			echo "sanitizer report in $dir/shim.log:" >&2
			cat "$dir/shim.log" >&2
			status=1
		fi
		"$SANDBOX" cleanup --state-dir "$dir" >&2 || status=1
	done
	rm -rf "$SB_TMP"
	return $status
}
