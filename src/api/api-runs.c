/* SPDX-License-Identifier: MIT */
/*
 * One-off dynos (api-runs.h): POST /apps/{app}/dynos, their place in the desired state, the
 * agents' reports of their end, ps:stop.
 */
#include "api/api-runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/dyno-size.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/validate.h"
#include "api/api-logs.h"

#define RUN_COMMAND_MAX (32 * 1024)
#define RUN_ENV_MAX (64 * 1024) /* bytes of the env object as JSON */
#define RUN_NAME_TRIES 20

/* The env object of a request: string values under valid config var names. */
static int check_env(json_t *env, struct error *err)
{
	if (!env || json_is_null(env))
		return 0;
	if (!json_is_object(env))
		return error_set(err, -EINVAL, "'env' must be an object of strings");
	const char *key;
	json_t *value;
	json_object_foreach(env, key, value)
	{
		int r = validate_config_key(key, err);
		if (r < 0)
			return r;
		if (!json_is_string(value))
			return error_set(err, -EINVAL, "'env' value of '%s' must be a string", key);
	}
	_cleanup_free_ char *text = json_dumps(env, JSON_COMPACT);
	if (strlen(text) > RUN_ENV_MAX)
		return error_set(err, -EINVAL, "'env' is larger than %d bytes", RUN_ENV_MAX);
	return 0;
}

/* The rendezvous address of the agent that runs the app's space, or NULL. */
static int space_rendezvous(struct api_request *req, const struct app *app, char **ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT h.rendezvous FROM spaces s JOIN hosts h ON h.id = s.host_id WHERE s.id = ?",
			      SV_ARGS(SV_TEXT(app->space.id)), &rows, err);
	if (r < 0)
		return r;
	*ret = r > 0 && store_rows_text(rows, 0) ? xstrdup(store_rows_text(rows, 0)) : NULL;
	return 0;
}

int api_run_create(struct api_request *req, const struct app *app, const struct run_request *run, json_t **ret,
		   struct error *err)
{
	const char *type = run->type ? run->type : "run";
	int r;
	if (!run->command || !*run->command)
		return error_set(err, -EINVAL, "'command' is required");
	if (strlen(run->command) > RUN_COMMAND_MAX)
		return error_set(err, -EINVAL, "'command' is longer than %d bytes", RUN_COMMAND_MAX);
	r = validate_name("process type", type, 30, err);
	if (r < 0)
		return r;
	const struct dyno_size *size = dyno_size_find(run->size ? run->size : DYNO_SIZE_DEFAULT);
	if (!size)
		return error_set(err, -EINVAL, "dyno size '%s' is unknown: see GET /dyno-sizes", run->size);
	if (run->time_to_live < 0 || run->time_to_live > RUN_TTL_DEFAULT)
		return error_set(err, -EINVAL, "'time_to_live' must be 1 to %d seconds", RUN_TTL_DEFAULT);
	r = check_env(run->env, err);
	if (r < 0)
		return r;

	int64_t version = run->release_version;
	if (!version) {
		r = store_query_int(req->store,
				    "SELECT COALESCE(MAX(version), 0) FROM releases WHERE app_id = ? AND status = 'succeeded'"
				    " AND slug_id IS NOT NULL",
				    SV_ARGS(SV_TEXT(app->id)), &version, err);
		if (r < 0)
			return r;
		if (!version)
			return error_set(err, -EINVAL, "app '%s' has no release with a slug to run: deploy it first", app->name);
	}

	_cleanup_free_ char *rendezvous = NULL;
	char secret[CRYPTO_TOKEN_MAX] = "", secret_hash[CRYPTO_TOKEN_HASH_MAX] = "";
	if (run->attach) {
		r = space_rendezvous(req, app, &rendezvous, err);
		if (r < 0)
			return r;
		if (!rendezvous)
			return error_set(err, -EBUSY, "the runtime of space '%s' takes no attached sessions now: try run:detached",
					 app->space.name);
		crypto_token_new(secret);
		crypto_token_hash(secret, secret_hash);
	}

	char id[ID_STRING_MAX], now[TIME_ISO_MAX], name[48];
	id_new(id);
	time_now_iso(now);
	_cleanup_free_ char *env = json_dumps(run->env && json_is_object(run->env) ? run->env : json_object(), JSON_COMPACT);
	long ttl = run->time_to_live ? run->time_to_live : RUN_TTL_DEFAULT;
	for (int tries = 0;; tries++) {
		if (run->name) {
			snprintf(name, sizeof(name), "%s", run->name);
		} else {
			/* run.1000 to run.9999, as Heroku numbers them; release.NNNN for the release phase. */
			char hex[5];
			crypto_random_hex(hex, 2);
			snprintf(name, sizeof(name), "%s.%lu", streq(type, "release") ? "release" : "run",
				 1000 + strtoul(hex, NULL, 16) % 9000);
		}
		int64_t taken;
		r = store_query_int(req->store, "SELECT COUNT(*) FROM runs WHERE app_id = ? AND name = ?",
				    SV_ARGS(SV_TEXT(app->id), SV_TEXT(name)), &taken, err);
		if (r < 0)
			return r;
		if (!taken)
			break;
		if (run->name || tries >= RUN_NAME_TRIES)
			return error_set(err, -EEXIST, "one-off dyno '%s' of app '%s' exists", name, app->name);
	}
	r = store_exec(req->store,
		       "INSERT INTO runs (id, app_id, name, type, command, size, env, release_version, attach, tty, secret_hash,"
		       " time_to_live, user_email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(app->id), SV_TEXT(name), SV_TEXT(type), SV_TEXT(run->command),
			       SV_TEXT(size->name), SV_TEXT(env), SV_INT(version), SV_INT(run->attach), SV_INT(run->attach && run->tty),
			       SV_TEXT(run->attach ? secret_hash : NULL), SV_INT(ttl),
			       SV_TEXT(req->authenticated ? req->user.email : NULL), SV_TEXT(now)),
		       err);
	if (r < 0)
		return r;
	json_t *attach_url = json_null();
	if (run->attach)
		attach_url = json_sprintf("rendezvous://%s/%s", rendezvous, secret);
	char release_id[ID_STRING_MAX] = "";
	_cleanup_rows_ struct store_rows *rows = NULL;
	if (store_query(req->store, "SELECT id FROM releases WHERE app_id = ? AND version = ?",
			SV_ARGS(SV_TEXT(app->id), SV_INT(version)), &rows, NULL) >= 0 &&
	    store_rows_next(rows, NULL) > 0)
		snprintf(release_id, sizeof(release_id), "%s", store_rows_text(rows, 0));
	*ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:I}, s:n, s:s, s:s, s:{s:s, s:s}}", "id", id,
			 "name", name, "type", type, "state", "starting", "size", size->name, "command", run->command,
			 "attach_url", attach_url, "release", "id", release_id, "version", (json_int_t)version, "private_ip",
			 "created_at", now, "updated_at", now, "app", "id", app->id, "name", app->name);
	return 0;
}

int api_release_phase_start(struct api_request *req, const struct app *app, int64_t version, const char *slug_id,
			    json_t **ret_dyno, struct error *err)
{
	*ret_dyno = NULL;
	_cleanup_free_ char *types_text = NULL;
	int r = store_query_text(req->store, "SELECT process_types FROM slugs WHERE id = ?", SV_ARGS(SV_TEXT(slug_id)),
				 &types_text, err);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	json_t *types = json_loads(types_text, 0, NULL);
	const char *command = json_string_value(json_object_get(types, "release"));
	if (!command) {
		json_decref(types);
		return 0;
	}
	char now[TIME_ISO_MAX];
	r = store_exec(req->store, "UPDATE releases SET status = 'pending', updated_at = ? WHERE app_id = ? AND version = ?",
		       SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(app->id), SV_INT(version)), err);
	struct run_request run = { .command = command, .type = "release", .release_version = version, .attach = true };
	if (r >= 0) {
		r = api_run_create(req, app, &run, ret_dyno, err);
		if (r == -EBUSY) {
			/* No session to show its output in: it goes to the log. */
			error_clear(err);
			run.attach = false;
			r = api_run_create(req, app, &run, ret_dyno, err);
		}
	}
	if (r >= 0)
		api_log_action(req, app->id, "Release v%lld: running the release command `%.200s`", (long long)version, command);
	json_decref(types);
	return r;
}

int api_runs_desired(struct api_request *req, const char *app_id, json_t *app, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store,
			    "SELECT u.id, u.name, u.type, u.command, u.size, u.env, u.release_version, u.attach, u.tty,"
			    " u.secret_hash, u.time_to_live, u.stop, u.user_email, r.slug_id, r.config"
			    " FROM runs u JOIN releases r ON r.app_id = u.app_id AND r.version = u.release_version"
			    " WHERE u.app_id = ? ORDER BY u.created_at",
			    SV_ARGS(SV_TEXT(app_id)), &rows, err);
	if (r < 0)
		return r;
	json_t *runs = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		json_t *env = json_loads(store_rows_text(rows, 14) ? store_rows_text(rows, 14) : "{}", 0, NULL);
		json_t *over = json_loads(store_rows_text(rows, 5), 0, NULL);
		if (!json_is_object(env)) {
			json_decref(env);
			env = json_object();
		}
		if (json_is_object(over))
			json_object_update(env, over);
		json_decref(over);
		json_array_append_new(
			runs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:b, s:o, s:I, s:b, s:o, s:o}", "id",
					store_rows_text(rows, 0), "name", store_rows_text(rows, 1), "type",
					store_rows_text(rows, 2), "command", store_rows_text(rows, 3), "size",
					store_rows_text(rows, 4), "env", env, "release_version",
					(json_int_t)store_rows_int(rows, 6), "attach", (int)store_rows_int(rows, 7), "tty",
					(int)store_rows_int(rows, 8), "secret_hash", api_string_or_null(store_rows_text(rows, 9)),
					"time_to_live", (json_int_t)store_rows_int(rows, 10), "stop", (int)store_rows_int(rows, 11),
					"user", api_string_or_null(store_rows_text(rows, 12)), "slug_id",
					api_string_or_null(store_rows_text(rows, 13))));
	}
	json_object_set_new(app, "runs", runs);
	return r;
}

/* A release phase ended: its release goes live, or fails and the current one stays. */
static int settle_release(struct api_request *req, const char *app_id, int64_t version, int exit_status,
			  struct error *err)
{
	char now[TIME_ISO_MAX];
	int64_t changed;
	const char *status = exit_status == 0 ? "succeeded" : "failed";
	int r = store_exec_changes(req->store,
				   "UPDATE releases SET status = ?, updated_at = ? WHERE app_id = ? AND version = ? AND status = 'pending'",
				   SV_ARGS(SV_TEXT(status), SV_TEXT(time_now_iso(now)), SV_TEXT(app_id), SV_INT(version)),
				   &changed, err);
	if (r < 0)
		return r;
	if (changed) {
		req->changes_desired = true;
		if (exit_status == 0)
			api_log_action(req, app_id, "Release v%lld: the release command succeeded; v%lld is current", (long long)version,
				       (long long)version);
		else
			api_log_action(req, app_id, "Release v%lld failed: the release command exited with status %d; the previous release stays current",
				       (long long)version, exit_status);
		log_info("release v%lld of app %s %s: release command exited with status %d", (long long)version, app_id,
			 status, exit_status);
	}
	return 0;
}

int api_runs_report(struct api_request *req, json_t *ended, struct error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(ended, i, v)
	{
		const char *id;
		json_int_t exit_status;
		json_error_t jerr;
		if (json_unpack_ex(v, &jerr, 0, "{s:s, s:I}", "id", &id, "exit_status", &exit_status) < 0)
			return error_set(err, -EINVAL, "ended one-off dyno report is invalid: %s", jerr.text);
		_cleanup_rows_ struct store_rows *rows = NULL;
		int r = api_query_row(req,
				      "SELECT u.app_id, u.type, u.release_version FROM runs u JOIN apps a ON a.id = u.app_id"
				      " JOIN spaces s ON s.id = a.space_id WHERE u.id = ? AND s.host_id = ?",
				      SV_ARGS(SV_TEXT(id), SV_TEXT(req->host.id)), &rows, err);
		if (r < 0)
			return r;
		if (r == 0)
			continue; /* reported before, or its app is gone */
		if (streq(store_rows_text(rows, 1), "release")) {
			r = settle_release(req, store_rows_text(rows, 0), store_rows_int(rows, 2), (int)exit_status, err);
			if (r < 0)
				return r;
		}
		r = store_exec(req->store, "DELETE FROM runs WHERE id = ?", SV_ARGS(SV_TEXT(id)), err);
		if (r < 0)
			return r;
		req->changes_desired = true;
	}
	return 0;
}

int api_run_stop(struct api_request *req, const struct app *app, const char *name, bool *ret_found, struct error *err)
{
	int64_t changed;
	int r = store_exec_changes(req->store, "UPDATE runs SET stop = 1 WHERE app_id = ? AND (name = ? OR id = ?)",
				   SV_ARGS(SV_TEXT(app->id), SV_TEXT(name), SV_TEXT(name)), &changed, err);
	if (r < 0)
		return r;
	*ret_found = changed > 0;
	return 0;
}

int api_runs_unreported(struct api_request *req, const struct app *app, json_t *list, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store,
			    "SELECT u.id, u.name, u.type, u.size, u.command, u.release_version, u.created_at,"
			    " (SELECT id FROM releases r WHERE r.app_id = u.app_id AND r.version = u.release_version)"
			    " FROM runs u WHERE u.app_id = ? AND NOT EXISTS (SELECT 1 FROM dynos d WHERE d.id = u.id)"
			    " ORDER BY u.name",
			    SV_ARGS(SV_TEXT(app->id)), &rows, err);
	if (r < 0)
		return r;
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:o, s:I}, s:n, s:s, s:s, s:n, s:{s:s, s:s}}",
						      "id", store_rows_text(rows, 0), "name", store_rows_text(rows, 1),
						      "type", store_rows_text(rows, 2), "state", "starting", "size",
						      store_rows_text(rows, 3), "command", store_rows_text(rows, 4),
						      "release", "id", api_string_or_null(store_rows_text(rows, 7)),
						      "version", (json_int_t)store_rows_int(rows, 5), "private_ip",
						      "created_at", store_rows_text(rows, 6), "updated_at",
						      store_rows_text(rows, 6), "attach_url", "app", "id", app->id, "name",
						      app->name));
	return r;
}

static int dyno_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	struct run_request run = { 0 };
	bool force_no_tty = false;
	json_t *ttl = req->body ? json_object_get(req->body, "time_to_live") : NULL;
	r = api_body_string(req, "command", true, &run.command, err);
	if (r >= 0)
		r = api_body_string(req, "type", false, &run.type, err);
	if (r >= 0)
		r = api_body_string(req, "size", false, &run.size, err);
	if (r >= 0)
		r = api_body_bool(req, "attach", &run.attach, NULL, err);
	if (r >= 0)
		r = api_body_bool(req, "force_no_tty", &force_no_tty, NULL, err);
	if (r >= 0 && ttl && !json_is_null(ttl)) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 1)
			r = error_set(err, -EINVAL, "'time_to_live' must be 1 to %d seconds", RUN_TTL_DEFAULT);
		else
			run.time_to_live = (long)json_integer_value(ttl);
	}
	if (r < 0)
		return r;
	run.env = req->body ? json_object_get(req->body, "env") : NULL;
	run.tty = !force_no_tty;
	json_t *dyno;
	r = api_run_create(req, &a, &run, &dyno, err);
	if (r < 0)
		return r;
	api_set_action(req, "Run `%.120s` as %s of %s%s", run.command, json_string_value(json_object_get(dyno, "name")),
		       a.name, run.attach ? " (attached)" : " (detached)");
	return api_reply(req, 201, dyno);
}

const struct api_route api_run_routes[] = {
	{ "POST", "/apps/:app/dynos", dyno_create, 0 },
	{},
};
