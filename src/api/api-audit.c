/* SPDX-License-Identifier: MIT */
/*
 * The audit trail: every request that tried to change something, who sent it, what it did
 * and how it ended. Written by the edge (api-http.c); read here by platform administrators.
 */
#include "api/api-audit.h"

#include "api/api-auth.h"
#include "api/api.h"
#include "base/id.h"
#include "base/timeutil.h"

int api_audit_insert(struct store *st, const struct api_audit_event *ev, struct error *err)
{
	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	return store_exec(st,
			  "INSERT INTO audit_events (id, created_at, actor_id, actor_email, action, method, path, status, request_id)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  SV_ARGS(SV_TEXT(id), SV_TEXT(time_now_iso(now)), SV_TEXT(ev->actor_id), SV_TEXT(ev->actor_email),
				  SV_TEXT(ev->action), SV_TEXT(ev->method), SV_TEXT(ev->path), SV_INT(ev->status),
				  SV_TEXT(ev->request_id)),
			  err);
}

static int audit_list(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	/* The newest 1000; older events stay in the store for other tools. */
	r = store_query(req->store,
			"SELECT seq, id, created_at, actor_email, action, method, path, status, request_id FROM audit_events"
			" ORDER BY seq DESC LIMIT 1000",
			SV_NONE, &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:I, s:s}", "seq",
						      (json_int_t)store_rows_int(rows, 0), "id", store_rows_text(rows, 1),
						      "created_at", store_rows_text(rows, 2), "actor", "email",
						      store_rows_text(rows, 3), "action", store_rows_text(rows, 4), "method",
						      store_rows_text(rows, 5), "path", store_rows_text(rows, 6), "status",
						      (json_int_t)store_rows_int(rows, 7), "request_id", store_rows_text(rows, 8)));
	req->range_fields = "seq,created_at";
	api_reply(req, 200, list);
	return r;
}

const struct api_route api_audit_routes[] = {
	{ "GET", "/audit-events", audit_list, 0 },
	{},
};
