#!/usr/bin/env bats
# The router's event loops (router-proxy.c), a router of its own on loopback in front of
# router-app.py (no agent, no namespace):
# - they poll for events a while before they sleep (--poll-us, loop_wait()): requests are
#   served the same with polling on and off, an idle router does not spin;
# - the writes of a pass that brought several events go out together (--io-uring,
#   loop_send_staged()): with many connections at once, each answer reaches its own client
#   whole, with batching on and off;
# - the options are checked.

load helpers

setup_file() {
	WORK=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/router-loops.XXXXXX")
	export WORK
	APP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	export APP_PORT
	HEROKU_APP_NAME=pollapp DYNO=web.1 python3 "$BATS_TEST_DIRNAME/router-app.py" "$APP_PORT" 127.0.0.1 \
		>"$WORK/app.log" 2>&1 &
	echo $! >"$WORK/app.pid"
	cat >"$WORK/table.json" <<EOF
{"space": "poll",
 "timeouts": {"connect_ms": 2000, "response_ms": 5000, "idle_ms": 5000, "header_ms": 5000, "keepalive_ms": 10000},
 "apps": [{"id": "a1", "name": "pollapp", "maintenance": false, "internal": false, "web": 1,
           "domains": ["pollapp.poll.localhost"],
           "dynos": [{"id": "d1", "name": "web.1", "address": "127.0.0.1", "port": $APP_PORT}]}]}
EOF
	for i in $(seq 1 50); do
		curl -s -o /dev/null "http://127.0.0.1:$APP_PORT/hello" && break
		sleep 0.1
	done
}

teardown_file() {
	kill "$(cat "$WORK/app.pid")" 2>/dev/null || true
}

teardown() {
	if [ -s "$WORK/router.pid" ]; then
		kill "$(cat "$WORK/router.pid")" 2>/dev/null || true
		wait_gone "$(cat "$WORK/router.pid")"
		rm -f "$WORK/router.pid"
	fi
}

wait_gone() {
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
}

# router_start [args]: a router with two loops on a free port of 127.0.0.1 (ROUTER).
router_start() {
	local port
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	ROUTER=127.0.0.1:$port
	: >"$WORK/router.log"
	"$COVE_BUILD_DIR/coved" router --space poll --table "$WORK/table.json" --log "$WORK/router.log" \
		--listen "$ROUTER" --threads 2 --debug "$@" 2>"$WORK/router.err" &
	echo $! >"$WORK/router.pid"
	for i in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: pollapp.poll.localhost' "http://$ROUTER/hello")" = 200 ] &&
			return 0
		sleep 0.1
	done
	cat "$WORK/router.err"
	return 1
}

# keepalive_requests N: N requests on one connection; prints how many answered the app's hello.
keepalive_requests() {
	local urls=()
	for i in $(seq 1 "$1"); do urls+=("http://$ROUTER/hello"); done
	curl -sS -H 'Host: pollapp.poll.localhost' "${urls[@]}" -w '\n' | grep -c '^hello from pollapp$'
}

# cpu_ticks PID: user and system time of the process so far, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "with polling off (--poll-us 0), keep-alive requests are served and logged" {
	router_start --poll-us 0
	[ "$(keepalive_requests 200)" = 200 ]
	sleep 0.3 # log lines wait up to 100 ms for their write
	[ "$(grep -c 'at=info method=GET path="/hello" host=pollapp.poll.localhost' "$WORK/router.log")" -ge 200 ]
}

@test "with polling on (the default), keep-alive requests are served and logged" {
	router_start
	[ "$(keepalive_requests 200)" = 200 ]
	sleep 0.3
	[ "$(grep -c 'at=info method=GET path="/hello" host=pollapp.poll.localhost' "$WORK/router.log")" -ge 200 ]
}

@test "an idle router does not poll: no CPU time while nothing comes" {
	router_start --poll-us 10000
	keepalive_requests 500 >/dev/null
	sleep 0.5
	local pid before after
	pid=$(cat "$WORK/router.pid")
	before=$(cpu_ticks "$pid")
	sleep 2
	after=$(cpu_ticks "$pid")
	# A loop that kept polling would take 200 ticks in 2 s; the idle loops wake once a second.
	[ $((after - before)) -le 5 ]
}

# router_stop: stops the router and waits for it (its loops report what they staged on the way out).
router_stop() {
	local pid
	pid=$(cat "$WORK/router.pid")
	kill "$pid"
	wait_gone "$pid"
	rm -f "$WORK/router.pid"
}

# staged: the writes the loops sent staged, all loops together (from their last words).
staged() {
	sed -n 's/.*router: loop [0-9]*: \([0-9]*\) writes sent staged.*/\1/p' "$WORK/router.err" | awk '{ s += $1 } END { print s + 0 }'
}

@test "many connections at once: each answer reaches its own client whole, writes sent together" {
	router_start
	run python3 "$BATS_TEST_DIRNAME/router-client.py" many "$ROUTER" pollapp.poll.localhost 48 12
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "576 answers right" ]
	router_stop
	cat "$WORK/router.err"
	# Passes with several events sent their writes staged; a loop without io_uring says so.
	grep -q "io_uring unavailable" "$WORK/router.err" || [ "$(staged)" -gt 0 ]
}

@test "many connections at once, with --io-uring off: the same answers, each write on its own" {
	router_start --io-uring off
	run python3 "$BATS_TEST_DIRNAME/router-client.py" many "$ROUTER" pollapp.poll.localhost 48 12
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "576 answers right" ]
	router_stop
	[ "$(staged)" -eq 0 ]
	grep -q "writes sent staged" "$WORK/router.err"
}

@test "--poll-us out of range is refused" {
	run "$COVE_BUILD_DIR/coved" router --table "$WORK/table.json" --listen 127.0.0.1:1 --poll-us 10001
	[ "$status" -eq 2 ]
	[[ "$output" == *"--poll-us '10001' is invalid: 0 to 10000"* ]]
}

@test "--io-uring and the loops' numbers are checked" {
	run "$COVE_BUILD_DIR/coved" router --table "$WORK/table.json" --listen 127.0.0.1:1 --io-uring maybe
	[ "$status" -eq 2 ]
	[[ "$output" == *"--io-uring 'maybe' is invalid: on or off"* ]]
	run "$COVE_BUILD_DIR/coved" router --table "$WORK/table.json" --listen 127.0.0.1:1 --threads 2x
	[ "$status" -eq 2 ]
	[[ "$output" == *"--threads '2x' is invalid: 0 to 64"* ]]
	run "$COVE_BUILD_DIR/coved" router --table "$WORK/table.json" --listen 127.0.0.1:1 --drain -5
	[ "$status" -eq 2 ]
	[[ "$output" == *"--drain '-5' is invalid: 0 to 3600"* ]]
}
