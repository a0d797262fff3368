/* SPDX-License-Identifier: MIT */
#include "api/api-releases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-formation.h"
#include "api/api-logs.h"
#include "base/alloc.h"
#include "base/timeutil.h"

#define RELEASE_COLUMNS                                                                                         \
	"r.id, r.version, r.description, r.user_id, r.user_email, r.slug_id, r.status, r.created_at, r.updated_at," \
	" (SELECT MAX(version) FROM releases c WHERE c.app_id = r.app_id AND c.status = 'succeeded')"

int api_config_load(struct api_request *req, const char *app_id, json_t **ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store, "SELECT key, value FROM config_vars WHERE app_id = ? ORDER BY key",
			    SV_ARGS(SV_TEXT(app_id)), &rows, err);
	if (r < 0)
		return r;
	json_t *config = json_object();
	while ((r = store_rows_next(rows, err)) > 0)
		json_object_set_new(config, store_rows_text(rows, 0), json_string(store_rows_text(rows, 1)));
	if (r < 0) {
		json_decref(config);
		return r;
	}
	*ret = config;
	return 0;
}

int api_release_create(struct api_request *req, const struct app *app, const char *description, const char *slug_id,
		       json_t *config, int64_t *ret_version, struct error *err)
{
	int64_t version;
	int r = store_query_int(req->store, "SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app_id = ?",
				SV_ARGS(SV_TEXT(app->id)), &version, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *current_slug = NULL;
	if (!slug_id) {
		r = store_query_text(req->store,
				     "SELECT slug_id FROM releases WHERE app_id = ? AND status = 'succeeded'"
				     " ORDER BY version DESC LIMIT 1",
				     SV_ARGS(SV_TEXT(app->id)), &current_slug, err);
		if (r < 0 && r != -ENOENT)
			return r;
		slug_id = current_slug;
	}
	json_t *snapshot = config;
	if (!snapshot) {
		r = api_config_load(req, app->id, &snapshot, err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *config_text = json_dumps(snapshot, JSON_COMPACT | JSON_SORT_KEYS);
	if (!config)
		json_decref(snapshot);

	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	time_now_iso(now);
	r = store_exec(req->store,
		       "INSERT INTO releases (id, app_id, version, description, user_id, user_email, slug_id, config, status,"
		       " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'succeeded', ?, ?)",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(app->id), SV_INT(version), SV_TEXT(description),
			       SV_TEXT(req->authenticated ? req->user.id : NULL), SV_TEXT(req->user.email), SV_TEXT(slug_id),
			       SV_TEXT(config_text), SV_TEXT(now), SV_TEXT(now)),
		       err);
	if (r < 0)
		return r;
	r = api_app_touch(req, app, err);
	if (r < 0)
		return r;
	api_log_action(req, app->id, "%s by %s", description, req->user.email);
	api_log_action(req, app->id, "Release v%lld created by %s", (long long)version, req->user.email);
	if (ret_version)
		*ret_version = version;
	return 0;
}

static json_t *release_json(const struct app *app, struct store_rows *rows)
{
	int64_t version = store_rows_int(rows, 1);
	const char *status = store_rows_text(rows, 6);
	bool current = !store_rows_is_null(rows, 9) && store_rows_int(rows, 9) == version;
	json_t *slug = store_rows_text(rows, 5) ? json_pack("{s:s}", "id", store_rows_text(rows, 5)) : json_null();
	return json_pack("{s:s, s:I, s:s, s:{s:o, s:s}, s:o, s:s, s:b, s:b, s:s, s:s, s:{s:s, s:s}, s:[], s:n}", "id",
			 store_rows_text(rows, 0), "version", (json_int_t)version, "description", store_rows_text(rows, 2),
			 "user", "id", api_string_or_null(store_rows_text(rows, 3)), "email", store_rows_text(rows, 4),
			 "slug", slug, "status", status, "current", current, "eligible_for_rollback",
			 streq(status, "succeeded"), "created_at", store_rows_text(rows, 7), "updated_at",
			 store_rows_text(rows, 8), "app", "id", app->id, "name", app->name, "addon_plan_names",
			 "output_stream_url");
}

/* Finds a release by id, version number or "vN". */
static int release_query(struct api_request *req, const struct app *app, const char *ref, struct store_rows **rows,
			 struct error *err)
{
	const char *num = ref[0] == 'v' ? ref + 1 : ref;
	char *end;
	long long version = strtoll(num, &end, 10);
	bool is_version = *num && !*end && version > 0;
	int r = api_query_row(req,
			      "SELECT " RELEASE_COLUMNS " FROM releases r WHERE r.app_id = ? AND (r.id = ? OR r.version = ?)",
			      SV_ARGS(SV_TEXT(app->id), SV_TEXT(ref), SV_INT(is_version ? version : -1)), rows, err);
	if (r == 0)
		return error_set(err, -ENOENT, "release '%s' of app '%s' not found", ref, app->name);
	return r < 0 ? r : 0;
}

static int release_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " RELEASE_COLUMNS " FROM releases r WHERE r.app_id = ? ORDER BY r.version",
			SV_ARGS(SV_TEXT(a.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, release_json(&a, rows));
	req->range_fields = "version,id,created_at";
	api_reply(req, 200, list);
	return r;
}

/* The app of :app and its release :release, as release_query() has it. */
static int release_load(struct api_request *req, struct app *ret_app, struct store_rows **rows, struct error *err)
{
	int r = api_app_load(req, req->params[0], ret_app, err);
	return r < 0 ? r : release_query(req, ret_app, req->params[1], rows, err);
}

static int release_info(struct api_request *req, struct error *err)
{
	struct app a;
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = release_load(req, &a, &rows, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, release_json(&a, rows));
}

static int release_config(struct api_request *req, struct error *err)
{
	struct app a;
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = release_load(req, &a, &rows, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = xstrdup(store_rows_text(rows, 0));
	_cleanup_free_ char *config = NULL;
	r = store_query_text(req->store, "SELECT config FROM releases WHERE id = ?", SV_ARGS(SV_TEXT(id)), &config, err);
	if (r < 0)
		return r;
	json_t *j = json_loads(config ? config : "{}", 0, NULL);
	return api_reply(req, 200, j ? j : json_object());
}

/* Replaces the app's config vars with a release's snapshot. */
static int config_restore(struct api_request *req, const struct app *app, json_t *config, struct error *err)
{
	int r = store_exec(req->store, "DELETE FROM config_vars WHERE app_id = ?", SV_ARGS(SV_TEXT(app->id)), err);
	const char *key;
	json_t *value;
	json_object_foreach(config, key, value)
	{
		if (r < 0)
			break;
		if (!json_is_string(value))
			continue;
		r = store_exec(req->store, "INSERT INTO config_vars (app_id, key, value) VALUES (?, ?, ?)",
			       SV_ARGS(SV_TEXT(app->id), SV_TEXT(key), SV_TEXT(json_string_value(value))), err);
	}
	return r;
}

/*
 * POST /apps/:app/releases: {"release": ID-or-version} rolls back to that release;
 * {"slug": ID, "description": ...} releases a slug with the current config.
 */
static int release_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *target, *slug, *description;
	r = api_body_ref(req, "release", false, &target, err);
	if (r >= 0)
		r = api_body_ref(req, "slug", false, &slug, err);
	if (r >= 0)
		r = api_body_string(req, "description", false, &description, err);
	if (r < 0)
		return r;
	if (!!target == !!slug)
		return error_set(err, -EINVAL, "give either 'release' (to roll back) or 'slug' (to release a slug)");
	if (description && strlen(description) > 1024)
		return error_set(err, -EINVAL, "description is too long: at most 1024 characters");

	int64_t version;
	if (target) {
		_cleanup_rows_ struct store_rows *rows = NULL;
		r = release_query(req, &a, target, &rows, err);
		if (r < 0)
			return r;
		if (!streq(store_rows_text(rows, 6), "succeeded"))
			return error_set(err, -EINVAL, "release v%lld of '%s' did not succeed and cannot be rolled back to",
					 (long long)store_rows_int(rows, 1), a.name);
		int64_t target_version = store_rows_int(rows, 1);
		_cleanup_free_ char *target_id = xstrdup(store_rows_text(rows, 0));
		_cleanup_free_ char *target_slug = store_rows_text(rows, 5) ? xstrdup(store_rows_text(rows, 5)) : NULL;
		_cleanup_free_ char *config_text = NULL;
		r = store_query_text(req->store, "SELECT config FROM releases WHERE id = ?", SV_ARGS(SV_TEXT(target_id)),
				     &config_text, err);
		if (r < 0)
			return r;
		json_t *config = json_loads(config_text ? config_text : "{}", 0, NULL);
		if (!config)
			return error_set(err, -EIO, "release v%lld of '%s' has a damaged config", (long long)target_version,
					 a.name);
		r = config_restore(req, &a, config, err);
		if (r >= 0) {
			_cleanup_free_ char *desc = xasprintf("Rollback to v%lld", (long long)target_version);
			r = api_release_create(req, &a, desc, target_slug, config, &version, err);
		}
		json_decref(config);
		if (r < 0)
			return r;
		/* A rollback to a release without a slug keeps no slug, even if a later one had one. */
		if (!target_slug)
			r = store_exec(req->store, "UPDATE releases SET slug_id = NULL WHERE app_id = ? AND version = ?",
				       SV_ARGS(SV_TEXT(a.id), SV_INT(version)), err);
		else
			r = api_formation_sync(req, &a, target_slug, err);
		if (r < 0)
			return r;
		api_set_action(req, "Rollback %s to v%lld", a.name, (long long)target_version);
	} else {
		_cleanup_free_ char *slug_id = NULL;
		r = store_query_text(req->store, "SELECT id FROM slugs WHERE id = ? AND app_id = ?",
				     SV_ARGS(SV_TEXT(slug), SV_TEXT(a.id)), &slug_id, err);
		if (r == -ENOENT)
			return error_set(err, -ENOENT, "slug '%s' of app '%s' not found", slug, a.name);
		if (r < 0)
			return r;
		_cleanup_free_ char *desc = description ? xstrdup(description) : xasprintf("Deploy %.8s", slug_id);
		r = api_release_create(req, &a, desc, slug_id, NULL, &version, err);
		if (r < 0)
			return r;
		r = api_formation_sync(req, &a, slug_id, err);
		if (r < 0)
			return r;
		api_set_action(req, "Release slug %s to %s", slug_id, a.name);
	}

	_cleanup_rows_ struct store_rows *rows = NULL;
	char vstr[32];
	snprintf(vstr, sizeof(vstr), "%lld", (long long)version);
	r = release_query(req, &a, vstr, &rows, err);
	if (r < 0)
		return r;
	return api_reply(req, 201, release_json(&a, rows));
}

const struct api_route api_release_routes[] = {
	{ "GET", "/apps/:app/releases", release_list, 0 },
	{ "POST", "/apps/:app/releases", release_create, 0 },
	{ "GET", "/apps/:app/releases/:release", release_info, 0 },
	{ "GET", "/apps/:app/releases/:release/config-vars", release_config, 0 },
	{},
};
