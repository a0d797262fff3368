/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Add-on servers on this host (docs/addons.md): each add-on of the desired state is a real
 * PostgreSQL or Redis server, run like a dyno without a slug: in a sandbox (src/sandbox) as
 * the add-on's own uid, with the host's /usr read-only (the Debian binaries) and its data
 * directory, DATA_DIR/addons/<id>, as its writable /app; in its own network namespace
 * cove-d-<id> on the space's bridge, at its address of the space's data network (src/net);
 * under a cgroup memory limit from its plan.
 *
 * The server goes provisioning -> provisioned once it listens on its port (reported to the
 * API, which then sets the attachments' config vars). A server that exits is started again at
 * once, then with a backoff (agent-sandboxed.h), with its data. A change of its
 * password or limits restarts it; the password is set in the server at every start. The
 * agent's description of each add-on is DATA_DIR/agent/addons/<id>/addon.json, so that a
 * restarted agent adopts the running servers. An add-on that leaves the desired state is
 * stopped and its data directory and network are deleted: that is `addons:destroy`.
 */

#include "agent/agent-state.h"

/* Adopts the servers that ran before the agent restarted. */
int agent_addons_load(struct agent *a, struct error *err);

/* Makes the servers follow the "addons" of desired["spaces"]: starts, restarts, removes with their data. */
void agent_addons_reconcile(struct agent *a, json_t *desired_spaces);

/* Supervision: restarts after crashes, readiness, SIGKILL after the stop timeout. */
void agent_addons_tick(struct agent *a, uint64_t now);

/* An add-on's sandbox ended (its watch fired). */
void agent_addon_on_exit(struct agent *a, struct agent_addon *d);

/* The add-on part of a report: [{id, state}], state "provisioning" or "provisioned". */
json_t *agent_addons_report(struct agent *a);

/* Forgets the add-ons when the agent stops (their servers keep running). */
void agent_addons_free(struct agent *a);

/* True while an add-on of the space is still on this host (the space may not go yet). */
bool agent_addons_in_space(struct agent *a, const char *space_id);
