#!/usr/bin/env bats
# Postgres backups (docs/addons.md, "Backups"): pg:backups:capture dumps a real add-on with
# pg_dump run by coved inside its space, pg:backups lists it, download hands out the dump,
# restore brings the data back; refusals change nothing.
#
# Runs the agent (namespaces, data services): take the kernel lock.

load helpers
load runtime-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || skip "pg_dump is needed (tools/install-deps.sh)"
	export COVED_ROLE=all
	coved_start --boot-timeout 20 --stop-timeout 3
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"bk-prod","team":"acme"}' >/dev/null
	wait_space bk-prod allocated
	api_expect 201 POST /teams/apps '{"name":"bkapp","space":"bk-prod"}' >/dev/null
	cove addons:create heroku-postgresql:essential-0 -a bkapp >/dev/null
	local i
	for i in $(seq 1 150); do
		[ "$(api GET /apps/bkapp/addons | jq '[.[] | select(.state == "provisioned")] | length')" = 1 ] && break
		sleep 0.2
	done
	make_user stranger@other.test >"$COVED_DATA/stranger.token"
}

teardown_file() {
	runtime_cleanup
}

psql_retry() {
	local i
	for i in $(seq 1 25); do
		cove pg:psql -a bkapp -c "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	cove pg:psql -a bkapp -c "$1"
}

@test "capture: a table's dump is listed as completed with its size" {
	run psql_retry 'create table notes (v text); insert into notes values ($$one$$), ($$two$$)'
	[ "$status" -eq 0 ]
	run cove pg:backups:capture -a bkapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"Backing up to b001... done"* ]]
	run cove pg:backups -a bkapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== Backups"*"b001"*"Completed"* ]]
	b=$(api GET /apps/bkapp/pg-backups/b001)
	[ "$(echo "$b" | jq -r .status)" = completed ]
	[ "$(echo "$b" | jq -r .size)" -gt 0 ]
	addon=$(echo "$b" | jq -r .addon.id)
	[ -s "$COVED_DATA/backups/$addon/b001.dump" ]
	# The password never shows in the audit trail nor in a process list: it went through env.
	[ "$(sqlite3 "$COVED_DATA/cove.db" "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'Captured backup b001%'")" = 1 ]
}

@test "download: latest.dump is a file pg_restore reads, and the download is audited" {
	cd "$BATS_TEST_TMPDIR"
	run cove pg:backups:download -a bkapp
	[ "$status" -eq 0 ]
	[ -s latest.dump ]
	run pg_restore --list latest.dump
	[ "$status" -eq 0 ]
	[[ "$output" == *"TABLE public notes"* ]]
	run cove pg:backups:download b001 -a bkapp -o other.dump
	[ "$status" -eq 0 ]
	cmp latest.dump other.dump
	# An unknown backup: the API's message, and no file at all.
	msg=$(cli_refused 1 pg:backups:download b404 -a bkapp -o none.dump)
	[[ "$msg" == *"backup 'b404' of 'bkapp' not found"* ]]
	[ ! -e none.dump ] && [ ! -e none.dump.part ]
	[ "$(sqlite3 "$COVED_DATA/cove.db" "SELECT COUNT(*) FROM audit_events WHERE action = 'Downloaded backup b001 of bkapp'")" = 2 ]
}

@test "restore: a dropped table comes back" {
	run psql_retry 'drop table notes'
	[ "$status" -eq 0 ]
	run cove pg:backups:restore -a bkapp --confirm bkapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"Starting restore of b001"*"Restoring... done"* ]]
	run psql_retry 'select v from notes order by v'
	[ "$status" -eq 0 ]
	[[ "$output" == *"one"*"two"*"(2 rows)"* ]]
	run cove pg:backups -a bkapp
	[[ "$output" == *"=== Restores"*"r001 (from b001)"*"Completed"* ]]
}

@test "refusals: a bad backup, no confirmation, a user without access; nothing changes" {
	before=$(sqlite3 "$COVED_DATA/cove.db" 'SELECT COUNT(*) FROM pg_backups')
	msg=$(cli_refused 1 pg:backups:restore b999 -a bkapp --confirm bkapp)
	[[ "$msg" == *"backup 'b999' of 'bkapp' not found"* ]]
	api_expect 404 GET /apps/bkapp/pg-backups/b999/download >/dev/null
	api_expect 422 POST /apps/bkapp/pg-backups/b001/actions/restore '{}' >/dev/null
	msg=$(cli_refused 1 pg:backups:restore b001 -a bkapp --confirm wrong)
	[[ "$msg" == *"does not match"* ]]
	API_TOKEN=$(cat "$COVED_DATA/stranger.token") api_expect 403 GET /apps/bkapp/pg-backups >/dev/null
	API_TOKEN=$(cat "$COVED_DATA/stranger.token") api_expect 403 POST /apps/bkapp/pg-backups '{}' >/dev/null
	API_TOKEN=$(cat "$COVED_DATA/stranger.token") api_expect 403 GET /apps/bkapp/pg-backups/b001/download >/dev/null
	[ "$(sqlite3 "$COVED_DATA/cove.db" 'SELECT COUNT(*) FROM pg_backups')" = "$before" ]
	run psql_retry 'select count(*) from notes'
	[[ "$output" == *" 2"* ]]
}

@test "schedule: shows in schedules, coved captures when due, unschedule removes it" {
	run cove pg:backups:schedule DATABASE --at '02:00 UTC' -a bkapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"Scheduling automatic daily backups of "*" at 02:00 UTC... done"* ]]
	run cove pg:backups:schedules -a bkapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== Backup Schedules"*"daily at 02:00 UTC"* ]]
	# Bad hours and time zones are refused and change nothing.
	api_expect 422 POST /apps/bkapp/pg-backup-schedules '{"at":"02:30 UTC"}' >/dev/null
	msg=$(cli_refused 1 pg:backups:schedule --at '02:00 Europe/Paris' -a bkapp)
	[[ "$msg" == *"give the hour in UTC"* ]]
	API_TOKEN=$(cat "$COVED_DATA/stranger.token") api_expect 403 POST /apps/bkapp/pg-backup-schedules '{"at":"3"}' >/dev/null
	[ "$(api GET /apps/bkapp/pg-backup-schedules | jq -r '.[0].hour')" = 2 ]
	# Due now (this hour, not yet served today): coved's scheduler captures within its 30 s tick.
	hour=$(date -u +%H)
	api_expect 201 POST /apps/bkapp/pg-backup-schedules "{\"at\":\"$hour:00 UTC\"}" >/dev/null
	sqlite3 -cmd '.timeout 5000' "$COVED_DATA/cove.db" "UPDATE pg_backup_schedules SET last_day = '2000-01-01'"
	local i
	for i in $(seq 1 45); do
		[ "$(api GET /apps/bkapp/pg-backups | jq '[.[] | select(.user_email == "scheduler" and .status == "completed")] | length')" = 1 ] && break
		sleep 1
	done
	[ "$(api GET /apps/bkapp/pg-backups | jq '[.[] | select(.user_email == "scheduler" and .status == "completed")] | length')" = 1 ]
	[ "$(api GET /apps/bkapp/pg-backup-schedules | jq -r '.[0].last_day')" = "$(date -u +%F)" ]
	run cove pg:backups:unschedule DATABASE -a bkapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"Unscheduling DATABASE daily backups... done"* ]]
	run cove pg:backups:schedules -a bkapp
	[[ "$output" == *"No backup schedules found on bkapp"* ]]
	msg=$(cli_refused 1 pg:backups:unschedule DATABASE -a bkapp)
	[[ "$msg" == *"has no backup schedule"* ]]
}

@test "a capture that fails is listed as failed with pg_dump's error, and the latest stays the last good one" {
	addon=$(api GET /apps/bkapp/pg-backups/b001 | jq -r .addon.id)
	n=$(api GET /apps/bkapp/pg-backups | jq '[.[] | select(.kind == "capture")] | length')
	next=$(printf 'b%03d' $((n + 1)))
	# pg_dump cannot write its file where a directory stands.
	mkdir "$COVED_DATA/backups/$addon/$next.dump"
	run cove pg:backups:capture -a bkapp
	# Shown when the test fails: what ran and what the dump directory holds.
	echo "$output"; echo "n=$n next=$next"; ls -la "$COVED_DATA/backups/$addon"
	api GET /apps/bkapp/pg-backups | jq -c '.[] | [.name, .status, .user_email, .addon.id]' 
	[ "$status" -eq 1 ]
	[[ "$output" == *"Backing up to $next... failed"*"cove: $next of 'bkapp' failed: pg_dump: error: could not open output file"* ]]
	b=$(api GET "/apps/bkapp/pg-backups/$next")
	[ "$(echo "$b" | jq -r .status)" = failed ]
	[ "$(echo "$b" | jq -r .size)" = 0 ]
	run cove pg:backups -a bkapp
	[[ "$output" == *"$next"*"Failed"* ]]
	[ "$(api GET /apps/bkapp/pg-backups/latest | jq -r .name)" = "$(printf 'b%03d' "$n")" ]
	api_expect 422 POST "/apps/bkapp/pg-backups/$next/actions/restore" '{"confirm":"bkapp"}' >/dev/null
}
