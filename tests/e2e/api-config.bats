#!/usr/bin/env bats
# Config vars: what may be set, what is refused (and then changes nothing), and the releases
# that changes make.

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme"}' >/dev/null
	api_expect 201 POST /apps '{"name":"cfg","space":"prod"}' >/dev/null
}

teardown_file() {
	coved_stop
}

# The number of releases of an app.
releases() {
	api GET "/apps/$1/releases" | jq length
}

@test "set, read and unset config vars" {
	body=$(api_expect 200 PATCH /apps/cfg/config-vars '{"DATABASE_URL":"postgres://db/x","lower_ok":"1","_X":"y"}')
	[ "$(jq -cS . <<<"$body")" = '{"DATABASE_URL":"postgres://db/x","_X":"y","lower_ok":"1"}' ]
	[ "$(api GET /apps/cfg/config-vars | jq -r .DATABASE_URL)" = postgres://db/x ]
	# null unsets, and only what it names.
	body=$(api_expect 200 PATCH /apps/cfg/config-vars '{"_X":null}')
	[ "$(jq -cS . <<<"$body")" = '{"DATABASE_URL":"postgres://db/x","lower_ok":"1"}' ]
	[ "$(api GET /apps/cfg/config-vars | jq -cS .)" = '{"DATABASE_URL":"postgres://db/x","lower_ok":"1"}' ]
	# Values may be empty, long-ish, and hold any characters.
	api_expect 200 PATCH /apps/cfg/config-vars '{"EMPTY":"","ODD":"a=b; \"q\" \n\u00e9 $HOME"}' >/dev/null
	[ "$(api GET /apps/cfg/config-vars | jq -r .ODD)" = "$(printf 'a=b; "q" \né $HOME')" ]
	[ "$(api GET /apps/cfg/config-vars | jq -r .EMPTY)" = "" ]
}

@test "each change makes one release; no change makes none" {
	n=$(releases cfg)
	api_expect 200 PATCH /apps/cfg/config-vars '{"R1":"a"}' >/dev/null
	[ "$(releases cfg)" = $((n + 1)) ]
	latest=$(api GET /apps/cfg/releases -H "Range: version ..; max=1, order=desc")
	[ "$(jq -r '.[0].description' <<<"$latest")" = "Set R1 config vars" ]
	# The same value again, and unsetting a key that is not set, change nothing.
	api_expect 200 PATCH /apps/cfg/config-vars '{"R1":"a"}' >/dev/null
	api_expect 200 PATCH /apps/cfg/config-vars '{"NOT_SET":null}' >/dev/null
	api_expect 200 PATCH /apps/cfg/config-vars '{}' >/dev/null
	[ "$(releases cfg)" = $((n + 1)) ]
	api_expect 200 PATCH /apps/cfg/config-vars '{"R1":null,"R2":"b"}' >/dev/null
	[ "$(releases cfg)" = $((n + 2)) ]
	latest=$(api GET /apps/cfg/releases -H "Range: version ..; max=1, order=desc")
	[ "$(jq -r '.[0].description' <<<"$latest")" = "Set R2 config vars, remove R1 config vars" ]
}

@test "reserved prefixes HEROKU_ and COVE_ are refused" {
	msg=$(refused 422 invalid_params PATCH /apps/cfg/config-vars '{"HEROKU_APP_NAME":"x"}')
	[[ "$msg" == *"reserved"* ]]
	refused 422 invalid_params PATCH /apps/cfg/config-vars '{"COVE_SECRET":"x"}'
	refused 422 invalid_params PATCH /apps/cfg/config-vars '{"COVE_SECRET":null}'
	# One bad key spoils the whole request: the good ones are not set either.
	refused 422 invalid_params PATCH /apps/cfg/config-vars '{"GOOD":"1","HEROKU_X":"2"}'
	refused 422 invalid_params PATCH /apps/cfg/config-vars '{"HEROKU_X":"2","GOOD":"1"}'
	# Prefixes only: these are ordinary keys.
	api_expect 200 PATCH /apps/cfg/config-vars '{"MY_HEROKU_KEY":"1","COVERAGE":"2","HEROKU":"3"}' >/dev/null
}

@test "invalid keys are refused" {
	for key in 1ABC A-B A.B 'A B' 'A=B' '' 'É' "$(printf 'K%.0s' {1..129})"; do
		refused 422 invalid_params PATCH /apps/cfg/config-vars "{\"$key\":\"v\"}"
	done
	msg=$(refused 422 invalid_params PATCH /apps/cfg/config-vars '{"OK":"1","BAD-KEY":"2"}')
	[[ "$msg" == *"config var key 'BAD-KEY' is invalid"* ]]
	api_expect 200 PATCH /apps/cfg/config-vars "{\"$(printf 'K%.0s' {1..128})\":\"v\"}" >/dev/null
}

@test "values that are not strings are refused" {
	for value in 1 1.5 true false '{}' '[]' '["a"]' '{"a":"b"}'; do
		msg=$(refused 422 invalid_params PATCH /apps/cfg/config-vars "{\"NUM\":$value}")
		[[ "$msg" == *"must be a string, or null to unset it"* ]]
	done
	refused 422 invalid_params PATCH /apps/cfg/config-vars '{"OK":"1","NUM":2}'
}

@test "more than 32 KB of config is refused, in one request or several" {
	api_expect 200 PATCH /apps/cfg/config-vars "{\"BIG1\":\"$(head -c 20000 /dev/zero | tr '\0' a)\"}" >/dev/null
	msg=$(refused 422 invalid_params PATCH /apps/cfg/config-vars "{\"BIG2\":\"$(head -c 13000 /dev/zero | tr '\0' b)\"}")
	[[ "$msg" == *"at most 32768 are allowed"* ]]
	refused 422 invalid_params PATCH /apps/cfg/config-vars "{\"HUGE\":\"$(head -c 40000 /dev/zero | tr '\0' c)\"}"
	# Replacing a big value by another is measured by the result, not the sum.
	api_expect 200 PATCH /apps/cfg/config-vars "{\"BIG1\":\"$(head -c 25000 /dev/zero | tr '\0' d)\"}" >/dev/null
	# And freeing room makes room.
	api_expect 200 PATCH /apps/cfg/config-vars "{\"BIG1\":null,\"BIG2\":\"$(head -c 20000 /dev/zero | tr '\0' e)\"}" >/dev/null
	api_expect 200 PATCH /apps/cfg/config-vars '{"BIG2":null}' >/dev/null
}

@test "a config PATCH without a body is refused" {
	refused 422 invalid_params PATCH /apps/cfg/config-vars
}

@test "config of an unknown app is 404" {
	refused 404 not_found GET /apps/nope/config-vars
	refused 404 not_found PATCH /apps/nope/config-vars '{"A":"1"}'
}

@test "a release keeps the config snapshot of its time" {
	api_expect 200 PATCH /apps/cfg/config-vars '{"SNAP":"one"}' >/dev/null
	v=$(api GET /apps/cfg/releases -H "Range: version ..; max=1, order=desc" | jq '.[0].version')
	api_expect 200 PATCH /apps/cfg/config-vars '{"SNAP":"two"}' >/dev/null
	[ "$(api GET "/apps/cfg/releases/$v/config-vars" | jq -r .SNAP)" = one ]
	[ "$(api GET "/apps/cfg/releases/$((v + 1))/config-vars" | jq -r .SNAP)" = two ]
	[ "$(api GET /apps/cfg/config-vars | jq -r .SNAP)" = two ]
}
