/* SPDX-License-Identifier: MIT */
/*
 * Builds and buildpacks. A build is made by `git push`: the push's receive hook (src/build)
 * registers it, runs it, and reports its end here, which releases its slug in the same
 * transaction. Users list builds, read their output, and choose the app's buildpacks.
 *
 *   GET   /apps/:app/builds                        range: created_at, id
 *   GET   /apps/:app/builds/:build
 *   GET   /apps/:app/builds/:build/output          text/plain, what the pusher saw
 *   POST  /apps/:app/builds                        the receive hook of a push only
 *   PATCH /apps/:app/builds/:build                 the receive hook of its push only
 *   GET   /apps/:app/buildpack-installations
 *   PUT   /apps/:app/buildpack-installations       {"updates": [{"buildpack": URL}, ...]}
 *
 * The hook proves it is one by the push id in `Cove-Push-Id`: the git server made it for
 * that push and handed it to the hook alone; it stops working when the push ends.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "api/api-apps.h"
#include "api/api-formation.h"
#include "api/api-git.h"
#include "api/api-releases.h"
#include "api/api-runs.h"
#include "base/alloc.h"
#include "base/dyno-size.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "build/build-buildpack.h"

#define BUILDPACKS_MAX 8
#define BUILD_COLUMNS                                                                                                 \
	"b.id, b.status, b.source_version, b.source_description, b.buildpacks, b.stack, b.slug_id, b.release_id,"     \
	" b.user_id, b.user_email, b.created_at, b.updated_at, (SELECT version FROM releases r WHERE r.id = b.release_id)"

/* {"url", "name"}: shipped buildpacks are named "cove/<name>" however they were given. */
static json_t *buildpack_json(const char *url)
{
	const char *slash = strchr(url, '/');
	bool shipped = url[0] != '/' && !strstr(url, "://");
	_cleanup_free_ char *name = shipped ? xasprintf("cove/%s", slash ? slash + 1 : url) : xstrdup(url);
	return json_pack("{s:s, s:s}", "url", url, "name", name);
}

static json_t *build_json(struct api_request *req, const struct app *app, struct store_rows *rows)
{
	json_t *urls = json_loads(store_rows_text(rows, 4), 0, NULL);
	json_t *buildpacks = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(urls, i, u) if (json_is_string(u)) json_array_append_new(buildpacks, buildpack_json(json_string_value(u)));
	json_decref(urls);
	_cleanup_free_ char *output = xasprintf("%s/apps/%s/builds/%s/output", api_request_url(req), app->id,
						store_rows_text(rows, 0));
	json_t *slug = store_rows_text(rows, 6) ? json_pack("{s:s}", "id", store_rows_text(rows, 6)) : json_null();
	json_t *release = store_rows_text(rows, 7)
				  ? json_pack("{s:s, s:I}", "id", store_rows_text(rows, 7), "version",
					      (json_int_t)store_rows_int(rows, 12))
				  : json_null();
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:{s:n, s:n, s:o, s:o}, s:o, s:o, s:s, s:s, s:{s:o, s:s}, s:s,"
			 " s:s}",
			 "id", store_rows_text(rows, 0), "status", store_rows_text(rows, 1), "app", "id", app->id, "name",
			 app->name, "buildpacks", buildpacks, "source_blob", "checksum", "url", "version",
			 api_string_or_null(store_rows_text(rows, 2)), "version_description",
			 api_string_or_null(store_rows_text(rows, 3)), "slug", slug, "release", release,
			 "output_stream_url", output, "stack", store_rows_text(rows, 5), "user", "id",
			 api_string_or_null(store_rows_text(rows, 8)), "email", store_rows_text(rows, 9), "created_at",
			 store_rows_text(rows, 10), "updated_at", store_rows_text(rows, 11));
}

static int build_query(struct api_request *req, const struct app *app, const char *id, struct store_rows **rows,
		       struct error *err)
{
	int r = api_query_row(req, "SELECT " BUILD_COLUMNS " FROM builds b WHERE b.app_id = ? AND b.id = ?",
			      SV_ARGS(SV_TEXT(app->id), SV_TEXT(id)), rows, err);
	if (r == 0)
		return error_set(err, -ENOENT, "build '%s' of app '%s' not found", id, app->name);
	return r < 0 ? r : 0;
}

static int build_reply(struct api_request *req, const struct app *app, const char *id, int status, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = build_query(req, app, id, &rows, err);
	if (r < 0)
		return r;
	return api_reply(req, status, build_json(req, app, rows));
}

static int build_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " BUILD_COLUMNS " FROM builds b WHERE b.app_id = ? ORDER BY b.created_at, b.rowid",
			SV_ARGS(SV_TEXT(a.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, build_json(req, &a, rows));
	req->range_fields = "created_at,id";
	api_reply(req, 200, list);
	return r;
}

static int build_info(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	return build_reply(req, &a, req->params[1], 200, err);
}

static int build_output(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = build_query(req, &a, req->params[1], &rows, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/builds/%s.log", api_get_config(req->api)->data_dir, store_rows_text(rows, 0));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	req->file_fd = fd;
	req->content_type = "text/plain; charset=utf-8";
	return 0;
}

/* The app of :app, and the push of the calling receive hook, which must be an open push to it. */
static int push_load(struct api_request *req, struct app *app, const char **ret, struct error *err)
{
	int r = api_app_load(req, req->params[0], app, err);
	if (r < 0)
		return r;
	const char *push_id = api_header(req, "Cove-Push-Id");
	if (!push_id || !api_git_push_active(push_id, app->id))
		return error_set(err, -EOPNOTSUPP,
				 "builds of '%s' come from git: push to %s/%s.git (builds from a source URL are not "
				 "supported)",
				 app->name, api_git_url(req->api), app->name);
	*ret = push_id;
	return 0;
}

/* The app's buildpacks as a JSON list of URLs, in order. */
static int buildpacks_load(struct api_request *req, const struct app *app, json_t **ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store, "SELECT url FROM buildpack_installations WHERE app_id = ? ORDER BY ordinal",
			    SV_ARGS(SV_TEXT(app->id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, json_string(store_rows_text(rows, 0)));
	if (r < 0) {
		json_decref(list);
		return r;
	}
	*ret = list;
	return 0;
}

/* POST /apps/:app/builds {"source_blob": {"version": SHA, "version_description": ...}} */
static int build_create(struct api_request *req, struct error *err)
{
	struct app a;
	const char *push_id;
	int r = push_load(req, &a, &push_id, err);
	if (r < 0)
		return r;
	json_t *blob = req->body ? json_object_get(req->body, "source_blob") : NULL;
	const char *version = NULL, *description = NULL;
	json_error_t jerr;
	if (!json_is_object(blob) ||
	    json_unpack_ex(blob, &jerr, 0, "{s:s, s?:s}", "version", &version, "version_description", &description) < 0)
		return error_set(err, -EINVAL, "'source_blob' must be {\"version\": COMMIT, \"version_description\": ...}");
	if (strlen(version) > 64 || (description && strlen(description) > 1024))
		return error_set(err, -EINVAL, "'source_blob.version' or its description is too long");
	json_t *buildpacks;
	r = buildpacks_load(req, &a, &buildpacks, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *buildpacks_text = json_dumps(buildpacks, JSON_COMPACT);
	json_decref(buildpacks);
	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	time_now_iso(now);
	r = store_exec(req->store,
		       "INSERT INTO builds (id, app_id, status, source_version, source_description, buildpacks, stack,"
		       " user_id, user_email, push_id, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(a.id), SV_TEXT(version), SV_TEXT(description), SV_TEXT(buildpacks_text),
			       SV_TEXT(a.stack), SV_TEXT(req->user.id), SV_TEXT(req->user.email), SV_TEXT(push_id),
			       SV_TEXT(now), SV_TEXT(now)),
		       err);
	if (r < 0)
		return r;
	api_set_action(req, "Build %.8s of %s", version, a.name);
	return build_reply(req, &a, id, 201, err);
}

/* Applies app.json's formation to the process types this release brought. */
static int manifest_formation(struct api_request *req, const struct app *app, json_t *formation, json_t *before,
			      struct error *err)
{
	size_t i;
	json_t *f;
	json_array_foreach(formation, i, f)
	{
		const char *type = json_string_value(json_object_get(f, "type"));
		json_t *q = json_object_get(f, "quantity");
		const char *size_name = json_string_value(json_object_get(f, "size"));
		if (!type || json_object_get(before, type))
			continue;
		const struct dyno_size *size = size_name ? dyno_size_find(size_name) : NULL;
		if (size_name && !size)
			return error_set(err, -EINVAL, "app.json: dyno size '%s' of '%s' is unknown: use private-xs, "
					 "private-s, private-m or private-l", size_name, type);
		char now[TIME_ISO_MAX];
		time_now_iso(now);
		int r = store_exec(req->store,
				   "UPDATE formations SET quantity = COALESCE(?, quantity), size = COALESCE(?, size),"
				   " updated_at = ? WHERE app_id = ? AND type = ?",
				   SV_ARGS(json_is_integer(q) ? SV_INT(json_integer_value(q)) : SV_NULL,
					   SV_TEXT(size ? size->name : NULL), SV_TEXT(now), SV_TEXT(app->id), SV_TEXT(type)),
				   err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The release of a successful build: "Deploy <commit>", its slug, the config of now. */
static int build_release(struct api_request *req, const struct app *app, const char *build_id, const char *slug_id,
			 bool release_ok, bool release_phase, json_t *formation, json_t **ret_phase, struct error *err)
{
	_cleanup_free_ char *version = NULL;
	int r = store_query_text(req->store, "SELECT source_version FROM builds WHERE id = ?", SV_ARGS(SV_TEXT(build_id)),
				 &version, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *desc = xasprintf("Deploy %.7s", version ? version : slug_id);
	json_t *before = json_object();
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT type FROM formations WHERE app_id = ?", SV_ARGS(SV_TEXT(app->id)), &rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0)
		json_object_set_new(before, store_rows_text(rows, 0), json_true());
	int64_t release_version;
	if (r >= 0)
		r = api_release_create(req, app, desc, slug_id, NULL, &release_version, err);
	if (r >= 0 && release_ok)
		r = api_formation_sync(req, app, slug_id, err);
	if (r >= 0 && release_ok && formation)
		r = manifest_formation(req, app, formation, before, err);
	json_decref(before);
	if (r >= 0 && !release_ok)
		r = store_exec(req->store, "UPDATE releases SET status = 'failed' WHERE app_id = ? AND version = ?",
			       SV_ARGS(SV_TEXT(app->id), SV_INT(release_version)), err);
	/* The release phase: pending until its command, run in the app's space, succeeds. */
	if (r >= 0 && release_ok && release_phase)
		r = api_release_phase_start(req, app, release_version, slug_id, ret_phase, err);
	char now[TIME_ISO_MAX];
	if (r >= 0)
		r = store_exec(req->store,
			       "UPDATE builds SET release_id = (SELECT id FROM releases WHERE app_id = ? AND version = ?),"
			       " updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(app->id), SV_INT(release_version), SV_TEXT(time_now_iso(now)), SV_TEXT(build_id)),
			       err);
	return r;
}

/*
 * PATCH /apps/:app/builds/:build: the hook's report. {"status": "failed"}, or
 * {"status": "succeeded", "slug": ID, "release_status": "succeeded"|"failed",
 *  "buildpacks": [URL...], "formation": [{type, quantity, size}...]} which releases the slug.
 */
static int build_update(struct api_request *req, struct error *err)
{
	struct app a;
	const char *push_id;
	int r = push_load(req, &a, &push_id, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = build_query(req, &a, req->params[1], &rows, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = xstrdup(store_rows_text(rows, 0));
	if (!streq(store_rows_text(rows, 1), "pending"))
		return error_set(err, -EINVAL, "build '%s' of '%s' has ended already", id, a.name);
	_cleanup_free_ char *build_push = NULL;
	r = store_query_text(req->store, "SELECT push_id FROM builds WHERE id = ?", SV_ARGS(SV_TEXT(id)), &build_push, err);
	if (r < 0)
		return r;
	if (!streq_ptr(build_push, push_id))
		return error_set(err, -EACCES, "build '%s' belongs to another push", id);

	const char *status, *slug, *release_status;
	r = api_body_string(req, "status", true, &status, err);
	if (r >= 0)
		r = api_body_string(req, "slug", false, &slug, err);
	if (r >= 0)
		r = api_body_string(req, "release_status", false, &release_status, err);
	if (r < 0)
		return r;
	if (!streq(status, "succeeded") && !streq(status, "failed"))
		return error_set(err, -EINVAL, "'status' must be succeeded or failed");
	if (streq(status, "succeeded") && !slug)
		return error_set(err, -EINVAL, "a build that succeeded has a 'slug'");
	if (release_status && !streq(release_status, "succeeded") && !streq(release_status, "failed") &&
	    !streq(release_status, "pending"))
		return error_set(err, -EINVAL, "'release_status' must be pending, succeeded or failed");
	json_t *buildpacks = json_object_get(req->body, "buildpacks");
	json_t *formation = json_object_get(req->body, "formation");
	if ((buildpacks && !json_is_array(buildpacks)) || (formation && !json_is_array(formation)))
		return error_set(err, -EINVAL, "'buildpacks' and 'formation' must be lists");
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	if (buildpacks && json_array_size(buildpacks) <= BUILDPACKS_MAX) {
		_cleanup_free_ char *text = json_dumps(buildpacks, JSON_COMPACT);
		r = store_exec(req->store, "UPDATE builds SET buildpacks = ? WHERE id = ?", SV_ARGS(SV_TEXT(text), SV_TEXT(id)),
			       err);
		if (r < 0)
			return r;
	}
	if (slug) {
		_cleanup_free_ char *found = NULL;
		r = store_query_text(req->store, "SELECT id FROM slugs WHERE id = ? AND app_id = ? AND checksum IS NOT NULL",
				     SV_ARGS(SV_TEXT(slug), SV_TEXT(a.id)), &found, err);
		if (r == -ENOENT)
			return error_set(err, -EINVAL, "slug '%s' of '%s' does not exist or has no tarball", slug, a.name);
		if (r < 0)
			return r;
		r = store_exec(req->store, "UPDATE builds SET slug_id = ? WHERE id = ?", SV_ARGS(SV_TEXT(slug), SV_TEXT(id)),
			       err);
		if (r < 0)
			return r;
	}
	r = store_exec(req->store, "UPDATE builds SET status = ?, updated_at = ? WHERE id = ?",
		       SV_ARGS(SV_TEXT(status), SV_TEXT(now), SV_TEXT(id)), err);
	if (r < 0)
		return r;
	json_t *phase = NULL;
	if (streq(status, "succeeded")) {
		r = build_release(req, &a, id, slug, !release_status || !streq(release_status, "failed"),
				  release_status && streq(release_status, "pending"), formation, &phase, err);
		if (r < 0)
			return r;
	}
	api_set_action(req, "Build %s of %s %s", id, a.name, status);
	r = build_reply(req, &a, id, 200, err);
	/* For the builder: the release phase's dyno, to show its output in the push. */
	if (r >= 0 && phase)
		json_object_set_new(req->response, "release_phase", phase);
	else
		json_decref(phase);
	return r;
}

/* ---- buildpack installations ----------------------------------------------------------- */

static int installations_reply(struct api_request *req, const struct app *app, struct error *err)
{
	json_t *urls;
	int r = buildpacks_load(req, app, &urls, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(urls, i, u)
		json_array_append_new(list, json_pack("{s:I, s:o}", "ordinal", (json_int_t)i, "buildpack",
						      buildpack_json(json_string_value(u))));
	json_decref(urls);
	return api_reply(req, 200, list);
}

static int installations_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	return installations_reply(req, &a, err);
}

static int installations_update(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *updates = req->body ? json_object_get(req->body, "updates") : NULL;
	if (!json_is_array(updates))
		return error_set(err, -EINVAL, "'updates' must be a list of {\"buildpack\": URL-or-name}");
	if (json_array_size(updates) > BUILDPACKS_MAX)
		return error_set(err, -EINVAL, "an app has at most %d buildpacks", BUILDPACKS_MAX);
	r = store_exec(req->store, "DELETE FROM buildpack_installations WHERE app_id = ?", SV_ARGS(SV_TEXT(a.id)), err);
	if (r < 0)
		return r;
	const char *shipped = api_get_config(req->api)->buildpacks_dir;
	size_t i;
	json_t *u;
	_cleanup_strbuf_ struct strbuf names = STRBUF_INIT;
	json_array_foreach(updates, i, u)
	{
		json_t *b = json_object_get(u, "buildpack");
		if (json_is_object(b))
			b = json_object_get(b, "url");
		if (!json_is_string(b))
			return error_set(err, -EINVAL, "update %zu needs a 'buildpack'", i + 1);
		struct buildpack_ref ref;
		r = buildpack_ref_parse(json_string_value(b), shipped, &ref, err);
		if (r < 0)
			return r;
		r = store_exec(req->store, "INSERT INTO buildpack_installations (app_id, ordinal, url) VALUES (?, ?, ?)",
			       SV_ARGS(SV_TEXT(a.id), SV_INT((int64_t)i), SV_TEXT(json_string_value(b))), err);
		if (r == -EEXIST)
			return error_set(err, -EINVAL, "buildpack '%s' is given twice", json_string_value(b));
		if (r < 0)
			return r;
		strbuf_addf(&names, "%s%s", names.len ? ", " : "", json_string_value(b));
	}
	r = api_app_touch(req, &a, err);
	if (r < 0)
		return r;
	api_set_action(req, "Set the buildpacks of %s to %s", a.name, names.len ? names.buf : "none");
	return installations_reply(req, &a, err);
}

const struct api_route api_build_routes[] = {
	{ "GET", "/apps/:app/builds", build_list, 0 },
	{ "POST", "/apps/:app/builds", build_create, 0 },
	{ "GET", "/apps/:app/builds/:build", build_info, 0 },
	{ "PATCH", "/apps/:app/builds/:build", build_update, 0 },
	{ "GET", "/apps/:app/builds/:build/output", build_output, 0 },
	{ "GET", "/apps/:app/buildpack-installations", installations_list, 0 },
	{ "PUT", "/apps/:app/buildpack-installations", installations_update, 0 },
	{},
};
