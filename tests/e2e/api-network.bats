#!/usr/bin/env bats
# The network settings of a space through the API: trusted IP ranges (inbound ruleset),
# outbound rules (outbound ruleset), space access (create_apps). Shapes, defaults, validation,
# limits, and who may change them: team admins only. Every refusal is checked to change nothing.
# The kernel and the router enforcing them: net-rules.bats.

load helpers

setup_file() {
	coved_start
	ANN=$(make_user ann@acme.test)
	BOB=$(make_user bob@acme.test)
	OLGA=$(make_user olga@other.test)
	export ANN BOB OLGA
	api_as "$ANN" POST /teams '{"name":"acme"}' >/dev/null
	add_member acme bob@acme.test member
	api_as "$OLGA" POST /teams '{"name":"other"}' >/dev/null
	api_as "$ANN" POST /spaces '{"name":"acme-prod","team":"acme"}' >/dev/null
}

teardown_file() {
	coved_stop
}

@test "a new space trusts every source and allows every destination, as on Heroku" {
	body=$(api_expect 200 GET /spaces/acme-prod/inbound-ruleset)
	jq -e '.rules == [{"action":"allow","source":"0.0.0.0/0"}]' <<<"$body"
	jq -e '(.id | test("^[0-9a-f-]{36}$")) and .space.name == "acme-prod" and (.space.id | length == 36)
		and (.created_at | test("^20")) and has("created_by")' <<<"$body"
	body=$(api_expect 200 GET /spaces/acme-prod/outbound-ruleset)
	jq -e '.rules == [{"target":"0.0.0.0/0","from_port":0,"to_port":65535,"protocol":"any"}]' <<<"$body"
	jq -e '(.id | length == 36) and .space.name == "acme-prod"' <<<"$body"
}

@test "members read the rulesets; the space's id works as well as its name" {
	id=$(api GET /spaces/acme-prod | jq -r .id)
	api_as "$BOB" GET "/spaces/$id/inbound-ruleset" | jq -e '.rules | length == 1'
	api_as "$BOB" GET /spaces/acme-prod/outbound-ruleset | jq -e '.rules | length == 1'
	API_TOKEN=$OLGA refused 403 forbidden GET /spaces/acme-prod/inbound-ruleset
	API_TOKEN=$OLGA refused 403 forbidden GET /spaces/acme-prod/outbound-ruleset
	refused 404 not_found GET /spaces/nope/inbound-ruleset
}

@test "PUT takes the whole GET object back, as the heroku CLI sends it, and echoes the new ruleset" {
	old=$(api_as "$ANN" GET /spaces/acme-prod/inbound-ruleset)
	body=$(jq -c '.rules += [{"action":"allow","source":"203.0.113.0/24"}] | .applied = true' <<<"$old")
	new=$(API_TOKEN=$ANN api_expect 200 PUT /spaces/acme-prod/inbound-ruleset "$body")
	jq -e '.rules == [{"action":"allow","source":"0.0.0.0/0"},{"action":"allow","source":"203.0.113.0/24"}]' <<<"$new"
	jq -e --argjson old "$old" '.id != $old.id and .created_by == "ann@acme.test" and .space == $old.space' <<<"$new"
	[ "$(api GET /spaces/acme-prod/inbound-ruleset)" = "$new" ]
	# The audit trail has it.
	sqlite3 "$COVED_DATA/cove.db" "SELECT action FROM audit_events" | grep -q 'Set the trusted IP ranges of space acme-prod'
}

@test "rules are kept in canonical form, deny rules included" {
	api_expect 200 PUT /spaces/acme-prod/inbound-ruleset \
		'{"rules":[{"action":"deny","source":"203.0.113.7/32"},{"action":"allow","source":"203.0.113.0/024"}]}' |
		jq -e '.rules == [{"action":"deny","source":"203.0.113.7/32"},{"action":"allow","source":"203.0.113.0/24"}]'
	api_expect 200 PUT /spaces/acme-prod/inbound-ruleset '{"rules":[]}' | jq -e '.rules == []'
	api_expect 200 PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"0.0.0.0/0"}]}' >/dev/null
}

@test "bad trusted IP ranges are refused with a clear message" {
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{}')
	[[ "$msg" == *"'rules' is required"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":{"action":"allow"}}')
	[[ "$msg" == *"'rules' is required"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"10.0.0.1/8"}]}')
	[[ "$msg" == *"rule 1 is invalid"*"host bits"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"0.0.0.0/0"},{"action":"allow","source":"1.2.3.4"}]}')
	[[ "$msg" == *"rule 2 is invalid"*"a.b.c.d/n"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"300.1.1.0/24"}]}')
	[[ "$msg" == *"bad address"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"1.2.3.0/33"}]}')
	[[ "$msg" == *"prefix length"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"permit","source":"1.2.3.0/24"}]}')
	[[ "$msg" == *"'allow' or 'deny'"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"source":"1.2.3.0/24"}]}')
	[[ "$msg" == *"'action' must be a string"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":["1.2.3.0/24"]}')
	[[ "$msg" == *"not an object"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"1.2.3.0/24"},{"action":"deny","source":"1.2.3.0/24"}]}')
	[[ "$msg" == *"rule 2 is invalid: rule 1 already has source 1.2.3.0/24"* ]]
}

@test "at most 20 trusted IP ranges" {
	twenty=$(jq -nc '{rules: [range(20) | {action: "allow", source: "198.51.100.\(.)/32"}]}')
	api_expect 200 PUT /spaces/acme-prod/inbound-ruleset "$twenty" | jq -e '.rules | length == 20'
	more=$(jq -nc '{rules: [range(21) | {action: "allow", source: "198.51.100.\(.)/32"}]}')
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/inbound-ruleset "$more")
	[[ "$msg" == *"at most 20 trusted IP ranges"* ]]
	api_expect 200 PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"0.0.0.0/0"}]}' >/dev/null
}

@test "outbound rules: narrower rules replace allow-all; bad ones are refused" {
	body='{"rules":[{"target":"203.0.113.0/24","from_port":80,"to_port":80,"protocol":"tcp"},{"target":"10.9.0.0/16","from_port":53,"to_port":53,"protocol":"udp"},{"target":"0.0.0.0/0","from_port":0,"to_port":255,"protocol":"icmp"}]}'
	new=$(api_expect 200 PUT /spaces/acme-prod/outbound-ruleset "$body")
	jq -e --argjson b "$body" '.rules == $b.rules' <<<"$new"
	[ "$(api GET /spaces/acme-prod/outbound-ruleset | jq -c .rules)" = "$(jq -c .rules <<<"$body")" ]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.0/24","from_port":80,"to_port":80,"protocol":"sctp"}]}')
	[[ "$msg" == *"protocol must be tcp, udp, icmp or any"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.0/24","from_port":90,"to_port":80,"protocol":"tcp"}]}')
	[[ "$msg" == *"from_port 90 is above to_port 80"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.0/24","from_port":0,"to_port":70000,"protocol":"udp"}]}')
	[[ "$msg" == *"between 0 and 65535"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.0/24","from_port":0,"to_port":300,"protocol":"icmp"}]}')
	[[ "$msg" == *"between 0 and 255 for icmp"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.0/24","from_port":80,"to_port":80,"protocol":"any"}]}')
	[[ "$msg" == *"give tcp or udp for a port range"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.0/24","from_port":"80","to_port":80,"protocol":"tcp"}]}')
	[[ "$msg" == *"'from_port' must be an integer"* ]]
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset '{"rules":[{"target":"1.2.3.4/24","from_port":80,"to_port":80,"protocol":"tcp"}]}')
	[[ "$msg" == *"target CIDR '1.2.3.4/24' is invalid: host bits are set"* ]]
	many=$(jq -nc '{rules: [range(51) | {target: "198.51.100.\(.)/32", from_port: 80, to_port: 80, protocol: "tcp"}]}')
	msg=$(refused 422 invalid_params PUT /spaces/acme-prod/outbound-ruleset "$many")
	[[ "$msg" == *"at most 50 outbound rules"* ]]
	# No rules at all: dynos reach nothing outside the space.
	api_expect 200 PUT /spaces/acme-prod/outbound-ruleset '{"rules":[]}' | jq -e '.rules == []'
}

@test "a member who is not a team admin gets 403 on every network-setting write" {
	msg=$(API_TOKEN=$BOB refused 403 forbidden PUT /spaces/acme-prod/inbound-ruleset '{"rules":[]}')
	[[ "$msg" == "only admins of team 'acme' may change the trusted IP ranges of space 'acme-prod'" ]]
	msg=$(API_TOKEN=$BOB refused 403 forbidden PUT /spaces/acme-prod/outbound-ruleset '{"rules":[]}')
	[[ "$msg" == "only admins of team 'acme' may change the outbound rules of space 'acme-prod'" ]]
	msg=$(API_TOKEN=$BOB refused 403 forbidden PATCH /spaces/acme-prod/members/bob@acme.test '{"permissions":[{"name":"create_apps"}]}')
	[[ "$msg" == *"only admins of team 'acme' may change who has access to space 'acme-prod'"* ]]
	API_TOKEN=$BOB refused 403 forbidden PATCH /spaces/acme-prod '{"name":"renamed"}'
	API_TOKEN=$BOB refused 403 forbidden DELETE /spaces/acme-prod
	# Even a body that would be refused anyway: the permission is checked first.
	API_TOKEN=$BOB refused 403 forbidden PUT /spaces/acme-prod/inbound-ruleset '{}'
	# Users of other teams too.
	API_TOKEN=$OLGA refused 403 forbidden PUT /spaces/acme-prod/inbound-ruleset '{"rules":[]}'
	API_TOKEN=$OLGA refused 403 forbidden PUT /spaces/acme-prod/outbound-ruleset '{"rules":[]}'
	API_TOKEN=$OLGA refused 403 forbidden GET /spaces/acme-prod/members
}

@test "space access: admins always have create_apps, members only when granted" {
	list=$(api_as "$BOB" GET /spaces/acme-prod/members)
	jq -e 'length == 2' <<<"$list"
	jq -e '.[] | select(.user.email == "ann@acme.test") | .permissions == [{"name":"create_apps","description":"Create apps in the space"},{"name":"bastion","description":"Open bastion tunnels into the space"}]' <<<"$list"
	jq -e '.[] | select(.user.email == "bob@acme.test") | .permissions == [] and .space.name == "acme-prod" and (.id | length == 36)' <<<"$list"
	api_as "$BOB" GET /spaces/acme-prod/members/~ | jq -e '.user.email == "bob@acme.test"'
	refused 404 not_found GET /spaces/acme-prod/members/olga@other.test

	msg=$(API_TOKEN=$BOB refused 403 forbidden POST /apps '{"name":"bobs-app","space":"acme-prod"}')
	[[ "$msg" == *"create_apps"* ]]
	# Without a space, apps go to the team's default space, which every member may use.
	api_as "$ANN" PATCH /spaces/acme-prod/members/bob@acme.test '{"permissions":[{"name":"create_apps"}]}' |
		jq -e '.permissions[0].name == "create_apps" and .user.email == "bob@acme.test"'
	api_as "$BOB" GET /spaces/acme-prod/members/bob@acme.test | jq -e '.permissions | length == 1'
	API_TOKEN=$BOB api_expect 201 POST /apps '{"name":"bobs-app","space":"acme-prod"}' >/dev/null
	# Revoked: no more apps.
	api_as "$ANN" PATCH /spaces/acme-prod/members/bob@acme.test '{"permissions":[]}' | jq -e '.permissions == []'
	API_TOKEN=$BOB refused 403 forbidden POST /apps '{"name":"bobs-app-2","space":"acme-prod"}'
	# Admins keep it.
	msg=$(API_TOKEN=$ANN refused 422 invalid_params PATCH /spaces/acme-prod/members/ann@acme.test '{"permissions":[]}')
	[[ "$msg" == *"always has create_apps"* ]]
	msg=$(API_TOKEN=$ANN refused 422 invalid_params PATCH /spaces/acme-prod/members/bob@acme.test '{"permissions":[{"name":"deploy"}]}')
	[[ "$msg" == *"permission 'deploy' is unknown"* ]]
	API_TOKEN=$ANN refused 422 invalid_params PATCH /spaces/acme-prod/members/bob@acme.test '{}'
	API_TOKEN=$ANN refused 404 not_found PATCH /spaces/acme-prod/members/olga@other.test '{"permissions":[]}'
	api_as "$ANN" POST /apps '{"name":"anns-app","space":"acme-prod"}' >/dev/null
	[ "$(api_status)" = 201 ]
}

@test "the rulesets go with their space" {
	api_as "$ANN" POST /spaces '{"name":"acme-tmp","team":"acme"}' >/dev/null
	id=$(api GET /spaces/acme-tmp | jq -r .id)
	[ "$(sqlite3 "$COVED_DATA/cove.db" "SELECT COUNT(*) FROM space_rulesets WHERE space_id = '$id'")" = 2 ]
	api_expect 200 DELETE /spaces/acme-tmp >/dev/null
	[ "$(sqlite3 "$COVED_DATA/cove.db" "SELECT COUNT(*) FROM space_rulesets WHERE space_id = '$id'")" = 0 ]
}

@test "the agent gets the rules with the desired state" {
	token=$(api_expect 201 POST /hosts '{"name":"h1","regions":"virginia"}' | jq -r .token)
	api_expect 200 PUT /spaces/acme-prod/inbound-ruleset '{"rules":[{"action":"allow","source":"203.0.113.0/24"}]}' >/dev/null
	desired=$(api_as "$token" GET /agent/desired)
	jq -e '.spaces[] | select(.name == "acme-prod") | .inbound_rules == [{"action":"allow","source":"203.0.113.0/24"}]
		and (.outbound_rules | type == "array")' <<<"$desired"
}
