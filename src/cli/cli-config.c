/* SPDX-License-Identifier: MIT */
/*
 * Config vars: config, config:get, config:set and config:unset. A change of config makes a
 * new release, whose version the output names ("done, v7").
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-releases.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static int config_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *config = NULL;
	int r = cli_app_get_show(c, "/apps/%s/config-vars", NULL, &app, &config, err);
	if (r <= 0)
		return r;
	if (!cli_has(c, OPT_SHELL))
		cli_header("%s Config Vars", app);
	cli_print_vars(config, cli_has(c, OPT_SHELL));
	return 0;
}

static int config_get_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *config = NULL;
	int r = cli_app_send(c, "GET", "/apps/%s/config-vars", NULL, NULL, &app, &config, err);
	if (r < 0)
		return r;
	/* A missing key prints an empty line, as with heroku: scripts read "unset" as "". */
	const char *value = json_string_value(json_object_get(config, c->args[0]));
	if (cli_has(c, OPT_SHELL)) {
		_cleanup_free_ char *q = cli_shell_quote(value ? value : "");
		printf("%s=%s\n", c->args[0], q);
	} else {
		puts(value ? value : "");
	}
	return 0;
}

/* "FOO", "FOO and BAR", "FOO, BAR and BAZ" */
static char *key_list(char **keys, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", keys[i]);
	return strbuf_detach(&sb);
}

/* PATCHes the config vars and prints "<verb> KEYS and restarting APP... done, vN". */
static int config_patch(struct cli *c, const char *app, json_t *body, const char *verb, char **keys, size_t n,
			json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/config-vars", app);
	int r = cli_send(c, "PATCH", path, body, ret, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *release = NULL;
	r = cli_release_latest(c, app, &release, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *list = key_list(keys, n);
	printf("%s %s and restarting %s... done, v%lld\n", verb, list, app, cli_json_int(release, "version", 0));
	return 0;
}

static int config_set_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *body = json_object();
	_cleanup_free_ char **keys = xcalloc(c->n_args, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < c->n_args; i++) {
		const char *eq = strchr(c->args[i], '=');
		if (!eq || eq == c->args[i])
			return cli_usage_error(err, "'%s' is not KEY=value: cove config:set KEY=value...", c->args[i]);
		_cleanup_free_ char *key = xstrndup(c->args[i], (size_t)(eq - c->args[i]));
		if (!json_object_get(body, key))
			keys[n++] = c->args[i];
		json_object_set_new(body, key, json_string(eq + 1));
	}
	/* The keys, without their values, for the message. */
	_cleanup_free_ char **names = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		names[i] = xstrndup(keys[i], strcspn(keys[i], "="));

	_cleanup_json_ json_t *config = NULL;
	r = config_patch(c, app, body, "Setting", names, n, &config, err);
	if (r >= 0) {
		json_t *shown = json_object();
		const char *key;
		json_t *value;
		json_object_foreach(body, key, value)
			json_object_set(shown, key, json_object_get(config, key) ? json_object_get(config, key) : value);
		cli_print_vars(shown, false);
		json_decref(shown);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return r;
}

static int config_unset_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *body = json_object();
	for (size_t i = 0; i < c->n_args; i++)
		json_object_set_new(body, c->args[i], json_null());
	_cleanup_json_ json_t *config = NULL;
	return config_patch(c, app, body, "Unsetting", c->args, c->n_args, &config, err);
}

#define APP_FLAGS CLI_APP_FLAGS

const struct cli_command cli_config_commands[] = {
	{ "config", config_run, APP_FLAGS | CLI_FLAG(OPT_JSON) | CLI_FLAG(OPT_SHELL), 0, 0, "[-s] [--json]",
	  "show the config vars of an app", "cove config -a myapp\ncove config --shell > .env" },
	{ "config:get", config_get_run, APP_FLAGS | CLI_FLAG(OPT_SHELL), 1, 1, "KEY",
	  "print the value of one config var (an empty line when unset)", "cove config:get DATABASE_URL -a myapp" },
	{ "config:set", config_set_run, APP_FLAGS, 1, CLI_ARGS_ANY, "KEY=VALUE...",
	  "set config vars; makes a release and restarts the app", "cove config:set FOO=bar 'GREETING=hello world' -a myapp" },
	{ "config:add", config_set_run, APP_FLAGS, 1, CLI_ARGS_ANY, "KEY=VALUE...", NULL, NULL, .hidden = true },
	{ "config:unset", config_unset_run, APP_FLAGS, 1, CLI_ARGS_ANY, "KEY...",
	  "unset config vars; makes a release and restarts the app", "cove config:unset FOO -a myapp" },
	{ "config:remove", config_unset_run, APP_FLAGS, 1, CLI_ARGS_ANY, "KEY...", NULL, NULL, .hidden = true },
	{},
};
