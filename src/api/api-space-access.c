/* SPDX-License-Identifier: MIT */
#include "api/api-space-access.h"

#include <stdio.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "base/timeutil.h"

/* The permissions a member may hold on a space; team admins hold them all. */
static const struct {
	const char *name;
	const char *description;
} permissions[] = {
	{ "create_apps", "Create apps in the space" },
	{ "bastion", "Open bastion tunnels into the space" },
};
#define N_PERMISSIONS ARRAY_SIZE(permissions)

int api_space_has_permission(struct api_request *req, const struct space *space, const char *permission, bool *ret,
			     struct error *err)
{
	*ret = space->team.role == TEAM_ROLE_ADMIN;
	if (*ret)
		return 0;
	int64_t n = 0;
	int r = store_query_int(req->store,
				"SELECT COUNT(*) FROM space_permissions WHERE space_id = ? AND user_id = ? AND permission = ?",
				SV_ARGS(SV_TEXT(space->id), SV_TEXT(req->user.id), SV_TEXT(permission)), &n, err);
	*ret = r >= 0 && n > 0;
	return r;
}

int api_space_check_create_apps(struct api_request *req, const struct space *space, struct error *err)
{
	bool granted;
	int r = api_space_has_permission(req, space, "create_apps", &granted, err);
	if (r < 0)
		return r;
	if (!granted)
		return error_set(err, -EACCES,
				 "you may not create apps in space '%s': an admin of team '%s' must grant you the "
				 "create_apps permission (cove spaces:access:grant)",
				 space->name, space->team.name);
	return 0;
}

/*
 * columns: user id, email, role, member since, then per permission (in the order of the
 * table) when it was granted (NULL: not granted)
 */
#define GRANTED(p) ", (SELECT created_at FROM space_permissions p WHERE p.space_id = ? AND p.user_id = u.id AND p.permission = '" p "')"
#define ACCESS_QUERY                                                                                           \
	"SELECT u.id, u.email, m.role, m.created_at" GRANTED("create_apps") GRANTED("bastion")                    \
	" FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ?"
#define ACCESS_ARGS(s) SV_TEXT((s)->id), SV_TEXT((s)->id), SV_TEXT((s)->team.id)

static json_t *access_json(const struct space *s, struct store_rows *rows)
{
	bool admin = streq(store_rows_text(rows, 2), "admin");
	const char *since = store_rows_text(rows, 3);
	const char *updated = since;
	json_t *list = json_array();
	for (size_t i = 0; i < N_PERMISSIONS; i++) {
		const char *granted = store_rows_text(rows, 4 + (unsigned)i);
		if (!admin && !granted)
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s}", "name", permissions[i].name, "description",
						      permissions[i].description));
		if (!admin && strcmp(granted, updated) > 0)
			updated = granted;
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:s, s:s}", "id", store_rows_text(rows, 0), "space", "id",
			 s->id, "name", s->name, "user", "id", store_rows_text(rows, 0), "email", store_rows_text(rows, 1),
			 "permissions", list, "created_at", since, "updated_at", updated);
}

static int access_list(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, ACCESS_QUERY " ORDER BY u.email", SV_ARGS(ACCESS_ARGS(&s)), &rows, err);
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
			    SV_ARGS(ACCESS_ARGS(s), SV_TEXT(ref), SV_TEXT(ref)), &rows, err);
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

/* The permissions of a PATCH: a list of {"name": ...} (or of names), each a known one. */
static int permissions_from_body(struct api_request *req, bool ret_wanted[static N_PERMISSIONS], struct error *err)
{
	json_t *list = req->body ? json_object_get(req->body, "permissions") : NULL;
	if (!json_is_array(list))
		return error_set(err, -EINVAL, "'permissions' is required: a list such as [{\"name\": \"create_apps\"}]");
	for (size_t k = 0; k < N_PERMISSIONS; k++)
		ret_wanted[k] = false;
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		const char *name = json_string_value(json_is_object(p) ? json_object_get(p, "name") : p);
		size_t k = 0;
		while (k < N_PERMISSIONS && !streq_ptr(name, permissions[k].name))
			k++;
		if (k == N_PERMISSIONS)
			return error_set(err, -EINVAL, "permission '%.64s' is unknown: create_apps or bastion",
					 name ? name : "");
		ret_wanted[k] = true;
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
	bool wanted[N_PERMISSIONS];
	r = permissions_from_body(req, wanted, err);
	if (r < 0)
		return r;
	json_t *before;
	r = access_find(req, &s, req->params[1], &before, err);
	if (r < 0)
		return r;
	const char *user_id = json_string_value(json_object_get(json_object_get(before, "user"), "id"));
	const char *email = json_string_value(json_object_get(json_object_get(before, "user"), "email"));
	_cleanup_free_ char *role = NULL;
	r = store_query_text(req->store, "SELECT role FROM team_members WHERE team_id = ? AND user_id = ?",
			     SV_ARGS(SV_TEXT(s.team.id), SV_TEXT(user_id)), &role, err);
	bool admin = r >= 0 && streq_ptr(role, "admin");
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	struct strbuf granted = STRBUF_INIT;
	for (size_t k = 0; r >= 0 && k < N_PERMISSIONS; k++) {
		if (admin && !wanted[k])
			r = error_set(err, -EINVAL, "'%s' is an admin of team '%s' and always has %s", email, s.team.name,
				      permissions[k].name);
		else if (!admin && wanted[k])
			r = store_exec(req->store,
				       "INSERT INTO space_permissions (space_id, user_id, permission, created_at) VALUES (?, ?, ?, ?)"
				       " ON CONFLICT DO NOTHING",
				       SV_ARGS(SV_TEXT(s.id), SV_TEXT(user_id), SV_TEXT(permissions[k].name), SV_TEXT(now)), err);
		else if (!admin)
			r = store_exec(req->store,
				       "DELETE FROM space_permissions WHERE space_id = ? AND user_id = ? AND permission = ?",
				       SV_ARGS(SV_TEXT(s.id), SV_TEXT(user_id), SV_TEXT(permissions[k].name)), err);
		if (wanted[k])
			strbuf_addf(&granted, "%s%s", granted.len ? ", " : "", permissions[k].name);
	}
	json_t *after = NULL;
	if (r >= 0)
		r = access_find(req, &s, user_id, &after, err);
	if (r >= 0)
		api_set_action(req, "Set the permissions in space %s of %s: %s", s.name, email,
			       granted.len ? granted.buf : "none");
	strbuf_release(&granted);
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
