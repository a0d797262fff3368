/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The bastion: the one way from outside a space to its data services (and the app's dynos), an
 * authenticated, audited TCP tunnel through coved (docs/bastion.md).
 *
 *   POST /apps/:app/bastion-sessions {"target": "DATABASE" | "web.1:5000" | "10.0.1.5:5000"}
 *        checks the caller (access to the app, and the space permission `bastion`: admins of the
 *        space's team, members a team admin granted it, api-space-access.h), resolves the target
 *        (api-bastion-target.h), opens a socket inside the space's network namespace and starts
 *        connecting it; 201 with a one-time session that must be used within
 *        BASTION_PENDING_TTL_S seconds by the same user.
 *   GET  /apps/:app/bastion-sessions/:id with `Connection: Upgrade`, `Upgrade: cove-bastion`
 *        waits for the connection to the target (503 target_unreachable when it fails), then
 *        answers 101 and relays bytes both ways between the client and the target until
 *        either side closes. Without Upgrade: the session as JSON.
 *   GET  /apps/:app/bastion-sessions          the app's sessions, newest first
 *
 * Each session is a row of bastion_sessions and two audit events: the request that opened it
 * (written by the edge) and its end (who, app, target, start, end, bytes each way), written
 * by api_bastion_flush() on the API's thread once the relay is over.
 *
 * The socket is made where this coved runs: the bastion needs the API on a host of the space's
 * region that runs the space (the single-host setup), and root (to enter the namespace).
 */

#include "api/api.h"

#define BASTION_PROTOCOL "cove-bastion"
#define BASTION_PENDING_TTL_S 30   /* a session not used by then expires */
#define BASTION_CONNECT_TIMEOUT_S 10 /* to connect to the target */
#define BASTION_IDLE_S 3600        /* a tunnel where nothing moved for that long is closed */
#define BASTION_SESSIONS_MAX 64    /* pending and open, on this API */

struct api_bastion;

/* The state of the API's bastion: sessions waiting to be used, tunnels, ended sessions. */
struct api_bastion *api_bastion_new(void);
struct api_bastion *api_bastion(const struct api *api);

/*
 * Records what happened since the last call: sessions that ended or expired. Runs on the API's
 * thread outside any transaction (the edge calls it before every request, and api_stop()
 * once the server has stopped); each record is its own transaction.
 */
void api_bastion_flush(struct api_bastion *b, struct store *st);

/* Ends every tunnel and waits until they are closed. */
void api_bastion_stop(struct api_bastion *b);

/* Frees what is left (call api_bastion_stop() first); accepts NULL. */
void api_bastion_free(struct api_bastion *b);

extern const struct api_route api_bastion_routes[];
