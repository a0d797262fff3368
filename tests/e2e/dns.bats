#!/usr/bin/env bats
# DNS service discovery end to end (issue 8, "DNS service discovery"): each space's resolver
# answers <type>.<app>.app.localspace and <n>.<type>.<app>.app.localspace with the up dynos,
# follows scaling within seconds without a restart, says NXDOMAIN for unknown names, forwards
# other names to the host's resolvers, and is reachable only from its own space. A gossip app
# (tests/fixtures/gossip.py) whose dynos find each other by DNS works across two apps.

load helpers
load runtime-helpers

GOSSIP=$BATS_TEST_DIRNAME/../fixtures/gossip.py
UPSTREAM_PORT=18553

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	# A stand-in for the host's resolver, on the host's loopback: the resolver of a space reaches
	# it from the host's namespace. It knows one name outside the spaces.
	mkdir -p "$BATS_FILE_TMPDIR/upstream"
	echo '{"ttl":60,"records":[{"name":"db.example.test","kind":"name","addresses":["203.0.113.7"]}]}' \
		>"$BATS_FILE_TMPDIR/upstream/table.json"
	"$COVE_BUILD_DIR/coved" dns --space upstream --table "$BATS_FILE_TMPDIR/upstream/table.json" \
		--listen 127.0.0.1:$UPSTREAM_PORT --clients 127.0.0.0/8 --no-upstream \
		>"$BATS_FILE_TMPDIR/upstream/log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/upstream/pid"
	export COVED_ROLE=all
	coved_start --boot-timeout 10 --stop-timeout 3 --dns-upstream 127.0.0.1:$UPSTREAM_PORT
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	# Both spaces use the default CIDR: their resolvers have the same address, 10.0.0.1.
	api_expect 201 POST /spaces '{"name":"dns-one","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"dns-two","team":"acme"}' >/dev/null
	wait_space dns-one allocated
	wait_space dns-two allocated
	for app in ga:dns-one gb:dns-one gc:dns-two; do
		api_expect 201 POST /teams/apps "{\"name\":\"${app%%:*}\",\"space\":\"${app#*:}\"}" >/dev/null
		deploy_slug "${app%%:*}" '{"web":"exec python3 gossip.py","worker":"exec sleep 1000"}' "$GOSSIP" >/dev/null
	done
	api_expect 200 PATCH /apps/ga/formation '{"updates":[{"type":"web","quantity":2}]}' >/dev/null
	api_expect 200 PATCH /apps/gb/formation '{"updates":[{"type":"web","quantity":2}]}' >/dev/null
	api_expect 200 PATCH /apps/gc/formation '{"updates":[{"type":"web","quantity":1}]}' >/dev/null
	wait_dynos ga 2
	wait_dynos gb 2
	wait_dynos gc 1
}

teardown_file() {
	runtime_cleanup
	kill "$(cat "$BATS_FILE_TMPDIR/upstream/pid")" 2>/dev/null || true
}

space_id() {
	api GET "/spaces/$1" | jq -r .id
}

# Empty, not a failure, while there is no pid file: between a resolver's death and its restart.
resolver_pid() {
	sed -n 's/^pid=//p' "$COVED_DATA/agent/dns/$(space_id "$1").pid" 2>/dev/null || true
}

# qdig APP DYNO ARGS...: dig at the space's resolver from the dyno's network namespace.
qdig() {
	local app=$1 dyno=$2
	shift 2
	in_dyno_net "$app" "$dyno" dig +time=2 +tries=1 @10.0.0.1 "$@"
}

# up_ips APP TYPE: the private IPs of the app's up dynos of a type, sorted, one a line.
up_ips() {
	api GET "/apps/$1/dynos" | jq -r --arg t "$2" '.[] | select(.type == $t and .state == "up") | .private_ip' | sort
}

# wait_answer APP DYNO NAME WANT [SECONDS]: until `dig +short NAME` (sorted) is WANT.
wait_answer() {
	local i got
	for i in $(seq 1 $((${5:-10} * 5))); do
		got=$(qdig "$1" "$2" +short "$3" | sort)
		[ "$got" = "$4" ] && return 0
		sleep 0.2
	done
	echo "dig $3: got '$got', wanted '$4'" >&2
	return 1
}

@test "each space has its resolver on its gateway, named by every dyno's resolv.conf" {
	for s in dns-one dns-two; do
		pid=$(resolver_pid $s)
		[ -n "$pid" ] && kill -0 "$pid"
		grep -qx 'listen=10.0.0.1:53' "$COVED_DATA/agent/dns/$(space_id $s).pid"
	done
	id=$(dyno_id ga web.1)
	[ "$(cat "$COVED_DATA/agent/dynos/$id/sandbox/etc/resolv.conf")" = "nameserver 10.0.0.1" ]
	# The space's firewall lets dynos in on port 53, UDP and TCP, and nothing else new.
	rules=$(ip netns exec "cove-s-$(space_id dns-one)" nft list chain inet cove services)
	[[ "$rules" == *"udp dport 53 accept"* ]] && [[ "$rules" == *"tcp dport 53 accept"* ]]
}

@test "dig lists every up web dyno of an app, over UDP and TCP; one dyno by number" {
	want=$(up_ips ga web)
	[ "$(wc -l <<<"$want")" -eq 2 ]
	[ "$(qdig gb web.2 +short web.ga.app.localspace | sort)" = "$want" ]
	[ "$(qdig gb web.2 +tcp +short web.ga.app.localspace | sort)" = "$want" ]
	run qdig ga web.1 web.ga.app.localspace
	[[ "$output" == *"status: NOERROR"* ]] && [[ "$output" == *" aa "* ]]
	# A low TTL: answers follow the dynos.
	ttl=$(qdig ga web.1 +noall +answer web.ga.app.localspace | awk 'NR == 1 { print $2 }')
	[ "$ttl" -le 5 ]
	[ "$(qdig ga web.1 +short 1.web.ga.app.localspace)" = "$(dyno_ip ga web.1)" ]
	[ "$(qdig ga web.1 +short 2.web.ga.app.localspace)" = "$(dyno_ip ga web.2)" ]
	# Names are not case-sensitive.
	[ "$(qdig ga web.1 +short 1.WEB.Ga.App.LocalSpace)" = "$(dyno_ip ga web.1)" ]
}

@test "unknown names under localspace are NXDOMAIN; known names have no AAAA" {
	for name in web.nope.app.localspace 3.web.ga.app.localspace nothing.localspace; do
		run qdig ga web.1 "$name"
		[[ "$output" == *"status: NXDOMAIN"* ]]
		[[ "$output" == *"SOA"* ]]
	done
	# The app's name, and a process type scaled to 0, exist without addresses.
	for name in ga.app.localspace worker.ga.app.localspace; do
		run qdig ga web.1 "$name"
		[[ "$output" == *"status: NOERROR"* ]] && [[ "$output" == *"ANSWER: 0"* ]]
	done
	run qdig ga web.1 AAAA web.ga.app.localspace
	[[ "$output" == *"status: NOERROR"* ]] && [[ "$output" == *"ANSWER: 0"* ]]
}

@test "scaling changes the answer within seconds, without restarting the resolver" {
	pid=$(resolver_pid dns-one)
	api_expect 200 PATCH /apps/ga/formation '{"updates":[{"type":"web","quantity":3}]}' >/dev/null
	wait_dynos ga 3
	wait_answer gb web.1 web.ga.app.localspace "$(up_ips ga web)" 3
	[ "$(qdig gb web.1 +short web.ga.app.localspace | wc -l)" -eq 3 ]
	api_expect 200 PATCH /apps/ga/formation '{"updates":[{"type":"web","quantity":1}]}' >/dev/null
	wait_answer gb web.1 web.ga.app.localspace "$(dyno_ip ga web.1)" 5
	run qdig gb web.1 3.web.ga.app.localspace
	[[ "$output" == *"status: NXDOMAIN"* ]]
	[ "$(resolver_pid dns-one)" = "$pid" ]
	api_expect 200 PATCH /apps/ga/formation '{"updates":[{"type":"web","quantity":2}]}' >/dev/null
	wait_dynos ga 2
}

@test "dynos know their DNS names" {
	out=$(in_dyno_net ga web.1 curl -sS -m 5 "http://$(dyno_ip ga web.1):5000/whoami")
	[ "$(jq -r .HEROKU_DNS_FORMATION_NAME <<<"$out")" = web.ga.app.localspace ]
	[ "$(jq -r .HEROKU_DNS_DYNO_NAME <<<"$out")" = 1.web.ga.app.localspace ]
	[ "$(jq -r .HEROKU_DNS_APP_NAME <<<"$out")" = ga.app.localspace ]
}

@test "a gossip app finds the dynos of another app of its space by DNS, both ways" {
	for pair in ga:gb gb:ga; do
		from=${pair%%:*} to=${pair#*:}
		wait_answer "$from" web.1 "web.$to.app.localspace" "$(up_ips "$to" web)" 5
		out=$(in_dyno_net "$from" web.1 curl -sS -m 20 \
			"http://$(dyno_ip "$from" web.1):5000/gossip?name=web.$to.app.localspace")
		[ "$(jq -r '.addresses[]' <<<"$out")" = "$(up_ips "$to" web)" ]
		# Every address answered, as a dyno of the other app.
		[ "$(jq -r '.answers[].HEROKU_APP_NAME' <<<"$out" | sort -u)" = "$to" ]
		[ "$(jq -r '.answers[].DYNO' <<<"$out" | sort)" = "$(printf 'web.1\nweb.2')" ]
		[ "$(jq '[.answers[] | select(.error)] | length' <<<"$out")" -eq 0 ]
	done
}

@test "the resolver is reachable from its own space only" {
	# Another space's resolver knows nothing of this one's apps.
	run qdig gc web.1 web.ga.app.localspace
	[[ "$output" == *"status: NXDOMAIN"* ]]
	[ "$(qdig gc web.1 +short web.gc.app.localspace)" = "$(dyno_ip gc web.1)" ]
	# The space namespace's address on its uplink: from the host, and from a dyno of another
	# space (through the host), nothing answers there.
	uplink=$(ip -n "cove-s-$(space_id dns-one)" -4 -o addr show uplink | awk '{ print $4 }' | cut -d/ -f1)
	[[ "$uplink" == 100.64.* ]]
	run dig +time=1 +tries=1 "@$uplink" web.ga.app.localspace
	[[ "$output" == *"timed out"* ]] || [[ "$output" == *"no servers could be reached"* ]]
	run dig +tcp +time=1 +tries=1 "@$uplink" web.ga.app.localspace
	[[ "$output" != *"status:"* ]]
	run in_dyno_net gc web.1 dig +time=1 +tries=1 "@$uplink" web.ga.app.localspace
	[[ "$output" != *"status:"* ]]
	# No socket of the resolver listens in the host's namespace.
	pid=$(resolver_pid dns-one)
	! ss -H -lnup | grep -q "pid=$pid,"
}

@test "other names go to the host's resolver, only when recursion is desired" {
	[ "$(qdig ga web.1 +short db.example.test)" = 203.0.113.7 ]
	[ "$(qdig ga web.1 +tcp +short db.example.test)" = 203.0.113.7 ]
	run qdig ga web.1 +norecurse db.example.test
	[[ "$output" == *"status: REFUSED"* ]]
}

@test "a resolver that dies is started again" {
	old=$(resolver_pid dns-one)
	kill -9 "$old"
	for i in $(seq 1 50); do
		new=$(resolver_pid dns-one)
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		sleep 0.2
	done
	[ "$new" != "$old" ]
	wait_answer gb web.1 web.ga.app.localspace "$(up_ips ga web)" 5
}
