#!/usr/bin/env bats
# The CLI's app commands end to end: create, apps, apps:info, apps:rename, apps:destroy,
# maintenance, and the git remote `cove` that ties a work tree to its app.

load helpers

setup_file() {
	coved_start
	cove teams:create acme >/dev/null
	cove spaces:create acme-prod -t acme >/dev/null
	cove spaces:create acme-jp -t acme --region tokyo >/dev/null
}

teardown_file() {
	coved_stop
}

# Every test runs outside any git work tree unless it makes one: `cove create` in the
# checkout of cove itself would add a remote to it.
setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "create myapp --space acme-prod" {
	run cove create myapp --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Creating myapp... done" ]
	[[ "${lines[1]}" == "http://myapp.acme-prod."*"/ | $COVE_API_TLS_URL/myapp.git" ]]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(api_expect 200 GET /apps/myapp | jq -r .space.name)" = acme-prod ]
}

@test "create without a name generates one" {
	run cove create --space acme-jp
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^"Creating app... done, "[a-z]+-[a-z]+-[0-9]{5}$ ]]
	name=${lines[0]##*, }
	[ "$(api_expect 200 GET "/apps/$name" | jq -r .region.name)" = tokyo ]
}

@test "create --json prints the API's app; -t TEAM without a space uses the team's default space" {
	run cove create teamapp -t acme --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .name <<<"$output")" = teamapp ]
	[ "$(jq -r .team.name <<<"$output")" = acme ]
}

@test "create --internal-routing" {
	run cove create internal --space acme-prod --internal-routing
	[ "$status" -eq 0 ]
	[ "$(api_expect 200 GET /apps/internal | jq -r .internal_routing)" = true ]
	run cove apps:info -a internal
	[[ "$output" == *"Internal Routing: true"* ]]
}

@test "create refuses a duplicate app, clearly" {
	msg=$(cli_refused 1 create myapp --space acme-prod)
	[ "$msg" = "app name 'myapp' is already taken" ]
}

@test "create refuses an invalid app name, clearly" {
	msg=$(cli_refused 1 create My_App --space acme-prod)
	[[ "$msg" == "app name 'My_App' is invalid"* ]]
	msg=$(cli_refused 1 create --space acme-prod -- -dash)
	[[ "$msg" == "app name '-dash' is invalid"* ]]
}

@test "create refuses an unknown space, and a region that is not the space's" {
	msg=$(cli_refused 1 create nowhere --space nope)
	[ "$msg" = "space 'nope' not found" ]
	msg=$(cli_refused 1 create wrongregion --space acme-prod --region tokyo)
	[[ "$msg" == "region 'tokyo' does not match space 'acme-prod'"* ]]
	msg=$(cli_refused 1 create badregion --space acme-prod --region mars)
	[[ "$msg" == "region 'mars' is unknown"* ]]
}

@test "apps lists apps; --space and -t narrow; --json is the API's list" {
	run cove apps
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== Apps" ]
	[[ "$output" == *"myapp (acme-prod)"* ]]
	run cove apps --space acme-prod
	[ "${lines[0]}" = "=== Apps in space acme-prod" ]
	[[ "$output" == *$'\nmyapp'* ]]
	[[ "$output" != *"teamapp"* ]]
	run cove apps -t acme --json
	[ "$(jq -r 'map(.name) | index("myapp") != null' <<<"$output")" = true ]
	run cove apps --space acme-jp -t acme --json
	[ "$(jq -r 'map(.space.name) | unique | join(",")' <<<"$output")" = acme-jp ]
}

@test "apps:info -a myapp shows where the app is" {
	run cove apps:info -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== myapp" ]
	[[ "$output" == *"Git URL:"*"$COVE_API_TLS_URL/myapp.git"* ]]
	[[ "$output" == *"Space:"*"acme-prod"* ]]
	[[ "$output" == *"Team:"*"acme"* ]]
	[[ "$output" == *"Region:"*"virginia"* ]]
	[[ "$output" == *"Maintenance:"*"off"* ]]
	run cove apps:info myapp --json
	[ "$(jq -r .name <<<"$output")" = myapp ]
	msg=$(cli_refused 1 apps:info -a nope)
	[ "$msg" = "app 'nope' not found" ]
}

@test "an app command without an app is a usage error" {
	unset COVE_APP
	msg=$(cli_refused 2 apps:info)
	[[ "$msg" == "no app given: use -a APP, set COVE_APP,"* ]]
	msg=$(cli_refused 2 config -r nothere)
	[ "$msg" = "git remote 'nothere' not found in this directory" ]
}

@test "COVE_APP names the app when -a does not" {
	COVE_APP=myapp run cove apps:info
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== myapp" ]
	COVE_APP=nope run cove apps:info -a myapp
	[ "${lines[0]}" = "=== myapp" ]
}

@test "create in a git work tree adds the remote cove, and app commands find the app from it" {
	git init -q repo
	cd repo
	run cove create gitapp --space acme-prod
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "Git remote cove added" ]
	[ "$(git remote get-url cove)" = "$COVE_API_TLS_URL/gitapp.git" ]
	run cove config:set GREETING=hello
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Setting GREETING and restarting gitapp... done, v2" ]
	run cove config
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== gitapp Config Vars" ]
	[[ "$output" == *"GREETING: hello"* ]]
	run cove config:get GREETING
	[ "$output" = hello ]
	# -a still wins over the remote.
	run cove apps:info -a myapp
	[ "${lines[0]}" = "=== myapp" ]
}

@test "-r picks another remote; --no-remote adds none; an existing remote is left alone" {
	git init -q repo
	cd repo
	git remote add staging "$COVE_API_TLS_URL/myapp.git"
	run cove apps:info -r staging
	[ "${lines[0]}" = "=== myapp" ]
	run cove create noremote --space acme-prod --no-remote
	[ "$status" -eq 0 ]
	! git remote get-url cove
	git remote add cove "$COVE_API_TLS_URL/myapp.git"
	run cove create other --space acme-prod
	[ "$status" -eq 0 ]
	[[ "$output" == *"git remote 'cove' already exists"* ]]
	[ "$(git remote get-url cove)" = "$COVE_API_TLS_URL/myapp.git" ]
	run cove create named --space acme-prod -r production
	[ "$(git remote get-url production)" = "$COVE_API_TLS_URL/named.git" ]
}

@test "git:remote points the remote at an app" {
	git init -q repo
	cd repo
	run cove git:remote -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "set git remote cove to $COVE_API_TLS_URL/myapp.git" ]
	run cove git:remote -a teamapp
	[ "$(git remote get-url cove)" = "$COVE_API_TLS_URL/teamapp.git" ]
}

@test "apps:rename renames the app and the remote follows" {
	git init -q repo
	cd repo
	cove create renameme --space acme-prod >/dev/null
	run cove apps:rename renamed
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Renaming renameme to renamed... done" ]
	[ "${lines[2]}" = "Git remote cove updated" ]
	[ "$(git remote get-url cove)" = "$COVE_API_TLS_URL/renamed.git" ]
	api_expect 200 GET /apps/renamed >/dev/null
	msg=$(cli_refused 1 apps:rename myapp -a renamed)
	[ "$msg" = "app name 'myapp' is already taken" ]
}

@test "maintenance, maintenance:on, maintenance:off" {
	run cove maintenance -a myapp
	[ "$output" = off ]
	run cove maintenance:on -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Enabling maintenance mode for myapp... done" ]
	run cove maintenance -a myapp
	[ "$output" = on ]
	[ "$(api_expect 200 GET /apps/myapp | jq -r .maintenance)" = true ]
	run cove maintenance:off -a myapp
	[ "$output" = "Disabling maintenance mode for myapp... done" ]
	run cove maintenance -a myapp
	[ "$output" = off ]
}

@test "apps:destroy refuses without the right --confirm, destroys with it, and removes the remote" {
	git init -q repo
	cd repo
	cove create doomed --space acme-prod >/dev/null
	msg=$(cli_refused 1 apps:destroy)
	[[ "$msg" == *"cannot be undone: run again with --confirm doomed"* ]]
	msg=$(cli_refused 1 apps:destroy -a doomed --confirm myapp)
	[ "$msg" = "confirmation 'myapp' does not match app 'doomed': nothing was destroyed" ]
	api_expect 200 GET /apps/doomed >/dev/null
	run cove apps:destroy doomed --confirm doomed
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Destroying doomed... done" ]
	[ "${lines[1]}" = "Git remote cove removed" ]
	! git remote get-url cove
	api GET /apps/doomed >/dev/null
	[ "$(api_status)" = 404 ]
	msg=$(cli_refused 1 apps:destroy nope --confirm nope)
	[ "$msg" = "app 'nope' not found" ]
}

@test "a name with URL syntax stays one path segment" {
	# The CLI escapes the slashes and the API keeps an escaped slash inside its segment: the
	# name names no app, and never reaches the space.
	msg=$(cli_refused 1 apps:info -a '../spaces/acme-prod')
	[[ "$msg" == "app '..%2Fspaces%2Facme-prod' not found" || "$msg" == "app '../spaces/acme-prod' not found" ]]
	msg=$(cli_refused 1 config -a 'myapp?x=1')
	[ "$msg" = "app 'myapp?x=1' not found" ]
}
