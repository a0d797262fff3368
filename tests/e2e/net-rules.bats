#!/usr/bin/env bats
# The network rules of a space enforced (needs root and the kernel lock): trusted IP ranges in
# the kernel (the space's ingress table) and in the router (403 and a log line), outbound rules
# in the space's forward path, each change applied within 2 seconds without restarting the
# router or the dynos; and the space's outbound IP staying put across restarts and renames.
#
# The "outside" is a namespace on 203.0.113.0/24 behind a veth of the host. The space's
# ingress address is on the host's loopback (127.0.2.N); the test lets the veth carry loopback
# destinations (route_localnet) so that the outside reaches it as a client on a network would.

load helpers
load runtime-helpers
load router-helpers


setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	# The outside namespace: 203.0.113.7, behind the host's 203.0.113.254 on $VETH.
	export OUT=cvtest-out-$$ VETH=cvtest-o$$
	router_coved_start 18$((RANDOM % 900 + 100))
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"rules-s","team":"acme"}' >/dev/null
	wait_space rules-s allocated
	api_expect 201 POST /apps '{"name":"app-r","space":"rules-s"}' >/dev/null
	deploy_slug app-r '{"web":"exec python3 -m http.server $PORT"}' >/dev/null
	wait_dynos app-r 1

	outside_create $OUT $VETH 203.0.113.7/24
}

teardown_file() {
	outside_remove $OUT $VETH
	runtime_cleanup
}

# from_outside PATH: the status of a GET of app-r from the outside namespace ("000": no answer).
from_outside() {
	ip netns exec $OUT curl -s -m 1 -o /dev/null -w '%{http_code}' -H "Host: app-r.rules-s.localhost" \
		"http://$(space_ingress rules-s)$1" 2>/dev/null || true
}

# within SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS after the call.
within() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while ! "$@"; do
		if [ "$(date +%s%N)" -gt $deadline ]; then
			echo "not within the time: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

outside_gets() { [ "$(from_outside /index.html)" = "$1" ]; }

ingress_table() {
	echo "cove_in_$(space_id rules-s | tr -d - | cut -c1-8)"
}

@test "by default the outside reaches the space's router" {
	within 5 outside_gets 200
	nft list table ip "$(ingress_table)" | grep -q 'ip saddr 0.0.0.0/0 return'
}

@test "an untrusted outside is dropped in the kernel until its range is added, then let in within 2 s" {
	router=$(router_pid rules-s)
	dyno=$(dyno_pid app-r web.1)
	api_expect 200 PUT /spaces/rules-s/inbound-ruleset '{"rules":[{"action":"allow","source":"198.51.100.0/24"}]}' >/dev/null
	within 2 outside_gets 000
	nft list table ip "$(ingress_table)" | grep -q 'ip saddr 198.51.100.0/24 return'
	# Dropped by the kernel: the router never saw the request.
	! router_log rules-s | grep -q 'fwd="203.0.113.7".*status=403'
	run cove spaces:trusted-ips:add 203.0.113.0/24 --space rules-s
	[ "$status" -eq 0 ]
	within 2 outside_gets 200
	router_log rules-s | grep -q 'fwd="203.0.113.7".*status=200'
	# A deny rule before the allow shuts one address out again.
	api_expect 200 PUT /spaces/rules-s/inbound-ruleset \
		'{"rules":[{"action":"deny","source":"203.0.113.7/32"},{"action":"allow","source":"203.0.113.0/24"}]}' >/dev/null
	within 2 outside_gets 000
	# Neither the router nor the dyno was restarted for it.
	[ "$(router_pid rules-s)" = "$router" ]
	[ "$(dyno_pid app-r web.1)" = "$dyno" ]
}

@test "the router refuses an untrusted source with a 403 page and a log line" {
	api_expect 200 PUT /spaces/rules-s/inbound-ruleset '{"rules":[{"action":"allow","source":"203.0.113.0/24"}]}' >/dev/null
	within 2 outside_gets 200
	# Take the kernel's lock away by hand: the router is the second one.
	nft delete table ip "$(ingress_table)"
	body=$(rcurl rules-s app-r.rules-s.localhost /index.html -w '\n%{http_code}')
	[ "${body##*$'\n'}" = 403 ]
	[[ "$body" == *"<title>Forbidden</title>"* ]]
	[[ "$body" == *"trusted IP ranges"* ]]
	line=$(wait_log rules-s 'at=error desc="Untrusted source IP"')
	[[ "$line" == *"app-r heroku[router]:"*'fwd="127.0.0.1"'*"status=403"* ]]
	# Back to everyone: the agent applies the table again.
	api_expect 200 PUT /spaces/rules-s/inbound-ruleset '{"rules":[{"action":"allow","source":"0.0.0.0/0"}]}' >/dev/null
	within 2 outside_gets 200
	nft list table ip "$(ingress_table)" >/dev/null
}

# dyno_reaches PORT: whether app-r's dyno opens a TCP connection to the outside on PORT.
dyno_reaches() {
	in_dyno_net app-r web.1 socat -T1 /dev/null "TCP:203.0.113.7:$1,connect-timeout=1" 2>/dev/null
}
dyno_blocked() { ! dyno_reaches "$1"; }

@test "an outbound rule change cuts a dyno's connections to the outside within 2 s, and lets them again" {
	ip netns exec $OUT socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo hi' 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/listener"
	ip netns exec $OUT socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:'echo hi' 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/listener"
	dyno=$(dyno_pid app-r web.1)
	within 3 dyno_reaches 8080
	# Heroku's way to deny: replace the allow-all rule with narrower ones.
	api_expect 200 PUT /spaces/rules-s/outbound-ruleset \
		'{"rules":[{"target":"198.51.100.0/24","from_port":0,"to_port":65535,"protocol":"tcp"}]}' >/dev/null
	within 2 dyno_blocked 8080
	run cove outbound-rules:add --space rules-s --dest 203.0.113.0/24 --protocol tcp --port 8080
	[ "$status" -eq 0 ]
	within 2 dyno_reaches 8080
	dyno_blocked 8081
	# The space's own traffic is untouched: the router still reaches the dyno.
	within 2 outside_gets 200
	[ "$(dyno_pid app-r web.1)" = "$dyno" ]
	api_expect 200 PUT /spaces/rules-s/outbound-ruleset \
		'{"rules":[{"target":"0.0.0.0/0","from_port":0,"to_port":65535,"protocol":"any"}]}' >/dev/null
	within 2 dyno_reaches 8081
	kill $(cat "$BATS_FILE_TMPDIR/listener") 2>/dev/null || true
}

outbound_ip() { api GET /spaces/"$1"/nat | jq -r '.state + " " + (.sources | join(","))'; }

@test "the outbound IP stays across dyno restarts, renames, agent and coved restarts; it goes with the space" {
	before=$(outbound_ip rules-s)
	table=$(ingress_table)
	[[ "$before" == "enabled 198.18.0."* ]]
	ip=${before#enabled }
	old=$(dyno_id app-r web.1)
	api DELETE /apps/app-r/dynos >/dev/null
	sleep 2
	wait_dynos app-r 1
	[ "$(outbound_ip rules-s)" = "$before" ]
	api_expect 200 PATCH /spaces/rules-s '{"name":"rules-t"}' >/dev/null
	[ "$(outbound_ip rules-t)" = "$before" ]
	run cove spaces:info rules-t
	[[ "$output" == *"Outbound IPs:"*"$ip"* ]]
	# The agent alone, killed.
	pkill -9 -f "coved agent --api $COVE_API_URL" || true
	sleep 1
	[ "$(outbound_ip rules-t)" = "$before" ]
	# The whole of coved.
	coved_kill
	pkill -9 -f "coved agent --api $COVE_API_URL" || true
	sleep 0.5
	coved_restart --router-port "$ROUTER_PORT" --router-threads 2 --boot-timeout 10 --stop-timeout 3
	wait_dynos app-r 1 up 20
	sleep 1
	[ "$(outbound_ip rules-t)" = "$before" ]
	ip addr show cove-out | grep -q " $ip/32"
	api_expect 200 PATCH /spaces/rules-t '{"name":"rules-s"}' >/dev/null
	[ "$(outbound_ip rules-s)" = "$before" ]
	# Destroyed: the address is released.
	api_expect 200 DELETE /apps/app-r >/dev/null
	api_expect 200 DELETE /spaces/rules-s >/dev/null
	for i in $(seq 1 50); do
		[ "$(api GET /spaces | jq length)" -eq 0 ] && break
		sleep 0.2
	done
	[ "$(api GET /spaces | jq length)" -eq 0 ]
	! ip addr show cove-out | grep -q " $ip/32"
	! nft list tables | grep -q "$table"
}
