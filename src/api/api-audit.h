/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The audit trail: one row per event, written by the edge for every request that tried to
 * change something, and by the parts of the API that record what happened outside a request
 * (the end of a bastion session). Read with GET /audit-events (platform administrators).
 */

#include "store/store.h"

struct api_audit_event {
	const char *actor_id;    /* NULL when nobody authenticated */
	const char *actor_email; /* "" when nobody authenticated */
	const char *action;      /* what happened, in a sentence */
	const char *method;      /* of the request, or what stands for one ("TUNNEL") */
	const char *path;
	int status;
	const char *request_id;
};

/* Writes an event, inside the caller's transaction when there is one. */
int api_audit_insert(struct store *st, const struct api_audit_event *ev, struct error *err);
