/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The resolvers of the spaces on this host (docs/network.md, "DNS"): a `coved dns` process per
 * space (src/dns/dns.h), a per-space process of the agent as the router is (agent-spaceproc.h:
 * started, supervised, adopted, stopped), fed with a table of names that the agent rewrites
 * whenever a dyno of the space comes up or goes, without a restart.
 *
 * Each space's resolver listens on port 53, UDP and TCP, of the space's gateway address
 * inside the space; every dyno's /etc/resolv.conf names that address, and the space's
 * firewall lets dynos reach it (chain `services`). The table (dns-table.h) holds, per app of
 * the space and per process type of its formation:
 *
 *   <type>.<app>.app.localspace        the up dynos of the type (none: an empty answer)
 *   <n>.<type>.<app>.app.localspace    the dyno <type>.<n>, while it is up
 *
 * and the space's data services by name: each entry {"name": N, "address": A} of the desired
 * state's space, `spaces[].addons` (filled by the add-ons, when they exist), answers N with A.
 * Dynos of other hosts are not in the table: one host runs a space.
 *
 * In DATA_DIR/agent/dns/:
 *   <space id>.json   the table, replaced atomically when it changes
 *   <space id>.pid    pid=, start= (to adopt the resolver after a restart), listen=
 */

#include "agent/agent-spaceproc.h"
#include "agent/agent-state.h"

/* The resolver's port on the space's gateway. */
#define AGENT_DNS_PORT 53

/*
 * The resolvers as per-space processes (agent-spaceproc.h): a->resolvers is the list of this
 * kind. When a dyno changes state, the table of its space follows (agent_spaceprocs_table_changed()).
 */
extern const struct agent_spaceproc_kind agent_resolver_kind;

/* The resolver's address in a space: its gateway ("10.0.0.1"). */
void agent_dns_address(const struct agent_space *s, char ret[static 16]);

/*
 * The DNS names of a dyno, as dynos see them in their environment: HEROKU_DNS_FORMATION_NAME
 * ("web.myapp.app.localspace"), HEROKU_DNS_DYNO_NAME ("1.web.myapp.app.localspace") and
 * HEROKU_DNS_APP_NAME ("myapp.app.localspace"). Each is allocated; the caller frees them.
 */
void agent_dns_dyno_names(const struct agent_dyno *d, char **ret_formation, char **ret_dyno, char **ret_app);
