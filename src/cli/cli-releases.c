/* SPDX-License-Identifier: MIT */
/*
 * Releases: releases, releases:info and rollback. A release is a slug and a config snapshot
 * with a version number; a rollback makes a new release from an old one's slug and config.
 */
#include "cli/cli-releases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"

#define RELEASES_DEFAULT 15
#define RELEASES_MAX 1000
#define ROLLBACK_WINDOW 10

/* The newest `max` releases, newest first. */
static int releases_newest(struct cli *c, const char *app, long max, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/releases", app);
	_cleanup_free_ char *range = xasprintf("version ..; max=%ld, order=desc", max);
	int r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path, .range = range }, ret, err);
	if (r >= 0 && !json_is_array(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return error_set(err, -EBADMSG, "the API answered the releases of '%s' with something that is not a list", app);
	}
	return r;
}

int cli_release_latest(struct cli *c, const char *app, json_t **ret, struct error *err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = releases_newest(c, app, 1, &list, err);
	if (r < 0)
		return r;
	if (json_array_size(list) == 0)
		return error_set(err, -ENOENT, "app '%s' has no releases", app);
	*ret = json_incref(json_array_get(list, 0));
	return 0;
}

/* The release the command's argument names: "v2", or its id. */
static int release_given(struct cli *c, const char *app, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/releases/%s", app, c->args[0]);
	return cli_get(c, path, ret, err);
}

/* "Set FOO config vars", with the status when it is not a plain success. */
static char *release_change(json_t *release)
{
	const char *desc = cli_json_str(release, "description");
	const char *status = cli_json_str(release, "status");
	if (status && !streq(status, "succeeded"))
		return xasprintf("%s (%s)", desc ? desc : "", status);
	return xstrdup(desc ? desc : "");
}

static int releases_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	long n;
	r = cli_num(c, RELEASES_DEFAULT, RELEASES_MAX, &n, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *list = NULL;
	r = releases_newest(c, app, n, &list, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, list))
		return 0;
	long long current = -1;
	size_t i;
	json_t *rel;
	json_array_foreach(list, i, rel)
		if (cli_json_true(rel, "current"))
			current = cli_json_int(rel, "version", -1);
	if (current >= 0)
		cli_header("%s Releases - Current: v%lld", app, current);
	else
		cli_header("%s Releases", app);
	_cleanup_table_ struct cli_table *t = cli_table_new(4, NULL);
	json_array_foreach(list, i, rel)
	{
		_cleanup_free_ char *version = xasprintf("v%lld", cli_json_int(rel, "version", 0));
		_cleanup_free_ char *change = release_change(rel);
		_cleanup_free_ char *when = cli_time_ago(cli_json_str(rel, "created_at"));
		cli_table_add(t, version, change, cli_json_str(rel, "user.email"), when);
	}
	cli_table_print(t);
	return 0;
}

static int releases_info_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *release = NULL;
	r = c->n_args > 0 ? release_given(c, app, &release, err) : cli_release_latest(c, app, &release, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, release))
		return 0;
	_cleanup_free_ char *config_path =
		cli_path("/apps/%s/releases/%s/config-vars", app, cli_json_str(release, "id") ? cli_json_str(release, "id") : "");
	_cleanup_json_ json_t *config = NULL;
	r = cli_get(c, config_path, &config, err);
	if (r < 0)
		return r;

	long long version = cli_json_int(release, "version", 0);
	cli_header("Release v%lld", version);
	struct cli_block b = CLI_BLOCK_INIT;
	_cleanup_free_ char *change = release_change(release);
	_cleanup_free_ char *when = cli_time_ago(cli_json_str(release, "created_at"));
	cli_block_add(&b, "By", "%s", cli_json_str(release, "user.email"));
	cli_block_add(&b, "Change", "%s", change);
	cli_block_add(&b, "Current", "%s", cli_json_true(release, "current") ? "yes" : "no");
	cli_block_add(&b, "Slug", "%s", cli_json_str(release, "slug.id") ? cli_json_str(release, "slug.id") : "none");
	cli_block_add(&b, "When", "%s", when);
	cli_block_print(&b);
	putchar('\n');
	if (!cli_has(c, OPT_SHELL))
		cli_header("v%lld Config vars", version);
	cli_print_vars(config, cli_has(c, OPT_SHELL));
	return 0;
}

static int rollback_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *target = NULL;
	if (c->n_args > 0) {
		r = release_given(c, app, &target, err);
		if (r < 0)
			return r;
	} else {
		/* As heroku does: the second newest release that can be rolled back to. */
		_cleanup_json_ json_t *list = NULL;
		r = releases_newest(c, app, ROLLBACK_WINDOW, &list, err);
		if (r < 0)
			return r;
		size_t i, eligible = 0;
		json_t *rel;
		json_array_foreach(list, i, rel)
			if (cli_json_true(rel, "eligible_for_rollback") && eligible++ == 1) {
				target = json_incref(rel);
				break;
			}
		if (!target)
			return error_set(err, -ENOENT, "app '%s' has no earlier release to roll back to", app);
	}
	const char *id = cli_json_str(target, "id");
	if (!id)
		return error_set(err, -EBADMSG, "the API answered a release of '%s' without an id", app);

	_cleanup_free_ char *path = cli_path("/apps/%s/releases", app);
	_cleanup_json_ json_t *body = json_pack("{s:s}", "release", id);
	_cleanup_json_ json_t *release = NULL;
	r = cli_send(c, "POST", path, body, &release, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, release))
		return 0;
	printf("Rolling back %s to v%lld... done, v%lld\n", app, cli_json_int(target, "version", 0),
	       cli_json_int(release, "version", 0));
	return 0;
}

/*
 * Parses a Procfile ("web: cmd" lines; "web=cmd" also works for the command line) into
 * process types.
 */
static int procfile_parse(const char *text, json_t **ret, struct error *err)
{
	json_t *types = json_object();
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		size_t n = strcspn(line, ":=");
		if (!line[n] || n == 0) {
			json_decref(types);
			return cli_usage_error(err, "Procfile line '%.60s' is invalid: use 'TYPE: COMMAND'", line);
		}
		char *cmd = line + n + 1;
		cmd += strspn(cmd, " \t");
		size_t l = strlen(cmd);
		while (l && (cmd[l - 1] == '\r' || cmd[l - 1] == ' '))
			cmd[--l] = '\0';
		line[n] = '\0';
		while (n && line[n - 1] == ' ')
			line[--n] = '\0';
		json_object_set_new(types, line, json_string(cmd));
	}
	if (json_object_size(types) == 0) {
		json_decref(types);
		return cli_usage_error(err, "the Procfile names no process type");
	}
	*ret = types;
	return 0;
}

/*
 * releases:create: releases a slug built elsewhere, as the Platform API allows: creates the
 * slug with its process types, uploads the tarball, and releases it.
 */
static int releases_create_run(struct cli *c, struct error *err)
{
	const char *app, *slug_file = cli_opt(c, OPT_SLUG), *procfile = cli_opt(c, OPT_PROCFILE);
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	if (isempty(slug_file) || isempty(procfile))
		return cli_usage_error(err, "give a slug and its process types: --slug FILE.tgz --procfile 'web: COMMAND'");
	_cleanup_free_ char *text = NULL;
	struct error ignored = { 0 };
	if (file_read(procfile, 64 * 1024, &text, NULL, &ignored) < 0)
		text = xstrdup(procfile);
	_cleanup_json_ json_t *types = NULL;
	r = procfile_parse(text, &types, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *slugs = cli_path("/apps/%s/slugs", app);
	_cleanup_json_ json_t *body = json_pack("{s:O}", "process_types", types);
	_cleanup_json_ json_t *slug = NULL;
	r = cli_send(c, "POST", slugs, body, &slug, err);
	if (r < 0)
		return r;
	const char *id = cli_json_str(slug, "id");
	_cleanup_free_ char *blob = cli_path("/apps/%s/slugs/%s/blob", app, id ? id : "");
	r = cli_api_call(c->api, &(struct cli_request){ .method = "PUT", .path = blob, .upload_path = slug_file }, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *releases = cli_path("/apps/%s/releases", app);
	_cleanup_json_ json_t *rel_body = json_pack("{s:s}", "slug", id ? id : "");
	_cleanup_json_ json_t *release = NULL;
	r = cli_send(c, "POST", releases, rel_body, &release, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, release))
		return 0;
	printf("Releasing %s to %s... done, v%lld\n", slug_file, app, cli_json_int(release, "version", 0));
	return 0;
}

const struct cli_command cli_release_commands[] = {
	{ "releases", releases_run, CLI_APP_FLAGS | CLI_FLAG(OPT_NUM) | CLI_FLAG(OPT_JSON), 0, 0, "[-n N] [--json]",
	  "list the releases of an app, newest first (15 unless -n)", "cove releases -a myapp -n 5" },
	{ "releases:info", releases_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON) | CLI_FLAG(OPT_SHELL), 0, 1, "[vN]",
	  "show a release (the newest unless given) and its config vars", "cove releases:info v2 -a myapp" },
	{ "rollback", rollback_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[vN]",
	  "make a new release from an earlier one's code and config (the previous one unless given)",
	  "cove rollback -a myapp\ncove rollback v1 -a myapp" },
	{ "releases:create", releases_create_run, CLI_APP_FLAGS | CLI_FLAG(OPT_SLUG) | CLI_FLAG(OPT_PROCFILE) | CLI_FLAG(OPT_JSON),
	  0, 0, "--slug FILE.tgz --procfile PROCFILE",
	  "release a slug built elsewhere (a tarball of ./app) with its process types",
	  "cove releases:create -a myapp --slug app.tgz --procfile 'web: python3 -m http.server $PORT'" },
	{ "releases:rollback", rollback_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[vN]", NULL, NULL, .hidden = true },
	{},
};
