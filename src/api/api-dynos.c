/* SPDX-License-Identifier: MIT */
/*
 * Dynos as users see them: what the agents last reported (GET), and restarts (DELETE, stop).
 * A restart is a request the agents act on: a counter per target ("*", a process type or a
 * dyno name) that moves on, so that asking twice restarts twice and nothing is lost when an
 * agent is briefly away.
 */
#include <stdio.h>
#include <string.h>

#include "api/api-apps.h"
#include "api/api-domains.h"
#include "api/api-runs.h"
#include "base/alloc.h"

#define DYNO_COLUMNS                                                                                  \
	"d.id, d.name, d.type, d.state, d.size, d.command, d.release_version, d.private_ip, d.created_at," \
	" d.updated_at, (SELECT id FROM releases r WHERE r.app_id = d.app_id AND r.version = d.release_version)"

static json_t *dyno_json(const char *app_id, const char *app_name, struct store_rows *rows)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:o, s:I}, s:o, s:s, s:s, s:n, s:{s:s, s:s}}", "id",
			 store_rows_text(rows, 0), "name", store_rows_text(rows, 1), "type", store_rows_text(rows, 2),
			 "state", store_rows_text(rows, 3), "size", store_rows_text(rows, 4), "command",
			 store_rows_text(rows, 5), "release", "id", api_string_or_null(store_rows_text(rows, 10)), "version",
			 (json_int_t)store_rows_int(rows, 6), "private_ip", api_string_or_null(store_rows_text(rows, 7)),
			 "created_at", store_rows_text(rows, 8), "updated_at", store_rows_text(rows, 9), "attach_url", "app",
			 "id", app_id, "name", app_name);
}

static int dynos_of_app(struct api_request *req, const struct app *a, json_t **ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store, "SELECT " DYNO_COLUMNS " FROM dynos d WHERE d.app_id = ? ORDER BY d.type, d.name",
			    SV_ARGS(SV_TEXT(a->id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, dyno_json(a->id, a->name, rows));
	if (r >= 0)
		r = api_runs_unreported(req, a, list, err);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	*ret = list;
	return 0;
}

static int dyno_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *list;
	r = dynos_of_app(req, &a, &list, err);
	if (r < 0)
		return r;
	req->range_fields = "name,id";
	return api_reply(req, 200, list);
}

static int dyno_info(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = api_query_row(req, "SELECT " DYNO_COLUMNS " FROM dynos d WHERE d.app_id = ? AND (d.name = ? OR d.id = ?)",
			  SV_ARGS(SV_TEXT(a.id), SV_TEXT(req->params[1]), SV_TEXT(req->params[1])), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "dyno '%s' of app '%s' not found", req->params[1], a.name);
	return api_reply(req, 200, dyno_json(a.id, a.name, rows));
}

static int restart_request(struct api_request *req, const struct app *a, const char *target, struct error *err)
{
	return store_exec(req->store,
			  "INSERT INTO dyno_restarts (app_id, target, seq) VALUES (?, ?, 1)"
			  " ON CONFLICT (app_id, target) DO UPDATE SET seq = dyno_restarts.seq + 1",
			  SV_ARGS(SV_TEXT(a->id), SV_TEXT(target)), err);
}

static int dyno_restart_all(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	r = restart_request(req, &a, "*", err);
	if (r < 0)
		return r;
	api_set_action(req, "Restart all dynos of %s", a.name);
	return api_reply(req, 202, json_object());
}

/* A dyno name "web.1" or a process type "web". */
static int check_target(struct api_request *req, const struct app *a, const char *target, bool want_type,
			struct error *err)
{
	_cleanup_free_ char *type = xstrndup(target, strcspn(target, "."));
	int64_t n;
	int r = store_query_int(req->store, "SELECT COUNT(*) FROM formations WHERE app_id = ? AND type = ?",
				SV_ARGS(SV_TEXT(a->id), SV_TEXT(type)), &n, err);
	if (r < 0)
		return r;
	if (n == 0 || (want_type && strchr(target, '.')))
		return error_set(err, -ENOENT, "%s '%s' not found for app '%s'", want_type ? "process type" : "dyno", target,
				 a->name);
	return 0;
}

/* Requests a restart of the dyno or process type named in the path; verb says it in the audit. */
static int restart_target(struct api_request *req, bool type, const char *verb, struct error *err)
{
	struct app a;
	bool one_off = false;
	int r = api_app_load(req, req->params[0], &a, err);
	/* A one-off dyno is never restarted: stopping or restarting it ends it. */
	if (r >= 0 && !type)
		r = api_run_stop(req, &a, req->params[1], &one_off, err);
	if (r >= 0 && one_off) {
		api_set_action(req, "Stop one-off dyno %s of %s", req->params[1], a.name);
		return api_reply(req, 202, json_object());
	}
	if (r >= 0)
		r = check_target(req, &a, req->params[1], type, err);
	if (r >= 0)
		r = restart_request(req, &a, req->params[1], err);
	if (r < 0)
		return r;
	api_set_action(req, "%s %s%s of %s", verb, req->params[1], type ? " dynos" : "", a.name);
	return api_reply(req, 202, json_object());
}

static int dyno_restart_one(struct api_request *req, struct error *err)
{
	return restart_target(req, false, "Restart", err);
}

static int formation_restart(struct api_request *req, struct error *err)
{
	return restart_target(req, true, "Restart", err);
}

/* Stopping a dyno of the formation restarts it, as on Heroku: the formation says it runs. */
static int dyno_stop(struct api_request *req, struct error *err)
{
	return restart_target(req, false, "Stop", err);
}

static int formation_stop(struct api_request *req, struct error *err)
{
	return restart_target(req, true, "Stop", err);
}

static int space_dynos(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT id FROM apps WHERE space_id = ? ORDER BY name", SV_ARGS(SV_TEXT(s.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		struct app a;
		json_t *dynos;
		r = api_app_load(req, store_rows_text(rows, 0), &a, err);
		if (r >= 0)
			r = dynos_of_app(req, &a, &dynos, err);
		if (r < 0)
			break;
		json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "app_id", a.id, "app_name", a.name, "dynos", dynos));
	}
	if (r < 0) {
		json_decref(list);
		return r;
	}
	return api_reply(req, 200, list);
}

static int space_topology(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT id, name FROM apps WHERE space_id = ? ORDER BY name", SV_ARGS(SV_TEXT(s.id)),
			&rows, err);
	if (r < 0)
		return r;
	json_t *apps = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		const char *app_id = store_rows_text(rows, 0);
		json_t *formations = json_object();
		_cleanup_rows_ struct store_rows *d = NULL;
		r = store_query(req->store, "SELECT id, type, name, private_ip FROM dynos WHERE app_id = ? ORDER BY type, name",
				SV_ARGS(SV_TEXT(app_id)), &d, err);
		while (r >= 0 && (r = store_rows_next(d, err)) > 0) {
			const char *type = store_rows_text(d, 1), *name = store_rows_text(d, 2);
			json_t *f = json_object_get(formations, type);
			if (!f) {
				f = json_pack("{s:s, s:[]}", "process_type", type, "dynos");
				json_object_set_new(formations, type, f);
			}
			const char *dot = strchr(name, '.');
			_cleanup_free_ char *hostname = xasprintf("%s.%s.%s.app.localspace", dot ? dot + 1 : "1", type,
								   store_rows_text(rows, 1));
			json_array_append_new(json_object_get(f, "dynos"),
					      json_pack("{s:s, s:i, s:o, s:s}", "id", store_rows_text(d, 0), "number",
							dot ? atoi(dot + 1) : 1, "private_ip",
							api_string_or_null(store_rows_text(d, 3)), "hostname", hostname));
		}
		json_t *flist = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(formations, k, v) json_array_append(flist, v);
		json_decref(formations);
		json_t *app = json_pack("{s:s, s:s, s:o}", "id", app_id, "name", store_rows_text(rows, 1), "formations", flist);
		json_array_append_new(apps, app);
		/* Its own host name and its custom domains, as its router serves them. */
		if (r >= 0)
			r = api_app_routing(req, app_id, app, err);
		json_object_del(app, "internal_routing");
		if (r < 0)
			break;
	}
	if (r < 0) {
		json_decref(apps);
		return r;
	}
	return api_reply(req, 200, json_pack("{s:i, s:o}", "version", 1, "apps", apps));
}

const struct api_route api_dyno_routes[] = {
	{ "GET", "/apps/:app/dynos", dyno_list, 0 },
	{ "DELETE", "/apps/:app/dynos", dyno_restart_all, 0 },
	{ "GET", "/apps/:app/dynos/:dyno", dyno_info, 0 },
	{ "DELETE", "/apps/:app/dynos/:dyno", dyno_restart_one, 0 },
	{ "POST", "/apps/:app/dynos/:dyno/actions/stop", dyno_stop, 0 },
	{ "DELETE", "/apps/:app/formations/:type", formation_restart, 0 },
	{ "POST", "/apps/:app/formations/:type/actions/stop", formation_stop, 0 },
	{ "GET", "/spaces/:space/dynos", space_dynos, 0 },
	{ "GET", "/spaces/:space/topology", space_topology, 0 },
	{},
};
