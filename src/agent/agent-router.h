/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The routers of the spaces on this host (docs/router.md): a `coved router` process per space,
 * a per-space process of the agent (agent-spaceproc.h: started, supervised, adopted, stopped),
 * fed with a routing table that the agent rewrites whenever what it routes changes.
 *
 * Each space's router listens on the space's ingress address in the host's namespace (on one
 * host, 127.0.x.y from the space's uplink index: 127.0.0.0 + 512 + index, so index 1 is
 * 127.0.2.1) at the configured router port, and on the space's internal address (its gateway,
 * port 80) inside the space, for dynos; it reaches dynos from inside the space.
 *
 * In DATA_DIR/agent/routers/:
 *   <space id>.json   the routing table (router-table.h), replaced atomically when it changes
 *   <space id>.pid    pid=, start= (to adopt the router after a restart), listen=, internal=
 *   <space id>.log    the router's request log, a line per request in Heroku's words, for the
 *                     log stream to collect (SIGUSR1 makes the router open it again)
 *
 * The router of a space that is going gets SIGTERM, and 15 s (its drain and some) before SIGKILL.
 */

#include "agent/agent-spaceproc.h"
#include "agent/agent-state.h"

/* The router's port inside a space, on the space's gateway address. */
#define AGENT_ROUTER_INTERNAL_PORT 80

/*
 * The routers as per-space processes (agent-spaceproc.h): a->routers is the list of this kind.
 * Their tables route to web dynos: when one changes state (up, crashed, stopping), the table of
 * its space follows (agent_spaceprocs_table_changed()).
 */
extern const struct agent_spaceproc_kind agent_router_kind;

/* The ingress address of a space on this host ("127.0.2.1"). */
void agent_router_ingress(const struct agent_space *s, char ret[static 16]);

/* Where the space's router listens: "127.0.2.1:80" (reported to the API as the space's ingress). */
void agent_router_listen(struct agent *a, const struct agent_space *s, char ret[static 32]);
