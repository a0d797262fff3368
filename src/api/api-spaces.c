/* SPDX-License-Identifier: MIT */
#include "api/api-spaces.h"

#include <stdio.h>
#include <string.h>

#include "api/api-regions.h"
#include "api/api-rulesets.h"
#include "base/alloc.h"
#include "base/timeutil.h"
#include "base/validate.h"

#define SPACE_COLUMNS \
	"s.id, s.name, s.team_id, s.region, s.cidr, s.data_cidr, s.state, s.shield, s.created_at, s.updated_at, s.ingress"

static void space_from_row(struct store_rows *rows, struct space *s)
{
	snprintf(s->id, sizeof(s->id), "%s", store_rows_text(rows, 0));
	snprintf(s->name, sizeof(s->name), "%s", store_rows_text(rows, 1));
	snprintf(s->team.id, sizeof(s->team.id), "%s", store_rows_text(rows, 2));
	snprintf(s->region, sizeof(s->region), "%s", store_rows_text(rows, 3));
	snprintf(s->cidr, sizeof(s->cidr), "%s", store_rows_text(rows, 4));
	snprintf(s->data_cidr, sizeof(s->data_cidr), "%s", store_rows_text(rows, 5));
	snprintf(s->state, sizeof(s->state), "%s", store_rows_text(rows, 6));
	s->shield = store_rows_int(rows, 7) != 0;
	snprintf(s->created_at, sizeof(s->created_at), "%s", store_rows_text(rows, 8));
	snprintf(s->updated_at, sizeof(s->updated_at), "%s", store_rows_text(rows, 9));
	snprintf(s->ingress, sizeof(s->ingress), "%s", store_rows_text(rows, 10) ? store_rows_text(rows, 10) : "");
}

json_t *api_space_ref(const struct space *space)
{
	return json_pack("{s:s, s:s, s:b}", "id", space->id, "name", space->name, "shield", space->shield);
}

static json_t *space_json(const struct space *s)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:b, s:s, s:s, s:{s:s, s:s}, s:[], s:o}", "id", s->id,
			 "name", s->name, "team", api_ref_json(s->team.id, s->team.name), "organization",
			 json_pack("{s:s}", "name", s->team.name), "region", api_region_json(s->region), "cidr", s->cidr,
			 "data_cidr", s->data_cidr, "state", s->state, "shield", s->shield, "created_at", s->created_at,
			 "updated_at", s->updated_at, "generation", "id", "9f6e4bba-8f1c-4c2e-9a39-1c0a7d5d2b60", "name",
			 "cedar", "features", "ingress", api_string_or_null(s->ingress[0] ? s->ingress : NULL));
}

int api_space_load(struct api_request *req, const char *ref, bool need_admin, struct space *ret, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT " SPACE_COLUMNS " FROM spaces s WHERE s.id = ? OR s.name = ?",
			      SV_ARGS(SV_TEXT(ref), SV_TEXT(ref)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "space '%s' not found", ref);
	space_from_row(rows, ret);
	r = api_team_load(req, ret->team.id, false, &ret->team, err);
	if (r == -EACCES)
		return error_set(err, -EACCES, "you do not have access to space '%s'", ret->name);
	if (r < 0)
		return r;
	if (need_admin && ret->team.role != TEAM_ROLE_ADMIN)
		return error_set(err, -EACCES, "only admins of team '%s' may change space '%s'", ret->team.name, ret->name);
	return 0;
}

static int validate_cidrs(const char *cidr, const char *data_cidr, struct error *err)
{
	struct cidr4 a, b;
	int r = cidr4_parse(cidr, 8, 24, &a, err);
	if (r < 0)
		return r;
	r = cidr4_parse(data_cidr, 8, 24, &b, err);
	if (r < 0)
		return r;
	if (!cidr4_is_private(&a))
		return error_set(err, -EINVAL, "CIDR '%s' is invalid: use a private range (10/8, 172.16/12, 192.168/16)", cidr);
	if (!cidr4_is_private(&b))
		return error_set(err, -EINVAL, "data CIDR '%s' is invalid: use a private range (10/8, 172.16/12, 192.168/16)",
				 data_cidr);
	if (cidr4_overlap(&a, &b))
		return error_set(err, -EINVAL, "CIDR '%s' and data CIDR '%s' overlap", cidr, data_cidr);
	return 0;
}

static int space_insert(struct api_request *req, const char *name, const struct team *team, const char *region,
			const char *cidr, const char *data_cidr, bool shield, struct space *ret, struct error *err)
{
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	*ret = (struct space){ .team = *team, .shield = shield };
	id_new(ret->id);
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	snprintf(ret->region, sizeof(ret->region), "%s", region);
	snprintf(ret->cidr, sizeof(ret->cidr), "%s", cidr);
	snprintf(ret->data_cidr, sizeof(ret->data_cidr), "%s", data_cidr);
	/* An agent of the region allocates it and reports it allocated (api-agent.c). */
	snprintf(ret->state, sizeof(ret->state), "allocating");
	snprintf(ret->created_at, sizeof(ret->created_at), "%s", now);
	snprintf(ret->updated_at, sizeof(ret->updated_at), "%s", now);
	int r = store_exec(req->store,
			   "INSERT INTO spaces (id, name, team_id, region, cidr, data_cidr, state, shield, created_at, updated_at)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			   SV_ARGS(SV_TEXT(ret->id), SV_TEXT(name), SV_TEXT(team->id), SV_TEXT(region), SV_TEXT(cidr),
				   SV_TEXT(data_cidr), SV_TEXT(ret->state), SV_BOOL(shield), SV_TEXT(now), SV_TEXT(now)),
			   err);
	if (r == -EEXIST)
		return error_set(err, -EEXIST, "space '%s' already exists", name);
	if (r < 0)
		return r;
	return api_rulesets_create(req, ret->id, err);
}

int api_space_default(struct api_request *req, const struct team *team, struct space *ret, struct error *err)
{
	/* The team's name cut to fit, without a dash at the cut: "<team>--space" is no valid name. */
	size_t len = strnlen(team->name, 24);
	while (len > 1 && team->name[len - 1] == '-')
		len--;
	_cleanup_free_ char *name = xasprintf("%.*s-space", (int)len, team->name);
	int r = api_space_load(req, name, false, ret, err);
	if (r >= 0 && streq(ret->team.id, team->id))
		return 0;
	if (r >= 0 || r != -ENOENT)
		return r < 0 ? r : error_set(err, -EEXIST, "default space name '%s' is taken by another team", name);
	error_clear(err);
	return space_insert(req, name, team, api_region_default(req->api), SPACE_CIDR_DEFAULT, SPACE_DATA_CIDR_DEFAULT,
			    false, ret, err);
}

/* ---- endpoints ------------------------------------------------------------------------- */

static int space_create(struct api_request *req, struct error *err)
{
	const char *name, *team_ref, *region, *cidr, *data_cidr;
	bool shield = false;
	int r = api_body_string(req, "name", true, &name, err);
	if (r >= 0)
		r = api_body_team(req, &team_ref, err);
	if (r >= 0)
		r = api_body_ref(req, "region", false, &region, err);
	if (r >= 0)
		r = api_body_string(req, "cidr", false, &cidr, err);
	if (r >= 0)
		r = api_body_string(req, "data_cidr", false, &data_cidr, err);
	if (r >= 0)
		r = api_body_bool(req, "shield", &shield, NULL, err);
	if (r < 0)
		return r;
	r = validate_name("space", name, SPACE_NAME_MAX, err);
	if (r < 0)
		return r;
	if (!region)
		region = api_region_default(req->api);
	if (!api_region_exists(req->api, region)) {
		_cleanup_free_ char *list = api_region_list(req->api);
		return error_set(err, -EINVAL, "region '%s' is unknown: use one of %s", region, list);
	}
	cidr = cidr ? cidr : SPACE_CIDR_DEFAULT;
	data_cidr = data_cidr ? data_cidr : SPACE_DATA_CIDR_DEFAULT;
	r = validate_cidrs(cidr, data_cidr, err);
	if (r < 0)
		return r;

	struct team team;
	r = team_ref ? api_team_load(req, team_ref, true, &team, err) : api_team_default(req, &team, err);
	if (r < 0)
		return r;
	if (team.role != TEAM_ROLE_ADMIN)
		return error_set(err, -EACCES, "only admins of team '%s' may create spaces", team.name);
	struct space s;
	r = space_insert(req, name, &team, region, cidr, data_cidr, shield, &s, err);
	if (r < 0)
		return r;
	api_set_action(req, "Create space %s in %s for team %s", name, region, team.name);
	return api_reply(req, 201, space_json(&s));
}

static int space_list(struct api_request *req, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store,
			    "SELECT " SPACE_COLUMNS ", t.name FROM spaces s JOIN teams t ON t.id = s.team_id"
			    " WHERE ? OR s.team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)",
			    SV_ARGS(SV_BOOL(req->user.is_admin), SV_TEXT(req->user.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0) {
		struct space s;
		space_from_row(rows, &s);
		snprintf(s.team.name, sizeof(s.team.name), "%s", store_rows_text(rows, 11));
		json_array_append_new(list, space_json(&s));
	}
	req->range_fields = "name,id,created_at";
	api_reply(req, 200, list);
	return r;
}

static int space_info(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, space_json(&s));
}

static int space_update(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], true, &s, err);
	if (r < 0)
		return r;
	const char *name;
	r = api_body_string(req, "name", false, &name, err);
	if (r < 0)
		return r;
	if (name && !streq(name, s.name)) {
		r = validate_name("space", name, SPACE_NAME_MAX, err);
		if (r < 0)
			return r;
		char now[TIME_ISO_MAX];
		r = store_exec(req->store, "UPDATE spaces SET name = ?, updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(name), SV_TEXT(time_now_iso(now)), SV_TEXT(s.id)), err);
		if (r == -EEXIST)
			return error_set(err, -EEXIST, "space '%s' already exists", name);
		if (r < 0)
			return r;
		api_set_action(req, "Rename space %s to %s", s.name, name);
		snprintf(s.name, sizeof(s.name), "%s", name);
		snprintf(s.updated_at, sizeof(s.updated_at), "%s", now);
	}
	return api_reply(req, 200, space_json(&s));
}

static int space_destroy(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], true, &s, err);
	if (r < 0)
		return r;
	int64_t n;
	r = store_query_int(req->store, "SELECT COUNT(*) FROM apps WHERE space_id = ?", SV_ARGS(SV_TEXT(s.id)), &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return error_set(err, -ENOTEMPTY, "space '%s' still has %lld app%s: destroy %s first", s.name, (long long)n,
				 n == 1 ? "" : "s", n == 1 ? "it" : "them");
	/* A space no host has taken goes at once; otherwise its host takes it apart first and
	 * reports it gone (api-agent.c). */
	_cleanup_free_ char *host = NULL;
	r = store_query_text(req->store, "SELECT host_id FROM spaces WHERE id = ?", SV_ARGS(SV_TEXT(s.id)), &host, err);
	if (r < 0)
		return r;
	char now[TIME_ISO_MAX];
	if (host)
		r = store_exec(req->store, "UPDATE spaces SET state = 'deleting', updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(time_now_iso(now)), SV_TEXT(s.id)), err);
	else
		r = store_exec(req->store, "DELETE FROM spaces WHERE id = ?", SV_ARGS(SV_TEXT(s.id)), err);
	if (r < 0)
		return r;
	if (host)
		snprintf(s.state, sizeof(s.state), "deleting");
	api_set_action(req, "Destroy space %s", s.name);
	return api_reply(req, 200, space_json(&s));
}

/* The space's outbound (NAT) addresses; filled in by the runtime once spaces are allocated. */
static int space_nat(struct api_request *req, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *ip = NULL;
	r = store_query_text(req->store, "SELECT outbound_ip FROM spaces WHERE id = ?", SV_ARGS(SV_TEXT(s.id)), &ip, err);
	if (r < 0)
		return r;
	json_t *sources = json_array();
	if (ip)
		json_array_append_new(sources, json_string(ip));
	const char *state = ip ? "enabled" : streq(s.state, "allocating") ? "updating" : "disabled";
	return api_reply(req, 200,
			 json_pack("{s:s, s:o, s:s, s:s}", "state", state, "sources", sources, "created_at", s.created_at,
				   "updated_at", s.updated_at));
}

const struct api_route api_space_routes[] = {
	{ "GET", "/spaces", space_list, 0 },
	{ "POST", "/spaces", space_create, 0 },
	{ "GET", "/spaces/:space", space_info, 0 },
	{ "PATCH", "/spaces/:space", space_update, 0 },
	{ "DELETE", "/spaces/:space", space_destroy, 0 },
	{ "GET", "/spaces/:space/nat", space_nat, 0 },
	{},
};
