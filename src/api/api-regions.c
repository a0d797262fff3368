/* SPDX-License-Identifier: MIT */
#include "api/api-regions.h"

#include <string.h>
#include <uuid/uuid.h>

#include "base/strbuf.h"

static const struct {
	const char *name;
	const char *description;
	const char *locale;
	const char *country;
} known_regions[] = {
	{ "virginia", "Virginia, United States", "Virginia", "United States" },
	{ "oregon", "Oregon, United States", "Oregon", "United States" },
	{ "frankfurt", "Frankfurt, Germany", "Frankfurt", "Germany" },
	{ "tokyo", "Tokyo, Japan", "Tokyo", "Japan" },
	{ "dublin", "Dublin, Ireland", "Dublin", "Ireland" },
	{ "sydney", "Sydney, Australia", "Sydney", "Australia" },
	{ "montreal", "Montreal, Canada", "Montreal", "Canada" },
	{ "mumbai", "Mumbai, India", "Mumbai", "India" },
	{ "singapore", "Singapore", "Singapore", "Singapore" },
};

bool api_region_exists(const struct api *api, const char *name)
{
	for (const char *const *r = api_get_config(api)->regions; r && *r; r++)
		if (streq(*r, name))
			return true;
	return false;
}

const char *api_region_default(const struct api *api)
{
	const char *const *r = api_get_config(api)->regions;
	return r && r[0] ? r[0] : "virginia";
}

char *api_region_list(const struct api *api)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *const *r = api_get_config(api)->regions; r && *r; r++)
		strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", *r);
	return strbuf_detach(&sb);
}

json_t *api_region_json(const char *name)
{
	/* A name-based (SHA-1) UUID: the same region has the same id on every host. */
	static const uuid_t ns = { 0x6c, 0x0b, 0x9e, 0x1a, 0x4f, 0x2d, 0x4c, 0x51,
				   0x9a, 0x77, 0x2e, 0x3f, 0x55, 0x10, 0xc0, 0x7e };
	uuid_t u;
	char id[37];
	uuid_generate_sha1(u, ns, name, strlen(name));
	uuid_unparse_lower(u, id);
	const char *description = name, *locale = name, *country = "";
	for (size_t i = 0; i < ARRAY_SIZE(known_regions); i++)
		if (streq(known_regions[i].name, name)) {
			description = known_regions[i].description;
			locale = known_regions[i].locale;
			country = known_regions[i].country;
		}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:s, s:s, s:[s]}", "id", id, "name", name, "description",
			 description, "locale", locale, "country", country, "private_capable", 1, "provider", json_null(),
			 "created_at", "2026-01-01T00:00:00Z", "updated_at", "2026-01-01T00:00:00Z", "runtime",
			 "private");
}

static int region_list(struct api_request *req, struct error *err)
{
	json_t *list = json_array();
	for (const char *const *r = api_get_config(req->api)->regions; r && *r; r++)
		json_array_append_new(list, api_region_json(*r));
	req->range_fields = "name,id";
	return api_reply(req, 200, list);
}

static int region_info(struct api_request *req, struct error *err)
{
	for (const char *const *r = api_get_config(req->api)->regions; r && *r; r++) {
		json_t *j = api_region_json(*r);
		if (streq(*r, req->params[0]) || streq(json_string_value(json_object_get(j, "id")), req->params[0]))
			return api_reply(req, 200, j);
		json_decref(j);
	}
	return error_set(err, -ENOENT, "region '%s' not found", req->params[0]);
}

const struct api_route api_region_routes[] = {
	{ "GET", "/regions", region_list, 0 },
	{ "GET", "/regions/:region", region_info, 0 },
	{},
};
