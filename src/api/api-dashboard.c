/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's static files. The page is plain HTML, CSS and JavaScript modules that talk
 * to the Platform API of the same origin with the token the user logged in for, so these
 * routes are public and serve only what was embedded at build time. Every file carries a strict
 * Content-Security-Policy: scripts, styles and API calls from this origin only, no inline code,
 * no framing. Browsers revalidate with the ETag on every load (no-cache), so an upgraded coved
 * is picked up at once.
 */
#include "api/api-dashboard.h"

#include <string.h>

#include "api/api.h"

static const char *const security_headers[] = {
	"Content-Security-Policy",
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
	" base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options", "nosniff",
	"X-Frame-Options", "DENY",
	"Referrer-Policy", "no-referrer",
	"Cross-Origin-Opener-Policy", "same-origin",
	NULL,
};

const struct dashboard_file *dashboard_file_find(const char *name)
{
	for (size_t i = 0; i < dashboard_files_count; i++)
		if (streq(dashboard_files[i].name, name))
			return &dashboard_files[i];
	return NULL;
}

static int serve(struct api_request *req, const char *name, struct error *err)
{
	const struct dashboard_file *f = dashboard_file_find(name);
	if (!f)
		return error_set(err, -ENOENT, "dashboard file '%s' not found", name);
	req->content_type = f->content_type;
	req->headers = security_headers;
	req->cache_control = "no-cache";
	req->etag = f->etag;
	const char *match = api_header(req, "If-None-Match");
	if (match && streq(match, f->etag)) {
		req->status = 304;
		req->static_body = "";
		req->static_len = 0;
		return 0;
	}
	req->static_body = f->data;
	req->static_len = f->size;
	return 0;
}

static int dashboard_index(struct api_request *req, struct error *err)
{
	return serve(req, "index.html", err);
}

static int dashboard_file(struct api_request *req, struct error *err)
{
	return serve(req, req->params[0], err);
}

const struct api_route api_dashboard_routes[] = {
	{ "GET", "/", dashboard_index, API_ROUTE_PUBLIC },
	{ "GET", "/dashboard", dashboard_index, API_ROUTE_PUBLIC },
	{ "GET", "/dashboard/:file", dashboard_file, API_ROUTE_PUBLIC },
	{},
};
