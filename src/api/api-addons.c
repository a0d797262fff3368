/* SPDX-License-Identifier: MIT */
/*
 * Add-ons, their services and plans, and attachments, as the Platform API has them:
 *
 *   GET    /addon-services[/:service[/plans[/:plan]]], /plans/:plan   the catalog
 *   POST   /apps/:app/addons          {plan, attachment{name}, config, confirm, name}
 *   GET    /apps/:app/addons[/:addon], /addons[/:addon]
 *   PATCH  /apps/:app/addons/:addon   {plan}: another plan of its service (addons:upgrade)
 *   DELETE /apps/:app/addons/:addon   destroys it, with its data
 *   POST   /addons/:addon/actions/rotate-credentials    (cove's own) a new password
 *   GET    /apps/:app/addon-attachments[/:attachment], /addons/:addon/addon-attachments,
 *          /addon-attachments[/:attachment]
 *   POST   /addon-attachments         {addon, app, name, confirm}
 *   DELETE /addon-attachments/:attachment
 *
 * An add-on is created `provisioning` with its address (from the space's data CIDR), its
 * Unix uid and its credentials; the agent starts its server and reports it up, and only then
 * (api_addons_report) do its attachments write their config vars, each change a release of
 * its app, described as Heroku does ("Attach DATABASE (@ref:postgresql-triangular-2817)
 * resource"). A release restarts the app's dynos. The config var of an attachment is owned
 * by it: config-vars refuses to change it (api_addons_config_check).
 */
#include "api/api-addons.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api-apps.h"
#include "api/api-releases.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/validate.h"

#define ADDON_DATA_FIRST_OFFSET 2 /* .1 of the data CIDR is the space's gateway on it */
#define ADDON_SPACE_FIRST_OFFSET 2 /* without a data CIDR: .2-.9 of the space's CIDR, which dynos leave free */
#define ADDON_SPACE_LAST_OFFSET 9
#define CATALOG_CREATED_AT "2026-01-01T00:00:00Z"

/* ---- the catalog ----------------------------------------------------------------------- */

static json_t *service_json(const struct addon_service *s)
{
	return json_pack("{s:[], s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s}", "actions", "cli_plugin_name", s->alias,
			 "created_at", CATALOG_CREATED_AT, "human_name", s->human_name, "id", s->id, "name", s->name, "state",
			 "ga", "supports_multiple_installations", 1, "supports_sharing", 1, "updated_at", CATALOG_CREATED_AT);
}

static json_t *price_json(void)
{
	/* Self-hosted: the hardware is the operator's. */
	return json_pack("{s:i, s:b, s:s}", "cents", 0, "contract", 0, "unit", "month");
}

static json_t *plan_json(const struct addon_plan *p)
{
	char full[96], human[64];
	addon_plan_full_name(p, full, sizeof(full));
	addon_plan_human_name(p, human, sizeof(human));
	_cleanup_free_ char *description = xasprintf("%s %s", p->service->human_name, human);
	json_t *limits = json_pack("{s:I, s:I}", "memory_mb", (json_int_t)p->memory_mb, "max_connections",
				   (json_int_t)p->max_connections);
	if (p->service->kind == ADDON_POSTGRESQL)
		json_object_set_new(limits, "storage_gb", json_integer((json_int_t)p->storage_gb));
	else
		json_object_set_new(limits, "maxmemory_mb", json_integer((json_int_t)p->maxmemory_mb));
	return json_pack("{s:o, s:n, s:s, s:b, s:s, s:s, s:s, s:b, s:b, s:s, s:o, s:b, s:s, s:s, s:b, s:o, s:b}",
			 "addon_service", api_ref_json(p->service->id, p->service->name), "compliance", "created_at",
			 CATALOG_CREATED_AT, "default", streq(p->name, p->service->kind == ADDON_POSTGRESQL ? "essential-0" : "mini"),
			 "description", description, "human_name", human, "id", p->id, "installable_inside_private_network", 1,
			 "installable_outside_private_network", 0, "name", full, "price", price_json(), "space_default", 0,
			 "state", "public", "updated_at", CATALOG_CREATED_AT, "visible", 1, "limits", limits, "ha", p->ha);
}

static int service_find(const char *ref, const struct addon_service **ret, struct error *err)
{
	*ret = addon_service_find(ref);
	if (!*ret)
		return error_set(err, -ENOENT, "add-on service '%s' not found", ref);
	return 0;
}

static int services_list(struct api_request *req, struct error *err)
{
	(void)err;
	json_t *list = json_array();
	for (size_t i = 0; i < addon_services_count; i++)
		json_array_append_new(list, service_json(&addon_services[i]));
	req->range_fields = "name,id";
	return api_reply(req, 200, list);
}

static int service_info(struct api_request *req, struct error *err)
{
	const struct addon_service *s;
	int r = service_find(req->params[0], &s, err);
	return r < 0 ? r : api_reply(req, 200, service_json(s));
}

static int plans_list(struct api_request *req, struct error *err)
{
	const struct addon_service *s;
	int r = service_find(req->params[0], &s, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	for (size_t i = 0; i < addon_plans_count; i++)
		if (addon_plans[i].service == s)
			json_array_append_new(list, plan_json(&addon_plans[i]));
	req->range_fields = "name,id";
	return api_reply(req, 200, list);
}

static int plan_info(struct api_request *req, struct error *err)
{
	const struct addon_service *s = NULL;
	const struct addon_plan *p;
	int r = 0;
	const char *ref = req->params[0];
	if (req->params[1]) {
		r = service_find(req->params[0], &s, err);
		ref = req->params[1];
	}
	if (r >= 0)
		r = addon_plan_find(ref, s, &p, err);
	return r < 0 ? r : api_reply(req, 200, plan_json(p));
}

/* ---- add-ons --------------------------------------------------------------------------- */

#define ADDON_COLUMNS                                                                                                  \
	"d.id, d.name, d.app_id, d.space_id, d.plan_id, d.state, d.private_ip, d.port, d.username, d.password,"        \
	" d.database, d.created_at, d.updated_at, (SELECT name FROM apps WHERE id = d.app_id)"

struct addon {
	char id[ID_STRING_MAX];
	char name[API_NAME_MAX];
	char app_id[ID_STRING_MAX];
	char app_name[API_NAME_MAX];
	char space_id[ID_STRING_MAX];
	const struct addon_plan *plan;
	char state[16];
	char private_ip[16];
	unsigned port;
	char username[32];
	char password[72];
	char database[32];
	char created_at[32];
	char updated_at[32];
};

static int addon_from_row(struct store_rows *rows, struct addon *ret, struct error *err)
{
	*ret = (struct addon){ 0 };
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

/* Loads add-ons by a WHERE clause; *ret is an array of n. */
static int addons_query(struct api_request *req, const char *where, const struct store_val *args, size_t n_args,
			struct addon **ret, size_t *ret_n, struct error *err)
{
	_cleanup_free_ char *sql = xasprintf("SELECT " ADDON_COLUMNS " FROM addons d WHERE %s ORDER BY d.created_at, d.name", where);
	_cleanup_rows_ struct store_rows *rows = NULL;
	*ret = NULL;
	*ret_n = 0;
	int r = store_query(req->store, sql, args, n_args, &rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0) {
		*ret = xrealloc(*ret, (*ret_n + 1) * sizeof(**ret));
		r = addon_from_row(rows, &(*ret)[*ret_n], err);
		if (r >= 0)
			(*ret_n)++;
	}
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		*ret_n = 0;
	}
	return r;
}

static int addon_load_by(struct api_request *req, const char *ref, struct addon *ret, struct error *err)
{
	_cleanup_free_ struct addon *list = NULL;
	size_t n;
	int r = addons_query(req, "d.id = ? OR d.name = ?", SV_ARGS(SV_TEXT(ref), SV_TEXT(ref)), &list, &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return error_set(err, -ENOENT, "add-on '%s' not found", ref);
	*ret = list[0];
	return 0;
}

/* An add-on the caller may see: through its billing app, or an app it is attached to. */
static int addon_load(struct api_request *req, const char *ref, struct addon *ret, struct error *err)
{
	int r = addon_load_by(req, ref, ret, err);
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

static void addon_url(const struct addon *d, char *ret, size_t size)
{
	if (d->plan->service->kind == ADDON_POSTGRESQL)
		snprintf(ret, size, "postgres://%s:%s@%s:%u/%s", d->username, d->password, d->private_ip, d->port,
			 d->database);
	else
		snprintf(ret, size, "redis://default:%s@%s:%u", d->password, d->private_ip, d->port);
}

/* The config vars the add-on's attachments own, on every app. */
static int addon_config_vars(struct api_request *req, const struct addon *d, json_t **ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	*ret = json_array();
	int r = store_query(req->store, "SELECT name FROM addon_attachments WHERE addon_id = ? ORDER BY created_at, name",
			    SV_ARGS(SV_TEXT(d->id)), &rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0) {
		_cleanup_free_ char *var = xasprintf("%s_URL", store_rows_text(rows, 0));
		json_array_append_new(*ret, json_string(var));
	}
	if (r < 0) {
		json_decref(*ret);
		*ret = NULL;
	}
	return r;
}

static int addon_json(struct api_request *req, const struct addon *d, json_t **ret, struct error *err)
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
			 "billing_entity", billing, "billed_price", price_json(), "config_vars", vars, "created_at",
			 d->created_at, "id", d->id, "name", d->name, "plan", api_ref_json(d->plan->id, plan), "provider_id",
			 d->id, "provision_message", "state", d->state, "updated_at", d->updated_at, "web_url",
			 "private_ip", d->private_ip, "port", (json_int_t)d->port);
	return 0;
}

static int reply_addon(struct api_request *req, int status, const struct addon *d, struct error *err)
{
	json_t *j;
	int r = addon_json(req, d, &j, err);
	return r < 0 ? r : api_reply(req, status, j);
}

static int reply_addons(struct api_request *req, const struct addon *list, size_t n, struct error *err)
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

/* ---- attachments ----------------------------------------------------------------------- */

#define ATTACHMENT_COLUMNS "t.id, t.addon_id, t.app_id, t.name, t.created_at, t.updated_at, (SELECT name FROM apps WHERE id = t.app_id)"

struct attachment {
	char id[ID_STRING_MAX];
	char addon_id[ID_STRING_MAX];
	char app_id[ID_STRING_MAX];
	char app_name[API_NAME_MAX];
	char name[API_NAME_MAX];
	char created_at[32];
	char updated_at[32];
};

static void attachment_from_row(struct store_rows *rows, struct attachment *ret)
{
	snprintf(ret->id, sizeof(ret->id), "%s", store_rows_text(rows, 0));
	snprintf(ret->addon_id, sizeof(ret->addon_id), "%s", store_rows_text(rows, 1));
	snprintf(ret->app_id, sizeof(ret->app_id), "%s", store_rows_text(rows, 2));
	snprintf(ret->name, sizeof(ret->name), "%s", store_rows_text(rows, 3));
	snprintf(ret->created_at, sizeof(ret->created_at), "%s", store_rows_text(rows, 4));
	snprintf(ret->updated_at, sizeof(ret->updated_at), "%s", store_rows_text(rows, 5));
	snprintf(ret->app_name, sizeof(ret->app_name), "%s", store_rows_text(rows, 6));
}

static int attachments_query(struct api_request *req, const char *where, const struct store_val *args, size_t n_args,
			     struct attachment **ret, size_t *ret_n, struct error *err)
{
	_cleanup_free_ char *sql =
		xasprintf("SELECT " ATTACHMENT_COLUMNS " FROM addon_attachments t WHERE %s ORDER BY t.created_at, t.name", where);
	_cleanup_rows_ struct store_rows *rows = NULL;
	*ret = NULL;
	*ret_n = 0;
	int r = store_query(req->store, sql, args, n_args, &rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0) {
		*ret = xrealloc(*ret, (*ret_n + 1) * sizeof(**ret));
		attachment_from_row(rows, &(*ret)[(*ret_n)++]);
	}
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		*ret_n = 0;
	}
	return r;
}

static json_t *attachment_json(const struct attachment *t, const struct addon *d)
{
	_cleanup_free_ char *var = xasprintf("%s_URL", t->name);
	return json_pack("{s:{s:s, s:s, s:o, s:o}, s:o, s:s, s:s, s:s, s:n, s:s, s:n, s:n, s:[s]}", "addon", "id", d->id,
			 "name", d->name, "app", api_ref_json(d->app_id, d->app_name), "plan",
			 api_ref_json(d->plan->id, d->plan->name), "app", api_ref_json(t->app_id, t->app_name), "created_at",
			 t->created_at, "id", t->id, "name", t->name, "namespace", "updated_at", t->updated_at, "web_url",
			 "log_input_url", "config_vars", var);
}

static int reply_attachments(struct api_request *req, const struct attachment *list, size_t n, struct error *err)
{
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		struct addon d;
		int r = addon_load_by(req, list[i].addon_id, &d, err);
		if (r < 0) {
			json_decref(out);
			return r;
		}
		json_array_append_new(out, attachment_json(&list[i], &d));
	}
	req->range_fields = "name,id";
	return api_reply(req, 200, out);
}

/*
 * Writes (url non-NULL) or removes (url NULL) an attachment's config var on its app, and makes
 * the release that says so.
 */
static int attachment_config(struct api_request *req, const char *app_id, const char *name, const char *url,
			     const char *description, int64_t *ret_version, struct error *err)
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
	r = api_release_create(req, &a, description, NULL, NULL, ret_version, err);
	if (r >= 0)
		req->changes_desired = true;
	return r;
}

static int attachment_attach(struct api_request *req, const struct addon *d, const char *app_id, const char *name,
			     struct error *err)
{
	char url[256];
	addon_url(d, url, sizeof(url));
	_cleanup_free_ char *description = xasprintf("Attach %s (@ref:%s) resource", name, d->name);
	return attachment_config(req, app_id, name, url, description, NULL, err);
}

static int attachment_detach(struct api_request *req, const struct addon *d, const struct attachment *t,
			     struct error *err)
{
	int r = store_exec(req->store, "DELETE FROM addon_attachments WHERE id = ?", SV_ARGS(SV_TEXT(t->id)), err);
	if (r < 0)
		return r;
	_cleanup_free_ char *description = xasprintf("Detach %s (@ref:%s) resource", t->name, d->name);
	return attachment_config(req, t->app_id, t->name, NULL, description, NULL, err);
}

/* Records an attachment; its config var follows now when the add-on is provisioned, else at that time. */
static int attachment_create(struct api_request *req, const struct addon *d, const struct app *a, const char *name,
			     struct attachment *ret, struct error *err)
{
	char chosen[API_NAME_MAX];
	int r;
	if (name) {
		r = addon_attachment_name_check(name, err);
		if (r < 0)
			return r;
		int64_t n;
		r = store_query_int(req->store, "SELECT COUNT(*) FROM addon_attachments WHERE app_id = ? AND name = ?",
				    SV_ARGS(SV_TEXT(a->id), SV_TEXT(name)), &n, err);
		if (r < 0)
			return r;
		if (n)
			return error_set(err, -EINVAL, "attachment name '%s' is already used on app '%s'", name, a->name);
		_cleanup_free_ char *var = xasprintf("%s_URL", name);
		r = store_query_int(req->store, "SELECT COUNT(*) FROM config_vars WHERE app_id = ? AND key = ?",
				    SV_ARGS(SV_TEXT(a->id), SV_TEXT(var)), &n, err);
		if (r < 0)
			return r;
		if (n)
			return error_set(err, -EINVAL, "config var '%s' is already set on app '%s': unset it first", var, a->name);
		snprintf(chosen, sizeof(chosen), "%s", name);
	} else {
		_cleanup_free_ struct attachment *list = NULL;
		size_t n;
		r = attachments_query(req, "t.app_id = ?", SV_ARGS(SV_TEXT(a->id)), &list, &n, err);
		if (r < 0)
			return r;
		const char **taken = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			taken[i] = list[i].name;
		unsigned start;
		crypto_random_bytes(&start, sizeof(start));
		r = addon_attachment_name(d->plan->service, taken, n, start, chosen, sizeof(chosen), err);
		free(taken);
		if (r < 0)
			return r;
	}
	*ret = (struct attachment){ 0 };
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
		r = attachment_attach(req, d, a->id, chosen, err);
	return r;
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

	struct addon d = { 0 };
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
	struct attachment t;
	if (r >= 0)
		r = attachment_create(req, &d, &a, attachment_name, &t, err);
	if (r < 0)
		return r;
	req->changes_desired = true;
	char full[96];
	addon_plan_full_name(plan, full, sizeof(full));
	api_set_action(req, "Create add-on %s (%s) on %s", d.name, full, a.name);
	return reply_addon(req, 201, &d, err);
}

static int addons_of_app(struct api_request *req, const struct app *a, struct addon **ret, size_t *ret_n,
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
	_cleanup_free_ struct addon *list = NULL;
	size_t n;
	r = addons_of_app(req, &a, &list, &n, err);
	return r < 0 ? r : reply_addons(req, list, n, err);
}

/* An add-on the app uses (billed to it or attached), by name, id or attachment name. */
static int app_addon_find(struct api_request *req, const struct app *a, const char *ref, struct addon *ret,
			  struct error *err)
{
	_cleanup_free_ struct addon *list = NULL;
	size_t n;
	int r = addons_query(req,
			     "(d.app_id = ? OR d.id IN (SELECT addon_id FROM addon_attachments WHERE app_id = ?))"
			     " AND (d.id = ? OR d.name = ? OR d.id IN (SELECT addon_id FROM addon_attachments"
			     "  WHERE app_id = ? AND (name = ? OR name || '_URL' = ?)))",
			     SV_ARGS(SV_TEXT(a->id), SV_TEXT(a->id), SV_TEXT(ref), SV_TEXT(ref), SV_TEXT(a->id), SV_TEXT(ref),
				     SV_TEXT(ref)),
			     &list, &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return error_set(err, -ENOENT, "add-on '%s' not found on app '%s'", ref, a->name);
	*ret = list[0];
	return 0;
}

static int app_addon_info(struct api_request *req, struct error *err)
{
	struct app a;
	struct addon d;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r >= 0)
		r = app_addon_find(req, &a, req->params[1], &d, err);
	return r < 0 ? r : reply_addon(req, 200, &d, err);
}

static int addons_list(struct api_request *req, struct error *err)
{
	_cleanup_free_ struct addon *list = NULL;
	size_t n;
	int r = addons_query(req, "1 = 1", SV_NONE, &list, &n, err);
	if (r < 0)
		return r;
	/* Only those the caller may see. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct addon d;
		struct error e = { 0 };
		if (addon_load(req, list[i].id, &d, &e) >= 0)
			list[kept++] = list[i];
	}
	return reply_addons(req, list, kept, err);
}

static int addon_info(struct api_request *req, struct error *err)
{
	struct addon d;
	int r = addon_load(req, req->params[0], &d, err);
	return r < 0 ? r : reply_addon(req, 200, &d, err);
}

/* A new plan of the same service: the server restarts with its limits, and keeps its data. */
static int addon_update(struct api_request *req, struct error *err)
{
	struct app a;
	struct addon d;
	const char *plan_ref;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r >= 0)
		r = app_addon_find(req, &a, req->params[1], &d, err);
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
	struct addon d;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r >= 0)
		r = app_addon_find(req, &a, req->params[1], &d, err);
	if (r < 0)
		return r;
	if (!streq(d.app_id, a.id))
		return error_set(err, -EINVAL,
				 "add-on '%s' belongs to app '%s': destroy it there, or detach it from '%s' (addons:detach)",
				 d.name, d.app_name, a.name);
	_cleanup_free_ struct attachment *list = NULL;
	size_t n;
	r = attachments_query(req, "t.addon_id = ?", SV_ARGS(SV_TEXT(d.id)), &list, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = streq(d.state, "provisioned")
			    ? attachment_detach(req, &d, &list[i], err)
			    : store_exec(req->store, "DELETE FROM addon_attachments WHERE id = ?", SV_ARGS(SV_TEXT(list[i].id)),
					 err);
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
	struct addon d;
	int r = addon_load(req, req->params[0], &d, err);
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
	_cleanup_free_ struct attachment *list = NULL;
	size_t n = 0;
	if (r >= 0 && streq(d.state, "provisioned"))
		r = attachments_query(req, "t.addon_id = ?", SV_ARGS(SV_TEXT(d.id)), &list, &n, err);
	char url[256];
	addon_url(&d, url, sizeof(url));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *description = xasprintf("Update %s by %s", list[i].name, d.name);
		r = attachment_config(req, list[i].app_id, list[i].name, url, description, NULL, err);
	}
	if (r < 0)
		return r;
	req->changes_desired = true;
	api_set_action(req, "Rotate the credentials of add-on %s", d.name);
	return reply_addon(req, 200, &d, err);
}

/* ---- attachment endpoints -------------------------------------------------------------- */

static int app_attachments_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct attachment *list = NULL;
	size_t n;
	r = attachments_query(req, "t.app_id = ?", SV_ARGS(SV_TEXT(a.id)), &list, &n, err);
	return r < 0 ? r : reply_attachments(req, list, n, err);
}

static int addon_attachments_list(struct api_request *req, struct error *err)
{
	struct addon d;
	int r = addon_load(req, req->params[0], &d, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct attachment *list = NULL;
	size_t n;
	r = attachments_query(req, "t.addon_id = ?", SV_ARGS(SV_TEXT(d.id)), &list, &n, err);
	return r < 0 ? r : reply_attachments(req, list, n, err);
}

static int attachments_list(struct api_request *req, struct error *err)
{
	_cleanup_free_ struct attachment *list = NULL;
	size_t n;
	int r = attachments_query(req, "1 = 1", SV_NONE, &list, &n, err);
	if (r < 0)
		return r;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct app a;
		struct error e = { 0 };
		if (api_app_load(req, list[i].app_id, &a, &e) >= 0)
			list[kept++] = list[i];
	}
	return reply_attachments(req, list, kept, err);
}

/* An attachment the caller may see, by id; or, with app, by name on that app. */
static int attachment_load(struct api_request *req, const struct app *app, const char *ref, struct attachment *ret,
			   struct error *err)
{
	_cleanup_free_ struct attachment *list = NULL;
	size_t n;
	int r = app ? attachments_query(req, "t.app_id = ? AND (t.id = ? OR t.name = ?)",
					SV_ARGS(SV_TEXT(app->id), SV_TEXT(ref), SV_TEXT(ref)), &list, &n, err)
		    : attachments_query(req, "t.id = ?", SV_ARGS(SV_TEXT(ref)), &list, &n, err);
	if (r < 0)
		return r;
	struct app a;
	struct error e = { 0 };
	if (n == 0 || api_app_load(req, list[0].app_id, &a, &e) < 0)
		return error_set(err, -ENOENT, "add-on attachment '%s' not found", ref);
	*ret = list[0];
	return 0;
}

static int app_attachment_info(struct api_request *req, struct error *err)
{
	struct app a;
	struct attachment t;
	struct addon d;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r >= 0)
		r = attachment_load(req, &a, req->params[1], &t, err);
	if (r >= 0)
		r = addon_load_by(req, t.addon_id, &d, err);
	return r < 0 ? r : api_reply(req, 200, attachment_json(&t, &d));
}

static int attachment_info(struct api_request *req, struct error *err)
{
	struct attachment t;
	struct addon d;
	int r = attachment_load(req, NULL, req->params[0], &t, err);
	if (r >= 0)
		r = addon_load_by(req, t.addon_id, &d, err);
	return r < 0 ? r : api_reply(req, 200, attachment_json(&t, &d));
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
	struct addon d;
	if (r >= 0)
		r = api_app_load(req, app_ref, &a, err);
	if (r >= 0)
		r = addon_load(req, addon_ref, &d, err);
	if (r < 0)
		return r;
	if (!streq(d.space_id, a.space.id))
		return error_set(err, -EINVAL, "add-on '%s' runs in another space than app '%s': only apps of its space reach it",
				 d.name, a.name);
	struct attachment t;
	r = attachment_create(req, &d, &a, name, &t, err);
	if (r < 0)
		return r;
	api_set_action(req, "Attach add-on %s to %s as %s", d.name, a.name, t.name);
	return api_reply(req, 201, attachment_json(&t, &d));
}

static int attachment_delete(struct api_request *req, struct error *err)
{
	struct attachment t;
	struct addon d;
	int r = attachment_load(req, NULL, req->params[0], &t, err);
	if (r >= 0)
		r = addon_load_by(req, t.addon_id, &d, err);
	if (r < 0)
		return r;
	r = streq(d.state, "provisioned")
		    ? attachment_detach(req, &d, &t, err)
		    : store_exec(req->store, "DELETE FROM addon_attachments WHERE id = ?", SV_ARGS(SV_TEXT(t.id)), err);
	if (r < 0)
		return r;
	api_set_action(req, "Detach add-on %s from %s (%s)", d.name, t.app_name, t.name);
	return api_reply(req, 200, attachment_json(&t, &d));
}

/* ---- for the other parts of the API ---------------------------------------------------- */

/* ---- resolving what a user typed (the heroku CLI asks before most add-on commands) ------- */

/* The request's optional addon_service: NULL when absent. */
static int resolve_service(struct api_request *req, const struct addon_service **ret, struct error *err)
{
	const char *ref;
	*ret = NULL;
	int r = api_body_string(req, "addon_service", false, &ref, err);
	return r < 0 || !ref ? r : service_find(ref, ret, err);
}

/*
 * POST /actions/addons/resolve {addon, app, addon_service}: the add-on `addon` names (its name,
 * id, or with app an attachment name of that app), as a one-element array.
 */
static int addons_resolve(struct api_request *req, struct error *err)
{
	const char *ref, *app_ref;
	const struct addon_service *service;
	int r = api_body_string(req, "addon", true, &ref, err);
	if (r >= 0)
		r = api_body_string(req, "app", false, &app_ref, err);
	if (r >= 0)
		r = resolve_service(req, &service, err);
	if (r < 0)
		return r;
	struct addon d;
	struct app a;
	if (app_ref) {
		r = api_app_load(req, app_ref, &a, err);
		if (r >= 0)
			r = app_addon_find(req, &a, ref, &d, err);
	} else {
		r = addon_load(req, ref, &d, err);
	}
	if (r < 0)
		return r;
	if (service && d.plan->service != service)
		return error_set(err, -ENOENT, "add-on '%s' is not a %s add-on", ref, service->name);
	return reply_addons(req, &d, 1, err);
}

/*
 * POST /actions/addon-attachments/resolve {addon_attachment, app, addon_service}: the
 * attachments `addon_attachment` names: an attachment's id, or with app its name (also NAME_URL)
 * on that app; else the attachments of the add-on of that name or id the caller may see.
 */
static int attachments_resolve(struct api_request *req, struct error *err)
{
	const char *ref, *app_ref;
	const struct addon_service *service;
	int r = api_body_string(req, "addon_attachment", true, &ref, err);
	if (r >= 0)
		r = api_body_string(req, "app", false, &app_ref, err);
	if (r >= 0)
		r = resolve_service(req, &service, err);
	if (r < 0)
		return r;
	struct app a;
	if (app_ref && (r = api_app_load(req, app_ref, &a, err)) < 0)
		return r;
	_cleanup_free_ struct attachment *list = NULL;
	size_t n = 0;
	r = app_ref ? attachments_query(req, "t.app_id = ? AND (t.id = ? OR t.name = ? OR t.name || '_URL' = ?)",
					SV_ARGS(SV_TEXT(a.id), SV_TEXT(ref), SV_TEXT(ref), SV_TEXT(ref)), &list, &n, err)
		    : attachments_query(req, "t.id = ?", SV_ARGS(SV_TEXT(ref)), &list, &n, err);
	if (r >= 0 && n == 0) {
		struct addon d;
		struct error e = { 0 };
		if (addon_load(req, ref, &d, &e) >= 0)
			r = app_ref ? attachments_query(req, "t.addon_id = ? AND t.app_id = ?",
							SV_ARGS(SV_TEXT(d.id), SV_TEXT(a.id)), &list, &n, err)
				    : attachments_query(req, "t.addon_id = ?", SV_ARGS(SV_TEXT(d.id)), &list, &n, err);
	}
	if (r < 0)
		return r;
	/* Those the caller may see, of the service asked for. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct app owner;
		struct addon d;
		struct error e = { 0 };
		if (api_app_load(req, list[i].app_id, &owner, &e) < 0 || addon_load_by(req, list[i].addon_id, &d, &e) < 0)
			continue;
		if (!service || d.plan->service == service)
			list[kept++] = list[i];
	}
	if (kept == 0)
		return error_set(err, -ENOENT, "add-on attachment '%s' not found", ref);
	return reply_attachments(req, list, kept, err);
}

int api_addons_desired(struct api_request *req, const char *space_id, json_t *space, struct error *err)
{
	_cleanup_free_ struct addon *addons = NULL;
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
		const struct addon *d = &addons[i];
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
		struct addon d;
		struct error e = { 0 };
		if (addon_load_by(req, id, &d, &e) < 0 || !streq(d.state, "provisioning"))
			continue; /* destroyed meanwhile, or known */
		char now[TIME_ISO_MAX];
		int r = store_exec(req->store, "UPDATE addons SET state = 'provisioned', updated_at = ? WHERE id = ?",
				   SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(d.id)), err);
		snprintf(d.state, sizeof(d.state), "provisioned");
		_cleanup_free_ struct attachment *list = NULL;
		size_t n = 0;
		if (r >= 0)
			r = attachments_query(req, "t.addon_id = ?", SV_ARGS(SV_TEXT(d.id)), &list, &n, err);
		for (size_t k = 0; r >= 0 && k < n; k++)
			r = attachment_attach(req, &d, list[k].app_id, list[k].name, err);
		if (r < 0)
			return r;
		req->changes_desired = true;
	}
	return 0;
}

int api_addons_app_destroyed(struct api_request *req, const char *app_id, struct error *err)
{
	_cleanup_free_ struct attachment *list = NULL;
	size_t n;
	int r = attachments_query(req, "t.app_id != ? AND t.addon_id IN (SELECT id FROM addons WHERE app_id = ?)",
				  SV_ARGS(SV_TEXT(app_id), SV_TEXT(app_id)), &list, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct addon d;
		r = addon_load_by(req, list[i].addon_id, &d, err);
		if (r >= 0)
			r = streq(d.state, "provisioned")
				    ? attachment_detach(req, &d, &list[i], err)
				    : store_exec(req->store, "DELETE FROM addon_attachments WHERE id = ?",
						 SV_ARGS(SV_TEXT(list[i].id)), err);
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

int api_addon_endpoint(struct api_request *req, const char *app_ref, const char *ref, enum addon_kind kind,
		       struct addon_endpoint *ret, struct error *err)
{
	struct app a;
	struct addon d;
	int r = api_app_load(req, app_ref, &a, err);
	if (r < 0)
		return r;
	if (ref) {
		r = app_addon_find(req, &a, ref, &d, err);
	} else {
		_cleanup_free_ struct addon *list = NULL;
		size_t n;
		const struct addon_service *s = &addon_services[kind == ADDON_POSTGRESQL ? 0 : 1];
		r = addons_of_app(req, &a, &list, &n, err);
		if (r < 0)
			return r;
		/* The one attached as DATABASE (REDIS), else the oldest of the kind. */
		_cleanup_free_ char *want = NULL;
		r = store_query_text(req->store, "SELECT addon_id FROM addon_attachments WHERE app_id = ? AND name = ?",
				     SV_ARGS(SV_TEXT(a.id), SV_TEXT(s->attachment)), &want, err);
		if (r < 0 && r != -ENOENT)
			return r;
		size_t pick = n;
		for (size_t i = 0; i < n; i++)
			if (list[i].plan->service == s && (pick == n || (want && streq(list[i].id, want))))
				pick = i;
		if (pick == n)
			return error_set(err, -ENOENT, "app '%s' has no %s add-on", a.name, s->human_name);
		d = list[pick];
		r = 0;
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
	addon_url(&d, ret->url, sizeof(ret->url));
	return 0;
}

const struct api_route api_addon_routes[] = {
	{ "GET", "/addon-services", services_list, 0 },
	{ "GET", "/addon-services/:service", service_info, 0 },
	{ "GET", "/addon-services/:service/plans", plans_list, 0 },
	{ "GET", "/addon-services/:service/plans/:plan", plan_info, 0 },
	{ "GET", "/plans/:plan", plan_info, 0 },
	{ "GET", "/apps/:app/addons", app_addons_list, 0 },
	{ "POST", "/apps/:app/addons", addon_create, 0 },
	{ "GET", "/apps/:app/addons/:addon", app_addon_info, 0 },
	{ "PATCH", "/apps/:app/addons/:addon", addon_update, 0 },
	{ "DELETE", "/apps/:app/addons/:addon", addon_destroy, 0 },
	{ "GET", "/addons", addons_list, 0 },
	{ "GET", "/addons/:addon", addon_info, 0 },
	{ "POST", "/addons/:addon/actions/rotate-credentials", addon_rotate, 0 },
	{ "GET", "/addons/:addon/addon-attachments", addon_attachments_list, 0 },
	{ "GET", "/apps/:app/addon-attachments", app_attachments_list, 0 },
	{ "GET", "/apps/:app/addon-attachments/:attachment", app_attachment_info, 0 },
	{ "GET", "/addon-attachments", attachments_list, 0 },
	{ "POST", "/addon-attachments", attachment_create_route, 0 },
	{ "GET", "/addon-attachments/:attachment", attachment_info, 0 },
	{ "DELETE", "/addon-attachments/:attachment", attachment_delete, 0 },
	{ "POST", "/actions/addons/resolve", addons_resolve, 0 },
	{ "POST", "/actions/addon-attachments/resolve", attachments_resolve, 0 },
	{},
};
