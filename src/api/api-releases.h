/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Releases: numbered, immutable snapshots of an app's slug and config. Every change of code
 * or config makes one; a rollback makes a new one that copies an older one. The current
 * release is the newest that succeeded.
 */

#include "api/api-apps.h"

/*
 * Creates the app's next release (inside the caller's transaction) with the given
 * description. slug_id NULL keeps the current release's slug; config NULL snapshots the
 * app's config vars as they are now (after the caller's changes). *ret_version (may be NULL)
 * gets the new version.
 */
int api_release_create(struct api_request *req, const struct app *app, const char *description, const char *slug_id,
		       json_t *config, int64_t *ret_version, struct error *err);

/* The app's current config vars as a JSON object (key -> value). */
int api_config_load(struct api_request *req, const char *app_id, json_t **ret, struct error *err);
