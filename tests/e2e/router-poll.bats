#!/usr/bin/env bats
# The router's loops poll for events a while before they sleep (--poll-us, router-proxy.c's
# loop_wait()): requests are served the same with polling on and off, an idle router does not
# spin, and the option is checked. A router of its own on loopback, in front of router-app.py:
# no agent, no namespace.

load helpers

setup_file() {
	WORK=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/router-poll.XXXXXX")
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
		--listen "$ROUTER" --threads 2 "$@" 2>"$WORK/router.err" &
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

@test "--poll-us out of range is refused" {
	run "$COVE_BUILD_DIR/coved" router --table "$WORK/table.json" --listen 127.0.0.1:1 --poll-us 10001
	[ "$status" -eq 2 ]
	[[ "$output" == *"--poll-us '10001' is invalid: 0 to 10000"* ]]
}
