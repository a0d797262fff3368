#!/usr/bin/env bats
# The life of a space network: ensure is idempotent and repairs what changed behind its back,
# destroy leaves nothing behind and may run again, and bad requests fail with messages that
# name the failing thing.

load net-helpers

SPACE=c0e7c000-0000-4000-8000-00000000000c
DYNO1=c0e7c001-0000-4000-8000-0000000000c1
DYNO2=c0e7c002-0000-4000-8000-0000000000c2
OTHER=c0e7d000-0000-4000-8000-00000000000d
INDEX=1048510
OUT=198.18.0.252
UPLINK=cu-c0e7c000

setup_file() {
	net_setup
}

teardown_file() {
	net_teardown
}

ensure_all() {
	cove_net host-ensure
	cove_net space-ensure --space $SPACE --cidr 10.20.0.0/16 --uplink-index $INDEX --outbound-ip $OUT
	cove_net dyno-ensure --dyno $DYNO1 --space $SPACE --address 10.20.0.5/16
	cove_net dyno-ensure --dyno $DYNO2 --space $SPACE --address 10.20.3.7/16
}

# Everything ensure_all touches, as ip and nft show it (IPv4 only: IPv6 link-local addresses
# change state on their own while duplicate detection runs).
snapshot() {
	local ns
	for ns in cove-s-$SPACE cove-d-$DYNO1 cove-d-$DYNO2; do
		echo "== $ns"
		ip -n "$ns" -o link
		ip -n "$ns" -4 -o addr
		ip -n "$ns" route
		ip netns exec "$ns" nft list ruleset
		ip netns exec "$ns" sysctl -n net.ipv4.ip_forward
	done
	echo "== host"
	ip -o link show $UPLINK
	ip -4 -o addr show $UPLINK
	ip -4 -o addr show cove-out | grep -F " $OUT/"
	ip route | grep -F "$(uplink_host $INDEX)"
	nft list table inet cove
}

@test "ensure creates the space and its dynos as documented" {
	net_track dyno $DYNO1
	net_track dyno $DYNO2
	net_track space $SPACE
	ensure_all
	local s=cove-s-$SPACE
	ip netns list | grep -q "^$s"
	ip -n $s -4 -o addr show br0 | grep -q "inet 10.20.0.1/16"
	ip -n $s -4 -o addr show uplink | grep -q "inet $(uplink_space $INDEX)/30"
	ip -n $s route | grep -q "^default via $(uplink_host $INDEX) dev uplink proto static"
	ip -4 -o addr show $UPLINK | grep -q "inet $(uplink_host $INDEX)/30"
	ip link show $UPLINK | grep -q "alias space=$SPACE uplink=$INDEX outbound=$OUT"
	ip -n $s link show cd-c0e7c001 | grep -q "master br0"
	ip -n $s link show cd-c0e7c001 | grep -q "alias dyno=$DYNO1"
	ip -n cove-d-$DYNO1 -4 -o addr show eth0 | grep -q "inet 10.20.0.5/16"
	ip -n cove-d-$DYNO1 link show eth0 | grep -q "link/ether 02:63:0a:14:00:05 "
	ip -n $s link show br0 | grep -q "link/ether 02:63:0a:14:00:01 "
	ip -n cove-d-$DYNO1 route | grep -q "^default via 10.20.0.1 dev eth0 proto static"
	ip -n cove-d-$DYNO1 link show lo | grep -q "UP"
	ip -4 -o addr show cove-out | grep -q "inet $OUT/32"
	nft list table inet cove | grep -qF "ip saddr $(uplink_space $INDEX) oifname != \"cu-*\" snat ip to $OUT"
	ip netns exec $s nft list table inet cove | grep -qF 'oifname "uplink" masquerade'
	ip netns exec $s nft list chain inet cove services >/dev/null
	ip netns exec $s nft list chain inet cove egress_rules >/dev/null
	# The two dynos talk.
	net_listen cove-d-$DYNO2 tcp 9000 dyno2
	[ "$(net_talk cove-d-$DYNO1 tcp 10.20.3.7 9000)" = dyno2 ]

	run cove_net list
	[ "$status" -eq 0 ]
	[[ "$output" == *"space $SPACE namespace cove-s-$SPACE uplink $INDEX $UPLINK $(uplink_host $INDEX)/30 <-> $(uplink_space $INDEX)/30 outbound $OUT"* ]]
	[[ "$output" == *"  dyno $DYNO1 namespace cove-d-$DYNO1 link cd-c0e7c001"* ]]
}

@test "ensuring again, in a new process, changes nothing" {
	local before after
	before=$(snapshot)
	ensure_all
	after=$(snapshot)
	diff <(echo "$before") <(echo "$after")
}

@test "ensure repairs what changed behind its back" {
	local before after s=cove-s-$SPACE
	before=$(snapshot)
	ip -n $s link set cd-c0e7c001 nomaster
	ip -n cove-d-$DYNO1 route del default
	ip -n cove-d-$DYNO1 addr add 10.20.9.9/16 dev eth0
	ip -n $s addr del 10.20.0.1/16 dev br0
	ip netns exec $s nft delete table inet cove
	ip link set $UPLINK down
	ip addr del $OUT/32 dev cove-out
	ip link set $UPLINK alias ""
	ensure_all
	after=$(snapshot)
	diff <(echo "$before") <(echo "$after")
}

@test "a veth pair whose other half is gone is made again" {
	# The dyno's namespace is replaced by an empty one under the same name while the old
	# one lives on (a process holds it): its veth peer on the bridge leads nowhere now.
	net_bg ip netns exec cove-d-$DYNO1 sleep 60
	local i
	for i in $(seq 1 40); do
		[ -n "$(ip netns pids cove-d-$DYNO1)" ] && break
		sleep 0.05
	done
	ip netns delete cove-d-$DYNO1
	ip netns add cove-d-$DYNO1
	ip -n cove-s-$SPACE -o link show cd-c0e7c001
	[ -z "$(ip -n cove-d-$DYNO1 -o link show eth0 2>/dev/null)" ]
	cove_net dyno-ensure --dyno $DYNO1 --space $SPACE --address 10.20.0.5/16
	ip -n cove-d-$DYNO1 -4 -o addr show eth0 | grep -q "inet 10.20.0.5/16"
	net_listen cove-d-$DYNO1 tcp 9001 dyno1
	[ "$(net_talk cove-d-$DYNO2 tcp 10.20.0.5 9001)" = dyno1 ]
}

@test "bad requests fail and say what is wrong" {
	run cove_net space-ensure --space not-a-uuid --cidr 10.0.0.0/16 --uplink-index 1 --outbound-ip 198.18.0.249
	[ "$status" -eq 1 ]
	[ "$output" = "cove-net: space id 'not-a-uuid' is invalid: expected a UUID" ]
	run cove_net space-ensure --space $OTHER --cidr 10.0.0.1/16 --uplink-index 1 --outbound-ip 198.18.0.249
	[ "$output" = "cove-net: CIDR '10.0.0.1/16' is invalid: host bits are set" ]
	run cove_net space-ensure --space $OTHER --cidr 100.64.0.0/16 --uplink-index 1 --outbound-ip 198.18.0.249
	[[ "$output" == "cove-net: CIDR '100.64.0.0/16' is invalid: it overlaps 100.64.0.0/10"* ]]
	run cove_net space-ensure --space $OTHER --cidr 10.0.0.0/16 --uplink-index 1048576 --outbound-ip 198.18.0.249
	[ "$status" -eq 2 ]
	run cove_net space-ensure --space $OTHER --cidr 10.0.0.0/16 --uplink-index $INDEX --outbound-ip 198.18.0.249
	[ "$status" -eq 1 ]
	[ "$output" = "cove-net: space '$OTHER': uplink index $INDEX is taken by space '$SPACE'" ]
	run cove_net space-ensure --space $OTHER --cidr 10.0.0.0/16 --uplink-index $((INDEX + 1)) --outbound-ip $OUT
	[ "$output" = "cove-net: space '$OTHER': outbound IP '$OUT' is taken by space '$SPACE'" ]
	run cove_net dyno-ensure --dyno $DYNO1 --space $OTHER --address 10.20.0.5/16
	[ "$output" = "cove-net: dyno '$DYNO1': space '$OTHER' has no network namespace" ]
	run cove_net dyno-ensure --dyno $DYNO1 --space $SPACE --address 10.21.0.5/16
	[ "$output" = "cove-net: address '10.21.0.5/16' is not in the space network of gateway '10.20.0.1/16'" ]
	run cove_net dyno-ensure --dyno $DYNO1 --space $SPACE --address 10.20.0.1/16
	[ "$output" = "cove-net: address '10.20.0.1/16' is the space gateway" ]
	# A dyno whose id shares its first 8 digits with another's cannot take that one's link.
	run cove_net dyno-ensure --dyno c0e7c001-ffff-4000-8000-0000000000ff --space $SPACE --address 10.20.0.9/16
	[ "$status" -eq 1 ]
	[[ "$output" == "cove-net: dyno 'c0e7c001-ffff-4000-8000-0000000000ff': link 'cd-c0e7c001' belongs to another dyno"* ]]
	[ ! -e /run/netns/cove-d-c0e7c001-ffff-4000-8000-0000000000ff ]
	# None of this left anything behind.
	! ip netns list | grep -q "$OTHER"
	run cove_net host-remove
	[ "$status" -eq 1 ]
	[[ "$output" == "cove-net: remove host network: "*" space uplinks exist"* ]]
}

@test "destroy leaves no namespace, link, address or rule behind, and may run again" {
	local s=cove-s-$SPACE
	cove_net dyno-destroy --dyno $DYNO2
	! ip netns list | grep -q "cove-d-$DYNO2"
	! ip -n $s -o link | grep -q cd-c0e7c002
	cove_net dyno-destroy --dyno $DYNO2

	# The space goes with the dynos still on its bridge.
	cove_net space-destroy --space $SPACE
	! ip netns list | grep -qE "cove-[sd]-($SPACE|$DYNO1|$DYNO2)"
	[ ! -e /run/netns/cove-s-$SPACE ]
	! ip -o link | grep -qE "cu-c0e7c000|cd-c0e7c00"
	! ip -4 -o addr | grep -qF " $OUT/"
	! ip -4 -o addr | grep -qF " $(uplink_host $INDEX)/"
	! ip route | grep -qF "$(uplink_host $INDEX)"
	! nft list table inet cove | grep -qE "$(uplink_space $INDEX)|$OUT"
	run cove_net list
	[[ "$output" != *"$SPACE"* ]]
	[[ "$output" != *"$DYNO1"* ]]

	cove_net space-destroy --space $SPACE
	cove_net dyno-destroy --dyno $DYNO1
}
