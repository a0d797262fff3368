#!/usr/bin/env bats
# The space router end to end, its routing (issue: "The space router"): requests by Host reach
# the right app of the right space, two spaces with the same CIDR included; custom domains,
# internal routing, maintenance; the table follows the dynos without a restart; the router
# survives its agent and comes back when it dies.

load helpers
load runtime-helpers
load router-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the router needs root"
	router_coved_start 18481
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	# Both spaces use the default CIDR, 10.0.0.0/16: their first dynos have the same address.
	api_expect 201 POST /spaces '{"name":"rt-one","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"rt-two","team":"acme"}' >/dev/null
	wait_space rt-one allocated
	wait_space rt-two allocated
	api_expect 201 POST /teams/apps '{"name":"alpha","space":"rt-one"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"beta","space":"rt-one"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"gamma","space":"rt-two"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"hidden","space":"rt-one","internal_routing":true}' >/dev/null
	for app in alpha beta gamma hidden; do deploy_router_app $app; done
	wait_dynos alpha 1
	wait_dynos beta 1
	wait_dynos gamma 1
	wait_dynos hidden 1
	wait_status rt-one alpha.rt-one.localhost /hello 200
	wait_status rt-two gamma.rt-two.localhost /hello 200
}

teardown_file() {
	router_cleanup
}

@test "each space has its router on its own ingress address, and web_url names it" {
	one=$(space_ingress rt-one)
	two=$(space_ingress rt-two)
	[[ "$one" == 127.0.* ]] && [[ "$one" == *:18481 ]]
	[[ "$two" == 127.0.* ]] && [ "$one" != "$two" ]
	# The API knows it from the agent, and spaces:info shows it.
	for i in $(seq 1 50); do [ "$(api GET /spaces/rt-one | jq -r .ingress)" = "$one" ] && break; sleep 0.2; done
	[ "$(api GET /spaces/rt-one | jq -r .ingress)" = "$one" ]
	run cove spaces:info rt-one
	[[ "$output" == *"Router:"*"http://$one/"* ]]
	[ "$(api GET /apps/alpha | jq -r .web_url)" = "http://alpha.rt-one.localhost:18481/" ]
	# The URL works as it is, its name resolved to the ingress address.
	run curl -sS --resolve "alpha.rt-one.localhost:18481:${one%:*}" http://alpha.rt-one.localhost:18481/hello
	[ "$output" = "hello from alpha" ]
}

@test "requests by Host reach the right app in the right space, though the spaces share a CIDR" {
	[ "$(dyno_ip alpha web.1)" = "$(dyno_ip gamma web.1)" ]
	[ "$(rcurl rt-one alpha.rt-one.localhost /hello)" = "hello from alpha" ]
	[ "$(rcurl rt-one beta.rt-one.localhost /hello)" = "hello from beta" ]
	[ "$(rcurl rt-two gamma.rt-two.localhost /hello)" = "hello from gamma" ]
	# Host names are case-insensitive, may carry the port and a final dot.
	[ "$(rcurl rt-one ALPHA.rt-one.LOCALHOST:18481 /hello)" = "hello from alpha" ]
	[ "$(rcurl rt-one alpha.rt-one.localhost. /hello)" = "hello from alpha" ]
	# A space's router knows only its own apps.
	[ "$(rstatus rt-two alpha.rt-one.localhost /hello)" = 404 ]
	[ "$(rstatus rt-one gamma.rt-two.localhost /hello)" = 404 ]
	run rcurl rt-one nowhere.example.com /
	[[ "$output" == *"No such app"* ]]
}

@test "the dyno gets X-Forwarded-For, -Proto, -Port, X-Request-Start, X-Request-Id and Via" {
	echo=$(rcurl rt-one alpha.rt-one.localhost /echo -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Forwarded-Proto: https')
	headers=$(jq -r '.headers[]' <<<"$echo")
	grep -q '^X-Forwarded-For: 203.0.113.7, 127.0.0.1$' <<<"$headers"
	grep -q '^X-Forwarded-Proto: http$' <<<"$headers"
	[ "$(grep -c '^X-Forwarded-Proto' <<<"$headers")" -eq 1 ]
	grep -q '^X-Forwarded-Port: 18481$' <<<"$headers"
	grep -q '^Via: 1.1 cove$' <<<"$headers"
	start=$(sed -n 's/^X-Request-Start: //p' <<<"$headers")
	now=$(date +%s%3N)
	[ $((now - start)) -ge 0 ] && [ $((now - start)) -lt 10000 ]
	id=$(sed -n 's/^X-Request-Id: //p' <<<"$headers")
	[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	# The log line of the request carries the same id, in Heroku's words.
	line=$(wait_log rt-one "request_id=$id")
	[[ "$line" == *" alpha heroku[router]: at=info method=GET path=\"/echo\" host=alpha.rt-one.localhost request_id=$id "* ]]
	[[ "$line" == *' fwd="203.0.113.7, 127.0.0.1" dyno=web.1 connect='*'ms service='*'ms status=200 bytes='*' protocol=http' ]]
	# A valid request id of the client's is kept; an invalid one is replaced.
	kept=$(rcurl rt-one alpha.rt-one.localhost /echo -H 'X-Request-Id: client-chosen-id-0123456789' | jq -r '.headers[]')
	grep -q '^X-Request-Id: client-chosen-id-0123456789$' <<<"$kept"
	replaced=$(rcurl rt-one alpha.rt-one.localhost /echo -H 'X-Request-Id: short' | jq -r '.headers[]')
	! grep -q '^X-Request-Id: short$' <<<"$replaced"
}

@test "keep-alive on both sides: one client connection, and dyno connections reused" {
	before=$(dyno_output alpha web.1 | grep -c '^CONNECTION' || true)
	urls=()
	for i in $(seq 1 20); do urls+=("http://$(space_ingress rt-one)/hello"); done
	run curl -sS -v -H 'Host: alpha.rt-one.localhost' "${urls[@]}"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'hello from alpha' <<<"$output")" -eq 20 ]
	[ "$(grep -c 'Re-using existing connection' <<<"$output")" -eq 19 ]
	after=$(dyno_output alpha web.1 | grep -c '^CONNECTION' || true)
	# Two loops may each open one; twenty requests never need twenty connections.
	[ $((after - before)) -le 2 ]
	run python3 "$ROUTER_CLIENT" pipeline "$(space_ingress rt-one)" alpha.rt-one.localhost 5
	[ "$(grep -c '^HTTP/1.1 200' <<<"$output")" -eq 5 ]
}

@test "custom domains: cove domains:add, domains, domains:remove; the router follows" {
	run cove domains:add www.alpha.test -a alpha
	[ "$status" -eq 0 ]
	[[ "$output" == *"Adding www.alpha.test to alpha... done"* ]]
	[[ "$output" == *"alpha.rt-one.localhost"* ]]
	run cove domains:add '*.wild.test' -a beta
	[ "$status" -eq 0 ]
	wait_status rt-one www.alpha.test /hello 200
	[ "$(rcurl rt-one www.alpha.test /hello)" = "hello from alpha" ]
	[ "$(rcurl rt-one anything.wild.test /hello)" = "hello from beta" ]
	[ "$(rstatus rt-one a.b.wild.test /hello)" = 404 ]
	run cove domains -a alpha
	[ "$status" -eq 0 ]
	[[ "$output" == *"alpha.rt-one.localhost"* ]]
	[[ "$output" == *"www.alpha.test"*"CNAME"*"alpha.rt-one.localhost"* ]]
	[ "$(api GET /apps/alpha/domains | jq -r '[.[].kind] | join(",")')" = "heroku,custom" ]
	# A host name belongs to one app; the apps' own names are theirs.
	refused 409 conflict POST /apps/gamma/domains '{"hostname":"WWW.alpha.test"}' >/dev/null
	refused 422 invalid_params POST /apps/gamma/domains '{"hostname":"alpha.rt-one.localhost"}' >/dev/null
	refused 422 invalid_params POST /apps/gamma/domains '{"hostname":"bad_name!.test"}' >/dev/null
	refused 422 invalid_params DELETE /apps/alpha/domains/alpha.rt-one.localhost >/dev/null
	run cove domains:remove www.alpha.test -a alpha
	[ "$status" -eq 0 ]
	[[ "$output" == *"Removing www.alpha.test from alpha... done"* ]]
	wait_status rt-one www.alpha.test /hello 404
	# The topology of the space shows the domains too.
	[ "$(api GET /spaces/rt-one/topology | jq -r '.apps[] | select(.name == "beta") | .domains | join(",")')" = "beta.rt-one.localhost,*.wild.test" ]
}

@test "internal routing: served on the space's internal address to its dynos, never on the ingress" {
	[ "$(rstatus rt-one hidden.rt-one.localhost /hello)" = 404 ]
	run in_dyno_net alpha web.1 curl -sS -m 5 -H 'Host: hidden.rt-one.localhost' http://10.0.0.1/hello
	[ "$status" -eq 0 ]
	[ "$output" = "hello from hidden" ]
	# The other apps of the space are reachable there too; the other space's router is not.
	run in_dyno_net alpha web.1 curl -sS -m 5 -H 'Host: beta.rt-one.localhost' http://10.0.0.1/hello
	[ "$output" = "hello from beta" ]
	run in_dyno_net gamma web.1 curl -sS -m 5 -H 'Host: hidden.rt-one.localhost' http://10.0.0.1/hello
	[ "$output" != "hello from hidden" ]
	wait_log rt-one 'hidden heroku\[router\]: at=info method=GET path="/hello"' >/dev/null
}

@test "maintenance mode answers H80 with the maintenance page, and ends" {
	run cove maintenance:on -a beta
	[ "$status" -eq 0 ]
	wait_status rt-one beta.rt-one.localhost /hello 503
	run rcurl rt-one beta.rt-one.localhost /hello
	[[ "$output" == *"Offline for Maintenance"* ]]
	wait_log rt-one 'beta heroku\[router\]: at=info code=H80 desc="Maintenance mode" method=GET path="/hello" .* status=503' >/dev/null
	cove maintenance:off -a beta
	wait_status rt-one beta.rt-one.localhost /hello 200
}

@test "the table follows the dynos without dropping a connection: scale up, down, H14" {
	url="http://$(space_ingress rt-one)/download?mb=40"
	# A download in flight at 20 MB/s for two seconds, across the changes below.
	curl -sS -H 'Host: alpha.rt-one.localhost' --limit-rate 20M -o "$BATS_TEST_TMPDIR/dl" -w '%{http_code}' "$url" >"$BATS_TEST_TMPDIR/dl.status" &
	dl=$!
	api_expect 200 PATCH /apps/alpha/formation/web '{"quantity":2}' >/dev/null
	wait_dynos alpha 2
	# Both dynos get requests once the table has them.
	for i in $(seq 1 100); do
		[ "$(router_log rt-one | grep 'alpha heroku' | grep -c 'dyno=web.2')" -gt 0 ] && break
		rcurl rt-one alpha.rt-one.localhost /hello >/dev/null
	done
	router_log rt-one | grep 'alpha heroku' | grep -q 'dyno=web.2'
	api_expect 200 PATCH /apps/alpha/formation/web '{"quantity":1}' >/dev/null
	wait_dynos alpha 1
	wait "$dl"
	[ "$(cat "$BATS_TEST_TMPDIR/dl.status")" = 200 ]
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/dl")" -eq $((40 * 1024 * 1024)) ]
	# No web dyno at all: H14.
	api_expect 200 PATCH /apps/beta/formation/web '{"quantity":0}' >/dev/null
	wait_status rt-one beta.rt-one.localhost /hello 503
	wait_log rt-one 'beta heroku\[router\]: at=error code=H14 desc="No web processes running" .* status=503' >/dev/null
	api_expect 200 PATCH /apps/beta/formation/web '{"quantity":1}' >/dev/null
	wait_status rt-one beta.rt-one.localhost /hello 200 30
}

@test "a router that dies is started again; an agent restart keeps it and its connections" {
	old=$(router_pid rt-two)
	kill -9 "$old"
	for i in $(seq 1 50); do
		new=$(router_pid rt-two)
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		sleep 0.2
	done
	[ -n "$new" ] && [ "$new" != "$old" ]
	wait_status rt-two gamma.rt-two.localhost /hello 200
	# Requests keep being answered while coved and its agent are killed and started again.
	pid=$(router_pid rt-one)
	addr=$(space_ingress rt-one)
	(for i in $(seq 1 40); do
		curl -sS -m 5 -o /dev/null -w '%{http_code}\n' -H 'Host: alpha.rt-one.localhost' "http://$addr/hello"
		sleep 0.1
	done) >"$BATS_TEST_TMPDIR/during" 2>&1 &
	during=$!
	pkill -9 -f "coved agent --api $COVE_API_URL" || true
	coved_kill
	sleep 0.5
	coved_restart --router-port "$ROUTER_PORT" --router-threads 2 \
		--router-timeouts "connect=1,response=2,idle=2,header=2,keepalive=10" --boot-timeout 10 --stop-timeout 3
	wait "$during"
	[ "$(sort -u "$BATS_TEST_TMPDIR/during")" = 200 ]
	[ "$(router_pid rt-one)" = "$pid" ]
	grep -q "adopted the router of space $(space_id rt-one) (pid $pid)" "$COVED_DATA/coved.log"
	wait_dynos alpha 1
	[ "$(rcurl rt-one alpha.rt-one.localhost /hello)" = "hello from alpha" ]
}

@test "destroying a space stops its router and removes its files" {
	id=$(space_id rt-two)
	pid=$(router_pid rt-two)
	run cove apps:destroy gamma --confirm gamma
	[ "$status" -eq 0 ]
	run cove spaces:destroy rt-two --confirm rt-two
	[ "$status" -eq 0 ]
	for i in $(seq 1 75); do
		[ ! -e "$COVED_DATA/agent/routers/$id.pid" ] && ! kill -0 "$pid" 2>/dev/null && break
		sleep 0.2
	done
	! kill -0 "$pid" 2>/dev/null
	[ ! -e "$COVED_DATA/agent/routers/$id.json" ]
	[ ! -e "$COVED_DATA/agent/routers/$id.pid" ]
}
