/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the space network derives from a space's or a dyno's identity, without touching the
 * kernel: IPv4 address arithmetic, the uplink addresses of a space, the names of links, and
 * the ownership records cove writes into link aliases. Everything here is a pure function, so
 * it is unit-tested on its own (tests/unit/test-net-plan.c).
 *
 * Addresses are uint32_t in host byte order, as in `struct cidr4` of base/validate.h.
 */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/id.h"
#include "base/validate.h"

/* An interface address: an address with its prefix length; host bits may be set. */
struct net_addr4 {
	uint32_t addr;
	unsigned prefix;
};

#define NET_IPV4_STRING_MAX 16  /* "255.255.255.255" and the NUL */
#define NET_ADDR4_STRING_MAX 19 /* "255.255.255.255/32" and the NUL */

/* Returns the netmask of a prefix length (0..32), in host byte order. */
uint32_t net_prefix_mask(unsigned prefix);

/* True when addr lies inside net/prefix. */
bool net_ipv4_in(uint32_t addr, uint32_t net, unsigned prefix);

/* Parses a dotted-quad IPv4 address ("198.18.0.2"); -EINVAL with a message otherwise. */
int net_ipv4_parse(const char *s, uint32_t *ret, struct error *err);

/* Parses an interface address with its prefix ("10.0.0.5/16"); -EINVAL with a message otherwise. */
int net_addr4_parse(const char *s, struct net_addr4 *ret, struct error *err);

void net_ipv4_format(uint32_t addr, char ret[static NET_IPV4_STRING_MAX]);
void net_addr4_format(const struct net_addr4 *a, char ret[static NET_ADDR4_STRING_MAX]);

/*
 * The uplink of a space is a veth pair between the host and the space namespace, addressed
 * from the shared address space 100.64.0.0/10 (RFC 6598), which no space CIDR may overlap.
 * Space number `index` (chosen by the agent, unique on the host) gets the /30 at
 * 100.64.0.0 + 4 * index: the host side has the first usable address (.1), the space side
 * the second (.2). The pool holds 2^20 spaces: index 0..NET_UPLINK_INDEX_MAX.
 */
#define NET_UPLINK_POOL "100.64.0.0/10"
#define NET_UPLINK_POOL_ADDR 0x64400000u /* 100.64.0.0 */
#define NET_UPLINK_POOL_PREFIX 10
#define NET_UPLINK_PREFIX 30
#define NET_UPLINK_INDEX_MAX ((1u << (NET_UPLINK_PREFIX - NET_UPLINK_POOL_PREFIX)) - 1)

struct net_uplink {
	uint32_t host;  /* host side, cu-<space>: .1 of the /30 */
	uint32_t space; /* space side, "uplink" in the space namespace: .2 of the /30 */
};

/* Computes the uplink addresses of space number index; -EINVAL when index is out of range. */
int net_uplink_plan(unsigned index, struct net_uplink *ret, struct error *err);

/*
 * Parses a space CIDR ("10.0.0.0/16", /8 to /30) and returns the address of the space's
 * gateway: the CIDR's first address with the CIDR's prefix (10.0.0.1/16), which the space
 * bridge holds and dynos route through. Refuses CIDRs that overlap the uplink pool, loopback,
 * 0.0.0.0/8 or multicast and above, since the space namespace could not route them.
 */
int net_space_gateway(const char *cidr, struct net_addr4 *ret, struct error *err);

/*
 * Checks that a dyno address fits the space whose gateway is given: same prefix, inside the
 * space's network, neither the network nor the broadcast address, nor the gateway itself.
 */
int net_dyno_address_check(const struct net_addr4 *gateway, const struct net_addr4 *address, struct error *err);

/*
 * Checks that a network can hold outbound IPs (the pool), or with a /32 that an address can
 * serve as a space's outbound IP: unicast, outside the uplink pool, loopback and 0.0.0.0/8.
 */
int net_outbound_check(const struct cidr4 *net, struct error *err);

/*
 * The MAC address of an interface cove addresses: 02:63 (locally administered, unicast) and
 * the four bytes of its IPv4 address, as Docker does. Unique on each segment, since the
 * addresses are; and an interface made again with the same address keeps its MAC, so the
 * ARP caches of its neighbours (other dynos, the gateway) stay right.
 */
void net_mac_for(uint32_t addr, uint8_t ret[static 6]);

/*
 * Copies a space or dyno id into ret in lower case after checking it is a UUID, so that one
 * id always yields the same names. `what` names the thing in the message ("space", "dyno").
 */
int net_id_normalize(const char *what, const char *id, char ret[static ID_STRING_MAX], struct error *err);

/*
 * Link names are a prefix and the first 8 hex digits of an id, so that they fit IFNAMSIZ:
 * cu-<space> is the host side of a space's uplink, cd-<dyno> the space side of a dyno's veth.
 * Two ids that share their first 8 digits collide; the ownership record in the link's alias
 * tells them apart, and ensuring the second fails with -EEXIST instead of taking the link.
 */
#define NET_LINK_PREFIX_UPLINK "cu-"
#define NET_LINK_PREFIX_DYNO "cd-"

/* Fixed names inside the namespaces: a space's bridge and uplink, a dyno's interface. */
#define NET_SPACE_BRIDGE "br0"
#define NET_SPACE_UPLINK "uplink"
#define NET_DYNO_LINK "eth0"

/* Writes prefix + the first 8 characters of a normalized id into ret. */
void net_link_name_for(const char *prefix, const char *id, char ret[static IFNAMSIZ]);

/*
 * Ownership records. cove writes into the alias of each link it creates on behalf of a space
 * or a dyno who owns it, so that everything can be found again from the kernel alone after a
 * restart of the agent (and vanishes with the link): the host's NAT rules are rendered from
 * the records of the cu-* links, and `ip link` shows them to operators.
 *
 *   cu-<space>:  "space=<uuid> uplink=<index> outbound=<ipv4>"
 *   cd-<dyno>:   "dyno=<uuid>"
 */
#define NET_RECORD_MAX 128

struct net_space_record {
	char space_id[ID_STRING_MAX];
	unsigned uplink_index;
	uint32_t outbound_ip;
};

void net_space_record_format(const struct net_space_record *rec, char ret[static NET_RECORD_MAX]);

/* Parses a space record; -EINVAL (no message) when alias is not one. */
int net_space_record_parse(const char *alias, struct net_space_record *ret);

void net_dyno_record_format(const char *dyno_id, char ret[static NET_RECORD_MAX]);

/* Parses a dyno record into the dyno's id; -EINVAL (no message) when alias is not one. */
int net_dyno_record_parse(const char *alias, char ret[static ID_STRING_MAX]);
