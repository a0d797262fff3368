# Helpers of the deploy tests (tests/e2e/deploy-*.bats): coved with its agent, a space, apps
# pushed with git from the sample apps in tests/fixtures/apps, and requests to their web dynos
# from inside the space's network.
#
#   setup_file()    { deploy_setup; }
#   teardown_file() { runtime_cleanup; }

load helpers
load runtime-helpers

FIXTURES="$(cd "$BATS_TEST_DIRNAME/../fixtures" && pwd)"

# Starts coved with its agent (extra arguments go to coved), a team "acme" and a space "deploys".
deploy_setup() {
	[ "$(id -u)" -eq 0 ] || skip "deploys need root"
	export COVED_ROLE=all
	coved_start --boot-timeout 8 --stop-timeout 2 "$@"
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"deploys","team":"acme"}' >/dev/null
	wait_space deploys allocated 60
	export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@acme.test
	export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@acme.test
	export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1
}

# git_url APP [TOKEN]: the app's repository with a token (default: the admin's) as the password.
git_url() {
	local token=${2:-$COVE_API_KEY}
	printf 'http://git:%s@%s/%s.git\n' "$token" "${COVE_API_URL#http://}" "$1"
}

# new_app APP [FIXTURE]: creates APP in the space and a work tree $BATS_FILE_TMPDIR/src/APP
# holding the sample app FIXTURE, committed on main; prints the work tree.
new_app() {
	local app=$1 fixture=${2:-}
	api_expect 201 POST /teams/apps "{\"name\":\"$app\",\"space\":\"deploys\"}" >/dev/null
	local dir="$BATS_FILE_TMPDIR/src/$app"
	mkdir -p "$dir"
	[ -n "$fixture" ] && cp -r "$FIXTURES/apps/$fixture/." "$dir/"
	git -C "$dir" init -q -b main
	git -C "$dir" add -A
	git -C "$dir" commit -q --allow-empty -m "$app: the sample app ${fixture:-(empty)}"
	printf '%s\n' "$dir"
}

# push APP [GIT PUSH ARGS...]: pushes the app's work tree to its repository (default: main);
# git's output is in $BATS_TEST_TMPDIR/push.out, the status is git's.
push() {
	local app=$1
	shift
	[ $# -gt 0 ] || set -- main
	git -C "$BATS_FILE_TMPDIR/src/$app" push "$(git_url "$app")" "$@" >"$BATS_TEST_TMPDIR/push.out" 2>&1
}

# pushed: what the last push printed (git's "remote: " prefix and padding taken away).
pushed() {
	sed -e 's/^remote: //' -e 's/[[:space:]]*$//' "$BATS_TEST_TMPDIR/push.out"
}

# commit APP MESSAGE [FILE CONTENT]: a new commit in the app's work tree, optionally writing FILE.
commit() {
	local dir="$BATS_FILE_TMPDIR/src/$1"
	[ $# -ge 4 ] && printf '%s' "$4" >"$dir/$3"
	git -C "$dir" add -A
	git -C "$dir" commit -q --allow-empty -m "$2"
}

# current_release APP: the version of the app's current release.
current_release() {
	api GET "/apps/$1/releases" | jq '[.[] | select(.current)][0].version'
}

# wait_release APP VERSION [COUNT] [SECONDS]: until the app runs COUNT dynos (default 1), all
# up and of release VERSION.
wait_release() {
	local app=$1 version=$2 count=${3:-1} seconds=${4:-30} i all
	for i in $(seq 1 $((seconds * 5))); do
		all=$(api GET "/apps/$app/dynos")
		if [ "$(jq --argjson v "$version" '[.[] | select(.state == "up" and .release.version == $v)] | length' <<<"$all")" -eq "$count" ] &&
			[ "$(jq length <<<"$all")" -eq "$count" ]; then
			return 0
		fi
		sleep 0.2
	done
	echo "app $app: wanted $count dynos up on v$version, have:" >&2
	api GET "/apps/$app/dynos" | jq -r '.[] | "\(.name) \(.state) v\(.release.version)"' >&2
	tail -20 "$COVED_DATA/coved.log" >&2
	return 1
}

# get APP [PATH]: an HTTP request to the app's web.1 on its private IP, from inside the space.
get() {
	in_dyno_net "$1" web.1 curl -sS -m 5 "http://$(dyno_ip "$1" web.1):5000${2:-/}"
}
