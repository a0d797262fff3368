#!/usr/bin/env bats
# The seed's workflow with the unmodified heroku CLI against coved with its agent (runs under
# the kernel lock): spaces that allocate, an app created in a git repository, `git push heroku
# main` over HTTPS with the CLI's own credential helper, scaling, releases and rollback, logs
# and logs --tail, the space's dynos and topology, and destroying it all. Steps that need parts
# built on other branches (add-ons, `run`, trusted IPs) skip with the reason until coved has
# their routes. The control-plane half is tests/e2e/heroku-cli-api.bats.

load heroku-helpers
load deploy-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	export COVED_ROLE=all
	coved_start --boot-timeout 20 --stop-timeout 3
	heroku_setup
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	local dir="$BATS_FILE_TMPDIR/myapp"
	mkdir -p "$dir"
	cp -r "$FIXTURES/apps/procfile/." "$dir/"
	git -C "$dir" init -q -b main
	git -C "$dir" add -A
	git -C "$dir" commit -q -m "myapp: the Procfile sample"
}

teardown_file() {
	runtime_cleanup
}

setup() {
	cd "$BATS_FILE_TMPDIR/myapp"
}

@test "heroku spaces:create acme-prod --team acme, spaces:wait" {
	hk spaces:create acme-prod --team acme
	[ "$status" -eq 0 ]
	[[ "$output" =~ Team:\ +acme ]]
	[[ "$stderr_out" == *"Use heroku spaces:wait to track allocation."* ]]
	hk spaces:wait --space acme-prod --interval 1
	[ "$status" -eq 0 ]
	[[ "$output" =~ State:\ +allocated ]]
	[[ "$output" =~ Region:\ +Virginia,\ United\ States ]]
}

@test "heroku spaces:create acme-jp --region tokyo (the team from HEROKU_TEAM)" {
	HEROKU_TEAM=acme hk spaces:create acme-jp --region tokyo
	[ "$status" -eq 0 ]
	[[ "$output" =~ Region:\ +tokyo ]]
	wait_space acme-jp allocated 60
	hk spaces:info acme-jp
	[[ "$output" =~ Region:\ +Tokyo,\ Japan ]]
	[[ "$output" =~ State:\ +allocated ]]
}

@test "heroku create myapp --space acme-prod inside a git repository" {
	hk create myapp --space acme-prod
	[ "$status" -eq 0 ]
	[ "$output" = "http://myapp.acme-prod.localhost/ | $COVE_API_TLS_URL/myapp.git" ]
	[ "$(git remote get-url heroku)" = "$COVE_API_TLS_URL/myapp.git" ]
}

@test "git push heroku main builds and releases over HTTPS, with the CLI's credential helper" {
	run git push heroku main
	[ "$status" -eq 0 ]
	[[ "$output" == *"Procfile-only app detected"* ]]
	[[ "$output" == *"Released v2"* ]]
	[[ "$output" == *"main -> main"* ]]
	wait_release myapp 2 1 60
}

@test "heroku ps:scale web=2, ps, ps:scale with worker+1 and a size, ps:type" {
	hk ps:scale web=2
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Scaling dynos... done, now running web at 2:Private-S"* ]]
	wait_release myapp 2 2 60
	hk ps
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== web (Private-S): exec ./server.sh (2)"* ]]
	[[ "$output" =~ web\.1:\ up\ [0-9]{4}/ ]]
	[[ "$output" =~ web\.2:\ up\ [0-9]{4}/ ]]

	hk ps:scale worker+1 web=2:Private-M
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"now running"*"worker at 1:Private-S"* ]]
	[[ "$stderr_out" == *"web at 2:Private-M"* ]]
	hk ps:scale
	[ "$status" -eq 0 ]
	[[ "$output" == *"web=2:Private-M"* ]]
	[[ "$output" == *"worker=1:Private-S"* ]]
	hk ps:type
	[ "$status" -eq 0 ]
	[[ "$output" =~ web\ +Private-M\ +2 ]]
	hk ps:scale worker=0 web=2:Private-S
	[ "$status" -eq 0 ]
	wait_release myapp 2 2 60
}

@test "heroku ps:restart, ps:restart -p web, ps:stop, ps:stop -p web" {
	hk ps:restart
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Restarting all dynos on myapp... done"* ]]
	hk ps:restart -p web
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Restarting all web dynos on myapp... done"* ]]
	wait_release myapp 2 2 60
	hk ps:stop --dyno-name web.1
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Stopping dyno web.1 on myapp... done"* ]]
	wait_release myapp 2 2 60
	hk ps:stop -p web
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Stopping all web dynos on myapp... done"* ]]
	wait_release myapp 2 2 60
}

@test "heroku addons:create heroku-postgresql:standard-4, config:get DATABASE_URL" {
	hk addons:create heroku-postgresql:standard-4
	[ "$status" -eq 0 ]
	[[ "$output$stderr_out" == *"heroku-postgresql:standard-4"* ]]
	for i in $(seq 1 120); do
		hk config:get DATABASE_URL
		[[ "$output" == postgres://* ]] && break
		sleep 1
	done
	[[ "$output" == postgres://* ]]
	hk addons
	[ "$status" -eq 0 ]
	[[ "$output" == *"heroku-postgresql"* ]]
	[[ "$output" == *"as DATABASE"* ]]
	hk addons:info DATABASE
	[ "$status" -eq 0 ]
	[[ "$output" =~ Plan:\ +heroku-postgresql:standard-4 ]]
	[[ "$output" =~ State:\ +created ]]
}

@test "heroku releases, rollback" {
	api_expect 200 PATCH /apps/myapp/config-vars '{"MARK":"one"}' >/dev/null
	cur=$(api GET /apps/myapp/releases | jq 'map(.version) | max')
	hk releases
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== myapp Releases - Current: v$cur"* ]]
	[[ "$output" =~ v2\ +Deploy\ [0-9a-f]{7} ]]
	hk rollback
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Rolling back myapp to v$((cur - 1))... done, v$((cur + 1))"* ]]
	[ "$(api GET /apps/myapp/config-vars | jq -r .MARK)" = null ]
	wait_release myapp "$((cur + 1))" 2 60
}

@test "heroku logs, and logs --tail reads a line written after it started" {
	hk logs -n 200
	[ "$status" -eq 0 ]
	[[ "$output" == *"app[api]: Release v2 created by admin@cove.local"* ]]
	[[ "$output" =~ heroku\[web\.1\]:\ State\ changed\ from\ starting\ to\ up ]]

	heroku logs --tail -a myapp >"$BATS_TEST_TMPDIR/tail" 2>&1 &
	tail_pid=$!
	for i in $(seq 1 50); do
		grep -q "app\[api\]" "$BATS_TEST_TMPDIR/tail" && break
		sleep 0.2
	done
	api_expect 200 PATCH /apps/myapp/config-vars '{"TAILED":"yes"}' >/dev/null
	for i in $(seq 1 100); do
		grep -q "Set TAILED config vars" "$BATS_TEST_TMPDIR/tail" && break
		sleep 0.2
	done
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	grep -q "app\[api\]: Set TAILED config vars by admin@cove.local" "$BATS_TEST_TMPDIR/tail"
}

@test "heroku run -x 'echo ok'" {
	hk run -x 'echo ok'
	[ "$status" -eq 0 ]
	[ "$(tr -d '\r' <<<"$output")" = ok ]
}

@test "heroku run:detached: the output is in the logs" {
	hk run:detached 'echo detached-ok'
	[ "$status" -eq 0 ]
	[[ "$stderr_out$output" =~ Running\ echo\ detached-ok\ on\ .*myapp.*done,\ run\.[0-9]+ ]]
	for i in $(seq 1 50); do
		hk logs -n 300
		[[ "$output" =~ app\[run\.[0-9]+\]:\ detached-ok ]] && break
		sleep 0.5
	done
	[[ "$output" =~ app\[run\.[0-9]+\]:\ detached-ok ]]
}

@test "heroku spaces:trusted-ips:add" {
	hk spaces:trusted-ips:add 203.0.113.0/24 --space acme-prod
	[ "$status" -eq 0 ]
	hk spaces:trusted-ips --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output" == *"203.0.113.0/24"* ]]
}

@test "heroku spaces:ps, spaces:topology" {
	hk spaces:ps --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== myapp web (Private-S): exec ./server.sh (2)"* ]]
	hk spaces:topology --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== myapp (web)"* ]]
	[[ "$output" == *"myapp.acme-prod.localhost"* ]]
	[[ "$output" =~ 1\.web\.myapp\.app\.localspace ]]
	[[ "$output" =~ 10\.0\.[0-9]+\.[0-9]+ ]]
}

@test "heroku apps:destroy, spaces:destroy" {
	hk apps:destroy --confirm myapp
	[ "$status" -eq 0 ]
	hk spaces:destroy acme-prod --confirm acme-prod
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Destroying space acme-prod... done"* ]]
	hk spaces:destroy acme-jp --confirm acme-jp
	[ "$status" -eq 0 ]
	# Gone once the agent has taken them apart (its dynos and data services stopped: up to a minute).
	for space in acme-prod acme-jp; do
		for i in $(seq 1 300); do
			api GET "/spaces/$space" >/dev/null
			[ "$(api_status)" = 404 ] && break
			sleep 0.2
		done
		[ "$(api_status)" = 404 ]
	done
}
