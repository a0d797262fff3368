/* SPDX-License-Identifier: MIT */
/*
 * Builds and buildpacks: builds, builds:info, builds:output, buildpacks, buildpacks:set,
 * buildpacks:add, buildpacks:remove, buildpacks:clear; and git:credentials, the credential
 * helper git asks for the token when it pushes to cove (set up by git:remote and create).
 * A build comes from `git push`: see docs/deploy.md.
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

#define BUILDS_DEFAULT 15
#define BUILDS_MAX 1000
#define BUILDPACKS_MAX 8

/* The newest n builds of an app, newest first. */
static int builds_newest(struct cli *c, const char *app, long n, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/builds", app);
	_cleanup_free_ char *range = xasprintf("created_at ..; max=%ld, order=desc", n);
	int r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path, .range = range }, ret, err);
	if (r >= 0 && !json_is_array(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return error_set(err, -EBADMSG, "the API answered the builds of '%s' with something that is not a list", app);
	}
	return r;
}

/* The command's app, and the build given as the argument, else its newest. */
static int build_find(struct cli *c, const char **ret_app, json_t **ret, struct error *err)
{
	int r = cli_app(c, ret_app, err);
	if (r < 0)
		return r;
	const char *app = *ret_app;
	if (c->n_args > 0) {
		_cleanup_free_ char *path = cli_path("/apps/%s/builds/%s", app, c->args[0]);
		return cli_get(c, path, ret, err);
	}
	_cleanup_json_ json_t *list = NULL;
	r = builds_newest(c, app, 1, &list, err);
	if (r < 0)
		return r;
	if (json_array_size(list) == 0)
		return error_set(err, -ENOENT, "app '%s' has no builds: push it with git (see 'cove git:remote')", app);
	*ret = json_incref(json_array_get(list, 0));
	return 0;
}

static char *build_version(json_t *build)
{
	const char *sha = cli_json_str(build, "source_blob.version");
	return xasprintf("%.7s", sha ? sha : "");
}

static char *build_release(json_t *build)
{
	long long v = cli_json_int(build, "release.version", -1);
	return v >= 0 ? xasprintf("v%lld", v) : xstrdup("");
}

static int builds_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	long n;
	r = cli_num(c, BUILDS_DEFAULT, BUILDS_MAX, &n, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *list = NULL;
	r = builds_newest(c, app, n, &list, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, list))
		return 0;
	cli_header("%s Builds", app);
	if (json_array_size(list) == 0) {
		printf("No builds yet: push the app with git (see 'cove git:remote').\n");
		return 0;
	}
	_cleanup_table_ struct cli_table *t = cli_table_new(6, NULL);
	size_t i;
	json_t *b;
	json_array_foreach(list, i, b)
	{
		_cleanup_free_ char *version = build_version(b);
		_cleanup_free_ char *release = build_release(b);
		_cleanup_free_ char *when = cli_time_ago(cli_json_str(b, "created_at"));
		cli_table_add(t, cli_json_str(b, "id"), cli_json_str(b, "status"), version, release,
			      cli_json_str(b, "user.email"), when);
	}
	cli_table_print(t);
	return 0;
}

static int builds_info_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *b = NULL;
	int r = build_find(c, &app, &b, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, b))
		return 0;
	cli_header("Build %s", cli_json_str(b, "id"));
	struct cli_block blk = CLI_BLOCK_INIT;
	_cleanup_strbuf_ struct strbuf packs = STRBUF_INIT;
	size_t i;
	json_t *bp;
	json_array_foreach(cli_json_get(b, "buildpacks"), i, bp)
		strbuf_addf(&packs, "%s%s", packs.len ? ", " : "", cli_json_str(bp, "name"));
	_cleanup_free_ char *release = build_release(b);
	_cleanup_free_ char *when = cli_time_ago(cli_json_str(b, "created_at"));
	cli_block_add(&blk, "Status", "%s", cli_json_str(b, "status"));
	cli_block_add(&blk, "Commit", "%s", cli_json_str(b, "source_blob.version"));
	cli_block_add(&blk, "Description", "%s", cli_json_str(b, "source_blob.version_description"));
	cli_block_add(&blk, "Buildpacks", "%s", packs.len ? packs.buf : "(detected)");
	cli_block_add(&blk, "Release", "%s", release);
	cli_block_add(&blk, "Slug", "%s", cli_json_str(b, "slug.id"));
	cli_block_add(&blk, "By", "%s", cli_json_str(b, "user.email"));
	cli_block_add(&blk, "When", "%s", when);
	cli_block_print(&blk);
	return 0;
}

static int builds_output_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *b = NULL;
	int r = build_find(c, &app, &b, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/apps/%s/builds/%s/output", app, cli_json_str(b, "id") ? cli_json_str(b, "id") : "");
	_cleanup_free_ char *text = NULL;
	r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path, .ret_text = &text }, NULL, err);
	if (r < 0)
		return r;
	fputs(text ? text : "", stdout);
	return 0;
}

/* ---- buildpacks ------------------------------------------------------------------------ */

/* The command's app, and its buildpack URLs, in order, as a JSON list of strings. */
static int buildpacks_get(struct cli *c, const char **ret_app, json_t **ret, struct error *err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_send(c, "GET", "/apps/%s/buildpack-installations", NULL, NULL, ret_app, &list, err);
	if (r < 0)
		return r;
	json_t *urls = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(list, i, b)
		if (cli_json_str(b, "buildpack.url"))
			json_array_append_new(urls, json_string(cli_json_str(b, "buildpack.url")));
	*ret = urls;
	return 0;
}

static void buildpacks_print(const char *app, json_t *urls)
{
	if (json_array_size(urls) == 0) {
		printf("%s has no buildpacks set: builds use the first of cove's that detects the app.\n", app);
		return;
	}
	cli_header("%s Buildpack%s", app, json_array_size(urls) > 1 ? "s" : "");
	size_t i;
	json_t *u;
	json_array_foreach(urls, i, u)
	{
		if (json_array_size(urls) > 1)
			printf("%zu. %s\n", i + 1, json_string_value(u));
		else
			printf("%s\n", json_string_value(u));
	}
}

static int buildpacks_put(struct cli *c, const char *app, json_t *urls, struct error *err)
{
	_cleanup_json_ json_t *body = json_pack("{s:[]}", "updates");
	size_t i;
	json_t *u;
	json_array_foreach(urls, i, u) json_array_append_new(json_object_get(body, "updates"), json_pack("{s:O}", "buildpack", u));
	_cleanup_free_ char *path = cli_path("/apps/%s/buildpack-installations", app);
	return cli_send(c, "PUT", path, body, NULL, err);
}

/* -i N: a position from 1 to max, or 0 when not given. */
static int index_flag(struct cli *c, size_t max, size_t *ret, struct error *err)
{
	const char *s = cli_opt(c, OPT_INDEX);
	*ret = 0;
	if (!s)
		return 0;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*s || *end || n < 1 || (size_t)n > max)
		return cli_usage_error(err, "-i '%s' is invalid: use a position from 1 to %zu", s, max);
	*ret = (size_t)n;
	return 0;
}

static int buildpacks_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *urls = NULL;
	int r = buildpacks_get(c, &app, &urls, err);
	if (r < 0)
		return r;
	if (!cli_show_json(c, urls))
		buildpacks_print(app, urls);
	return 0;
}

/* set, add and remove: change the list, send it whole, print it. */
static int buildpacks_change(struct cli *c, const char *verb, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *urls = NULL;
	int r = buildpacks_get(c, &app, &urls, err);
	if (r < 0)
		return r;
	size_t n = json_array_size(urls), index;
	const char *url = c->n_args > 0 ? c->args[0] : NULL;
	if (streq(verb, "set")) {
		r = index_flag(c, n + 1 > BUILDPACKS_MAX ? BUILDPACKS_MAX : n + 1, &index, err);
		if (r < 0)
			return r;
		if (index == 0 && n > 1)
			return cli_usage_error(err, "%s has %zu buildpacks: say which to replace with -i", app, n);
		if (index == 0)
			index = 1;
		if (index <= n)
			json_array_set_new(urls, index - 1, json_string(url));
		else
			json_array_append_new(urls, json_string(url));
	} else if (streq(verb, "add")) {
		r = index_flag(c, n + 1, &index, err);
		if (r < 0)
			return r;
		if (n >= BUILDPACKS_MAX)
			return error_set(err, -EINVAL, "%s has %d buildpacks already: at most %d", app, BUILDPACKS_MAX,
					 BUILDPACKS_MAX);
		json_array_insert_new(urls, index ? index - 1 : n, json_string(url));
	} else {
		r = index_flag(c, n ? n : 1, &index, err);
		if (r < 0)
			return r;
		if (!url && !index)
			return cli_usage_error(err, "say which buildpack to remove: its URL, or -i N");
		if (!index)
			for (size_t i = 0; i < n; i++)
				if (streq(json_string_value(json_array_get(urls, i)), url))
					index = i + 1;
		if (!index || index > n)
			return error_set(err, -ENOENT, "%s has no buildpack %s", app, url ? url : cli_opt(c, OPT_INDEX));
		json_array_remove(urls, index - 1);
	}
	r = buildpacks_put(c, app, urls, err);
	if (r < 0)
		return r;
	if (json_array_size(urls) == 0)
		printf("Buildpacks of %s cleared: builds use the first of cove's that detects the app.\n", app);
	else
		buildpacks_print(app, urls);
	puts("The next push uses them.");
	return 0;
}

static int buildpacks_set_run(struct cli *c, struct error *err)
{
	return buildpacks_change(c, "set", err);
}

static int buildpacks_add_run(struct cli *c, struct error *err)
{
	return buildpacks_change(c, "add", err);
}

static int buildpacks_remove_run(struct cli *c, struct error *err)
{
	return buildpacks_change(c, "remove", err);
}

static int buildpacks_clear_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *none = json_array();
	r = buildpacks_put(c, app, none, err);
	if (r < 0)
		return r;
	printf("Buildpacks of %s cleared: builds use the first of cove's that detects the app.\n", app);
	return 0;
}

/*
 * git's credential helper protocol (gitcredentials(7)): for `get`, answers the token as the
 * password; `store` and `erase` are for other helpers. git runs it for the cove URL only
 * (credential.<url>.helper, set by git:remote and create).
 */
static int git_credentials_run(struct cli *c, struct error *err)
{
	if (c->n_args == 0 || !streq(c->args[0], "get"))
		return 0;
	char line[4096];
	while (fgets(line, sizeof(line), stdin) && line[0] != '\n')
		;
	const char *token = cli_api_token(c->api);
	if (!token)
		return 0; /* git asks the user */
	printf("username=cove\npassword=%s\n", token);
	return 0;
}

const struct cli_command cli_build_commands[] = {
	{ "builds", builds_run, CLI_APP_FLAGS | CLI_FLAG(OPT_NUM) | CLI_FLAG(OPT_JSON), 0, 0, "[-n N]",
	  "list the builds of an app, newest first: git pushes and what they made", "cove builds -a myapp" },
	{ "builds:info", builds_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[BUILD]",
	  "show a build (the newest by default): commit, buildpacks, slug, release", "cove builds:info -a myapp" },
	{ "builds:output", builds_output_run, CLI_APP_FLAGS, 0, 1, "[BUILD]",
	  "print what a build printed (the newest by default), as the pusher saw it", "cove builds:output -a myapp" },
	{ "buildpacks", buildpacks_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, NULL,
	  "list the buildpacks the app's builds use", "cove buildpacks -a myapp" },
	{ "buildpacks:set", buildpacks_set_run, CLI_APP_FLAGS | CLI_FLAG(OPT_INDEX), 1, 1, "BUILDPACK [-i N]",
	  "set the app's buildpack (or the one at -i N): a name cove ships, or a path or git repository on the API's "
	  "host",
	  "cove buildpacks:set nodejs -a myapp\ncove buildpacks:set /srv/buildpacks/mine -i 2 -a myapp" },
	{ "buildpacks:add", buildpacks_add_run, CLI_APP_FLAGS | CLI_FLAG(OPT_INDEX), 1, 1, "BUILDPACK [-i N]",
	  "add a buildpack, last or at position -i N", "cove buildpacks:add file:///srv/buildpacks/ffmpeg.git -i 1 -a myapp" },
	{ "buildpacks:remove", buildpacks_remove_run, CLI_APP_FLAGS | CLI_FLAG(OPT_INDEX), 0, 1, "[BUILDPACK] [-i N]",
	  "remove a buildpack, by URL or position", "cove buildpacks:remove -i 2 -a myapp" },
	{ "buildpacks:clear", buildpacks_clear_run, CLI_APP_FLAGS, 0, 0, NULL,
	  "clear the app's buildpacks: builds detect one again", "cove buildpacks:clear -a myapp" },
	{ "git:credentials", git_credentials_run, 0, 0, 1, "get", "git's credential helper for cove (see git:remote)",
	  NULL, .no_auth = true, .hidden = true },
	{},
};
