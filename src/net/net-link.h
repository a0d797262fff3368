/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Links, IPv4 addresses and routes over rtnetlink (libmnl), without shelling out to `ip`.
 *
 * A `struct net_nl` is a netlink socket bound to one network namespace for its whole life:
 * everything done through it happens in that namespace, whatever namespace the calling thread
 * is in. Requests are synchronous (send, wait for the kernel's answer). The functions that
 * remove something succeed when it is already gone, and those that add an address or a route
 * replace what is there, so callers can converge by simply calling them again.
 *
 * Messages name the thing first: "create link 'cu-1a2b3c4d': File exists".
 */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "net/net-plan.h"

struct net_nl;

/* Opens a netlink socket in the namespace netns_fd (-1: the current one). */
int net_nl_open(int netns_fd, struct net_nl **ret, struct error *err);
void net_nl_free(struct net_nl *nl);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct net_nl *, net_nl_free);
#define _cleanup_nl_ _cleanup_(net_nl_freep)

#define NET_LINK_ALIAS_MAX 256 /* IFALIASZ */

struct net_link {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[16];                   /* "veth", "bridge", ... ; "" for devices without one (lo) */
	char alias[NET_LINK_ALIAS_MAX];  /* "" when unset */
	uint8_t mac[6];                  /* all zero when it has none (lo) */
	int master;                      /* ifindex of the bridge it is a port of, 0 for none */
	unsigned flags;                  /* IFF_UP and friends */
};

/* Looks a link up by name; -ENODEV (message set) when there is none. */
int net_link_get(struct net_nl *nl, const char *name, struct net_link *ret, struct error *err);

/* Lists the links whose name starts with prefix, by ifindex; *ret is freed by the caller. */
int net_link_list(struct net_nl *nl, const char *prefix, struct net_link **ret, size_t *ret_n,
		  struct error *err);

/* Creates a bridge; mac (6 bytes) fixes its address, so it does not change as ports come and go. */
int net_link_add_bridge(struct net_nl *nl, const char *name, const uint8_t mac[6], struct error *err);

/*
 * Creates a veth pair: `name` in nl's namespace and `peer` directly in the namespace
 * peer_netns_fd (-1: the same one). Fails with -EEXIST when either name is taken.
 */
int net_link_add_veth(struct net_nl *nl, const char *name, const char *peer, int peer_netns_fd,
		      struct error *err);

/* Deletes a link (a veth takes its peer with it); succeeds when there is none. */
int net_link_del(struct net_nl *nl, const char *name, struct error *err);

/* Brings a link up. */
int net_link_set_up(struct net_nl *nl, const struct net_link *link, struct error *err);

/* Makes a link a port of the bridge with ifindex master. */
int net_link_set_master(struct net_nl *nl, const struct net_link *link, int master, struct error *err);

/* Gives a link the MAC address mac (6 bytes), unless it has it already. */
int net_link_set_mac(struct net_nl *nl, const struct net_link *link, const uint8_t mac[6], struct error *err);

/* Sets the alias of a link ("" clears it). */
int net_link_set_alias(struct net_nl *nl, const struct net_link *link, const char *alias, struct error *err);

/* Lists the IPv4 addresses of a link; *ret is freed by the caller. */
int net_addr_list(struct net_nl *nl, const struct net_link *link, struct net_addr4 **ret, size_t *ret_n,
		  struct error *err);

/* Adds an IPv4 address to a link, or refreshes it when it is there; other addresses stay. */
int net_addr_add(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr,
		 struct error *err);

/* Removes an IPv4 address from a link; succeeds when it is not there. */
int net_addr_del(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr,
		 struct error *err);

/* Makes addr the only IPv4 address of a link: adds it, removes any other. */
int net_addr_set(struct net_nl *nl, const struct net_link *link, const struct net_addr4 *addr,
		 struct error *err);

/* Sets the default IPv4 route of the namespace: via gateway, out of link. */
int net_route_default(struct net_nl *nl, const struct net_link *link, uint32_t gateway, struct error *err);

/* Adds (or keeps) a blackhole route for a network, or removes it when add is false. */
int net_route_blackhole(struct net_nl *nl, const struct cidr4 *dst, bool add, struct error *err);
