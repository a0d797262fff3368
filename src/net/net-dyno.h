/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The network of a dyno: its own namespace `cove-d-<dyno id>` with loopback and `eth0`, the
 * far end of a veth pair whose near end, cd-<first 8 hex of the dyno id>, is a port of the
 * space's bridge. The dyno gets an address of the space's CIDR and routes everything through
 * the space's gateway. The sandbox enters the namespace through net_netns_path() (net-netns.h);
 * the agent and the router reach into it with net_netns_socket().
 *
 * Both functions are idempotent, blocking, and need the space to exist (net_space_ensure()).
 */

#include "base/error.h"

struct net_dyno_config {
	const char *dyno_id;  /* UUID */
	const char *space_id; /* UUID of the space it runs in */
	const char *address;  /* its address with the space's prefix, "10.0.0.5/16" */
};

/*
 * Creates or corrects the network of a dyno, or of an add-on's server (whose address lies in
 * the space's data network). The address must lie in the space's network (or data network),
 * with the same prefix, and be neither the gateway nor the network or broadcast address
 * (-EINVAL); the gateway is read from the space's bridge. Fails with -ENOENT when the space
 * has no namespace, -EEXIST when the link name belongs to another dyno.
 */
int net_dyno_ensure(const struct net_dyno_config *cfg, struct error *err);

/*
 * Removes the dyno's veth pair and the name of its namespace (which lives on while processes
 * still run in it, without a network). Succeeds when nothing is left.
 */
int net_dyno_destroy(const char *dyno_id, struct error *err);
