#!/usr/bin/env bats
# The CLI's network commands of a space: spaces:trusted-ips(:add, :remove), outbound-rules
# (:add, :remove), spaces:access(:grant, :revoke), with the heroku CLI's words. The tests
# build on each other in file order.

load helpers

setup_file() {
	coved_start
	cove teams:create acme >/dev/null
	cove spaces:create acme-prod -t acme >/dev/null
	BOB=$(make_user bob@acme.test)
	export BOB
	add_member acme bob@acme.test member
}

teardown_file() {
	coved_stop
}

@test "spaces:trusted-ips lists the default range" {
	run cove spaces:trusted-ips --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== Trusted IP Ranges" ] && [ "${lines[1]}" = 0.0.0.0/0 ] && [ "${#lines[@]}" = 2 ]
	run cove spaces:trusted-ips acme-prod --json
	jq -e '.rules == [{"action":"allow","source":"0.0.0.0/0"}]' <<<"$output"
}

@test "spaces:trusted-ips:add and :remove change the ranges" {
	run cove spaces:trusted-ips:add 203.0.113.0/24 --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Added 203.0.113.0/24 to trusted IP ranges on acme-prod" ]
	[[ "$output" == *"may take a few moments"* ]]
	run cove spaces:trusted-ips:remove 0.0.0.0/0 --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Removed 0.0.0.0/0 from trusted IP ranges on acme-prod" ]
	run cove spaces:trusted-ips --space acme-prod
	[ "${lines[0]}" = "=== Trusted IP Ranges" ] && [ "${lines[1]}" = 203.0.113.0/24 ] && [ "${#lines[@]}" = 2 ]
	msg=$(cli_refused 1 spaces:trusted-ips:add 203.0.113.0/24 --space acme-prod)
	[ "$msg" = "a rule already exists for 203.0.113.0/24" ]
	msg=$(cli_refused 1 spaces:trusted-ips:remove 198.51.100.0/24 --space acme-prod)
	[ "$msg" = "no IP range matching 198.51.100.0/24 was found" ]
	msg=$(cli_refused 1 spaces:trusted-ips:add 203.0.113.9/24 --space acme-prod)
	[[ "$msg" == *"host bits are set"* ]]
	msg=$(cli_refused 2 spaces:trusted-ips:add 198.51.100.0/24)
	[[ "$msg" == *"--space"* ]]
	run cove spaces:trusted-ips:remove 203.0.113.0/24 --space acme-prod
	run cove spaces:trusted-ips --space acme-prod
	[ "${lines[0]}" = "=== acme-prod has no trusted IP ranges. All inbound web requests to dynos are blocked." ]
	msg=$(cli_refused 1 spaces:trusted-ips:remove 203.0.113.0/24 --space acme-prod)
	[ "$msg" = "no IP ranges are configured: nothing to do" ]
	cove spaces:trusted-ips:add 0.0.0.0/0 --space acme-prod 2>/dev/null
}

@test "outbound-rules lists, :add appends, :remove takes a rule by number" {
	run cove outbound-rules --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== Outbound Rules" ]
	[[ "${lines[1]}" == "Rule Number"*"Destination"*"From Port"*"To Port"*"Protocol" ]]
	[[ "$output" == *"1"*"0.0.0.0/0"*"0"*"65535"*"any"* ]]
	run cove outbound-rules:add --space acme-prod --dest 203.0.113.0/24 --protocol tcp --port 80
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Added rule to the Outbound Rules of acme-prod" ]
	run cove outbound-rules:add --space acme-prod --dest 10.20.0.0/16 --protocol udp --port 5000-5100
	[ "$status" -eq 0 ]
	run cove outbound-rules:add --space acme-prod --dest 198.51.100.0/24 --protocol icmp --port any
	[ "$status" -eq 0 ]
	run cove outbound-rules --space acme-prod --json
	jq -e '.rules[1:] == [{"target":"203.0.113.0/24","from_port":80,"to_port":80,"protocol":"tcp"},
		{"target":"10.20.0.0/16","from_port":5000,"to_port":5100,"protocol":"udp"},
		{"target":"198.51.100.0/24","from_port":0,"to_port":255,"protocol":"icmp"}]' <<<"$output"
	msg=$(cli_refused 2 outbound-rules:add --space acme-prod --dest 203.0.113.0/24 --protocol tcp --port 80-x)
	[[ "$msg" == *"--port '80-x' is invalid"* ]]
	msg=$(cli_refused 1 outbound-rules:add --space acme-prod --dest 203.0.113.0/24 --protocol gre --port 1)
	[[ "$msg" == *"protocol must be tcp, udp, icmp or any"* ]]
	msg=$(cli_refused 1 outbound-rules:remove 1 --space acme-prod)
	[[ "$msg" == *"confirm"* ]]
	msg=$(cli_refused 1 outbound-rules:remove 9 --space acme-prod --confirm acme-prod)
	[[ "$msg" == "rule 9 does not exist: acme-prod has 4 outbound rules" ]]
	run cove outbound-rules:remove 1 --space acme-prod --confirm acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Removed Rule 1 from Outbound Rules on acme-prod" ]
	run cove outbound-rules --space acme-prod --json
	jq -e '.rules | length == 3 and .[0].target == "203.0.113.0/24"' <<<"$output"
	for i in 1 2 3; do cove outbound-rules:remove 1 --space acme-prod --confirm acme-prod 2>/dev/null; done
	run cove outbound-rules --space acme-prod
	[ "${lines[0]}" = "=== acme-prod has no Outbound Rules. Your Dynos cannot communicate with hosts outside of acme-prod." ]
}

@test "spaces:access, :grant, :revoke" {
	run cove spaces:access --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== acme-prod access" ]
	[[ "$output" == *"bob@acme.test"* ]]
	[[ "$(grep bob@acme.test <<<"$output")" != *create_apps* ]]
	run cove spaces:access:grant bob@acme.test --space acme-prod --permission create_apps
	[ "$status" -eq 0 ]
	[ "$output" = "Granting create_apps permission on acme-prod to bob@acme.test... done" ]
	run cove spaces:access --space acme-prod
	[[ "$(grep bob@acme.test <<<"$output")" == *create_apps* ]]
	COVE_API_KEY=$BOB run cove create bobs-app --space acme-prod --no-remote
	[ "$status" -eq 0 ]
	run cove spaces:access:revoke bob@acme.test --space acme-prod --permission create_apps
	[ "$status" -eq 0 ]
	[ "$output" = "Revoking create_apps permission on acme-prod from bob@acme.test... done" ]
	export COVE_API_KEY=$BOB
	msg=$(cli_refused 1 create bobs-app-2 --space acme-prod --no-remote)
	[[ "$msg" == *"create_apps"* ]]
	msg=$(cli_refused 1 spaces:trusted-ips:add 198.51.100.0/24 --space acme-prod)
	[ "$msg" = "only admins of team 'acme' may change the trusted IP ranges of space 'acme-prod'" ]
	msg=$(cli_refused 1 spaces:access:grant bob@acme.test --space acme-prod --permission create_apps)
	[[ "$msg" == *"only admins"* ]]
	msg=$(cli_refused 2 spaces:access:grant bob@acme.test --space acme-prod)
	[[ "$msg" == *"--permission"* ]]
}
