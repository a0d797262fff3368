#!/usr/bin/env bats
# The CLI's teams, regions and spaces commands, end to end against a fresh coved, as the
# platform administrator. The tests build on each other in file order: acme first, then its
# spaces.

load helpers

setup_file() {
	coved_start
}

teardown_file() {
	coved_stop
}

@test "teams:create acme makes a team whose admin is the caller" {
	run cove teams:create acme
	[ "$status" -eq 0 ]
	[ "$output" = "Creating team acme... done" ]
	run cove teams
	[ "$status" -eq 0 ]
	[[ "$output" == *"acme"*"admin"* ]]
	run cove teams --json
	[ "$(jq -r '.[] | select(.name == "acme") | .role' <<<"$output")" = admin ]
}

@test "spaces:create acme-prod -t acme: a space in the default region" {
	run cove spaces:create acme-prod -t acme
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Creating space acme-prod in team acme... done" ]
	[[ "$output" == *"=== acme-prod"* ]]
	[[ "$output" == *"Team:       acme"* ]]
	[[ "$output" == *"Region:     Virginia, United States"* ]]
	[[ "$output" == *"CIDR:       10.0.0.0/16"* ]]
	[[ "$output" == *"Data CIDR:  10.1.0.0/16"* ]]
	[ "$(api_expect 200 GET /spaces/acme-prod | jq -r .team.name)" = acme ]
}

@test "spaces:create acme-jp -t acme --region tokyo" {
	run cove spaces:create acme-jp -t acme --region tokyo
	[ "$status" -eq 0 ]
	[[ "$output" == *"Region:     Tokyo, Japan"* ]]
	[ "$(api_expect 200 GET /spaces/acme-jp | jq -r .region.name)" = tokyo ]
}

@test "spaces:create takes the name as --space, and the networks" {
	run cove spaces:create --space acme-eu -t acme --region frankfurt --cidr 10.20.0.0/16 --data-cidr 10.21.0.0/16
	[ "$status" -eq 0 ]
	body=$(api_expect 200 GET /spaces/acme-eu)
	[ "$(jq -r .cidr <<<"$body")" = 10.20.0.0/16 ]
	[ "$(jq -r .data_cidr <<<"$body")" = 10.21.0.0/16 ]
	[ "$(jq -r .region.name <<<"$body")" = frankfurt ]
}

@test "spaces:create --json prints the API's space" {
	run cove spaces:create acme-json -t acme --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .name <<<"$output")" = acme-json ]
	[ "$(jq -r .team.name <<<"$output")" = acme ]
}

@test "spaces lists the spaces; -t filters by team" {
	run cove spaces
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== Spaces" ]
	[[ "$output" == *"acme-prod"*"acme"*"virginia"* ]]
	[[ "$output" == *"acme-jp"*"tokyo"* ]]
	run cove spaces -t nobody
	[ "$status" -eq 0 ]
	[ "$output" = "There are no spaces in team nobody." ]
	run cove spaces -t acme --json
	[ "$(jq -r 'map(.name) | sort | join(",")' <<<"$output")" = acme-eu,acme-jp,acme-json,acme-prod ]
}

@test "spaces:info shows team, region, networks, state and shield" {
	run cove spaces:info acme-jp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== acme-jp" ]
	[[ "$output" == *"ID:"* ]]
	[[ "$output" == *"Team:"*"acme"* ]]
	[[ "$output" == *"Region:"*"Tokyo, Japan"* ]]
	[[ "$output" == *"CIDR:"*"10.0.0.0/16"* ]]
	[[ "$output" == *"Data CIDR:"*"10.1.0.0/16"* ]]
	[[ "$output" == *"State:"* ]]
	[[ "$output" == *"Shield:"*"off"* ]]
	[[ "$output" == *"Created at:"* ]]
	# --space works as well as the argument.
	run cove spaces:info --space acme-jp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== acme-jp" ]
}

@test "spaces:info --json is valid JSON with the name" {
	run cove spaces:info acme-prod --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .name <<<"$output")" = acme-prod ]
	[ "$(jq -r .region.name <<<"$output")" = virginia ]
	[ "$(jq -r .team.name <<<"$output")" = acme ]
}

@test "regions lists the regions with their locations" {
	run cove regions
	[ "$status" -eq 0 ]
	[[ "$output" == *"tokyo"*"Tokyo, Japan"* ]]
	[[ "$output" == *"virginia"*"Virginia, United States"* ]]
	run cove regions --json
	[ "$(jq -r '.[] | select(.name == "tokyo") | .description' <<<"$output")" = "Tokyo, Japan" ]
}

@test "spaces:create refuses an unknown region, clearly" {
	msg=$(cli_refused 1 spaces:create acme-mars -t acme --region mars)
	[[ "$msg" == "region 'mars' is unknown: use one of "*tokyo* ]]
	api GET /spaces/acme-mars >/dev/null
	[ "$(api_status)" = 404 ]
}

@test "spaces:create refuses bad CIDRs, clearly" {
	msg=$(cli_refused 1 spaces:create acme-bad -t acme --cidr 10.0.0.1/16)
	[[ "$msg" == *"'10.0.0.1/16'"* ]]
	msg=$(cli_refused 1 spaces:create acme-bad -t acme --cidr 8.8.0.0/16)
	[[ "$msg" == *"private range"* ]]
	msg=$(cli_refused 1 spaces:create acme-bad -t acme --cidr not-a-cidr)
	[[ "$msg" == *"not-a-cidr"* ]]
	msg=$(cli_refused 1 spaces:create acme-bad -t acme --cidr 10.0.0.0/16 --data-cidr 10.0.0.0/20)
	[[ "$msg" == *"overlap"* ]]
	api GET /spaces/acme-bad >/dev/null
	[ "$(api_status)" = 404 ]
}

@test "spaces:create refuses an invalid or taken name, and an unknown team" {
	msg=$(cli_refused 1 spaces:create Acme_Prod -t acme)
	[[ "$msg" == *"'Acme_Prod' is invalid"* ]]
	msg=$(cli_refused 1 spaces:create acme-prod -t acme)
	[ "$msg" = "space 'acme-prod' already exists" ]
	msg=$(cli_refused 1 spaces:create acme-x -t nobody)
	[ "$msg" = "team 'nobody' not found" ]
}

@test "spaces:info of an unknown space is one clear line" {
	msg=$(cli_refused 1 spaces:info nope)
	[ "$msg" = "space 'nope' not found" ]
}

@test "spaces:rename --from OLD --to NEW" {
	run cove spaces:rename --from acme-json --to acme-renamed
	[ "$status" -eq 0 ]
	[ "$output" = "Renaming space from acme-json to acme-renamed... done" ]
	api_expect 200 GET /spaces/acme-renamed >/dev/null
	api GET /spaces/acme-json >/dev/null
	[ "$(api_status)" = 404 ]
}

@test "spaces:destroy refuses without the right --confirm and destroys with it" {
	msg=$(cli_refused 1 spaces:destroy acme-renamed)
	[[ "$msg" == *"cannot be undone: run again with --confirm acme-renamed"* ]]
	msg=$(cli_refused 1 spaces:destroy acme-renamed --confirm acme-prod)
	[ "$msg" = "confirmation 'acme-prod' does not match space 'acme-renamed': nothing was destroyed" ]
	api_expect 200 GET /spaces/acme-renamed >/dev/null
	run cove spaces:destroy --space acme-renamed --confirm acme-renamed
	[ "$status" -eq 0 ]
	[[ "$output" == "Destroying space acme-renamed... "* ]]
	# Gone at once, or being taken apart by its host.
	state=$(api GET /spaces/acme-renamed | jq -r '.state // empty')
	[ "$(api_status)" = 404 ] || [ "$state" = deleting ]
}

@test "spaces:destroy of a space with apps says why not" {
	api_expect 201 POST /apps '{"name":"eu-web","space":"acme-eu"}' >/dev/null
	msg=$(cli_refused 1 spaces:destroy acme-eu --confirm acme-eu)
	[[ "$msg" == "space 'acme-eu' still has 1 app"* ]]
}

@test "usage errors exit 2 with one line" {
	msg=$(cli_refused 2 spaces:create)
	[[ "$msg" == "no space given"* ]]
	msg=$(cli_refused 2 spaces:rename --from acme-prod)
	[[ "$msg" == *"--from OLD --to NEW"* ]]
	msg=$(cli_refused 2 spaces --bogus)
	[ "$msg" = "unknown flag '--bogus' for 'spaces': see 'cove help spaces'" ]
	msg=$(cli_refused 2 spaces:info acme-prod acme-jp)
	[[ "$msg" == "unexpected argument 'acme-jp'"* ]]
	msg=$(cli_refused 2 spaces:info acme-prod --space acme-jp)
	[[ "$msg" == "two spaces given"* ]]
	msg=$(cli_refused 2 spaces:create x --region)
	[[ "$msg" == "flag '--region' needs a value"* ]]
}
