#!/usr/bin/env bats
# The add-on commands of the CLI against the API alone: an agent's report stands in for the
# servers (addons-runtime.bats runs real ones).

load helpers

setup_file() {
	coved_start
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"other","team":"acme"}' >/dev/null
	api_expect 201 POST /apps '{"name":"myapp","space":"prod"}' >/dev/null
	api_expect 201 POST /apps '{"name":"reports","space":"prod"}' >/dev/null
	api_expect 201 POST /apps '{"name":"far","space":"other"}' >/dev/null
	host=$(api_expect 201 POST /hosts '{"name":"h1","regions":"virginia"}' | jq -r .token)
	d=$(api_expect 201 POST /apps/myapp/addons '{"plan":"heroku-postgresql:standard-0","name":"postgresql-round-42"}')
	api_as "$host" POST /agent/report "{\"addons\":[{\"id\":\"$(jq -r .id <<<"$d")\",\"state\":\"provisioned\"}]}" >/dev/null
}

teardown_file() {
	coved_stop
}

@test "addons lists the add-on with its attachment; addons:info shows it" {
	run cove addons -a myapp
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Add-on"*"Plan"*"Price"*"State" ]]
	[[ "$output" == *"heroku-postgresql (postgresql-round-42)"*"standard-0"*"free"*"created"* ]]
	[[ "$output" == *" └─ as DATABASE"* ]]
	run cove addons -a reports
	[ "$output" = "No add-ons for app reports." ]
	run cove addons:info postgresql-round-42
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== postgresql-round-42" ]
	[[ "$output" == *"Attachments:"*"myapp::DATABASE"* ]]
	[[ "$output" == *"Plan:"*"heroku-postgresql:standard-0"* ]]
	[[ "$output" == *"Private address: 10.1.0.2:5432"* ]]
	run cove addons:info DATABASE -a myapp --json
	[ "$(jq -r .name <<<"$output")" = postgresql-round-42 ]
	cli_refused 1 addons:info nothing -a myapp
}

@test "addons:attach and addons:detach: config var and release on the other app" {
	run cove addons:attach postgresql-round-42 -a reports --as MAIN_DB
	[ "$status" -eq 0 ]
	v=$(api GET /apps/reports/releases -H "Range: version ..; max=1, order=desc" | jq -r '.[0].version')
	[ "${lines[0]}" = "Attaching postgresql-round-42 to reports... done" ]
	[ "${lines[1]}" = "Setting MAIN_DB_URL and restarting reports... done, v$v" ]
	run cove addons -a reports
	[[ "$output" == *"└─ as myapp::DATABASE"* ]]
	[[ "$output" == *"└─ as MAIN_DB"* ]]
	msg=$(cli_refused 1 addons:attach postgresql-round-42 -a far)
	[[ "$msg" == *"another space"* ]]
	msg=$(cli_refused 1 config:unset MAIN_DB_URL -a reports)
	[ "$msg" = "Cannot overwrite attachment values MAIN_DB_URL." ]
	run cove addons:detach MAIN_DB -a reports
	[ "$status" -eq 0 ]
	v=$(api GET /apps/reports/releases -H "Range: version ..; max=1, order=desc" | jq -r '.[0].version')
	[ "${lines[0]}" = "Detaching MAIN_DB to postgresql-round-42 from reports... done" ]
	[ "${lines[1]}" = "Unsetting MAIN_DB_URL and restarting reports... done, v$v" ]
	[ "$(api GET /apps/reports/config-vars | jq -r .MAIN_DB_URL)" = null ]
	cli_refused 1 addons:detach MAIN_DB -a reports
}

@test "addons:services, addons:plans, pg:info" {
	run cove addons:services
	[ "$status" -eq 0 ]
	[[ "$output" == *"heroku-postgresql"*"Heroku Postgres"* ]]
	[[ "$output" == *"heroku-redis"*"Heroku Key-Value Store"* ]]
	run cove addons:plans redis
	[[ "$output" == *"heroku-redis:mini"*"Mini"*"64 MB"*"20"*"25 MB (maxmemory)"* ]]
	cli_refused 1 addons:plans mysql
	run cove pg:info -a myapp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "=== DATABASE_URL" ]
	[[ "$output" == *"Plan:"*"Standard 0"* ]]
	[[ "$output" == *"Connections:"*"max 120"* ]]
	[[ "$output" == *"Status:"*"Available"* ]]
	msg=$(cli_refused 1 redis:info -a myapp)
	[[ "$msg" == *"no heroku-redis add-on"* ]]
}

@test "addons:upgrade changes the plan within the service, in the desired state too" {
	run cove addons:upgrade DATABASE standard-2 -a myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Changing postgresql-round-42 on myapp from heroku-postgresql:standard-0 to heroku-postgresql:standard-2... done" ]
	[ "$(api GET /addons/postgresql-round-42 | jq -r .plan.name)" = heroku-postgresql:standard-2 ]
	[ "$(api GET /addons/postgresql-round-42 | jq -r .state)" = provisioned ]
	msg=$(cli_refused 1 addons:upgrade DATABASE heroku-redis:mini -a myapp)
	[[ "$msg" == *"heroku-postgresql"* ]]
	cli_refused 1 addons:upgrade DATABASE standard-9 -a myapp
	api_expect 201 POST /addon-attachments '{"addon":"postgresql-round-42","app":"reports","name":"UP"}' >/dev/null
	msg=$(cli_refused 1 addons:upgrade UP standard-3 -a reports)
	[[ "$msg" == *"belongs to app 'myapp'"* ]]
	api_expect 200 DELETE "/addon-attachments/$(api GET /apps/reports/addon-attachments/UP | jq -r .id)" >/dev/null
}

@test "addons:destroy needs the app's name and only the billing app may" {
	api_expect 201 POST /addon-attachments '{"addon":"postgresql-round-42","app":"reports","name":"X"}' >/dev/null
	msg=$(cli_refused 1 addons:destroy postgresql-round-42 -a reports --confirm reports)
	[[ "$msg" == *"belongs to app 'myapp'"* ]]
	msg=$(cli_refused 1 addons:destroy postgresql-round-42 -a myapp)
	[[ "$msg" == *"--confirm myapp"* ]]
	msg=$(cli_refused 1 addons:destroy postgresql-round-42 -a myapp --confirm nope)
	[[ "$msg" == *"does not match"* ]]
	run cove addons:destroy postgresql-round-42 -a myapp --confirm myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Destroying postgresql-round-42 on myapp... done" ]
	[ "$(api GET /apps/reports/config-vars | jq -r .X_URL)" = null ]
	[ "$(api GET /apps/myapp/addons | jq length)" = 0 ]
}
