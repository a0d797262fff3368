/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Spaces on this host: allocation of their uplink and outbound address (kept in
 * DATA_DIR/agent/spaces/<id>.json so they are stable across restarts), their networks
 * (src/net), and their removal once their dynos are gone.
 */

#include "agent/agent-state.h"

/* Loads the spaces this host had before a restart. */
int agent_spaces_load(struct agent *a, struct error *err);

/* Makes the spaces follow desired["spaces"]; marks the ones to delete. */
void agent_spaces_reconcile(struct agent *a, json_t *desired_spaces);

/* Removes deleting spaces that have no dynos left. */
void agent_spaces_collect(struct agent *a);

struct agent_space *agent_space_find(struct agent *a, const char *id);

/* The space's object in the desired state (borrowed), or NULL. */
json_t *agent_space_desired(struct agent *a, const char *id);

/*
 * The DNS resolver of a space, which dynos reach whatever the outbound rules say: UDP and
 * TCP to this port of the space's gateway (the address the DNS responder listens on).
 */
#define AGENT_SPACE_RESOLVER_PORT 53

/* The space part of a report: JSON objects for the API; marks them sent. */
json_t *agent_spaces_report(struct agent *a);
/* After a failed report: what was marked sent must be sent again. */
void agent_spaces_report_failed(struct agent *a, json_t *sent);
