/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The routers of the spaces on this host (docs/router.md): a `coved router` process per space,
 * started, supervised and adopted by the agent like dynos, fed with a routing table that the
 * agent rewrites whenever what it routes changes.
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
 * A router outlives the agent (it is started in a session of its own); stopping the agent
 * never stops a router. A router that dies is started again, at once and then with a backoff.
 */

#include "agent/agent-state.h"

/* The router's port inside a space, on the space's gateway address. */
#define AGENT_ROUTER_INTERNAL_PORT 80

/* Adopts the routers that ran before the agent restarted. */
int agent_routers_load(struct agent *a, struct error *err);

/*
 * Makes the routers follow the spaces and apps of the desired state and the dynos that are up:
 * writes each space's table when it changed, starts the routers that should run, stops
 * those of spaces that are going.
 */
void agent_routers_reconcile(struct agent *a);

/* A dyno changed state: the table of its space follows (a web dyno up, crashed, stopping). */
void agent_routers_dyno_changed(struct agent *a, const struct agent_dyno *d);

/* Supervision: routers that died are started again, stopping ones killed when they linger. */
void agent_routers_tick(struct agent *a, uint64_t now);

/* The ingress address of a space on this host ("127.0.2.1"). */
void agent_router_ingress(const struct agent_space *s, char ret[static 16]);

/* Where the space's router listens: "127.0.2.1:80" (reported to the API as the space's ingress). */
void agent_router_listen(struct agent *a, const struct agent_space *s, char ret[static 32]);

/* Forgets the routers (they keep running); at the agent's exit. */
void agent_routers_free(struct agent *a);
