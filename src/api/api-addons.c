/* SPDX-License-Identifier: MIT */
/*
 * Add-ons as the Platform API has them (the catalog is api-addon-catalog.c, attachments
 * api-addon-attachments.c, the CLI's resolve actions api-addon-actions.c):
 *
 *   POST   /apps/:app/addons          {plan, attachment{name}, config, confirm, name}
 *   GET    /apps/:app/addons[/:addon], /addons[/:addon]
 *   PATCH  /apps/:app/addons/:addon   {plan}: another plan of its service (addons:upgrade)
 *   DELETE /apps/:app/addons/:addon   destroys it, with its data
 *   POST   /addons/:addon/actions/rotate-credentials    (cove's own) a new password
 *
 * An add-on is created `provisioning` with its address (from the space's data CIDR), its
 * Unix uid and its credentials; the agent starts its server and reports it up, and only then
 * (api_addons_report) do its attachments write their config vars, each change a release of
 * its app. A release restarts the app's dynos.
 */
#include "api/api-addons.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-addon-attachments.h"
#include "api/api-addon-catalog.h"
#include "api/api-apps.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "base/validate.h"

#define ADDON_DATA_FIRST_OFFSET 2 /* .1 of the data CIDR is the space's gateway on it */
#define ADDON_SPACE_FIRST_OFFSET 2 /* without a data CIDR: .2-.9 of the space's CIDR, which dynos leave free */
#define ADDON_SPACE_LAST_OFFSET 9

/* ---- add-ons --------------------------------------------------------------------------- */

#define ADDON_COLUMNS                                                                                                  \
	"d.id, d.name, d.app_id, d.space_id, d.plan_id, d.state, d.private_ip, d.port, d.username, d.password,"        \
	" d.database, d.created_at, d.updated_at, (SELECT name FROM apps WHERE id = d.app_id)"

int api_addon_rows_collect(struct api_request *req, const char *sql, const struct store_val *args, size_t n_args,
			   size_t size, api_addon_row_fn from_row, void **ret, size_t *ret_n, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	char *list = NULL;
	size_t n = 0;
	int r = store_query(req->store, sql, args, n_args, &rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0) {
		list = xrealloc(list, (n + 1) * size);
		memset(list + n * size, 0, size);
		r = from_row(rows, list + n * size, err);
		if (r >= 0)
			n++;
	}
	if (r < 0) {
		free(list);
		list = NULL;
		n = 0;
	}
	*ret = list;
	*ret_n = n;
	return r;
}

static int addon_from_row(struct store_rows *rows, void *item, struct error *err)
{
	struct api_addon *ret = item;
	snprintf(ret->id, sizeof(ret->id), "%s", store_rows_text(rows, 0));
	snprintf(ret->name, sizeof(ret->name), "%s", store_rows_text(rows, 1));
	snprintf(ret->app_id, sizeof(ret->app_id), "%s", store_rows_text(rows, 2));
	snprintf(ret->space_id, sizeof(ret->space_id), "%s", store_rows_text(rows, 3));
	int r = addon_plan_find(store_rows_text(rows, 4), NULL, &ret->plan, err);
	if (r < 0)
		return error_set(err, -EIO, "add-on '%s' has an unknown plan", ret->name);
	snprintf(ret->state, sizeof(ret->state), "%s", store_rows_text(rows, 5));
	snprintf(ret->private_ip, sizeof(ret->private_ip), "%s", store_rows_text(rows, 6));
	ret->port = (unsigned)store_rows_int(rows, 7);
	snprintf(ret->username, sizeof(ret->username), "%s", store_rows_text(rows, 8));
	snprintf(ret->password, sizeof(ret->password), "%s", store_rows_text(rows, 9));
	snprintf(ret->database, sizeof(ret->database), "%s", store_rows_text(rows, 10));
	snprintf(ret->created_at, sizeof(ret->created_at), "%s", store_rows_text(rows, 11));
	snprintf(ret->updated_at, sizeof(ret->updated_at), "%s", store_rows_text(rows, 12));
	snprintf(ret->app_name, sizeof(ret->app_name), "%s", store_rows_text(rows, 13));
	return 0;
}

/* Loads add-ons by a WHERE clause on "d" (addons); *ret is a new array of *ret_n. */
static int addons_query(struct api_request *req, const char *where, const struct store_val *args, size_t n_args,
			struct api_addon **ret, size_t *ret_n, struct error *err)
{
	_cleanup_free_ char *sql = xasprintf("SELECT " ADDON_COLUMNS " FROM addons d WHERE %s ORDER BY d.created_at, d.name", where);
	void *list;
	int r = api_addon_rows_collect(req, sql, args, n_args, sizeof(**ret), addon_from_row, &list, ret_n, err);
	*ret = list;
	return r;
}

/* The first add-on of a WHERE clause, or -ENOENT with the message what. */
static int addon_query_one(struct api_request *req, const char *where, const struct store_val *args, size_t n_args,
			   const char *what, struct api_addon *ret, struct error *err)
{
	_cleanup_free_ struct api_addon *list = NULL;
	size_t n;
	int r = addons_query(req, where, args, n_args, &list, &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return error_set(err, -ENOENT, "%s", what);
	*ret = list[0];
	return 0;
}

int api_addon_load_by(struct api_request *req, const char *ref, struct api_addon *ret, struct error *err)
{
	_cleanup_free_ char *what = xasprintf("add-on '%s' not found", ref);
	return addon_query_one(req, "d.id = ? OR d.name = ?", SV_ARGS(SV_TEXT(ref), SV_TEXT(ref)), what, ret, err);
}

int api_addon_load(struct api_request *req, const char *ref, struct api_addon *ret, struct error *err)
{
	int r = api_addon_load_by(req, ref, ret, err);
	if (r < 0)
		return r;
	struct app a;
	struct error e = { 0 };
	if (api_app_load(req, ret->app_id, &a, &e) >= 0)
		return 0;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT app_id FROM addon_attachments WHERE addon_id = ?", SV_ARGS(SV_TEXT(ret->id)),
			&rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0)
		if (api_app_load(req, store_rows_text(rows, 0), &a, &e) >= 0)
			return 0;
	return r < 0 ? r : error_set(err, -ENOENT, "add-on '%s' not found", ref);
}

int api_addon_of_app(struct api_request *req, const char *app_ref, const char *ref, struct app *ret_app,
		     struct api_addon *ret, struct error *err)
{
	int r = api_app_load(req, app_ref, ret_app, err);
	if (r < 0)
		return r;
	const char *id = ret_app->id;
	_cleanup_free_ char *what = xasprintf("add-on '%s' not found on app '%s'", ref, ret_app->name);
	return addon_query_one(req,
			       "(d.app_id = ? OR d.id IN (SELECT addon_id FROM addon_attachments WHERE app_id = ?))"
			       " AND (d.id = ? OR d.name = ? OR d.id IN (SELECT addon_id FROM addon_attachments"
			       "  WHERE app_id = ? AND (name = ? OR name || '_URL' = ?)))",
			       SV_ARGS(SV_TEXT(id), SV_TEXT(id), SV_TEXT(ref), SV_TEXT(ref), SV_TEXT(id), SV_TEXT(ref),
				       SV_TEXT(ref)),
			       what, ret, err);
}

void api_addon_url(const struct api_addon *d, char *ret, size_t size)
{
	if (d->plan->service->kind == ADDON_POSTGRESQL)
		snprintf(ret, size, "postgres://%s:%s@%s:%u/%s", d->username, d->password, d->private_ip, d->port,
			 d->database);
	else
		snprintf(ret, size, "redis://default:%s@%s:%u", d->password, d->private_ip, d->port);
}

/* The config vars the add-on's attachments own, on every app. */
static int addon_config_vars(struct api_request *req, const struct api_addon *d, json_t **ret, struct error *err)
{
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	int r = api_attachments_of_addon(req, d->id, &list, &n, err);
	if (r < 0)
		return r;
	*ret = json_array();
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *var = xasprintf("%s_URL", list[i].name);
		json_array_append_new(*ret, json_string(var));
	}
	return 0;
}

static int addon_json(struct api_request *req, const struct api_addon *d, json_t **ret, struct error *err)
{
	json_t *vars;
	int r = addon_config_vars(req, d, &vars, err);
	if (r < 0)
		return r;
	char plan[96];
	addon_plan_full_name(d->plan, plan, sizeof(plan));
	json_t *app = api_ref_json(d->app_id, d->app_name);
	json_t *billing = json_pack("{s:s, s:s, s:s}", "id", d->app_id, "name", d->app_name, "type", "app");
	*ret = json_pack("{s:[], s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:s, s:n, s:s, s:s, s:n, s:s, s:I}",
			 "actions", "addon_service", api_ref_json(d->plan->service->id, d->plan->service->name), "app", app,
			 "billing_entity", billing, "billed_price", api_addon_price_json(), "config_vars", vars, "created_at",
			 d->created_at, "id", d->id, "name", d->name, "plan", api_ref_json(d->plan->id, plan), "provider_id",
			 d->id, "provision_message", "state", d->state, "updated_at", d->updated_at, "web_url",
			 "private_ip", d->private_ip, "port", (json_int_t)d->port);
	return 0;
}

static int reply_addon(struct api_request *req, int status, const struct api_addon *d, struct error *err)
{
	json_t *j;
	int r = addon_json(req, d, &j, err);
	return r < 0 ? r : api_reply(req, status, j);
}

int api_addons_reply(struct api_request *req, const struct api_addon *list, size_t n, struct error *err)
{
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j;
		int r = addon_json(req, &list[i], &j, err);
		if (r < 0) {
			json_decref(out);
			return r;
		}
		json_array_append_new(out, j);
	}
	req->range_fields = "name,id";
	return api_reply(req, 200, out);
}

/* ---- creating and destroying ----------------------------------------------------------- */

/* The lowest free address for an add-on of the space: "10.1.0.2". */
static int addon_address(struct api_request *req, const struct app *a, char ret[16], struct error *err)
{
	struct cidr4 net;
	uint32_t first, last;
	int r;
	if (!isempty(a->space.data_cidr)) {
		r = cidr4_parse(a->space.data_cidr, 8, 30, &net, err);
		first = ADDON_DATA_FIRST_OFFSET;
		last = ((uint32_t)1 << (32 - net.prefix)) - 2;
	} else {
		r = cidr4_parse(a->space.cidr, 8, 28, &net, err);
		first = ADDON_SPACE_FIRST_OFFSET;
		last = ADDON_SPACE_LAST_OFFSET;
	}
	if (r < 0)
		return r;
	for (uint32_t off = first; off <= last; off++) {
		struct in_addr in = { .s_addr = htonl(net.addr + off) };
		inet_ntop(AF_INET, &in, ret, 16);
		int64_t used;
		r = store_query_int(req->store, "SELECT COUNT(*) FROM addons WHERE space_id = ? AND private_ip = ?",
				    SV_ARGS(SV_TEXT(a->space.id), SV_TEXT(ret)), &used, err);
		if (r < 0)
			return r;
		if (!used)
			return 0;
	}
	return error_set(err, -EINVAL, "space '%s' has no free address for another add-on", a->space.name);
}

static int addon_name_new(struct api_request *req, const struct addon_service *s, const char *wanted, char *ret,
			  size_t size, struct error *err)
{
	int64_t n;
	if (wanted) {
		int r = validate_name("add-on name", wanted, API_NAME_MAX - 1, err);
		if (r < 0)
			return r;
		r = store_query_int(req->store, "SELECT COUNT(*) FROM addons WHERE name = ?", SV_ARGS(SV_TEXT(wanted)), &n, err);
		if (r < 0)
			return r;
		if (n)
			return error_set(err, -EINVAL, "add-on name '%s' is already taken", wanted);
		snprintf(ret, size, "%s", wanted);
		return 0;
	}
	for (int tries = 0; tries < 32; tries++) {
		unsigned long bits;
		crypto_random_bytes(&bits, sizeof(bits));
		addon_name_generate(s, bits, ret, size);
		int r = store_query_int(req->store, "SELECT COUNT(*) FROM addons WHERE name = ?", SV_ARGS(SV_TEXT(ret)), &n, err);
		if (r < 0)
			return r;
		if (!n)
			return 0;
	}
	return error_set(err, -EBUSY, "no free add-on name found; try again");
}

static int addon_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *plan_ref, *name = NULL, *attachment_name = NULL;
	if (!req->body)
		return error_set(err, -EINVAL, "plan is required");
	r = api_body_ref(req, "plan", true, &plan_ref, err);
	if (r >= 0)
		r = api_body_string(req, "name", false, &name, err);
	json_t *att = json_object_get(req->body, "attachment");
	if (r >= 0 && att && !json_is_null(att)) {
		if (!json_is_object(att))
			return error_set(err, -EINVAL, "attachment must be an object");
		json_t *n = json_object_get(att, "name");
		if (n && !json_is_null(n) && !json_is_string(n))
			return error_set(err, -EINVAL, "attachment.name must be a string");
		attachment_name = json_string_value(n);
	}
	json_t *config = json_object_get(req->body, "config");
	if (r >= 0 && config && !json_is_null(config) && (!json_is_object(config) || json_object_size(config)))
		return error_set(err, -EINVAL, "config is not supported by the add-on services of cove: leave it empty");
	if (r < 0)
		return r;
	const struct addon_plan *plan;
	r = addon_plan_find(plan_ref, NULL, &plan, err);
	if (r < 0)
		return r;

	struct api_addon d = { 0 };
	d.plan = plan;
	r = addon_name_new(req, plan->service, name, d.name, sizeof(d.name), err);
	if (r >= 0)
		r = addon_address(req, &a, d.private_ip, err);
	if (r < 0)
		return r;
	id_new(d.id);
	snprintf(d.app_id, sizeof(d.app_id), "%s", a.id);
	snprintf(d.app_name, sizeof(d.app_name), "%s", a.name);
	snprintf(d.space_id, sizeof(d.space_id), "%s", a.space.id);
	snprintf(d.state, sizeof(d.state), "provisioning");
	d.port = plan->service->port;
	crypto_random_hex(d.password, 32);
	if (plan->service->kind == ADDON_POSTGRESQL) {
		char hex[15];
		crypto_random_hex(hex, 7);
		snprintf(d.username, sizeof(d.username), "u%s", hex);
		crypto_random_hex(hex, 7);
		snprintf(d.database, sizeof(d.database), "d%s", hex);
	}
	time_now_iso(d.created_at);
	memcpy(d.updated_at, d.created_at, sizeof(d.updated_at));
	r = store_exec(req->store,
		       "INSERT INTO addons (id, name, app_id, space_id, plan_id, state, private_ip, port, username, password,"
		       " database, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(d.id), SV_TEXT(d.name), SV_TEXT(a.id), SV_TEXT(a.space.id), SV_TEXT(plan->id),
			       SV_TEXT(d.state), SV_TEXT(d.private_ip), SV_INT(d.port), SV_TEXT(d.username),
			       SV_TEXT(d.password), SV_TEXT(d.database), SV_TEXT(d.created_at),
			       SV_TEXT(d.updated_at)),
		       err);
	struct api_attachment t;
	if (r >= 0)
		r = api_attachment_create(req, &d, &a, attachment_name, &t, err);
	if (r < 0)
		return r;
	req->changes_desired = true;
	char full[96];
	addon_plan_full_name(plan, full, sizeof(full));
	api_set_action(req, "Create add-on %s (%s) on %s", d.name, full, a.name);
	return reply_addon(req, 201, &d, err);
}

static int addons_of_app(struct api_request *req, const struct app *a, struct api_addon **ret, size_t *ret_n,
			 struct error *err)
{
	return addons_query(req, "d.app_id = ? OR d.id IN (SELECT addon_id FROM addon_attachments WHERE app_id = ?)",
			    SV_ARGS(SV_TEXT(a->id), SV_TEXT(a->id)), ret, ret_n, err);
}

static int app_addons_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct api_addon *list = NULL;
	size_t n;
	r = addons_of_app(req, &a, &list, &n, err);
	return r < 0 ? r : api_addons_reply(req, list, n, err);
}

static int app_addon_info(struct api_request *req, struct error *err)
{
	struct app a;
	struct api_addon d;
	int r = api_addon_of_app(req, req->params[0], req->params[1], &a, &d, err);
	return r < 0 ? r : reply_addon(req, 200, &d, err);
}

static int addons_list(struct api_request *req, struct error *err)
{
	_cleanup_free_ struct api_addon *list = NULL;
	size_t n;
	int r = addons_query(req, "1 = 1", SV_NONE, &list, &n, err);
	if (r < 0)
		return r;
	/* Only those the caller may see. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct api_addon d;
		struct error e = { 0 };
		if (api_addon_load(req, list[i].id, &d, &e) >= 0)
			list[kept++] = list[i];
	}
	return api_addons_reply(req, list, kept, err);
}

static int addon_info(struct api_request *req, struct error *err)
{
	struct api_addon d;
	int r = api_addon_load(req, req->params[0], &d, err);
	return r < 0 ? r : reply_addon(req, 200, &d, err);
}

/* A new plan of the same service: the server restarts with its limits, and keeps its data. */
static int addon_update(struct api_request *req, struct error *err)
{
	struct app a;
	struct api_addon d;
	const char *plan_ref;
	int r = api_addon_of_app(req, req->params[0], req->params[1], &a, &d, err);
	if (r >= 0 && !req->body)
		r = error_set(err, -EINVAL, "plan is required");
	if (r >= 0)
		r = api_body_ref(req, "plan", true, &plan_ref, err);
	if (r < 0)
		return r;
	if (!streq(d.app_id, a.id))
		return error_set(err, -EINVAL, "add-on '%s' belongs to app '%s': change its plan there", d.name, d.app_name);
	const struct addon_plan *plan;
	r = addon_plan_find(plan_ref, strchr(plan_ref, ':') ? NULL : d.plan->service, &plan, err);
	if (r < 0)
		return r;
	if (plan->service != d.plan->service)
		return error_set(err, -EINVAL, "add-on '%s' is a %s add-on: its plan must be one of '%s'", d.name,
				 d.plan->service->human_name, d.plan->service->name);
	if (plan == d.plan)
		return reply_addon(req, 200, &d, err);
	char from[96], to[96];
	addon_plan_full_name(d.plan, from, sizeof(from));
	addon_plan_full_name(plan, to, sizeof(to));
	d.plan = plan;
	time_now_iso(d.updated_at);
	r = store_exec(req->store, "UPDATE addons SET plan_id = ?, updated_at = ? WHERE id = ?",
		       SV_ARGS(SV_TEXT(plan->id), SV_TEXT(d.updated_at), SV_TEXT(d.id)), err);
	if (r < 0)
		return r;
	req->changes_desired = true;
	api_set_action(req, "Change the plan of add-on %s from %s to %s", d.name, from, to);
	return reply_addon(req, 200, &d, err);
}

static int addon_destroy(struct api_request *req, struct error *err)
{
	struct app a;
	struct api_addon d;
	int r = api_addon_of_app(req, req->params[0], req->params[1], &a, &d, err);
	if (r < 0)
		return r;
	if (!streq(d.app_id, a.id))
		return error_set(err, -EINVAL,
				 "add-on '%s' belongs to app '%s': destroy it there, or detach it from '%s' (addons:detach)",
				 d.name, d.app_name, a.name);
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n;
	r = api_attachments_of_addon(req, d.id, &list, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = api_attachment_remove(req, &d, &list[i], err);
	if (r >= 0)
		r = store_exec(req->store, "DELETE FROM addons WHERE id = ?", SV_ARGS(SV_TEXT(d.id)), err);
	if (r < 0)
		return r;
	req->changes_desired = true;
	api_set_action(req, "Destroy add-on %s of %s", d.name, a.name);
	snprintf(d.state, sizeof(d.state), "deprovisioned");
	json_t *j;
	r = addon_json(req, &d, &j, err);
	if (r < 0)
		return r;
	json_object_set_new(j, "config_vars", json_array());
	return api_reply(req, 200, j);
}

static int addon_rotate(struct api_request *req, struct error *err)
{
	struct api_addon d;
	int r = api_addon_load(req, req->params[0], &d, err);
	if (r < 0)
		return r;
	/* Rotating is for whoever may change the billing app. */
	struct app a;
	r = api_app_load(req, d.app_id, &a, err);
	if (r < 0)
		return r;
	crypto_random_hex(d.password, 32);
	time_now_iso(d.updated_at);
	r = store_exec(req->store, "UPDATE addons SET password = ?, updated_at = ? WHERE id = ?",
		       SV_ARGS(SV_TEXT(d.password), SV_TEXT(d.updated_at), SV_TEXT(d.id)), err);
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n = 0;
	if (r >= 0 && streq(d.state, "provisioned"))
		r = api_attachments_of_addon(req, d.id, &list, &n, err);
	char url[256];
	api_addon_url(&d, url, sizeof(url));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *description = xasprintf("Update %s by %s", list[i].name, d.name);
		r = api_attachment_config(req, list[i].app_id, list[i].name, url, description, err);
	}
	if (r < 0)
		return r;
	req->changes_desired = true;
	api_set_action(req, "Rotate the credentials of add-on %s", d.name);
	return reply_addon(req, 200, &d, err);
}

/* ---- for the other parts of the API ---------------------------------------------------- */

int api_addons_desired(struct api_request *req, const char *space_id, json_t *space, struct error *err)
{
	_cleanup_free_ struct api_addon *addons = NULL;
	size_t n;
	int r = addons_query(req, "d.space_id = ?", SV_ARGS(SV_TEXT(space_id)), &addons, &n, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT cidr, data_cidr FROM spaces WHERE id = ?", SV_ARGS(SV_TEXT(space_id)), &rows, err);
	if (r >= 0)
		r = store_rows_next(rows, err);
	if (r <= 0)
		return r;
	const char *data_cidr = store_rows_text(rows, 1);
	const char *net = !isempty(data_cidr) ? data_cidr : store_rows_text(rows, 0);
	const char *slash = strchr(net, '/');
	int prefix = slash ? atoi(slash + 1) : 24;
	json_t *list = json_array();
	json_object_set_new(space, "addons", list);
	for (size_t i = 0; i < n; i++) {
		const struct api_addon *d = &addons[i];
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
					"id", d->id, "name", d->name, "space_id", d->space_id, "app_id", d->app_id, "app_name", d->app_name, "service",
					d->plan->service->kind == ADDON_POSTGRESQL ? "postgresql" : "redis", "address", d->private_ip,
					"prefix", prefix, "port", (int)d->port, "username", d->username, "password",
					d->password, "database", d->database, "memory_mb", (json_int_t)d->plan->memory_mb,
					"max_connections", (json_int_t)d->plan->max_connections, "maxmemory_mb",
					(json_int_t)d->plan->maxmemory_mb, "plan", d->plan->name));
	}
	return 0;
}

int api_addons_report(struct api_request *req, json_t *addons, struct error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(addons, i, v)
	{
		const char *id, *state;
		json_error_t jerr;
		if (json_unpack_ex(v, &jerr, 0, "{s:s, s:s}", "id", &id, "state", &state) < 0)
			return error_set(err, -EINVAL, "add-on report is invalid: %s", jerr.text);
		if (!streq(state, "provisioned"))
			continue;
		struct api_addon d;
		struct error e = { 0 };
		if (api_addon_load_by(req, id, &d, &e) < 0 || !streq(d.state, "provisioning"))
			continue; /* destroyed meanwhile, or known */
		char now[TIME_ISO_MAX];
		int r = store_exec(req->store, "UPDATE addons SET state = 'provisioned', updated_at = ? WHERE id = ?",
				   SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(d.id)), err);
		snprintf(d.state, sizeof(d.state), "provisioned");
		_cleanup_free_ struct api_attachment *list = NULL;
		size_t n = 0;
		if (r >= 0)
			r = api_attachments_of_addon(req, d.id, &list, &n, err);
		for (size_t k = 0; r >= 0 && k < n; k++)
			r = api_attachment_attach(req, &d, list[k].app_id, list[k].name, err);
		if (r < 0)
			return r;
		req->changes_desired = true;
	}
	return 0;
}

/* The app's add-on of kind that its attachment DATABASE (REDIS) names, else its oldest of kind. */
static int addon_of_kind(struct api_request *req, const struct app *a, enum addon_kind kind, struct api_addon *ret,
			 struct error *err)
{
	_cleanup_free_ struct api_addon *list = NULL;
	size_t n;
	const struct addon_service *s = &addon_services[kind == ADDON_POSTGRESQL ? 0 : 1];
	int r = addons_of_app(req, a, &list, &n, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *want = NULL;
	r = store_query_text(req->store, "SELECT addon_id FROM addon_attachments WHERE app_id = ? AND name = ?",
			     SV_ARGS(SV_TEXT(a->id), SV_TEXT(s->attachment)), &want, err);
	if (r < 0 && r != -ENOENT)
		return r;
	size_t pick = n;
	for (size_t i = 0; i < n; i++)
		if (list[i].plan->service == s && (pick == n || (want && streq(list[i].id, want))))
			pick = i;
	if (pick == n)
		return error_set(err, -ENOENT, "app '%s' has no %s add-on", a->name, s->human_name);
	*ret = list[pick];
	return 0;
}

int api_addon_endpoint(struct api_request *req, const char *app_ref, const char *ref, enum addon_kind kind,
		       struct addon_endpoint *ret, struct error *err)
{
	struct app a;
	struct api_addon d;
	int r;
	if (ref) {
		r = api_addon_of_app(req, app_ref, ref, &a, &d, err);
	} else {
		r = api_app_load(req, app_ref, &a, err);
		if (r >= 0)
			r = addon_of_kind(req, &a, kind, &d, err);
	}
	if (r < 0)
		return r;
	if (d.plan->service->kind != kind)
		return error_set(err, -EINVAL, "add-on '%s' is not a %s add-on", d.name,
				 kind == ADDON_POSTGRESQL ? "PostgreSQL" : "Redis");
	*ret = (struct addon_endpoint){ .plan = d.plan, .port = d.port };
	snprintf(ret->id, sizeof(ret->id), "%s", d.id);
	snprintf(ret->name, sizeof(ret->name), "%s", d.name);
	snprintf(ret->app_id, sizeof(ret->app_id), "%s", d.app_id);
	snprintf(ret->space_id, sizeof(ret->space_id), "%s", d.space_id);
	snprintf(ret->state, sizeof(ret->state), "%s", d.state);
	snprintf(ret->private_ip, sizeof(ret->private_ip), "%s", d.private_ip);
	snprintf(ret->username, sizeof(ret->username), "%s", d.username);
	snprintf(ret->password, sizeof(ret->password), "%s", d.password);
	snprintf(ret->database, sizeof(ret->database), "%s", d.database);
	snprintf(ret->netns, sizeof(ret->netns), "cove-s-%s", d.space_id);
	api_addon_url(&d, ret->url, sizeof(ret->url));
	return 0;
}

const struct api_route api_addon_routes[] = {
	{ "GET", "/apps/:app/addons", app_addons_list, 0 },
	{ "POST", "/apps/:app/addons", addon_create, 0 },
	{ "GET", "/apps/:app/addons/:addon", app_addon_info, 0 },
	{ "PATCH", "/apps/:app/addons/:addon", addon_update, 0 },
	{ "DELETE", "/apps/:app/addons/:addon", addon_destroy, 0 },
	{ "GET", "/addons", addons_list, 0 },
	{ "GET", "/addons/:addon", addon_info, 0 },
	{ "POST", "/addons/:addon/actions/rotate-credentials", addon_rotate, 0 },
	{},
};
