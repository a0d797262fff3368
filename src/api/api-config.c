/* SPDX-License-Identifier: MIT */
/*
 * Config vars: GET and PATCH /apps/:app/config-vars. A PATCH sets the keys it names and
 * unsets those whose value is null, all at once, and makes a release when anything changed.
 */
#include <stdio.h>
#include <string.h>

#include "api/api-addon-attachments.h"
#include "api/api-releases.h"
#include "base/alloc.h"
#include "base/strbuf.h"
#include "base/validate.h"

#define CONFIG_SIZE_MAX (32 * 1024)

static int config_get(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *config;
	r = api_config_load(req, a.id, &config, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, config);
}

static void describe(struct strbuf *sb, const char *verb, json_t *keys)
{
	size_t n = json_array_size(keys);
	strbuf_addf(sb, "%s ", verb);
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
		strbuf_addf(sb, "%s%s", sep, json_string_value(json_array_get(keys, i)));
	}
	/* Heroku says "config vars" even for one. */
	strbuf_addstr(sb, " config vars");
}

static int config_update(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	if (!req->body)
		return error_set(err, -EINVAL, "request body must be an object of config vars");

	r = api_addons_config_check(req, a.id, req->body, err);
	if (r < 0)
		return r;
	json_t *config;
	r = api_config_load(req, a.id, &config, err);
	if (r < 0)
		return r;
	json_t *set = json_array(), *unset = json_array();
	const char *key;
	json_t *value;
	json_object_foreach(req->body, key, value)
	{
		r = validate_config_key(key, err);
		if (r < 0)
			break;
		if (config_key_is_reserved(key)) {
			r = error_set(err, -EINVAL, "config var '%s' is invalid: the HEROKU_ and COVE_ prefixes are reserved", key);
			break;
		}
		if (json_is_null(value)) {
			if (json_object_get(config, key)) {
				json_object_del(config, key);
				json_array_append_new(unset, json_string(key));
			}
		} else if (json_is_string(value)) {
			json_t *old = json_object_get(config, key);
			if (!old || !streq(json_string_value(old), json_string_value(value))) {
				json_object_set(config, key, value);
				json_array_append_new(set, json_string(key));
			}
		} else {
			r = error_set(err, -EINVAL, "config var '%s' must be a string, or null to unset it", key);
			break;
		}
	}

	size_t total = 0;
	json_object_foreach(config, key, value) total += strlen(key) + json_string_length(value);
	if (r >= 0 && total > CONFIG_SIZE_MAX)
		r = error_set(err, -EINVAL, "config vars of '%s' would take %zu bytes: at most %d are allowed", a.name, total,
			      CONFIG_SIZE_MAX);

	if (r >= 0 && (json_array_size(set) || json_array_size(unset))) {
		size_t i;
		json_array_foreach(set, i, value)
		{
			const char *k = json_string_value(value);
			r = store_exec(req->store,
				       "INSERT INTO config_vars (app_id, key, value) VALUES (?, ?, ?)"
				       " ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value",
				       SV_ARGS(SV_TEXT(a.id), SV_TEXT(k), SV_TEXT(json_string_value(json_object_get(config, k)))),
				       err);
			if (r < 0)
				break;
		}
		json_array_foreach(unset, i, value)
		{
			if (r < 0)
				break;
			r = store_exec(req->store, "DELETE FROM config_vars WHERE app_id = ? AND key = ?",
				       SV_ARGS(SV_TEXT(a.id), SV_TEXT(json_string_value(value))), err);
		}
		if (r >= 0) {
			_cleanup_strbuf_ struct strbuf desc = STRBUF_INIT;
			if (json_array_size(set) && json_array_size(unset)) {
				describe(&desc, "Set", set);
				strbuf_addstr(&desc, ", ");
				describe(&desc, "remove", unset);
			} else if (json_array_size(set)) {
				describe(&desc, "Set", set);
			} else {
				describe(&desc, "Remove", unset);
			}
			r = api_release_create(req, &a, desc.buf, NULL, config, NULL, err);
			if (r >= 0)
				api_set_action(req, "%s on %s", desc.buf, a.name);
		}
	}
	json_decref(set);
	json_decref(unset);
	if (r < 0) {
		json_decref(config);
		return r;
	}
	return api_reply(req, 200, config);
}

const struct api_route api_config_routes[] = {
	{ "GET", "/apps/:app/config-vars", config_get, 0 },
	{ "PATCH", "/apps/:app/config-vars", config_update, 0 },
	{},
};
