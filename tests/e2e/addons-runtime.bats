#!/usr/bin/env bats
# Add-ons end to end (issue 7): real PostgreSQL and Redis servers inside the app's space,
# reached by the app's dynos through DATABASE_URL and REDIS_URL, supervised (kill -9, coved
# restarts) with their data, unreachable from outside their space, and deleted with their
# data by addons:destroy. Needs root; run under the kernel lock.

load helpers
load runtime-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	command -v psql >/dev/null && command -v redis-cli >/dev/null || skip "psql and redis-cli are needed (tools/install-deps.sh)"
	export COVED_ROLE=all
	coved_start --boot-timeout 20 --stop-timeout 3
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"prod","team":"acme"}' >/dev/null
	# The same networks as prod, as spaces have by default: the address of prod's database
	# means nothing there.
	api_expect 201 POST /spaces '{"name":"far","team":"acme"}' >/dev/null
	wait_space prod allocated
	wait_space far allocated
	api_expect 201 POST /teams/apps '{"name":"myapp","space":"prod"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"farapp","space":"far"}' >/dev/null
	# The worker checks what its config gives it, then idles: each start inserts a row.
	cat >"$BATS_FILE_TMPDIR/check.sh" <<-'EOF'
		if [ -n "$DATABASE_URL" ]; then
		  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt -c "CREATE TABLE IF NOT EXISTS t (v text)" \
		    -c "INSERT INTO t VALUES ('$DYNO')" -c "SELECT 'ROWS=' || count(*) FROM t" 2>&1
		fi
		if [ -n "$REDIS_URL" ]; then
		  echo "REDIS=$(redis-cli --no-auth-warning -u "$REDIS_URL" PING 2>&1)"
		fi
		echo CHECKED
		exec sleep 100000
	EOF
	deploy_slug myapp '{"worker":"sh check.sh"}' "$BATS_FILE_TMPDIR/check.sh" >/dev/null
	deploy_slug farapp '{"worker":"exec sleep 100000"}' >/dev/null
	api_expect 200 PATCH /apps/myapp/formation '{"updates":[{"type":"worker","quantity":1}]}' >/dev/null
	api_expect 200 PATCH /apps/farapp/formation '{"updates":[{"type":"worker","quantity":1}]}' >/dev/null
	wait_dynos myapp 1
	wait_dynos farapp 1
}

teardown_file() {
	runtime_cleanup
}

# wait_output APP DYNO PATTERN [SECONDS]: until the dyno's output has a line matching PATTERN.
wait_output() {
	local i
	for i in $(seq 1 $((${4:-40} * 5))); do
		dyno_output "$1" "$2" | grep -q -E "$3" && return 0
		sleep 0.2
	done
	echo "dyno $2 of $1 never printed '$3'; it printed:" >&2
	dyno_output "$1" "$2" >&2
	tail -20 "$COVED_DATA/coved.log" >&2
	return 1
}

addon_id() {
	api GET "/apps/myapp/addons/$1" | jq -r .id
}

# The host pid of an add-on's server (the child of its sandbox's init).
server_pid() {
	local init
	init=$(sed -n 's/^init_pid=//p' "$COVED_DATA/agent/addons/$(addon_id "$1")/sandbox/pid")
	pgrep -P "$init" | head -1
}

# db_rows: the rows of table t, asked from the network namespace of myapp's worker.
db_rows() {
	local url
	url=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	in_dyno_net myapp worker.1 psql "$url" -qAt -c "SELECT count(*) FROM t"
}

# wait_db_rows: until the database answers, then prints its rows.
wait_db_rows() {
	local i
	for i in $(seq 1 100); do
		db_rows 2>/dev/null && return 0
		sleep 0.3
	done
	db_rows
}

@test "the seed: addons:create prints what the seed shows, DATABASE_URL is private, a dyno uses it" {
	run cove addons:create heroku-postgresql:standard-4 -a myapp
	[ "$status" -eq 0 ]
	version=$(api GET /apps/myapp/releases -H "Range: version ..; max=1, order=desc" | jq -r '.[0].version')
	[[ "${lines[0]}" =~ ^Creating\ postgresql-[a-z]+-[0-9]+\.\.\.\ done$ ]]
	[ "${lines[1]}" = "This database will be created in a private space." ]
	[ "${lines[2]}" = "Setting DATABASE_URL and restarting myapp... done, v$version" ]
	[ "${#lines[@]}" -eq 3 ]
	name=$(cut -d' ' -f2 <<<"${lines[0]}" | sed 's/\.\.\.$//')
	[ "$(api GET /apps/myapp/releases -H "Range: version ..; max=1, order=desc" | jq -r '.[0].description')" = "Attach DATABASE (@ref:$name) resource" ]
	run cove config:get DATABASE_URL -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^postgres://u[0-9a-f]+:[0-9a-f]{64}@10\.1\.0\.[0-9]+:5432/d[0-9a-f]+$ ]]
	# The release restarted the worker, which created the table and read it back.
	wait_output myapp worker.1 '^ROWS=1$'
	# The server has its plan's limits.
	id=$(addon_id DATABASE)
	[ -d "$COVED_DATA/addons/$id/pgdata" ]
	[ "$(in_dyno_net myapp worker.1 psql "$output" -qAt -c 'SHOW max_connections')" = 500 ]
	# The space's resolver knows the add-on by its name.
	ip=$(api GET "/addons/$name" | jq -r .private_ip)
	for i in $(seq 1 50); do
		[ "$(in_dyno_net myapp worker.1 dig +short +time=1 +tries=1 @10.0.0.1 "$name" A)" = "$ip" ] && break
		sleep 0.2
	done
	[ "$(in_dyno_net myapp worker.1 dig +short +time=1 +tries=1 @10.0.0.1 "$name" A)" = "$ip" ]
	run cove addons -a myapp
	[ "$status" -eq 0 ]
	[[ "$output" == *"heroku-postgresql ($name)"*"standard-4"*"created"* ]]
	[[ "$output" == *"└─ as DATABASE"* ]]
}

@test "a Redis add-on answers PING from a dyno through REDIS_URL" {
	run cove addons:create heroku-redis:mini -a myapp
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^Creating\ redis-[a-z]+-[0-9]+\.\.\.\ done$ ]]
	[[ "${lines[1]}" =~ ^Setting\ REDIS_URL\ and\ restarting\ myapp\.\.\.\ done,\ v[0-9]+$ ]]
	wait_output myapp worker.1 '^REDIS=PONG$'
	# Its plan's maxmemory, and its password is required.
	url=$(api GET /apps/myapp/config-vars | jq -r .REDIS_URL)
	[ "$(in_dyno_net myapp worker.1 redis-cli --no-auth-warning -u "$url" CONFIG GET maxmemory | tail -1)" = $((25 * 1024 * 1024)) ]
	host=${url##*@}
	[[ "$(in_dyno_net myapp worker.1 redis-cli -h "${host%:*}" -p "${host#*:}" PING 2>&1)" == *NOAUTH* ]]
}

@test "kill -9 of the PostgreSQL server: it comes back with its data" {
	before=$(wait_db_rows)
	[ "$before" -ge 1 ]
	pid=$(server_pid DATABASE)
	[ -n "$pid" ]
	kill -9 "$pid"
	log_has "heroku\\[postgresql-[a-z]+-[0-9]+\\]: Server exited with status" 20
	[ "$(wait_db_rows)" = "$before" ]
	[ "$(server_pid DATABASE)" != "$pid" ]
}

@test "a coved restart keeps the servers running and their data" {
	before=$(wait_db_rows)
	pid=$(server_pid DATABASE)
	coved_restart --boot-timeout 20 --stop-timeout 3
	log_has "adopted add-on 'postgresql-" 20
	[ "$(wait_db_rows)" = "$before" ]
	# Adopted, not started again.
	[ "$(server_pid DATABASE)" = "$pid" ]
}

@test "the database is unreachable from the host, from outside, and from another space" {
	url=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	host=${url##*@}
	ip=${host%%:*}
	space=$(api GET /spaces/prod | jq -r .id)
	# The host has no route into a space; even one forced through the space's uplink ends there.
	uplink=$(ip -n "cove-s-$space" -4 -o addr show uplink | awk '{print $4}' | cut -d/ -f1)
	cu=$(ip -o link show | grep -o "cu-${space:0:8}")
	ip route add "$ip/32" via "$uplink" dev "$cu"
	run timeout 5 nc -z -w 2 "$ip" 5432
	ip route del "$ip/32" via "$uplink" dev "$cu"
	[ "$status" -ne 0 ]
	# An outside namespace behind the host, with the same forced route.
	ip netns add cvtest-addon-out
	ip link add cvtest-ah type veth peer name cvtest-ai netns cvtest-addon-out
	ip addr add 203.0.113.254/24 dev cvtest-ah
	ip link set cvtest-ah up
	ip -n cvtest-addon-out addr add 203.0.113.1/24 dev cvtest-ai
	ip -n cvtest-addon-out link set cvtest-ai up
	ip -n cvtest-addon-out route add "$ip/32" via 203.0.113.254
	ip route add "$ip/32" via "$uplink" dev "$cu"
	run ip netns exec cvtest-addon-out timeout 5 nc -z -w 2 "$ip" 5432
	ip route del "$ip/32" via "$uplink" dev "$cu"
	ip link del cvtest-ah
	ip netns del cvtest-addon-out
	[ "$status" -ne 0 ]
	# A dyno of another space: the same address is its own space's, where nothing answers.
	run in_dyno_net farapp worker.1 timeout 5 nc -z -w 2 "$ip" 5432
	[ "$status" -ne 0 ]
	# The path itself works from myapp's dyno, and from the space namespace (the bastion's way
	# in, docs/addons.md).
	in_dyno_net myapp worker.1 timeout 5 nc -z -w 2 "$ip" 5432
	ip netns exec "cove-s-$space" timeout 5 nc -z -w 2 "$ip" 5432
}

@test "pg:credentials:rotate: a new password in the server and in config, with a release" {
	old=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	run cove pg:credentials:rotate -a myapp
	[ "$status" -ne 0 ]
	[[ "$output" == *"--confirm myapp"* ]]
	run cove pg:credentials:rotate -a myapp --confirm myapp
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^Rotating\ all\ credentials\ on\ postgresql-[a-z]+-[0-9]+\.\.\.\ done$ ]]
	[[ "${lines[1]}" =~ ^Updating\ DATABASE_URL\ and\ restarting\ myapp\.\.\.\ done,\ v[0-9]+$ ]]
	new=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	[ "$old" != "$new" ]
	# The new one works once the server has restarted; the old one no longer does.
	wait_db_rows >/dev/null
	run in_dyno_net myapp worker.1 psql "$old" -qAt -c "SELECT 1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"password authentication failed"* ]]
}

@test "addons:upgrade: the server restarts with the new plan's limits and keeps its data" {
	before=$(wait_db_rows)
	run cove addons:upgrade DATABASE standard-0 -a myapp
	[ "$status" -eq 0 ]
	url=$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)
	for i in $(seq 1 100); do
		[ "$(in_dyno_net myapp worker.1 psql "$url" -qAt -c 'SHOW max_connections' 2>/dev/null)" = 120 ] && break
		sleep 0.3
	done
	[ "$(in_dyno_net myapp worker.1 psql "$url" -qAt -c 'SHOW max_connections')" = 120 ]
	[ "$(wait_db_rows)" = "$before" ]
}

@test "addons:destroy asks for confirmation, then removes the server, its network and its data" {
	name=$(api GET /apps/myapp/addons/DATABASE | jq -r .name)
	id=$(addon_id DATABASE)
	run cove addons:destroy "$name" -a myapp
	[ "$status" -ne 0 ]
	[ -d "$COVED_DATA/addons/$id" ]
	run cove addons:destroy "$name" -a myapp --confirm myapp
	[ "$status" -eq 0 ]
	[ "$output" = "Destroying $name on myapp... done" ]
	[ "$(api GET /apps/myapp/config-vars | jq -r .DATABASE_URL)" = null ]
	for i in $(seq 1 100); do
		[ ! -e "$COVED_DATA/addons/$id" ] && ! ip netns list | grep -q "cove-d-$id" && break
		sleep 0.2
	done
	[ ! -e "$COVED_DATA/addons/$id" ]
	[ ! -e "$COVED_DATA/agent/addons/$id" ]
	! ip netns list | grep -q "cove-d-$id"
}
