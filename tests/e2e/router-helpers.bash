# Helpers of the router tests (tests/e2e/router-*.bats): coved with its agent and routers on
# a test port, apps running tests/e2e/router-app.py, requests to a space's router, and the
# router's log. Load after helpers and runtime-helpers.

ROUTER_APP=$BATS_TEST_DIRNAME/router-app.py
ROUTER_CLIENT=$BATS_TEST_DIRNAME/router-client.py

# router_coved_start PORT [coved args]: coved with its agent; routers listen on PORT of their
# space's ingress address, with short timeouts so that H12, H15, H19 come quickly.
router_coved_start() {
	export ROUTER_PORT=$1
	shift
	export COVED_ROLE=all
	coved_start --router-port "$ROUTER_PORT" --router-threads 2 \
		--router-timeouts "${ROUTER_TIMEOUTS:-connect=1,response=2,idle=2,header=2,keepalive=10}" \
		--boot-timeout 10 --stop-timeout 3 "$@"
}

space_id() {
	api GET "/spaces/$1" | jq -r .id
}

# space_ingress SPACE: ADDRESS:PORT of the space's router (from the agent's record of it).
space_ingress() {
	sed -n 's/^listen=//p' "$COVED_DATA/agent/routers/$(space_id "$1").pid" 2>/dev/null
}

# router_pid SPACE
router_pid() {
	# Empty, not a failure, while there is no pid file: between a router's death and its restart.
	sed -n 's/^pid=//p' "$COVED_DATA/agent/routers/$(space_id "$1").pid" 2>/dev/null || true
}

# rcurl SPACE HOST PATH [curl args...]: a request to the space's router, for HOST.
rcurl() {
	local space=$1 host=$2 path=$3
	shift 3
	curl -sS -m 30 -H "Host: $host" "http://$(space_ingress "$space")$path" "$@"
}

# rstatus SPACE HOST PATH: the status of a GET through the router.
rstatus() {
	rcurl "$1" "$2" "$3" -o /dev/null -w '%{http_code}' 2>/dev/null || true
}

# wait_status SPACE HOST PATH STATUS [SECONDS]: until the router answers PATH with STATUS
# (the agent rewrites the routing table asynchronously).
wait_status() {
	local i got
	for i in $(seq 1 $((${5:-15} * 10))); do
		got=$(rstatus "$1" "$2" "$3")
		[ "$got" = "$4" ] && return 0
		sleep 0.1
	done
	echo "$2$3 on the router of $1: wanted $4, got $got" >&2
	tail -5 "$COVED_DATA/coved.log" >&2
	return 1
}

# router_log SPACE: the space router's request log.
router_log() {
	cat "$COVED_DATA/agent/routers/$(space_id "$1").log" 2>/dev/null
}

# wait_log SPACE PATTERN [SECONDS]: until a line of the router log matches (grep -E); prints it.
wait_log() {
	local i
	for i in $(seq 1 $((${3:-10} * 10))); do
		if router_log "$1" | grep -E -- "$2" | tail -1 | grep .; then
			return 0
		fi
		sleep 0.1
	done
	echo "no line of the router log of $1 matches '$2':" >&2
	router_log "$1" | tail -5 >&2
	return 1
}

# deploy_router_app APP [WEB COMMAND]: releases router-app.py as APP's web process.
deploy_router_app() {
	local cmd=${2:-exec python3 router-app.py \$PORT}
	deploy_slug "$1" "{\"web\":\"$cmd\"}" "$ROUTER_APP" >/dev/null
}

# The dynos of APP that received a request for a path containing MARKER (router-app.py
# prints a REQUEST line per request).
dyno_requests() {
	local app=$1 marker=$2 id
	for id in $(api GET "/apps/$app/dynos" | jq -r '.[].id'); do
		grep "^REQUEST" "$COVED_DATA/agent/dynos/$id/sandbox/output.log" 2>/dev/null | grep -F -- "$marker" || true
	done
}

# runtime_cleanup, then whatever router is left (a failed test may leave one running).
router_cleanup() {
	runtime_cleanup
	local f pid
	for f in "$COVED_DATA"/agent/routers/*.pid; do
		[ -e "$f" ] || continue
		pid=$(sed -n 's/^pid=//p' "$f")
		[ -n "$pid" ] && grep -q router "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	done
}

# outside_create NS VETH ADDRESS/PREFIX...: an "outside" network namespace NS, addressed on its
# eth0 (addresses of 203.0.113.0/24, never this host's own network), behind the host's
# 203.0.113.254 on VETH. It reaches the spaces' ingress addresses on the host's loopback
# (127.0.2.0/24: route_localnet on both ends, lo of NS stays down so that 127.0.0.0/8 is not
# its own) and the outbound IPs (198.18.0.0/24), as a client on a network would.
outside_create() {
	local ns=$1 veth=$2 a
	shift 2
	ip netns add "$ns"
	ip link add "$veth" type veth peer name eth0 netns "$ns"
	ip addr add 203.0.113.254/24 dev "$veth"
	sysctl -qw "net.ipv4.conf.$veth.route_localnet=1"
	ip link set "$veth" up
	for a in "$@"; do ip -n "$ns" addr add "$a" dev eth0; done
	ip -n "$ns" link set eth0 up
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
	ip -n "$ns" route add 127.0.2.0/24 via 203.0.113.254
	ip -n "$ns" route add 198.18.0.0/24 via 203.0.113.254
}

# outside_remove NS VETH
outside_remove() {
	ip link del "$2" 2>/dev/null || true
	ip netns del "$1" 2>/dev/null || true
}
