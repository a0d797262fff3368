/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the space network needs in the host namespace, once per host: IPv4 forwarding, the
 * outbound-address device `cove-out` that holds the outbound IPs of the spaces, a blackhole
 * route for the outbound pool, and the host's nftables table `inet cove` (see net-nft.h).
 *
 * The host table is rendered from the spaces that exist, which the host knows from the
 * ownership records in the aliases of their uplinks (net-plan.h), so it is always the
 * kernel's own account of the spaces, after a restart of the agent too. net_space_ensure()
 * and net_space_destroy() re-render it; one writer at a time, under a lock file
 * (/run/cove-net.lock).
 *
 * All of it is blocking work (netlink round trips, running nft): the agent's worker queue.
 */

#include <stddef.h>

#include "base/error.h"
#include "net/net-plan.h"

#define NET_OUTBOUND_DEVICE "cove-out"
#define NET_OUTBOUND_POOL_DEFAULT "198.18.0.0/24"

struct net_host_config {
	/*
	 * The network the outbound IPs of spaces come from (NULL: NET_OUTBOUND_POOL_DEFAULT).
	 * Addresses of the pool that no space holds are blackholed, so that traffic routed to
	 * the host for them is not sent back out of its default route.
	 */
	const char *outbound_pool;
};

/*
 * Sets the host up, or checks that it still is: enables net.ipv4.ip_forward, creates
 * `cove-out` when missing and brings it up, adds the pool's blackhole route and applies the
 * host table. Safe to call at every start of the agent; a second call changes nothing.
 */
int net_host_ensure(const struct net_host_config *cfg, struct error *err);

/*
 * Undoes net_host_ensure() on a host that has no space left (-EBUSY otherwise): deletes the
 * host table, `cove-out` and the blackhole route. Leaves net.ipv4.ip_forward as it is, since
 * other software may rely on it. Succeeds when there is nothing to undo.
 */
int net_host_remove(const struct net_host_config *cfg, struct error *err);

/*
 * Lists the spaces that exist on this host, read from the records of their uplinks (links
 * cu-* of the host namespace), sorted by uplink index. *ret is freed by the caller. A cu-*
 * link without a record (an ensure that was interrupted) is not listed.
 */
int net_host_spaces(struct net_space_record **ret, size_t *ret_n, struct error *err);

/* Renders the host table from net_host_spaces() and applies it. */
int net_host_apply_rules(struct error *err);
