/* SPDX-License-Identifier: MIT */
#include "api/api-addon-attachments.h"
#include "api/api-apps.h"
#include "api/api-domains.h"

#include <stdio.h>
#include <string.h>

#include "api/api-logs.h"
#include "api/api-regions.h"
#include "api/api-releases.h"
#include "api/api-space-access.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "base/validate.h"

#define APP_COLUMNS "a.id, a.name, a.space_id, a.internal_routing, a.maintenance, a.stack, a.created_at, a.updated_at"

static void app_from_row(struct store_rows *rows, struct app *a)
{
	snprintf(a->id, sizeof(a->id), "%s", store_rows_text(rows, 0));
	snprintf(a->name, sizeof(a->name), "%s", store_rows_text(rows, 1));
	snprintf(a->space.id, sizeof(a->space.id), "%s", store_rows_text(rows, 2));
	a->internal_routing = store_rows_int(rows, 3) != 0;
	a->maintenance = store_rows_int(rows, 4) != 0;
	snprintf(a->stack, sizeof(a->stack), "%s", store_rows_text(rows, 5));
	snprintf(a->created_at, sizeof(a->created_at), "%s", store_rows_text(rows, 6));
	snprintf(a->updated_at, sizeof(a->updated_at), "%s", store_rows_text(rows, 7));
}

int api_app_load(struct api_request *req, const char *ref, struct app *ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT " APP_COLUMNS " FROM apps a WHERE a.id = ? OR a.name = ?",
			      SV_ARGS(SV_TEXT(ref), SV_TEXT(ref)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "app '%s' not found", ref);
	app_from_row(rows, ret);
	r = api_space_load(req, ret->space.id, false, &ret->space, err);
	if (r == -EACCES)
		return error_set(err, -EACCES, "you do not have access to app '%s'", ret->name);
	return r;
}

int api_app_touch(struct api_request *req, const struct app *app, struct error *err)
{
	char now[TIME_ISO_MAX];
	return store_exec(req->store, "UPDATE apps SET updated_at = ? WHERE id = ?",
			  SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(app->id)), err);
}

static json_t *app_json(struct api_request *req, const struct app *a)
{
	_cleanup_free_ char *web_url = api_app_web_url(req, a->name, a->space.name);
	_cleanup_free_ char *git_url = xasprintf("%s/%s.git", api_git_url(req->api), a->name);
	_cleanup_free_ char *owner_email = xasprintf("%s@herokumanager.com", a->space.team.name);
	json_t *region = api_region_json(a->space.region);
	json_t *stack = json_pack("{s:s, s:s}", "id", "c0ffee00-0000-4000-8000-00000000c0de", "name", a->stack);
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:{s:s, s:s},"
			 " s:b, s:b, s:b, s:s, s:b, s:n, s:n, s:n, s:s, s:s, s:n, s:s}",
			 "id", a->id, "name", a->name, "owner", "id", a->space.team.id, "email", owner_email, "region",
			 region, "stack", stack, "build_stack", json_deep_copy(stack), "space", api_space_ref(&a->space),
			 "team", api_ref_json(a->space.team.id, a->space.team.name), "organization",
			 json_pack("{s:s, s:s}", "id", a->space.team.id, "name", a->space.team.name), "git_url", git_url,
			 "web_url", web_url, "create_status", "complete", "generation", "id",
			 "9f6e4bba-8f1c-4c2e-9a39-1c0a7d5d2b60", "name", "cedar", "internal_routing", a->internal_routing,
			 "maintenance", a->maintenance, "locked", 0, "process_tier", "private", "acm", 0, "repo_size",
			 "slug_size", "archived_at", "created_at", a->created_at, "updated_at", a->updated_at,
			 "released_at", "buildpack_provided_description", "cove");
}

/* A Heroku-style generated name: "shielded-harbor-40127". */
static int app_generate_name(struct api_request *req, char *ret, size_t len, struct error *err)
{
	static const char *const adjectives[] = { "quiet", "brave", "calm", "shielded", "ancient", "bright", "rapid",
						  "gentle", "hidden", "silver", "misty", "sunny", "frozen", "golden" };
	static const char *const nouns[] = { "harbor", "river", "meadow", "summit", "forest", "canyon", "island",
					     "lake",   "ridge", "valley", "garden", "beacon", "falls", "coast" };
	for (int attempt = 0; attempt < 32; attempt++) {
		char hex[9];
		crypto_random_hex(hex, 4);
		unsigned long rnd = strtoul(hex, NULL, 16);
		snprintf(ret, len, "%s-%s-%05lu", adjectives[rnd % ARRAY_SIZE(adjectives)],
			 nouns[(rnd / 16) % ARRAY_SIZE(nouns)], (rnd / 256) % 100000);
		int64_t n;
		int r = store_query_int(req->store, "SELECT COUNT(*) FROM apps WHERE name = ?", SV_ARGS(SV_TEXT(ret)), &n, err);
		if (r < 0)
			return r;
		if (n == 0)
			return 0;
	}
	return error_set(err, -EEXIST, "could not find a free app name: give one");
}

/* ---- endpoints ------------------------------------------------------------------------- */

static int app_create(struct api_request *req, struct error *err)
{
	const char *name, *space_ref, *team_ref, *region, *stack;
	bool internal_routing = false;
	int r = api_body_string(req, "name", false, &name, err);
	if (r >= 0)
		r = api_body_ref(req, "space", false, &space_ref, err);
	if (r >= 0)
		r = api_body_team(req, &team_ref, err);
	if (r >= 0)
		r = api_body_ref(req, "region", false, &region, err);
	if (r >= 0)
		r = api_body_ref(req, "stack", false, &stack, err);
	if (r >= 0)
		r = api_body_bool(req, "internal_routing", &internal_routing, NULL, err);
	if (r < 0)
		return r;

	char generated[APP_NAME_MAX + 1];
	if (name) {
		r = validate_name("app", name, APP_NAME_MAX, err);
		if (r < 0)
			return r;
	} else {
		r = app_generate_name(req, generated, sizeof(generated), err);
		if (r < 0)
			return r;
		name = generated;
	}
	if (stack && !streq(stack, "heroku-24") && !streq(stack, "heroku-22") && !streq(stack, "cove-1"))
		return error_set(err, -EINVAL, "stack '%s' is unknown: use heroku-24, heroku-22 or cove-1", stack);
	if (region && !api_region_exists(req->api, region)) {
		_cleanup_free_ char *list = api_region_list(req->api);
		return error_set(err, -EINVAL, "region '%s' is unknown: use one of %s", region, list);
	}

	struct app a = { .internal_routing = internal_routing };
	if (space_ref) {
		r = api_space_load(req, space_ref, false, &a.space, err);
		if (r >= 0)
			r = api_space_check_create_apps(req, &a.space, err);
		if (r < 0)
			return r;
		if (team_ref) {
			struct team t;
			r = api_team_load(req, team_ref, false, &t, err);
			if (r < 0)
				return r;
			if (!streq(t.id, a.space.team.id))
				return error_set(err, -EINVAL, "space '%s' belongs to team '%s', not '%s'", a.space.name,
						 a.space.team.name, t.name);
		}
	} else {
		struct team t;
		r = team_ref ? api_team_load(req, team_ref, false, &t, err) : api_team_default(req, &t, err);
		if (r >= 0)
			r = api_space_default(req, &t, &a.space, err);
		if (r < 0)
			return r;
	}
	if (region && !streq(region, a.space.region))
		return error_set(err, -EINVAL, "region '%s' does not match space '%s', which is in %s", region, a.space.name,
				 a.space.region);
	if (streq(a.space.state, "deleting"))
		return error_set(err, -EINVAL, "space '%s' is %s", a.space.name, a.space.state);

	char now[TIME_ISO_MAX];
	time_now_iso(now);
	id_new(a.id);
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.stack, sizeof(a.stack), "%s", stack ? stack : "heroku-24");
	snprintf(a.created_at, sizeof(a.created_at), "%s", now);
	snprintf(a.updated_at, sizeof(a.updated_at), "%s", now);
	/* Each app's dynos run as a Unix user of their own, from 100000 up. */
	int64_t uid;
	r = store_query_int(req->store, "SELECT COALESCE(MAX(uid), 100000) + 1 FROM apps", SV_NONE, &uid, err);
	if (r < 0)
		return r;
	r = store_exec(req->store,
		       "INSERT INTO apps (id, name, space_id, team_id, owner_id, internal_routing, stack, uid, created_at,"
		       " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(a.id), SV_TEXT(a.name), SV_TEXT(a.space.id), SV_TEXT(a.space.team.id),
			       SV_TEXT(req->user.id), SV_BOOL(internal_routing), SV_TEXT(a.stack), SV_INT(uid), SV_TEXT(now),
			       SV_TEXT(now)),
		       err);
	if (r == -EEXIST)
		return error_set_id(err, -EEXIST, "name_conflict", "app name '%s' is already taken", name);
	if (r < 0)
		return r;
	r = api_release_create(req, &a, "Initial release", NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	api_set_action(req, "Create app %s in space %s", a.name, a.space.name);
	return api_reply(req, 201, app_json(req, &a));
}

/* Lists apps; filter_sql narrows the visible set with one text parameter (or NULL). */
static int app_list_where(struct api_request *req, const char *filter_sql, const char *filter_arg, struct error *err)
{
	_cleanup_free_ char *sql = xasprintf(
		"SELECT " APP_COLUMNS ", s.name, s.region, s.shield, t.id, t.name, s.state FROM apps a"
		" JOIN spaces s ON s.id = a.space_id JOIN teams t ON t.id = a.team_id"
		" WHERE (? OR a.team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)) %s",
		filter_sql ? filter_sql : "");
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = filter_sql ? store_query(req->store, sql,
					 SV_ARGS(SV_BOOL(req->user.is_admin), SV_TEXT(req->user.id), SV_TEXT(filter_arg)),
					 &rows, err)
			   : store_query(req->store, sql, SV_ARGS(SV_BOOL(req->user.is_admin), SV_TEXT(req->user.id)),
					 &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		struct app a = { 0 };
		app_from_row(rows, &a);
		snprintf(a.space.name, sizeof(a.space.name), "%s", store_rows_text(rows, 8));
		snprintf(a.space.region, sizeof(a.space.region), "%s", store_rows_text(rows, 9));
		a.space.shield = store_rows_int(rows, 10) != 0;
		snprintf(a.space.team.id, sizeof(a.space.team.id), "%s", store_rows_text(rows, 11));
		snprintf(a.space.team.name, sizeof(a.space.team.name), "%s", store_rows_text(rows, 12));
		snprintf(a.space.state, sizeof(a.space.state), "%s", store_rows_text(rows, 13));
		json_array_append_new(list, app_json(req, &a));
	}
	req->range_fields = "name,id,created_at,updated_at";
	api_reply(req, 200, list);
	return r;
}

static int app_list(struct api_request *req, struct error *err)
{
	return app_list_where(req, NULL, NULL, err);
}

static int team_app_list(struct api_request *req, struct error *err)
{
	struct team t;
	int r = api_team_load(req, req->params[0], false, &t, err);
	if (r < 0)
		return r;
	return app_list_where(req, "AND a.team_id = ?", t.id, err);
}

static int space_app_list(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	return app_list_where(req, "AND a.space_id = ?", s.id, err);
}

static int app_info(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, app_json(req, &a));
}

static int app_update(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *name;
	bool maintenance, maintenance_set;
	r = api_body_string(req, "name", false, &name, err);
	if (r >= 0)
		r = api_body_bool(req, "maintenance", &maintenance, &maintenance_set, err);
	if (r < 0)
		return r;
	if (json_object_get(req->body, "internal_routing"))
		return error_set(err, -EINVAL, "internal_routing is set when an app is created and cannot change");
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	if (name && !streq(name, a.name)) {
		r = validate_name("app", name, APP_NAME_MAX, err);
		if (r < 0)
			return r;
		r = store_exec(req->store, "UPDATE apps SET name = ?, updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(name), SV_TEXT(now), SV_TEXT(a.id)), err);
		if (r == -EEXIST)
			return error_set_id(err, -EEXIST, "name_conflict", "app name '%s' is already taken", name);
		if (r < 0)
			return r;
		api_set_action(req, "Rename app %s to %s", a.name, name);
		snprintf(a.name, sizeof(a.name), "%s", name);
	}
	if (maintenance_set && maintenance != a.maintenance) {
		r = store_exec(req->store, "UPDATE apps SET maintenance = ?, updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_BOOL(maintenance), SV_TEXT(now), SV_TEXT(a.id)), err);
		if (r < 0)
			return r;
		a.maintenance = maintenance;
		if (!name)
			api_set_action(req, "Turn maintenance %s for %s", maintenance ? "on" : "off", a.name);
	}
	return api_reply(req, 200, app_json(req, &a));
}

static int app_destroy(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *owner = NULL;
	r = store_query_text(req->store, "SELECT owner_id FROM apps WHERE id = ?", SV_ARGS(SV_TEXT(a.id)), &owner, err);
	if (r < 0)
		return r;
	if (a.space.team.role != TEAM_ROLE_ADMIN && !streq_ptr(owner, req->user.id))
		return error_set(err, -EACCES, "only the app's creator or an admin of team '%s' may destroy '%s'",
				 a.space.team.name, a.name);
	/* Its add-ons go with it (ON DELETE CASCADE), out of the other apps' config first. */
	r = api_addons_app_destroyed(req, a.id, err);
	if (r < 0)
		return r;
	json_t *gone = app_json(req, &a);
	/* Config, slugs, releases and formation go with the app (ON DELETE CASCADE). */
	r = store_exec(req->store, "DELETE FROM releases WHERE app_id = ?", SV_ARGS(SV_TEXT(a.id)), err);
	if (r >= 0)
		r = store_exec(req->store, "DELETE FROM apps WHERE id = ?", SV_ARGS(SV_TEXT(a.id)), err);
	if (r < 0) {
		json_decref(gone);
		return r;
	}
	api_set_action(req, "Destroy app %s", a.name);
	api_logs_forget_app(req, a.id);
	return api_reply(req, 200, gone);
}

/* Heroku answers 404 when an app has no pipeline; so do we, as cove has no pipelines yet. */
static int app_pipeline_couplings(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	return error_set(err, -ENOENT, "app '%s' is not in a pipeline", a.name);
}

static int app_collaborators(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store,
			"SELECT u.id, u.email, m.role, m.created_at, m.updated_at FROM team_members m"
			" JOIN users u ON u.id = m.user_id WHERE m.team_id = ? ORDER BY u.email",
			SV_ARGS(SV_TEXT(a.space.team.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		bool admin = streq(store_rows_text(rows, 2), "admin");
		json_t *perms = json_array();
		static const char *const all[] = { "view", "deploy", "operate", "manage" };
		for (size_t i = 0; i < ARRAY_SIZE(all); i++)
			if (admin || i < 3)
				json_array_append_new(perms, json_pack("{s:s}", "name", all[i]));
		json_array_append_new(list,
				      json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:o, s:s, s:s}", "id",
						store_rows_text(rows, 0), "app", "id", a.id, "name", a.name, "user", "id",
						store_rows_text(rows, 0), "email", store_rows_text(rows, 1), "role",
						store_rows_text(rows, 2), "permissions", perms, "created_at",
						store_rows_text(rows, 3), "updated_at", store_rows_text(rows, 4)));
	}
	req->range_fields = "id";
	api_reply(req, 200, list);
	return r;
}

const struct api_route api_app_routes[] = {
	{ "GET", "/apps", app_list, 0 },
	{ "POST", "/apps", app_create, 0 },
	{ "POST", "/teams/apps", app_create, 0 },
	{ "GET", "/users/~/apps", app_list, 0 },
	{ "GET", "/teams/:team/apps", team_app_list, 0 },
	{ "GET", "/spaces/:space/apps", space_app_list, 0 },
	{ "GET", "/apps/:app", app_info, 0 },
	{ "GET", "/teams/apps/:app", app_info, 0 },
	{ "PATCH", "/apps/:app", app_update, 0 },
	{ "PATCH", "/teams/apps/:app", app_update, 0 },
	{ "DELETE", "/apps/:app", app_destroy, 0 },
	{ "GET", "/apps/:app/pipeline-couplings", app_pipeline_couplings, 0 },
	{ "GET", "/apps/:app/collaborators", app_collaborators, 0 },
	{},
};
