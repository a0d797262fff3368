/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Dynos on this host, following Heroku's dyno manager: each runs in a sandbox
 * (src/sandbox) in its own network namespace on its space's bridge (src/net), and goes
 * starting -> up (a web dyno once it listens on $PORT) -> crashed or down. A crashed dyno is
 * started again at once, then with an exponential backoff (agent-sandboxed.h: 320 s at most),
 * reset once it stays up for a minute. A web dyno that does not bind $PORT within the boot
 * timeout is killed (R10); a dyno that does not stop within the stop timeout of its SIGTERM
 * is killed (R12); the cgroup's OOM kill is R15, and running close to the quota R14.
 *
 * Each dyno's description is kept in DATA_DIR/agent/dynos/<id>/dyno.json, beside its
 * sandbox state, so that a restarted agent adopts running dynos instead of starting new ones.
 */

#include "agent/agent-state.h"

#define DYNO_PORT 5000

/* Adopts the dynos that ran before the agent restarted. */
int agent_dynos_load(struct agent *a, struct error *err);

/* Makes the dynos follow desired["apps"]: starts, replaces, restarts and stops. */
void agent_dynos_reconcile(struct agent *a, json_t *desired_apps);

/* Stops every dyno of a space (for its removal). */
void agent_dynos_stop_space(struct agent *a, const char *space_id);

/* Supervision: boot and stop timeouts, backoff restarts, memory checks. */
void agent_dynos_tick(struct agent *a, uint64_t now);

/*
 * True when something listens on TCP port in the network namespace cove-d-<id>: a dyno's, or
 * an add-on server's (agent-addon.c).
 */
bool agent_port_bound(struct agent *a, const char *id, unsigned port);

/* A dyno's sandbox ended. */
void agent_dyno_on_exit(struct agent *a, struct agent_dyno *d);

/*
 * One-off dynos (desired["apps"][]["runs"]) are created by agent_dynos_reconcile() too. An
 * attached one starts when its session arrives (agent-rendezvous.h), goes when it is not
 * attached within DYNO_ATTACH_TIMEOUT_S, and is stopped when its session ends. None is
 * restarted: when its command ends, or its time to live is up, or ps:stop asks, it is removed
 * with its sandbox and network, and the next report says it ended (runs_ended).
 */
#define DYNO_ATTACH_TIMEOUT_S 60

/*
 * The attached one-off dyno whose secret hash matches secret (constant time), or NULL. A
 * dyno whose session already came sets *ret_used, and is not returned.
 */
struct agent_dyno *agent_dyno_by_secret(struct agent *a, const char *secret, bool *ret_used);

/* A session presented d's secret: d is attached to it, and starts when it can. */
void agent_dyno_attach(struct agent *a, struct agent_dyno *d, struct rendezvous_session *s);

/* d's session ended: d is stopped and removed. */
void agent_dyno_detach(struct agent *a, struct agent_dyno *d);

/* Forgets ended one-off dynos the desired state no longer lists. */
void agent_runs_forget(struct agent *a, json_t *desired_apps);

/* The dyno part of a report: every dyno of this host. */
json_t *agent_dynos_report(struct agent *a);
