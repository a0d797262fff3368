#!/usr/bin/env bats
# Logs end to end: what dynos print, the platform's events and the API's actions reach the
# app's stream, `cove logs` and `cove logs --tail` read it, filters work, and an agent restart
# neither loses nor repeats lines.

load helpers
load runtime-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	export COVED_ROLE=all
	coved_start --boot-timeout 20 --stop-timeout 3
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"logs-space","team":"acme"}' >/dev/null
	wait_space logs-space allocated
	api_expect 201 POST /teams/apps '{"name":"talker","space":"logs-space"}' >/dev/null
	api_expect 200 PATCH /apps/talker/config-vars '{"GREETING":"hi"}' >/dev/null
	deploy_slug talker '{"web":"exec python3 -m http.server $PORT","worker":"i=0; while true; i=$((i+1)); do echo \"$GREETING $i\"; sleep 0.2; done"}' >/dev/null
	api_expect 200 PATCH /apps/talker/formation/worker '{"quantity":1}' >/dev/null
	wait_dynos talker 2
}

teardown_file() {
	runtime_cleanup
}

@test "a dyno's output, the platform's events and the API's actions are in cove logs" {
	sleep 1
	run cove logs -a talker -n 200
	[ "$status" -eq 0 ]
	[[ "$output" =~ [0-9T:.-]+\+00:00\ app\[worker\.1\]:\ hi\ [0-9]+ ]]
	[[ "$output" == *"heroku[worker.1]: State changed from starting to up"* ]]
	[[ "$output" == *"heroku[web.1]: Starting process with command"* ]]
	[[ "$output" == *"app[api]: Set GREETING config vars by admin@cove.local"* ]]
	[[ "$output" == *"app[api]: Release v3 created by admin@cove.local"* ]]
	# In order: the counter of the worker only grows.
	grep -o 'app\[worker.1\]: hi [0-9]*' <<<"$output" | awk '{print $3}' >"$BATS_TEST_TMPDIR/n"
	sort -n -c "$BATS_TEST_TMPDIR/n"
	[ "$(sort -n "$BATS_TEST_TMPDIR/n" | uniq -d | wc -l)" -eq 0 ]
}

@test "-n, -s and -d filter" {
	run cove logs -a talker -n 3 -d worker
	[ "$(wc -l <<<"$output")" -eq 3 ]
	! grep -v 'app\[worker.1\]' <<<"$output"
	run cove logs -a talker -n 50 -s heroku
	[ "$status" -eq 0 ]
	! grep -q 'app\[' <<<"$output"
	grep -q 'heroku\[' <<<"$output"
	run cove logs -a talker -n 0
	[ "$status" -eq 2 ]
}

@test "cove logs --tail prints new lines within a second" {
	cove logs -a talker -n 1 --tail -d worker.1 >"$BATS_TEST_TMPDIR/tail" &
	pid=$!
	sleep 1.5
	api_expect 202 DELETE /apps/talker/dynos/web.1 >/dev/null
	sleep 1.5
	kill $pid
	wait $pid || true
	# At 5 lines a second, 3 seconds of tail hold well over 5 lines.
	[ "$(grep -c 'app\[worker.1\]: hi' "$BATS_TEST_TMPDIR/tail")" -ge 8 ]
}

@test "the log stream speaks Server-Sent Events as the heroku CLI reads them" {
	url=$(api_expect 201 POST /apps/talker/log-sessions '{"lines":2}' | jq -r .logplex_url)
	curl -sS -D "$BATS_TEST_TMPDIR/h" "$url" >"$BATS_TEST_TMPDIR/b"
	grep -qi '^content-type: text/event-stream' "$BATS_TEST_TMPDIR/h"
	head -1 "$BATS_TEST_TMPDIR/b" | grep -q '^retry: '
	[ "$(grep -c '^data: ' "$BATS_TEST_TMPDIR/b")" -eq 2 ]
	[ "$(grep -c '^id: ' "$BATS_TEST_TMPDIR/b")" -eq 2 ]
	# Resuming after the last event seen gives only what came after.
	last=$(grep '^id: ' "$BATS_TEST_TMPDIR/b" | tail -1 | cut -d' ' -f2)
	sleep 0.5
	curl -sS -H "Last-Event-ID: $last" "$url" | grep '^id: ' | cut -d' ' -f2 >"$BATS_TEST_TMPDIR/ids"
	[ "$(head -1 "$BATS_TEST_TMPDIR/ids")" -gt "$last" ]
	# A session of another app is not reachable without its id, and a bad id is 404.
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$COVE_API_URL/log-stream/nope")" = 404 ]
	refused 422 invalid_params POST /apps/talker/log-sessions '{"lines":5000}'
	refused 422 invalid_params POST /apps/talker/log-sessions '{"source":"nowhere"}'
}

@test "an agent restart neither loses nor repeats a line" {
	pkill -9 -f "coved agent --api $COVE_API_URL"
	sleep 3
	wait_dynos talker 2
	sleep 1
	run cove logs -a talker -n 1500 -d worker.1 -s app
	grep -o 'hi [0-9]*' <<<"$output" | awk '{print $2}' >"$BATS_TEST_TMPDIR/n"
	[ "$(uniq -d "$BATS_TEST_TMPDIR/n" | wc -l)" -eq 0 ]
	# Contiguous: no number missing between the first and the last.
	first=$(head -1 "$BATS_TEST_TMPDIR/n")
	last=$(tail -1 "$BATS_TEST_TMPDIR/n")
	[ "$(wc -l <"$BATS_TEST_TMPDIR/n")" -eq $((last - first + 1)) ]
}

@test "a dyno printing as fast as it can does not slow other apps, and memory stays bounded" {
	api_expect 201 POST /teams/apps '{"name":"flood","space":"logs-space"}' >/dev/null
	deploy_slug flood '{"worker":"exec yes flooding-the-log-as-fast-as-it-can"}' >/dev/null
	# What the platform says about it, as it happens (the flood soon fills the app's 1500 lines).
	cove logs -a flood -n 1 --tail -s heroku >"$BATS_TEST_TMPDIR/heroku" &
	tail=$!
	api_expect 200 PATCH /apps/flood/formation/worker '{"quantity":1}' >/dev/null
	wait_dynos flood 1
	sleep 3
	# Another app's dyno still answers at once.
	run in_dyno_net talker worker.1 curl -fsS -m 2 -o /dev/null "http://$(dyno_ip talker web.1):5000/"
	[ "$status" -eq 0 ]
	# The agent's and the API's memory stay bounded (the queue holds at most 10000 lines).
	# (AddressSanitizer's shadow memory and quarantine make the sanitizer build bigger.)
	agent=$(pgrep -f "coved agent --api $COVE_API_URL" | head -1)
	limit=200000
	[[ "$COVE_BUILD_DIR" == *sanitize* ]] && limit=800000
	[ "$(awk '/VmRSS/ {print $2}' /proc/$agent/status)" -lt $limit ]
	[ "$(awk '/VmRSS/ {print $2}' /proc/$(cat "$COVED_DATA/coved.pid")/status)" -lt $((limit * 3 / 2)) ]
	# The output file stays bounded on disk.
	id=$(dyno_id flood worker.1)
	[ "$(stat -c %s "$COVED_DATA/agent/dynos/$id/sandbox/output.log")" -lt $((1024 * 1024 * 1024)) ]
	# What could not be shipped was dropped, and the stream says so.
	for i in $(seq 1 50); do
		grep -q "Error L10 (output buffer overflow)" "$BATS_TEST_TMPDIR/heroku" && break
		sleep 0.2
	done
	api_expect 200 DELETE /apps/flood >/dev/null
	kill $tail
	wait $tail || true
	grep -q "Error L10 (output buffer overflow)" "$BATS_TEST_TMPDIR/heroku"
}

@test "the router's lines are in the app's stream" {
	ingress=""
	for i in $(seq 1 50); do
		ingress=$(api GET /spaces/logs-space | jq -r '.ingress // empty')
		[ -n "$ingress" ] && curl -fsS -m 2 -o /dev/null -H "Host: talker.logs-space.localhost" "http://$ingress/" && break
		sleep 0.2
	done
	curl -fsS -m 2 -o /dev/null -H "Host: talker.logs-space.localhost" "http://$ingress/index.html?from=logs-test"
	for i in $(seq 1 75); do
		run cove logs -a talker -n 50 -d router
		[[ "$output" == *"from=logs-test"* ]] && break
		sleep 0.2
	done
	[[ "$output" =~ heroku\[router\]:\ at=info\ method=GET\ path=\"/index.html\?from=logs-test\".*status=200 ]]
}

@test "a burst of router lines reaches the stream whole, once each, with the router's own times" {
	ingress=$(api GET /spaces/logs-space | jq -r .ingress)
	# 700 requests on kept connections, long paths: about 330 KB of lines, which the agent reads
	# in slices of 64 KB and ships as text batches of 250 (POST /agent/router-logs). With the
	# app's own line for each, they fit in the 1500 lines the service keeps.
	pad=$(printf 'p%.0s' $(seq 1 200))
	urls=()
	for i in $(seq 1 700); do urls+=("http://$ingress/index.html?burst=$i&pad=$pad"); done
	curl -fsS -m 60 -H "Host: talker.logs-space.localhost" "${urls[@]}" >/dev/null
	for i in $(seq 1 75); do
		run cove logs -a talker -n 1500 -d router
		[ "$(grep -o 'burst=[0-9]*' <<<"$output" | sort -u | wc -l)" -ge 700 ] && break
		sleep 0.2
	done
	# Each loop of the router writes its lines a batch at a time: whole, not in request order.
	got=$(grep -o 'burst=[0-9]*' <<<"$output" | cut -d= -f2 | sort -n | tr '\n' ' ')
	[ "$got" = "$(seq 1 700 | tr '\n' ' ')" ] || { echo "got: $got" >&2; false; }
	# The time of a line is the router's, to the microsecond: as written in the router's log.
	space_id=$(api GET /spaces/logs-space | jq -r .id)
	logged=$(grep -m1 'burst=150&' "$COVED_DATA/agent/routers/$space_id.log" | cut -d' ' -f1)
	[ -n "$logged" ]
	streamed=$(grep -m1 'burst=150&' <<<"$output" | cut -d' ' -f1)
	[ "$streamed" = "$logged" ]
}

# router_post TEXT: POST /agent/router-logs as the agent; prints the status.
router_post() {
	curl -sS -o /dev/null -w '%{http_code}' -X POST "$COVE_API_URL/agent/router-logs" \
		-H "Authorization: Bearer $(cat "$COVED_DATA/run/host.token")" -H "Content-Type: text/plain; charset=utf-8" \
		--data-binary "$1"
}

@test "a batch of router lines with a malformed one is refused whole" {
	app_id=$(api GET /apps/talker | jq -r .id)
	before=$(cove logs -a talker -n 1000 -d router | grep -c 'forged-' || true)
	for text in "$app_id 1700000000000000 at=info path=/forged-1"$'\n'"not-a-line"$'\n' \
		"$app_id 1700000000000000 at=info path=/forged-2" \
		"$app_id x at=info path=/forged-3"$'\n' \
		"$app_id 1700000000000000 at=info path=/forged-4"$'\xff\n'; do
		[ "$(router_post "$text")" = 422 ]
	done
	# Only agents may send them.
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$COVE_API_URL/agent/router-logs" \
		-H "Authorization: Bearer $COVE_API_KEY" --data-binary "$app_id 1 at=info path=/forged-5"$'\n')" = 403 ]
	[ "$(cove logs -a talker -n 1000 -d router | grep -c 'forged-' || true)" = "$before" ]
	# A good one is taken, at its own time.
	[ "$(router_post "$app_id 1700000000123456 at=info path=/forged-ok"$'\n')" = 200 ]
	run cove logs -a talker -n 1000 -d router
	[[ "$output" == *'2023-11-14T22:13:20.123456+00:00 heroku[router]: at=info path=/forged-ok'* ]]
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

@test "a syslog drain and an HTTP drain receive the lines; a stopped drain blocks nothing and resumes" {
	sport=$(free_port)
	hport=$(free_port)
	# One connection at a time (no fork): killing the listener closes the drain's connection.
	socat -u TCP-LISTEN:$sport,bind=127.0.0.1,reuseaddr OPEN:"$BATS_TEST_TMPDIR/syslog",creat,append &
	syslog=$!
	python3 "$BATS_TEST_DIRNAME/../fixtures/http-drain.py" $hport "$BATS_TEST_TMPDIR/http" &
	http=$!
	sleep 0.5
	run cove drains:add "syslog://127.0.0.1:$sport" -a talker
	[ "$status" -eq 0 ]
	run cove drains:add "http://127.0.0.1:$hport/logs" -a talker
	[ "$status" -eq 0 ]
	run cove drains -a talker
	[[ "$output" == *"syslog://127.0.0.1:$sport"* ]]
	# Bad input is refused and changes nothing.
	run cove drains:add "ftp://example" -a talker
	[ "$status" -eq 1 ]
	run cove drains:add "syslog://127.0.0.1:$sport" -a talker
	[ "$status" -eq 1 ]
	sleep 2
	# Octet-counted RFC 5424 frames, as Heroku sends them.
	python3 "$BATS_TEST_DIRNAME/../fixtures/syslog-frames.py" "$BATS_TEST_TMPDIR/syslog" |
		grep -q -E '^<190>1 [0-9T:.-]+\+00:00 host app worker.1 - hi [0-9]+$'
	grep -q -E '<190>1 [0-9T:.-]+\+00:00 host app worker.1 - hi [0-9]+' "$BATS_TEST_TMPDIR/http"

	# The syslog drain goes down: the app, the stream and the other drain carry on.
	kill $syslog
	wait $syslog 2>/dev/null || true
	before=$(wc -c <"$BATS_TEST_TMPDIR/http")
	sleep 2
	[ "$(wc -c <"$BATS_TEST_TMPDIR/http")" -gt "$before" ]
	run cove logs -a talker -n 3 -d worker
	[ "$status" -eq 0 ]
	last=$(tail -1 <<<"$output" | grep -o 'hi [0-9]*' | cut -d' ' -f2)
	# It comes back: the lines kept meanwhile arrive too.
	: >"$BATS_TEST_TMPDIR/syslog"
	socat -u TCP-LISTEN:$sport,bind=127.0.0.1,reuseaddr OPEN:"$BATS_TEST_TMPDIR/syslog",creat,append &
	syslog=$!
	# (Octet-counted frames follow each other without newlines.)
	frames="$BATS_TEST_DIRNAME/../fixtures/syslog-frames.py"
	for i in $(seq 1 60); do
		python3 "$frames" "$BATS_TEST_TMPDIR/syslog" | grep -q " - hi $last\$" && break
		sleep 0.5
	done
	python3 "$frames" "$BATS_TEST_TMPDIR/syslog" | grep -q " - hi $last\$"
	run cove drains:remove "syslog://127.0.0.1:$sport" -a talker
	[ "$status" -eq 0 ]
	run cove drains:remove "http://127.0.0.1:$hport/logs" -a talker
	[ "$status" -eq 0 ]
	kill $syslog $http
}
