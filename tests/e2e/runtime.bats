#!/usr/bin/env bats
# The runtime end to end: coved with its agent makes spaces into networks and runs apps'
# formations as sandboxed, supervised dynos in them (issue: "Runtime").

load helpers
load runtime-helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	export COVED_ROLE=all
	coved_start --boot-timeout 10 --stop-timeout 3
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"space-x","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"space-y","team":"acme","cidr":"10.5.0.0/16","data_cidr":"10.6.0.0/16"}' >/dev/null
	wait_space space-x allocated
	wait_space space-y allocated
	api_expect 201 POST /teams/apps '{"name":"app-a","space":"space-x"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"app-b","space":"space-x"}' >/dev/null
	api_expect 201 POST /teams/apps '{"name":"app-y","space":"space-y"}' >/dev/null
	# app-a: a web server and a worker that reports what it sees of its sandbox.
	deploy_slug app-a '{"web":"exec python3 -m http.server $PORT","worker":"id -u; hostname; ps -eo pid=,comm=; touch /usr/cove-test 2>&1 || echo usr-readonly; echo PORT=${PORT:-none} DYNO=$DYNO IP=$HEROKU_PRIVATE_IP; exec sleep 1000"}' >/dev/null
	api_expect 200 PATCH /apps/app-a/formation '{"updates":[{"type":"web","quantity":2},{"type":"worker","quantity":1}]}' >/dev/null
	# app-b: TCP and UDP listeners on arbitrary ports.
	deploy_slug app-b '{"web":"exec python3 -m http.server $PORT","worker":"socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:\"echo pong\" & socat UDP-RECVFROM:7778,fork SYSTEM:\"echo upong\" & wait"}' >/dev/null
	api_expect 200 PATCH /apps/app-b/formation '{"updates":[{"type":"worker","quantity":1}]}' >/dev/null
	deploy_slug app-y '{"web":"exec python3 -m http.server $PORT"}' >/dev/null
	wait_dynos app-a 3
	wait_dynos app-b 2
	wait_dynos app-y 1
}

teardown_file() {
	runtime_cleanup
}

@test "spaces are allocated with an outbound IP each" {
	nat=$(api_expect 200 GET /spaces/space-x/nat)
	[ "$(jq -r .state <<<"$nat")" = enabled ]
	ip_x=$(jq -r '.sources[0]' <<<"$nat")
	ip_y=$(api_expect 200 GET /spaces/space-y/nat | jq -r '.sources[0]')
	[[ "$ip_x" == 198.18.0.* ]]
	[ "$ip_x" != "$ip_y" ]
	ip netns list | grep -q "cove-s-$(api GET /spaces/space-x | jq -r .id)"
}

@test "cove ps shows every dyno up with its private IP" {
	run cove ps -a app-a --json
	[ "$status" -eq 0 ]
	[ "$(jq '[.[] | select(.state == "up" and (.private_ip | startswith("10.0.")))] | length' <<<"$output")" -eq 3 ]
	run cove ps -a app-a
	[ "$status" -eq 0 ]
	[[ "$output" == *"web.1: up"* ]]
	[[ "$output" == *"worker.1: up"* ]]
}

@test "releases:create runs a slug; spaces:ps, spaces:topology and spaces:info show the runtime" {
	mkdir -p "$BATS_TEST_TMPDIR/s/app"
	echo "hello from app-c" >"$BATS_TEST_TMPDIR/s/app/index.html"
	tar -czf "$BATS_TEST_TMPDIR/c.tgz" -C "$BATS_TEST_TMPDIR/s" ./app
	api_expect 201 POST /teams/apps '{"name":"app-c","space":"space-x"}' >/dev/null
	run cove releases:create -a app-c --slug "$BATS_TEST_TMPDIR/c.tgz" --procfile 'web: exec python3 -m http.server $PORT'
	[ "$status" -eq 0 ]
	[[ "$output" == *"done, v2"* ]]
	wait_dynos app-c 1
	run in_dyno_net app-a web.1 curl -fsS -m 3 "http://$(dyno_ip app-c web.1):5000/index.html"
	[ "$output" = "hello from app-c" ]
	run cove spaces:ps --space space-x
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== app-c (1)"* ]]
	[[ "$output" == *"web.1: up"*"($(dyno_ip app-c web.1))"* ]]
	run cove spaces:topology --space space-x
	[ "$status" -eq 0 ]
	[[ "$output" == *"web.1  $(dyno_ip app-c web.1)"*"1.web.app-c.app.localspace"* ]]
	run cove spaces:info space-x
	[[ "$output" == *"Outbound IPs"*"198.18.0."* ]]
	run cove releases:create -a app-c --slug "$BATS_TEST_TMPDIR/c.tgz" --procfile 'nonsense'
	[ "$status" -eq 2 ]
	[[ "$output" == *"is invalid"* ]]
	api_expect 200 DELETE /apps/app-c >/dev/null
}

@test "what buildpacks left in /app/.profile.d is sourced before a dyno's command" {
	mkdir -p "$BATS_TEST_TMPDIR/p/app/.profile.d"
	echo 'export FROM_PROFILE=yes-it-was' >"$BATS_TEST_TMPDIR/p/app/.profile.d/cove-test.sh"
	tar -czf "$BATS_TEST_TMPDIR/p.tgz" -C "$BATS_TEST_TMPDIR/p" ./app
	api_expect 201 POST /teams/apps '{"name":"app-p","space":"space-x"}' >/dev/null
	run cove releases:create -a app-p --slug "$BATS_TEST_TMPDIR/p.tgz" --procfile 'worker: echo "profile=$FROM_PROFILE"; exec sleep 1000'
	[ "$status" -eq 0 ]
	api_expect 200 PATCH /apps/app-p/formation/worker '{"quantity":1}' >/dev/null
	wait_dynos app-p 1
	for i in $(seq 1 25); do dyno_output app-p worker.1 | grep -q profile= && break; sleep 0.2; done
	[ "$(dyno_output app-p worker.1)" = "profile=yes-it-was" ]
	api_expect 200 DELETE /apps/app-p >/dev/null
}

@test "a dyno of app A reaches a dyno of app B on any TCP port and by UDP" {
	b=$(dyno_ip app-b worker.1)
	run in_dyno_net app-a web.1 socat -t2 -T2 - "TCP:$b:7777,connect-timeout=2" </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *pong* ]]
	run in_dyno_net app-a web.1 sh -c "echo ping | socat -t2 -T2 - UDP:$b:7778"
	[[ "$output" == *upong* ]]
	run in_dyno_net app-a worker.1 curl -fsS -m 3 "http://$(dyno_ip app-b web.1):5000/index.html"
	[ "$status" -eq 0 ]
	[[ "$output" == "hello from app-b" ]]
}

@test "a dyno cannot reach another space" {
	y=$(dyno_ip app-y web.1)
	[[ "$y" == 10.5.* ]]
	run in_dyno_net app-a web.1 curl -sS -m 2 "http://$y:5000/"
	[ "$status" -ne 0 ]
	run in_dyno_net app-y web.1 curl -sS -m 2 "http://$(dyno_ip app-a web.1):5000/"
	[ "$status" -ne 0 ]
}

@test "a dyno cannot open a connection to the host" {
	# A listener on every address of the host; the dyno may connect to none of them.
	socat TCP-LISTEN:7799,reuseaddr,fork SYSTEM:"echo host" &
	listener=$!
	sleep 0.3
	local addr failed=0
	for addr in $(ip -4 -o addr show | awk '{print $4}' | cut -d/ -f1 | grep -v '^127\.'); do
		if in_dyno_net app-a web.1 socat -t2 -T1 - "TCP:$addr:7799,connect-timeout=1" </dev/null 2>/dev/null | grep -q host; then
			echo "reached the host at $addr" >&2
			failed=1
		fi
	done
	kill "$listener"
	[ "$failed" -eq 0 ]
}

@test "the dyno's sandbox: own process tree, read-only /usr, non-root, its name and environment" {
	out=$(dyno_output app-a worker.1)
	uid=$(api GET /apps/app-a/dynos | jq -r '.[0].app.id' >/dev/null; sed -n 1p <<<"$out")
	[ "$uid" -ge 100000 ]
	[ "$(sed -n 2p <<<"$out")" = worker.1 ]
	# ps sees pid 1 (the sandbox's init) and its own processes only.
	procs=$(sed -n '3,/usr-readonly/p' <<<"$out" | grep -v usr-readonly)
	[ "$(wc -l <<<"$procs")" -le 4 ]
	grep -q '^ *1 ' <<<"$procs"
	! grep -q python3 <<<"$procs"
	grep -q usr-readonly <<<"$out"
	grep -q "PORT=none DYNO=worker.1 IP=$(dyno_ip app-a worker.1)" <<<"$out"
	# As the host sees it: not root, no capabilities.
	pid=$(dyno_pid app-a web.1)
	[ -n "$pid" ]
	grep -q "^Uid:[[:space:]]*1000[0-9][0-9]" "/proc/$pid/status"
	grep -q "^CapEff:[[:space:]]*0000000000000000" "/proc/$pid/status"
	[ ! -e /usr/cove-test ]
}

@test "a dyno's cgroup has the memory of its size" {
	id=$(dyno_id app-a web.1)
	limit=$(cat "/sys/fs/cgroup/memory/cove/$id/memory.limit_in_bytes" 2>/dev/null || cat "/sys/fs/cgroup/cove/$id/memory.max")
	[ "$limit" -eq $((1024 * 1024 * 1024)) ]
	api_expect 200 PATCH /apps/app-y/formation/web '{"size":"private-xs"}' >/dev/null
	sleep 1
	wait_dynos app-y 1
	id=$(dyno_id app-y web.1)
	limit=$(cat "/sys/fs/cgroup/memory/cove/$id/memory.limit_in_bytes" 2>/dev/null || cat "/sys/fs/cgroup/cove/$id/memory.max")
	[ "$limit" -eq $((512 * 1024 * 1024)) ]
}

@test "connections from a space reach the outside from the space's outbound IP" {
	ns=cvtest-inet-$$
	ip netns add "$ns"
	ip link add cvtest-i$$ type veth peer name eth0 netns "$ns"
	ip addr add 203.0.113.254/24 dev cvtest-i$$
	ip link set cvtest-i$$ up
	ip -n "$ns" addr add 203.0.113.1/24 dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" route add 198.18.0.0/24 via 203.0.113.254
	ip netns exec "$ns" socat -t2 -T5 TCP-LISTEN:8080,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR' &
	sleep 0.3
	run in_dyno_net app-a web.1 socat -t2 -T3 - TCP:203.0.113.1:8080,connect-timeout=3 </dev/null
	ip link del cvtest-i$$ 2>/dev/null || true
	ip netns del "$ns"
	[ "$status" -eq 0 ]
	[ "$output" = "$(api GET /spaces/space-x/nat | jq -r '.sources[0]')" ]
}

@test "a killed dyno is started again, a crash loop backs off, a web dyno that never binds is killed (R10)" {
	old=$(dyno_pid app-b web.1)
	kill -9 "$old"
	sleep 0.5
	wait_dynos app-b 2 up 10
	[ "$(dyno_pid app-b web.1)" != "$old" ]
	grep -q "app-b heroku\[web.1\]: State changed from up to crashed" "$COVED_DATA/coved.log"

	deploy_slug app-y '{"web":"exec python3 -m http.server $PORT","crash":"exit 3"}' >/dev/null
	api_expect 200 PATCH /apps/app-y/formation/crash '{"quantity":1}' >/dev/null
	log_has "app-y heroku\[crash.1\]: Process exited with status 3" 20
	log_has "app-y heroku\[crash.1\]: Restarting in [0-9]* s" 20
	# A first release whose web dyno never binds $PORT: killed at the boot timeout (10 s here).
	api_expect 201 POST /teams/apps '{"name":"app-z","space":"space-y"}' >/dev/null
	deploy_slug app-z '{"web":"exec sleep 1000"}' >/dev/null
	log_has "app-z heroku\[web.1\]: Error R10 \(Boot timeout\)" 25
	api_expect 200 DELETE /apps/app-z >/dev/null
	api_expect 200 PATCH /apps/app-y/formation/crash '{"quantity":0}' >/dev/null
}

@test "ps:restart restarts a dyno, and scaling down stops dynos" {
	old=$(dyno_pid app-a web.2)
	run cove ps:restart web.2 -a app-a
	[ "$status" -eq 0 ]
	for i in $(seq 1 50); do
		new=$(dyno_pid app-a web.2)
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		sleep 0.2
	done
	[ "$new" != "$old" ]
	wait_dynos app-a 3
	run cove ps:scale web=1 -a app-a
	[ "$status" -eq 0 ]
	wait_dynos app-a 2
	api_expect 200 PATCH /apps/app-a/formation/web '{"quantity":2}' >/dev/null
	wait_dynos app-a 3
}

@test "a deploy rolls: old web dynos serve until their successors are up; a release that never comes up fails" {
	api_expect 201 POST /teams/apps '{"name":"app-r","space":"space-x"}' >/dev/null
	echo v1 >"$BATS_TEST_TMPDIR/index.html"
	deploy_slug app-r '{"web":"exec python3 -m http.server $PORT"}' "$BATS_TEST_TMPDIR/index.html" >/dev/null
	api_expect 200 PATCH /apps/app-r/formation/web '{"quantity":2}' >/dev/null
	wait_dynos app-r 2

	# v2 binds its port a second after it starts: the old dynos must keep serving meanwhile.
	echo v2 >"$BATS_TEST_TMPDIR/index.html"
	deploy_slug app-r '{"web":"sleep 1; exec python3 -m http.server $PORT"}' "$BATS_TEST_TMPDIR/index.html" >/dev/null
	min_up=99
	for i in $(seq 1 150); do
		all=$(api GET /apps/app-r/dynos)
		up=$(jq '[.[] | select(.state == "up")] | length' <<<"$all")
		[ "$up" -lt "$min_up" ] && min_up=$up
		new_up=$(jq '[.[] | select(.state == "up" and .release.version == 3)] | length' <<<"$all")
		[ "$new_up" -eq 2 ] && [ "$(jq length <<<"$all")" -eq 2 ] && break
		sleep 0.1
	done
	[ "$new_up" -eq 2 ]
	[ "$min_up" -ge 2 ]
	run in_dyno_net app-a web.1 curl -fsS -m 3 "http://$(dyno_ip app-r web.1):5000/index.html"
	[ "$output" = v2 ]

	# v4 never binds $PORT: after the boot timeout it fails, and v3 keeps serving.
	deploy_slug app-r '{"web":"exec sleep 1000"}' >/dev/null
	for i in $(seq 1 100); do
		[ "$(api GET /apps/app-r/releases/4 | jq -r .status)" = failed ] && break
		sleep 0.1
	done
	[ "$(api GET /apps/app-r/releases/4 | jq -r .status)" = failed ]
	wait_dynos app-r 2 up 10
	[ "$(api GET /apps/app-r/dynos | jq '[.[] | select(.release.version == 3)] | length')" -eq 2 ]
	run in_dyno_net app-a web.1 curl -fsS -m 3 "http://$(dyno_ip app-r web.2):5000/index.html"
	[ "$output" = v2 ]
	grep -q "app-r heroku\[api\]: Release v4 failed" "$COVED_DATA/coved.log"
	api_expect 200 DELETE /apps/app-r >/dev/null
}

@test "no request fails through the router while a deploy rolls" {
	api_expect 201 POST /teams/apps '{"name":"app-l","space":"space-x"}' >/dev/null
	echo v1 >"$BATS_TEST_TMPDIR/index.html"
	deploy_slug app-l '{"web":"exec python3 -m http.server $PORT"}' "$BATS_TEST_TMPDIR/index.html" >/dev/null
	api_expect 200 PATCH /apps/app-l/formation/web '{"quantity":2}' >/dev/null
	wait_dynos app-l 2
	ingress=$(api GET /spaces/space-x | jq -r .ingress)
	for i in $(seq 1 50); do
		curl -fsS -m 2 -o /dev/null -H "Host: app-l.space-x.localhost" "http://$ingress/index.html" && break
		sleep 0.2
	done
	# A load loop through the router, for the whole deploy.
	(
		ok=0 failed=0
		while [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do
			if curl -fsS -m 5 -o /dev/null -H "Host: app-l.space-x.localhost" "http://$ingress/index.html"; then
				ok=$((ok + 1))
			else
				failed=$((failed + 1))
			fi
		done
		echo "$ok $failed" >"$BATS_TEST_TMPDIR/result"
	) &
	loop=$!
	echo v2 >"$BATS_TEST_TMPDIR/index.html"
	deploy_slug app-l '{"web":"sleep 1; exec python3 -m http.server $PORT"}' "$BATS_TEST_TMPDIR/index.html" >/dev/null
	for i in $(seq 1 150); do
		all=$(api GET /apps/app-l/dynos)
		[ "$(jq '[.[] | select(.state == "up" and .release.version == 3)] | length' <<<"$all")" -eq 2 ] &&
			[ "$(jq length <<<"$all")" -eq 2 ] && break
		sleep 0.1
	done
	sleep 2
	touch "$BATS_TEST_TMPDIR/stop"
	wait $loop
	read -r ok failed <"$BATS_TEST_TMPDIR/result"
	echo "requests: $ok answered, $failed failed" >&3
	[ "$ok" -gt 20 ]
	[ "$failed" -eq 0 ]
	[ "$(curl -fsS -m 2 -H "Host: app-l.space-x.localhost" "http://$ingress/index.html")" = v2 ]
	api_expect 200 DELETE /apps/app-l >/dev/null
}

@test "kill -9 of coved: dynos keep running with the same pids and are adopted" {
	before=$(for d in web.1 web.2 worker.1; do dyno_pid app-a $d; done)
	pkill -9 -f "coved agent --api $COVE_API_URL" || true
	coved_kill
	sleep 0.5
	coved_restart --boot-timeout 10 --stop-timeout 3
	wait_dynos app-a 3 up 15
	after=$(for d in web.1 web.2 worker.1; do dyno_pid app-a $d; done)
	[ "$before" = "$after" ]
	grep -q "adopted dyno 'web.1' of 'app-a'" "$COVED_DATA/coved.log"
}

@test "destroying a space leaves no namespace, link, address or rule behind" {
	id=$(api GET /spaces/space-y | jq -r .id)
	outbound=$(api GET /spaces/space-y/nat | jq -r '.sources[0]')
	dyno=$(dyno_id app-y web.1)
	run cove apps:destroy app-y --confirm app-y
	[ "$status" -eq 0 ]
	run cove spaces:destroy space-y --confirm space-y
	[ "$status" -eq 0 ]
	for i in $(seq 1 50); do
		[ "$(api GET /spaces | jq '[.[] | select(.name == "space-y")] | length')" -eq 0 ] && break
		sleep 0.2
	done
	! ip netns list | grep -q "$id"
	! ip netns list | grep -q "$dyno"
	! ip link | grep -q "cu-${id:0:8}"
	! ip addr show cove-out | grep -q "$outbound/"
	! nft list ruleset | grep -q "$outbound"
	[ ! -e "$COVED_DATA/agent/spaces/$id.json" ]
}
