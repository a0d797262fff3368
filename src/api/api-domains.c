/* SPDX-License-Identifier: MIT */
/*
 * Domains: GET, POST /apps/:app/domains; GET, PATCH, DELETE /apps/:app/domains/:domain (a
 * domain by id or host name). The app's own host name is listed first, as kind "heroku", with
 * the app's id for its id; it cannot be removed. Custom domains are kind "custom", status
 * "succeeded" once added (cove serves HTTP only, so there is no certificate to wait for), and
 * their cname is the app's own host name, which a DNS record of the domain points to.
 */
#include "api/api-domains.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api-apps.h"
#include "base/alloc.h"
#include "base/timeutil.h"

char *api_app_hostname(struct api_request *req, const char *app, const char *space)
{
	return xasprintf("%s.%s.%s", app, space, api_get_config(req->api)->apps_domain);
}

char *api_app_web_url(struct api_request *req, const char *app, const char *space)
{
	unsigned port = api_get_config(req->api)->router_port;
	char suffix[16] = "";
	if (port && port != 80)
		snprintf(suffix, sizeof(suffix), ":%u", port);
	return xasprintf("http://%s.%s.%s%s/", app, space, api_get_config(req->api)->apps_domain, suffix);
}

/* Lower-case labels of letters, digits and inner dashes, at least two, maybe "*." first. */
int api_domain_validate(struct api_request *req, char *hostname, struct error *err)
{
	size_t len = strlen(hostname);
	for (size_t i = 0; i < len; i++)
		if (hostname[i] >= 'A' && hostname[i] <= 'Z')
			hostname[i] = (char)(hostname[i] + 32);
	if (len && hostname[len - 1] == '.')
		hostname[--len] = '\0';
	const char *p = hostname;
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	bool ok = len > 0 && len <= DOMAIN_HOSTNAME_MAX && strchr(p, '.');
	for (const char *label = p; ok && *label;) {
		size_t n = strcspn(label, ".");
		ok = n >= 1 && n <= 63 && label[0] != '-' && label[n - 1] != '-';
		for (size_t i = 0; ok && i < n; i++)
			ok = (label[i] >= 'a' && label[i] <= 'z') || (label[i] >= '0' && label[i] <= '9') || label[i] == '-';
		label += n + (label[n] == '.');
		ok = ok && !(label[-1] == '.' && *label == '\0');
	}
	if (!ok)
		return error_set(err, -EINVAL,
				 "hostname '%.253s' is invalid: labels of letters, digits and dashes, at least two of them, "
				 "at most 253 characters; '*.' first for a wildcard",
				 hostname);
	const char *apps_domain = api_get_config(req->api)->apps_domain;
	size_t dlen = strlen(apps_domain);
	if ((len == dlen && streq(hostname, apps_domain)) ||
	    (len > dlen && hostname[len - dlen - 1] == '.' && streq(hostname + len - dlen, apps_domain)))
		return error_set(err, -EINVAL, "hostname '%s' is invalid: names under '%s' are the apps' own", hostname,
				 apps_domain);
	return 0;
}

int api_app_routing(struct api_request *req, const char *app_id, json_t *app, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store,
			    "SELECT a.name, s.name, a.internal_routing FROM apps a JOIN spaces s ON s.id = a.space_id"
			    " WHERE a.id = ?",
			    SV_ARGS(SV_TEXT(app_id)), &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r;
	_cleanup_free_ char *own = api_app_hostname(req, store_rows_text(rows, 0), store_rows_text(rows, 1));
	json_t *domains = json_array();
	json_array_append_new(domains, json_string(own));
	json_object_set_new(app, "internal_routing", json_boolean(store_rows_int(rows, 2) != 0));
	_cleanup_rows_ struct store_rows *d = NULL;
	r = store_query(req->store, "SELECT hostname FROM domains WHERE app_id = ? ORDER BY hostname",
			SV_ARGS(SV_TEXT(app_id)), &d, err);
	while (r >= 0 && (r = store_rows_next(d, err)) > 0)
		json_array_append_new(domains, json_string(store_rows_text(d, 0)));
	json_object_set_new(app, "domains", domains);
	return r;
}

/* ---- endpoints ------------------------------------------------------------------------- */

#define DOMAIN_COLUMNS "id, hostname, created_at, updated_at"

static json_t *domain_json(struct api_request *req, const struct app *a, const char *id, const char *hostname,
			   const char *kind, const char *created_at, const char *updated_at)
{
	_cleanup_free_ char *own = api_app_hostname(req, a->name, a->space.name);
	bool custom = streq(kind, "custom");
	return json_pack("{s:n, s:n, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:n}", "acm_status",
			 "acm_status_reason", "app", "id", a->id, "name", a->name, "cname",
			 custom ? json_string(own) : json_null(), "created_at", created_at, "hostname", hostname, "id", id,
			 "kind", kind, "updated_at", updated_at, "status", "succeeded", "sni_endpoint");
}

static json_t *own_domain_json(struct api_request *req, const struct app *a)
{
	_cleanup_free_ char *own = api_app_hostname(req, a->name, a->space.name);
	return domain_json(req, a, a->id, own, "heroku", a->created_at, a->updated_at);
}

static int domain_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " DOMAIN_COLUMNS " FROM domains WHERE app_id = ? ORDER BY hostname",
			SV_ARGS(SV_TEXT(a.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	json_array_append_new(list, own_domain_json(req, &a));
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, domain_json(req, &a, store_rows_text(rows, 0), store_rows_text(rows, 1), "custom",
							store_rows_text(rows, 2), store_rows_text(rows, 3)));
	req->range_fields = "hostname,id";
	api_reply(req, 200, list);
	return r;
}

/* Finds a domain of the app by id or host name; the app's own is found too (*ret is NULL then). */
static int domain_find(struct api_request *req, const struct app *a, const char *ref, json_t **ret, bool *ret_own,
		       struct error *err)
{
	_cleanup_free_ char *own = api_app_hostname(req, a->name, a->space.name);
	*ret_own = streq(ref, a->id) || strcasecmp(ref, own) == 0;
	if (*ret_own) {
		*ret = own_domain_json(req, a);
		return 0;
	}
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req,
			      "SELECT " DOMAIN_COLUMNS " FROM domains WHERE app_id = ? AND (id = ? OR hostname = lower(?))",
			      SV_ARGS(SV_TEXT(a->id), SV_TEXT(ref), SV_TEXT(ref)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "domain '%s' of app '%s' not found", ref, a->name);
	*ret = domain_json(req, a, store_rows_text(rows, 0), store_rows_text(rows, 1), "custom", store_rows_text(rows, 2),
			   store_rows_text(rows, 3));
	return 0;
}

/* The app of the request's :app and its domain :domain, as domain_find() has it. */
static int domain_load(struct api_request *req, struct app *ret_app, json_t **ret, bool *ret_own, struct error *err)
{
	int r = api_app_load(req, req->params[0], ret_app, err);
	return r < 0 ? r : domain_find(req, ret_app, req->params[1], ret, ret_own, err);
}

/* cove's routers serve HTTP only: a domain has no SNI endpoint. */
static int sni_endpoint_check(struct api_request *req, struct error *err)
{
	json_t *sni = req->body ? json_object_get(req->body, "sni_endpoint") : NULL;
	if (sni && !json_is_null(sni))
		return error_set(err, -EINVAL, "sni_endpoint must be null: cove's routers serve HTTP only");
	return 0;
}

static int domain_info(struct api_request *req, struct error *err)
{
	struct app a;
	json_t *d;
	bool own;
	int r = domain_load(req, &a, &d, &own, err);
	return r < 0 ? r : api_reply(req, 200, d);
}

static int domain_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *hostname_in;
	r = api_body_string(req, "hostname", true, &hostname_in, err);
	if (r < 0)
		return r;
	r = sni_endpoint_check(req, err);
	if (r < 0)
		return r;
	char hostname[DOMAIN_HOSTNAME_MAX + 2];
	if (strlen(hostname_in) > DOMAIN_HOSTNAME_MAX + 1)
		return error_set(err, -EINVAL, "hostname '%.64s...' is too long: at most %d characters", hostname_in,
				 DOMAIN_HOSTNAME_MAX);
	snprintf(hostname, sizeof(hostname), "%s", hostname_in);
	r = api_domain_validate(req, hostname, err);
	if (r < 0)
		return r;
	int64_t n;
	r = store_query_int(req->store, "SELECT COUNT(*) FROM domains WHERE app_id = ?", SV_ARGS(SV_TEXT(a.id)), &n, err);
	if (r < 0)
		return r;
	if (n >= DOMAINS_PER_APP_MAX)
		return error_set(err, -EINVAL, "app '%s' has %d domains already, the most an app may have", a.name,
				 DOMAINS_PER_APP_MAX);
	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	time_now_iso(now);
	r = store_exec(req->store,
		       "INSERT INTO domains (id, app_id, hostname, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(a.id), SV_TEXT(hostname), SV_TEXT(now), SV_TEXT(now)), err);
	if (r == -EEXIST)
		return error_set_id(err, -EEXIST, "conflict", "domain '%s' is already in use by an app", hostname);
	if (r < 0)
		return r;
	api_set_action(req, "Add domain %s to %s", hostname, a.name);
	return api_reply(req, 201, domain_json(req, &a, id, hostname, "custom", now, now));
}

static int domain_update(struct api_request *req, struct error *err)
{
	struct app a;
	json_t *d;
	bool own;
	int r = domain_load(req, &a, &d, &own, err);
	if (r < 0)
		return r;
	r = sni_endpoint_check(req, err);
	if (r < 0) {
		json_decref(d);
		return r;
	}
	return api_reply(req, 200, d);
}

static int domain_destroy(struct api_request *req, struct error *err)
{
	struct app a;
	json_t *d;
	bool own;
	int r = domain_load(req, &a, &d, &own, err);
	if (r < 0)
		return r;
	if (own) {
		json_decref(d);
		return error_set(err, -EINVAL, "domain '%s' is the app's own and cannot be removed", req->params[1]);
	}
	r = store_exec(req->store, "DELETE FROM domains WHERE id = ?",
		       SV_ARGS(SV_TEXT(json_string_value(json_object_get(d, "id")))), err);
	if (r < 0) {
		json_decref(d);
		return r;
	}
	api_set_action(req, "Remove domain %s from %s", json_string_value(json_object_get(d, "hostname")), a.name);
	return api_reply(req, 200, d);
}

/*
 * The app's SNI endpoints (certificates its custom domains are served with): always none, as
 * cove's routers serve HTTP only. The heroku CLI lists them before it adds a domain.
 */
static int sni_endpoint_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	req->range_fields = "id,name";
	return api_reply(req, 200, json_array());
}

const struct api_route api_domain_routes[] = {
	{ "GET", "/apps/:app/sni-endpoints", sni_endpoint_list, 0 },
	{ "GET", "/apps/:app/domains", domain_list, 0 },
	{ "POST", "/apps/:app/domains", domain_create, 0 },
	{ "GET", "/apps/:app/domains/:domain", domain_info, 0 },
	{ "PATCH", "/apps/:app/domains/:domain", domain_update, 0 },
	{ "DELETE", "/apps/:app/domains/:domain", domain_destroy, 0 },
	{},
};
