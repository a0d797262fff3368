#!/usr/bin/env bats
# The CLI's teams, members and roles end to end, and what a member who is not a team admin,
# or someone outside the team, is refused. Also the audit trail.

load helpers

setup_file() {
	coved_start
	cove teams:create acme >/dev/null
	cove spaces:create acme-prod -t acme >/dev/null
	cove users:create ann@acme.test --password 'ann passphrase' >/dev/null
	cove users:create bob@other.test --password 'bob passphrase' >/dev/null
	ANN=$(curl -fsS -X POST "$COVE_API_URL/oauth/authorizations" -u 'ann@acme.test:ann passphrase' | jq -r .access_token.token)
	BOB=$(curl -fsS -X POST "$COVE_API_URL/oauth/authorizations" -u 'bob@other.test:bob passphrase' | jq -r .access_token.token)
	export ANN BOB
}

teardown_file() {
	coved_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "members:add adds a user to a team as a member" {
	run cove members:add ann@acme.test -t acme
	[ "$status" -eq 0 ]
	[ "$output" = "Adding ann@acme.test to acme as member... done" ]
	run cove members -t acme
	[ "$status" -eq 0 ]
	[[ "$output" == *"ann@acme.test"*"member"* ]]
	[[ "$output" == *"admin@cove.local"*"admin"* ]]
	run cove members -t acme --json
	[ "$(jq -r '.[] | select(.email == "ann@acme.test") | .role' <<<"$output")" = member ]
	run cove members -t acme --role admin
	[[ "$output" != *"ann@acme.test"* ]]
}

@test "a member who is not a team admin cannot rename a space" {
	msg=$(COVE_API_KEY=$ANN cli_refused 1 spaces:rename --from acme-prod --to acme-main)
	[ "$msg" = "only admins of team 'acme' may change space 'acme-prod'" ]
	api_expect 200 GET /spaces/acme-prod >/dev/null
	api GET /spaces/acme-main >/dev/null
	[ "$(api_status)" = 404 ]
}

@test "a member sees the team's spaces and may create apps once granted, but not manage the team" {
	COVE_API_KEY=$ANN run cove spaces
	[ "$status" -eq 0 ]
	[[ "$output" == *"acme-prod"* ]]
	COVE_API_KEY=$ANN run cove create annapp --space acme-prod
	[ "$status" -ne 0 ]
	[[ "$output" == *"create_apps"* ]]
	cove spaces:access:grant ann@acme.test --space acme-prod --permission create_apps >/dev/null
	COVE_API_KEY=$ANN run cove create annapp --space acme-prod
	[ "$status" -eq 0 ]
	msg=$(COVE_API_KEY=$ANN cli_refused 1 members:add bob@other.test -t acme)
	[ "$msg" = "only admins of team 'acme' may do this" ]
	msg=$(COVE_API_KEY=$ANN cli_refused 1 spaces:destroy acme-prod --confirm acme-prod)
	[ "$msg" = "only admins of team 'acme' may change space 'acme-prod'" ]
	msg=$(COVE_API_KEY=$ANN cli_refused 1 audit)
	[ "$msg" = "only a platform administrator may do this" ]
}

@test "someone outside the team sees none of it" {
	msg=$(COVE_API_KEY=$BOB cli_refused 1 spaces:info acme-prod)
	[ "$msg" = "you do not have access to space 'acme-prod'" ]
	msg=$(COVE_API_KEY=$BOB cli_refused 1 config -a annapp)
	[ "$msg" = "you do not have access to app 'annapp'" ]
	msg=$(COVE_API_KEY=$BOB cli_refused 1 members -t acme)
	[ "$msg" = "you are not a member of team 'acme'" ]
	COVE_API_KEY=$BOB run cove spaces
	[ "$output" = "You do not have access to any spaces." ]
}

@test "members:set changes a role; the new admin may rename the space" {
	run cove members:set ann@acme.test -t acme --role admin
	[ "$status" -eq 0 ]
	[ "$output" = "Setting ann@acme.test as admin of acme... done" ]
	COVE_API_KEY=$ANN run cove spaces:rename --from acme-prod --to acme-main
	[ "$status" -eq 0 ]
	COVE_API_KEY=$ANN run cove spaces:rename --from acme-main --to acme-prod
	[ "$status" -eq 0 ]
	run cove members:set ann@acme.test -t acme --role member
	[ "$status" -eq 0 ]
}

@test "members:add of someone already in the team keeps their role unless --role says" {
	run cove members:add admin@cove.local -t acme
	[ "$status" -eq 0 ]
	[ "$output" = "Adding admin@cove.local to acme as admin... done" ]
}

@test "COVE_TEAM names the team when -t does not" {
	COVE_TEAM=acme run cove members
	[ "$status" -eq 0 ]
	[[ "$output" == *"ann@acme.test"* ]]
}

@test "members:remove takes a user out of the team" {
	run cove members:remove ann@acme.test -t acme
	[ "$status" -eq 0 ]
	[ "$output" = "Removing ann@acme.test from acme... done" ]
	msg=$(COVE_API_KEY=$ANN cli_refused 1 spaces:info acme-prod)
	[ "$msg" = "you do not have access to space 'acme-prod'" ]
	msg=$(cli_refused 1 members:remove ann@acme.test -t acme)
	[ "$msg" = "'ann@acme.test' is not a member of team 'acme'" ]
}

@test "members errors are one clear line" {
	msg=$(cli_refused 1 members:add nobody@acme.test -t acme)
	[[ "$msg" == "user 'nobody@acme.test' not found"* ]]
	msg=$(cli_refused 1 members:remove admin@cove.local -t acme)
	[ "$msg" = "team 'acme' must keep at least one admin" ]
	msg=$(cli_refused 1 teams:create acme)
	[ "$msg" = "team 'acme' already exists" ]
	msg=$(cli_refused 2 members:add ann@acme.test -t acme --role owner)
	[ "$msg" = "role 'owner' is invalid: use admin or member" ]
	msg=$(cli_refused 2 members:set ann@acme.test -t acme)
	[ "$msg" = "no role given: --role admin or --role member" ]
	msg=$(cli_refused 2 members)
	[ "$msg" = "no team given: use -t TEAM (or set COVE_TEAM)" ]
}

@test "audit shows who changed what, newest first" {
	run cove audit -n 500
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == Time*Actor*Status*Action ]]
	[[ "$output" == *"admin@cove.local"*"201"*"Create team acme"* ]]
	[[ "$output" == *"ann@acme.test"*"403"* ]]
	run cove audit -n 3 --json
	[ "$(jq length <<<"$output")" = 3 ]
	[ "$(jq -r '.[0].seq > .[1].seq' <<<"$output")" = true ]
}

@test "hosts:create registers a host and prints its token once; hosts; hosts:remove" {
	run cove hosts:create node-2 --regions virginia,tokyo
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Registering host node-2 for virginia,tokyo... done" ]
	[[ "${lines[1]}" =~ ^"Host token (shown once, for the agent of node-2): "[0-9a-f]{64}$ ]]
	token=${lines[1]##* }
	run cove hosts
	[ "$status" -eq 0 ]
	[[ "$output" == *"node-2"*"virginia,tokyo"*"never"* ]]
	[[ "$output" != *"$token"* ]]
	msg=$(cli_refused 1 hosts:create node-3 --regions mars)
	[[ "$msg" == "region 'mars' is unknown"* ]]
	msg=$(cli_refused 2 hosts:create node-3)
	[[ "$msg" == "no regions given"* ]]
	msg=$(COVE_API_KEY=$BOB cli_refused 1 hosts)
	[ "$msg" = "only a platform administrator may do this" ]
	msg=$(cli_refused 1 hosts:remove node-2)
	[[ "$msg" == *"run again with --confirm node-2" ]]
	run cove hosts:remove node-2 --confirm node-2
	[ "$status" -eq 0 ]
	[ "$output" = "Removing host node-2... done" ]
	run cove hosts --json
	[ "$(jq -r 'map(select(.name == "node-2")) | length' <<<"$output")" = 0 ]
}
