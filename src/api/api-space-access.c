/* SPDX-License-Identifier: MIT */
#include "api/api-space-access.h"

#include <stdio.h>

#include "base/alloc.h"
#include "base/timeutil.h"

#define CREATE_APPS "create_apps"
#define CREATE_APPS_DESCRIPTION "Create apps in the space"

static int has_create_apps(struct api_request *req, const char *space_id, const char *user_id, bool *ret,
			   struct error *err)
{
	int64_t n;
	int r = store_query_int(req->store,
				"SELECT COUNT(*) FROM space_permissions WHERE space_id = ? AND user_id = ? AND permission = ?",
				SV_ARGS(SV_TEXT(space_id), SV_TEXT(user_id), SV_TEXT(CREATE_APPS)), &n, err);
	*ret = r >= 0 && n > 0;
	return r;
}

int api_space_check_create_apps(struct api_request *req, const struct space *space, struct error *err)
{
	if (space->team.role == TEAM_ROLE_ADMIN)
		return 0;
	bool granted;
	int r = has_create_apps(req, space->id, req->user.id, &granted, err);
	if (r < 0)
		return r;
	if (!granted)
		return error_set(err, -EACCES,
				 "you may not create apps in space '%s': an admin of team '%s' must grant you the "
				 "create_apps permission (cove spaces:access:grant)",
				 space->name, space->team.name);
	return 0;
}

/* columns: user id, email, role, member since, permission granted at (NULL: none) */
#define ACCESS_QUERY                                                                                        \
	"SELECT u.id, u.email, m.role, m.created_at, p.created_at FROM team_members m JOIN users u ON u.id = m.user_id" \
	" LEFT JOIN space_permissions p ON p.space_id = ? AND p.user_id = u.id AND p.permission = '" CREATE_APPS "'"   \
	" WHERE m.team_id = ?"

static json_t *access_json(const struct space *s, struct store_rows *rows)
{
	bool admin = streq(store_rows_text(rows, 2), "admin");
	const char *granted = store_rows_text(rows, 4);
	json_t *permissions = json_array();
	if (admin || granted)
		json_array_append_new(permissions,
				      json_pack("{s:s, s:s}", "name", CREATE_APPS, "description", CREATE_APPS_DESCRIPTION));
	const char *since = store_rows_text(rows, 3);
	return json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:s, s:s}", "id", store_rows_text(rows, 0), "space", "id",
			 s->id, "name", s->name, "user", "id", store_rows_text(rows, 0), "email", store_rows_text(rows, 1),
			 "permissions", permissions, "created_at", since, "updated_at",
			 granted && !admin && strcmp(granted, since) > 0 ? granted : since);
}

static int access_list(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, ACCESS_QUERY " ORDER BY u.email", SV_ARGS(SV_TEXT(s.id), SV_TEXT(s.team.id)), &rows,
			err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, access_json(&s, rows));
	api_reply(req, 200, list);
	return r;
}

/* The access of one member: the account by email, id, or "~" (the caller). */
static int access_find(struct api_request *req, const struct space *s, const char *account, json_t **ret,
		       struct error *err)
{
	const char *ref = streq(account, "~") ? req->user.id : account;
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store, ACCESS_QUERY " AND (u.id = ? OR u.email = ?)",
			    SV_ARGS(SV_TEXT(s->id), SV_TEXT(s->team.id), SV_TEXT(ref), SV_TEXT(ref)), &rows, err);
	if (r >= 0)
		r = store_rows_next(rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "'%s' is not a member of team '%s'", account, s->team.name);
	*ret = access_json(s, rows);
	return 0;
}

static int access_info(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	json_t *access;
	r = access_find(req, &s, req->params[1], &access, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, access);
}

/* The permissions of a PATCH: a list of {"name": ...} (or of names); create_apps or nothing. */
static int permissions_from_body(struct api_request *req, bool *ret_create_apps, struct error *err)
{
	json_t *list = req->body ? json_object_get(req->body, "permissions") : NULL;
	if (!json_is_array(list))
		return error_set(err, -EINVAL, "'permissions' is required: a list such as [{\"name\": \"create_apps\"}]");
	*ret_create_apps = false;
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		const char *name = json_string_value(json_is_object(p) ? json_object_get(p, "name") : p);
		if (!streq_ptr(name, CREATE_APPS))
			return error_set(err, -EINVAL, "permission '%.64s' is unknown: the only one is create_apps",
					 name ? name : "");
		*ret_create_apps = true;
	}
	return 0;
}

static int access_update(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	if (s.team.role != TEAM_ROLE_ADMIN)
		return error_set(err, -EACCES, "only admins of team '%s' may change who has access to space '%s'",
				 s.team.name, s.name);
	bool create_apps = false;
	r = permissions_from_body(req, &create_apps, err);
	if (r < 0)
		return r;
	json_t *before;
	r = access_find(req, &s, req->params[1], &before, err);
	if (r < 0)
		return r;
	const char *user_id = json_string_value(json_object_get(json_object_get(before, "user"), "id"));
	const char *email = json_string_value(json_object_get(json_object_get(before, "user"), "email"));
	bool admin = false;
	_cleanup_free_ char *role = NULL;
	r = store_query_text(req->store, "SELECT role FROM team_members WHERE team_id = ? AND user_id = ?",
			     SV_ARGS(SV_TEXT(s.team.id), SV_TEXT(user_id)), &role, err);
	admin = r >= 0 && streq_ptr(role, "admin");
	if (r >= 0 && admin && !create_apps)
		r = error_set(err, -EINVAL, "'%s' is an admin of team '%s' and always has create_apps", email, s.team.name);
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	if (r >= 0 && !admin && create_apps)
		r = store_exec(req->store,
			       "INSERT INTO space_permissions (space_id, user_id, permission, created_at) VALUES (?, ?, ?, ?)"
			       " ON CONFLICT DO NOTHING",
			       SV_ARGS(SV_TEXT(s.id), SV_TEXT(user_id), SV_TEXT(CREATE_APPS), SV_TEXT(now)), err);
	else if (r >= 0 && !admin)
		r = store_exec(req->store, "DELETE FROM space_permissions WHERE space_id = ? AND user_id = ?",
			       SV_ARGS(SV_TEXT(s.id), SV_TEXT(user_id)), err);
	json_t *after = NULL;
	if (r >= 0)
		r = access_find(req, &s, user_id, &after, err);
	if (r >= 0)
		api_set_action(req, "%s create_apps in space %s for %s", create_apps ? "Grant" : "Revoke", s.name, email);
	json_decref(before);
	if (r < 0)
		return r;
	return api_reply(req, 200, after);
}

const struct api_route api_space_access_routes[] = {
	{ "GET", "/spaces/:space/members", access_list, 0 },
	{ "GET", "/spaces/:space/members/:account", access_info, 0 },
	{ "PATCH", "/spaces/:space/members/:account", access_update, 0 },
	{},
};
