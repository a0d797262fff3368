/* SPDX-License-Identifier: MIT */
#include "api/api-formation.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/timeutil.h"

#define FORMATION_QUANTITY_MAX 100

static int size_parse(const char *s, const char **ret, struct error *err)
{
	const struct dyno_size *size = dyno_size_find(s);
	if (!size)
		return error_set(err, -EINVAL, "dyno size '%s' is unknown: use private-xs, private-s, private-m or private-l", s);
	*ret = size->name;
	return 0;
}

#define FORMATION_COLUMNS "f.id, f.type, f.quantity, f.size, f.command, f.created_at, f.updated_at"

static json_t *formation_json(const struct app *app, struct store_rows *rows)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:{s:s, s:s}, s:s, s:s}", "id", store_rows_text(rows, 0), "type",
			 store_rows_text(rows, 1), "quantity", (json_int_t)store_rows_int(rows, 2), "size",
			 store_rows_text(rows, 3), "command", store_rows_text(rows, 4), "app", "id", app->id, "name",
			 app->name, "created_at", store_rows_text(rows, 5), "updated_at", store_rows_text(rows, 6));
}

int api_formation_sync(struct api_request *req, const struct app *app, const char *slug_id, struct error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = store_query_text(req->store, "SELECT process_types FROM slugs WHERE id = ?", SV_ARGS(SV_TEXT(slug_id)), &text,
				 err);
	if (r < 0)
		return r;
	json_t *types = json_loads(text ? text : "{}", 0, NULL);
	if (!json_is_object(types)) {
		json_decref(types);
		return error_set(err, -EIO, "slug '%s' has damaged process types", slug_id);
	}
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	const char *type;
	json_t *command;
	json_object_foreach(types, type, command)
	{
		/* The release phase runs once per release (docs/deploy.md), never as a dyno. */
		if (streq(type, "release"))
			continue;
		char id[ID_STRING_MAX];
		id_new(id);
		r = store_exec(req->store,
			       "INSERT INTO formations (id, app_id, type, quantity, size, command, created_at, updated_at)"
			       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
			       " ON CONFLICT (app_id, type) DO UPDATE SET command = excluded.command, updated_at = excluded.updated_at",
			       SV_ARGS(SV_TEXT(id), SV_TEXT(app->id), SV_TEXT(type), SV_INT(streq(type, "web") ? 1 : 0),
				       SV_TEXT(DYNO_SIZE_DEFAULT), SV_TEXT(json_string_value(command)), SV_TEXT(now), SV_TEXT(now)),
			       err);
		if (r < 0)
			break;
	}
	if (r >= 0) {
		/* Types the slug no longer has go away. */
		_cleanup_rows_ struct store_rows *rows = NULL;
		r = store_query(req->store, "SELECT type FROM formations WHERE app_id = ?", SV_ARGS(SV_TEXT(app->id)), &rows, err);
		json_t *gone = json_array();
		while (r >= 0 && (r = store_rows_next(rows, err)) > 0)
			if (!json_object_get(types, store_rows_text(rows, 0)) || streq(store_rows_text(rows, 0), "release"))
				json_array_append_new(gone, json_string(store_rows_text(rows, 0)));
		size_t i;
		json_t *t;
		json_array_foreach(gone, i, t)
		{
			if (r < 0)
				break;
			r = store_exec(req->store, "DELETE FROM formations WHERE app_id = ? AND type = ?",
				       SV_ARGS(SV_TEXT(app->id), SV_TEXT(json_string_value(t))), err);
		}
		json_decref(gone);
	}
	json_decref(types);
	return r;
}

static int formation_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " FORMATION_COLUMNS " FROM formations f WHERE f.app_id = ? ORDER BY f.type",
			SV_ARGS(SV_TEXT(a.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, formation_json(&a, rows));
	req->range_fields = "type,id";
	api_reply(req, 200, list);
	return r;
}

static int formation_row(struct api_request *req, const struct app *app, const char *type, json_t **ret,
			 struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT " FORMATION_COLUMNS " FROM formations f WHERE f.app_id = ? AND (f.type = ? OR f.id = ?)",
			      SV_ARGS(SV_TEXT(app->id), SV_TEXT(type), SV_TEXT(type)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "process type '%s' not found for app '%s'", type, app->name);
	*ret = formation_json(app, rows);
	return 0;
}

static int formation_info(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *f;
	r = formation_row(req, &a, req->params[1], &f, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, f);
}

/*
 * Parses a quantity: a number, or a string "2", "+1", "-1" (as the heroku CLI sends them),
 * relative to current when signed.
 */
static int quantity_parse(json_t *v, const char *type, int64_t current, int64_t *ret, struct error *err)
{
	int64_t q;
	if (json_is_integer(v)) {
		q = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		bool relative = s[0] == '+' || s[0] == '-';
		long long n = strtoll(s, &end, 10);
		if (!*s || *end || !isdigit((unsigned char)s[relative ? 1 : 0]))
			return error_set(err, -EINVAL, "quantity '%s' of '%s' is invalid: use a number, +N or -N", s, type);
		/* Bounded before the addition, which could overflow ("+9223372036854775807"). */
		if (n > FORMATION_QUANTITY_MAX || n < -FORMATION_QUANTITY_MAX)
			return error_set(err, -EINVAL, "quantity '%s' of '%s' is out of range: 0 to %d", s, type,
					 FORMATION_QUANTITY_MAX);
		q = relative ? current + n : n;
	} else {
		return error_set(err, -EINVAL, "quantity of '%s' must be a number", type);
	}
	if (q < 0 || q > FORMATION_QUANTITY_MAX)
		return error_set(err, -EINVAL, "quantity %lld of '%s' is out of range: 0 to %d", (long long)q, type,
				 FORMATION_QUANTITY_MAX);
	*ret = q;
	return 0;
}

/* Applies one {type, quantity, size} update; appends the new formation to out. */
static int formation_apply(struct api_request *req, const struct app *app, const char *type, json_t *update, json_t *out,
			   struct error *err)
{
	json_t *cur;
	int r = formation_row(req, app, type, &cur, err);
	if (r < 0)
		return r;
	int64_t quantity = json_integer_value(json_object_get(cur, "quantity"));
	const char *size = NULL;
	json_t *q = json_object_get(update, "quantity");
	json_t *s = json_object_get(update, "size");
	if (q && !json_is_null(q))
		r = quantity_parse(q, type, quantity, &quantity, err);
	if (r >= 0 && s && !json_is_null(s))
		r = json_is_string(s) ? size_parse(json_string_value(s), &size, err)
				      : error_set(err, -EINVAL, "size of '%s' must be a string", type);
	if (r < 0) {
		json_decref(cur);
		return r;
	}
	if (!size)
		size = json_string_value(json_object_get(cur, "size"));
	_cleanup_free_ char *size_copy = xstrdup(size);
	_cleanup_free_ char *id = xstrdup(json_string_value(json_object_get(cur, "id")));
	json_decref(cur);
	char now[TIME_ISO_MAX];
	r = store_exec(req->store, "UPDATE formations SET quantity = ?, size = ?, updated_at = ? WHERE id = ?",
		       SV_ARGS(SV_INT(quantity), SV_TEXT(size_copy), SV_TEXT(time_now_iso(now)), SV_TEXT(id)), err);
	if (r < 0)
		return r;
	r = formation_row(req, app, id, &cur, err);
	if (r < 0)
		return r;
	json_array_append_new(out, cur);
	return 0;
}

static int formation_update(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *out = json_array();
	r = formation_apply(req, &a, req->params[1], req->body, out, err);
	if (r < 0) {
		json_decref(out);
		return r;
	}
	json_t *f = json_incref(json_array_get(out, 0));
	json_decref(out);
	api_set_action(req, "Scale %s %s to %lld:%s", a.name, req->params[1],
		       (long long)json_integer_value(json_object_get(f, "quantity")),
		       json_string_value(json_object_get(f, "size")));
	return api_reply(req, 200, f);
}

static int formation_batch_update(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *updates = req->body ? json_object_get(req->body, "updates") : NULL;
	if (!json_is_array(updates) || json_array_size(updates) == 0)
		return error_set(err, -EINVAL, "'updates' must be a non-empty list of {type, quantity, size}");
	if (json_array_size(updates) > 100)
		return error_set(err, -EINVAL, "'updates' has too many entries: at most 100");
	json_t *out = json_array();
	size_t i;
	json_t *u;
	char summary[200] = "";
	json_array_foreach(updates, i, u)
	{
		json_t *type = json_object_get(u, "type");
		if (!json_is_object(u) || !json_is_string(type)) {
			r = error_set(err, -EINVAL, "each update needs a 'type'");
			break;
		}
		r = formation_apply(req, &a, json_string_value(type), u, out, err);
		if (r < 0)
			break;
		json_t *f = json_array_get(out, json_array_size(out) - 1);
		size_t l = strlen(summary);
		snprintf(summary + l, sizeof(summary) - l, "%s%s=%lld:%s", l ? " " : "", json_string_value(type),
			 (long long)json_integer_value(json_object_get(f, "quantity")),
			 json_string_value(json_object_get(f, "size")));
	}
	if (r < 0) {
		json_decref(out);
		return r;
	}
	api_set_action(req, "Scale %s %s", a.name, summary);
	return api_reply(req, 200, out);
}

const struct api_route api_formation_routes[] = {
	{ "GET", "/apps/:app/formation", formation_list, 0 },
	{ "PATCH", "/apps/:app/formation", formation_batch_update, 0 },
	{ "GET", "/apps/:app/formation/:type", formation_info, 0 },
	{ "PATCH", "/apps/:app/formation/:type", formation_update, 0 },
	{},
};
