/* SPDX-License-Identifier: MIT */
/*
 * Add-on attachments, as the Platform API has them:
 *
 *   GET    /apps/:app/addon-attachments[/:attachment], /addons/:addon/addon-attachments,
 *          /addon-attachments[/:attachment]
 *   POST   /addon-attachments         {addon, app, name, confirm}
 *   DELETE /addon-attachments/:attachment
 *
 * The config var of an attachment is owned by it: config-vars refuses to change it
 * (api_addons_config_check).
 */
#include "api/api-addon-attachments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-apps.h"
#include "api/api-releases.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/strbuf.h"
#include "base/timeutil.h"

#define ATTACHMENT_COLUMNS "t.id, t.addon_id, t.app_id, t.name, t.created_at, t.updated_at, (SELECT name FROM apps WHERE id = t.app_id)"

static int attachment_from_row(struct store_rows *rows, void *item, struct error *err)
{
	(void)err;
	struct api_attachment *ret = item;
	snprintf(ret->id, sizeof(ret->id), "%s", store_rows_text(rows, 0));
	snprintf(ret->addon_id, sizeof(ret->addon_id), "%s", store_rows_text(rows, 1));
	snprintf(ret->app_id, sizeof(ret->app_id), "%s", store_rows_text(rows, 2));
	snprintf(ret->name, sizeof(ret->name), "%s", store_rows_text(rows, 3));
	snprintf(ret->created_at, sizeof(ret->created_at), "%s", store_rows_text(rows, 4));
	snprintf(ret->updated_at, sizeof(ret->updated_at), "%s", store_rows_text(rows, 5));
	snprintf(ret->app_name, sizeof(ret->app_name), "%s", store_rows_text(rows, 6));
	return 0;
}

int api_attachments_query(struct api_request *req, const char *where, const struct store_val *args, size_t n_args,
			  struct api_attachment **ret, size_t *ret_n, struct error *err)
{
	_cleanup_free_ char *sql =
		xasprintf("SELECT " ATTACHMENT_COLUMNS " FROM addon_attachments t WHERE %s ORDER BY t.created_at, t.name", where);
	void *list;
	int r = api_addon_rows_collect(req, sql, args, n_args, sizeof(**ret), attachment_from_row, &list, ret_n, err);
	*ret = list;
	return r;
}

int api_attachments_of_addon(struct api_request *req, const char *addon_id, struct api_attachment **ret,
			     size_t *ret_n, struct error *err)
{
	return api_attachments_query(req, "t.addon_id = ?", SV_ARGS(SV_TEXT(addon_id)), ret, ret_n, err);
}

size_t api_attachments_visible(struct api_request *req, struct api_attachment *list, size_t n,
			       const struct addon_service *service)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct app a;
		struct api_addon d;
		struct error e = { 0 };
		if (api_app_load(req, list[i].app_id, &a, &e) < 0)
			continue;
		if (service && (api_addon_load_by(req, list[i].addon_id, &d, &e) < 0 || d.plan->service != service))
			continue;
		list[kept++] = list[i];
	}
	return kept;
}

json_t *api_attachment_json(const struct api_attachment *t, const struct api_addon *d)
{
	_cleanup_free_ char *var = xasprintf("%s_URL", t->name);
	return json_pack("{s:{s:s, s:s, s:o, s:o}, s:o, s:s, s:s, s:s, s:n, s:s, s:n, s:n, s:[s]}", "addon", "id", d->id,
			 "name", d->name, "app", api_ref_json(d->app_id, d->app_name), "plan",
			 api_ref_json(d->plan->id, d->plan->name), "app", api_ref_json(t->app_id, t->app_name), "created_at",
			 t->created_at, "id", t->id, "name", t->name, "namespace", "updated_at", t->updated_at, "web_url",
			 "log_input_url", "config_vars", var);
}

int api_attachments_reply(struct api_request *req, const struct api_attachment *list, size_t n, struct error *err)
{
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		struct api_addon d;
		int r = api_addon_load_by(req, list[i].addon_id, &d, err);
		if (r < 0) {
			json_decref(out);
			return r;
		}
		json_array_append_new(out, api_attachment_json(&list[i], &d));
	}
	req->range_fields = "name,id";
	return api_reply(req, 200, out);
}

int api_attachment_config(struct api_request *req, const char *app_id, const char *name, const char *url,
			  const char *description, struct error *err)
{
	_cleanup_free_ char *var = xasprintf("%s_URL", name);
	int r;
	if (url)
		r = store_exec(req->store,
			       "INSERT INTO config_vars (app_id, key, value) VALUES (?, ?, ?)"
			       " ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value",
			       SV_ARGS(SV_TEXT(app_id), SV_TEXT(var), SV_TEXT(url)), err);
	else
		r = store_exec(req->store, "DELETE FROM config_vars WHERE app_id = ? AND key = ?",
			       SV_ARGS(SV_TEXT(app_id), SV_TEXT(var)), err);
	if (r < 0)
		return r;
	struct app a = { 0 };
	snprintf(a.id, sizeof(a.id), "%s", app_id);
	r = api_release_create(req, &a, description, NULL, NULL, NULL, err);
	if (r >= 0)
		req->changes_desired = true;
	return r;
}

int api_attachment_attach(struct api_request *req, const struct api_addon *d, const char *app_id, const char *name,
			  struct error *err)
{
	char url[256];
	api_addon_url(d, url, sizeof(url));
	_cleanup_free_ char *description = xasprintf("Attach %s (@ref:%s) resource", name, d->name);
	return api_attachment_config(req, app_id, name, url, description, err);
}

int api_attachment_remove(struct api_request *req, const struct api_addon *d, const struct api_attachment *t,
			  struct error *err)
{
	int r = store_exec(req->store, "DELETE FROM addon_attachments WHERE id = ?", SV_ARGS(SV_TEXT(t->id)), err);
	if (r < 0 || !streq(d->state, "provisioned"))
		return r;
	_cleanup_free_ char *description = xasprintf("Detach %s (@ref:%s) resource", t->name, d->name);
	return api_attachment_config(req, t->app_id, t->name, NULL, description, err);
}

/* 1 when the query (app id, value) counts a row, else 0. */
static int app_has(struct api_request *req, const char *sql, const struct app *a, const char *value, struct error *err)
{
	int64_t n;
	int r = store_query_int(req->store, sql, SV_ARGS(SV_TEXT(a->id), SV_TEXT(value)), &n, err);
	return r < 0 ? r : n > 0;
}

/* A name the user chose: free on the app, as attachment and as config var. */
static int attachment_name_free(struct api_request *req, const struct app *a, const char *name, struct error *err)
{
	int r = addon_attachment_name_check(name, err);
	if (r >= 0)
		r = app_has(req, "SELECT COUNT(*) FROM addon_attachments WHERE app_id = ? AND name = ?", a, name, err);
	if (r != 0)
		return r < 0 ? r : error_set(err, -EINVAL, "attachment name '%s' is already used on app '%s'", name, a->name);
	_cleanup_free_ char *var = xasprintf("%s_URL", name);
	r = app_has(req, "SELECT COUNT(*) FROM config_vars WHERE app_id = ? AND key = ?", a, var, err);
	if (r != 0)
		return r < 0 ? r : error_set(err, -EINVAL, "config var '%s' is already set on app '%s': unset it first", var, a->name);
	return 0;
}

/* A name of the service's the app does not use yet. */
static int attachment_name_pick(struct api_request *req, const struct api_addon *d, const struct app *a, char *ret,
				size_t size, struct error *err)
{
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	int r = api_attachments_query(req, "t.app_id = ?", SV_ARGS(SV_TEXT(a->id)), &list, &n, err);
	if (r < 0)
		return r;
	_cleanup_free_ const char **taken = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		taken[i] = list[i].name;
	unsigned start;
	crypto_random_bytes(&start, sizeof(start));
	return addon_attachment_name(d->plan->service, taken, n, start, ret, size, err);
}

int api_attachment_create(struct api_request *req, const struct api_addon *d, const struct app *a, const char *name,
			  struct api_attachment *ret, struct error *err)
{
	char chosen[API_NAME_MAX];
	int r = name ? attachment_name_free(req, a, name, err) : attachment_name_pick(req, d, a, chosen, sizeof(chosen), err);
	if (r < 0)
		return r;
	if (name)
		snprintf(chosen, sizeof(chosen), "%s", name);
	*ret = (struct api_attachment){ 0 };
	id_new(ret->id);
	snprintf(ret->addon_id, sizeof(ret->addon_id), "%s", d->id);
	snprintf(ret->app_id, sizeof(ret->app_id), "%s", a->id);
	snprintf(ret->app_name, sizeof(ret->app_name), "%s", a->name);
	snprintf(ret->name, sizeof(ret->name), "%s", chosen);
	time_now_iso(ret->created_at);
	memcpy(ret->updated_at, ret->created_at, sizeof(ret->updated_at));
	r = store_exec(req->store,
		       "INSERT INTO addon_attachments (id, addon_id, app_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(ret->id), SV_TEXT(d->id), SV_TEXT(a->id), SV_TEXT(chosen), SV_TEXT(ret->created_at),
			       SV_TEXT(ret->updated_at)),
		       err);
	if (r >= 0 && streq(d->state, "provisioned"))
		r = api_attachment_attach(req, d, a->id, chosen, err);
	return r;
}

/* ---- endpoints ------------------------------------------------------------------------- */

/* Replies with the attachments where (on t) holds for id. */
static int attachments_reply_where(struct api_request *req, const char *where, const char *id, struct error *err)
{
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	int r = api_attachments_query(req, where, SV_ARGS(SV_TEXT(id)), &list, &n, err);
	return r < 0 ? r : api_attachments_reply(req, list, n, err);
}

static int app_attachments_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	return r < 0 ? r : attachments_reply_where(req, "t.app_id = ?", a.id, err);
}

static int addon_attachments_list(struct api_request *req, struct error *err)
{
	struct api_addon d;
	int r = api_addon_load(req, req->params[0], &d, err);
	return r < 0 ? r : attachments_reply_where(req, "t.addon_id = ?", d.id, err);
}

static int attachments_list(struct api_request *req, struct error *err)
{
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	int r = api_attachments_query(req, "1 = 1", SV_NONE, &list, &n, err);
	return r < 0 ? r : api_attachments_reply(req, list, api_attachments_visible(req, list, n, NULL), err);
}

/*
 * An attachment the caller may see, by id; or, with app, by name on that app; and its add-on.
 */
static int attachment_load(struct api_request *req, const struct app *app, const char *ref,
			   struct api_attachment *ret, struct api_addon *ret_addon, struct error *err)
{
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	int r = app ? api_attachments_query(req, "t.app_id = ? AND (t.id = ? OR t.name = ?)",
					    SV_ARGS(SV_TEXT(app->id), SV_TEXT(ref), SV_TEXT(ref)), &list, &n, err)
		    : api_attachments_query(req, "t.id = ?", SV_ARGS(SV_TEXT(ref)), &list, &n, err);
	if (r < 0)
		return r;
	if (api_attachments_visible(req, list, n, NULL) == 0)
		return error_set(err, -ENOENT, "add-on attachment '%s' not found", ref);
	*ret = list[0];
	return api_addon_load_by(req, ret->addon_id, ret_addon, err);
}

static int app_attachment_info(struct api_request *req, struct error *err)
{
	struct app a;
	struct api_attachment t;
	struct api_addon d;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r >= 0)
		r = attachment_load(req, &a, req->params[1], &t, &d, err);
	return r < 0 ? r : api_reply(req, 200, api_attachment_json(&t, &d));
}

static int attachment_info(struct api_request *req, struct error *err)
{
	struct api_attachment t;
	struct api_addon d;
	int r = attachment_load(req, NULL, req->params[0], &t, &d, err);
	return r < 0 ? r : api_reply(req, 200, api_attachment_json(&t, &d));
}

static int attachment_create_route(struct api_request *req, struct error *err)
{
	const char *addon_ref, *app_ref, *name = NULL;
	if (!req->body)
		return error_set(err, -EINVAL, "addon and app are required");
	int r = api_body_ref(req, "addon", true, &addon_ref, err);
	if (r >= 0)
		r = api_body_ref(req, "app", true, &app_ref, err);
	if (r >= 0)
		r = api_body_string(req, "name", false, &name, err);
	struct app a;
	struct api_addon d;
	if (r >= 0)
		r = api_app_load(req, app_ref, &a, err);
	if (r >= 0)
		r = api_addon_load(req, addon_ref, &d, err);
	if (r < 0)
		return r;
	if (!streq(d.space_id, a.space.id))
		return error_set(err, -EINVAL, "add-on '%s' runs in another space than app '%s': only apps of its space reach it",
				 d.name, a.name);
	struct api_attachment t;
	r = api_attachment_create(req, &d, &a, name, &t, err);
	if (r < 0)
		return r;
	api_set_action(req, "Attach add-on %s to %s as %s", d.name, a.name, t.name);
	return api_reply(req, 201, api_attachment_json(&t, &d));
}

static int attachment_delete(struct api_request *req, struct error *err)
{
	struct api_attachment t;
	struct api_addon d;
	int r = attachment_load(req, NULL, req->params[0], &t, &d, err);
	if (r >= 0)
		r = api_attachment_remove(req, &d, &t, err);
	if (r < 0)
		return r;
	api_set_action(req, "Detach add-on %s from %s (%s)", d.name, t.app_name, t.name);
	return api_reply(req, 200, api_attachment_json(&t, &d));
}

const struct api_route api_addon_attachment_routes[] = {
	{ "GET", "/addons/:addon/addon-attachments", addon_attachments_list, 0 },
	{ "GET", "/apps/:app/addon-attachments", app_attachments_list, 0 },
	{ "GET", "/apps/:app/addon-attachments/:attachment", app_attachment_info, 0 },
	{ "GET", "/addon-attachments", attachments_list, 0 },
	{ "POST", "/addon-attachments", attachment_create_route, 0 },
	{ "GET", "/addon-attachments/:attachment", attachment_info, 0 },
	{ "DELETE", "/addon-attachments/:attachment", attachment_delete, 0 },
	{},
};

/* ---- for the other parts of the API ---------------------------------------------------- */

int api_addons_app_destroyed(struct api_request *req, const char *app_id, struct error *err)
{
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	int r = api_attachments_query(req, "t.app_id != ? AND t.addon_id IN (SELECT id FROM addons WHERE app_id = ?)",
				      SV_ARGS(SV_TEXT(app_id), SV_TEXT(app_id)), &list, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct api_addon d;
		r = api_addon_load_by(req, list[i].addon_id, &d, err);
		if (r >= 0)
			r = api_attachment_remove(req, &d, &list[i], err);
	}
	return r;
}

int api_addons_config_check(struct api_request *req, const char *app_id, json_t *keys, struct error *err)
{
	_cleanup_strbuf_ struct strbuf owned = STRBUF_INIT;
	const char *key;
	json_t *value;
	json_object_foreach(keys, key, value)
	{
		int64_t n;
		int r = store_query_int(req->store,
					"SELECT COUNT(*) FROM addon_attachments WHERE app_id = ? AND name || '_URL' = ?",
					SV_ARGS(SV_TEXT(app_id), SV_TEXT(key)), &n, err);
		if (r < 0)
			return r;
		if (n)
			strbuf_addf(&owned, "%s%s", owned.len ? ", " : "", key);
	}
	if (owned.len)
		return error_set(err, -EINVAL, "Cannot overwrite attachment values %s.", owned.buf);
	return 0;
}
