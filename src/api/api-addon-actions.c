/* SPDX-License-Identifier: MIT */
/*
 * Resolving what a user typed: the heroku CLI asks before most add-on commands.
 *
 *   POST /actions/addons/resolve              {addon, app, addon_service}
 *   POST /actions/addon-attachments/resolve   {addon_attachment, app, addon_service}
 */
#include <stdio.h>

#include "api/api-addon-attachments.h"
#include "api/api-addon-catalog.h"
#include "api/api-apps.h"
#include "base/alloc.h"

/* The body of a resolve action: key (required), app and addon_service (optional, NULL when absent). */
static int resolve_body(struct api_request *req, const char *key, const char **ret_ref, const char **ret_app_ref,
			const struct addon_service **ret_service, struct error *err)
{
	const char *service_ref;
	*ret_service = NULL;
	int r = api_body_string(req, key, true, ret_ref, err);
	if (r >= 0)
		r = api_body_string(req, "app", false, ret_app_ref, err);
	if (r >= 0)
		r = api_body_string(req, "addon_service", false, &service_ref, err);
	if (r < 0 || !service_ref)
		return r;
	return api_addon_service_find(service_ref, ret_service, err);
}

/*
 * The add-on `addon` names (its name, id, or with app an attachment name of that app), as a
 * one-element array.
 */
static int addons_resolve(struct api_request *req, struct error *err)
{
	const char *ref, *app_ref;
	const struct addon_service *service;
	struct api_addon d;
	struct app a;
	int r = resolve_body(req, "addon", &ref, &app_ref, &service, err);
	if (r >= 0)
		r = app_ref ? api_addon_of_app(req, app_ref, ref, &a, &d, err) : api_addon_load(req, ref, &d, err);
	if (r < 0)
		return r;
	if (service && d.plan->service != service)
		return error_set(err, -ENOENT, "add-on '%s' is not a %s add-on", ref, service->name);
	return api_addons_reply(req, &d, 1, err);
}

/*
 * The attachments `addon_attachment` names: an attachment's id, or with app its name (also
 * NAME_URL) on that app; else the attachments of the add-on of that name or id the caller may
 * see.
 */
static int attachments_resolve(struct api_request *req, struct error *err)
{
	const char *ref, *app_ref;
	const struct addon_service *service;
	struct app a;
	int r = resolve_body(req, "addon_attachment", &ref, &app_ref, &service, err);
	if (r >= 0 && app_ref)
		r = api_app_load(req, app_ref, &a, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct api_attachment *list = NULL;
	size_t n = 0;
	r = app_ref ? api_attachments_query(req, "t.app_id = ? AND (t.id = ? OR t.name = ? OR t.name || '_URL' = ?)",
					    SV_ARGS(SV_TEXT(a.id), SV_TEXT(ref), SV_TEXT(ref), SV_TEXT(ref)), &list, &n, err)
		    : api_attachments_query(req, "t.id = ?", SV_ARGS(SV_TEXT(ref)), &list, &n, err);
	if (r >= 0 && n == 0) {
		struct api_addon d;
		struct error e = { 0 };
		if (api_addon_load(req, ref, &d, &e) >= 0)
			r = app_ref ? api_attachments_query(req, "t.addon_id = ? AND t.app_id = ?",
							    SV_ARGS(SV_TEXT(d.id), SV_TEXT(a.id)), &list, &n, err)
				    : api_attachments_of_addon(req, d.id, &list, &n, err);
	}
	if (r < 0)
		return r;
	size_t kept = api_attachments_visible(req, list, n, service);
	if (kept == 0)
		return error_set(err, -ENOENT, "add-on attachment '%s' not found", ref);
	return api_attachments_reply(req, list, kept, err);
}

const struct api_route api_addon_action_routes[] = {
	{ "POST", "/actions/addons/resolve", addons_resolve, 0 },
	{ "POST", "/actions/addon-attachments/resolve", attachments_resolve, 0 },
	{},
};
