/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Teams and their members. A team owns spaces and apps; its members have the role `admin`
 * (may create, change and destroy spaces and their network settings, manage members) or
 * `member` (may see the team's spaces and work with its apps). Platform administrators act as
 * admins of every team.
 */

#include "api/api.h"

enum team_role { TEAM_ROLE_NONE, TEAM_ROLE_MEMBER, TEAM_ROLE_ADMIN };

struct team {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	char created_at[32];
	char updated_at[32];
	enum team_role role; /* the caller's role */
};

/* The caller's role in a team (platform administrators are admins everywhere). */
int api_team_role(struct api_request *req, const char *team_id, enum team_role *ret, struct error *err);

/*
 * Finds a team by name or id that the caller belongs to. -ENOENT when there is no such team,
 * -EACCES when the caller is not a member. With need_admin, -EACCES unless the caller is an
 * admin of it.
 */
int api_team_load(struct api_request *req, const char *ref, bool need_admin, struct team *ret, struct error *err);

/*
 * The caller's default team, for apps and spaces created without one: the only team they
 * belong to, or else their personal team, created on demand (inside the caller's transaction)
 * with the caller as admin.
 */
int api_team_default(struct api_request *req, struct team *ret, struct error *err);

/* Writes the JSON reference {id, name} of a team. */
json_t *api_team_ref(const struct team *team);

/*
 * The team a request body names: its "team", else its "organization" (the older name the
 * Platform API still accepts); *ret NULL when neither. As api_body_ref().
 */
int api_body_team(struct api_request *req, const char **ret, struct error *err);
