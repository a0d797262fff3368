/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Apps: each lives in one space and belongs to the space's team. Team members (of any role)
 * work with the team's apps; team admins and platform administrators may also destroy them.
 */

#include "api/api-spaces.h"
#include "api/api.h"

#define APP_NAME_MAX 30

struct app {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	struct space space; /* with space.team filled in */
	bool internal_routing;
	bool maintenance;
	char stack[32];
	char created_at[32];
	char updated_at[32];
};

/*
 * Finds an app by name or id. -ENOENT when there is none, -EACCES when the caller has no
 * access to it.
 */
int api_app_load(struct api_request *req, const char *ref, struct app *ret, struct error *err);

/* Touches the app's updated_at (inside the caller's transaction). */
int api_app_touch(struct api_request *req, const struct app *app, struct error *err);
