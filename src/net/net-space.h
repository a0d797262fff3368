/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The network of a space on one host: a namespace `cove-s-<space id>` with a bridge that the
 * dynos hang on, an uplink to the host, a firewall, and NAT to the space's outbound IP. The
 * design note at the top of net-space.c (and docs/network.md) describes what exists and why.
 *
 * net_space_ensure() is idempotent: it creates what is missing, corrects what differs and
 * leaves the rest alone, so the agent calls it whenever it reconciles a space, after its own
 * restart too. It needs the host set up first (net_host_ensure()). Calls for one space must
 * not run concurrently; calls for different spaces may.
 */

#include <stddef.h>

#include "base/error.h"
#include "net/net-host.h"
#include "net/net-nft.h"

struct net_space_config {
	const char *space_id;    /* UUID */
	const char *cidr;        /* the space's private network, "10.0.0.0/16"; spaces may share one */
	const char *data_cidr;   /* the network of its data services (add-ons), "10.1.0.0/16", or NULL:
				    the bridge holds its first address too, as their gateway */
	unsigned uplink_index;   /* 0..NET_UPLINK_INDEX_MAX, unique among the spaces of this host */
	const char *outbound_ip; /* from the outbound pool, "198.18.0.2"; unique on this host */
	struct net_nft_space rules; /* the space's services and egress rules; may be all empty */
};

/*
 * Creates or corrects the network of a space: namespace, bridge br0 with the gateway address
 * (the CIDR's first address, and the data CIDR's first address when there is one), uplink veth pair (host side cu-<first 8 hex of the id>, space
 * side `uplink`, 100.64.0.0/10 addresses by uplink_index), default route, forwarding, the
 * space's nftables table, the outbound IP on cove-out and the host table.
 *
 * Fails with -EINVAL for a bad configuration, -EEXIST when the uplink index, the outbound IP
 * or the uplink's name belongs to another space, -ENOENT when the host is not set up.
 */
int net_space_ensure(const struct net_space_config *cfg, struct error *err);

/*
 * Makes the kernel let only the trusted IP ranges of a space reach its router: replaces the
 * space's ingress table in the host namespace (net_nft_render_ingress()) in one transaction,
 * so that connections from sources that stay trusted are not disturbed.
 */
int net_space_ingress_apply(const char *space_id, const struct net_nft_ingress *in, struct error *err);

/*
 * Removes everything of a space: the namespaces of the dynos still attached to it, its
 * uplink, its outbound IP on cove-out, its NAT rule (by re-rendering the host table), its
 * ingress table and its namespace. Succeeds when nothing of it is left, so it may be called again.
 */
int net_space_destroy(const char *space_id, struct error *err);

/*
 * Lists the ids of the dynos attached to a space's bridge, read from the records of their
 * links (cd-*), sorted. *ret is a NULL-terminated array freed with net_strv_free(); a space
 * without a namespace has no dynos.
 */
int net_space_dynos(const char *space_id, char ***ret, size_t *ret_n, struct error *err);
