# Helpers of the space network tests (tests/e2e/net-*.bats). They drive cove-net as root and
# send traffic only to loopback, to addresses of this host, and to addresses inside the
# namespaces the tests create. Everything a test file creates is recorded and removed in
# net_teardown, which runs even when a test fails.
#
#   setup_file()    { net_setup; ... }
#   teardown_file() { net_teardown; }

load helpers

cove_net() {
	"$COVE_BUILD_DIR/src/net/cove-net" "$@"
}

# The uplink addresses of space number $1: host side (.1) and space side (.2) of its /30.
uplink_host() { net_ipv4 $((0x64400000 + $1 * 4 + 1)); }
uplink_space() { net_ipv4 $((0x64400000 + $1 * 4 + 2)); }
net_ipv4() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }

# Sets the host up and remembers whether it was before, so teardown leaves it as it was.
net_setup() {
	[ "$(id -u)" -eq 0 ] || skip "the network tests need root"
	export NET_STATE="$BATS_FILE_TMPDIR/net-state"
	mkdir -p "$NET_STATE"
	if ip link show cove-out >/dev/null 2>&1; then echo 1; else echo 0; fi >"$NET_STATE/host-was-set-up"
	cat /proc/sys/net/ipv4/ip_forward >"$NET_STATE/ip-forward"
	cove_net host-ensure
}

# Records something to remove at teardown: "space ID", "dyno ID", "netns NAME", "link NAME",
# "rule PREF", "table N".
net_track() {
	echo "$*" >>"$NET_STATE/created"
}

net_teardown() {
	[ -n "${NET_STATE:-}" ] || return 0
	local pid kind what
	if [ -f "$NET_STATE/pids" ]; then
		while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$NET_STATE/pids"
	fi
	if [ -f "$NET_STATE/created" ]; then
		while read -r kind what; do
			case $kind in
			dyno) cove_net dyno-destroy --dyno "$what" || true ;;
			space) cove_net space-destroy --space "$what" || true ;;
			netns) ip netns delete "$what" 2>/dev/null || true ;;
			link) ip link delete "$what" 2>/dev/null || true ;;
			rule) ip rule delete pref "$what" 2>/dev/null || true ;;
			table) ip route flush table "$what" 2>/dev/null || true ;;
			esac
		done < <(tac "$NET_STATE/created")
	fi
	if [ "$(cat "$NET_STATE/host-was-set-up")" = 0 ]; then
		cove_net host-remove || true
		cat "$NET_STATE/ip-forward" >/proc/sys/net/ipv4/ip_forward
	fi
}

net_space() { # ID CIDR INDEX OUTBOUND_IP
	net_track space "$1"
	cove_net space-ensure --space "$1" --cidr "$2" --uplink-index "$3" --outbound-ip "$4"
}

net_dyno() { # ID SPACE_ID ADDRESS/PREFIX
	net_track dyno "$1"
	cove_net dyno-ensure --dyno "$1" --space "$2" --address "$3"
}

# Runs a command in namespace $1, or in the host namespace when $1 is "host".
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = host ]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# Starts a command (not a function: $! must be the command itself) in the background for the
# rest of the file; teardown stops it.
net_bg() {
	"$@" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >>"$NET_STATE/pids"
}

# net_listen NS tcp|udp PORT MARKER: a server in NS that answers every connection (or
# datagram) with MARKER. Returns when it listens.
net_listen() {
	local ns=$1 proto=$2 port=$3 marker=$4 i
	local address=TCP-LISTEN flag=-Hltn
	[ "$proto" = udp ] && address=UDP-RECVFROM flag=-Hlun
	local exec=()
	[ "$ns" = host ] || exec=(ip netns exec "$ns")
	net_bg "${exec[@]}" socat "$address:$port,reuseaddr,fork" SYSTEM:"echo $marker"
	for i in $(seq 1 40); do
		[ -n "$(in_ns "$ns" ss "$flag" "sport = :$port")" ] && return 0
		sleep 0.05
	done
	echo "no $proto listener on port $port in $ns" >&2
	return 1
}

# net_talk NS tcp|udp ADDRESS PORT: connects from NS (1 s to connect, 2 s to answer) and prints the answer.
# A datagram may be lost: UDP tries three times.
net_talk() {
	local ns=$1 proto=$2 address=$3 port=$4 i answer
	if [ "$proto" = udp ]; then
		for i in 1 2 3; do
			answer=$(echo hello | timeout 3 ip netns exec "$ns" socat -T2 -t2 - "UDP:$address:$port" 2>/dev/null)
			[ -n "$answer" ] && break
		done
		echo "$answer"
	else
		timeout 3 ip netns exec "$ns" socat -T2 -t2 - "TCP:$address:$port,connect-timeout=1" </dev/null 2>/dev/null
	fi
}

# net_unreachable NS PORT MARKER ADDRESS...: tries every address at once from NS over TCP;
# fails naming those that answered with MARKER.
net_unreachable() {
	local ns=$1 port=$2 marker=$3 dir a i=0 pids=() reached=()
	shift 3
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/probe.XXXXXX")
	for a in "$@"; do
		net_talk "$ns" tcp "$a" "$port" >"$dir/$i" &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}" || true
	i=0
	for a in "$@"; do
		grep -q "$marker" "$dir/$i" && reached+=("$a")
		i=$((i + 1))
	done
	if [ ${#reached[@]} -gt 0 ]; then
		echo "reached from $ns on port $port: ${reached[*]}" >&2
		return 1
	fi
}

# A TCP port free in the host namespace.
net_free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Htan "sport = :$port")" ] && echo "$port" && return
	done
}
