/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Spaces: network-isolated runtimes in a region, owned by a team. Team members see them;
 * only team admins create, rename, destroy or change them. State goes `allocating` ->
 * `allocated` (and `deleting` while an agent takes one apart).
 */

#include "api/api-teams.h"
#include "api/api.h"

#define SPACE_NAME_MAX 30
#define SPACE_CIDR_DEFAULT "10.0.0.0/16"
#define SPACE_DATA_CIDR_DEFAULT "10.1.0.0/16"

struct space {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	struct team team;
	char region[API_NAME_MAX];
	char cidr[32];
	char data_cidr[32];
	char state[16];
	bool shield;
	char ingress[64];  /* ADDRESS:PORT of its router, once an agent reported it; "" before */
	char created_at[32];
	char updated_at[32];
};

/*
 * Finds a space by name or id. -ENOENT when there is none; -EACCES when the caller is not a
 * member of its team, or, with need_admin, not an admin of it.
 */
int api_space_load(struct api_request *req, const char *ref, bool need_admin, struct space *ret, struct error *err);

/*
 * The default space of a team, for apps created without one: "<team>-space", created on
 * demand (inside the caller's transaction) in the default region.
 */
int api_space_default(struct api_request *req, const struct team *team, struct space *ret, struct error *err);

/* The JSON reference {id, name, shield} of a space. */
json_t *api_space_ref(const struct space *space);
