/* SPDX-License-Identifier: MIT */
/*
 * The add-on catalog, read-only and the same for everyone:
 *
 *   GET /addon-services[/:service[/plans[/:plan]]], /plans/:plan
 */
#include "api/api-addon-catalog.h"

#include <stdio.h>

#include "api/api.h"
#include "base/alloc.h"

#define CATALOG_CREATED_AT "2026-01-01T00:00:00Z"

static json_t *service_json(const struct addon_service *s)
{
	return json_pack("{s:[], s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s}", "actions", "cli_plugin_name", s->alias,
			 "created_at", CATALOG_CREATED_AT, "human_name", s->human_name, "id", s->id, "name", s->name, "state",
			 "ga", "supports_multiple_installations", 1, "supports_sharing", 1, "updated_at", CATALOG_CREATED_AT);
}

json_t *api_addon_price_json(void)
{
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
			 "installable_outside_private_network", 0, "name", full, "price", api_addon_price_json(), "space_default", 0,
			 "state", "public", "updated_at", CATALOG_CREATED_AT, "visible", 1, "limits", limits, "ha", p->ha);
}

int api_addon_service_find(const char *ref, const struct addon_service **ret, struct error *err)
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
	int r = api_addon_service_find(req->params[0], &s, err);
	return r < 0 ? r : api_reply(req, 200, service_json(s));
}

static int plans_list(struct api_request *req, struct error *err)
{
	const struct addon_service *s;
	int r = api_addon_service_find(req->params[0], &s, err);
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
		r = api_addon_service_find(req->params[0], &s, err);
		ref = req->params[1];
	}
	if (r >= 0)
		r = addon_plan_find(ref, s, &p, err);
	return r < 0 ? r : api_reply(req, 200, plan_json(p));
}

const struct api_route api_addon_catalog_routes[] = {
	{ "GET", "/addon-services", services_list, 0 },
	{ "GET", "/addon-services/:service", service_info, 0 },
	{ "GET", "/addon-services/:service/plans", plans_list, 0 },
	{ "GET", "/addon-services/:service/plans/:plan", plan_info, 0 },
	{ "GET", "/plans/:plan", plan_info, 0 },
	{},
};
