/* SPDX-License-Identifier: MIT */
/*
 * The agents' side of the API: what they should run, what they report, and slugs.
 *
 *   GET  /agent/desired?since=G&wait=S   the desired state of the host's spaces; when G is
 *                                        the current generation, waits up to S seconds (at
 *                                        most 60) for it to change: a long poll, not a loop
 *   POST /agent/report                   the host's observed state: spaces allocated or gone,
 *                                        every dyno it runs (replacing the last report), and
 *                                        the add-ons it has provisioned
 *   GET  /agent/slugs/:id                a slug's tarball
 *
 * A space belongs to the host that allocated it; a space nobody has allocated yet is offered
 * to every host of its region, and the first that reports it allocated takes it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-addons.h"
#include "api/api-domains.h"
#include "api/api-rulesets.h"
#include "api/api-runs.h"
#include "api/api.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

#define WAIT_MAX_SECONDS 60

/* True when region is one of the comma-separated regions of the host. */
static bool host_serves(const struct api_host *host, const char *region)
{
	size_t n = strlen(region);
	for (const char *p = host->regions; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncmp(p, region, n) == 0)
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

static int desired_apps(struct api_request *req, const char *space_id, json_t *apps, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store,
			    "SELECT a.id, a.name, a.uid, a.maintenance, r.id, r.version, r.slug_id, r.config, a.restart_seq,"
			    " (SELECT process_types FROM slugs WHERE id = r.slug_id)"
			    " FROM apps a LEFT JOIN releases r ON r.app_id = a.id AND r.version ="
			    "  (SELECT MAX(version) FROM releases c WHERE c.app_id = a.id AND c.status = 'succeeded')"
			    " WHERE a.space_id = ?",
			    SV_ARGS(SV_TEXT(space_id)), &rows, err);
	if (r < 0)
		return r;
	while ((r = store_rows_next(rows, err)) > 0) {
		const char *app_id = store_rows_text(rows, 0);
		json_t *release = json_null(), *config = json_object();
		if (store_rows_text(rows, 4)) {
			release = json_pack("{s:s, s:I, s:o}", "id", store_rows_text(rows, 4), "version",
					    (json_int_t)store_rows_int(rows, 5), "slug_id",
					    api_string_or_null(store_rows_text(rows, 6)));
			json_t *c = json_loads(store_rows_text(rows, 7) ? store_rows_text(rows, 7) : "{}", 0, NULL);
			if (json_is_object(c)) {
				json_decref(config);
				config = c;
			} else {
				json_decref(c);
			}
		}
		/* The commands are those of the current release's slug: the formation's follow the
		 * newest slug, which may be a release that failed. */
		json_t *types = store_rows_text(rows, 9) ? json_loads(store_rows_text(rows, 9), 0, NULL) : NULL;
		json_t *formation = json_array(), *restarts = json_object();
		_cleanup_rows_ struct store_rows *f = NULL;
		r = store_query(req->store, "SELECT type, quantity, size, command FROM formations WHERE app_id = ? ORDER BY type",
				SV_ARGS(SV_TEXT(app_id)), &f, err);
		while (r >= 0 && (r = store_rows_next(f, err)) > 0) {
			const char *type = store_rows_text(f, 0);
			json_t *command = types ? json_object_get(types, type) : NULL;
			if (!json_is_string(command))
				continue;
			json_array_append_new(formation, json_pack("{s:s, s:I, s:s, s:O}", "type", type, "quantity",
								   (json_int_t)store_rows_int(f, 1), "size",
								   store_rows_text(f, 2), "command", command));
		}
		json_decref(types);
		_cleanup_rows_ struct store_rows *rs = NULL;
		if (r >= 0)
			r = store_query(req->store, "SELECT target, seq FROM dyno_restarts WHERE app_id = ?",
					SV_ARGS(SV_TEXT(app_id)), &rs, err);
		while (r >= 0 && (r = store_rows_next(rs, err)) > 0)
			json_object_set_new(restarts, store_rows_text(rs, 0), json_integer(store_rows_int(rs, 1)));
		json_t *app = json_pack("{s:s, s:s, s:s, s:I, s:b, s:o, s:o, s:o, s:o}", "id", app_id, "name",
					store_rows_text(rows, 1), "space_id", space_id, "uid", (json_int_t)store_rows_int(rows, 2),
					"maintenance", (int)store_rows_int(rows, 3), "release", release, "config", config,
					"formation", formation, "restarts", restarts);
		json_array_append_new(apps, app);
		/* What the space's router needs: the app's domains, whether it is internal. */
		if (r >= 0)
			r = api_app_routing(req, app_id, app, err);
		/* Its one-off dynos. */
		if (r >= 0)
			r = api_runs_desired(req, app_id, app, err);
		if (r < 0)
			return r;
	}
	return r;
}

static int agent_desired(struct api_request *req, struct error *err)
{
	const char *since = api_query(req, "since");
	const char *wait = api_query(req, "wait");
	uint64_t generation = api_generation(req->api);
	if (since && !req->resumed && strtoull(since, NULL, 10) == generation) {
		long w = wait ? strtol(wait, NULL, 10) : 0;
		if (w > WAIT_MAX_SECONDS)
			w = WAIT_MAX_SECONDS;
		if (w > 0) {
			req->wait_until_usec = time_mono_usec() + (uint64_t)w * 1000000u;
			return API_SUSPEND;
		}
	}

	char now[TIME_ISO_MAX];
	store_exec(req->store, "UPDATE hosts SET seen_at = ? WHERE id = ?",
		   SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(req->host.id)), NULL);

	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store,
			    "SELECT s.id, s.name, s.region, s.cidr, s.data_cidr, s.state, s.outbound_ip, s.host_id, s.ingress"
			    " FROM spaces s"
			    " WHERE s.host_id = ? OR s.host_id IS NULL ORDER BY s.created_at",
			    SV_ARGS(SV_TEXT(req->host.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *spaces = json_array(), *apps = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		if (!store_rows_text(rows, 7) && !host_serves(&req->host, store_rows_text(rows, 2)))
			continue;
		json_t *space = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", store_rows_text(rows, 0), "name",
					  store_rows_text(rows, 1), "region", store_rows_text(rows, 2), "cidr",
					  store_rows_text(rows, 3), "data_cidr", store_rows_text(rows, 4), "state",
					  store_rows_text(rows, 5), "outbound_ip", api_string_or_null(store_rows_text(rows, 6)),
					  "ingress", api_string_or_null(store_rows_text(rows, 8)));
		json_array_append_new(spaces, space);
		/* The space's trusted IP ranges and outbound rules (api-rulesets.h). */
		r = api_rulesets_desired(req, store_rows_text(rows, 0), space, err);
		if (r >= 0)
			r = desired_apps(req, store_rows_text(rows, 0), apps, err);
		if (r >= 0)
			r = api_addons_desired(req, store_rows_text(rows, 0), space, err);
		if (r < 0)
			break;
	}
	if (r < 0) {
		json_decref(spaces);
		json_decref(apps);
		return r;
	}
	char gen[32];
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)generation);
	return api_reply(req, 200,
			 json_pack("{s:s, s:{s:s, s:s}, s:o, s:o}", "generation", gen, "host", "id", req->host.id, "name",
				   req->host.name, "spaces", spaces, "apps", apps));
}

static int report_space(struct api_request *req, json_t *s, struct error *err)
{
	const char *id, *state, *outbound_ip = NULL, *ingress = NULL;
	json_error_t jerr;
	if (json_unpack_ex(s, &jerr, 0, "{s:s, s:s, s?:s, s?:s}", "id", &id, "state", &state, "outbound_ip", &outbound_ip,
			   "ingress", &ingress) < 0)
		return error_set(err, -EINVAL, "space report is invalid: %s", jerr.text);
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	if (streq(state, "allocated"))
		return store_exec(req->store,
				  "UPDATE spaces SET state = 'allocated', outbound_ip = ?, ingress = ?, host_id = ?, updated_at = ?"
				  " WHERE id = ? AND state IN ('allocating', 'allocated') AND (host_id IS NULL OR host_id = ?)",
				  SV_ARGS(SV_TEXT(outbound_ip), SV_TEXT(ingress), SV_TEXT(req->host.id), SV_TEXT(now),
					  SV_TEXT(id), SV_TEXT(req->host.id)),
				  err);
	if (streq(state, "destroyed"))
		return store_exec(req->store, "DELETE FROM spaces WHERE id = ? AND state = 'deleting' AND host_id = ?",
				  SV_ARGS(SV_TEXT(id), SV_TEXT(req->host.id)), err);
	return error_set(err, -EINVAL, "space state '%s' is invalid in a report", state);
}

static int report_dyno(struct api_request *req, json_t *d, struct error *err)
{
	const char *id, *app_id, *name, *type, *state, *command, *size, *private_ip = NULL, *created_at = NULL;
	json_int_t version;
	json_error_t jerr;
	if (json_unpack_ex(d, &jerr, 0, "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s?:s, s?:s}", "id", &id, "app_id", &app_id,
			   "name", &name, "type", &type, "release_version", &version, "state", &state, "command", &command,
			   "size", &size, "private_ip", &private_ip, "created_at", &created_at) < 0)
		return error_set(err, -EINVAL, "dyno report is invalid: %s", jerr.text);
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	/* An app destroyed meanwhile is not an error: its dynos are on their way out. */
	int64_t exists;
	int r = store_query_int(req->store, "SELECT COUNT(*) FROM apps WHERE id = ?", SV_ARGS(SV_TEXT(app_id)), &exists, err);
	if (r < 0 || !exists)
		return r;
	return store_exec(req->store,
			  "INSERT INTO dynos (id, app_id, host_id, name, type, release_version, state, command, size, private_ip,"
			  " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			  " ON CONFLICT (id) DO UPDATE SET host_id = excluded.host_id, name = excluded.name,"
			  " type = excluded.type, release_version = excluded.release_version, command = excluded.command,"
			  " size = excluded.size, private_ip = excluded.private_ip, created_at = excluded.created_at,"
			  " updated_at = CASE WHEN dynos.state = excluded.state THEN dynos.updated_at ELSE excluded.updated_at END,"
			  " state = excluded.state",
			  SV_ARGS(SV_TEXT(id), SV_TEXT(app_id), SV_TEXT(req->host.id), SV_TEXT(name), SV_TEXT(type),
				  SV_INT(version), SV_TEXT(state), SV_TEXT(command), SV_TEXT(size), SV_TEXT(private_ip),
				  SV_TEXT(created_at ? created_at : now), SV_TEXT(now)),
			  err);
}

/*
 * A release whose new dynos never came up: it is marked failed, so that the current release
 * is the last one that succeeded again, and the agents go back to it.
 */
static int report_release(struct api_request *req, json_t *rel, struct error *err)
{
	const char *app_id, *status, *reason = NULL;
	json_int_t version;
	json_error_t jerr;
	if (json_unpack_ex(rel, &jerr, 0, "{s:s, s:I, s:s, s?:s}", "app_id", &app_id, "version", &version, "status", &status,
			   "reason", &reason) < 0)
		return error_set(err, -EINVAL, "release report is invalid: %s", jerr.text);
	if (!streq(status, "failed"))
		return error_set(err, -EINVAL, "release status '%s' is invalid in a report", status);
	char now[TIME_ISO_MAX];
	int64_t changed;
	int r = store_exec_changes(req->store,
				   "UPDATE releases SET status = 'failed', updated_at = ? WHERE app_id = ? AND version = ?"
				   " AND status = 'succeeded'",
				   SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(app_id), SV_INT(version)), &changed, err);
	if (r < 0)
		return r;
	if (changed) {
		req->changes_desired = true;
		log_warning("release v%lld of app %s failed: %s", (long long)version, app_id, reason ? reason : "");
	}
	return 0;
}

static int agent_report(struct api_request *req, struct error *err)
{
	json_t *spaces = req->body ? json_object_get(req->body, "spaces") : NULL;
	json_t *dynos = req->body ? json_object_get(req->body, "dynos") : NULL;
	if ((spaces && !json_is_array(spaces)) || (dynos && !json_is_array(dynos)))
		return error_set(err, -EINVAL, "'spaces' and 'dynos' must be lists");
	size_t i;
	json_t *v;
	int r = 0;
	json_array_foreach(spaces, i, v)
	{
		r = report_space(req, v, err);
		if (r < 0)
			return r;
	}
	json_t *ended = req->body ? json_object_get(req->body, "runs_ended") : NULL;
	if (ended && !json_is_array(ended))
		return error_set(err, -EINVAL, "'runs_ended' must be a list");
	r = api_runs_report(req, ended, err);
	if (r < 0)
		return r;
	json_t *rendezvous = req->body ? json_object_get(req->body, "rendezvous") : NULL;
	if (rendezvous && !json_is_string(rendezvous) && !json_is_null(rendezvous))
		return error_set(err, -EINVAL, "'rendezvous' must be an address or null");
	if (rendezvous) {
		r = store_exec(req->store, "UPDATE hosts SET rendezvous = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(json_string_value(rendezvous)), SV_TEXT(req->host.id)), err);
		if (r < 0)
			return r;
	}
	json_t *addons = json_object_get(req->body, "addons");
	if (addons && !json_is_array(addons))
		return error_set(err, -EINVAL, "'addons' must be a list");
	r = api_addons_report(req, addons, err);
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(req->body, "releases"), i, v)
	{
		r = report_release(req, v, err);
		if (r < 0)
			return r;
	}
	if (dynos) {
		json_t *reported = json_object();
		json_array_foreach(dynos, i, v)
		{
			r = report_dyno(req, v, err);
			if (r < 0)
				break;
			json_t *id = json_object_get(v, "id");
			json_object_set(reported, json_string_value(id), json_true());
		}
		/* The report is the whole truth about this host's dynos: the others are gone. */
		json_t *gone = json_array();
		_cleanup_rows_ struct store_rows *rows = NULL;
		if (r >= 0)
			r = store_query(req->store, "SELECT id FROM dynos WHERE host_id = ?", SV_ARGS(SV_TEXT(req->host.id)),
					&rows, err);
		while (r >= 0 && (r = store_rows_next(rows, err)) > 0)
			if (!json_object_get(reported, store_rows_text(rows, 0)))
				json_array_append_new(gone, json_string(store_rows_text(rows, 0)));
		json_array_foreach(gone, i, v)
		{
			if (r < 0)
				break;
			r = store_exec(req->store, "DELETE FROM dynos WHERE id = ?", SV_ARGS(SV_TEXT(json_string_value(v))), err);
		}
		json_decref(gone);
		json_decref(reported);
		if (r < 0)
			return r;
	}
	char now[TIME_ISO_MAX];
	r = store_exec(req->store, "UPDATE hosts SET seen_at = ? WHERE id = ?",
		       SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(req->host.id)), err);
	if (r < 0)
		return r;
	return api_reply(req, 200, json_object());
}

static int agent_slug(struct api_request *req, struct error *err)
{
	int64_t n;
	int r = store_query_int(req->store,
				"SELECT COUNT(*) FROM slugs s JOIN apps a ON a.id = s.app_id JOIN spaces p ON p.id = a.space_id"
				" WHERE s.id = ? AND (p.host_id = ? OR p.host_id IS NULL)",
				SV_ARGS(SV_TEXT(req->params[0]), SV_TEXT(req->host.id)), &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return error_set(err, -ENOENT, "slug '%s' not found", req->params[0]);
	_cleanup_free_ char *path = xasprintf("%s/slugs/%s.tgz", api_get_config(req->api)->data_dir, req->params[0]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -ENOENT, "slug '%s' has no tarball: upload it to its blob URL first", req->params[0]);
	req->file_fd = fd;
	req->content_type = "application/gzip";
	return 0;
}

const struct api_route api_agent_routes[] = {
	{ "GET", "/agent/desired", agent_desired, API_ROUTE_AGENT },
	{ "POST", "/agent/report", agent_report, API_ROUTE_AGENT | API_ROUTE_QUIET },
	{ "GET", "/agent/slugs/:slug", agent_slug, API_ROUTE_AGENT },
	{},
};
