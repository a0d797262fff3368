#!/usr/bin/env bats
# The CLI's config vars and releases end to end: config:set makes v2, rollback v1 makes v3
# without FOO, and the rest of config, releases, releases:info and rollback around them. The
# tests build on each other in file order.

load helpers

setup_file() {
	coved_start
	cove teams:create acme >/dev/null
	cove spaces:create acme-prod -t acme >/dev/null
	cd "$BATS_FILE_TMPDIR"
	cove create myapp --space acme-prod >/dev/null
}

teardown_file() {
	coved_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "config:set FOO=bar makes release v2 and prints the var" {
	run cove config:set FOO=bar -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Setting FOO and restarting myapp... done, v2" ]
	[ "${lines[1]}" = "FOO: bar" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "config:get FOO prints exactly bar" {
	run cove config:get FOO -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = bar ]
	[ "$(cove config:get FOO -a myapp | od -c | head -1)" = "$(printf 'bar\n' | od -c | head -1)" ]
}

@test "releases shows v1 Initial release and v2 Set FOO config vars" {
	run cove releases -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== myapp Releases - Current: v2" ]
	[[ "${lines[1]}" =~ ^"v2  Set FOO config vars  admin@cove.local  " ]]
	[[ "${lines[2]}" =~ ^"v1  Initial release      admin@cove.local  " ]]
}

@test "releases:info v2 shows the change and its config" {
	run cove releases:info v2 -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== Release v2" ]
	[[ "$output" == *"Change:  Set FOO config vars"* ]]
	[[ "$output" == *"By:      admin@cove.local"* ]]
	[[ "$output" == *"=== v2 Config vars"* ]]
	[[ "$output" == *"FOO: bar"* ]]
	run cove releases:info -a myapp --json
	[ "$(jq -r .version <<<"$output")" = 2 ]
}

@test "rollback v1 makes v3 'Rollback to v1' and FOO is gone" {
	run cove rollback v1 -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Rolling back myapp to v1... done, v3" ]
	run cove releases -a myapp
	[ "${lines[0]}" = "=== myapp Releases - Current: v3" ]
	[[ "${lines[1]}" =~ ^"v3  Rollback to v1 " ]]
	run cove config:get FOO -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run cove config -a myapp --json
	[ "$output" = "{}" ]
}

@test "config:set several vars, with spaces and '=' in values" {
	run cove config:set A=1 'B=two words' 'C=x=y' -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Setting A, B and C and restarting myapp... done, v4" ]
	[ "${lines[1]}" = "A: 1" ]
	[ "${lines[2]}" = "B: two words" ]
	[ "${lines[3]}" = "C: x=y" ]
	run cove config:get C -a myapp
	[ "$output" = "x=y" ]
}

@test "config shows the vars aligned; --shell and --json" {
	run cove config -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== myapp Config Vars" ]
	[ "${lines[1]}" = "A: 1" ]
	[ "${lines[2]}" = "B: two words" ]
	run cove config -a myapp --shell
	[ "${lines[0]}" = "A=1" ]
	[ "${lines[1]}" = "B='two words'" ]
	# What --shell prints, a shell reads back.
	eval "$(cove config -a myapp -s)"
	[ "$B" = "two words" ]
	[ "$C" = "x=y" ]
	run cove config -a myapp --json
	[ "$(jq -r .B <<<"$output")" = "two words" ]
	run cove config:get B -a myapp --shell
	[ "$output" = "B='two words'" ]
}

@test "config:unset removes vars and makes a release" {
	run cove config:unset A C -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Unsetting A and C and restarting myapp... done, v5" ]
	[ "$(api_expect 200 GET /apps/myapp/config-vars | jq -c 'keys')" = '["B"]' ]
}

@test "rollback without a version goes to the previous release" {
	run cove rollback -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Rolling back myapp to v4... done, v6" ]
	[ "$(api_expect 200 GET /apps/myapp/config-vars | jq -c 'keys')" = '["A","B","C"]' ]
}

@test "releases -n and --json" {
	run cove releases -a myapp -n 2
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == v6* ]]
	[[ "${lines[2]}" == v5* ]]
	run cove releases -a myapp --json
	[ "$(jq -r 'map(.version) | join(",")' <<<"$output")" = 6,5,4,3,2,1 ]
}

@test "config errors are one clear line" {
	msg=$(cli_refused 1 config:set HEROKU_X=1 -a myapp)
	[[ "$msg" == "config var 'HEROKU_X' is invalid"* ]]
	msg=$(cli_refused 1 config:set 1BAD=1 -a myapp)
	[[ "$msg" == *"'1BAD'"* ]]
	msg=$(cli_refused 1 config:get FOO -a nope)
	[ "$msg" = "app 'nope' not found" ]
	msg=$(cli_refused 1 rollback v99 -a myapp)
	[ "$msg" = "release 'v99' of app 'myapp' not found" ]
	# None of that made a release.
	[ "$(api_expect 200 GET /apps/myapp/releases | jq length)" = 6 ]
}

@test "config usage errors exit 2" {
	msg=$(cli_refused 2 config:set FOO -a myapp)
	[ "$msg" = "'FOO' is not KEY=value: cove config:set KEY=value..." ]
	msg=$(cli_refused 2 config:set =x -a myapp)
	[[ "$msg" == "'=x' is not KEY=value"* ]]
	msg=$(cli_refused 2 config:set -a myapp)
	[[ "$msg" == "'config:set' needs more arguments"* ]]
	msg=$(cli_refused 2 config:get -a myapp)
	[[ "$msg" == "'config:get' needs more arguments"* ]]
	msg=$(cli_refused 2 releases -n many -a myapp)
	[[ "$msg" == "-n 'many' is invalid"* ]]
}
