/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Space access: the permissions a team member has on a space, as the Platform API's Space
 * Access resource (space-app-access). The permissions are `create_apps` (as on Heroku) and
 * `bastion` (tunnels into the space, docs/bastion.md): team admins always have both (and they
 * cannot be taken from them); members have them only where an admin granted them.
 *
 *   GET   /spaces/{space}/members              every member of the space's team, with permissions
 *   GET   /spaces/{space}/members/{account}    one (email, id, or "~" for the caller)
 *   PATCH /spaces/{space}/members/{account}    {"permissions": [{"name": "create_apps"}, ...]} (team
 *                                              admins): the member's whole set, the others go
 *
 * Each is {"id", "space": {"id", "name"}, "user": {"id", "email"}, "permissions":
 * [{"name", "description"}], "created_at", "updated_at"}; the id is the member's account id.
 */

#include "api/api-spaces.h"

/*
 * Whether the caller holds a permission ("create_apps", "bastion") on the space: team admins
 * (and platform administrators; space->team.role is the caller's) always, members when granted.
 */
int api_space_has_permission(struct api_request *req, const struct space *space, const char *permission, bool *ret,
			     struct error *err);

/*
 * Whether the caller may create apps in the space: team admins (and platform administrators)
 * always, members when granted create_apps. -EACCES with a message saying how to get it.
 */
int api_space_check_create_apps(struct api_request *req, const struct space *space, struct error *err);
