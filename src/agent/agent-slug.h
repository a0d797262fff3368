/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Slugs on this host: fetched from the API once (GET /agent/slugs/:id), extracted once into
 * DATA_DIR/agent/slugs/<id>/ in a child process and owned by the app's uid; every dyno of
 * that slug uses the extracted tree as the read-only lower layer of its /app.
 */

#include "agent/agent-state.h"

/*
 * The directory to use as /app for a slug, or NULL while it is not ready yet (the fetch is
 * started on the first call; the loop reconciles again when it is ready).
 */
const char *agent_slug_app_dir(struct agent *a, const char *slug_id, uid_t uid);

/* The extraction child of a slug ended. */
void agent_slug_on_exit(struct agent *a, struct agent_slug *s);

/* Retries failed fetches whose time has come. */
void agent_slugs_tick(struct agent *a, uint64_t now);
