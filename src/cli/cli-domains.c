/* SPDX-License-Identifier: MIT */
/*
 * Domains: domains, domains:add, domains:remove, domains:info. An app answers at its own host
 * name (<app>.<space>.<apps domain>) and at the custom domains added to it; a DNS record of
 * each custom domain points (CNAME) to the app's own host name.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static int domains_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/domains", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	size_t i;
	json_t *d;
	cli_header("%s Heroku Domain", app);
	json_array_foreach(list, i, d)
	{
		if (streq_ptr(cli_json_str(d, "kind"), "heroku"))
			printf("%s\n", cli_json_str(d, "hostname"));
	}
	_cleanup_table_ struct cli_table *t =
		cli_table_new(3, (const char *const[]){ "Domain Name", "DNS Record Type", "DNS Target" });
	size_t custom = 0;
	json_array_foreach(list, i, d)
	{
		if (!streq_ptr(cli_json_str(d, "kind"), "custom"))
			continue;
		cli_table_add(t, cli_json_str(d, "hostname"), "CNAME", cli_json_str(d, "cname"));
		custom++;
	}
	if (custom) {
		printf("\n");
		cli_header("%s Custom Domains", app);
		cli_table_print(t);
	}
	return 0;
}

static int domains_add_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *body = json_pack("{s:s, s:n}", "hostname", c->args[0], "sni_endpoint");
	_cleanup_json_ json_t *d = NULL;
	int r = cli_app_send(c, "POST", "/apps/%s/domains", NULL, body, &app, &d, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, d))
		return 0;
	printf("Adding %s to %s... done\n", cli_json_str(d, "hostname"), app);
	printf("Configure your app's DNS provider to point to the DNS Target %s\n", cli_json_str(d, "cname"));
	return 0;
}

static int domains_remove_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *d = NULL;
	int r = cli_app_send(c, "DELETE", "/apps/%s/domains/%s", c->args[0], NULL, &app, &d, err);
	if (r < 0)
		return r;
	printf("Removing %s from %s... done\n", cli_json_str(d, "hostname"), app);
	return 0;
}

static int domains_info_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *d = NULL;
	int r = cli_app_get_show(c, "/apps/%s/domains/%s", c->args[0], &app, &d, err);
	if (r <= 0)
		return r;
	cli_header("%s", cli_json_str(d, "hostname"));
	printf("App:         %s\n", cli_json_str(d, "app.name"));
	printf("Kind:        %s\n", cli_json_str(d, "kind"));
	printf("DNS Target:  %s\n", cli_json_str(d, "cname") ? cli_json_str(d, "cname") : "-");
	printf("Status:      %s\n", cli_json_str(d, "status"));
	printf("Created At:  %s\n", cli_json_str(d, "created_at"));
	return 0;
}

const struct cli_command cli_domain_commands[] = {
	{ "domains", domains_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, NULL,
	  "list the domains the app answers to: its own, and custom ones", "cove domains -a myapp" },
	{ "domains:add", domains_add_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 1, 1, "HOSTNAME",
	  "add a custom domain (its DNS record points to the app's own host name)",
	  "cove domains:add www.example.com -a myapp\ncove domains:add '*.example.org' -a myapp" },
	{ "domains:remove", domains_remove_run, CLI_APP_FLAGS, 1, 1, "HOSTNAME", "remove a custom domain",
	  "cove domains:remove www.example.com -a myapp" },
	{ "domains:info", domains_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 1, 1, "HOSTNAME", "show a domain",
	  "cove domains:info www.example.com -a myapp" },
	{},
};
