#!/usr/bin/env bats
# The bastion (issue "Private data services", docs/bastion.md): an authenticated, audited TCP
# tunnel through coved into an app's space. Until add-ons exist the target is a dyno of the app:
# a TCP echo server in app-a's worker.1.
#
# Runs the agent (namespaces, dynos): take the kernel lock, `flock /tmp/cove-kernel.lock bats ...`.

load helpers
load runtime-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	export COVED_ROLE=all
	coved_start --boot-timeout 10 --stop-timeout 3
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"bast-s1","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"bast-s2","team":"acme","cidr":"10.5.0.0/16","data_cidr":"10.6.0.0/16"}' >/dev/null
	wait_space bast-s1 allocated
	wait_space bast-s2 allocated
	api_expect 201 POST /teams/apps '{"name":"app-a","space":"bast-s1"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"app-b","space":"bast-s1"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"app-z","space":"bast-s2"}' >/dev/null
	local echo='{"worker":"exec socat TCP-LISTEN:7000,fork,reuseaddr EXEC:cat"}'
	deploy_slug app-a "$echo" >/dev/null
	deploy_slug app-b "$echo" >/dev/null
	deploy_slug app-z "$echo" >/dev/null
	for app in app-a app-b app-z; do
		api_expect 200 PATCH "/apps/$app/formation" '{"updates":[{"type":"worker","quantity":1}]}' >/dev/null
	done
	wait_dynos app-a 1
	wait_dynos app-b 1
	wait_dynos app-z 1
	# The echo servers listen once socat is up.
	local i
	for i in $(seq 1 50); do
		in_dyno_net app-a worker.1 sh -c 'ss -ltn | grep -q ":7000 "' && break
		sleep 0.2
	done
	make_user dev@acme.test >"$COVED_DATA/dev.token"
	make_user ops@acme.test >"$COVED_DATA/ops.token"
	make_user boss@acme.test >"$COVED_DATA/boss.token"
	make_user stranger@else.test >"$COVED_DATA/stranger.token"
	add_member acme dev@acme.test member
	add_member acme ops@acme.test member
	add_member acme boss@acme.test admin
}

teardown_file() {
	runtime_cleanup
}

token() {
	cat "$COVED_DATA/$1.token"
}

# tunnel_start AS TARGET APP: `cove bastion:tunnel` in the background as the user AS; sets
# TUNNEL_PID and TUNNEL_PORT once it listens.
tunnel_start() {
	local as=$1 target=$2 app=$3 out="$BATS_TEST_TMPDIR/tunnel.out"
	: >"$out" # the background job opens it only once it runs
	COVE_API_KEY=$(token "$as") cove bastion:tunnel "$target" -a "$app" >"$out" 2>"$BATS_TEST_TMPDIR/tunnel.err" &
	TUNNEL_PID=$!
	local i
	for i in $(seq 1 50); do
		TUNNEL_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$out")
		[ -n "$TUNNEL_PORT" ] && return 0
		kill -0 "$TUNNEL_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "the tunnel did not open:" >&2
	cat "$out" "$BATS_TEST_TMPDIR/tunnel.err" >&2
	return 1
}

# Stops the tunnel and waits until coved recorded the end of its sessions.
tunnel_stop() {
	kill -INT "$TUNNEL_PID"
	wait "$TUNNEL_PID"
	local i
	for i in $(seq 1 50); do
		[ "$(api GET /audit-events >/dev/null; sqlite3 "$COVED_DATA/cove.db" \
			"SELECT COUNT(*) FROM bastion_sessions WHERE state = 'pending'")" = 0 ] && return 0
		sleep 0.1
	done
	echo "sessions still open after the tunnel stopped" >&2
	return 1
}

# Sends a line through the tunnel, half-closes, prints what came back.
through_tunnel() {
	printf '%s\n' "$1" | socat -T5 -t5 - "TCP:127.0.0.1:$TUNNEL_PORT"
}

@test "a team admin's tunnel reaches a TCP echo in a dyno of the app" {
	tunnel_start boss worker.1:7000 app-a
	[ "$(through_tunnel hello)" = hello ]
	# Every local connection is a tunnel of its own; two at once work.
	through_tunnel one >"$BATS_TEST_TMPDIR/1" &
	through_tunnel two >"$BATS_TEST_TMPDIR/2"
	wait $!
	[ "$(cat "$BATS_TEST_TMPDIR/1")" = one ]
	[ "$(cat "$BATS_TEST_TMPDIR/2")" = two ]
	# More than the relay's buffers hold, both ways.
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	socat -T10 -t10 - "TCP:127.0.0.1:$TUNNEL_PORT" <"$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/big.back"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/big.back"
	tunnel_stop
	# The local port is closed with the command.
	! socat -T1 - "TCP:127.0.0.1:$TUNNEL_PORT,connect-timeout=1" </dev/null 2>/dev/null
}

@test "a member without bastion access is refused with the way to get it, and nothing is opened" {
	msg=$(API_TOKEN=$(token dev) refused 403 bastion_access_required POST /apps/app-a/bastion-sessions '{"target":"worker.1:7000"}')
	[[ "$msg" == "You do not have bastion access to space 'bast-s1'; ask a space admin: cove spaces:access:grant dev@acme.test --space bast-s1 --permission bastion" ]]
	msg=$(COVE_API_KEY=$(token dev) cli_refused 1 bastion:tunnel worker.1:7000 -a app-a --port 39117)
	[[ "$msg" == "You do not have bastion access to space 'bast-s1'; ask a space admin: cove spaces:access:grant dev@acme.test --space bast-s1 --permission bastion" ]]
	! socat -T1 - "TCP:127.0.0.1:39117,connect-timeout=1" </dev/null 2>/dev/null
	[ "$(sqlite3 "$COVED_DATA/cove.db" 'SELECT COUNT(*) FROM bastion_sessions WHERE user_email = "dev@acme.test"')" = 0 ]
	# Nobody outside the team even sees the app.
	API_TOKEN=$(token stranger) refused 403 forbidden POST /apps/app-a/bastion-sessions '{"target":"worker.1:7000"}'
}

@test "a space admin grants the bastion permission to a member, and revokes it" {
	# Members may not grant, not even themselves.
	API_TOKEN=$(token ops) refused 403 forbidden PATCH /spaces/bast-s1/members/ops@acme.test '{"permissions":[{"name":"bastion"}]}'
	API_TOKEN=$(token ops) refused 403 bastion_access_required POST /apps/app-a/bastion-sessions '{"target":"worker.1:7000"}'
	# Only members of the team can be granted.
	refused 404 not_found PATCH /spaces/bast-s1/members/stranger@else.test '{"permissions":[{"name":"bastion"}]}'

	run env COVE_API_KEY="$(token boss)" cove spaces:access:grant ops@acme.test --space bast-s1 --permission bastion
	[ "$status" -eq 0 ]
	[ "$output" = "Granting bastion permission on bast-s1 to ops@acme.test... done" ]
	run env COVE_API_KEY="$(token dev)" cove spaces:access --space bast-s1
	[ "$status" -eq 0 ]
	[[ "$(grep ops@acme.test <<<"$output")" == *bastion* ]]
	[[ "$(grep boss@acme.test <<<"$output")" == *create_apps,bastion* ]]
	[[ "$(grep dev@acme.test <<<"$output")" != *bastion* ]]
	# The grant is for that space only, and for tunnels only.
	API_TOKEN=$(token ops) refused 403 bastion_access_required POST /apps/app-z/bastion-sessions '{"target":"worker.1:7000"}'
	API_TOKEN=$(token ops) refused 403 forbidden POST /apps '{"name":"ops-app","space":"bast-s1"}'

	tunnel_start ops worker.1:7000 app-a
	[ "$(through_tunnel granted)" = granted ]
	tunnel_stop

	run env COVE_API_KEY="$(token boss)" cove spaces:access:revoke ops@acme.test --space bast-s1 --permission bastion
	[ "$status" -eq 0 ]
	API_TOKEN=$(token ops) refused 403 bastion_access_required POST /apps/app-a/bastion-sessions '{"target":"worker.1:7000"}'
	# Admins always have it.
	msg=$(refused 422 invalid_params PATCH /spaces/bast-s1/members/boss@acme.test '{"permissions":[{"name":"create_apps"}]}')
	[ "$msg" = "'boss@acme.test' is an admin of team 'acme' and always has bastion" ]
}

@test "each session is in the audit log and the app's sessions: who, app, target, start, end, bytes" {
	before=$(api_expect 200 GET /apps/app-a/bastion-sessions | jq -c '[.[].id]')
	tunnel_start boss worker.1:7000 app-a
	[ "$(through_tunnel audited)" = audited ]
	tunnel_stop
	# The tunnel's one session: the one that was not there before.
	s=$(api_expect 200 GET /apps/app-a/bastion-sessions | jq --argjson before "$before" \
		'[.[] | select(.id as $id | $before | index($id) | not)] | if length == 1 then .[0] else error("sessions: \(.)") end')
	[ "$(jq -r .user.email <<<"$s")" = boss@acme.test ]
	[ "$(jq -r .app.name <<<"$s")" = app-a ]
	[ "$(jq -r .target <<<"$s")" = worker.1:7000 ]
	[ "$(jq -r .address <<<"$s")" = "$(dyno_ip app-a worker.1):7000" ]
	[ "$(jq -r .state <<<"$s")" = closed ]
	[ "$(jq -r .bytes_in <<<"$s")" = 8 ]
	[ "$(jq -r .bytes_out <<<"$s")" = 8 ]
	[ "$(jq -r '.started_at | length > 0' <<<"$s")" = true ]
	[ "$(jq -r '.ended_at | length > 0' <<<"$s")" = true ]
	id=$(jq -r .id <<<"$s")
	audit=$(api_expect 200 GET /audit-events)
	jq -e --arg id "$id" '[.[] | select(.request_id == $id and .actor.email == "boss@acme.test"
		and (.action | startswith("Close bastion session to '"'"'worker.1:7000'"'"'"))
		and (.action | contains("of '"'"'app-a'"'"': 8 B in, 8 B out")))] | length == 1' <<<"$audit"
	jq -e '[.[] | select(.actor.email == "boss@acme.test" and .method == "POST"
		and (.action | startswith("Open bastion session to '"'"'worker.1:7000'"'"'")))] | length >= 1' <<<"$audit"
	run env COVE_API_KEY="$(token boss)" cove bastion:sessions -a app-a
	[ "$status" -eq 0 ]
	[[ "$output" == *"boss@acme.test"*"worker.1:7000"*"closed"*"8"*"8"* ]]
}

@test "the tunnel reaches nothing but the app's own dynos: not the host, not the gateway, not other apps or spaces" {
	ip_b=$(dyno_ip app-b worker.1)
	ip_z=$(dyno_ip app-z worker.1)
	for target in 127.0.0.1:22 10.0.0.1:53 100.64.0.1:22 198.18.0.1:22 "$ip_b:7000" "$ip_z:7000" \
		web.1:5000 worker.2:7000 worker.1 worker.1:0 worker.1:65536 worker.1:x ':7000' 'worker.1:7000:1'; do
		refused 422 invalid_params POST /apps/app-a/bastion-sessions "{\"target\":\"$target\"}" >/dev/null
	done
	# By address works for the app's own dyno, and reaches it in the app's space.
	tunnel_start boss "$(dyno_ip app-a worker.1):7000" app-a
	[ "$(through_tunnel by-address)" = by-address ]
	tunnel_stop
	refused 422 invalid_params POST /apps/app-a/bastion-sessions '{}'
}

@test "a session is used once, by the user who opened it; an unreachable target is a clear 503" {
	id=$(api_expect 201 POST /apps/app-a/bastion-sessions '{"target":"worker.1:7999"}' | jq -r .id)
	[ "$(api GET "/apps/app-a/bastion-sessions/$id" | jq -r .state)" = pending ]
	# Another user with bastion access may not use it.
	API_TOKEN=$(token boss) refused 404 not_found GET "/apps/app-a/bastion-sessions/$id" \
		-H 'Connection: Upgrade' -H 'Upgrade: cove-bastion' >/dev/null
	refused 400 bad_request GET "/apps/app-a/bastion-sessions/$id" -H 'Connection: Upgrade' -H 'Upgrade: websocket' >/dev/null
	# Nothing listens on 7999: the upgrade is answered with why.
	body=$(api GET "/apps/app-a/bastion-sessions/$id" -H 'Connection: Upgrade' -H 'Upgrade: cove-bastion')
	[ "$(api_status)" = 503 ]
	[ "$(jq -r .id <<<"$body")" = target_unreachable ]
	[[ "$(jq -r .message <<<"$body")" == *"worker.1:7999"*"Connection refused"* ]]
	refused 409 conflict GET "/apps/app-a/bastion-sessions/$id" -H 'Connection: Upgrade' -H 'Upgrade: cove-bastion' >/dev/null
	s=$(api_expect 200 GET "/apps/app-a/bastion-sessions/$id")
	[ "$(jq -r .state <<<"$s")" = failed ]
	[ "$(jq -r .error <<<"$s")" = "Connection refused" ]
	api_expect 200 GET /audit-events | jq -e --arg id "$id" \
		'[.[] | select(.request_id == $id and (.action | contains("failed: Connection refused")))] | length == 1'
}

@test "pg:psql and redis:cli say what is missing before an add-on is attached" {
	msg=$(COVE_API_KEY=$(token boss) cli_refused 1 pg:psql -a app-a -c 'select 1')
	[[ "$msg" == "app 'app-a' has no config var DATABASE_URL: is an add-on attached as DATABASE? (cove addons -a app-a)" ]]
	msg=$(COVE_API_KEY=$(token boss) cli_refused 1 redis:cli -a app-a)
	[[ "$msg" == *"no config var REDIS_URL"* ]]
	# A config var alone is not a target: the bastion goes only to what the store knows. (On
	# app-b: a config change restarts the app's dynos, and the other tests use app-a's.)
	api_expect 200 PATCH /apps/app-b/config-vars '{"DATABASE_URL":"postgres://u:p@127.0.0.1:22/db"}' >/dev/null
	msg=$(COVE_API_KEY=$(token boss) cli_refused 1 pg:psql -a app-b -c 'select 1')
	[[ "$msg" == "no add-on of 'app-b' is attached as 'DATABASE'"* ]]
}

@test "stopping coved closes its tunnels and records their end" {
	tunnel_start boss worker.1:7000 app-a
	# A connection that stays open: its input ends only when the test is over.
	mkfifo "$BATS_TEST_TMPDIR/in"
	socat -T30 - "TCP:127.0.0.1:$TUNNEL_PORT" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" &
	held=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
	echo held >&5
	local i
	for i in $(seq 1 50); do
		[ "$(cat "$BATS_TEST_TMPDIR/out")" = held ] && break
		sleep 0.1
	done
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = held ]
	start=$(date +%s)
	coved_restart --boot-timeout 10 --stop-timeout 3
	[ $(($(date +%s) - start)) -lt 10 ]
	# The tunnel's connection is gone with the coved that served it.
	wait "$held" || true
	exec 5>&-
	kill -INT "$TUNNEL_PID"
	wait "$TUNNEL_PID" || true
	s=$(api_expect 200 GET /apps/app-a/bastion-sessions | jq '[.[] | select(.error == "coved stopped")] | .[0]')
	[ "$(jq -r .state <<<"$s")" = closed ]
	[ "$(jq -r .bytes_in <<<"$s")" = 5 ]
	[ "$(jq -r .bytes_out <<<"$s")" = 5 ]
	[ "$(sqlite3 "$COVED_DATA/cove.db" "SELECT COUNT(*) FROM bastion_sessions WHERE state = 'pending'")" = 0 ]
}
