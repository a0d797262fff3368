/* SPDX-License-Identifier: MIT */
#include "api/api-hosts.h"

#include <stdio.h>
#include <string.h>

#include "api/api-auth.h"
#include "api/api-regions.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "base/validate.h"

static int host_upsert(struct store *st, const char *name, const char *regions, char ret_id[static ID_STRING_MAX],
		       char ret_token[static HOST_TOKEN_MAX], struct error *err)
{
	char hash[CRYPTO_TOKEN_HASH_MAX], now[TIME_ISO_MAX];
	crypto_token_new(ret_token);
	crypto_token_hash(ret_token, hash);
	time_now_iso(now);
	_cleanup_free_ char *id = NULL;
	int r = store_query_text(st, "SELECT id FROM hosts WHERE name = ?", SV_ARGS(SV_TEXT(name)), &id, err);
	if (r == -ENOENT) {
		id_new(ret_id);
		return store_exec(st,
				  "INSERT INTO hosts (id, name, regions, token_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
				  SV_ARGS(SV_TEXT(ret_id), SV_TEXT(name), SV_TEXT(regions), SV_TEXT(hash), SV_TEXT(now),
					  SV_TEXT(now)),
				  err);
	}
	if (r < 0)
		return r;
	snprintf(ret_id, ID_STRING_MAX, "%s", id);
	return store_exec(st, "UPDATE hosts SET regions = ?, token_hash = ?, updated_at = ? WHERE id = ?",
			  SV_ARGS(SV_TEXT(regions), SV_TEXT(hash), SV_TEXT(now), SV_TEXT(id)), err);
}

int api_host_register(struct store *st, const char *name, const char *regions, char ret_token[static HOST_TOKEN_MAX],
		      struct error *err)
{
	char id[ID_STRING_MAX];
	int r = store_begin(st, err);
	if (r < 0)
		return r;
	r = host_upsert(st, name, regions, id, ret_token, err);
	if (r < 0) {
		store_rollback(st);
		return r;
	}
	return store_commit(st, err);
}

static json_t *host_json(struct store_rows *rows)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", store_rows_text(rows, 0), "name", store_rows_text(rows, 1),
			 "regions", store_rows_text(rows, 2), "created_at", store_rows_text(rows, 3), "updated_at",
			 store_rows_text(rows, 4), "seen_at", api_string_or_null(store_rows_text(rows, 5)));
}

#define HOST_COLUMNS "id, name, regions, created_at, updated_at, seen_at"

static int host_create(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	const char *name, *regions;
	r = api_body_string(req, "name", true, &name, err);
	if (r >= 0)
		r = api_body_string(req, "regions", true, &regions, err);
	if (r < 0)
		return r;
	r = validate_name("host", name, 63, err);
	if (r < 0)
		return r;
	if (strlen(regions) > 500)
		return error_set(err, -EINVAL, "regions is too long");
	_cleanup_free_ char *copy = xstrdup(regions);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!api_region_exists(req->api, t)) {
			_cleanup_free_ char *list = api_region_list(req->api);
			return error_set(err, -EINVAL, "region '%s' is unknown: use one of %s", t, list);
		}
	char id[ID_STRING_MAX], token[HOST_TOKEN_MAX];
	r = host_upsert(req->store, name, regions, id, token, err);
	if (r < 0)
		return r;
	api_set_action(req, "Register host %s for %s", name, regions);
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " HOST_COLUMNS " FROM hosts WHERE id = ?", SV_ARGS(SV_TEXT(id)), &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : -EIO;
	json_t *j = host_json(rows);
	json_object_set_new(j, "token", json_string(token));
	return api_reply(req, 201, j);
}

static int host_list(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " HOST_COLUMNS " FROM hosts", SV_NONE, &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, host_json(rows));
	req->range_fields = "name,id";
	api_reply(req, 200, list);
	return r;
}

static int host_destroy(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = api_query_row(req, "SELECT " HOST_COLUMNS " FROM hosts WHERE id = ? OR name = ?",
			  SV_ARGS(SV_TEXT(req->params[0]), SV_TEXT(req->params[0])), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "host '%s' not found", req->params[0]);
	json_t *j = host_json(rows);
	const char *id = json_string_value(json_object_get(j, "id"));
	int64_t n;
	r = store_query_int(req->store, "SELECT COUNT(*) FROM spaces WHERE host_id = ?", SV_ARGS(SV_TEXT(id)), &n, err);
	if (r >= 0 && n > 0)
		r = error_set(err, -ENOTEMPTY, "host '%s' still runs %lld space%s", req->params[0], (long long)n, n == 1 ? "" : "s");
	if (r >= 0)
		r = store_exec(req->store, "DELETE FROM hosts WHERE id = ?", SV_ARGS(SV_TEXT(id)), err);
	if (r < 0) {
		json_decref(j);
		return r;
	}
	api_set_action(req, "Remove host %s", req->params[0]);
	return api_reply(req, 200, j);
}

const struct api_route api_host_routes[] = {
	{ "GET", "/hosts", host_list, 0 },
	{ "POST", "/hosts", host_create, 0 },
	{ "DELETE", "/hosts/:host", host_destroy, 0 },
	{},
};
