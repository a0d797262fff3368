#!/usr/bin/env bats
# Who may do what: tokens, logging in, team roles, other teams' resources, and the audit
# trail. Every refusal is checked to change nothing.

load helpers

setup_file() {
	coved_start
	# Team acme: ann is its admin, bob a member. Team other: olga is its admin.
	ANN=$(make_user ann@acme.test)
	BOB=$(make_user bob@acme.test)
	OLGA=$(make_user olga@other.test)
	export ANN BOB OLGA
	api_as "$ANN" POST /teams '{"name":"acme"}' >/dev/null
	add_member acme bob@acme.test member
	api_as "$OLGA" POST /teams '{"name":"other"}' >/dev/null
	api_as "$ANN" POST /spaces '{"name":"acme-prod","team":"acme"}' >/dev/null
	api_as "$ANN" POST /apps '{"name":"acme-web","space":"acme-prod"}' >/dev/null
	api_as "$OLGA" POST /spaces '{"name":"other-prod","team":"other"}' >/dev/null
	api_as "$OLGA" POST /apps '{"name":"other-web","space":"other-prod"}' >/dev/null
}

teardown_file() {
	coved_stop
}

@test "the fixtures exist" {
	[ "$(api_as "$ANN" GET /spaces/acme-prod | jq -r .team.name)" = acme ]
	[ "$(api_as "$OLGA" GET /apps/other-web | jq -r .space.name)" = other-prod ]
	[ "$(api_as "$BOB" GET /teams/acme | jq -r .role)" = member ]
}

@test "no token is 401 with WWW-Authenticate" {
	msg=$(API_TOKEN=none refused 401 unauthorized GET /apps)
	[[ "$msg" == *"authentication required"* ]]
	[[ "$(api_header WWW-Authenticate)" == *realm=* ]]
	API_TOKEN=none refused 401 unauthorized POST /spaces '{"name":"anon","team":"acme"}'
	API_TOKEN=none refused 401 unauthorized PATCH /apps/acme-web/config-vars '{"A":"1"}'
	API_TOKEN=none refused 401 unauthorized DELETE /apps/acme-web
}

@test "a wrong token is 401" {
	msg=$(API_TOKEN=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
		refused 401 unauthorized GET /account)
	[[ "$msg" == *"invalid credentials"* ]]
	API_TOKEN=wrong refused 401 unauthorized POST /spaces '{"name":"wrong","team":"acme"}'
	API_TOKEN=wrong refused 401 unauthorized DELETE /spaces/acme-prod
	# A token's hash is not a token.
	API_TOKEN="${ANN}x" refused 401 unauthorized GET /account
}

@test "a malformed Authorization header is 401" {
	API_TOKEN=none refused 401 unauthorized GET /account -H "Authorization: Bearer"
	API_TOKEN=none refused 401 unauthorized GET /account -H "Authorization: Basic !!!"
	API_TOKEN=none refused 401 unauthorized GET /account -H "Authorization: Basic $(printf 'nocolon' | base64)"
	API_TOKEN=none refused 401 unauthorized GET /account -H "Authorization: Token $ANN"
	API_TOKEN=none refused 401 unauthorized GET /account -H "Authorization: Bearer $(printf 'x%.0s' {1..600})"
}

@test "HTTP Basic with the token as the password authenticates (as git does)" {
	body=$(API_TOKEN=none api_expect 200 GET /account -u "anything:$ANN")
	[ "$(jq -r .email <<<"$body")" = ann@acme.test ]
	API_TOKEN=none refused 401 unauthorized GET /account -u "ann@acme.test:password-of-ann@acme.test"
}

@test "login: POST /oauth/authorizations with Basic e-mail:password gives a working token" {
	body=$(API_TOKEN=none api_expect 201 POST /oauth/authorizations '{"description":"laptop"}' \
		-u "bob@acme.test:password-of-bob@acme.test")
	token=$(jq -r .access_token.token <<<"$body")
	[ ${#token} = 64 ]
	[ "$(jq -r .user.email <<<"$body")" = bob@acme.test ]
	[ "$(jq -r .description <<<"$body")" = laptop ]
	[ "$(api_as "$token" GET /account | jq -r .email)" = bob@acme.test ]
	# The token is listed (without its secret) and can be revoked.
	id=$(jq -r .id <<<"$body")
	list=$(api_as "$token" GET /oauth/authorizations)
	jq -e --arg id "$id" 'any(.[]; .id == $id and .access_token == null)' <<<"$list" >/dev/null
	api_as "$token" DELETE /oauth/authorizations/~ >/dev/null
	[ "$(api_status)" = 200 ]
	API_TOKEN=$token refused 401 unauthorized GET /account
}

@test "login with a wrong password, or an unknown e-mail, is 401 and makes no token" {
	msg=$(API_TOKEN=none refused 401 unauthorized POST /oauth/authorizations '{}' -u "bob@acme.test:wrong-password")
	[[ "$msg" == *"invalid credentials"* ]]
	API_TOKEN=none refused 401 unauthorized POST /oauth/authorizations '{}' -u "nobody@acme.test:password-of-nobody"
	API_TOKEN=none refused 401 unauthorized POST /oauth/authorizations '{}' -u "bob@acme.test:"
	API_TOKEN=none refused 401 unauthorized POST /oauth/authorizations '{}'
	# The admin has a random password; a token-only account has none at all.
	api_expect 201 POST /users '{"email":"robot@acme.test"}' >/dev/null
	API_TOKEN=none refused 401 unauthorized POST /oauth/authorizations '{}' -u "robot@acme.test:"
	API_TOKEN=none refused 401 unauthorized POST /oauth/authorizations '{}' -u "robot@acme.test:anything-at-all"
}

@test "only platform administrators create and list users" {
	API_TOKEN=$ANN refused 403 forbidden POST /users '{"email":"eve@acme.test","password":"long enough"}'
	API_TOKEN=$BOB refused 403 forbidden GET /users
	API_TOKEN=$ANN refused 403 forbidden POST /users '{"email":"eve@acme.test","password":"long enough","admin":true}'
	refused 409 conflict POST /users '{"email":"bob@acme.test","password":"long enough"}'
}

@test "a team member cannot create a space in the team" {
	msg=$(API_TOKEN=$BOB refused 403 forbidden POST /spaces '{"name":"bobs-space","team":"acme"}')
	[[ "$msg" == *"acme"* ]]
}

@test "a team member cannot rename a space" {
	msg=$(API_TOKEN=$BOB refused 403 forbidden PATCH /spaces/acme-prod '{"name":"renamed"}')
	[[ "$msg" == *"only admins of team 'acme'"* ]]
}

@test "a team member cannot destroy a space" {
	API_TOKEN=$BOB refused 403 forbidden DELETE /spaces/acme-prod
	# Even an empty one.
	api_as "$ANN" POST /spaces '{"name":"acme-empty","team":"acme"}' >/dev/null
	API_TOKEN=$BOB refused 403 forbidden DELETE /spaces/acme-empty
}

@test "a team member cannot manage members" {
	API_TOKEN=$BOB refused 403 forbidden PUT /teams/acme/members '{"email":"bob@acme.test","role":"admin"}'
	API_TOKEN=$BOB refused 403 forbidden DELETE /teams/acme/members/ann@acme.test
	API_TOKEN=$BOB refused 403 forbidden DELETE /teams/acme
}

@test "a team member sees the space and works with the team's apps" {
	api_as "$BOB" GET /spaces/acme-prod >/dev/null
	[ "$(api_status)" = 200 ]
	# Creating apps in a space takes the create_apps permission (api-network.bats has the rest).
	api_as "$ANN" PATCH /spaces/acme-prod/members/bob@acme.test '{"permissions":[{"name":"create_apps"}]}' >/dev/null
	api_as "$BOB" POST /apps '{"name":"bobs-app","space":"acme-prod"}' >/dev/null
	[ "$(api_status)" = 201 ]
	api_as "$BOB" PATCH /apps/acme-web/config-vars '{"FROM_BOB":"1"}' >/dev/null
	[ "$(api_status)" = 200 ]
	# But may not destroy an app someone else created; its creator and team admins may.
	API_TOKEN=$BOB refused 403 forbidden DELETE /apps/acme-web
	api_as "$BOB" DELETE /apps/bobs-app >/dev/null
	[ "$(api_status)" = 200 ]
}

@test "a user of another team cannot read or change the team's app" {
	API_TOKEN=$OLGA refused 403 forbidden GET /apps/acme-web
	API_TOKEN=$OLGA refused 403 forbidden PATCH /apps/acme-web '{"name":"stolen"}'
	API_TOKEN=$OLGA refused 403 forbidden PATCH /apps/acme-web '{"maintenance":true}'
	API_TOKEN=$OLGA refused 403 forbidden DELETE /apps/acme-web
	API_TOKEN=$OLGA refused 403 forbidden GET /apps/acme-web/config-vars
	API_TOKEN=$OLGA refused 403 forbidden PATCH /apps/acme-web/config-vars '{"EVIL":"1"}'
	API_TOKEN=$OLGA refused 403 forbidden GET /apps/acme-web/releases
	API_TOKEN=$OLGA refused 403 forbidden POST /apps/acme-web/releases '{"release":"1"}'
	API_TOKEN=$OLGA refused 403 forbidden POST /apps/acme-web/slugs '{"process_types":{"web":"x"}}'
	API_TOKEN=$OLGA refused 403 forbidden GET /apps/acme-web/formation
	# By id as well as by name.
	id=$(api_as "$ANN" GET /apps/acme-web | jq -r .id)
	API_TOKEN=$OLGA refused 403 forbidden GET "/apps/$id"
	# And it is not in their lists.
	api_as "$OLGA" GET /apps | jq -e 'all(.[]; .name != "acme-web") and any(.[]; .name == "other-web")' >/dev/null
}

@test "a user of another team cannot read or change the team's space" {
	API_TOKEN=$OLGA refused 403 forbidden GET /spaces/acme-prod
	API_TOKEN=$OLGA refused 403 forbidden PATCH /spaces/acme-prod '{"name":"stolen"}'
	API_TOKEN=$OLGA refused 403 forbidden DELETE /spaces/acme-prod
	API_TOKEN=$OLGA refused 403 forbidden GET /spaces/acme-prod/apps
	API_TOKEN=$OLGA refused 403 forbidden POST /apps '{"name":"intruder","space":"acme-prod"}'
	API_TOKEN=$OLGA refused 403 forbidden POST /spaces '{"name":"intruder","team":"acme"}'
	API_TOKEN=$OLGA refused 403 forbidden GET /teams/acme
	API_TOKEN=$OLGA refused 403 forbidden GET /teams/acme/members
	api_as "$OLGA" GET /spaces | jq -e 'all(.[]; .name != "acme-prod")' >/dev/null
	# Nor the other way round.
	API_TOKEN=$ANN refused 403 forbidden PATCH /apps/other-web/config-vars '{"EVIL":"1"}'
	API_TOKEN=$BOB refused 403 forbidden DELETE /spaces/other-prod
}

@test "changing a member without a role keeps their role" {
	make_user dora@acme.test >/dev/null
	add_member acme dora@acme.test admin
	body=$(api_expect 200 PATCH /teams/acme/members '{"email":"dora@acme.test"}')
	[ "$(jq -r .role <<<"$body")" = admin ]
	[ "$(api GET /teams/acme/members | jq -r '.[] | select(.email == "dora@acme.test") | .role')" = admin ]
	body=$(api_expect 200 PUT /teams/acme/members '{"email":"dora@acme.test","role":"member"}')
	[ "$(jq -r .role <<<"$body")" = member ]
	body=$(api_expect 200 PUT /teams/acme/members '{"email":"dora@acme.test"}')
	[ "$(jq -r .role <<<"$body")" = member ]
	refused 422 invalid_params PUT /teams/acme/members '{"email":"dora@acme.test","role":"owner"}'
	api_expect 200 DELETE /teams/acme/members/dora@acme.test >/dev/null
}

@test "a removed member loses access" {
	carl=$(make_user carl@acme.test)
	add_member acme carl@acme.test member
	api_as "$carl" GET /apps/acme-web >/dev/null
	[ "$(api_status)" = 200 ]
	api_as "$ANN" DELETE /teams/acme/members/carl@acme.test >/dev/null
	[ "$(api_status)" = 200 ]
	API_TOKEN=$carl refused 403 forbidden GET /apps/acme-web
	# The last admin cannot leave.
	API_TOKEN=$ANN refused 422 invalid_params DELETE /teams/acme/members/ann@acme.test
}

@test "writes are recorded in the audit trail, refused ones too" {
	api_as "$ANN" PATCH /apps/acme-web/config-vars '{"AUDITED":"yes"}' >/dev/null
	API_TOKEN=$OLGA api DELETE /apps/acme-web >/dev/null
	[ "$(api_status)" = 403 ]
	events=$(api_expect 206 GET /audit-events -H "Range: seq ..; max=2, order=desc")
	[ "$(jq length <<<"$events")" = 2 ]
	# The newest first: the refused delete, then the config change.
	jq -e '.[0] | .method == "DELETE" and .path == "/apps/acme-web" and .status == 403 and .actor.email == "olga@other.test"' <<<"$events" >/dev/null
	jq -e '.[1] | .method == "PATCH" and .status == 200 and .actor.email == "ann@acme.test" and (.action | test("AUDITED"))' <<<"$events" >/dev/null
	jq -e '.[0].seq > .[1].seq and (.[0].id | length) == 36 and (.[0].request_id | length) == 36' <<<"$events" >/dev/null
	# Reads are not audited.
	api_as "$ANN" GET /apps/acme-web >/dev/null
	after=$(api GET /audit-events -H "Range: seq ..; max=1, order=desc")
	[ "$(jq -r '.[0].id' <<<"$after")" = "$(jq -r '.[0].id' <<<"$events")" ]
}

@test "every kind of write is audited with its actor" {
	before=$(api GET /audit-events -H "Range: seq ..; max=1, order=desc" | jq '.[0].seq')
	api_as "$ANN" POST /spaces '{"name":"audit-space","team":"acme"}' >/dev/null
	api_as "$ANN" PATCH /spaces/audit-space '{"name":"audit-space-2"}' >/dev/null
	api_as "$ANN" POST /apps '{"name":"audit-app","space":"audit-space-2"}' >/dev/null
	api_as "$ANN" DELETE /apps/audit-app >/dev/null
	api_as "$ANN" DELETE /spaces/audit-space-2 >/dev/null
	events=$(api GET /audit-events -H "Range: seq ]$before..; max=10")
	[ "$(jq length <<<"$events")" = 5 ]
	jq -e 'all(.[]; .actor.email == "ann@acme.test" and (.status | . >= 200 and . < 300))' <<<"$events" >/dev/null
	[ "$(jq -r '[.[].method] | join(",")' <<<"$events")" = "POST,PATCH,POST,DELETE,DELETE" ]
	jq -e '.[0].action | test("audit-space")' <<<"$events" >/dev/null
}

@test "only platform administrators read the audit trail" {
	msg=$(API_TOKEN=$ANN refused 403 forbidden GET /audit-events)
	[[ "$msg" == *"platform administrator"* ]]
	API_TOKEN=$BOB refused 403 forbidden GET /audit-events
	API_TOKEN=none refused 401 unauthorized GET /audit-events
}

@test "an administrator sets another account's password; nobody else may" {
	api_expect 201 POST /users '{"email":"nopass@acme.test"}' >/dev/null
	# No password yet: no login.
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$COVE_API_URL/oauth/authorizations" -u 'nopass@acme.test:')" = 401 ]
	API_TOKEN=$ANN refused 403 forbidden PATCH /users/nopass@acme.test '{"password":"a new passphrase"}'
	api_expect 200 PATCH /users/nopass@acme.test '{"password":"a new passphrase"}' >/dev/null
	token=$(curl -fsS -X POST "$COVE_API_URL/oauth/authorizations" -u 'nopass@acme.test:a new passphrase' | jq -r .access_token.token)
	[ "$(api_as "$token" GET /account | jq -r .email)" = nopass@acme.test ]
	refused 422 invalid_params PATCH /users/nopass@acme.test '{"password":"short"}'
	refused 404 not_found PATCH /users/nobody@acme.test '{"password":"a new passphrase"}'
}

@test "PATCH on members changes a member but adds nobody" {
	API_TOKEN=$ANN refused 404 not_found PATCH /teams/acme/members '{"email":"olga@other.test","role":"member"}'
	body=$(api_as "$ANN" PATCH /teams/acme/members '{"email":"bob@acme.test","role":"member"}')
	[ "$(jq -r .role <<<"$body")" = member ]
}
