#!/usr/bin/env bats
# The CLI's formation and dynos end to end: ps:scale, ps:type and ps, against an app with a
# released slug (web and worker process types), as a build would leave it.

load helpers

setup_file() {
	coved_start
	cove teams:create acme >/dev/null
	cove spaces:create acme-prod -t acme >/dev/null
	cd "$BATS_FILE_TMPDIR"
	cove create myapp --space acme-prod >/dev/null
	cove create noslug --space acme-prod >/dev/null
	release_slug myapp
}

teardown_file() {
	coved_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# The quantity and size of one process type of myapp, as the API has them: "2:Private-M".
formation_of() {
	api_expect 200 GET "/apps/myapp/formation/$1" | jq -r '"\(.quantity):\(.size)"'
}

@test "ps:scale without arguments shows the formation" {
	run cove ps:scale -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"web=1:Private-"[A-Z]+" worker=0:Private-"[A-Z]+$ ]]
	run cove ps:scale -a myapp --json
	[ "$(jq -r 'map(.type) | join(",")' <<<"$output")" = web,worker ]
}

@test "ps:scale web=2 worker=1 shows the new quantities" {
	run cove ps:scale web=2 worker=1 -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"Scaling dynos... done, now running web at 2:Private-"[A-Z]+", worker at 1:Private-"[A-Z]+$ ]]
	[[ "$(formation_of web)" == 2:* ]]
	[[ "$(formation_of worker)" == 1:* ]]
	run cove ps:scale -a myapp
	[[ "$output" == "web=2:"*" worker=1:"* ]]
}

@test "ps:scale TYPE=N:SIZE, TYPE+N and TYPE-N" {
	run cove ps:scale web=3:private-l -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Scaling dynos... done, now running web at 3:Private-L" ]
	[ "$(formation_of web)" = 3:Private-L ]
	run cove ps:scale worker+2 -a myapp
	[ "$status" -eq 0 ]
	[[ "$(formation_of worker)" == 3:* ]]
	run cove ps:scale worker-1 web=+1 -a myapp
	[ "$status" -eq 0 ]
	[[ "$(formation_of worker)" == 2:* ]]
	[ "$(formation_of web)" = 4:Private-L ]
	run cove ps:scale web=private-m -a myapp
	[ "$status" -eq 0 ]
	[ "$(formation_of web)" = 4:Private-M ]
}

@test "ps:type changes sizes and shows them" {
	run cove ps:type web=private-s worker=private-xs -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Changing dyno sizes... done" ]
	[ "${lines[1]}" = "=== Dyno Types" ]
	[[ "$output" == *"web     Private-S   4"* ]]
	[[ "$output" == *"worker  Private-XS  2"* ]]
	[ "$(formation_of web)" = 4:Private-S ]
	run cove ps:type -a myapp --json
	[ "$(jq -r '.[] | select(.type == "worker") | .size' <<<"$output")" = Private-XS ]
}

@test "ps lists dynos, or the formation while there are none to list" {
	run cove ps -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== web (Private-S)"* || "$output" == "No dynos on myapp" ]]
	run cove ps -a myapp --json
	[ "$status" -eq 0 ]
	[ "$(jq -r type <<<"$output")" = array ]
	run cove ps -a noslug
	[ "$status" -eq 0 ]
	[ "$output" = "No dynos on noslug" ]
	msg=$(cli_refused 1 ps -a nope)
	[ "$msg" = "app 'nope' not found" ]
}

@test "ps:scale errors are one clear line" {
	msg=$(cli_refused 1 ps:scale clock=1 -a myapp)
	[ "$msg" = "process type 'clock' not found for app 'myapp'" ]
	msg=$(cli_refused 1 ps:scale web=1000 -a myapp)
	[[ "$msg" == "quantity "*"1000"*" of 'web' is out of range"* ]]
	msg=$(cli_refused 1 ps:scale web=1:huge -a myapp)
	[[ "$msg" == "dyno size 'huge' is unknown"* ]]
	msg=$(cli_refused 1 ps:scale web=1 -a noslug)
	[ "$msg" = "process type 'web' not found for app 'noslug'" ]
	run cove ps:scale -a noslug
	[ "$output" = "No process types on noslug yet: they come with its first slug" ]
	# Nothing changed.
	[ "$(formation_of web)" = 4:Private-S ]
}

@test "ps:scale and ps:type usage errors exit 2" {
	msg=$(cli_refused 2 ps:scale web -a myapp)
	[[ "$msg" == "'web' is invalid: use TYPE=N"* ]]
	msg=$(cli_refused 2 ps:scale web=1x2 -a myapp)
	[[ "$msg" == "'web=1x2' is invalid"* ]]
	# A word after '=' is a size (web=private-m), and the API knows no size 'two'.
	msg=$(cli_refused 1 ps:scale web=two -a myapp)
	[[ "$msg" == "dyno size 'two' is unknown"* ]]
	msg=$(cli_refused 2 ps:scale =2 -a myapp)
	[[ "$msg" == "'=2' is invalid"* ]]
	msg=$(cli_refused 2 ps:scale web=2: -a myapp)
	[[ "$msg" == "'web=2:' is invalid"* ]]
	msg=$(cli_refused 2 ps:type web -a myapp)
	[ "$msg" = "'web' is invalid: use TYPE=SIZE (web=private-m)" ]
}

@test "ps:restart restarts all dynos, a process type, or one dyno" {
	run cove ps:restart -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Restarting dynos on myapp... done" ]
	run cove ps:restart web -a myapp
	[ "$output" = "Restarting web dynos on myapp... done" ]
	run cove ps:restart web.1 -a myapp
	[ "$output" = "Restarting dyno web.1 on myapp... done" ]
	msg=$(cli_refused 1 ps:restart clock -a myapp)
	[ "$msg" = "process type 'clock' not found for app 'myapp'" ]
	msg=$(cli_refused 1 ps:restart clock.1 -a myapp)
	[ "$msg" = "dyno 'clock.1' not found for app 'myapp'" ]
	# heroku's flags for the same.
	run cove ps:restart -d web.1 -a myapp
	[ "$output" = "Restarting dyno web.1 on myapp... done" ]
	run cove ps:restart --dyno-name web.1 -a myapp
	[ "$output" = "Restarting dyno web.1 on myapp... done" ]
	run cove ps:restart -p web -a myapp
	[ "$output" = "Restarting web dynos on myapp... done" ]
	msg=$(cli_refused 2 ps:restart web -p worker -a myapp)
	[ "$msg" = "give one dyno or process type, not 'web' and 'worker'" ]
}

@test "ps:stop stops a dyno, or the dynos of a process type" {
	run cove ps:stop worker.1 -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Stopping dyno worker.1 on myapp... done" ]
	run cove ps:stop -p worker -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Stopping all worker dynos on myapp... done" ]
	msg=$(cli_refused 1 ps:stop -p clock -a myapp)
	[ "$msg" = "process type 'clock' not found for app 'myapp'" ]
	msg=$(cli_refused 2 ps:stop -p web.1 -a myapp)
	[[ "$msg" == "'web.1' is a dyno name"* ]]
	msg=$(cli_refused 2 ps:stop -a myapp)
	[ "$msg" = "name a dyno (web.1) or a process type (-p web)" ]
}
