#!/usr/bin/env bats
# Add-ons through the API alone (no agent): the catalog, creating, attaching, detaching and
# destroying, what is refused, and what an agent's report of a provisioned server does
# (config vars and releases). The servers themselves: addons-runtime.bats.

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"other","team":"acme","cidr":"10.0.0.0/16","data_cidr":"10.9.0.0/24"}' >/dev/null
	api_expect 201 POST /apps '{"name":"web1","space":"prod"}' >/dev/null
	api_expect 201 POST /apps '{"name":"web2","space":"prod"}' >/dev/null
	api_expect 201 POST /apps '{"name":"far","space":"other"}' >/dev/null
	HOST_TOKEN=$(api_expect 201 POST /hosts '{"name":"h1","regions":"virginia"}' | jq -r .token)
	echo "$HOST_TOKEN" >"$BATS_FILE_TMPDIR/host.token"
}

teardown_file() {
	coved_stop
}

# report ADDON_ID: the agent says the add-on's server is up.
report() {
	api_as "$(cat "$BATS_FILE_TMPDIR/host.token")" POST /agent/report "{\"addons\":[{\"id\":\"$1\",\"state\":\"provisioned\"}]}" >/dev/null
	[ "$(api_status)" = 200 ]
}

latest_release() {
	api GET "/apps/$1/releases" -H "Range: version ..; max=1, order=desc" | jq -r '.[0] | "v\(.version) \(.description)"'
}

@test "the catalog: services by name and alias, plans with their limits" {
	body=$(api_expect 200 GET /addon-services)
	[ "$(jq -r '[.[].name] | join(",")' <<<"$body")" = heroku-postgresql,heroku-redis ]
	[ "$(api_expect 200 GET /addon-services/postgresql | jq -r .name)" = heroku-postgresql ]
	[ "$(api_expect 200 GET /addon-services/redis | jq -r .human_name)" = "Heroku Key-Value Store" ]
	plans=$(api_expect 200 GET /addon-services/heroku-postgresql/plans)
	[ "$(jq -r '[.[].name] | join(" ")' <<<"$plans")" = "heroku-postgresql:essential-0 heroku-postgresql:essential-1 heroku-postgresql:essential-2 heroku-postgresql:premium-0 heroku-postgresql:premium-1 heroku-postgresql:premium-2 heroku-postgresql:premium-3 heroku-postgresql:premium-4 heroku-postgresql:standard-0 heroku-postgresql:standard-1 heroku-postgresql:standard-2 heroku-postgresql:standard-3 heroku-postgresql:standard-4" ]
	s4=$(api_expect 200 GET /addon-services/heroku-postgresql/plans/standard-4)
	[ "$(jq -r .limits.max_connections <<<"$s4")" = 500 ]
	[ "$(jq -r .limits.memory_mb <<<"$s4")" = 30720 ]
	[ "$(jq -r .human_name <<<"$s4")" = "Standard 4" ]
	[ "$(api_expect 200 GET "/plans/$(jq -r .id <<<"$s4")" | jq -r .name)" = heroku-postgresql:standard-4 ]
	[ "$(api_expect 200 GET /plans/redis:premium-5 | jq -r .limits.maxmemory_mb)" = 1024 ]
	[ "$(api_expect 200 GET /addon-services/redis/plans | jq length)" = 7 ]
	refused 404 not_found GET /addon-services/mysql
	refused 404 not_found GET /addon-services/redis/plans/standard-4
	refused 404 not_found GET /plans/heroku-postgresql:standard-9
}

@test "create: provisioning, a Heroku-style name, an address of the data CIDR, nothing in config yet" {
	body=$(api_expect 201 POST /apps/web1/addons '{"attachment":{},"config":{},"plan":{"name":"heroku-postgresql:standard-4"}}')
	name=$(jq -r .name <<<"$body")
	[[ "$name" =~ ^postgresql-[a-z]+-[0-9]+$ ]]
	[ "$(jq -r .state <<<"$body")" = provisioning ]
	[ "$(jq -r .plan.name <<<"$body")" = heroku-postgresql:standard-4 ]
	[ "$(jq -r .addon_service.name <<<"$body")" = heroku-postgresql ]
	[ "$(jq -r .app.name <<<"$body")" = web1 ]
	[ "$(jq -c .config_vars <<<"$body")" = '["DATABASE_URL"]' ]
	[[ "$(jq -r .private_ip <<<"$body")" == 10.1.0.* ]]
	[ "$(api GET /apps/web1/config-vars | jq -r .DATABASE_URL)" = null ]
	[ "$(api_expect 200 GET "/addons/$name" | jq -r .id)" = "$(jq -r .id <<<"$body")" ]
	[ "$(api_expect 200 GET /apps/web1/addons | jq -r '.[0].name')" = "$name" ]
	[ "$(api_expect 200 GET /apps/web1/addons/DATABASE | jq -r .name)" = "$name" ]
	att=$(api_expect 200 GET /apps/web1/addon-attachments)
	[ "$(jq -r '.[0].name' <<<"$att")" = DATABASE ]
	[ "$(jq -r '.[0].addon.name' <<<"$att")" = "$name" ]
	echo "$name" >"$BATS_FILE_TMPDIR/pg1"
	echo "$(jq -r .id <<<"$body")" >"$BATS_FILE_TMPDIR/pg1.id"
}

@test "the agent's report attaches: DATABASE_URL set, a release described as Heroku does" {
	name=$(cat "$BATS_FILE_TMPDIR/pg1")
	before=$(latest_release web1)
	report "$(cat "$BATS_FILE_TMPDIR/pg1.id")"
	[ "$(api GET "/addons/$name" | jq -r .state)" = provisioned ]
	url=$(api GET /apps/web1/config-vars | jq -r .DATABASE_URL)
	[[ "$url" =~ ^postgres://u[0-9a-f]+:[0-9a-f]{64}@10\.1\.0\.[0-9]+:5432/d[0-9a-f]+$ ]]
	[[ "$(latest_release web1)" == *" Attach DATABASE (@ref:$name) resource" ]]
	[ "$(latest_release web1)" != "$before" ]
	# Reported again: nothing more happens.
	n=$(api GET /apps/web1/releases | jq length)
	report "$(cat "$BATS_FILE_TMPDIR/pg1.id")"
	[ "$(api GET /apps/web1/releases | jq length)" = "$n" ]
}

@test "the attachment owns its config var: config-vars refuses to set or unset it" {
	msg=$(refused 422 invalid_params PATCH /apps/web1/config-vars '{"DATABASE_URL":"postgres://elsewhere/x"}')
	[ "$msg" = "Cannot overwrite attachment values DATABASE_URL." ]
	refused 422 invalid_params PATCH /apps/web1/config-vars '{"DATABASE_URL":null}'
	refused 422 invalid_params PATCH /apps/web1/config-vars '{"OK":"1","DATABASE_URL":null}'
}

@test "a second database gets a color name; Redis gets REDIS_URL" {
	body=$(api_expect 201 POST /apps/web1/addons '{"plan":"postgresql:essential-0"}')
	[[ "$(jq -r '.config_vars[0]' <<<"$body")" =~ ^HEROKU_POSTGRESQL_[A-Z]+_URL$ ]]
	redis=$(api_expect 201 POST /apps/web1/addons '{"plan":"redis:mini"}')
	[[ "$(jq -r .name <<<"$redis")" =~ ^redis-[a-z]+-[0-9]+$ ]]
	[ "$(jq -c .config_vars <<<"$redis")" = '["REDIS_URL"]' ]
	report "$(jq -r .id <<<"$redis")"
	[[ "$(api GET /apps/web1/config-vars | jq -r .REDIS_URL)" =~ ^redis://default:[0-9a-f]{64}@10\.1\.0\.[0-9]+:6379$ ]]
	# Every add-on of the space has its own address.
	[ "$(api GET /apps/web1/addons | jq -r '[.[].private_ip] | unique | length')" = 3 ]
}

@test "--as and --name are honoured, and checked" {
	body=$(api_expect 201 POST /apps/web2/addons '{"plan":"heroku-redis:premium-0","name":"cache-main","attachment":{"name":"CACHE"}}')
	[ "$(jq -r .name <<<"$body")" = cache-main ]
	[ "$(jq -c .config_vars <<<"$body")" = '["CACHE_URL"]' ]
	refused 422 invalid_params POST /apps/web2/addons '{"plan":"heroku-redis:mini","name":"cache-main"}'
	refused 422 invalid_params POST /apps/web2/addons '{"plan":"heroku-redis:mini","attachment":{"name":"CACHE"}}'
	refused 422 invalid_params POST /apps/web2/addons '{"plan":"heroku-redis:mini","attachment":{"name":"lower"}}'
	refused 422 invalid_params POST /apps/web2/addons '{"plan":"heroku-redis:mini","attachment":{"name":"CACHE2_URL"}}'
	refused 422 invalid_params POST /apps/web2/addons '{"plan":"heroku-redis:mini","name":"Bad Name"}'
}

@test "unknown plans and services, bad bodies, foreign apps are refused" {
	refused 404 not_found POST /apps/web1/addons '{"plan":"heroku-postgresql:standard-9"}'
	refused 404 not_found POST /apps/web1/addons '{"plan":"mysql:small"}'
	refused 404 not_found POST /apps/web1/addons '{"plan":"nothing"}'
	refused 422 invalid_params POST /apps/web1/addons '{}'
	refused 422 invalid_params POST /apps/web1/addons '{"plan":42}'
	refused 422 invalid_params POST /apps/web1/addons '{"plan":"redis:mini","attachment":"x"}'
	refused 422 invalid_params POST /apps/web1/addons '{"plan":"redis:mini","config":{"x":"1"}}'
	refused 404 not_found POST /apps/nope/addons '{"plan":"redis:mini"}'
	token=$(make_user stranger@example.com)
	API_TOKEN=$token refused 403 forbidden POST /apps/web1/addons '{"plan":"redis:mini"}'
	API_TOKEN=$token refused 404 not_found GET "/addons/$(cat "$BATS_FILE_TMPDIR/pg1")"
	[ "$(api_as "$token" GET /addons | jq length)" = 0 ]
}

@test "attach to another app of the space, refused across spaces; detach keeps the add-on" {
	name=$(cat "$BATS_FILE_TMPDIR/pg1")
	att=$(api_expect 201 POST /addon-attachments "{\"addon\":\"$name\",\"app\":\"web2\",\"name\":\"SHARED_DB\"}")
	[ "$(jq -r .name <<<"$att")" = SHARED_DB ]
	[ "$(api GET /apps/web2/config-vars | jq -r .SHARED_DB_URL)" = "$(api GET /apps/web1/config-vars | jq -r .DATABASE_URL)" ]
	[[ "$(latest_release web2)" == *" Attach SHARED_DB (@ref:$name) resource" ]]
	[ "$(api GET "/addons/$name/addon-attachments" | jq -r '[.[].app.name] | join(",")')" = web1,web2 ]
	refused 422 invalid_params POST /addon-attachments "{\"addon\":\"$name\",\"app\":\"web2\",\"name\":\"SHARED_DB\"}"
	refused 422 invalid_params POST /addon-attachments "{\"addon\":\"$name\",\"app\":\"far\"}"
	# web2 may not destroy what web1 is billed for.
	refused 422 invalid_params DELETE "/apps/web2/addons/$name"
	api_expect 200 DELETE "/addon-attachments/$(jq -r .id <<<"$att")" >/dev/null
	[ "$(api GET /apps/web2/config-vars | jq -r .SHARED_DB_URL)" = null ]
	[[ "$(latest_release web2)" == *" Detach SHARED_DB (@ref:$name) resource" ]]
	[ "$(api GET "/addons/$name" | jq -r .state)" = provisioned ]
	refused 404 not_found DELETE "/addon-attachments/$(jq -r .id <<<"$att")"
}

@test "rotating credentials: a new password in every attachment, a release" {
	name=$(cat "$BATS_FILE_TMPDIR/pg1")
	old=$(api GET /apps/web1/config-vars | jq -r .DATABASE_URL)
	api_expect 200 POST "/addons/$name/actions/rotate-credentials" >/dev/null
	new=$(api GET /apps/web1/config-vars | jq -r .DATABASE_URL)
	[ "$old" != "$new" ]
	[ "${old%%:*}" = "${new%%:*}" ]
	[[ "$(latest_release web1)" == *" Update DATABASE by $name" ]]
}

@test "destroy: config vars go with a release each, the add-on is gone" {
	name=$(cat "$BATS_FILE_TMPDIR/pg1")
	body=$(api_expect 200 DELETE "/apps/web1/addons/$name")
	[ "$(jq -r .state <<<"$body")" = deprovisioned ]
	[ "$(api GET /apps/web1/config-vars | jq -r .DATABASE_URL)" = null ]
	[[ "$(latest_release web1)" == *" Detach DATABASE (@ref:$name) resource" ]]
	refused 404 not_found GET "/addons/$name"
	refused 404 not_found DELETE "/apps/web1/addons/$name"
	# The name DATABASE is free again: the next database takes it.
	[ "$(api_expect 201 POST /apps/web1/addons '{"plan":"postgresql"}' | jq -c .config_vars)" = '["DATABASE_URL"]' ]
}

@test "destroying an app takes its add-ons out of the other apps' config, with a release" {
	api_expect 201 POST /apps '{"name":"owner","space":"prod"}' >/dev/null
	d=$(api_expect 201 POST /apps/owner/addons '{"plan":"postgresql:essential-1"}')
	report "$(jq -r .id <<<"$d")"
	api_expect 201 POST /addon-attachments "{\"addon\":\"$(jq -r .name <<<"$d")\",\"app\":\"web2\",\"name\":\"OWNER_DB\"}" >/dev/null
	[[ "$(api GET /apps/web2/config-vars | jq -r .OWNER_DB_URL)" == postgres://* ]]
	api_expect 200 DELETE /apps/owner >/dev/null
	[ "$(api GET /apps/web2/config-vars | jq -r .OWNER_DB_URL)" = null ]
	[[ "$(latest_release web2)" == *" Detach OWNER_DB (@ref:$(jq -r .name <<<"$d")) resource" ]]
	refused 404 not_found GET "/addons/$(jq -r .name <<<"$d")"
}

@test "PATCH changes the plan within the service and changes nothing else" {
	d=$(api_expect 201 POST /apps/web2/addons '{"plan":"redis:premium-1"}')
	name=$(jq -r .name <<<"$d")
	[ "$(api_expect 200 PATCH "/apps/web2/addons/$name" '{"plan":"heroku-redis:premium-3"}' | jq -r .plan.name)" = heroku-redis:premium-3 ]
	[ "$(api_expect 200 PATCH "/apps/web2/addons/$name" '{"plan":{"name":"premium-2"}}' | jq -r .plan.name)" = heroku-redis:premium-2 ]
	[ "$(api GET "/addons/$name" | jq -r .private_ip)" = "$(jq -r .private_ip <<<"$d")" ]
	refused 422 invalid_params PATCH "/apps/web2/addons/$name" '{"plan":"heroku-postgresql:standard-0"}'
	refused 404 not_found PATCH "/apps/web2/addons/$name" '{"plan":"premium-9"}'
	refused 422 invalid_params PATCH "/apps/web2/addons/$name" '{}'
}

@test "the agent's desired state carries the add-ons of its spaces" {
	desired=$(api_as "$(cat "$BATS_FILE_TMPDIR/host.token")" GET /agent/desired)
	[ "$(jq '[.spaces[].addons[] | select(.service == "postgresql")] | length' <<<"$desired")" -ge 1 ]
	jq -e '.spaces[] | select(.name == "prod") | .addons[] | select(.service == "redis" and .plan == "mini") | .maxmemory_mb == 25 and .prefix == 16 and (.address | test("^10\\.1\\.0\\.[0-9]+$"))' <<<"$desired" >/dev/null
	[ "$(jq '.spaces[] | select(.name == "other") | .addons | length' <<<"$desired")" = 0 ]
}
