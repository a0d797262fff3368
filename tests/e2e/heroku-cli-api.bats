#!/usr/bin/env bats
# The unmodified heroku CLI against the control plane alone (coved api, over HTTPS with its own
# CA): spaces, apps, config, releases and rollbacks, access, domains, maintenance, and the
# Platform API's conventions it depends on (Range, Next-Range, JSON errors). The runtime half
# (push, dynos, logs --tail) is tests/e2e/heroku-cli.bats. docs/heroku-compatibility.md is
# kept true by these two files.

load heroku-helpers

setup_file() {
	coved_start
	heroku_setup
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	mkdir -p "$BATS_FILE_TMPDIR/repo"
	git -C "$BATS_FILE_TMPDIR/repo" init -q -b main
}

teardown_file() {
	coved_stop
}

@test "docs/heroku-compatibility.md lists every command of its topics in this CLI" {
	doc="$BATS_TEST_DIRNAME/../../docs/heroku-compatibility.md"
	missing=()
	for id in $(heroku commands --json 2>/dev/null | jq -r '.[] | select(.hidden != true) | .id' |
		grep -E '^(spaces|apps|config|ps|releases|addons|logs|run|domains|access)(:|$)'); do
		grep -q "\`$id\`" "$doc" || missing+=("$id")
	done
	[ "${#missing[@]}" -eq 0 ] || { echo "not in $doc: ${missing[*]}" >&2; false; }
}

@test "heroku: auth:whoami, regions" {
	hk auth:whoami
	[ "$status" -eq 0 ]
	[ "$output" = admin@cove.local ]
	hk regions
	[ "$status" -eq 0 ]
	[[ "$output" =~ tokyo\ +Tokyo,\ Japan\ +Private\ Spaces ]]
	[[ "$output" =~ virginia\ +Virginia,\ United\ States ]]
}

@test "heroku: spaces:create, spaces, spaces:info with the region expanded, --json" {
	hk spaces:create acme-prod --team acme
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== acme-prod"* ]]
	[[ "$output" =~ Team:\ +acme ]]
	[[ "$output" =~ Region:\ +virginia ]]
	[[ "$output" =~ CIDR:\ +10\.0\.0\.0/16 ]]
	[[ "$stderr_out" == *"Creating space acme-prod in team acme... done"* ]]
	hk spaces:create acme-jp --team acme --region tokyo --cidr 10.20.0.0/16 --data-cidr 10.21.0.0/16
	[ "$status" -eq 0 ]
	[[ "$output" =~ Region:\ +tokyo ]]
	[[ "$output" =~ Data\ CIDR:\ +10\.21\.0\.0/16 ]]

	hk spaces
	[ "$status" -eq 0 ]
	[[ "$output" =~ acme-jp\ +acme\ +tokyo\ +allocating\ +cedar ]]
	[[ "$output" =~ acme-prod\ +acme\ +virginia\ +allocating ]]

	hk spaces:info acme-jp
	[ "$status" -eq 0 ]
	[[ "$output" =~ Region:\ +Tokyo,\ Japan ]]
	[[ "$output" =~ State:\ +allocating ]]
	hk spaces:info --space acme-jp --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .region.name <<<"$output")" = tokyo ]
	[ "$(jq -r .team.name <<<"$output")" = acme ]
}

@test "heroku: spaces:trusted-ips, :add, :remove" {
	hk spaces:trusted-ips --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== Trusted IP Ranges"* ]]
	[[ "$output" == *"0.0.0.0/0"* ]]
	hk spaces:trusted-ips:add 203.0.113.0/24 --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output$stderr_out" == *"Added 203.0.113.0/24 to trusted IP ranges on acme-prod"* ]]
	hk spaces:trusted-ips:remove 0.0.0.0/0 --space acme-prod
	[ "$status" -eq 0 ]
	hk spaces:trusted-ips --space acme-prod
	[[ "$output" == *"203.0.113.0/24"* ]]
	[[ "$output" != *"0.0.0.0/0"* ]]
	[ "$(api GET /spaces/acme-prod/inbound-ruleset | jq -c '[.rules[].source]')" = '["203.0.113.0/24"]' ]
	hk spaces:trusted-ips:add 0.0.0.0/0 --space acme-prod
	[ "$status" -eq 0 ]
}

@test "heroku: spaces:rename, spaces:destroy, and a space that is not there" {
	hk spaces:create acme-tmp --team acme
	[ "$status" -eq 0 ]
	hk spaces:rename --from acme-tmp --to acme-old
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Renaming space from acme-tmp to acme-old... done"* ]]
	api_expect 200 GET /spaces/acme-old >/dev/null
	hk spaces:destroy acme-old --confirm acme-old
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Destroying space acme-old... done"* ]]
	hk spaces:info acme-old
	[ "$status" -eq 2 ]
	[[ "$stderr_out" == *"Error ID: not_found"* ]]
}

@test "heroku: create --space in a git repository adds the https remote; apps, apps --space, git:remote" {
	cd "$BATS_FILE_TMPDIR/repo"
	hk create myapp --space acme-prod
	[ "$status" -eq 0 ]
	[ "$output" = "http://myapp.acme-prod.localhost/ | $COVE_API_TLS_URL/myapp.git" ]
	[ "$(git remote get-url heroku)" = "$COVE_API_TLS_URL/myapp.git" ]

	hk apps
	[ "$status" -eq 0 ]
	[[ "$output" =~ myapp\ \(virginia\)\ +acme@herokumanager.com ]]
	hk apps --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== Apps in space acme-prod"* ]]
	[[ "$output" == *"myapp (virginia)"* ]]

	git remote remove heroku
	hk git:remote -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "set git remote heroku to $COVE_API_TLS_URL/myapp.git" ]
	# The app comes from the remote now.
	hk config
	[ "$status" -eq 0 ]
	[[ "$output" == "=== myapp Config Vars"* ]]
}

@test "heroku: apps:info" {
	hk apps:info -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== myapp"* ]]
	[[ "$output" =~ Space:\ +acme-prod ]]
	[[ "$output" =~ Git\ URL:\ +$COVE_API_TLS_URL/myapp.git ]]
}

@test "heroku: addons:services, addons:plans, addons and addons:info of an add-on being provisioned" {
	hk addons:services
	[ "$status" -eq 0 ]
	[[ "$output" == *"heroku-postgresql"* ]]
	[[ "$output" == *"heroku-redis"* ]]
	hk addons:plans heroku-postgresql
	[ "$status" -eq 0 ]
	[[ "$output" == *"heroku-postgresql:standard-4"* ]]
	# The control plane alone: no agent provisions it, it stays "provisioning".
	api_expect 201 POST /apps/myapp/addons '{"plan":"heroku-redis:mini"}' >/dev/null
	name=$(api GET /apps/myapp/addons | jq -r '.[0].name')
	[[ "$name" == redis-* ]]
	hk addons -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"heroku-redis ($name)"*"mini"*"creating"* ]]
	[[ "$output" == *"as REDIS"* ]]
	hk addons:info "$name" -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== $name"* ]]
	[[ "$output" =~ Plan:\ +heroku-redis:mini ]]
	hk addons:destroy "$name" -a myapp --confirm myapp
	[ "$status" -eq 0 ]
	[ "$(api GET /apps/myapp/addons | jq length)" = 0 ]
}

@test "heroku: config:set prints the new release, config, config:get, config:unset" {
	hk config:set FOO=bar GREETING="hello world" -a myapp
	[ "$status" -eq 0 ]
	v=$(api GET /apps/myapp/releases | jq 'map(.version) | max')
	[[ "$stderr_out" == *"Setting FOO, GREETING and restarting myapp... done, v$v"* ]]
	[[ "$output" =~ FOO:\ +bar ]]
	hk config -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" =~ GREETING:\ +hello\ world ]]
	hk config:get GREETING -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "hello world" ]
	hk config:unset FOO -a myapp
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Unsetting FOO and restarting myapp... done, v$((v + 1))"* ]]
	[ "$(api GET /apps/myapp/config-vars | jq -r .FOO)" = null ]
}

@test "heroku: releases shows the newest first, -n cuts; rollback goes to the one before, rollback vN to vN" {
	hk releases -a myapp
	[ "$status" -eq 0 ]
	cur=$(api GET /apps/myapp/releases | jq 'map(.version) | max')
	[[ "$output" == *"=== myapp Releases - Current: v$cur"* ]]
	first=$(grep -E '^ +v[0-9]+ ' <<<"$output" | head -1 | awk '{print $1}')
	[ "$first" = "v$cur" ]
	[[ "$output" == *"Remove FOO config vars"* ]]
	hk releases -a myapp -n 1
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^ +v[0-9]+ ' <<<"$output")" -eq 1 ]

	hk rollback -a myapp
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Rolling back myapp to v$((cur - 1))... done, v$((cur + 1))"* ]]
	[ "$(api GET /apps/myapp/config-vars | jq -r .FOO)" = bar ]
	hk rollback v1 -a myapp
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Rolling back myapp to v1... done, v$((cur + 2))"* ]]
	[ "$(api GET /apps/myapp/config-vars | jq -r .GREETING)" = null ]
	hk rollback v99 -a myapp
	[ "$status" -ne 0 ]
	[[ "$stderr_out" == *"Error ID: not_found"* ]]
}

@test "heroku: access, members, domains, domains:add/remove, maintenance, buildpacks, ps with no dynos" {
	hk access -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" =~ admin@cove.local\ +admin\ +deploy,\ manage,\ operate,\ view ]]
	hk members --team acme
	[ "$status" -eq 0 ]
	[[ "$output" =~ admin@cove.local\ +admin ]]

	hk domains:add www.acme.test -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"point to the DNS Target myapp.acme-prod.localhost"* ]]
	hk domains -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== myapp Heroku Domain"* ]]
	[[ "$output" =~ www\.acme\.test\ +CNAME\ +myapp\.acme-prod\.localhost ]]
	hk domains:remove www.acme.test -a myapp
	[ "$status" -eq 0 ]
	[ "$(api GET /apps/myapp/domains | jq length)" -eq 1 ]

	hk maintenance:on -a myapp
	[ "$status" -eq 0 ]
	hk maintenance -a myapp
	[ "$output" = on ]
	hk maintenance:off -a myapp
	[ "$status" -eq 0 ]
	[ "$(api GET /apps/myapp | jq .maintenance)" = false ]

	# heroku buildpacks:set looks short names up in Heroku's buildpack registry, outside:
	# set it through the API, list it with the CLI.
	api_expect 200 PUT /apps/myapp/buildpack-installations '{"updates":[{"buildpack":"heroku/python"}]}' >/dev/null
	hk buildpacks -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== myapp Classic Buildpack"* ]]
	[[ "$output" == *"heroku/python"* ]]

	hk ps -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "No dynos on myapp" ]
	hk spaces:ps --space acme-prod
	[ "$status" -eq 0 ]
	hk spaces:topology --space acme-prod --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.apps | length' <<<"$output")" -ge 0 ]
}

@test "the Platform API conventions the CLI relies on: Range order=desc and max, Next-Range only before a next page" {
	# Several releases by now, v1 to v$top.
	top=$(api GET /apps/myapp/releases | jq 'map(.version) | max')
	[ "$top" -ge 5 ]
	api GET /apps/myapp/releases -H 'Range: version ..; order=desc, max=2' >"$BATS_TEST_TMPDIR/page"
	[ "$(api_status)" = 206 ]
	[ "$(jq -c 'map(.version)' "$BATS_TEST_TMPDIR/page")" = "[$top,$((top - 1))]" ]
	next=$(api_header Next-Range)
	[ "$next" = "version ]$((top - 1))..; max=2, order=desc" ]
	api GET /apps/myapp/releases -H "Range: $next" >"$BATS_TEST_TMPDIR/page"
	[ "$(jq -c 'map(.version)' "$BATS_TEST_TMPDIR/page")" = "[$((top - 2)),$((top - 3))]" ]
	# The last page, exactly full: no Next-Range, or the CLI would ask forever.
	api GET /apps/myapp/releases -H "Range: version ..; max=$top" >"$BATS_TEST_TMPDIR/page"
	[ "$(api_status)" = 200 ]
	[ -z "$(api_header Next-Range)" ]
	[ "$(jq length "$BATS_TEST_TMPDIR/page")" -eq "$top" ]
	# Errors are JSON with a message, also for a route that does not exist.
	body=$(api GET /apps/myapp/nothing-here)
	[ "$(api_status)" = 404 ]
	[ -n "$(jq -r .message <<<"$body")" ]
	[[ "$(api_header Content-Type)" == application/json* ]]
	# Releases resolve by version and by id.
	id=$(api GET /apps/myapp/releases/1 | jq -r .id)
	[ "$(api GET "/apps/myapp/releases/$id" | jq .version)" -eq 1 ]
	# Apps and spaces resolve by name and by id.
	app_id=$(api GET /apps/myapp | jq -r .id)
	[ "$(api GET "/apps/$app_id" | jq -r .name)" = myapp ]
	space_id=$(api GET /spaces/acme-prod | jq -r .id)
	[ "$(api GET "/spaces/$space_id" | jq -r .name)" = acme-prod ]
}

@test "heroku: apps:destroy" {
	cd "$BATS_FILE_TMPDIR/repo"
	hk apps:destroy -a myapp --confirm myapp
	[ "$status" -eq 0 ]
	[[ "$stderr_out" == *"Destroying myapp (including all add-ons)... done"* ]]
	refused 404 not_found GET /apps/myapp
}
