#!/usr/bin/env bats
# Bad input to the API: each request is refused with the right status and a Platform API
# error body, and changes nothing in the store (the `refused` helper checks all three).

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme","region":"virginia"}' >/dev/null
	api_expect 201 POST /apps '{"name":"web1","space":"prod"}' >/dev/null
}

teardown_file() {
	coved_stop
}

@test "a valid space, app and team are accepted (the baseline of this file)" {
	body=$(api_expect 201 POST /spaces '{"name":"ok-space-2","team":"acme","region":"tokyo","cidr":"172.16.0.0/16","data_cidr":"172.17.0.0/16"}')
	[ "$(jq -r .region.name <<<"$body")" = tokyo ]
	[ "$(jq -r .cidr <<<"$body")" = 172.16.0.0/16 ]
	[ "$(jq -r .data_cidr <<<"$body")" = 172.17.0.0/16 ]
	api_expect 201 POST /apps '{"name":"a-1","space":"ok-space-2"}' >/dev/null
	api_expect 201 POST /teams '{"name":"t-2"}' >/dev/null
}

@test "invalid app names are refused" {
	for name in Bad 1app -app app- 'my--app' my_app 'with space' 'app.x' "$(printf 'a%.0s' {1..31})" ''; do
		refused 422 invalid_params POST /apps "{\"name\":\"$name\",\"space\":\"prod\"}"
	done
	msg=$(refused 422 invalid_params POST /apps '{"name":"Bad","space":"prod"}')
	[[ "$msg" == *"app name 'Bad' is invalid"* ]]
	msg=$(refused 422 invalid_params POST /apps "{\"name\":\"$(printf 'a%.0s' {1..31})\"}")
	[[ "$msg" == *"at most 30 characters"* ]]
	# Thirty characters is fine.
	api_expect 201 POST /apps "{\"name\":\"$(printf 'b%.0s' {1..30})\",\"space\":\"prod\"}" >/dev/null
}

@test "invalid space names are refused" {
	for name in Prod 9space -s s- 's--s' 's_s' 's s' "$(printf 's%.0s' {1..31})" ''; do
		refused 422 invalid_params POST /spaces "{\"name\":\"$name\",\"team\":\"acme\"}"
	done
	msg=$(refused 422 invalid_params POST /spaces '{"name":"Prod","team":"acme"}')
	[[ "$msg" == *"space name 'Prod' is invalid"* ]]
	refused 422 invalid_params POST /spaces '{"team":"acme"}'
}

@test "invalid team names are refused" {
	for name in Acme 1team -t t- 't--t' 't_t' "$(printf 't%.0s' {1..31})" ''; do
		refused 422 invalid_params POST /teams "{\"name\":\"$name\"}"
	done
	refused 422 invalid_params POST /teams '{}'
}

@test "renames to invalid names are refused" {
	refused 422 invalid_params PATCH /apps/web1 '{"name":"Web1"}'
	refused 422 invalid_params PATCH /spaces/prod '{"name":"prod--2"}'
}

@test "an unknown region is refused" {
	msg=$(refused 422 invalid_params POST /spaces '{"name":"mars-1","team":"acme","region":"mars"}')
	[[ "$msg" == *"region 'mars' is unknown"* ]]
	[[ "$msg" == *virginia* ]]
	refused 422 invalid_params POST /spaces '{"name":"mars-2","team":"acme","region":{"name":"mars"}}'
	refused 422 invalid_params POST /apps '{"name":"mars-app","region":"mars"}'
	# A region that exists but is not the space's.
	msg=$(refused 422 invalid_params POST /apps '{"name":"tokyo-app","space":"prod","region":"tokyo"}')
	[[ "$msg" == *"does not match space 'prod'"* ]]
	refused 404 not_found GET /regions/mars
}

@test "a malformed CIDR is refused" {
	for cidr in 10.0.0.0 10.0.0/16 10.0.0.0/ 10.0.0.0/x 256.0.0.0/8 '10.0.0.0/16 ' 'ten/8' ''; do
		refused 422 invalid_params POST /spaces "{\"name\":\"c1\",\"team\":\"acme\",\"cidr\":\"$cidr\"}"
	done
	refused 422 invalid_params POST /spaces '{"name":"c1","team":"acme","data_cidr":"10.1.0.0"}'
	refused 422 invalid_params POST /spaces '{"name":"c1","team":"acme","cidr":167772160}'
}

@test "a CIDR with host bits set is refused" {
	msg=$(refused 422 invalid_params POST /spaces '{"name":"c2","team":"acme","cidr":"10.0.0.1/16"}')
	[[ "$msg" == *"host bits are set"* ]]
	refused 422 invalid_params POST /spaces '{"name":"c2","team":"acme","data_cidr":"10.1.2.0/16"}'
}

@test "a CIDR prefix out of /8../24 is refused" {
	msg=$(refused 422 invalid_params POST /spaces '{"name":"c3","team":"acme","cidr":"10.0.0.0/25"}')
	[[ "$msg" == *"between /8 and /24"* ]]
	refused 422 invalid_params POST /spaces '{"name":"c3","team":"acme","cidr":"10.0.0.0/7"}'
	refused 422 invalid_params POST /spaces '{"name":"c3","team":"acme","cidr":"10.0.0.0/32"}'
}

@test "a public CIDR is refused" {
	for cidr in 8.8.0.0/16 100.64.0.0/16 172.32.0.0/16 192.169.0.0/16 11.0.0.0/8; do
		msg=$(refused 422 invalid_params POST /spaces "{\"name\":\"c4\",\"team\":\"acme\",\"cidr\":\"$cidr\"}")
		[[ "$msg" == *"private range"* ]]
	done
	msg=$(refused 422 invalid_params POST /spaces '{"name":"c4","team":"acme","data_cidr":"1.2.0.0/16"}')
	[[ "$msg" == *"data CIDR"* ]]
}

@test "a data CIDR that overlaps the space CIDR is refused" {
	msg=$(refused 422 invalid_params POST /spaces '{"name":"c5","team":"acme","cidr":"10.0.0.0/16","data_cidr":"10.0.128.0/17"}')
	[[ "$msg" == *overlap* ]]
	refused 422 invalid_params POST /spaces '{"name":"c5","team":"acme","cidr":"10.0.0.0/8"}'
	refused 422 invalid_params POST /spaces '{"name":"c5","team":"acme","cidr":"10.1.0.0/16"}'
	refused 422 invalid_params POST /spaces '{"name":"c5","team":"acme","cidr":"192.168.0.0/16","data_cidr":"192.168.0.0/16"}'
	# Two spaces may use the same CIDRs: each has its own network namespace.
	api_expect 201 POST /spaces '{"name":"c5","team":"acme","cidr":"10.0.0.0/16","data_cidr":"10.1.0.0/16"}' >/dev/null
}

@test "duplicate names are refused with 409" {
	refused 409 conflict POST /spaces '{"name":"prod","team":"acme"}'
	refused 409 name_conflict POST /apps '{"name":"web1","space":"prod"}'
	refused 409 conflict POST /teams '{"name":"acme"}'
	api_expect 201 POST /apps '{"name":"web2","space":"prod"}' >/dev/null
	refused 409 name_conflict PATCH /apps/web2 '{"name":"web1"}'
	api_expect 201 POST /spaces '{"name":"prod-2","team":"acme"}' >/dev/null
	refused 409 conflict PATCH /spaces/prod-2 '{"name":"prod"}'
}

@test "a body over 1 MiB is refused with 413" {
	file=$BATS_TEST_TMPDIR/big.json
	{
		printf '{"name":"big","team":"acme","padding":"'
		head -c $((1024 * 1024)) /dev/zero | tr '\0' x
		printf '"}'
	} >"$file"
	msg=$(refused 413 request_entity_too_large POST /spaces "@$file")
	[[ "$msg" == *"too large"* ]]
	refused 413 request_entity_too_large PATCH /apps/web1/config-vars "@$file"
	# A large body under the limit is fine.
	{
		printf '{"name":"big","team":"acme","padding":"'
		head -c $((1000 * 1000)) /dev/zero | tr '\0' x
		printf '"}'
	} >"$file"
	api_expect 201 POST /spaces "@$file" >/dev/null
}

@test "malformed JSON is refused with 400" {
	for body in '{' '{"name":' '{"name":"x",}' 'nope' '{"name":"x"} trailing' "{'name':'x'}" '{"a":1,"a":2}'; do
		refused 400 bad_request POST /spaces "$body"
	done
	msg=$(refused 400 bad_request PATCH /apps/web1/config-vars '{"A":')
	[[ "$msg" == *"not valid JSON"* ]]
}

@test "a body that is not a JSON object is refused with 422" {
	for body in '[]' '[{"name":"x"}]' '"prod"' '42' 'true' 'null'; do
		refused 422 invalid_params POST /spaces "$body"
	done
	msg=$(refused 422 invalid_params PATCH /apps/web1/config-vars '["A"]')
	[[ "$msg" == *"must be a JSON object"* ]]
}

@test "fields of the wrong type are refused" {
	msg=$(refused 422 invalid_params POST /spaces '{"name":5,"team":"acme"}')
	[[ "$msg" == *"'name' must be a string"* ]]
	refused 422 invalid_params POST /spaces '{"name":["x"],"team":"acme"}'
	refused 422 invalid_params POST /spaces '{"name":"w1","team":"acme","shield":"yes"}'
	refused 422 invalid_params POST /spaces '{"name":"w1","team":7}'
	refused 422 invalid_params POST /spaces '{"name":"w1","team":{"slug":"acme"}}'
	refused 422 invalid_params POST /spaces '{"name":"w1","region":true}'
	refused 422 invalid_params POST /apps '{"name":"w1","space":{"id":5}}'
	refused 422 invalid_params POST /apps '{"name":"w1","internal_routing":"true"}'
	refused 422 invalid_params POST /apps '{"name":"w1","stack":"windows-95"}'
	refused 422 invalid_params PATCH /apps/web1 '{"maintenance":"on"}'
	refused 422 invalid_params PATCH /apps/web1 '{"name":false}'
	refused 422 invalid_params PATCH /apps/web1 '{"internal_routing":true}'
	refused 422 invalid_params POST /teams '{"name":{"name":"x"}}'
	refused 422 invalid_params POST /users '{"email":"not-an-email"}'
	refused 422 invalid_params POST /users '{"email":"short@pass.co","password":"short"}'
	refused 422 invalid_params POST /users '{"email":"x@y.co","admin":"yes"}'
}

@test "unknown things are 404, not changes" {
	refused 404 not_found GET /no-such-route
	refused 404 not_found POST /apps/no-such-app/config-vars '{}'
	refused 404 not_found PATCH /apps/no-such-app '{"name":"x"}'
	refused 404 not_found DELETE /apps/no-such-app
	refused 404 not_found DELETE /spaces/no-such-space
	refused 404 not_found POST /apps '{"name":"lost","space":"no-such-space"}'
	refused 404 not_found POST /spaces '{"name":"lost","team":"no-such-team"}'
	refused 404 not_found PUT /teams/acme/members '{"email":"nobody@x.co"}'
}

@test "an unsupported API version is refused with 400" {
	API_ACCEPT="application/vnd.heroku+json; version=2" \
		refused 400 unsupported_version POST /spaces '{"name":"v2-space","team":"acme"}'
	# Any 3.x variant is version 3.
	API_ACCEPT="application/vnd.heroku+json; version=3.sdk" \
		api_expect 201 POST /spaces '{"name":"v3-space","team":"acme"}' >/dev/null
}

@test "a space with apps cannot be destroyed; once empty it can" {
	api_expect 201 POST /spaces '{"name":"busy","team":"acme"}' >/dev/null
	api_expect 201 POST /apps '{"name":"busy-app","space":"busy"}' >/dev/null
	msg=$(refused 409 conflict DELETE /spaces/busy)
	[[ "$msg" == *"still has 1 app"* ]]
	api_expect 200 GET /spaces/busy >/dev/null
	api_expect 200 DELETE /apps/busy-app >/dev/null
	api_expect 200 DELETE /spaces/busy >/dev/null
	refused 404 not_found GET /spaces/busy
	# Nor a team that still has spaces.
	refused 409 conflict DELETE /teams/acme
}

@test "the default space of a team with a long name has a valid name" {
	api_expect 201 POST /teams '{"name":"abcdefghijklmnopqrstuvw-xyz"}' >/dev/null
	body=$(api_expect 201 POST /apps '{"name":"long-team-app","team":"abcdefghijklmnopqrstuvw-xyz"}')
	space=$(jq -r .space.name <<<"$body")
	[ "$space" = abcdefghijklmnopqrstuvw-space ]
	# A name the API itself would accept.
	[[ "$space" =~ ^[a-z]([a-z0-9]|-[a-z0-9])*$ ]]
	[ ${#space} -le 30 ]
}

@test "every error has a Request-Id and JSON content type" {
	api POST /spaces '{' >/dev/null
	[ "$(api_status)" = 400 ]
	[[ "$(api_header Content-Type)" == application/json* ]]
	[ -n "$(api_header Request-Id)" ]
}

@test "an escaped slash stays inside its path segment" {
	api_expect 200 PATCH /apps/web1/config-vars '{"SECRET":"s3cret"}' >/dev/null
	body=$(refused 404 not_found GET '/apps/web1%2Fconfig-vars')
	[[ "$body" != *s3cret* ]]
	# Other escapes decode as usual.
	[ "$(api_expect 200 GET '/apps/w%65b1' | jq -r .name)" = web1 ]
}
