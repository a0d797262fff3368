/* SPDX-License-Identifier: MIT */
/*
 * The network settings of a space, with the heroku CLI's commands and words: trusted IP
 * ranges (spaces:trusted-ips), outbound rules (outbound-rules) and space access
 * (spaces:access). A change is a GET of the whole ruleset, the rules changed, and a PUT of
 * it back, as heroku does it (api-rulesets.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

/* The space of a command whose positional argument is something else: --space only. */
static int space_flag(struct cli *c, const char **ret, struct error *err)
{
	*ret = cli_opt(c, OPT_SPACE);
	if (isempty(*ret))
		return cli_usage_error(err, "no space given: cove %s ... --space SPACE", c->command->name);
	return 0;
}

static int ruleset_get(struct cli *c, const char *space, const char *which, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/spaces/%s/%s", space, which);
	int r = cli_get(c, path, ret, err);
	if (r >= 0 && !json_is_array(json_object_get(*ret, "rules")))
		json_object_set_new(*ret, "rules", json_array());
	return r;
}

static int ruleset_put(struct cli *c, const char *space, const char *which, json_t *ruleset, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/spaces/%s/%s", space, which);
	_cleanup_json_ json_t *answer = NULL;
	return cli_send(c, "PUT", path, ruleset, &answer, err);
}

/*
 * The start of a listing: the space (argument or --space) and its ruleset, printed as JSON
 * with --json. Returns 1 when the rules are the caller's to print, 0 when --json printed them.
 */
static int ruleset_list(struct cli *c, const char *which, const char **ret_space, json_t **ret, struct error *err)
{
	int r = cli_space_arg(c, ret_space, err);
	if (r >= 0)
		r = ruleset_get(c, *ret_space, which, ret, err);
	if (r < 0)
		return r;
	return cli_show_json(c, *ret) ? 0 : 1;
}

/* The start of a change: the space (--space only) and its ruleset, whose rules it returns. */
static int ruleset_load(struct cli *c, const char *which, const char **ret_space, json_t **ret, json_t **ret_rules,
			struct error *err)
{
	int r = space_flag(c, ret_space, err);
	if (r >= 0)
		r = ruleset_get(c, *ret_space, which, ret, err);
	if (r >= 0)
		*ret_rules = json_object_get(*ret, "rules");
	return r;
}

/* PUTs a changed ruleset back, then prints the line that says what changed, and when. */
static int ruleset_save(struct cli *c, const char *space, const char *which, json_t *ruleset, const char *line,
			struct error *err)
{
	int r = ruleset_put(c, space, which, ruleset, err);
	if (r < 0)
		return r;
	puts(line);
	fflush(stdout);
	fprintf(stderr, "cove: warning: it may take a few moments for the changes to take effect\n");
	return 0;
}

/* ---- trusted IP ranges ------------------------------------------------------------------ */

static int trusted_ips_run(struct cli *c, struct error *err)
{
	const char *space;
	_cleanup_json_ json_t *ruleset = NULL;
	int r = ruleset_list(c, "inbound-ruleset", &space, &ruleset, err);
	if (r <= 0)
		return r;
	json_t *rules = json_object_get(ruleset, "rules");
	if (json_array_size(rules) == 0) {
		cli_header("%s has no trusted IP ranges. All inbound web requests to dynos are blocked.", space);
		return 0;
	}
	cli_header("Trusted IP Ranges");
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		bool deny = streq_ptr(cli_json_str(rule, "action"), "deny");
		printf("%s%s\n", cli_json_str(rule, "source"), deny ? " (deny)" : "");
	}
	return 0;
}

static int trusted_ips_add_run(struct cli *c, struct error *err)
{
	const char *space, *source = c->args[0];
	_cleanup_json_ json_t *ruleset = NULL;
	json_t *rules;
	int r = ruleset_load(c, "inbound-ruleset", &space, &ruleset, &rules, err);
	if (r < 0)
		return r;
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		if (streq_ptr(cli_json_str(rule, "source"), source))
			return error_set(err, -EEXIST, "a rule already exists for %s", source);
	}
	json_array_append_new(rules, json_pack("{s:s, s:s}", "action", "allow", "source", source));
	_cleanup_free_ char *line = xasprintf("Added %s to trusted IP ranges on %s", source, space);
	return ruleset_save(c, space, "inbound-ruleset", ruleset, line, err);
}

static int trusted_ips_remove_run(struct cli *c, struct error *err)
{
	const char *space, *source = c->args[0];
	_cleanup_json_ json_t *ruleset = NULL;
	json_t *rules;
	int r = ruleset_load(c, "inbound-ruleset", &space, &ruleset, &rules, err);
	if (r < 0)
		return r;
	if (json_array_size(rules) == 0)
		return error_set(err, -ENOENT, "no IP ranges are configured: nothing to do");
	size_t before = json_array_size(rules);
	for (size_t i = 0; i < json_array_size(rules);) {
		if (streq_ptr(cli_json_str(json_array_get(rules, i), "source"), source))
			json_array_remove(rules, i);
		else
			i++;
	}
	if (json_array_size(rules) == before)
		return error_set(err, -ENOENT, "no IP range matching %s was found", source);
	_cleanup_free_ char *line = xasprintf("Removed %s from trusted IP ranges on %s", source, space);
	return ruleset_save(c, space, "inbound-ruleset", ruleset, line, err);
}

/* ---- outbound rules --------------------------------------------------------------------- */

static int outbound_rules_run(struct cli *c, struct error *err)
{
	const char *space;
	_cleanup_json_ json_t *ruleset = NULL;
	int r = ruleset_list(c, "outbound-ruleset", &space, &ruleset, err);
	if (r <= 0)
		return r;
	json_t *rules = json_object_get(ruleset, "rules");
	if (json_array_size(rules) == 0) {
		cli_header("%s has no Outbound Rules. Your Dynos cannot communicate with hosts outside of %s.", space, space);
		return 0;
	}
	cli_header("Outbound Rules");
	_cleanup_table_ struct cli_table *t = cli_table_new(
		5, (const char *const[]){ "Rule Number", "Destination", "From Port", "To Port", "Protocol" });
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		char n[24], from[24], to[24];
		snprintf(n, sizeof(n), "%zu", i + 1);
		snprintf(from, sizeof(from), "%lld", cli_json_int(rule, "from_port", 0));
		snprintf(to, sizeof(to), "%lld", cli_json_int(rule, "to_port", 0));
		cli_table_add(t, n, cli_json_str(rule, "target"), from, to, cli_json_str(rule, "protocol"));
	}
	cli_table_print(t);
	return 0;
}

static int parse_port(const char *s, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* --port as heroku takes it: "80", "80-100", or "any" (every port, 0-255 for ICMP). */
static int parse_ports(const char *protocol, const char *port, long *ret_from, long *ret_to, struct error *err)
{
	if (streq(port, "any") || streq(port, "-1")) {
		*ret_from = 0;
		*ret_to = streq(protocol, "icmp") ? 255 : 65535;
		return 0;
	}
	const char *dash = strchr(port, '-');
	_cleanup_free_ char *low = dash ? xstrndup(port, (size_t)(dash - port)) : xstrdup(port);
	if (parse_port(low, ret_from) < 0 || parse_port(dash ? dash + 1 : port, ret_to) < 0)
		return cli_usage_error(err, "--port '%s' is invalid: give a port, a range LOW-HIGH, or any", port);
	return 0;
}

static int outbound_rules_add_run(struct cli *c, struct error *err)
{
	const char *space, *dest = cli_opt(c, OPT_DEST), *protocol = cli_opt(c, OPT_PROTOCOL), *port = cli_opt(c, OPT_PORT);
	int r = space_flag(c, &space, err);
	if (r < 0)
		return r;
	if (isempty(dest) || isempty(protocol))
		return cli_usage_error(err, "give --dest CIDR and --protocol (tcp, udp, icmp or any)");
	long from, to;
	r = parse_ports(protocol, port ? port : "any", &from, &to, err);
	_cleanup_json_ json_t *ruleset = NULL;
	if (r >= 0)
		r = ruleset_get(c, space, "outbound-ruleset", &ruleset, err);
	if (r < 0)
		return r;
	json_array_append_new(json_object_get(ruleset, "rules"), json_pack("{s:s, s:i, s:i, s:s}", "target", dest, "from_port",
									   (int)from, "to_port", (int)to, "protocol", protocol));
	r = ruleset_put(c, space, "outbound-ruleset", ruleset, err);
	if (r < 0)
		return r;
	printf("Added rule to the Outbound Rules of %s\n", space);
	fflush(stdout);
	fprintf(stderr, "cove: warning: modifying the outbound rules may break add-ons for apps in this private space\n");
	return 0;
}

static int outbound_rules_remove_run(struct cli *c, struct error *err)
{
	const char *space;
	int r = space_flag(c, &space, err);
	if (r < 0)
		return r;
	char *end;
	long n = strtol(c->args[0], &end, 10);
	if (*end || n < 1)
		return cli_usage_error(err, "rule number '%s' is invalid: give the number 'cove outbound-rules' shows",
				       c->args[0]);
	_cleanup_json_ json_t *ruleset = NULL;
	r = ruleset_get(c, space, "outbound-ruleset", &ruleset, err);
	if (r < 0)
		return r;
	json_t *rules = json_object_get(ruleset, "rules");
	if (json_array_size(rules) == 0)
		return error_set(err, -ENOENT, "no outbound rules configured: nothing to do");
	if ((size_t)n > json_array_size(rules))
		return error_set(err, -ENOENT, "rule %ld does not exist: %s has %zu outbound rule%s", n, space,
				 json_array_size(rules), json_array_size(rules) == 1 ? "" : "s");
	r = cli_confirm(c, "space", space, err);
	if (r < 0)
		return r;
	json_array_remove(rules, (size_t)n - 1);
	_cleanup_free_ char *line = xasprintf("Removed Rule %ld from Outbound Rules on %s", n, space);
	return ruleset_save(c, space, "outbound-ruleset", ruleset, line, err);
}

/* ---- space access ----------------------------------------------------------------------- */

static int access_run(struct cli *c, struct error *err)
{
	const char *space;
	_cleanup_json_ json_t *members = NULL;
	int r = cli_space_get_show(c, "/spaces/%s/members", &space, &members, err);
	if (r <= 0)
		return r;
	cli_header("%s access", space);
	_cleanup_table_ struct cli_table *t = cli_table_new(2, (const char *const[]){ "Email", "Permissions" });
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
	{
		struct strbuf perms = STRBUF_INIT;
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(m, "permissions"), k, p)
			strbuf_addf(&perms, "%s%s", k ? "," : "", cli_json_str(p, "name"));
		cli_table_add(t, cli_json_str(m, "user.email"), perms.buf ? perms.buf : "");
		strbuf_release(&perms);
	}
	cli_table_print(t);
	return 0;
}

static int access_change(struct cli *c, bool grant, struct error *err)
{
	const char *space, *email = c->args[0], *permission = cli_opt(c, OPT_PERMISSION);
	int r = space_flag(c, &space, err);
	if (r < 0)
		return r;
	if (isempty(permission))
		return cli_usage_error(err, "give --permission create_apps or --permission bastion");
	_cleanup_free_ char *path = cli_path("/spaces/%s/members/%s", space, email);
	_cleanup_json_ json_t *access = NULL;
	r = cli_get(c, path, &access, err);
	if (r < 0)
		return r;
	/* The other permissions stay as they are. */
	json_t *now = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(access, "permissions"), i, p)
		if (!streq_ptr(cli_json_str(p, "name"), permission))
			json_array_append_new(now, json_pack("{s:s}", "name", cli_json_str(p, "name")));
	if (grant)
		json_array_append_new(now, json_pack("{s:s}", "name", permission));
	_cleanup_json_ json_t *body = json_pack("{s:o}", "permissions", now), *answer = NULL;
	r = cli_send(c, "PATCH", path, body, &answer, err);
	if (r < 0)
		return r;
	if (grant)
		printf("Granting %s permission on %s to %s... done\n", permission, space, email);
	else
		printf("Revoking %s permission on %s from %s... done\n", permission, space, email);
	return 0;
}

static int access_grant_run(struct cli *c, struct error *err)
{
	return access_change(c, true, err);
}

static int access_revoke_run(struct cli *c, struct error *err)
{
	return access_change(c, false, err);
}

#define SPACE_FLAG CLI_FLAG(OPT_SPACE)

const struct cli_command cli_network_commands[] = {
	{ "spaces:trusted-ips", trusted_ips_run, SPACE_FLAG | CLI_FLAG(OPT_JSON), 0, 1, "--space SPACE",
	  "list the trusted IP ranges of a space: the sources its apps take web requests from",
	  "cove spaces:trusted-ips --space acme-prod" },
	{ "spaces:trusted-ips:add", trusted_ips_add_run, SPACE_FLAG, 1, 1, "CIDR --space SPACE",
	  "trust web requests from a range of IP addresses (team admins)",
	  "cove spaces:trusted-ips:add 203.0.113.0/24 --space acme-prod" },
	{ "spaces:trusted-ips:remove", trusted_ips_remove_run, SPACE_FLAG, 1, 1,
	  "CIDR --space SPACE", "stop trusting a range of IP addresses (team admins)",
	  "cove spaces:trusted-ips:remove 0.0.0.0/0 --space acme-prod" },
	{ "outbound-rules", outbound_rules_run, SPACE_FLAG | CLI_FLAG(OPT_JSON), 0, 1, "--space SPACE",
	  "list the outbound rules of a space: where its dynos may connect to",
	  "cove outbound-rules --space acme-prod" },
	{ "outbound-rules:add", outbound_rules_add_run,
	  SPACE_FLAG | CLI_FLAG(OPT_DEST) | CLI_FLAG(OPT_PROTOCOL) | CLI_FLAG(OPT_PORT), 0, 0,
	  "--space SPACE --dest CIDR --protocol PROTOCOL [--port PORT|LOW-HIGH|any]",
	  "let the dynos of a space connect to a network (team admins)",
	  "cove outbound-rules:add --space acme-prod --dest 203.0.113.0/24 --protocol tcp --port 443\n"
	  "cove outbound-rules:add --space acme-prod --dest 10.20.0.0/16 --protocol udp --port 5000-5100" },
	{ "outbound-rules:remove", outbound_rules_remove_run, SPACE_FLAG | CLI_FLAG(OPT_CONFIRM), 1, 1,
	  "RULENUMBER --space SPACE --confirm SPACE", "remove an outbound rule by its number (team admins)",
	  "cove outbound-rules:remove 1 --space acme-prod --confirm acme-prod" },
	{ "spaces:access", access_run, SPACE_FLAG | CLI_FLAG(OPT_JSON), 0, 1, "--space SPACE",
	  "list the team members' permissions on a space", "cove spaces:access --space acme-prod" },
	{ "spaces:access:grant", access_grant_run, SPACE_FLAG | CLI_FLAG(OPT_PERMISSION), 1, 1,
	  "EMAIL --space SPACE --permission create_apps|bastion",
	  "let a team member create apps in a space, or open bastion tunnels into it (team admins)",
	  "cove spaces:access:grant bob@acme.test --space acme-prod --permission create_apps\n"
	  "cove spaces:access:grant bob@acme.test --space acme-prod --permission bastion" },
	{ "spaces:access:revoke", access_revoke_run, SPACE_FLAG | CLI_FLAG(OPT_PERMISSION), 1, 1,
	  "EMAIL --space SPACE --permission create_apps|bastion",
	  "take a permission on a space from a team member (team admins)",
	  "cove spaces:access:revoke bob@acme.test --space acme-prod --permission create_apps" },
	{},
};
