/* SPDX-License-Identifier: MIT */
/*
 * Teams and their members: teams, teams:create, members, members:add, members:set and
 * members:remove. A team owns spaces and apps; its admins manage both and its members.
 */
#include <stdio.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static int teams_run(struct cli *c, struct error *err)
{
	static const struct cli_column columns[] = { { "Team", "name" }, { "Role", "role" } };
	return cli_show_list(c, "/teams", "You are not a member of any team: create one with 'cove teams:create NAME'",
			     columns, ARRAY_SIZE(columns), err);
}

static int teams_create_run(struct cli *c, struct error *err)
{
	_cleanup_json_ json_t *body = json_pack("{s:s}", "name", c->args[0]);
	_cleanup_json_ json_t *team = NULL;
	int r = cli_send(c, "POST", "/teams", body, &team, err);
	if (r < 0)
		return r;
	if (!cli_show_json(c, team))
		printf("Creating team %s... done\n", cli_json_str(team, "name"));
	return 0;
}

static int members_run(struct cli *c, struct error *err)
{
	const char *team;
	int r = cli_team(c, &team, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/teams/%s/members", team);
	_cleanup_json_ json_t *members = NULL;
	r = cli_get_show(c, path, &members, err);
	if (r <= 0)
		return r;
	const char *role = cli_opt(c, OPT_ROLE);
	_cleanup_table_ struct cli_table *t = cli_table_new(2, (const char *const[]){ "Email", "Role" });
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
		if (!role || streq_ptr(role, cli_json_str(m, "role")))
			cli_table_add(t, cli_json_str(m, "email"), cli_json_str(m, "role"));
	cli_table_print(t);
	return 0;
}

/* Who has access to an app: the members of its team, with their permissions (the collaborators). */
static int access_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/collaborators", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	_cleanup_table_ struct cli_table *t = cli_table_new(3, (const char *const[]){ "Email", "Role", "Permissions" });
	size_t i, j;
	json_t *m, *p;
	json_array_foreach(list, i, m) {
		_cleanup_strbuf_ struct strbuf perms = STRBUF_INIT;
		json_array_foreach(json_object_get(m, "permissions"), j, p)
			strbuf_addf(&perms, "%s%s", j ? ", " : "", cli_json_str(p, "name"));
		cli_table_add(t, cli_json_str(m, "user.email"), cli_json_str(m, "role"), perms.buf);
	}
	cli_table_print(t);
	return 0;
}

/* PUT adds or changes a member; PATCH changes one (the API treats them alike). role may be NULL. */
static int member_put(struct cli *c, const char *method, const char *role, struct error *err)
{
	const char *team;
	int r = cli_team(c, &team, err);
	if (r < 0)
		return r;
	if (role && !streq(role, "admin") && !streq(role, "member"))
		return cli_usage_error(err, "role '%s' is invalid: use admin or member", role);
	_cleanup_free_ char *path = cli_path("/teams/%s/members", team);
	_cleanup_json_ json_t *body = json_pack("{s:s}", "email", c->args[0]);
	if (role)
		json_object_set_new(body, "role", json_string(role));
	_cleanup_json_ json_t *member = NULL;
	r = cli_send(c, method, path, body, &member, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, member))
		return 0;
	if (streq(method, "PUT"))
		printf("Adding %s to %s as %s... done\n", cli_json_str(member, "email"), team, cli_json_str(member, "role"));
	else
		printf("Setting %s as %s of %s... done\n", cli_json_str(member, "email"), cli_json_str(member, "role"), team);
	return 0;
}

/* Without --role the API adds a member, and leaves the role of someone already in the team. */
static int members_add_run(struct cli *c, struct error *err)
{
	return member_put(c, "PUT", cli_opt(c, OPT_ROLE), err);
}

static int members_set_run(struct cli *c, struct error *err)
{
	const char *role = cli_opt(c, OPT_ROLE);
	if (!role)
		return cli_usage_error(err, "no role given: --role admin or --role member");
	return member_put(c, "PATCH", role, err);
}

static int members_remove_run(struct cli *c, struct error *err)
{
	const char *team;
	int r = cli_team(c, &team, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/teams/%s/members/%s", team, c->args[0]);
	r = cli_send(c, "DELETE", path, NULL, NULL, err);
	if (r < 0)
		return r;
	printf("Removing %s from %s... done\n", c->args[0], team);
	return 0;
}

#define TEAM_FLAGS (CLI_FLAG(OPT_TEAM) | CLI_FLAG(OPT_JSON))

const struct cli_command cli_team_commands[] = {
	{ "teams", teams_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, "list the teams you belong to, with your role",
	  "cove teams" },
	{ "teams:create", teams_create_run, CLI_FLAG(OPT_JSON), 1, 1, "NAME", "create a team; you become its admin",
	  "cove teams:create acme" },
	{ "access", access_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, "-a APP",
	  "list who has access to an app (its team's members) and what they may do", "cove access -a myapp" },
	{ "members", members_run, TEAM_FLAGS | CLI_FLAG(OPT_ROLE), 0, 0, "-t TEAM [--role ROLE]",
	  "list the members of a team", "cove members -t acme" },
	{ "members:add", members_add_run, TEAM_FLAGS | CLI_FLAG(OPT_ROLE), 1, 1, "EMAIL -t TEAM [--role admin|member]",
	  "add a user to a team (as a member unless --role admin)", "cove members:add dev@acme.test -t acme --role member" },
	{ "members:set", members_set_run, TEAM_FLAGS | CLI_FLAG(OPT_ROLE), 1, 1, "EMAIL -t TEAM --role admin|member",
	  "change the role of a member of a team", "cove members:set dev@acme.test -t acme --role admin" },
	{ "members:remove", members_remove_run, CLI_FLAG(OPT_TEAM), 1, 1, "EMAIL -t TEAM",
	  "remove a member from a team", "cove members:remove dev@acme.test -t acme" },
	{},
};
