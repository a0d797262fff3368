#!/usr/bin/env bats
# Releases (listing with Range, lookup by version and id, rollback), slugs, and the
# formation that released slugs define.

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme"}' >/dev/null
	# rel: v1 (initial), v2 A=1, v3 A=2, v4 B=x.
	api_expect 201 POST /apps '{"name":"rel","space":"prod"}' >/dev/null
	api_expect 200 PATCH /apps/rel/config-vars '{"A":"1"}' >/dev/null
	api_expect 200 PATCH /apps/rel/config-vars '{"A":"2"}' >/dev/null
	api_expect 200 PATCH /apps/rel/config-vars '{"B":"x"}' >/dev/null
	api_expect 201 POST /apps '{"name":"form","space":"prod"}' >/dev/null
}

teardown_file() {
	coved_stop
}

@test "releases are numbered from v1, the newest is current" {
	body=$(api_expect 200 GET /apps/rel/releases)
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[1,2,3,4]' ]
	[ "$(jq -r '.[0].description' <<<"$body")" = "Initial release" ]
	[ "$(jq -r '.[1].description' <<<"$body")" = "Set A config vars" ]
	[ "$(jq -c '[.[].current]' <<<"$body")" = '[false,false,false,true]' ]
	jq -e 'all(.[]; .status == "succeeded" and .app.name == "rel" and .user.email == "admin@cove.local")' <<<"$body" >/dev/null
	[ -z "$(api_header Next-Range)" ]
}

@test "Range: version ..; max=1, order=desc returns the newest, with Next-Range while more remain" {
	body=$(api_expect 206 GET /apps/rel/releases -H "Range: version ..; max=1, order=desc")
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[4]' ]
	next=$(api_header Next-Range)
	[ "$next" = "version ]4..; max=1, order=desc" ]
	# Follow Next-Range to the end: v3, v2, then v1 on the last page, which has none.
	for v in 3 2; do
		body=$(api_expect 206 GET /apps/rel/releases -H "Range: $next")
		[ "$(jq -c '[.[].version]' <<<"$body")" = "[$v]" ]
		next=$(api_header Next-Range)
		[ "$next" = "version ]$v..; max=1, order=desc" ]
	done
	body=$(api_expect 200 GET /apps/rel/releases -H "Range: $next")
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[1]' ]
	[ -z "$(api_header Next-Range)" ]
}

@test "Range pages ascending, and a page that takes the rest has no Next-Range" {
	body=$(api_expect 206 GET /apps/rel/releases -H "Range: version ..; max=3")
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[1,2,3]' ]
	[ "$(api_header Next-Range)" = "version ]3..; max=3, order=asc" ]
	body=$(api_expect 200 GET /apps/rel/releases -H "Range: version ]3..; max=3, order=asc")
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[4]' ]
	[ -z "$(api_header Next-Range)" ]
	body=$(api_expect 200 GET /apps/rel/releases -H "Range: version ..; max=4, order=desc")
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[4,3,2,1]' ]
	[ -z "$(api_header Next-Range)" ]
	body=$(api_expect 200 GET /apps/rel/releases -H "Range: version 2..3")
	[ "$(jq -c '[.[].version]' <<<"$body")" = '[2,3]' ]
}

@test "a bad Range header is 400" {
	msg=$(refused 400 bad_request GET /apps/rel/releases -H "Range: name ..")
	[[ "$msg" == *"use one of version,id,created_at"* ]]
	refused 400 bad_request GET /apps/rel/releases -H "Range: version ..; max=0"
	refused 400 bad_request GET /apps/rel/releases -H "Range: version ..; order=sideways"
	refused 400 bad_request GET /apps/rel/releases -H "Range: version 1-3"
}

@test "a release is found by version, vN and id" {
	id=$(api GET /apps/rel/releases/2 | jq -r .id)
	[ "$(api_status)" = 200 ]
	[ ${#id} = 36 ]
	[ "$(api GET /apps/rel/releases/v2 | jq -r .id)" = "$id" ]
	body=$(api_expect 200 GET "/apps/rel/releases/$id")
	[ "$(jq -r .version <<<"$body")" = 2 ]
	[ "$(jq -r .description <<<"$body")" = "Set A config vars" ]
	[ "$(api GET "/apps/rel/releases/$id/config-vars" | jq -c .)" = '{"A":"1"}' ]
	[ "$(api GET /apps/rel/releases/v1/config-vars | jq -c .)" = '{}' ]
	for ref in 0 99 v99 -1 vv2 2x "$(api GET /apps/form/releases/1 | jq -r .id)"; do
		refused 404 not_found GET "/apps/rel/releases/$ref"
	done
}

@test "rollback to vN restores its config, as a new release" {
	body=$(api_expect 201 POST /apps/rel/releases '{"release":"2"}')
	[ "$(jq -r .version <<<"$body")" = 5 ]
	[ "$(jq -r .description <<<"$body")" = "Rollback to v2" ]
	[ "$(jq -r .current <<<"$body")" = true ]
	[ "$(api GET /apps/rel/config-vars | jq -c .)" = '{"A":"1"}' ]
	[ "$(api GET /apps/rel/releases/5/config-vars | jq -c .)" = '{"A":"1"}' ]
	# By id too, and to the initial release (no config at all).
	id=$(api GET /apps/rel/releases/v4 | jq -r .id)
	api_expect 201 POST /apps/rel/releases "{\"release\":\"$id\"}" >/dev/null
	[ "$(api GET /apps/rel/config-vars | jq -cS .)" = '{"A":"2","B":"x"}' ]
	api_expect 201 POST /apps/rel/releases '{"release":{"id":"v1"}}' >/dev/null
	[ "$(api GET /apps/rel/config-vars | jq -c .)" = '{}' ]
	[ "$(api GET /apps/rel/releases | jq -c '[.[].version]')" = '[1,2,3,4,5,6,7]' ]
	[ "$(api GET /apps/rel/releases/7 | jq -r .description)" = "Rollback to v1" ]
}

@test "bad rollbacks are refused" {
	refused 404 not_found POST /apps/rel/releases '{"release":"99"}'
	refused 404 not_found POST /apps/rel/releases '{"release":"not-a-release"}'
	refused 422 invalid_params POST /apps/rel/releases '{}'
	refused 422 invalid_params POST /apps/rel/releases '{"release":2}'
	refused 422 invalid_params POST /apps/rel/releases '{"release":"1","slug":"x"}'
	refused 422 invalid_params POST /apps/rel/releases "{\"slug\":\"x\",\"description\":\"$(printf 'd%.0s' {1..1025})\"}"
}

@test "a slug is recorded with its process types" {
	body=$(api_expect 201 POST /apps/form/slugs '{"process_types":{"web":"./bin/web","worker":"./bin/worker"},"commit":"abc123","stack":"heroku-24"}')
	id=$(jq -r .id <<<"$body")
	[ ${#id} = 36 ]
	[ "$(jq -cS .process_types <<<"$body")" = '{"web":"./bin/web","worker":"./bin/worker"}' ]
	[ "$(jq -r .commit <<<"$body")" = abc123 ]
	[ "$(api GET "/apps/form/slugs/$id" | jq -r .id)" = "$id" ]
	refused 404 not_found GET "/apps/rel/slugs/$id"
}

@test "bad slugs are refused" {
	refused 422 invalid_params POST /apps/form/slugs '{}'
	refused 422 invalid_params POST /apps/form/slugs '{"process_types":"web: x"}'
	refused 422 invalid_params POST /apps/form/slugs '{"process_types":{"Web":"x"}}'
	refused 422 invalid_params POST /apps/form/slugs '{"process_types":{"1web":"x"}}'
	refused 422 invalid_params POST /apps/form/slugs '{"process_types":{"web":""}}'
	refused 422 invalid_params POST /apps/form/slugs '{"process_types":{"web":5}}'
	refused 422 invalid_params POST /apps/form/slugs "{\"process_types\":{\"$(printf 'w%.0s' {1..31})\":\"x\"}}"
	refused 422 invalid_params POST /apps/form/slugs '{"process_types":{"web":"x"},"commit":7}'
}

# Creates a slug with the given process types and releases it; prints the release.
deploy_slug() {
	local app=$1 types=$2 slug
	slug=$(api_expect 201 POST "/apps/$app/slugs" "{\"process_types\":$types}" | jq -r .id)
	api_expect 201 POST "/apps/$app/releases" "{\"slug\":\"$slug\"}"
}

@test "releasing a slug sets up the formation: web at 1, others at 0" {
	body=$(deploy_slug form '{"web":"./bin/web","worker":"./bin/worker"}')
	[ "$(jq -r .slug.id <<<"$body")" != null ]
	[[ "$(jq -r .description <<<"$body")" == Deploy* ]]
	formation=$(api_expect 200 GET /apps/form/formation)
	[ "$(jq -c '[.[] | [.type, .quantity, .size, .command]]' <<<"$formation")" = \
		'[["web",1,"Private-S","./bin/web"],["worker",0,"Private-S","./bin/worker"]]' ]
	[ "$(api GET /apps/form/formation/web | jq -r .quantity)" = 1 ]
}

@test "quantities as numbers and as strings: \"2\", \"+1\", \"-1\"" {
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":"2"}' | jq .quantity)" = 2 ]
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":"+1"}' | jq .quantity)" = 3 ]
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":"-1"}' | jq .quantity)" = 2 ]
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":5}' | jq .quantity)" = 5 ]
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":0}' | jq .quantity)" = 0 ]
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":"100"}' | jq .quantity)" = 100 ]
	[ "$(api_expect 200 PATCH /apps/form/formation/web '{"quantity":1}' | jq .quantity)" = 1 ]
	[ "$(api GET /apps/form/formation/web | jq .quantity)" = 1 ]
}

@test "sizes, case-insensitive, alone or with a quantity" {
	body=$(api_expect 200 PATCH /apps/form/formation/worker '{"size":"private-m"}')
	[ "$(jq -r .size <<<"$body")" = Private-M ]
	[ "$(jq -r .quantity <<<"$body")" = 0 ]
	body=$(api_expect 200 PATCH /apps/form/formation/worker '{"size":"PRIVATE-L","quantity":"2"}')
	[ "$(jq -c '[.size, .quantity]' <<<"$body")" = '["Private-L",2]' ]
	body=$(api_expect 200 PATCH /apps/form/formation '{"updates":[{"type":"web","quantity":"+1","size":"Private-XS"},{"type":"worker","quantity":0}]}')
	[ "$(jq -c '[.[] | [.type, .quantity, .size]]' <<<"$body")" = '[["web",2,"Private-XS"],["worker",0,"Private-L"]]' ]
}

@test "an unknown process type is 404" {
	msg=$(refused 404 not_found PATCH /apps/form/formation/clock '{"quantity":1}')
	[[ "$msg" == *clock* ]]
	refused 404 not_found GET /apps/form/formation/clock
	refused 404 not_found PATCH /apps/form/formation '{"updates":[{"type":"web","quantity":3},{"type":"clock","quantity":1}]}'
}

@test "out-of-range or malformed quantities and sizes are 422" {
	for q in 101 '"101"' -1 '"-3"' '"+99"' '"abc"' '"2x"' '""' '"+"' '" 2"' true 1.5 '[1]' \
		'"+9223372036854775807"' '"-9223372036854775808"' '"99999999999999999999"' 9223372036854775807; do
		refused 422 invalid_params PATCH /apps/form/formation/web "{\"quantity\":$q}"
	done
	msg=$(refused 422 invalid_params PATCH /apps/form/formation/web '{"quantity":101}')
	[[ "$msg" == *"out of range: 0 to 100"* ]]
	refused 422 invalid_params PATCH /apps/form/formation/web '{"size":"Huge"}'
	refused 422 invalid_params PATCH /apps/form/formation/web '{"size":5}'
	# A batch with one bad update changes nothing, not even the good updates before it.
	refused 422 invalid_params PATCH /apps/form/formation '{"updates":[{"type":"web","quantity":3},{"type":"worker","quantity":500}]}'
	refused 422 invalid_params PATCH /apps/form/formation '{"updates":[]}'
	refused 422 invalid_params PATCH /apps/form/formation '{"updates":[{"quantity":1}]}'
	refused 422 invalid_params PATCH /apps/form/formation '{"updates":{"type":"web"}}'
}

@test "a new slug without a process type removes it; a rollback brings it back" {
	before=$(api GET /apps/form/releases -H "Range: version ..; max=1, order=desc" | jq '.[0].version')
	deploy_slug form '{"web":"./bin/web2"}' >/dev/null
	formation=$(api GET /apps/form/formation)
	[ "$(jq -c '[.[] | [.type, .command]]' <<<"$formation")" = '[["web","./bin/web2"]]' ]
	# Quantity and size of a type that stays are kept.
	[ "$(jq -c '[.[0].quantity, .[0].size]' <<<"$formation")" = '[2,"Private-XS"]' ]
	api_expect 201 POST /apps/form/releases "{\"release\":\"$before\"}" >/dev/null
	formation=$(api GET /apps/form/formation)
	[ "$(jq -c '[.[] | [.type, .command, .quantity]]' <<<"$formation")" = '[["web","./bin/web",2],["worker","./bin/worker",0]]' ]
}

@test "a slug of another app cannot be released" {
	slug=$(api_expect 201 POST /apps/form/slugs '{"process_types":{"web":"x"}}' | jq -r .id)
	refused 404 not_found POST /apps/rel/releases "{\"slug\":\"$slug\"}"
	refused 404 not_found POST /apps/rel/releases '{"slug":"no-such-slug"}'
}
