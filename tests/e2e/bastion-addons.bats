#!/usr/bin/env bats
# The bastion to real data services (issue "Private data services", docs/bastion.md):
# `cove pg:psql` and `cove redis:cli` reach the app's add-ons inside its space through the
# tunnel, for users with the space permission `bastion` only, and every session is audited.
#
# Runs the agent (namespaces, dynos, data services): take the kernel lock.

load helpers
load runtime-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	command -v psql >/dev/null && command -v redis-cli >/dev/null || skip "psql and redis-cli are needed (tools/install-deps.sh)"
	export COVED_ROLE=all
	coved_start --boot-timeout 20 --stop-timeout 3
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"bast-prod","team":"acme"}' >/dev/null
	wait_space bast-prod allocated
	api_expect 201 POST /teams/apps '{"name":"myapp","space":"bast-prod"}' >/dev/null
	cove addons:create heroku-postgresql:essential-0 -a myapp >/dev/null
	cove addons:create heroku-redis:mini -a myapp >/dev/null
	local i
	for i in $(seq 1 150); do
		[ "$(api GET /apps/myapp/addons | jq '[.[] | select(.state == "provisioned")] | length')" = 2 ] && break
		sleep 0.2
	done
	make_user dev@acme.test >"$COVED_DATA/dev.token"
	make_user ops@acme.test >"$COVED_DATA/ops.token"
	add_member acme dev@acme.test member
	add_member acme ops@acme.test member
	api_expect 200 PATCH /spaces/bast-prod/members/ops@acme.test '{"permissions":[{"name":"bastion"}]}' >/dev/null
}

teardown_file() {
	runtime_cleanup
}

token() {
	cat "$COVED_DATA/$1.token"
}

# The server answers from inside the space only; psql may need a moment after provisioning.
psql_through_bastion() {
	local i
	for i in $(seq 1 25); do
		cove pg:psql -a myapp -c "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	cove pg:psql -a myapp -c "$1"
}

@test "cove pg:psql -a myapp -c 'select 1' works for a user with bastion access" {
	run psql_through_bastion 'select 1'
	[ "$status" -eq 0 ]
	[[ "$output" == *"?column?"*"1"*"(1 row)"* ]]
	# A member granted the permission: a table made through the tunnel and read back.
	run env COVE_API_KEY="$(token ops)" cove pg:psql -a myapp -c 'create table notes (v text); insert into notes values ($$hi$$); select v from notes'
	[ "$status" -eq 0 ]
	[[ "$output" == *"--> Connecting to DATABASE of myapp"* ]]
	[[ "$output" == *"hi"*"(1 row)"* ]]
	# psql's own failure is cove's exit status.
	run cove pg:psql -a myapp -c 'select nope'
	[ "$status" -eq 1 ]
	[[ "$output" == *'column "nope" does not exist'* ]]
}

@test "pg:psql is refused with the way to get access for a member without it, and nothing is opened" {
	before=$(sqlite3 "$COVED_DATA/cove.db" 'SELECT COUNT(*) FROM bastion_sessions')
	msg=$(COVE_API_KEY=$(token dev) cli_refused 1 pg:psql -a myapp -c 'select 1')
	[ "$msg" = "You do not have bastion access to space 'bast-prod'; ask a space admin: cove spaces:access:grant dev@acme.test --space bast-prod --permission bastion" ]
	msg=$(COVE_API_KEY=$(token dev) cli_refused 1 redis:cli -a myapp -c PING)
	[[ "$msg" == "You do not have bastion access to space 'bast-prod'"* ]]
	[ "$(sqlite3 "$COVED_DATA/cove.db" 'SELECT COUNT(*) FROM bastion_sessions')" = "$before" ]
	# From the host, without the bastion, the database does not answer at all.
	url=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	! timeout 10 psql "$url?connect_timeout=2" -c 'select 1' 2>/dev/null
}

@test "cove redis:cli -a myapp -c PING answers PONG" {
	run cove redis:cli -a myapp -c PING
	[ "$status" -eq 0 ]
	[[ "$output" == *PONG* ]]
	run env COVE_API_KEY="$(token ops)" cove redis:cli -a myapp -c 'SET k v'
	[ "$status" -eq 0 ]
	run cove redis:cli REDIS_URL -a myapp -c 'GET k'
	[[ "$output" == *v* ]]
}

@test "pg:tunnel keeps a local port open for other tools until Ctrl-C" {
	: >"$BATS_TEST_TMPDIR/out"
	cove pg:tunnel -a myapp --port 39433 >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	local i
	for i in $(seq 1 50); do
		grep -q listening "$BATS_TEST_TMPDIR/out" && break
		sleep 0.1
	done
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "Tunnel to DATABASE of myapp listening on 127.0.0.1:39433; Ctrl-C to close it" ]
	url=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	local_url=$(sed -E 's|@[^/]+/|@127.0.0.1:39433/|' <<<"$url")
	[ "$(psql "$local_url" -qAt -c 'select 40 + 2')" = 42 ]
	[ "$(psql "$local_url" -qAt -c 'select count(*) from notes')" = 1 ]
	kill -INT "$pid"
	wait "$pid"
	! psql "$local_url?connect_timeout=1" -c 'select 1' 2>/dev/null
}

@test "the sessions to the database are in the audit log" {
	addr=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL | sed -E 's|.*@([^/]+)/.*|\1|')
	local i
	for i in $(seq 1 50); do
		n=$(api GET /audit-events | jq --arg a "$addr" '[.[] | select(.method == "TUNNEL"
			and (.action | startswith("Close bastion session to '"'"'DATABASE'"'"' (" + $a + ") of '"'"'myapp'"'"'")))] | length')
		[ "$n" -ge 3 ] && break
		sleep 0.1
	done
	[ "$n" -ge 3 ]
	api GET /audit-events | jq -e '[.[] | select(.actor.email == "ops@acme.test" and .method == "TUNNEL")] | length >= 1'
}
