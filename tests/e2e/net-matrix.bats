#!/usr/bin/env bats
# The isolation matrix (issue 8): the whole platform (COVED_ROLE=all, needs root and the kernel
# lock) with three spaces, apps whose dynos answer on TCP and UDP (net-matrix-app.py), a
# PostgreSQL add-on per space when the platform has add-ons, and an "outside" namespace that
# is both a client on a network and the test's internet. Every path is tried and printed as a
# line of the matrix (`# ` lines of the TAP output): the path, the expected and the observed
# verdict, and for a denied cell the control that proves its probe works.
#
#   mx-a  10.0.0.0/16 (data 10.1.0.0/16)    apps a1, a2 (web.1 each), PostgreSQL on a1
#   mx-b  10.20.0.0/16 (data 10.21.0.0/16)  apps b1, b2 (web.1 each), PostgreSQL on b1
#   mx-c  10.0.0.0/16, the CIDR of mx-a     app c1 (web.1..3: web.3 has an address mx-a does
#                                           not use, web.1 one it does)
#   outside  203.0.113.7 and 203.0.113.200 behind the host's 203.0.113.254
#
# A probe (socat, curl or dig from the source's network namespace, 1 s to connect) counts
# as "allowed" only when the target itself answers with its marker: a dyno its "<app> <dyno>",
# PostgreSQL its one-byte answer to an SSLRequest, a host listener "host". The outside and
# the host get a route to mx-a's networks through mx-a's uplink (policy routing, nothing else
# of theirs changes), which is what an attacker on the path would have.

load helpers
load runtime-helpers
load router-helpers

PORT2=40123 # the dynos' second TCP port and their UDP port: one the router does not know
TABLE=4343  # the routing table (and rule preference) of the attacker's routes

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the runtime needs root"
	export OUT=cvtest-mx-$$ VETH=cvtest-x$$
	export MATRIX=$BATS_FILE_TMPDIR/matrix NET_STATE=$BATS_FILE_TMPDIR/net-state
	mkdir -p "$NET_STATE"
	router_coved_start 19$((RANDOM % 900 + 100))
	api_expect 201 POST /teams '{"name":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"mx-a","team":"acme"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"mx-b","team":"acme","cidr":"10.20.0.0/16","data_cidr":"10.21.0.0/16"}' >/dev/null
	api_expect 201 POST /spaces '{"name":"mx-c","team":"acme"}' >/dev/null
	local app space
	for space in mx-a mx-b mx-c; do wait_space $space allocated; done
	for app in a1:mx-a a2:mx-a b1:mx-b b2:mx-b c1:mx-c; do
		api_expect 201 POST /apps "{\"name\":\"${app%:*}\",\"space\":\"${app#*:}\"}" >/dev/null
	done
	# The add-ons first: their attachment's release then starts no dyno, and the dynos keep
	# the addresses the test relies on (a restart would give a1 a new one).
	local addons=
	if [ "$(api GET /addon-services >/dev/null; api_status)" = 200 ]; then
		addons=1
		api_expect 201 POST /apps/a1/addons '{"plan":"heroku-postgresql:essential-0"}' >/dev/null
		api_expect 201 POST /apps/b1/addons '{"plan":"heroku-postgresql:essential-0"}' >/dev/null
		for app in a1 b1; do wait_addon $app; done
	fi
	for app in a1 a2 b1 b2 c1; do
		deploy_slug "$app" "{\"web\":\"exec python3 net-matrix-app.py \$PORT $PORT2\"}" \
			"$BATS_TEST_DIRNAME/net-matrix-app.py" >/dev/null
	done
	# c1's third dyno is the one with an address mx-a leaves free (the lowest free one is given).
	api_expect 200 PATCH /apps/c1/formation '{"updates":[{"type":"web","quantity":3}]}' >/dev/null
	for app in a1 a2 b1 b2; do wait_dynos $app 1; done
	wait_dynos c1 3
	if [ -n "$addons" ]; then
		for app in a1 b1; do
			wait_release_dynos $app
			echo "export PG_$app=$(api GET /apps/$app/addons | jq -r '.[0].private_ip')" >>"$BATS_FILE_TMPDIR/names"
		done
	fi

	# The sources and targets, by name: NS_<name> the network namespace, IP_<name> the address.
	local name dyno
	for name in a1 a2 b1 b2 c1.1 c1.2 c1.3; do
		app=${name%.*} dyno=web.1
		[ "$name" = "$app" ] || dyno=web.${name#*.}
		read -r id ip < <(api GET "/apps/$app/dynos/$dyno" | jq -r '"\(.id) \(.private_ip)"')
		echo "export NS_${name/./_}=cove-d-$id IP_${name/./_}=$ip" >>"$BATS_FILE_TMPDIR/names"
	done
	# shellcheck disable=SC1091
	. "$BATS_FILE_TMPDIR/names"
	# The test is only as good as its addresses: c1.3's is free in mx-a, c1.1's is taken there.
	[ "$IP_c1_3" != "$IP_a1" ]
	[ "$IP_c1_3" != "$IP_a2" ]
	[ "$IP_c1_1" = "$IP_a1" ] || [ "$IP_c1_1" = "$IP_a2" ] || false

	outside_create $OUT $VETH 203.0.113.7/24 203.0.113.200/24
	local uplink_a
	uplink_a=$(ip -n "cove-s-$(space_id mx-a)" -4 -o addr show dev uplink | awk '{ split($4, a, "/"); print a[1] }')
	# The attacker's route: what the outside or the host sends to mx-a's networks goes into
	# mx-a's uplink, and nothing else of that lookup goes anywhere (never out of this machine).
	ip route add unreachable default table $TABLE
	ip route add 10.0.0.0/15 via "$uplink_a" table $TABLE
	ip rule add pref $TABLE iif $VETH to 10.0.0.0/15 lookup $TABLE
	ip rule add pref $TABLE iif lo to 10.0.0.0/15 lookup $TABLE
	ip -n $OUT route add 10.0.0.0/15 via 203.0.113.254

	HOST_PORT=$(free_port)
	echo "export HOST_PORT=$HOST_PORT" >>"$BATS_FILE_TMPDIR/names"
	background socat "TCP-LISTEN:$HOST_PORT,reuseaddr,fork" SYSTEM:'echo host'
	background socat "UDP-RECVFROM:$HOST_PORT,reuseaddr,fork" SYSTEM:'echo host'
	# The internet: each address says which it is, and whom it sees (the space's outbound IP).
	local a
	for a in 203.0.113.7 203.0.113.200; do
		background ip netns exec $OUT socat TCP-LISTEN:8080,bind=$a,reuseaddr,fork SYSTEM:"echo internet at $a from \$SOCAT_PEERADDR"
		background ip netns exec $OUT socat UDP-RECVFROM:8080,bind=$a,reuseaddr,fork SYSTEM:"echo internet at $a from \$SOCAT_PEERADDR"
	done
	sleep 0.3
	printf '# %-66s %-8s %-8s %s\n' path expected observed "verdict, control" >&3
}

teardown_file() {
	local pid
	[ -f "$NET_STATE/pids" ] && while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$NET_STATE/pids"
	ip rule del pref $TABLE 2>/dev/null || true
	ip rule del pref $TABLE 2>/dev/null || true
	ip route flush table $TABLE 2>/dev/null || true
	outside_remove $OUT $VETH
	router_cleanup
}

setup() {
	# shellcheck disable=SC1091
	. "$BATS_FILE_TMPDIR/names"
	BATCH=$BATS_TEST_TMPDIR/batch
	: >"$BATCH"
}

# background COMMAND...: for the rest of the file; teardown_file stops it.
background() {
	"$@" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >>"$NET_STATE/pids"
}

free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Htaun "sport = :$port")" ] && echo "$port" && return
	done
}

# wait_addon APP: until the first add-on of APP is provisioned.
wait_addon() {
	local i
	for i in $(seq 1 150); do
		[ "$(api GET "/apps/$1/addons" | jq -r '.[0].state')" = provisioned ] && return 0
		sleep 0.2
	done
	echo "the add-on of $1 is not provisioned: $(api GET "/apps/$1/addons")" >&2
	return 1
}

# wait_release_dynos APP: until APP's current release has its DATABASE_URL and its one dyno
# runs that release, up.
wait_release_dynos() {
	local i version
	for i in $(seq 1 150); do
		if [ "$(api GET "/apps/$1/config-vars" | jq -r '.DATABASE_URL // empty')" != "" ]; then
			version=$(api GET "/apps/$1/releases" -H "Range: version ..; max=1, order=desc" | jq -r '.[0].version')
			[ "$(api GET "/apps/$1/dynos" | jq --argjson v "$version" \
				'[.[] | select(.release.version == $v and .state == "up")] | length')" = 1 ] &&
				[ "$(api GET "/apps/$1/dynos" | jq length)" = 1 ] && return 0
		fi
		sleep 0.2
	done
	echo "the dynos of $1 do not run its current release: $(api GET "/apps/$1/dynos")" >&2
	return 1
}

# skip_without_addons CELLS: the platform has no add-ons: says so in the matrix, and skips.
skip_without_addons() {
	[ -n "${PG_a1:-}" ] && return 0
	printf '# %-66s %-8s %-8s %s\n' "$1" "-" "-" "skipped: no add-ons on this platform (GET /addon-services: 404)" >&3
	skip "no add-ons on this platform: $1 not tried"
}

# probe SOURCE KIND ADDRESS PORT: what answered. SOURCE is a name of the table above (its
# dyno's namespace), "outside" or "host"; KIND is tcp (connect, read), udp (a datagram, three
# times at most: on a loaded host an answer may take a while or a datagram be lost), pg (an SSLRequest), http (GET /, the status line) or web=HOST (GET / for HOST
# through a router, the body) or dns=NAME (its A records, asked over UDP).
probe() {
	local source=$1 kind=$2 address=$3 port=$4 in=()
	case $source in
	host) ;;
	outside) in=(ip netns exec "$OUT") ;;
	*)
		local var=NS_${source/./_}
		in=(ip netns exec "${!var}")
		;;
	esac
	local tcp=("${in[@]}" socat -T1 -t1 - "TCP:$address:$port,connect-timeout=1")
	local curl=("${in[@]}" curl -s --noproxy '*' --connect-timeout 1 -m 2)
	case $kind in
	tcp) timeout 3 "${tcp[@]}" </dev/null ;;
	pg) printf '\0\0\0\010\004\322\026\057' | timeout 3 "${tcp[@]}" | head -c1 ;;
	http) timeout 3 "${curl[@]}" -i "http://$address:$port/" | head -1 ;;
	web=*) timeout 3 "${curl[@]}" -H "Host: ${kind#web=}" "http://$address:$port/" ;;
	dns=*) timeout 3 "${in[@]}" dig +short +time=1 +tries=2 -p "$port" "@$address" "${kind#dns=}" A ;;
	udp)
		local i answer
		for i in 1 2 3; do
			answer=$(echo probe | timeout 3 "${in[@]}" socat -T2 -t2 - "UDP:$address:$port")
			[ -n "$answer" ] && break
		done
		echo "$answer"
		;;
	esac 2>/dev/null || true
}

# cell PATH EXPECTED SOURCE KIND ADDRESS PORT PATTERN: a cell of this test's batch. The cell
# is allowed when the answer matches PATTERN (grep -E), a marker only its target gives.
cell() {
	printf '%s\t' "$@" >>"$BATCH"
	echo >>"$BATCH"
}

# row PATH EXPECTED OBSERVED [NOTE]: prints a line of the matrix; a mismatch is counted.
row() {
	local verdict=ok
	[ "$2" = "$3" ] || verdict=MISMATCH
	printf '# %-66s %-8s %-8s %s\n' "$1" "$2" "$3" "$verdict${4:+, $4}" >&3
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$verdict" >>"$MATRIX"
	[ "$verdict" = ok ]
}

# The tool of a probe KIND: a control must have used the same one.
tool() {
	case $1 in
	tcp | pg) echo "socat over TCP" ;;
	udp) echo "socat over UDP" ;;
	http | web=*) echo curl ;;
	dns=*) echo dig ;;
	esac
}

# Runs the batch's probes at once, then prints a row per cell. A denied cell needs a control:
# a cell of the batch from the same source with the same tool that was expected and seen
# allowed (the tool works from there); without one it is a mismatch too.
matrix_run() {
	local i=0 path expected source kind address port pattern pids=()
	while IFS=$'\t' read -r path expected source kind address port pattern; do
		probe "$source" "$kind" "$address" "$port" >"$BATS_TEST_TMPDIR/answer.$i" &
		pids+=($!)
		i=$((i + 1))
	done <"$BATCH"
	wait "${pids[@]}" || true
	local observed=() answer
	i=0
	while IFS=$'\t' read -r path expected source kind address port pattern; do
		answer=$(cat "$BATS_TEST_TMPDIR/answer.$i")
		if grep -q -E -- "$pattern" <<<"$answer"; then observed[i]=allowed; else observed[i]=denied; fi
		i=$((i + 1))
	done <"$BATCH"
	local failed=0 note j c_path c_expected c_source c_kind rest
	i=0
	while IFS=$'\t' read -r path expected source kind address port pattern; do
		note=
		answer=$(head -1 "$BATS_TEST_TMPDIR/answer.$i" | tr -d '\r')
		[ "${observed[i]}" = denied ] && [ -n "$answer" ] && note="answered by '$answer'"
		if [ "$expected" = denied ]; then
			local control=
			j=0
			while IFS=$'\t' read -r c_path c_expected c_source c_kind rest; do
				if [ "$c_expected" = allowed ] && [ "${observed[j]}" = allowed ] && [ "$c_source" = "$source" ] &&
					[ "$(tool "$c_kind")" = "$(tool "$kind")" ]; then
					control=$c_path
					break
				fi
				j=$((j + 1))
			done <"$BATCH"
			if [ -z "$control" ]; then
				row "$path" "$expected" "no control" "no working $(tool "$kind") from $source" || failed=1
				i=$((i + 1))
				continue
			fi
			note="${note:+$note; }control: $control"
		fi
		row "$path" "$expected" "${observed[i]}" "$note" || failed=1
		i=$((i + 1))
	done <"$BATCH"
	return $failed
}

# changes_within SECONDS WANT SOURCE KIND ADDRESS PORT PATTERN: probes until the verdict is
# WANT, at most SECONDS after the call; prints the seconds from the call to the start of the
# first probe that saw WANT (its packets left then) and its number, or fails.
changes_within() {
	local limit=$1 want=$2 start now got n=0
	shift 2
	start=$(date +%s%N)
	while :; do
		now=$(date +%s%N)
		n=$((n + 1))
		if probe "$1" "$2" "$3" "$4" | grep -q -E -- "$5"; then got=allowed; else got=denied; fi
		if [ "$got" = "$want" ]; then
			awk -v ns=$((now - start)) -v n=$n 'BEGIN { printf "%.2f s, probe %d\n", ns / 1e9, n }'
			return 0
		fi
		[ $((now - start)) -gt $((limit * 1000000000)) ] && return 1
		sleep 0.1
	done
}

# timed_row PATH EXPECTED SECONDS SOURCE KIND ADDRESS PORT PATTERN: a row for a rule change:
# the verdict must be EXPECTED within SECONDS.
timed_row() {
	local path=$1 expected=$2 seconds=$3 took other=denied
	shift 3
	[ "$expected" = denied ] && other=allowed
	if took=$(changes_within "$seconds" "$expected" "$@"); then
		row "$path" "$expected" "$expected" "after $took"
	else
		row "$path" "$expected" "$other" "still $other after $seconds s"
	fi
}

@test "dyno to dyno: the same space on any port over TCP and UDP, never another space" {
	cell "a1 → a2, same space, TCP $PORT2" allowed a1 tcp "$IP_a2" $PORT2 "^a2 web.1$"
	cell "a1 → a2, same space, UDP $PORT2" allowed a1 udp "$IP_a2" $PORT2 "^a2 web.1$"
	cell "a2 → a1, same space, TCP 5000 (the web port)" allowed a2 http "$IP_a1" 5000 "^HTTP/1.[01] 200"
	cell "b1 → b2, same space, TCP $PORT2" allowed b1 tcp "$IP_b2" $PORT2 "^b2 web.1$"
	cell "b1 → b2, same space, UDP $PORT2" allowed b1 udp "$IP_b2" $PORT2 "^b2 web.1$"
	cell "c1.1 → c1.2, same space, same app, TCP $PORT2" allowed c1.1 tcp "$IP_c1_2" $PORT2 "^c1 web.2$"
	cell "c1.1 → c1.3, same space, same app, UDP $PORT2" allowed c1.1 udp "$IP_c1_3" $PORT2 "^c1 web.3$"
	cell "a1 → b1, other space, other CIDR, TCP $PORT2" denied a1 tcp "$IP_b1" $PORT2 "^b1 web.1$"
	cell "a1 → b1, other space, other CIDR, UDP $PORT2" denied a1 udp "$IP_b1" $PORT2 "^b1 web.1$"
	cell "b2 → a2, other space, other CIDR, TCP $PORT2" denied b2 tcp "$IP_a2" $PORT2 "^a2 web.1$"
	cell "b2 → b1, same space, TCP $PORT2 (control)" allowed b2 tcp "$IP_b1" $PORT2 "^b1 web.1$"
	cell "a1 → c1.3, other space, same CIDR, free address, TCP $PORT2" denied a1 tcp "$IP_c1_3" $PORT2 "^c1 web.3$"
	cell "a1 → c1.3, other space, same CIDR, free address, UDP $PORT2" denied a1 udp "$IP_c1_3" $PORT2 "^c1 web.3$"
	cell "a2 → c1.1, other space, same CIDR, address taken here, TCP" denied a2 tcp "$IP_c1_1" $PORT2 "^c1 web.1$"
	cell "a2 → a1, same space, TCP $PORT2 (control)" allowed a2 tcp "$IP_a1" $PORT2 "^a1 web.1$"
	cell "c1.3 → a1, other space, same CIDR, TCP $PORT2" denied c1.3 tcp "$IP_a1" $PORT2 "^a1 web.1$"
	cell "c1.3 → c1.1, same space, TCP $PORT2 (control)" allowed c1.3 tcp "$IP_c1_1" $PORT2 "^c1 web.1$"
	matrix_run
}

@test "the space's own services: its resolver and its router's internal address serve its dynos only" {
	# The gateways: 10.0.0.1 of mx-a and mx-c, 10.20.0.1 of mx-b (setup_file's CIDRs).
	cell "a1 → resolver of mx-a, web.a2.app.localspace" allowed a1 dns=web.a2.app.localspace 10.0.0.1 53 "^${IP_a2//./\\.}$"
	cell "a1 → resolver of mx-b (10.20.0.1), web.b1.app.localspace" denied a1 dns=web.b1.app.localspace 10.20.0.1 53 "^[0-9.]+$"
	cell "c1.1 → resolver of mx-c, web.c1.app.localspace (control)" allowed c1.1 dns=web.c1.app.localspace 10.0.0.1 53 "^${IP_c1_3//./\\.}$"
	cell "c1.1 → resolver of mx-c, web.a1.app.localspace (mx-a's name)" denied c1.1 dns=web.a1.app.localspace 10.0.0.1 53 "^[0-9.]+$"
	cell "a1 → router of mx-a on its gateway, 10.0.0.1:80, for a2" allowed a1 web=a2.mx-a.localhost 10.0.0.1 80 "^a2 web.1$"
	cell "a1 → router of mx-b on its gateway, 10.20.0.1:80, for b1" denied a1 web=b1.mx-b.localhost 10.20.0.1 80 "^b1 web.1$"
	cell "a1 → router of mx-a on its gateway, for b1 (mx-b's app)" denied a1 web=b1.mx-b.localhost 10.0.0.1 80 "^b1 web.1$"
	matrix_run
}

@test "dyno to data service: its own space's only" {
	skip_without_addons "the data service cells"
	cell "a1 → PostgreSQL of mx-a (its own)" allowed a1 pg "$PG_a1" 5432 "^[NS]$"
	cell "a2 → PostgreSQL of mx-a (not attached to a2)" allowed a2 pg "$PG_a1" 5432 "^[NS]$"
	cell "b1 → PostgreSQL of mx-b" allowed b1 pg "$PG_b1" 5432 "^[NS]$"
	cell "a1 → PostgreSQL of mx-b, other space" denied a1 pg "$PG_b1" 5432 "^[NS]$"
	cell "b2 → PostgreSQL of mx-a, other space" denied b2 pg "$PG_a1" 5432 "^[NS]$"
	cell "b2 → PostgreSQL of mx-b (not attached to b2)" allowed b2 pg "$PG_b1" 5432 "^[NS]$"
	cell "b2 → b1, same space, TCP $PORT2 (control)" allowed b2 tcp "$IP_b1" $PORT2 "^b1 web.1$"
	# mx-c has mx-a's networks and no server: mx-a's database address leads nowhere there.
	cell "c1.1 → the address of mx-a's PostgreSQL, same CIDRs" denied c1.1 pg "$PG_a1" 5432 "^[NS]$"
	cell "c1.1 → c1.2, same space, TCP $PORT2 (control)" allowed c1.1 tcp "$IP_c1_2" $PORT2 "^c1 web.2$"
	cell "outside → PostgreSQL of mx-a (routed into its uplink)" denied outside pg "$PG_a1" 5432 "^[NS]$"
	cell "outside → host 203.0.113.254, TCP (control)" allowed outside tcp 203.0.113.254 "$HOST_PORT" "^host$"
	cell "host → PostgreSQL of mx-a (routed into its uplink)" denied host pg "$PG_a1" 5432 "^[NS]$"
	cell "host → outside 203.0.113.7, TCP (control)" allowed host tcp 203.0.113.7 8080 "^internet at 203.0.113.7"
	matrix_run
}

@test "outside and host to a dyno's private address: denied" {
	# The attacker's route leads into mx-a: the lookup is what the cells rely on.
	ip route get "$IP_a1" from 203.0.113.7 iif $VETH | grep -q "dev cu-"
	ip route get "$IP_a1" | grep -q "dev cu-"
	cell "outside → a1's private address, TCP $PORT2" denied outside tcp "$IP_a1" $PORT2 "^a1 web.1$"
	cell "outside → a1's private address, UDP $PORT2" denied outside udp "$IP_a1" $PORT2 "^a1 web.1$"
	cell "outside → a1's private address, TCP 5000 (the web port)" denied outside http "$IP_a1" 5000 "^HTTP/1.[01] 200"
	cell "outside → host 203.0.113.254, TCP (control)" allowed outside tcp 203.0.113.254 "$HOST_PORT" "^host$"
	cell "outside → host 203.0.113.254, UDP (control)" allowed outside udp 203.0.113.254 "$HOST_PORT" "^host$"
	local a
	a=$(space_ingress mx-a)
	cell "outside → router of mx-a, for a1 (control)" allowed outside web=a1.mx-a.localhost "${a%:*}" "${a#*:}" "^a1 web.1$"
	cell "host → a1's private address, TCP $PORT2" denied host tcp "$IP_a1" $PORT2 "^a1 web.1$"
	cell "host → a1's private address, UDP $PORT2" denied host udp "$IP_a1" $PORT2 "^a1 web.1$"
	cell "host → outside 203.0.113.7, TCP (control)" allowed host tcp 203.0.113.7 8080 "^internet at 203.0.113.7"
	cell "host → outside 203.0.113.7, UDP (control)" allowed host udp 203.0.113.7 8080 "^internet at 203.0.113.7"
	matrix_run
}

@test "dyno to the host: none of its addresses, its loopback, the API or the ingress" {
	local api_port=${COVE_API_URL##*:} ingress a addresses
	ingress=$(space_ingress mx-a)
	# Every IPv4 address of the host: its uplinks, the outbound IPs, its network's, the outside's side.
	addresses=$(ip -4 -o addr show | awk '{ split($4, a, "/"); print a[1] }' | grep -v '^127\.')
	for a in $addresses; do
		cell "a1 → host $a, TCP $HOST_PORT" denied a1 tcp "$a" "$HOST_PORT" "^host$"
	done
	cell "a1 → host $(echo "$addresses" | head -1), UDP $HOST_PORT" denied a1 udp "$(echo "$addresses" | head -1)" "$HOST_PORT" "^host$"
	cell "a1 → 127.0.0.1:$HOST_PORT (the host's loopback)" denied a1 tcp 127.0.0.1 "$HOST_PORT" "^host$"
	cell "a1 → 127.0.0.1:$api_port (the API)" denied a1 http 127.0.0.1 "$api_port" "^HTTP/1.[01] "
	for a in $addresses; do
		cell "a1 → host $a:$api_port (the API's port)" denied a1 http "$a" "$api_port" "^HTTP/1.[01] "
	done
	cell "a1 → $ingress (the space's ingress)" denied a1 http "${ingress%:*}" "${ingress#*:}" "^HTTP/1.[01] "
	cell "a1 → a2, same space, TCP $PORT2 (control)" allowed a1 tcp "$IP_a2" $PORT2 "^a2 web.1$"
	cell "a1 → a2, same space, UDP $PORT2 (control)" allowed a1 udp "$IP_a2" $PORT2 "^a2 web.1$"
	cell "a1 → a2, same space, HTTP 5000 (control)" allowed a1 http "$IP_a2" 5000 "^HTTP/1.[01] 200"
	# The targets listen: the host reaches each of them itself.
	cell "host → 127.0.0.1:$HOST_PORT (the listener's control)" allowed host tcp 127.0.0.1 "$HOST_PORT" "^host$"
	cell "host → 127.0.0.1:$api_port (the API's control)" allowed host http 127.0.0.1 "$api_port" "^HTTP/1.[01] "
	cell "host → $ingress (the ingress's control)" allowed host http "${ingress%:*}" "${ingress#*:}" "^HTTP/1.[01] "
	matrix_run
}

# What a failed router cell needs to be understood, on stderr.
ingress_diagnose() {
	local space
	for space in mx-a mx-b; do
		echo "--- $space: ingress $(space_ingress "$space"), router pid $(router_pid "$space")" >&2
		router_log "$space" | tail -3 >&2
		nft list table ip "cove_in_$(space_id "$space" | tr -d - | cut -c1-8)" >&2 || true
	done
	ss -ltnp | grep '127\.0\.2\.' >&2 || true
	ip netns exec $OUT curl -sv -m 2 -H "Host: b1.mx-b.localhost" "http://$(space_ingress mx-b)/" >&2 || true
}

@test "the router from the outside: an untrusted source is denied, a trusted range let in within 2 s" {
	local a b
	a=$(space_ingress mx-a) b=$(space_ingress mx-b)
	local to_a=(outside web=a1.mx-a.localhost "${a%:*}" "${a#*:}" "^a1 web.1$")
	local to_b=(outside web=b1.mx-b.localhost "${b%:*}" "${b#*:}" "^b1 web.1$")
	cell "outside → router of mx-a, trusted 0.0.0.0/0 (the default)" allowed "${to_a[@]}"
	cell "outside → router of mx-b, trusted 0.0.0.0/0 (the default)" allowed "${to_b[@]}"
	matrix_run || { ingress_diagnose; false; }
	api_expect 200 PUT /spaces/mx-a/inbound-ruleset '{"rules":[{"action":"allow","source":"198.51.100.0/24"}]}' >/dev/null
	timed_row "outside → router of mx-a, 198.51.100.0/24 trusted only (change)" denied 2 "${to_a[@]}"
	: >"$BATCH"
	cell "outside → router of mx-a, 198.51.100.0/24 trusted only" denied "${to_a[@]}"
	cell "outside → router of mx-b, unchanged (control)" allowed "${to_b[@]}"
	matrix_run || { ingress_diagnose; false; }
	run cove spaces:trusted-ips:add 203.0.113.0/24 --space mx-a
	[ "$status" -eq 0 ]
	timed_row "outside → router of mx-a, 203.0.113.0/24 added (change)" allowed 2 "${to_a[@]}"
	api_expect 200 PUT /spaces/mx-a/inbound-ruleset '{"rules":[{"action":"allow","source":"0.0.0.0/0"}]}' >/dev/null
}

@test "egress to the internet: allowed, denied within 2 s of outbound rules that exclude it, allowed within 2 s of their restore" {
	local out_a out_b
	out_a=$(api GET /spaces/mx-a/nat | jq -r '.sources[0]')
	out_b=$(api GET /spaces/mx-b/nat | jq -r '.sources[0]')
	local tcp7=(a1 tcp 203.0.113.7 8080 "^internet at 203.0.113.7 from ${out_a//./\\.}$")
	local udp7=(a1 udp 203.0.113.7 8080 "^internet at 203.0.113.7 from ${out_a//./\\.}$")
	local tcp200=(a1 tcp 203.0.113.200 8080 "^internet at 203.0.113.200 from ${out_a//./\\.}$")
	local udp200=(a1 udp 203.0.113.200 8080 "^internet at 203.0.113.200 from ${out_a//./\\.}$")
	cell "a1 → internet 203.0.113.7:8080, TCP, all allowed (the default)" allowed "${tcp7[@]}"
	cell "a1 → internet 203.0.113.7:8080, UDP, all allowed (the default)" allowed "${udp7[@]}"
	cell "b1 → internet 203.0.113.7:8080, TCP, all allowed (the default)" allowed b1 tcp 203.0.113.7 8080 \
		"^internet at 203.0.113.7 from ${out_b//./\\.}$"
	matrix_run
	api_expect 200 PUT /spaces/mx-a/outbound-ruleset \
		'{"rules":[{"target":"203.0.113.128/25","from_port":0,"to_port":65535,"protocol":"any"}]}' >/dev/null
	timed_row "a1 → internet 203.0.113.7:8080, TCP, rules narrowed to 203.0.113.128/25 (change)" denied 2 "${tcp7[@]}"
	: >"$BATCH"
	cell "a1 → internet 203.0.113.7:8080, TCP, outside the rules" denied "${tcp7[@]}"
	cell "a1 → internet 203.0.113.7:8080, UDP, outside the rules" denied "${udp7[@]}"
	cell "a1 → internet 203.0.113.200:8080, TCP, inside the rules (control)" allowed "${tcp200[@]}"
	cell "a1 → internet 203.0.113.200:8080, UDP, inside the rules (control)" allowed "${udp200[@]}"
	cell "a1 → a2, same space, TCP $PORT2, not subject to the rules" allowed a1 tcp "$IP_a2" $PORT2 "^a2 web.1$"
	cell "b1 → internet 203.0.113.7:8080, TCP, other space's rules unchanged" allowed b1 tcp 203.0.113.7 8080 \
		"^internet at 203.0.113.7 from ${out_b//./\\.}$"
	matrix_run
	api_expect 200 PUT /spaces/mx-a/outbound-ruleset \
		'{"rules":[{"target":"0.0.0.0/0","from_port":0,"to_port":65535,"protocol":"any"}]}' >/dev/null
	timed_row "a1 → internet 203.0.113.7:8080, TCP, rules restored (change)" allowed 2 "${tcp7[@]}"
	: >"$BATCH"
	cell "a1 → internet 203.0.113.7:8080, UDP, rules restored" allowed "${udp7[@]}"
	matrix_run
}

@test "the matrix: every cell as expected" {
	local cells mismatches
	cells=$(wc -l <"$MATRIX")
	mismatches=$(awk -F'\t' '$4 != "ok"' "$MATRIX" | wc -l)
	printf '# %s cells: %s allowed, %s denied, %s mismatches\n' "$cells" \
		"$(awk -F'\t' '$2 == "allowed"' "$MATRIX" | wc -l)" "$(awk -F'\t' '$2 == "denied"' "$MATRIX" | wc -l)" \
		"$mismatches" >&3
	[ "$cells" -gt 40 ]
	[ "$mismatches" -eq 0 ]
}
