#!/usr/bin/env bats
# The space network end to end: two spaces with the same CIDR, two dynos in each, and a test
# "internet" namespace behind the host. Proves what reaches what: dynos of a space reach each
# other on any port, nothing crosses from one space to another or from a space to the host,
# a dyno reaches the internet from its space's outbound IP, and the internet cannot open a
# connection into a space.

load net-helpers

SPACE_A=c0e7a000-0000-4000-8000-00000000000a
SPACE_B=c0e7b000-0000-4000-8000-00000000000b
A1=c0e7a001-0000-4000-8000-0000000000a1 # 10.0.0.5 in A
A2=c0e7a002-0000-4000-8000-0000000000a2 # 10.0.0.6 in A
B1=c0e7b001-0000-4000-8000-0000000000b1 # 10.0.0.5 in B, the same address as A1
B2=c0e7b002-0000-4000-8000-0000000000b2 # 10.0.0.7 in B
INDEX_A=1048500
INDEX_B=1048501
OUT_A=198.18.0.250
OUT_B=198.18.0.251
INET=cvtest-inet # the internet: 203.0.113.1, behind the host's 203.0.113.254 on cvtest-h

setup_file() {
	net_setup
	net_space $SPACE_A 10.0.0.0/16 $INDEX_A $OUT_A
	net_space $SPACE_B 10.0.0.0/16 $INDEX_B $OUT_B
	net_dyno $A1 $SPACE_A 10.0.0.5/16
	net_dyno $A2 $SPACE_A 10.0.0.6/16
	net_dyno $B1 $SPACE_B 10.0.0.5/16
	net_dyno $B2 $SPACE_B 10.0.0.7/16

	net_track netns $INET
	ip netns add $INET
	net_track link cvtest-h
	ip link add cvtest-h type veth peer name cvtest-i netns $INET
	ip addr add 203.0.113.254/24 dev cvtest-h
	ip link set cvtest-h up
	ip -n $INET addr add 203.0.113.1/24 dev cvtest-i
	ip -n $INET link set cvtest-i up
	ip -n $INET link set lo up
	ip -n $INET route add 198.18.0.0/24 via 203.0.113.254
	ip -n $INET route add 100.64.0.0/10 via 203.0.113.254
	# An attacker with a route to a dyno: the host sends what the internet addresses to
	# 10.0.0.0/16 into space A, and nothing else of that lookup anywhere (never out of
	# this machine).
	net_track table 4242
	net_track rule 4242
	ip route add unreachable default table 4242
	ip route add 10.0.0.0/16 via "$(uplink_space $INDEX_A)" dev cu-c0e7a000 table 4242
	ip rule add pref 4242 iif cvtest-h to 10.0.0.0/16 lookup 4242
	ip -n $INET route add 10.0.0.0/16 via 203.0.113.254

	HOST_PORT=$(net_free_port)
	export HOST_PORT
	net_listen host tcp "$HOST_PORT" host
	net_listen cove-d-$A1 tcp 7000 a1
	local port
	for port in 22 80 5432 7000 40000; do
		net_listen cove-d-$A2 tcp $port a2
	done
	net_listen cove-d-$A2 udp 5353 udp-a2
	net_listen cove-d-$B1 tcp 7000 b1
	net_listen cove-d-$B1 udp 5353 udp-b1
	net_listen cove-d-$B2 tcp 7000 b2
	net_listen cove-s-$SPACE_A tcp 7000 space-a
	net_listen cove-s-$SPACE_B tcp 7000 space-b
	net_listen $INET tcp 8080 'peer=$SOCAT_PEERADDR'
}

teardown_file() {
	net_teardown
}

@test "dynos of one space reach each other on any TCP port and over UDP" {
	local port
	for port in 22 80 5432 7000 40000; do
		[ "$(net_talk cove-d-$A1 tcp 10.0.0.6 $port)" = a2 ]
	done
	[ "$(net_talk cove-d-$A1 udp 10.0.0.6 5353)" = udp-a2 ]
	[ "$(net_talk cove-d-$A2 tcp 10.0.0.5 7000)" = a1 ]
	[ "$(net_talk cove-d-$B2 tcp 10.0.0.5 7000)" = b1 ]
	[ "$(net_talk cove-d-$B2 udp 10.0.0.5 5353)" = udp-b1 ]
}

@test "an address of the shared CIDR leads to a dyno of the same space only" {
	# 10.0.0.5 is A1 in space A and B1 in space B.
	[ "$(net_talk cove-d-$A2 tcp 10.0.0.5 7000)" = a1 ]
	[ "$(net_talk cove-d-$B2 tcp 10.0.0.5 7000)" = b1 ]
	# B2's address seen from A, A2's seen from B: nobody there.
	net_unreachable cove-d-$A1 7000 b2 10.0.0.7
	net_unreachable cove-d-$B1 7000 a2 10.0.0.6
}

@test "a dyno cannot open a connection to its space namespace" {
	# Only the services chain opens it (the agent lets in the router and the resolver there);
	# the space made here by cove-net has none.
	net_unreachable cove-d-$A1 7000 space-a 10.0.0.1 "$(uplink_space $INDEX_A)"
}

@test "a dyno cannot reach another space through the host" {
	# The listeners are there: each space namespace reaches its own.
	[ "$(net_talk cove-s-$SPACE_B tcp "$(uplink_space $INDEX_B)" 7000)" = space-b ]
	[ "$(net_talk cove-s-$SPACE_A tcp "$(uplink_space $INDEX_A)" 7000)" = space-a ]
	net_unreachable cove-d-$A1 7000 space-b "$(uplink_space $INDEX_B)"
	net_unreachable cove-d-$B1 7000 space-a "$(uplink_space $INDEX_A)"
}

@test "a dyno cannot open a connection to any address of the host" {
	# The host listens on all its addresses; it answers itself.
	[ "$(socat -T2 -t2 - TCP:127.0.0.1:$HOST_PORT,connect-timeout=1 </dev/null)" = host ]
	local addresses
	addresses=$(ip -4 -o addr show | awk '{ split($4, a, "/"); print a[1] }' | grep -v '^127\.')
	# Among them the uplinks' host sides, the outbound IPs and the internet side.
	for a in "$(uplink_host $INDEX_A)" "$(uplink_host $INDEX_B)" $OUT_A $OUT_B 203.0.113.254; do
		grep -qx "$a" <<<"$addresses"
	done
	# shellcheck disable=SC2086
	net_unreachable cove-d-$A1 "$HOST_PORT" host $addresses
	# shellcheck disable=SC2086
	net_unreachable cove-d-$B2 "$HOST_PORT" host $addresses
	# Nor can the space namespace itself (the router's and resolver's home).
	# shellcheck disable=SC2086
	net_unreachable cove-s-$SPACE_A "$HOST_PORT" host $addresses
}

@test "a dyno reaches the internet from its space's outbound IP" {
	[ "$(net_talk cove-d-$A1 tcp 203.0.113.1 8080)" = "peer=$OUT_A" ]
	[ "$(net_talk cove-d-$A2 tcp 203.0.113.1 8080)" = "peer=$OUT_A" ]
	[ "$(net_talk cove-d-$B1 tcp 203.0.113.1 8080)" = "peer=$OUT_B" ]
	[ "$(net_talk cove-d-$B2 tcp 203.0.113.1 8080)" = "peer=$OUT_B" ]
}

@test "nothing from the internet can open a connection into a space" {
	# The internet reaches the host where it may: the path works.
	[ "$(net_talk $INET tcp 203.0.113.254 "$HOST_PORT")" = host ]
	# A dyno's address: the host hands it to space A's uplink, which lets nothing new in.
	ip route get 10.0.0.5 from 203.0.113.1 iif cvtest-h | grep -q "dev cu-c0e7a000"
	net_unreachable $INET 7000 a1 10.0.0.5
	# The spaces' uplink addresses, routed on the host.
	net_unreachable $INET 7000 space "$(uplink_space $INDEX_A)" "$(uplink_space $INDEX_B)"
	# The outbound IPs are the host's only to take replies.
	net_unreachable $INET "$HOST_PORT" host $OUT_A $OUT_B
}

@test "the router's way in: a socket made in the space namespace reaches its dynos" {
	run cove_net probe --space $SPACE_A --address 10.0.0.6 --port 5432
	[ "$status" -eq 0 ]
	[ "$output" = open ]
	run cove_net probe --dyno $A1 --address 10.0.0.6 --port 80
	[ "$status" -eq 0 ]
	# From space B the same address has nobody listening on 5432.
	run cove_net probe --space $SPACE_B --address 10.0.0.6 --port 5432
	[ "$status" -eq 1 ]
	[[ "$output" == "cove-net: connect to '10.0.0.6:5432' from 'cove-s-$SPACE_B': "* ]]
}
