#!/usr/bin/env bats
# Builds (issue: "Deploy with git push"): the buildpacks cove ships on the sample apps, a
# buildpack on a local path with ENV_DIR and the build cache, what a build may reach, the
# release phase, app.json, and the buildpacks commands.

load deploy-helpers
load run-helpers

setup_file() {
	deploy_setup
}

teardown_file() {
	runtime_cleanup
}

app_id() {
	api GET "/apps/$1" | jq -r .id
}

@test "a Node.js app with one npm dependency" {
	new_app node nodejs >/dev/null
	push node
	out=$(pushed)
	grep -qx -- "-----> Node.js app detected" <<<"$out"
	grep -qx -- "-----> Installing dependencies with npm install" <<<"$out"
	grep -q -- "^       added 1 package" <<<"$out"
	grep -qx -- "       Default types for buildpack -> web" <<<"$out"
	grep -qx -- "       http://node.deploys.localhost/ deployed to cove" <<<"$out"
	[ "$(api GET /apps/node/formation/web | jq -r .command)" = "npm start" ]
	# npm's cache is the app's build cache, kept for the next build.
	[ -n "$(ls "$COVED_DATA/cache/$(app_id node)/npm")" ]
	wait_release node 2
	run get node
	[ "$output" = "hello from node: is-number(5000) = true" ]
}

@test "a Python app on the stack's python3" {
	new_app py python >/dev/null
	push py
	out=$(pushed)
	grep -qx -- "-----> Python app detected" <<<"$out"
	grep -q -- "^-----> Using the stack's Python 3" <<<"$out"
	grep -qx -- "       No requirements to install" <<<"$out"
	wait_release py 2
	run get py
	[[ "$output" == "hello from python 3."* ]]
}

@test "a requirement pip cannot reach fails the build with a clear error" {
	commit py "a requirement from nowhere" requirements.txt \
		"--index-url https://packages.cove.invalid/simple
cove-no-such-package==1.0
"
	run push py
	[ "$status" -ne 0 ]
	out=$(pushed)
	grep -qx -- "-----> Installing requirements with pip" <<<"$out"
	grep -qx -- " !     cove: the build's proxy cannot resolve 'packages.cove.invalid'" <<<"$out"
	grep -qx -- " !     pip could not install requirements.txt. Its packages must be reachable from this host:" <<<"$out"
	grep -qx -- " !     Push rejected to py." <<<"$out"
	[ "$(current_release py)" = 2 ]
	git -C "$BATS_FILE_TMPDIR/src/py" reset -q --hard HEAD~1
}

@test "a static site" {
	new_app site static >/dev/null
	push site
	pushed | grep -qx -- "-----> Static HTML app detected"
	pushed | grep -qx -- "       Serving /app/public with python3's http.server"
	wait_release site 2
	run get site
	[[ "$output" == *"<p>hello from a static site</p>"* ]]
	run get site /static.json
	[[ "$output" == *"404"* ]]
}

@test "a buildpack on a local path: ENV_DIR, the build cache, the sandbox, the network" {
	dir=$(new_app script)
	cat >"$dir/build.sh" <<-'EOF'
		build=$1 cache=$2 env=$3
		echo "-----> Running build.sh as uid $(id -u) in $PWD"
		echo "       GREETING from ENV_DIR: $(cat "$env/GREETING")"
		echo "       GREETING in the environment: ${GREETING:-unset}"
		n=$(( $(cat "$cache/count" 2>/dev/null || echo 0) + 1 )); echo $n > "$cache/count"
		echo "       build number $n from the cache"
		touch /usr/cove-build-test 2>/dev/null || echo "       /usr is read-only"
		echo "built at $n" > "$build/built.txt"
		curl -sS -m 3 --noproxy '*' "http://127.0.0.1:${API_PORT:-1}/" >/dev/null 2>&1 || echo "       no way to the API"
		curl -sS -m 5 -o /dev/null https://10.0.0.1/ 2>/dev/null || echo "       no way to private addresses"
		echo "       the registry answers $(curl -sS -m 10 --retry 3 --retry-delay 1 --retry-all-errors -o /dev/null -w '%{http_code}' "${NPM_REGISTRY:-unset}is-number")"
	EOF
	sed -i "s/\${API_PORT:-1}/${COVE_API_URL##*:}/" "$dir/build.sh"
	# The registry the project's npm uses, not a host name written here.
	registry=$(npm config get registry)
	[ -n "$registry" ]
	sed -i "s|\${NPM_REGISTRY:-unset}|${registry%/}/|" "$dir/build.sh"
	printf 'web: exec python3 -m http.server $PORT\n' >"$dir/Procfile"
	commit script "a scripted build"
	run cove buildpacks:set "$FIXTURES/buildpacks/script" -a script
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "$FIXTURES/buildpacks/script" ]
	cove config:set GREETING=howdy -a script >/dev/null

	push script
	out=$(pushed)
	grep -qx -- "-----> Using buildpack: $FIXTURES/buildpacks/script" <<<"$out"
	grep -qx -- "-----> Scripted app detected" <<<"$out"
	uid=$(sed -n 's/^-----> Running build.sh as uid \([0-9]*\) in \/app$/\1/p' <<<"$out")
	[ "$uid" -ge 100000 ]
	grep -qx -- "       GREETING from ENV_DIR: howdy" <<<"$out"
	grep -qx -- "       GREETING in the environment: unset" <<<"$out"
	grep -qx -- "       build number 1 from the cache" <<<"$out"
	grep -qx -- "       /usr is read-only" <<<"$out"
	grep -qx -- "       no way to the API" <<<"$out"
	grep -qx -- " !     cove: the build may not connect to '10.0.0.1': its address is private, local or reserved" <<<"$out"
	grep -qx -- "       no way to private addresses" <<<"$out"
	grep -qx -- "       the registry answers 200" <<<"$out"
	[ ! -e /usr/cove-build-test ]
	[ "$(api GET /apps/script/builds | jq -r '.[-1].buildpacks[0].url')" = "$FIXTURES/buildpacks/script" ]

	commit script "again"
	push script
	pushed | grep -qx -- "       build number 2 from the cache"
	v=$(current_release script)
	wait_release script "$v"
	run get script /built.txt
	[ "$output" = "built at 2" ]
	# Nothing of the builds is left but their output.
	[ -z "$(ls -d "$COVED_DATA"/builds/*/ 2>/dev/null | grep -v locks)" ]
	for build in $(api GET /apps/script/builds | jq -r '.[].id'); do
		[ "$(ip netns list | grep -c "cove-b-$build")" -eq 0 ]
	done
}

@test "the release phase runs in the app's space before the release goes live; a failing one stops it" {
	run_ready
	# A service of the space the release command talks to, as a migration talks to its database.
	api_expect 201 POST /teams/apps '{"name":"phase-db","space":"deploys"}' >/dev/null
	deploy_slug phase-db '{"worker":"exec socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:\"echo pong\""}' >/dev/null
	api_expect 200 PATCH /apps/phase-db/formation '{"updates":[{"type":"worker","quantity":1}]}' >/dev/null
	wait_dynos phase-db 1
	ip=$(dyno_ip phase-db worker.1)
	dir=$(new_app phases procfile)
	printf 'web: exec ./server.sh\nrelease: echo "release phase of $DYNO, greeting ${GREETING:-none}, db says $(socat -T 5 - TCP:%s:7777 </dev/null)"\n' "$ip" >"$dir/Procfile"
	commit phases "with a release phase"
	cove config:set GREETING=salut -a phases >/dev/null
	push phases
	out=$(pushed)
	grep -qx -- "       Procfile declares types     -> web, release" <<<"$out"
	grep -qE -- "^-----> Running release command in the app's space \(release\.[0-9]{4}\)\.\.\.$" <<<"$out"
	grep -qE -- "^release phase of release\.[0-9]{4}, greeting salut, db says pong$" <<<"$out"
	grep -qx -- "       Released v3" <<<"$out"
	[ "$(api GET /apps/phases/formation | jq -r '[.[].type] | join(",")')" = web ]
	wait_release phases 3
	[ "$(api GET /apps/phases/releases/3 | jq -r .status)" = succeeded ]
	cove logs -a phases | grep -q "Release v3: the release command succeeded"

	commit phases "a release phase that fails" Procfile "$(printf 'web: exec ./server.sh\nrelease: echo migrating; exit 3\n')"
	run push phases
	[ "$status" -ne 0 ]
	out=$(pushed)
	grep -qx -- "migrating" <<<"$out"
	grep -qx -- " !     Release command failed: v4 is not released; the app keeps its current release." <<<"$out"
	[ "$(api GET /apps/phases/releases/4 | jq -r .status)" = failed ]
	cove logs -a phases | grep -q "Release v4 failed: the release command exited with status 3"
	# Its one-off dyno is gone with its network.
	[ "$(api GET /apps/phases/dynos | jq '[.[] | select(.type == "release")] | length')" -eq 0 ]
	[ "$(current_release phases)" = 3 ]
	run cove releases -a phases
	[[ "$output" == *"v4  Deploy "*" (failed)"* ]]
	run get phases
	[ "$output" = "hello from procfile salut" ]
	git -C "$dir" reset -q --hard HEAD~1
}

@test "app.json: its buildpacks and formation on the first deploy, postdeploy once" {
	dir=$(new_app manifest)
	printf 'echo "       scripted by app.json"\n' >"$dir/build.sh"
	printf 'web: exec sleep infinity\nworker: exec sleep infinity\n' >"$dir/Procfile"
	cat >"$dir/app.json" <<-EOF
		{"name": "manifest", "buildpacks": [{"url": "$FIXTURES/buildpacks/script"}],
		 "formation": {"web": {"quantity": 2}, "worker": {"quantity": 1, "size": "private-xs"}},
		 "scripts": {"postdeploy": "echo postdeploy of \$DYNO"}}
	EOF
	commit manifest "with app.json"
	push manifest
	out=$(pushed)
	grep -qx -- "       scripted by app.json" <<<"$out"
	grep -qx -- "postdeploy of postdeploy.1" <<<"$out"
	[ "$(api GET /apps/manifest/formation/web | jq .quantity)" -eq 2 ]
	[ "$(api GET /apps/manifest/formation/worker | jq -r '"\(.quantity) \(.size)"')" = "1 Private-XS" ]
	# Later deploys leave the formation to its owner, and postdeploy was for the first one.
	api_expect 200 PATCH /apps/manifest/formation/web '{"quantity":1}' >/dev/null
	commit manifest "again"
	push manifest
	[ "$(pushed | grep -c postdeploy)" -eq 0 ]
	[ "$(api GET /apps/manifest/formation/web | jq .quantity)" -eq 1 ]
}

@test "buildpacks, buildpacks:add, :set, :remove and :clear" {
	api_expect 201 POST /teams/apps '{"name":"packs","space":"deploys"}' >/dev/null
	run cove buildpacks -a packs
	[ "$output" = "packs has no buildpacks set: builds use the first of cove's that detects the app." ]
	cove buildpacks:add nodejs -a packs >/dev/null
	run cove buildpacks:add heroku/python -i 1 -a packs
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== packs Buildpacks" ]
	[ "${lines[1]}" = "1. heroku/python" ]
	[ "${lines[2]}" = "2. nodejs" ]
	[ "$(api GET /apps/packs/buildpack-installations | jq -r '[.[].buildpack.name] | join(" ")')" = "cove/python cove/nodejs" ]
	cove buildpacks:set static -i 2 -a packs >/dev/null
	run cove buildpacks -a packs --json
	[ "$(jq -r 'join(" ")' <<<"$output")" = "heroku/python static" ]
	msg=$(cli_refused 2 buildpacks:set procfile -a packs)
	[ "$msg" = "packs has 2 buildpacks: say which to replace with -i" ]
	cove buildpacks:remove heroku/python -a packs >/dev/null
	run cove buildpacks -a packs
	[ "${lines[1]}" = "static" ]
	msg=$(cli_refused 1 buildpacks:set https://github.com/heroku/heroku-buildpack-ruby -a packs)
	[[ "$msg" == "buildpack 'https://github.com/heroku/heroku-buildpack-ruby' is not on this host: "* ]]
	msg=$(cli_refused 1 buildpacks:add heroku/ruby -a packs)
	[[ "$msg" == "buildpack 'heroku/ruby' is not one cove ships: "* ]]
	run cove buildpacks:clear -a packs
	[ "$status" -eq 0 ]
	[ "$(api GET /apps/packs/buildpack-installations | jq length)" -eq 0 ]
	# Builds are made by git only.
	refused 501 not_implemented POST /apps/packs/builds '{"source_blob":{"url":"https://example.com/a.tgz","version":"x"}}' >/dev/null
}
