/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Where a bastion session may go. The bastion opens its socket inside the app's space, so a
 * target is first of all a place in that space; and of the space, only what belongs to the app:
 *
 *   "DATABASE", "REDIS", ...  a data service (add-on) attached to the app under that name,
 *                              at its private address and the port of its server
 *   "web.1:5000"               a running dyno of the app, at its private address, and a port
 *   "10.0.1.5:5000"            the private address of a running dyno of the app, and a port
 *
 * Everything else is refused: the host's addresses, the space's gateway and uplink, other
 * apps' dynos, addresses outside the space's networks, names that resolve to nothing. The
 * address is always read from the store (what agents reported, what the add-on was given),
 * never taken from the caller, and checked once more to lie inside the space's CIDR or data
 * CIDR.
 */

#include <stdint.h>

#include "api/api-apps.h"
#include "api/api.h"

struct bastion_target {
	char name[96];    /* as the caller may name it again: "DATABASE", "web.1:5000" */
	char kind[8];     /* "addon" or "dyno" */
	char address[16]; /* the private IPv4 address, "10.0.1.5" */
	uint16_t port;
};

/*
 * Resolves what the caller asked for (spec) among the app's dynos and add-ons. -EINVAL (422)
 * when spec is malformed or names nothing of the app, with a message that says what may be
 * named.
 */
int api_bastion_target_resolve(struct api_request *req, const struct app *app, const char *spec,
			       struct bastion_target *ret, struct error *err);

/*
 * The checks on an address alone: 0 when addr is an IPv4 address inside cidr or data_cidr that
 * is neither the network's first address (the gateway, the space's own), nor its last.
 */
int api_bastion_address_check(const char *addr, const char *cidr, const char *data_cidr, struct error *err);
