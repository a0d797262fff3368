#!/usr/bin/env bats
# Deploying with git push (issue: "Deploy with git push"): the git server, who may push and
# fetch, what a push prints and makes (build, slug, release), failed builds, rollback and
# config changes, and an API that keeps answering while a build runs.

load deploy-helpers

setup_file() {
	deploy_setup
	new_app web-a procfile >/dev/null
	push web-a
	wait_release web-a 2
}

teardown_file() {
	runtime_cleanup
}

@test "a push builds the Procfile-only app, releases it as 'Deploy <sha>' and it answers" {
	# setup_file pushed it; push again what is there changes nothing (git: up to date).
	sha=$(git -C "$BATS_FILE_TMPDIR/src/web-a" rev-parse HEAD)
	release=$(api_expect 200 GET /apps/web-a/releases/2)
	[ "$(jq -r .description <<<"$release")" = "Deploy ${sha:0:7}" ]
	[ "$(jq -r .status <<<"$release")" = succeeded ]
	slug=$(api_expect 200 GET "/apps/web-a/slugs/$(jq -r .slug.id <<<"$release")")
	[ "$(jq -r .commit <<<"$slug")" = "$sha" ]
	[ "$(jq -r '.process_types.web' <<<"$slug")" = "exec ./server.sh" ]
	[ "$(jq -r '.process_types.worker' <<<"$slug")" = "exec sleep infinity" ]
	[[ "$(jq -r .checksum <<<"$slug")" == SHA256:* ]]
	[ -f "$COVED_DATA/slugs/$(jq -r .id <<<"$slug").tgz" ]
	[ "$(api GET /apps/web-a/formation/web | jq .quantity)" -eq 1 ]
	[ "$(api GET /apps/web-a/formation/worker | jq .quantity)" -eq 0 ]
	run get web-a
	[ "$output" = "hello from procfile" ]
	# git's CGI of each push and fetch is reaped when it ends: coved keeps no zombie child.
	for i in $(seq 1 50); do
		[ -z "$(ps -o stat= --ppid "$COVED_PID" | grep '^Z')" ] && break
		sleep 0.1
	done
	[ -z "$(ps -o stat= --ppid "$COVED_PID" | grep '^Z')" ]
}

@test "the pusher sees the build as it goes, and the build keeps its output" {
	commit web-a "second deploy"
	push web-a
	out=$(pushed)
	grep -qx -- "-----> Building on the heroku-24 stack" <<<"$out"
	grep -qx -- "-----> Procfile-only app detected" <<<"$out"
	grep -qx -- "       Procfile declares types     -> web, worker" <<<"$out"
	grep -q -- "^       Done: [0-9.]*K$" <<<"$out"
	grep -qx -- "       Released v3" <<<"$out"
	grep -qx -- "       http://web-a.deploys.localhost/ deployed to cove" <<<"$out"
	grep -q -- "main -> main" <<<"$out"

	build=$(api_expect 200 GET /apps/web-a/builds | jq '.[-1]')
	[ "$(jq -r .status <<<"$build")" = succeeded ]
	[ "$(jq -r .source_blob.version <<<"$build")" = "$(git -C "$BATS_FILE_TMPDIR/src/web-a" rev-parse HEAD)" ]
	[ "$(jq -r .source_blob.version_description <<<"$build")" = "second deploy" ]
	[ "$(jq -r '.buildpacks[0].name' <<<"$build")" = cove/procfile ]
	[ "$(jq -r .release.version <<<"$build")" = 3 ]
	[ "$(jq -r .user.email <<<"$build")" = admin@cove.local ]
	# The output as the API keeps it is what the pusher saw.
	curl -fsS -H "Authorization: Bearer $COVE_API_KEY" "$(jq -r .output_stream_url <<<"$build")" >"$BATS_TEST_TMPDIR/kept"
	diff <(grep -v -e '^To ' -e ' -> main' -e '^$' <<<"$out") "$BATS_TEST_TMPDIR/kept"

	run cove builds -a web-a
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "=== web-a Builds" ]]
	[[ "$output" == *"$(jq -r .id <<<"$build")  succeeded  $(git -C "$BATS_FILE_TMPDIR/src/web-a" rev-parse --short=7 HEAD)  v3  admin@cove.local"* ]]
	run cove builds:output -a web-a
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/kept")" ]
	run cove builds:info -a web-a
	[[ "$output" == *"Status:"*"succeeded"* ]]
	[[ "$output" == *"Buildpacks:"*"cove/procfile"* ]]
	wait_release web-a 3
}

@test "pushing another branch is refused with what to do instead" {
	before=$(api GET /apps/web-a/builds | jq length)
	commit web-a "on a branch"
	run push web-a HEAD:refs/heads/feature
	[ "$status" -ne 0 ]
	pushed | grep -qx -- " !     Pushing to 'feature' does not deploy: cove deploys what is pushed to main or master."
	pushed | grep -qx -- " !     To deploy it: git push cove feature:main"
	grep -q "\[remote rejected\] HEAD -> feature (pre-receive hook declined)" "$BATS_TEST_TMPDIR/push.out"
	run push web-a HEAD:refs/tags/v1
	[ "$status" -ne 0 ]
	grep -q "remote rejected" "$BATS_TEST_TMPDIR/push.out"
	run push web-a :main
	[ "$status" -ne 0 ]
	pushed | grep -q "'main' deploys the app and cannot be deleted"
	[ "$(api GET /apps/web-a/builds | jq length)" -eq "$before" ]
	git -C "$BATS_FILE_TMPDIR/src/web-a" reset -q --hard HEAD~1
}

@test "a wrong token, or a user without access to the app, can neither fetch nor push" {
	outsider=$(make_user outsider@else.test)
	member=$(make_user member@acme.test)
	add_member acme member@acme.test
	dir="$BATS_FILE_TMPDIR/src/web-a"

	run git clone -q "$(git_url web-a not-a-token)" "$BATS_TEST_TMPDIR/c1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Authentication failed"* || "$output" == *"401"* ]]
	run git -C "$dir" push "$(git_url web-a not-a-token)" main
	[ "$status" -ne 0 ]
	run git clone -q "$(git_url web-a "$outsider")" "$BATS_TEST_TMPDIR/c2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"403"* ]]
	commit web-a "from an outsider"
	run git -C "$dir" push "$(git_url web-a "$outsider")" main
	[ "$status" -ne 0 ]
	[[ "$output" == *"403"* ]]
	# Without credentials git is asked for them (401) and, with no terminal, gives up.
	run git clone -q "http://${COVE_API_URL#http://}/web-a.git" "$BATS_TEST_TMPDIR/c3"
	[ "$status" -ne 0 ]
	# Host tokens are for agents, not git.
	run git clone -q "$(git_url web-a "$(cat "$COVED_DATA/run/host.token")")" "$BATS_TEST_TMPDIR/c4"
	[ "$status" -ne 0 ]
	[ "$(api GET /apps/web-a/releases | jq length)" -eq 3 ]

	# A member of the app's team fetches what was deployed.
	git clone -q "$(git_url web-a "$member")" "$BATS_TEST_TMPDIR/c5"
	[ "$(git -C "$BATS_TEST_TMPDIR/c5" rev-parse HEAD)" = "$(git -C "$dir" rev-parse HEAD~1)" ]
	[ -x "$BATS_TEST_TMPDIR/c5/server.sh" ]
	git -C "$dir" reset -q --hard HEAD~1
	# Only git's smart protocol is served: no dumb HTTP, nothing else under the repository.
	[ "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$COVE_API_KEY" "$COVE_API_URL/web-a.git/info/refs")" = 403 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$COVE_API_KEY" "$COVE_API_URL/web-a.git/HEAD")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$COVE_API_KEY" "$COVE_API_URL/nope.git/info/refs?service=git-upload-pack")" = 404 ]
	# A pack sent straight to receive-pack is refused before it is read, with or without
	# "Expect: 100-continue".
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/pack"
	for expect in "Expect: 100-continue" "Expect:"; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -u x:not-a-token -H "$expect" --data-binary "@$BATS_TEST_TMPDIR/pack" \
			"$COVE_API_URL/web-a.git/git-receive-pack")" = 401 ]
		[ "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$outsider" -H "$expect" --data-binary "@$BATS_TEST_TMPDIR/pack" \
			"$COVE_API_URL/web-a.git/git-receive-pack")" = 403 ]
	done
	[ "$(api GET /apps/web-a/builds | jq length)" -eq 2 ]
}

@test "git:remote sets up the remote and its credentials: git push cove main" {
	dir=$(new_app web-b procfile)
	cd "$dir"
	# cove trusts coved's local CA (COVE_CA_FILE), and tells the repository to.
	COVE_CA_FILE=$COVED_CA run cove git:remote -a web-b
	[ "$status" -eq 0 ]
	[ "$(git config --get "http.${COVE_API_TLS_URL}/.sslCAInfo")" = "$(realpath "$COVED_CA")" ]
	[ "$output" = "set git remote cove to $COVE_API_TLS_URL/web-b.git" ]
	# HTTPS with coved's own CA, which git:remote told the repository to trust (an environment
	# that names another CA file would override it).
	env -u GIT_SSL_CAINFO git push -q cove main 2>"$BATS_TEST_TMPDIR/err"
	grep -q "Released v2" "$BATS_TEST_TMPDIR/err"
	# Commands inside the work tree find their app from the remote.
	run cove builds
	[[ "$output" == *"=== web-b Builds"* ]]
	cd - >/dev/null
	wait_release web-b 2
}

@test "a failed build rejects the push, releases nothing, and the running release keeps serving" {
	before=$(current_release web-a)
	commit web-a "a broken Procfile" Procfile "web npm start"
	run push web-a
	[ "$status" -ne 0 ]
	out=$(pushed)
	grep -qx -- " !     Procfile line 1: expected 'type: command', got 'web npm start'" <<<"$out"
	grep -qx -- " !     Push rejected to web-a." <<<"$out"
	grep -q "\[remote rejected\] main -> main (pre-receive hook declined)" "$BATS_TEST_TMPDIR/push.out"
	[ "$(current_release web-a)" = "$before" ]
	[ "$(api GET /apps/web-a/builds | jq -r '.[-1].status')" = failed ]
	[ "$(api GET /apps/web-a/builds | jq -r '.[-1].release')" = null ]
	# The repository did not take the commit: main is still the deployed one.
	[ "$(git ls-remote "$(git_url web-a)" refs/heads/main | cut -f1)" = "$(git -C "$BATS_FILE_TMPDIR/src/web-a" rev-parse HEAD~1)" ]
	run get web-a
	[ "$output" = "hello from procfile" ]
	git -C "$BATS_FILE_TMPDIR/src/web-a" reset -q --hard HEAD~1
}

@test "rollback returns to the previous slug; config:set restarts the dynos on the new release" {
	commit web-a "a new greeting" respond.sh "$(sed 's/hello from procfile/hi from procfile/' "$FIXTURES/apps/procfile/respond.sh")"
	push web-a
	v=$(current_release web-a)
	wait_release web-a "$v"
	run get web-a
	[ "$output" = "hi from procfile" ]

	run cove rollback -a web-a
	[ "$status" -eq 0 ]
	[[ "$output" == "Rolling back web-a to v$((v - 1))... done, v$((v + 1))" ]]
	[ "$(api GET "/apps/web-a/releases/$((v + 1))" | jq -r .slug.id)" = "$(api GET "/apps/web-a/releases/$((v - 1))" | jq -r .slug.id)" ]
	wait_release web-a $((v + 1))
	run get web-a
	[ "$output" = "hello from procfile" ]

	run cove config:set GREETING=bonjour -a web-a
	[ "$status" -eq 0 ]
	wait_release web-a $((v + 2))
	run get web-a
	[ "$output" = "hello from procfile bonjour" ]
}

@test "during a deploy the old web dyno serves until the new one is up" {
	v=$(current_release web-a)
	wait_release web-a "$v"
	old_id=$(dyno_id web-a web.1)
	old_ip=$(dyno_ip web-a web.1)
	# The new release takes two seconds to bind $PORT.
	commit web-a "a slow start" Procfile "$(printf 'web: sleep 2; exec ./server.sh\nworker: exec sleep infinity\n')"
	push web-a
	served=0
	while :; do
		if ip netns exec "cove-d-$old_id" curl -fsS -m 2 -o /dev/null "http://$old_ip:5000/" 2>/dev/null; then
			served=$((served + 1))
			sleep 0.1
			continue
		fi
		# The old dyno stopped answering: only once its successor is up.
		for i in $(seq 1 20); do
			[ "$(api GET /apps/web-a/dynos | jq --argjson v $((v + 1)) '[.[] | select(.release.version == $v and .state == "up")] | length')" -eq 1 ] && break
			sleep 0.1
		done
		[ "$(api GET /apps/web-a/dynos | jq --argjson v $((v + 1)) '[.[] | select(.release.version == $v and .state == "up")] | length')" -eq 1 ]
		break
	done
	[ "$served" -ge 10 ]
	wait_release web-a $((v + 1))
	# The work tree has the greeting that the rollback above undid on the platform only.
	run get web-a
	[ "$output" = "hi from procfile bonjour" ]
}

@test "the API answers while a build runs" {
	dir=$(new_app slow)
	printf 'echo "-----> sleeping"\nsleep 4\necho "-----> awake"\n' >"$dir/build.sh"
	printf 'web: exec sleep infinity\n' >"$dir/Procfile"
	commit slow "a slow build"
	api_expect 200 PUT /apps/slow/buildpack-installations \
		"{\"updates\":[{\"buildpack\":\"$FIXTURES/buildpacks/script\"}]}" >/dev/null
	push slow &
	pusher=$!
	for i in $(seq 1 50); do
		[ "$(api GET /apps/slow/builds | jq -r '.[0].status')" = pending ] && break
		sleep 0.1
	done
	[ "$(api GET /apps/slow/builds | jq -r '.[0].status')" = pending ]
	# While it sleeps: reads and writes answer at once, and so does another app's git.
	for i in 1 2 3; do
		t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $COVE_API_KEY" "$COVE_API_URL/account")
		awk -v t="$t" 'BEGIN { exit !(t < 0.5) }'
		api_expect 200 PATCH /apps/web-a/config-vars "{\"COUNTER\":\"$i\"}" >/dev/null
	done
	t=$(curl -s -o /dev/null -w '%{time_total}' -u "x:$COVE_API_KEY" "$COVE_API_URL/web-a.git/info/refs?service=git-upload-pack")
	awk -v t="$t" 'BEGIN { exit !(t < 0.5) }'
	[ "$(api GET /apps/slow/builds | jq -r '.[0].status')" = pending ]
	wait "$pusher"
	pushed | grep -qx -- "-----> awake"
	[ "$(api GET /apps/slow/builds | jq -r '.[0].status')" = succeeded ]
}

@test "a push abandoned half way stops its build, and nothing of it is left" {
	printf 'echo "-----> sleeping"\nsleep 120\n' >"$BATS_FILE_TMPDIR/src/slow/build.sh"
	commit slow "a build that waits for a long time"
	before=$(current_release slow)
	setsid bash -c "git -C '$BATS_FILE_TMPDIR/src/slow' push '$(git_url slow)' main >'$BATS_TEST_TMPDIR/push.out' 2>&1" &
	pusher=$!
	for i in $(seq 1 100); do
		grep -q sleeping "$BATS_TEST_TMPDIR/push.out" && break
		sleep 0.1
	done
	grep -q sleeping "$BATS_TEST_TMPDIR/push.out"
	build=$(api GET /apps/slow/builds | jq -r '.[-1].id')
	[ -d "$COVED_DATA/builds/$build" ]
	kill -TERM -- -"$pusher"
	wait "$pusher" || true
	for i in $(seq 1 50); do
		[ "$(api GET "/apps/slow/builds/$build" | jq -r .status)" = failed ] && [ ! -d "$COVED_DATA/builds/$build" ] && break
		sleep 0.1
	done
	[ "$(api GET "/apps/slow/builds/$build" | jq -r .status)" = failed ]
	[ ! -d "$COVED_DATA/builds/$build" ]
	[ ! -e "/sys/fs/cgroup/pids/cove/$build" ] && [ ! -e "/sys/fs/cgroup/cove/$build" ]
	[ "$(ip netns list | grep -c "cove-b-$build")" -eq 0 ]
	[ "$(current_release slow)" = "$before" ]
	grep -q "The push was abandoned" "$COVED_DATA/builds/$build.log"
}
