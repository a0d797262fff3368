/* SPDX-License-Identifier: MIT */
/*
 * Regions and spaces: regions, spaces, spaces:create, spaces:info, spaces:rename and
 * spaces:destroy. A space is a team's private network in one region; apps live in spaces.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static int regions_run(struct cli *c, struct error *err)
{
	_cleanup_json_ json_t *regions = NULL;
	int r = cli_get_show(c, "/regions", &regions, err);
	if (r <= 0)
		return r;
	_cleanup_table_ struct cli_table *t = cli_table_new(3, (const char *const[]){ "ID", "Location", "Runtime" });
	size_t i;
	json_t *region;
	json_array_foreach(regions, i, region)
		cli_table_add(t, cli_json_str(region, "name"), cli_json_str(region, "description"), "Private Spaces");
	cli_table_print(t);
	return 0;
}

static int spaces_run(struct cli *c, struct error *err)
{
	_cleanup_json_ json_t *spaces = NULL;
	int r = cli_get(c, "/spaces", &spaces, err);
	if (r < 0)
		return r;
	const char *team = cli_opt(c, OPT_TEAM);
	if (team) {
		json_t *mine = json_array();
		size_t i;
		json_t *s;
		json_array_foreach(spaces, i, s)
			if (streq_ptr(cli_json_str(s, "team.name"), team))
				json_array_append(mine, s);
		json_decref(spaces);
		spaces = mine;
	}
	if (cli_show_json(c, spaces))
		return 0;
	if (json_array_size(spaces) == 0) {
		if (team)
			printf("There are no spaces in team %s.\n", team);
		else
			puts("You do not have access to any spaces.");
		return 0;
	}
	static const struct cli_column columns[] = {
		{ "Name", "name" },   { "Team", "team.name" },        { "Region", "region.name" },
		{ "State", "state" }, { "Created At", "created_at" },
	};
	cli_header("Spaces");
	cli_table_print_json(spaces, columns, ARRAY_SIZE(columns));
	return 0;
}

/* Prints a space as spaces:info does; nat may be NULL (no "Outbound IPs" line). */
static void space_print(json_t *space, json_t *nat)
{
	cli_header("%s", cli_json_str(space, "name"));
	struct cli_block b = CLI_BLOCK_INIT;
	const char *region = cli_json_str(space, "region.description");
	cli_block_add(&b, "ID", "%s", cli_json_str(space, "id"));
	cli_block_add(&b, "Team", "%s", cli_json_str(space, "team.name"));
	cli_block_add(&b, "Region", "%s", region ? region : cli_json_str(space, "region.name"));
	cli_block_add(&b, "CIDR", "%s", cli_json_str(space, "cidr"));
	cli_block_add(&b, "Data CIDR", "%s", cli_json_str(space, "data_cidr"));
	cli_block_add(&b, "State", "%s", cli_json_str(space, "state"));
	cli_block_add(&b, "Shield", "%s", cli_json_true(space, "shield") ? "on" : "off");
	if (cli_json_str(space, "ingress"))
		cli_block_add(&b, "Router", "http://%s/", cli_json_str(space, "ingress"));
	if (nat) {
		if (streq_ptr(cli_json_str(nat, "state"), "enabled")) {
			_cleanup_strbuf_ struct strbuf ips = STRBUF_INIT;
			size_t i;
			json_t *ip;
			json_array_foreach(json_object_get(nat, "sources"), i, ip)
				strbuf_addf(&ips, "%s%s", i ? ", " : "", json_string_value(ip));
			cli_block_add(&b, "Outbound IPs", "%s", ips.buf);
		} else {
			cli_block_add(&b, "Outbound IPs", "%s", cli_json_str(nat, "state"));
		}
	}
	cli_block_add(&b, "Created at", "%s", cli_json_str(space, "created_at"));
	cli_block_print(&b);
}

static int spaces_create_run(struct cli *c, struct error *err)
{
	const char *name;
	int r = cli_space_arg(c, &name, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *body = json_pack("{s:s}", "name", name);
	static const struct {
		enum cli_opt opt;
		const char *field;
	} fields[] = {
		{ OPT_TEAM, "team" },
		{ OPT_REGION, "region" },
		{ OPT_CIDR, "cidr" },
		{ OPT_DATA_CIDR, "data_cidr" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (cli_opt(c, fields[i].opt))
			json_object_set_new(body, fields[i].field, json_string(cli_opt(c, fields[i].opt)));
	if (cli_has(c, OPT_SHIELD))
		json_object_set_new(body, "shield", json_true());

	_cleanup_json_ json_t *space = NULL;
	r = cli_send(c, "POST", "/spaces", body, &space, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, space))
		return 0;
	printf("Creating space %s in team %s... done\n", cli_json_str(space, "name"), cli_json_str(space, "team.name"));
	space_print(space, NULL);
	return 0;
}

/* Shows a space for spaces:info and spaces:wait, with its outbound IPs, or as JSON. */
static void space_show(struct cli *c, const char *name, json_t *space)
{
	/* Like heroku, the outbound IPs are asked only of an allocated space, and a failure only
	 * hides them. */
	_cleanup_json_ json_t *nat = NULL;
	if (streq_ptr(cli_json_str(space, "state"), "allocated")) {
		_cleanup_free_ char *nat_path = cli_path("/spaces/%s/nat", name);
		struct error ignored = { 0 };
		cli_get(c, nat_path, &nat, &ignored);
	}
	if (nat && cli_has(c, OPT_JSON))
		json_object_set(space, "outbound_ips", nat);
	if (!cli_show_json(c, space))
		space_print(space, nat);
}

static int spaces_info_run(struct cli *c, struct error *err)
{
	const char *name;
	int r = cli_space_arg(c, &name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/spaces/%s", name);
	_cleanup_json_ json_t *space = NULL;
	r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path, .expand = "region" }, &space, err);
	if (r < 0)
		return r;

	space_show(c, name, space);
	return 0;
}

/* A number of seconds from a flag, or def when it is absent. */
static int seconds_opt(struct cli *c, enum cli_opt opt, long def, long *ret, struct error *err)
{
	const char *v = cli_opt(c, opt);
	*ret = def;
	if (!v)
		return 0;
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < 1 || n > 24 * 3600)
		return cli_usage_error(err, "--%s '%s' is invalid: 1 to 86400 seconds", cli_options[opt].name, v);
	*ret = n;
	return 0;
}

/* Waits for a space to be allocated, then shows it as spaces:info does. */
static int spaces_wait_run(struct cli *c, struct error *err)
{
	const char *name;
	long interval, timeout;
	int r = cli_space_arg(c, &name, err);
	if (r >= 0)
		r = seconds_opt(c, OPT_INTERVAL, 30, &interval, err);
	if (r >= 0)
		r = seconds_opt(c, OPT_TIMEOUT, 25 * 60, &timeout, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/spaces/%s", name);
	_cleanup_json_ json_t *space = NULL;
	fprintf(stderr, "Waiting for space %s to allocate...", name);
	fflush(stderr);
	time_t deadline = time(NULL) + timeout;
	for (;;) {
		json_decref(space);
		space = NULL;
		r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path, .expand = "region" }, &space,
				 err);
		if (r < 0) {
			fputs(" !\n", stderr);
			return r;
		}
		if (streq_ptr(cli_json_str(space, "state"), "allocated"))
			break;
		if (time(NULL) + interval > deadline) {
			fputs(" !\n", stderr);
			return error_set(err, -ETIMEDOUT, "space '%s' is still %s after %ld seconds", name,
					 cli_json_str(space, "state"), timeout);
		}
		sleep((unsigned)interval);
	}
	fputs(" done\n", stderr);
	space_show(c, name, space);
	return 0;
}

static int spaces_rename_run(struct cli *c, struct error *err)
{
	const char *from = cli_opt(c, OPT_FROM), *to = cli_opt(c, OPT_TO);
	if (isempty(from) || isempty(to))
		return cli_usage_error(err, "give both names: cove spaces:rename --from OLD --to NEW");
	_cleanup_free_ char *path = cli_path("/spaces/%s", from);
	_cleanup_json_ json_t *body = json_pack("{s:s}", "name", to);
	_cleanup_json_ json_t *space = NULL;
	int r = cli_send(c, "PATCH", path, body, &space, err);
	if (r < 0)
		return r;
	printf("Renaming space from %s to %s... done\n", from, cli_json_str(space, "name"));
	return 0;
}

static int spaces_destroy_run(struct cli *c, struct error *err)
{
	const char *name;
	int r = cli_space_arg(c, &name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/spaces/%s", name);
	/* Look first, so that a wrong name fails before anyone is asked to confirm it. */
	_cleanup_json_ json_t *space = NULL;
	r = cli_get(c, path, &space, err);
	if (r < 0)
		return r;
	r = cli_confirm(c, "space", name, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *gone = NULL;
	r = cli_send(c, "DELETE", path, NULL, &gone, err);
	if (r < 0)
		return r;
	printf("Destroying space %s... done\n", name);
	if (streq_ptr(cli_json_str(gone, "state"), "deleting"))
		printf("Its host is taking %s apart: it leaves 'cove spaces' when that is over\n", name);
	return 0;
}

/* spaces:ps: the dynos of every app of a space, as Heroku prints them. */
static int spaces_ps_run(struct cli *c, struct error *err)
{
	const char *name;
	_cleanup_json_ json_t *apps = NULL;
	int r = cli_space_get_show(c, "/spaces/%s/dynos", &name, &apps, err);
	if (r <= 0)
		return r;
	size_t i, k;
	json_t *app, *d;
	json_array_foreach(apps, i, app)
	{
		json_t *dynos = json_object_get(app, "dynos");
		if (json_array_size(dynos) == 0)
			continue;
		cli_header("%s (%zu)", cli_json_str(app, "app_name"), json_array_size(dynos));
		json_array_foreach(dynos, k, d)
		{
			_cleanup_free_ char *ago = cli_time_ago(cli_json_str(d, "updated_at"));
			const char *ip = cli_json_str(d, "private_ip");
			printf("%s: %s %s %s%s%s\n", cli_json_str(d, "name"), cli_json_str(d, "state"), ago ? ago : "",
			       ip ? "(" : "", ip ? ip : "", ip ? ")" : "");
		}
		printf("\n");
	}
	return 0;
}

/* spaces:topology: apps, their domains, and their dynos with private IPs and DNS names. */
static int spaces_topology_run(struct cli *c, struct error *err)
{
	const char *name;
	_cleanup_json_ json_t *topo = NULL;
	int r = cli_space_get_show(c, "/spaces/%s/topology", &name, &topo, err);
	if (r <= 0)
		return r;
	size_t i, k, n;
	json_t *app, *f, *d, *domain;
	json_array_foreach(json_object_get(topo, "apps"), i, app)
	{
		cli_header("%s", cli_json_str(app, "name") ? cli_json_str(app, "name") : cli_json_str(app, "id"));
		json_array_foreach(json_object_get(app, "domains"), n, domain)
			printf("Domain: %s\n", json_string_value(domain));
		json_array_foreach(json_object_get(app, "formations"), k, f)
		{
			json_array_foreach(json_object_get(f, "dynos"), n, d)
				printf("  %s.%lld  %-15s  %s\n", cli_json_str(f, "process_type"), cli_json_int(d, "number", 0),
				       cli_json_str(d, "private_ip") ? cli_json_str(d, "private_ip") : "-",
				       cli_json_str(d, "hostname") ? cli_json_str(d, "hostname") : "");
		}
		printf("\n");
	}
	return 0;
}

#define SPACE_FLAG CLI_FLAG(OPT_SPACE)

const struct cli_command cli_space_commands[] = {
	{ "regions", regions_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, "list the regions spaces can be created in",
	  "cove regions" },
	{ "spaces", spaces_run, CLI_FLAG(OPT_TEAM) | CLI_FLAG(OPT_JSON), 0, 0, "[-t TEAM]",
	  "list the spaces you can see", "cove spaces -t acme" },
	{ "spaces:create", spaces_create_run,
	  SPACE_FLAG | CLI_FLAG(OPT_TEAM) | CLI_FLAG(OPT_REGION) | CLI_FLAG(OPT_CIDR) | CLI_FLAG(OPT_DATA_CIDR) |
		  CLI_FLAG(OPT_SHIELD) | CLI_FLAG(OPT_JSON),
	  0, 1, "NAME [-t TEAM] [--region REGION] [--cidr CIDR] [--data-cidr CIDR] [--shield]",
	  "create a space: a private network for a team's apps, in one region",
	  "cove spaces:create acme-prod -t acme\ncove spaces:create acme-jp -t acme --region tokyo --cidr 10.20.0.0/16" },
	{ "spaces:info", spaces_info_run, SPACE_FLAG | CLI_FLAG(OPT_JSON), 0, 1, "NAME",
	  "show a space: team, region, networks, state, outbound IPs", "cove spaces:info acme-prod" },
	{ "spaces:wait", spaces_wait_run,
	  SPACE_FLAG | CLI_FLAG(OPT_INTERVAL) | CLI_FLAG(OPT_TIMEOUT) | CLI_FLAG(OPT_JSON), 0, 1,
	  "NAME [-i SECONDS] [--timeout SECONDS]", "wait until a space is allocated, then show it",
	  "cove spaces:wait acme-prod -i 5" },
	{ "spaces:rename", spaces_rename_run, CLI_FLAG(OPT_FROM) | CLI_FLAG(OPT_TO), 0, 0, "--from OLD --to NEW",
	  "rename a space (team admins)", "cove spaces:rename --from acme-prod --to acme-live" },
	{ "spaces:destroy", spaces_destroy_run, SPACE_FLAG | CLI_FLAG(OPT_CONFIRM), 0, 1, "NAME --confirm NAME",
	  "destroy a space that has no apps left (team admins)", "cove spaces:destroy acme-jp --confirm acme-jp" },
	{ "spaces:ps", spaces_ps_run, SPACE_FLAG | CLI_FLAG(OPT_JSON), 0, 1, "--space NAME",
	  "list the dynos of every app of a space, with their private IPs", "cove spaces:ps --space acme-prod" },
	{ "spaces:topology", spaces_topology_run, SPACE_FLAG | CLI_FLAG(OPT_JSON), 0, 1, "--space NAME",
	  "show the apps of a space, their domains and dynos with private IPs and DNS names",
	  "cove spaces:topology --space acme-prod" },
	{},
};
