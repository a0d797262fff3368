/* SPDX-License-Identifier: MIT */
#include "api/api-teams.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/api-auth.h"
#include "base/alloc.h"
#include "base/timeutil.h"
#include "base/validate.h"

#define TEAM_NAME_MAX 30

static const char *role_name(enum team_role role)
{
	return role == TEAM_ROLE_ADMIN ? "admin" : role == TEAM_ROLE_MEMBER ? "member" : NULL;
}

static int role_parse(const char *s, enum team_role *ret, struct error *err)
{
	if (s && streq(s, "admin"))
		*ret = TEAM_ROLE_ADMIN;
	else if (s && streq(s, "member"))
		*ret = TEAM_ROLE_MEMBER;
	else
		return error_set(err, -EINVAL, "role '%s' is invalid: use admin or member", s ? s : "");
	return 0;
}

int api_team_role(struct api_request *req, const char *team_id, enum team_role *ret, struct error *err)
{
	if (req->user.is_admin) {
		*ret = TEAM_ROLE_ADMIN;
		return 0;
	}
	_cleanup_free_ char *role = NULL;
	int r = store_query_text(req->store, "SELECT role FROM team_members WHERE team_id = ? AND user_id = ?",
				 SV_ARGS(SV_TEXT(team_id), SV_TEXT(req->user.id)), &role, err);
	if (r == -ENOENT) {
		*ret = TEAM_ROLE_NONE;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = streq(role, "admin") ? TEAM_ROLE_ADMIN : TEAM_ROLE_MEMBER;
	return 0;
}

json_t *api_team_ref(const struct team *team)
{
	return api_ref_json(team->id, team->name);
}

int api_body_team(struct api_request *req, const char **ret, struct error *err)
{
	int r = api_body_ref(req, "team", false, ret, err);
	if (r >= 0 && !*ret)
		r = api_body_ref(req, "organization", false, ret, err);
	return r;
}

static int team_find(struct api_request *req, const char *ref, struct team *ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT id, name, created_at, updated_at FROM teams WHERE id = ? OR name = ?",
			      SV_ARGS(SV_TEXT(ref), SV_TEXT(ref)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "team '%s' not found", ref);
	snprintf(ret->id, sizeof(ret->id), "%s", store_rows_text(rows, 0));
	snprintf(ret->name, sizeof(ret->name), "%s", store_rows_text(rows, 1));
	snprintf(ret->created_at, sizeof(ret->created_at), "%s", store_rows_text(rows, 2));
	snprintf(ret->updated_at, sizeof(ret->updated_at), "%s", store_rows_text(rows, 3));
	return api_team_role(req, ret->id, &ret->role, err);
}

int api_team_load(struct api_request *req, const char *ref, bool need_admin, struct team *ret, struct error *err)
{
	int r = team_find(req, ref, ret, err);
	if (r < 0)
		return r;
	if (ret->role == TEAM_ROLE_NONE)
		return error_set(err, -EACCES, "you are not a member of team '%s'", ret->name);
	if (need_admin && ret->role != TEAM_ROLE_ADMIN)
		return error_set(err, -EACCES, "only admins of team '%s' may do this", ret->name);
	return 0;
}

static int team_insert(struct api_request *req, const char *name, struct team *ret, struct error *err)
{
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	id_new(ret->id);
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	snprintf(ret->created_at, sizeof(ret->created_at), "%s", now);
	snprintf(ret->updated_at, sizeof(ret->updated_at), "%s", now);
	ret->role = TEAM_ROLE_ADMIN;
	int r = store_exec(req->store, "INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
			   SV_ARGS(SV_TEXT(ret->id), SV_TEXT(name), SV_TEXT(now), SV_TEXT(now)), err);
	if (r == -EEXIST)
		return error_set(err, -EEXIST, "team '%s' already exists", name);
	if (r < 0)
		return r;
	return store_exec(req->store,
			  "INSERT INTO team_members (team_id, user_id, role, created_at, updated_at) VALUES (?, ?, 'admin', ?, ?)",
			  SV_ARGS(SV_TEXT(ret->id), SV_TEXT(req->user.id), SV_TEXT(now), SV_TEXT(now)), err);
}

int api_team_default(struct api_request *req, struct team *ret, struct error *err)
{
	_cleanup_free_ char *team_id = NULL;
	int r = store_query_text(req->store, "SELECT default_team_id FROM users WHERE id = ?", SV_ARGS(SV_TEXT(req->user.id)),
				 &team_id, err);
	if (r < 0)
		return r;
	if (team_id && team_find(req, team_id, ret, err) >= 0 && ret->role != TEAM_ROLE_NONE)
		return 0;
	free(team_id);
	team_id = NULL;

	int64_t n;
	r = store_query_int(req->store, "SELECT COUNT(*) FROM team_members WHERE user_id = ?", SV_ARGS(SV_TEXT(req->user.id)),
			    &n, err);
	if (r < 0)
		return r;
	if (n == 1) {
		r = store_query_text(req->store, "SELECT team_id FROM team_members WHERE user_id = ?",
				     SV_ARGS(SV_TEXT(req->user.id)), &team_id, err);
		if (r < 0)
			return r;
		return team_find(req, team_id, ret, err);
	}

	/* A personal team named after the e-mail's local part: "Jane.Doe@x" -> "jane-doe". */
	char base[TEAM_NAME_MAX - 4] = "";
	size_t len = 0;
	for (const char *p = req->user.email; *p && *p != '@' && len + 1 < sizeof(base); p++) {
		char c = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)c))
			c = '-';
		if (c == '-' && (len == 0 || base[len - 1] == '-'))
			continue;
		if (len == 0 && !isalpha((unsigned char)c))
			base[len++] = 'u';
		base[len++] = c;
	}
	while (len && base[len - 1] == '-')
		len--;
	base[len] = '\0';
	if (!len)
		snprintf(base, sizeof(base), "user");
	for (int i = 0; i < 1000; i++) {
		char name[TEAM_NAME_MAX + 1];
		if (i == 0)
			snprintf(name, sizeof(name), "%s", base);
		else
			snprintf(name, sizeof(name), "%s-%d", base, i + 1);
		int64_t taken;
		r = store_query_int(req->store, "SELECT COUNT(*) FROM teams WHERE name = ?", SV_ARGS(SV_TEXT(name)), &taken, err);
		if (r < 0)
			return r;
		if (taken)
			continue;
		r = team_insert(req, name, ret, err);
		if (r < 0)
			return r;
		return store_exec(req->store, "UPDATE users SET default_team_id = ? WHERE id = ?",
				  SV_ARGS(SV_TEXT(ret->id), SV_TEXT(req->user.id)), err);
	}
	return error_set(err, -EEXIST, "no free name for a personal team of '%s'", req->user.email);
}

static json_t *team_json(const struct team *t)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b, s:b}", "id", t->id, "name", t->name, "created_at",
			 t->created_at, "updated_at", t->updated_at, "role", api_string_or_null(role_name(t->role)),
			 "type", "team", "default", 0, "identity_provider", 0);
}

/* ---- endpoints ------------------------------------------------------------------------- */

static int team_list(struct api_request *req, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r;
	if (req->user.is_admin)
		r = store_query(req->store, "SELECT id, name, created_at, updated_at, 'admin' FROM teams", SV_NONE, &rows, err);
	else
		r = store_query(req->store,
				"SELECT t.id, t.name, t.created_at, t.updated_at, m.role FROM teams t"
				" JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ?",
				SV_ARGS(SV_TEXT(req->user.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		struct team t = { .role = streq(store_rows_text(rows, 4), "admin") ? TEAM_ROLE_ADMIN : TEAM_ROLE_MEMBER };
		snprintf(t.id, sizeof(t.id), "%s", store_rows_text(rows, 0));
		snprintf(t.name, sizeof(t.name), "%s", store_rows_text(rows, 1));
		snprintf(t.created_at, sizeof(t.created_at), "%s", store_rows_text(rows, 2));
		snprintf(t.updated_at, sizeof(t.updated_at), "%s", store_rows_text(rows, 3));
		json_array_append_new(list, team_json(&t));
	}
	req->range_fields = "name,id";
	api_reply(req, 200, list);
	return r;
}

static int team_create(struct api_request *req, struct error *err)
{
	const char *name;
	int r = api_body_string(req, "name", true, &name, err);
	if (r < 0)
		return r;
	r = validate_name("team", name, TEAM_NAME_MAX, err);
	if (r < 0)
		return r;
	struct team t;
	r = team_insert(req, name, &t, err);
	if (r < 0)
		return r;
	api_set_action(req, "Create team %s", name);
	return api_reply(req, 201, team_json(&t));
}

static int team_info(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], false, &t, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, team_json(&t));
}

static int team_destroy(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], true, &t, err);
	if (r < 0)
		return r;
	int64_t n;
	r = store_query_int(req->store, "SELECT (SELECT COUNT(*) FROM spaces WHERE team_id = ?) + (SELECT COUNT(*) FROM apps WHERE team_id = ?)",
			    SV_ARGS(SV_TEXT(t.id), SV_TEXT(t.id)), &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return error_set(err, -ENOTEMPTY, "team '%s' still has spaces or apps: destroy them first", t.name);
	r = store_exec(req->store, "UPDATE users SET default_team_id = NULL WHERE default_team_id = ?", SV_ARGS(SV_TEXT(t.id)),
		       err);
	if (r >= 0)
		r = store_exec(req->store, "DELETE FROM teams WHERE id = ?", SV_ARGS(SV_TEXT(t.id)), err);
	if (r < 0)
		return r;
	api_set_action(req, "Destroy team %s", t.name);
	return api_reply(req, 200, team_json(&t));
}

static json_t *member_json(struct store_rows *rows)
{
	/* columns: user id, email, name, role, created_at, updated_at */
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:o}, s:s, s:s, s:b, s:b}", "id", store_rows_text(rows, 0), "email",
			 store_rows_text(rows, 1), "role", store_rows_text(rows, 3), "user", "id", store_rows_text(rows, 0),
			 "email", store_rows_text(rows, 1), "name", api_string_or_null(store_rows_text(rows, 2)),
			 "created_at", store_rows_text(rows, 4), "updated_at", store_rows_text(rows, 5),
			 "two_factor_authentication", 0, "federated", 0);
}

static int member_query(struct api_request *req, const char *team_id, const char *user_id, struct store_rows **rows,
			struct error *err)
{
	return store_query(req->store,
			   "SELECT u.id, u.email, u.name, m.role, m.created_at, m.updated_at FROM team_members m"
			   " JOIN users u ON u.id = m.user_id WHERE m.team_id = ? AND (? IS NULL OR u.id = ?)",
			   SV_ARGS(SV_TEXT(team_id), SV_TEXT(user_id), SV_TEXT(user_id)), rows, err);
}

static int member_list(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], false, &t, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = member_query(req, t.id, NULL, &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, member_json(rows));
	req->range_fields = "email,id";
	api_reply(req, 200, list);
	return r;
}

static int count_admins(struct api_request *req, const char *team_id, int64_t *ret, struct error *err)
{
	return store_query_int(req->store, "SELECT COUNT(*) FROM team_members WHERE team_id = ? AND role = 'admin'",
			       SV_ARGS(SV_TEXT(team_id)), ret, err);
}

/* PUT or PATCH /teams/:team/members {email, role}: adds a member or changes their role. */
static int member_set(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], true, &t, err);
	if (r < 0)
		return r;
	const char *email, *role_s;
	r = api_body_string(req, "email", true, &email, err);
	if (r >= 0)
		r = api_body_string(req, "role", false, &role_s, err);
	if (r < 0)
		return r;
	enum team_role role = TEAM_ROLE_MEMBER;
	if (role_s && (r = role_parse(role_s, &role, err)) < 0)
		return r;
	_cleanup_free_ char *user_id = NULL;
	r = store_query_text(req->store, "SELECT id FROM users WHERE email = ?", SV_ARGS(SV_TEXT(email)), &user_id, err);
	if (r == -ENOENT)
		return error_set(err, -ENOENT,
				 "user '%s' not found: a platform administrator creates accounts with 'cove users:create'",
				 email);
	if (r < 0)
		return r;
	if (!role_s) {
		/* Without a role, a new member is a member and an existing one keeps their role. */
		_cleanup_free_ char *current = NULL;
		r = store_query_text(req->store, "SELECT role FROM team_members WHERE team_id = ? AND user_id = ?",
				     SV_ARGS(SV_TEXT(t.id), SV_TEXT(user_id)), &current, err);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r >= 0 && streq(current, "admin"))
			role = TEAM_ROLE_ADMIN;
	}

	char now[TIME_ISO_MAX];
	time_now_iso(now);
	int64_t changed;
	r = store_exec_changes(req->store, "UPDATE team_members SET role = ?, updated_at = ? WHERE team_id = ? AND user_id = ?",
			       SV_ARGS(SV_TEXT(role_name(role)), SV_TEXT(now), SV_TEXT(t.id), SV_TEXT(user_id)), &changed,
			       err);
	if (r < 0)
		return r;
	if (changed == 0 && streq(req->method, "PATCH"))
		return error_set(err, -ENOENT, "'%s' is not a member of team '%s': add them with PUT", email, t.name);
	if (changed == 0) {
		r = store_exec(req->store,
			       "INSERT INTO team_members (team_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			       SV_ARGS(SV_TEXT(t.id), SV_TEXT(user_id), SV_TEXT(role_name(role)), SV_TEXT(now), SV_TEXT(now)),
			       err);
		if (r < 0)
			return r;
	}
	int64_t admins;
	r = count_admins(req, t.id, &admins, err);
	if (r < 0)
		return r;
	if (admins == 0)
		return error_set(err, -EINVAL, "team '%s' must keep at least one admin", t.name);
	api_set_action(req, "Set %s as %s of team %s", email, role_name(role), t.name);

	_cleanup_rows_ struct store_rows *rows = NULL;
	r = member_query(req, t.id, user_id, &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : -EIO;
	return api_reply(req, changed ? 200 : 201, member_json(rows));
}

static int member_remove(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], true, &t, err);
	if (r < 0)
		return r;
	const char *who = req->params[1];
	_cleanup_free_ char *user_id = NULL;
	r = store_query_text(req->store,
			     "SELECT u.id FROM users u JOIN team_members m ON m.user_id = u.id"
			     " WHERE m.team_id = ? AND (u.email = ? OR u.id = ?)",
			     SV_ARGS(SV_TEXT(t.id), SV_TEXT(who), SV_TEXT(who)), &user_id, err);
	if (r == -ENOENT)
		return error_set(err, -ENOENT, "'%s' is not a member of team '%s'", who, t.name);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = member_query(req, t.id, user_id, &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : -EIO;
	json_t *gone = member_json(rows);
	r = store_exec(req->store, "DELETE FROM team_members WHERE team_id = ? AND user_id = ?",
		       SV_ARGS(SV_TEXT(t.id), SV_TEXT(user_id)), err);
	int64_t admins = 0;
	if (r >= 0)
		r = count_admins(req, t.id, &admins, err);
	if (r >= 0 && admins == 0)
		r = error_set(err, -EINVAL, "team '%s' must keep at least one admin", t.name);
	if (r >= 0)
		r = store_exec(req->store, "UPDATE users SET default_team_id = NULL WHERE id = ? AND default_team_id = ?",
			       SV_ARGS(SV_TEXT(user_id), SV_TEXT(t.id)), err);
	if (r < 0) {
		json_decref(gone);
		return r;
	}
	api_set_action(req, "Remove %s from team %s", who, t.name);
	return api_reply(req, 200, gone);
}

static int team_features(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], false, &t, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, json_array());
}

/* The permissions a team grants on its apps, as /teams/permissions lists them. */
static int team_permissions(struct api_request *req, struct error *err)
{
	static const char *const perms[][2] = {
		{ "view", "See the app, its config and its logs" },
		{ "deploy", "Push code, create releases and roll back" },
		{ "operate", "Scale and restart dynos" },
		{ "manage", "Change config vars, add-ons, domains and access" },
	};
	json_t *list = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(perms); i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "name", perms[i][0], "description", perms[i][1]));
	return api_reply(req, 200, list);
}

const struct api_route api_team_routes[] = {
	{ "GET", "/teams", team_list, 0 },
	{ "POST", "/teams", team_create, 0 },
	{ "GET", "/teams/permissions", team_permissions, 0 },
	{ "GET", "/teams/:team", team_info, 0 },
	{ "DELETE", "/teams/:team", team_destroy, 0 },
	{ "GET", "/teams/:team/features", team_features, 0 },
	{ "GET", "/teams/:team/members", member_list, 0 },
	{ "PUT", "/teams/:team/members", member_set, 0 },
	{ "PATCH", "/teams/:team/members", member_set, 0 },
	{ "DELETE", "/teams/:team/members/:member", member_remove, 0 },
	{},
};
