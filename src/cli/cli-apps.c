/* SPDX-License-Identifier: MIT */
/*
 * Apps: create, apps, apps:info, apps:rename, apps:destroy, git:remote and maintenance.
 * The commands that create, rename or destroy an app keep the git remote of the current work
 * tree in step with it, as the heroku CLI does.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-git.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static const char *remote_name(struct cli *c)
{
	const char *remote = cli_opt(c, OPT_REMOTE);
	return isempty(remote) ? CLI_GIT_REMOTE_DEFAULT : remote;
}

/* True when the remote exists and points at the app. */
static bool remote_is_app(const char *remote, const char *app)
{
	_cleanup_free_ char *url = NULL, *name = NULL;
	return cli_git_remote_url(remote, &url) >= 0 && cli_git_app_from_url(url, &name) >= 0 && streq(name, app);
}

static void warn(const struct error *err)
{
	fprintf(stderr, "cove: warning: %s\n", err->message);
}

/*
 * Keeps the git remote of this work tree that points at app in step: pointed at git_url after a
 * rename, removed (git_url NULL) after a destroy. The app has changed already: a remote that
 * cannot follow is worth a warning, not a failure.
 */
static void remote_follow(struct cli *c, const char *app, const char *git_url)
{
	const char *remote = remote_name(c);
	if (!remote_is_app(remote, app))
		return;
	struct error gerr = { 0 };
	int r = git_url ? cli_git_remote_set(remote, git_url, true, &gerr) : cli_git_remote_remove(remote, &gerr);
	if (r < 0)
		warn(&gerr);
	else
		printf("Git remote %s %s\n", remote, git_url ? "updated" : "removed");
}

static int create_run(struct cli *c, struct error *err)
{
	_cleanup_json_ json_t *body = json_object();
	if (c->n_args > 0)
		json_object_set_new(body, "name", json_string(c->args[0]));
	if (cli_opt(c, OPT_SPACE))
		json_object_set_new(body, "space", json_string(cli_opt(c, OPT_SPACE)));
	if (cli_opt(c, OPT_TEAM))
		json_object_set_new(body, "team", json_string(cli_opt(c, OPT_TEAM)));
	if (cli_opt(c, OPT_REGION))
		json_object_set_new(body, "region", json_string(cli_opt(c, OPT_REGION)));
	if (cli_has(c, OPT_INTERNAL_ROUTING))
		json_object_set_new(body, "internal_routing", json_true());

	_cleanup_json_ json_t *app = NULL;
	int r = cli_send(c, "POST", "/teams/apps", body, &app, err);
	if (r < 0)
		return r;
	const char *name = cli_json_str(app, "name");
	const char *git_url = cli_json_str(app, "git_url");
	bool json = cli_has(c, OPT_JSON);
	if (json)
		cli_print_json(app);
	else if (c->n_args > 0)
		printf("Creating %s... done\n", name);
	else
		printf("Creating app... done, %s\n", name);
	if (!json)
		printf("%s | %s\n", cli_json_str(app, "web_url"), git_url);

	if (cli_has(c, OPT_NO_REMOTE) || !git_url || !cli_git_in_work_tree())
		return 0;
	/* The app exists now: a remote that cannot be added is worth a warning, not a failure. */
	const char *remote = remote_name(c);
	_cleanup_free_ char *existing = NULL;
	if (cli_git_remote_url(remote, &existing) >= 0) {
		fprintf(stderr, "cove: warning: git remote '%s' already exists (%s): left as it is\n", remote, existing);
		return 0;
	}
	struct error gerr = { 0 };
	if (cli_git_remote_set(remote, git_url, false, &gerr) < 0 || cli_git_credential_helper_set(git_url, cli_api_ca_file(c->api), &gerr) < 0)
		warn(&gerr);
	else if (!json)
		printf("Git remote %s added\n", remote);
	return 0;
}

static int apps_run(struct cli *c, struct error *err)
{
	const char *space = cli_opt(c, OPT_SPACE), *team = cli_opt(c, OPT_TEAM);
	_cleanup_free_ char *path = space ? cli_path("/spaces/%s/apps", space)
				   : team ? cli_path("/teams/%s/apps", team)
					  : xstrdup("/apps");
	_cleanup_json_ json_t *apps = NULL;
	int r = cli_get(c, path, &apps, err);
	if (r < 0)
		return r;
	if (space && team) {
		json_t *mine = json_array();
		size_t i;
		json_t *a;
		json_array_foreach(apps, i, a)
			if (streq_ptr(cli_json_str(a, "team.name"), team))
				json_array_append(mine, a);
		json_decref(apps);
		apps = mine;
	}
	if (cli_show_json(c, apps))
		return 0;
	if (json_array_size(apps) == 0) {
		if (space)
			printf("There are no apps in space %s.\n", space);
		else if (team)
			printf("There are no apps in team %s.\n", team);
		else
			puts("You have no apps.");
		return 0;
	}
	if (space)
		cli_header("Apps in space %s", space);
	else if (team)
		cli_header("Apps in team %s", team);
	else
		cli_header("Apps");
	size_t i;
	json_t *a;
	json_array_foreach(apps, i, a)
		if (space)
			puts(cli_json_str(a, "name"));
		else
			printf("%s (%s)\n", cli_json_str(a, "name"), cli_json_str(a, "space.name"));
	return 0;
}

static int apps_info_run(struct cli *c, struct error *err)
{
	const char *name;
	int r = cli_app_or_arg(c, &name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/apps/%s", name);
	_cleanup_json_ json_t *app = NULL;
	r = cli_get_show(c, path, &app, err);
	if (r <= 0)
		return r;
	/* The dyno counts are a nicety: without them the rest still says what the app is. */
	_cleanup_free_ char *fpath = cli_path("/apps/%s/formation", name);
	_cleanup_json_ json_t *formation = NULL;
	struct error ignored = { 0 };
	cli_get(c, fpath, &formation, &ignored);
	_cleanup_strbuf_ struct strbuf dynos = STRBUF_INIT;
	size_t i;
	json_t *f;
	json_array_foreach(formation, i, f)
		strbuf_addf(&dynos, "%s%s: %lld", dynos.len ? ", " : "", cli_json_str(f, "type"),
			    cli_json_int(f, "quantity", 0));

	cli_header("%s", cli_json_str(app, "name"));
	struct cli_block b = CLI_BLOCK_INIT;
	cli_block_add(&b, "Dynos", "%s", dynos.buf);
	cli_block_add(&b, "Git URL", "%s", cli_json_str(app, "git_url"));
	if (cli_json_true(app, "internal_routing"))
		cli_block_add(&b, "Internal Routing", "true");
	cli_block_add(&b, "Maintenance", "%s", cli_json_true(app, "maintenance") ? "on" : "off");
	cli_block_add(&b, "Owner", "%s", cli_json_str(app, "owner.email"));
	cli_block_add(&b, "Region", "%s", cli_json_str(app, "region.name"));
	cli_block_add(&b, "Space", "%s", cli_json_str(app, "space.name"));
	cli_block_add(&b, "Stack", "%s", cli_json_str(app, "stack.name"));
	cli_block_add(&b, "Team", "%s", cli_json_str(app, "team.name"));
	cli_block_add(&b, "Web URL", "%s", cli_json_str(app, "web_url"));
	cli_block_add(&b, "Created at", "%s", cli_json_str(app, "created_at"));
	cli_block_print(&b);
	return 0;
}

static int apps_rename_run(struct cli *c, struct error *err)
{
	const char *old;
	int r = cli_app(c, &old, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *old_name = xstrdup(old);
	_cleanup_free_ char *path = cli_path("/apps/%s", old_name);
	_cleanup_json_ json_t *body = json_pack("{s:s}", "name", c->args[0]);
	_cleanup_json_ json_t *app = NULL;
	r = cli_send(c, "PATCH", path, body, &app, err);
	if (r < 0)
		return r;
	const char *git_url = cli_json_str(app, "git_url");
	printf("Renaming %s to %s... done\n", old_name, cli_json_str(app, "name"));
	printf("%s | %s\n", cli_json_str(app, "web_url"), git_url);
	if (git_url)
		remote_follow(c, old_name, git_url);
	return 0;
}

static int apps_destroy_run(struct cli *c, struct error *err)
{
	const char *name;
	int r = cli_app_or_arg(c, &name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/apps/%s", name);
	_cleanup_json_ json_t *app = NULL;
	r = cli_get(c, path, &app, err);
	if (r < 0)
		return r;
	r = cli_confirm(c, "app", name, err);
	if (r < 0)
		return r;
	r = cli_send(c, "DELETE", path, NULL, NULL, err);
	if (r < 0)
		return r;
	printf("Destroying %s... done\n", name);
	remote_follow(c, name, NULL);
	return 0;
}

static int git_remote_run(struct cli *c, struct error *err)
{
	const char *name;
	int r = cli_app(c, &name, err);
	if (r < 0)
		return r;
	if (!cli_git_in_work_tree())
		return error_set(err, -ENOENT, "not in a git work tree: run 'git init' first");
	_cleanup_free_ char *path = cli_path("/apps/%s", name);
	_cleanup_json_ json_t *app = NULL;
	r = cli_get(c, path, &app, err);
	if (r < 0)
		return r;
	const char *git_url = cli_json_str(app, "git_url");
	if (!git_url)
		return error_set(err, -EBADMSG, "the API answered app '%s' without a git URL", name);
	const char *remote = remote_name(c);
	_cleanup_free_ char *existing = NULL;
	bool exists = cli_git_remote_url(remote, &existing) >= 0;
	r = cli_git_remote_set(remote, git_url, exists, err);
	if (r >= 0)
		r = cli_git_credential_helper_set(git_url, cli_api_ca_file(c->api), err);
	if (r < 0)
		return r;
	printf("set git remote %s to %s\n", remote, git_url);
	return 0;
}

static int maintenance_run(struct cli *c, struct error *err)
{
	const char *name;
	_cleanup_json_ json_t *app = NULL;
	int r = cli_app_send(c, "GET", "/apps/%s", NULL, NULL, &name, &app, err);
	if (r < 0)
		return r;
	puts(cli_json_true(app, "maintenance") ? "on" : "off");
	return 0;
}

static int maintenance_set(struct cli *c, bool on, struct error *err)
{
	const char *name;
	_cleanup_json_ json_t *body = json_pack("{s:b}", "maintenance", on);
	int r = cli_app_send(c, "PATCH", "/apps/%s", NULL, body, &name, NULL, err);
	if (r < 0)
		return r;
	printf("%s maintenance mode for %s... done\n", on ? "Enabling" : "Disabling", name);
	return 0;
}

static int maintenance_on_run(struct cli *c, struct error *err)
{
	return maintenance_set(c, true, err);
}

static int maintenance_off_run(struct cli *c, struct error *err)
{
	return maintenance_set(c, false, err);
}

#define CREATE_FLAGS                                                                                            \
	(CLI_FLAG(OPT_SPACE) | CLI_FLAG(OPT_TEAM) | CLI_FLAG(OPT_REGION) | CLI_FLAG(OPT_INTERNAL_ROUTING) |       \
	 CLI_FLAG(OPT_NO_REMOTE) | CLI_FLAG(OPT_REMOTE) | CLI_FLAG(OPT_JSON))
#define CREATE_USAGE "[NAME] [--space SPACE] [-t TEAM] [--region REGION] [--internal-routing] [--no-remote]"

const struct cli_command cli_app_commands[] = {
	{ "create", create_run, CREATE_FLAGS, 0, 1, CREATE_USAGE,
	  "create an app in a space (a generated name unless given); adds the git remote 'cove' in a work tree",
	  "cove create myapp --space acme-prod\ncove create -t acme" },
	{ "apps:create", create_run, CREATE_FLAGS, 0, 1, CREATE_USAGE, NULL, NULL, .hidden = true },
	{ "apps", apps_run, CLI_FLAG(OPT_SPACE) | CLI_FLAG(OPT_TEAM) | CLI_FLAG(OPT_JSON), 0, 0,
	  "[--space SPACE] [-t TEAM]", "list the apps you can see", "cove apps --space acme-prod" },
	{ "apps:info", apps_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[APP]",
	  "show an app: space, team, region, URLs, dynos", "cove apps:info -a myapp" },
	{ "info", apps_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[APP]", NULL, NULL, .hidden = true },
	{ "apps:rename", apps_rename_run, CLI_APP_FLAGS, 1, 1, "NEWNAME",
	  "rename an app (its URLs change; the git remote follows)", "cove apps:rename myapp-v2 -a myapp" },
	{ "rename", apps_rename_run, CLI_APP_FLAGS, 1, 1, "NEWNAME", NULL, NULL, .hidden = true },
	{ "apps:destroy", apps_destroy_run, CLI_APP_FLAGS | CLI_FLAG(OPT_CONFIRM), 0, 1, "[APP] --confirm APP",
	  "destroy an app with its config, releases and formation", "cove apps:destroy -a myapp --confirm myapp" },
	{ "destroy", apps_destroy_run, CLI_APP_FLAGS | CLI_FLAG(OPT_CONFIRM), 0, 1, "[APP] --confirm APP", NULL, NULL,
	  .hidden = true },
	{ "git:remote", git_remote_run, CLI_APP_FLAGS, 0, 0, "-a APP [-r REMOTE]",
	  "point the git remote 'cove' (or -r) of this work tree at an app", "cove git:remote -a myapp" },
	{ "maintenance", maintenance_run, CLI_APP_FLAGS, 0, 0, NULL, "show whether maintenance mode is on",
	  "cove maintenance -a myapp" },
	{ "maintenance:on", maintenance_on_run, CLI_APP_FLAGS, 0, 0, NULL,
	  "turn maintenance mode on: the router answers with a maintenance page", "cove maintenance:on -a myapp" },
	{ "maintenance:off", maintenance_off_run, CLI_APP_FLAGS, 0, 0, NULL, "turn maintenance mode off",
	  "cove maintenance:off -a myapp" },
	{},
};
