/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Regions: the configured list of places where hosts run spaces (`coved --regions`). Each
 * has a stable id derived from its name, and a description for the well-known names.
 */

#include "api/api.h"

/* True when name is one of the configured regions. */
bool api_region_exists(const struct api *api, const char *name);

/* The first configured region, used when a request names none. */
const char *api_region_default(const struct api *api);

/* {id, name, description, ...} of a region. */
json_t *api_region_json(const char *name);

/* A comma-separated list of the configured regions, for error messages (caller frees). */
char *api_region_list(const struct api *api);
