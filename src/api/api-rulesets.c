/* SPDX-License-Identifier: MIT */
/*
 * Trusted IP ranges and outbound rules of a space (see api-rulesets.h). The rules are checked
 * by base/ruleset.c and stored in their canonical form (a CIDR written back as parsed), so
 * that what the API shows, what the agent applies and what the router checks are the same.
 */
#include "api/api-rulesets.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "api/api-spaces.h"
#include "base/alloc.h"
#include "base/ruleset.h"
#include "base/timeutil.h"

enum direction { INBOUND, OUTBOUND };

static const struct {
	const char *name;    /* in the store */
	const char *what;    /* in messages */
	const char *resource;
	const char *defaults;
	size_t max;
} directions[] = {
	[INBOUND] = { "inbound", "trusted IP ranges", "inbound ruleset", "[{\"action\":\"allow\",\"source\":\"0.0.0.0/0\"}]",
		      RULESET_INBOUND_MAX },
	[OUTBOUND] = { "outbound", "outbound rules", "outbound ruleset",
		       "[{\"target\":\"0.0.0.0/0\",\"from_port\":0,\"to_port\":65535,\"protocol\":\"any\"}]",
		       RULESET_OUTBOUND_MAX },
};

static int ruleset_insert(struct api_request *req, const char *space_id, enum direction d, const char *rules,
			  const char *created_by, struct error *err)
{
	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	return store_exec(req->store,
			  "INSERT INTO space_rulesets (space_id, direction, id, rules, created_at, created_by)"
			  " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (space_id, direction) DO UPDATE SET id = excluded.id,"
			  " rules = excluded.rules, created_at = excluded.created_at, created_by = excluded.created_by",
			  SV_ARGS(SV_TEXT(space_id), SV_TEXT(directions[d].name), SV_TEXT(id), SV_TEXT(rules),
				  SV_TEXT(time_now_iso(now)), SV_TEXT(created_by)),
			  err);
}

int api_rulesets_create(struct api_request *req, const char *space_id, struct error *err)
{
	int r = ruleset_insert(req, space_id, INBOUND, directions[INBOUND].defaults, NULL, err);
	if (r >= 0)
		r = ruleset_insert(req, space_id, OUTBOUND, directions[OUTBOUND].defaults, NULL, err);
	return r;
}

/* The stored ruleset of a space as the API shows it; -ENOENT when it has none (never, past 0008). */
static int ruleset_load(struct api_request *req, const struct space *s, enum direction d, json_t **ret,
			struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req,
			      "SELECT id, rules, created_at, created_by FROM space_rulesets WHERE space_id = ? AND direction = ?",
			      SV_ARGS(SV_TEXT(s->id), SV_TEXT(directions[d].name)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "space '%s' has no %s", s->name, directions[d].resource);
	json_t *rules = json_loads(store_rows_text(rows, 1), 0, NULL);
	if (!json_is_array(rules)) {
		json_decref(rules);
		return error_set(err, -EIO, "the %s of space '%s' is damaged in the store", directions[d].resource, s->name);
	}
	*ret = json_pack("{s:s, s:{s:s, s:s}, s:o, s:s, s:o}", "id", store_rows_text(rows, 0), "space", "id", s->id, "name",
			 s->name, "rules", rules, "created_at", store_rows_text(rows, 2), "created_by",
			 api_string_or_null(store_rows_text(rows, 3)));
	return 0;
}

int api_rulesets_desired(struct api_request *req, const char *space_id, json_t *space, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store, "SELECT direction, rules FROM space_rulesets WHERE space_id = ?",
			    SV_ARGS(SV_TEXT(space_id)), &rows, err);
	while (r >= 0 && (r = store_rows_next(rows, err)) > 0) {
		json_t *rules = json_loads(store_rows_text(rows, 1), 0, NULL);
		if (!json_is_array(rules)) {
			json_decref(rules);
			continue; /* the agent keeps its defaults rather than guess */
		}
		bool inbound = streq(store_rows_text(rows, 0), "inbound");
		json_object_set_new(space, inbound ? "inbound_rules" : "outbound_rules", rules);
	}
	return r;
}

static void format_cidr(const struct cidr4 *c, char ret[static 24])
{
	struct in_addr in = { .s_addr = htonl(c->addr) };
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	snprintf(ret, 24, "%s/%u", ip, c->prefix);
}

/* A rule's field: a string, else a message that says which rule lacks it. */
static int rule_string(json_t *rule, size_t index, const char *field, const char **ret, struct error *err)
{
	json_t *v = json_object_get(rule, field);
	if (!json_is_string(v))
		return error_set(err, -EINVAL, "rule %zu is invalid: '%s' must be a string", index, field);
	*ret = json_string_value(v);
	return 0;
}

static int rule_port(json_t *rule, size_t index, const char *field, int64_t *ret, struct error *err)
{
	json_t *v = json_object_get(rule, field);
	if (!json_is_integer(v))
		return error_set(err, -EINVAL, "rule %zu is invalid: '%s' must be an integer", index, field);
	*ret = json_integer_value(v);
	return 0;
}

static int inbound_canonical(json_t *rule, size_t index, struct inbound_rule *seen, size_t n_seen, json_t **ret,
			     struct error *err)
{
	const char *action = NULL, *source = NULL;
	int r = rule_string(rule, index, "action", &action, err);
	if (r >= 0)
		r = rule_string(rule, index, "source", &source, err);
	struct inbound_rule *in = &seen[n_seen];
	if (r >= 0)
		r = inbound_rule_parse(index, action, source, in, err);
	if (r < 0)
		return r;
	char cidr[24];
	format_cidr(&in->source, cidr);
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].source.addr == in->source.addr && seen[i].source.prefix == in->source.prefix)
			return error_set(err, -EINVAL, "rule %zu is invalid: rule %zu already has source %s", index, i + 1, cidr);
	*ret = json_pack("{s:s, s:s}", "action", in->allow ? "allow" : "deny", "source", cidr);
	return 0;
}

static int outbound_canonical(json_t *rule, size_t index, json_t **ret, struct error *err)
{
	const char *target = NULL, *protocol = NULL;
	int64_t from = 0, to = 0;
	int r = rule_string(rule, index, "target", &target, err);
	if (r >= 0)
		r = rule_string(rule, index, "protocol", &protocol, err);
	if (r >= 0)
		r = rule_port(rule, index, "from_port", &from, err);
	if (r >= 0)
		r = rule_port(rule, index, "to_port", &to, err);
	struct outbound_rule out;
	if (r >= 0)
		r = outbound_rule_parse(index, target, from, to, protocol, &out, err);
	if (r < 0)
		return r;
	char cidr[24];
	format_cidr(&out.target, cidr);
	*ret = json_pack("{s:s, s:i, s:i, s:s}", "target", cidr, "from_port", (int)out.from_port, "to_port",
			 (int)out.to_port, "protocol", ruleset_protocol_name(out.protocol));
	return 0;
}

/* The rules of a PUT, checked and in canonical form; -EINVAL with the first fault. */
static int rules_from_body(struct api_request *req, enum direction d, json_t **ret, struct error *err)
{
	json_t *rules = req->body ? json_object_get(req->body, "rules") : NULL;
	if (!json_is_array(rules))
		return error_set(err, -EINVAL, "'rules' is required: a list of rules");
	if (json_array_size(rules) > directions[d].max)
		return error_set(err, -EINVAL, "a space has at most %zu %s, not %zu", directions[d].max, directions[d].what,
				 json_array_size(rules));
	_cleanup_free_ struct inbound_rule *seen = xcalloc(directions[d].max + 1, sizeof(*seen));
	json_t *out = json_array();
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		json_t *canonical = NULL;
		int r = !json_is_object(rule) ? error_set(err, -EINVAL, "rule %zu is invalid: not an object", i + 1)
			: d == INBOUND	      ? inbound_canonical(rule, i + 1, seen, i, &canonical, err)
					      : outbound_canonical(rule, i + 1, &canonical, err);
		if (r < 0) {
			json_decref(out);
			return r;
		}
		json_array_append_new(out, canonical);
	}
	*ret = out;
	return 0;
}

static int ruleset_get(struct api_request *req, enum direction d, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	json_t *ruleset;
	r = ruleset_load(req, &s, d, &ruleset, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, ruleset);
}

static int ruleset_put(struct api_request *req, enum direction d, struct error *err)
{
	struct space s;
	int r = api_space_load(req, req->params[0], false, &s, err);
	if (r < 0)
		return r;
	if (s.team.role != TEAM_ROLE_ADMIN)
		return error_set(err, -EACCES, "only admins of team '%s' may change the %s of space '%s'", s.team.name,
				 directions[d].what, s.name);
	if (streq(s.state, "deleting"))
		return error_set(err, -EINVAL, "space '%s' is being destroyed", s.name);
	json_t *rules = NULL;
	r = rules_from_body(req, d, &rules, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = json_dumps(rules, JSON_COMPACT);
	json_decref(rules);
	r = ruleset_insert(req, s.id, d, text, req->user.email, err);
	if (r < 0)
		return r;
	api_set_action(req, "Set the %s of space %s: %s", directions[d].what, s.name, text);
	json_t *ruleset;
	r = ruleset_load(req, &s, d, &ruleset, err);
	if (r < 0)
		return r;
	return api_reply(req, 200, ruleset);
}

static int inbound_get(struct api_request *req, struct error *err)
{
	return ruleset_get(req, INBOUND, err);
}

static int inbound_put(struct api_request *req, struct error *err)
{
	return ruleset_put(req, INBOUND, err);
}

static int outbound_get(struct api_request *req, struct error *err)
{
	return ruleset_get(req, OUTBOUND, err);
}

static int outbound_put(struct api_request *req, struct error *err)
{
	return ruleset_put(req, OUTBOUND, err);
}

const struct api_route api_ruleset_routes[] = {
	{ "GET", "/spaces/:space/inbound-ruleset", inbound_get, 0 },
	{ "PUT", "/spaces/:space/inbound-ruleset", inbound_put, 0 },
	{ "GET", "/spaces/:space/outbound-ruleset", outbound_get, 0 },
	{ "PUT", "/spaces/:space/outbound-ruleset", outbound_put, 0 },
	{},
};
