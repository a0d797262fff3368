#!/usr/bin/env bats
# A build's limits (issue: "Deploy with git push"): its time, the size of its slug, and a
# build without any network.

load deploy-helpers

setup_file() {
	deploy_setup --build-timeout 3 --slug-max 1
	dir=$(new_app limits)
	printf 'web: exec sleep infinity\n' >"$dir/Procfile"
	commit limits "a Procfile"
	api_expect 200 PUT /apps/limits/buildpack-installations \
		"{\"updates\":[{\"buildpack\":\"$FIXTURES/buildpacks/script\"}]}" >/dev/null
}

teardown_file() {
	runtime_cleanup
}

# build_script SCRIPT: the next commit's build.sh.
build_script() {
	commit limits "build: $1" build.sh "$1"
}

# No sandbox, cgroup, network namespace or work directory of any build is left.
nothing_left() {
	[ -z "$(ls -d "$COVED_DATA"/builds/*/ 2>/dev/null | grep -v locks)" ]
	local id
	for id in $(api GET /apps/limits/builds | jq -r '.[].id'); do
		[ ! -e "/sys/fs/cgroup/pids/cove/$id" ] && [ ! -e "/sys/fs/cgroup/cove/$id" ]
		[ "$(ip netns list | grep -c "cove-b-$id")" -eq 0 ]
	done
}

@test "a build that takes too long is stopped and rejected" {
	build_script 'echo "-----> sleeping"; sleep 60'
	start=$(date +%s)
	run push limits
	[ "$status" -ne 0 ]
	[ $(($(date +%s) - start)) -lt 15 ]
	pushed | grep -qx -- " !     Build timed out: a build may take at most 3 seconds."
	pushed | grep -qx -- " !     Push rejected to limits."
	[ "$(api GET /apps/limits/builds | jq -r '.[-1].status')" = failed ]
	[ "$(current_release limits)" = 1 ]
	nothing_left
}

@test "a slug over the limit is refused" {
	build_script 'head -c 2000000 /dev/urandom > "$1/noise"'
	run push limits
	[ "$status" -ne 0 ]
	pushed | grep -qx -- " !     Compiled slug size: 1.9M is too large (max is 1.0M)."
	[ "$(current_release limits)" = 1 ]
	nothing_left
}

@test "with --no-build-network a build reaches nothing at all" {
	coved_restart --boot-timeout 8 --stop-timeout 2 --build-timeout 3 --no-build-network
	# The registry the project's npm uses, not a host name written here.
	registry=$(npm config get registry)
	[ -n "$registry" ]
	build_script 'curl -sS -m 2 -o /dev/null '"'$registry'"' 2>/dev/null || echo "       offline"; [ -z "${HTTPS_PROXY:-}" ] && echo "       no proxy"'
	push limits
	pushed | grep -qx -- "       offline"
	pushed | grep -qx -- "       no proxy"
	[ "$(current_release limits)" = 2 ]
}

@test "what a destroyed app leaves on disk goes when coved starts again" {
	new_app gone procfile >/dev/null
	push gone
	id=$(api GET /apps/gone | jq -r .id)
	build=$(api GET /apps/gone/builds | jq -r '.[0].id')
	[ -d "$COVED_DATA/repos/$id.git" ] && [ -d "$COVED_DATA/cache/$id" ] && [ -f "$COVED_DATA/builds/$build.log" ]
	api_expect 200 DELETE /apps/gone >/dev/null
	coved_restart --boot-timeout 8 --stop-timeout 2 --build-timeout 3
	for i in $(seq 1 50); do
		[ ! -e "$COVED_DATA/repos/$id.git" ] && [ ! -e "$COVED_DATA/cache/$id" ] && [ ! -e "$COVED_DATA/builds/$build.log" ] && break
		sleep 0.1
	done
	[ ! -e "$COVED_DATA/repos/$id.git" ] && [ ! -e "$COVED_DATA/cache/$id" ] && [ ! -e "$COVED_DATA/builds/$build.log" ]
	# The others' stay.
	[ -d "$COVED_DATA/repos/$(api GET /apps/limits | jq -r .id).git" ]
}
