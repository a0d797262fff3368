/* SPDX-License-Identifier: MIT */
/*
 * What platform administrators run the platform with: the audit trail (every request that
 * tried to change something) and the hosts whose agents run the spaces.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

#define AUDIT_DEFAULT 30
#define AUDIT_MAX 1000

static int audit_run(struct cli *c, struct error *err)
{
	static const struct cli_column columns[] = {
		{ "Time", "created_at" }, { "Actor", "actor.email", "-" }, { "Status", "status", "0" }, { "Action", "action" },
	};
	long n;
	int r = cli_num(c, AUDIT_DEFAULT, AUDIT_MAX, &n, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *range = xasprintf("seq ..; max=%ld, order=desc", n);
	_cleanup_json_ json_t *events = NULL;
	r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = "/audit-events", .range = range }, &events,
			 err);
	if (r < 0)
		return r;
	if (!cli_show_json(c, events))
		cli_table_print_json(events, columns, ARRAY_SIZE(columns));
	return 0;
}

static int hosts_run(struct cli *c, struct error *err)
{
	static const struct cli_column columns[] = {
		{ "Name", "name" }, { "Regions", "regions" }, { "Last seen", "seen_at", "never" },
	};
	return cli_show_list(c, "/hosts", "No hosts: register one with 'cove hosts:create NAME --regions REGION'",
			     columns, ARRAY_SIZE(columns), err);
}

static int hosts_create_run(struct cli *c, struct error *err)
{
	const char *regions = cli_opt(c, OPT_REGIONS);
	if (isempty(regions))
		return cli_usage_error(err, "no regions given: cove hosts:create NAME --regions A,B,...");
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s}", "name", c->args[0], "regions", regions);
	_cleanup_json_ json_t *host = NULL;
	int r = cli_send(c, "POST", "/hosts", body, &host, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, host))
		return 0;
	/* The token is the host's secret, and this is the only time the API shows it. */
	printf("Registering host %s for %s... done\n", cli_json_str(host, "name"), cli_json_str(host, "regions"));
	printf("Host token (shown once, for the agent of %s): %s\n", cli_json_str(host, "name"),
	       cli_json_str(host, "token") ? cli_json_str(host, "token") : "");
	return 0;
}

static int hosts_remove_run(struct cli *c, struct error *err)
{
	const char *name = c->args[0];
	int r = cli_confirm(c, "host", name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/hosts/%s", name);
	r = cli_send(c, "DELETE", path, NULL, NULL, err);
	if (r < 0)
		return r;
	printf("Removing host %s... done\n", name);
	return 0;
}

const struct cli_command cli_admin_commands[] = {
	{ "audit", audit_run, CLI_FLAG(OPT_NUM) | CLI_FLAG(OPT_JSON), 0, 0, "[-n N] [--json]",
	  "show the newest entries of the audit trail (platform administrators; 30 unless -n)", "cove audit -n 100" },
	{ "hosts", hosts_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, "list the hosts whose agents run spaces", "cove hosts" },
	{ "hosts:create", hosts_create_run, CLI_FLAG(OPT_REGIONS) | CLI_FLAG(OPT_JSON), 1, 1, "NAME --regions A,B,...",
	  "register a host for regions and print its agent's token (once)",
	  "cove hosts:create node-2 --regions virginia,oregon" },
	{ "hosts:remove", hosts_remove_run, CLI_FLAG(OPT_CONFIRM), 1, 1, "NAME --confirm NAME",
	  "remove a host that runs no space", "cove hosts:remove node-2 --confirm node-2" },
	{},
};
