/* SPDX-License-Identifier: MIT */
/*
 * Dynos and the formation: ps, ps:scale and ps:type. The formation (how many dynos of each
 * process type, of which size) is desired state; `ps` shows the dynos the runtime reports, or
 * the formation while the API has no dynos to report.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static int formation_load(struct cli *c, const char *app, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/formation", app);
	return cli_get(c, path, ret, err);
}

/* "=== web (Private-M): python3 app.py (2)" */
static void type_header(const char *type, const char *size, const char *command, long long count)
{
	cli_header("%s (%s): %s (%lld)", type, size ? size : "", command ? command : "", count);
}

static void ps_print_formation(const char *app, json_t *formation)
{
	size_t i, shown = 0;
	json_t *f;
	json_array_foreach(formation, i, f)
	{
		long long q = cli_json_int(f, "quantity", 0);
		if (q <= 0)
			continue;
		if (shown++)
			putchar('\n');
		type_header(cli_json_str(f, "type"), cli_json_str(f, "size"), cli_json_str(f, "command"), q);
	}
	if (!shown)
		printf("No dynos on %s\n", app);
}

static void ps_print_dynos(const char *app, json_t *formation, json_t *dynos)
{
	if (json_array_size(dynos) == 0) {
		printf("No dynos on %s\n", app);
		return;
	}
	/* Grouped by type in the formation's order, then any type the formation does not name. */
	json_t *types = json_array();
	size_t i, k;
	json_t *f, *d;
	json_array_foreach(formation, i, f)
		json_array_append_new(types, json_string(cli_json_str(f, "type") ? cli_json_str(f, "type") : ""));
	json_array_foreach(dynos, i, d)
	{
		const char *type = cli_json_str(d, "type") ? cli_json_str(d, "type") : "";
		bool known = false;
		json_array_foreach(types, k, f)
			known = known || streq(json_string_value(f), type);
		if (!known)
			json_array_append_new(types, json_string(type));
	}
	size_t shown = 0;
	json_t *t;
	json_array_foreach(types, k, t)
	{
		const char *type = json_string_value(t);
		long long count = 0;
		json_t *first = NULL;
		json_array_foreach(dynos, i, d)
			if (streq_ptr(cli_json_str(d, "type"), type) && count++ == 0)
				first = d;
		if (!first)
			continue;
		if (shown++)
			putchar('\n');
		type_header(type, cli_json_str(first, "size"), cli_json_str(first, "command"), count);
		json_array_foreach(dynos, i, d)
		{
			if (!streq_ptr(cli_json_str(d, "type"), type))
				continue;
			_cleanup_free_ char *when = cli_time_ago(cli_json_str(d, "updated_at"));
			printf("%s: %s %s\n", cli_json_str(d, "name") ? cli_json_str(d, "name") : "?",
			       cli_json_str(d, "state") ? cli_json_str(d, "state") : "unknown", when);
		}
	}
	json_decref(types);
}

static int ps_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *formation = NULL;
	r = formation_load(c, app, &formation, err);
	if (r < 0)
		return r;
	/* The formation answered, so the app exists: a 404 here means the API has no dynos
	 * route (no runtime yet), and the formation is the best there is to show. */
	_cleanup_free_ char *path = cli_path("/apps/%s/dynos", app);
	_cleanup_json_ json_t *dynos = NULL;
	long status;
	r = cli_api_call(c->api, &(struct cli_request){ .method = "GET", .path = path, .ret_status = &status }, &dynos,
			 err);
	if (r < 0 && status != 404)
		return r;
	error_clear(err);
	if (cli_show_json(c, dynos ? dynos : formation))
		return 0;
	if (dynos)
		ps_print_dynos(app, formation, dynos);
	else
		ps_print_formation(app, formation);
	return 0;
}

/*
 * One argument of ps:scale: TYPE=N, TYPE=+N, TYPE+N, TYPE-N, TYPE=N:SIZE or TYPE=SIZE, into
 * {"type", "quantity" (a string, relative when signed), "size"}.
 */
static int scale_parse(const char *arg, json_t **ret, struct error *err)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *type = NULL, *quantity = NULL, *size = NULL;
	if (eq) {
		type = xstrndup(arg, (size_t)(eq - arg));
		const char *rest = eq + 1;
		const char *colon = strchr(rest, ':');
		if (colon) {
			quantity = xstrndup(rest, (size_t)(colon - rest));
			size = xstrdup(colon + 1);
		} else if (isalpha((unsigned char)rest[0])) {
			size = xstrdup(rest);
		} else {
			quantity = xstrdup(rest);
		}
	} else {
		/* "web+1", "worker-2": the sign starts the quantity. */
		const char *sign = arg + strlen(arg);
		while (sign > arg && isdigit((unsigned char)sign[-1]))
			sign--;
		if (sign > arg + 1 && (sign[-1] == '+' || sign[-1] == '-') && *sign) {
			type = xstrndup(arg, (size_t)(sign - 1 - arg));
			quantity = xstrdup(sign - 1);
		}
	}
	bool ok = !isempty(type) && (quantity || size) && (!quantity || *quantity) && (!size || *size);
	for (const char *p = quantity; ok && p && *p; p++)
		ok = isdigit((unsigned char)*p) || (p == quantity && (*p == '+' || *p == '-') && p[1]);
	if (!ok)
		return cli_usage_error(err, "'%s' is invalid: use TYPE=N, TYPE+N, TYPE-N or TYPE=N:SIZE (web=2:private-m)", arg);
	json_t *u = json_pack("{s:s}", "type", type);
	if (quantity)
		json_object_set_new(u, "quantity", json_string(quantity));
	if (size)
		json_object_set_new(u, "size", json_string(size));
	*ret = u;
	return 0;
}

/* "web=2:Private-M worker=0:Private-M" */
static char *formation_line(json_t *formation, const char *sep, const char *eq)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *f;
	json_array_foreach(formation, i, f)
		strbuf_addf(&sb, "%s%s%s%lld:%s", i ? sep : "", cli_json_str(f, "type"), eq, cli_json_int(f, "quantity", 0),
			    cli_json_str(f, "size") ? cli_json_str(f, "size") : "");
	return strbuf_detach(&sb);
}

static int formation_patch(struct cli *c, const char *app, json_t *updates, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/formation", app);
	_cleanup_json_ json_t *body = json_pack("{s:O}", "updates", updates);
	return cli_send(c, "PATCH", path, body, ret, err);
}

static int ps_scale_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *formation = NULL;
	if (c->n_args == 0) {
		r = formation_load(c, app, &formation, err);
		if (r < 0)
			return r;
		if (cli_show_json(c, formation))
			return 0;
		if (json_array_size(formation) == 0) {
			printf("No process types on %s yet: they come with its first slug\n", app);
		} else {
			_cleanup_free_ char *line = formation_line(formation, " ", "=");
			puts(line);
		}
		return 0;
	}
	_cleanup_json_ json_t *updates = json_array();
	for (size_t i = 0; i < c->n_args; i++) {
		json_t *u = NULL;
		r = scale_parse(c->args[i], &u, err);
		if (r < 0)
			return r;
		json_array_append_new(updates, u);
	}
	r = formation_patch(c, app, updates, &formation, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, formation))
		return 0;
	_cleanup_free_ char *line = formation_line(formation, ", ", " at ");
	printf("Scaling dynos... done, now running %s\n", line);
	return 0;
}

static void types_print(json_t *formation)
{
	static const struct cli_column columns[] = { { "Type", "type" }, { "Size", "size" }, { "Qty", "quantity", "0" } };
	cli_header("Dyno Types");
	cli_table_print_json(formation, columns, ARRAY_SIZE(columns));
}

static int ps_type_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	if (c->n_args > 0) {
		_cleanup_json_ json_t *updates = json_array();
		for (size_t i = 0; i < c->n_args; i++) {
			const char *eq = strchr(c->args[i], '=');
			if (!eq || eq == c->args[i] || !eq[1])
				return cli_usage_error(err, "'%s' is invalid: use TYPE=SIZE (web=private-m)", c->args[i]);
			_cleanup_free_ char *type = xstrndup(c->args[i], (size_t)(eq - c->args[i]));
			json_array_append_new(updates, json_pack("{s:s, s:s}", "type", type, "size", eq + 1));
		}
		_cleanup_json_ json_t *changed = NULL;
		r = formation_patch(c, app, updates, &changed, err);
		if (r < 0)
			return r;
		if (!cli_has(c, OPT_JSON))
			puts("Changing dyno sizes... done");
	}
	_cleanup_json_ json_t *formation = NULL;
	r = formation_load(c, app, &formation, err);
	if (r < 0)
		return r;
	if (!cli_show_json(c, formation))
		types_print(formation);
	return 0;
}

/* ps:restart [TYPE|DYNO]: all dynos, those of a process type ("web"), or one ("web.1"). */
/*
 * What ps:restart and ps:stop act on: a dyno (web.1) or a process type (web), from the
 * argument or, as heroku takes them, -d/--dyno-name or -p/--process-type; NULL for none.
 */
static int ps_target(struct cli *c, bool required, const char **ret, struct error *err)
{
	const char *given[] = { c->n_args > 0 ? c->args[0] : NULL, cli_opt(c, OPT_DYNO), cli_opt(c, OPT_DYNO_NAME),
				cli_opt(c, OPT_PROCESS_TYPE) };
	*ret = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(given); i++) {
		if (!given[i])
			continue;
		if (*ret)
			return cli_usage_error(err, "give one dyno or process type, not '%s' and '%s'", *ret, given[i]);
		*ret = given[i];
	}
	if (given[3] && strchr(given[3], '.'))
		return cli_usage_error(err, "'%s' is a dyno name: use -d, or -p with a process type", given[3]);
	if (!*ret && required)
		return cli_usage_error(err, "name a dyno (web.1) or a process type (-p web)");
	return 0;
}

/* The app, then what in it ps:restart or ps:stop acts on (ps_target()). */
static int ps_app_target(struct cli *c, bool required, const char **ret_app, const char **ret, struct error *err)
{
	int r = cli_app(c, ret_app, err);
	if (r < 0)
		return r;
	return ps_target(c, required, ret, err);
}

static int ps_restart_run(struct cli *c, struct error *err)
{
	const char *app, *target;
	int r = ps_app_target(c, false, &app, &target, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = !target		 ? cli_path("/apps/%s/dynos", app)
				   : strchr(target, '.') ? cli_path("/apps/%s/dynos/%s", app, target)
							 : cli_path("/apps/%s/formations/%s", app, target);
	r = cli_send(c, "DELETE", path, NULL, NULL, err);
	if (r < 0)
		return r;
	if (!target)
		printf("Restarting dynos on %s... done\n", app);
	else if (strchr(target, '.'))
		printf("Restarting dyno %s on %s... done\n", target, app);
	else
		printf("Restarting %s dynos on %s... done\n", target, app);
	return 0;
}

static int ps_stop_run(struct cli *c, struct error *err)
{
	const char *app, *target;
	int r = ps_app_target(c, true, &app, &target, err);
	if (r < 0)
		return r;
	bool dyno = strchr(target, '.') != NULL;
	_cleanup_free_ char *path = cli_path(dyno ? "/apps/%s/dynos/%s/actions/stop" : "/apps/%s/formations/%s/actions/stop",
					     app, target);
	_cleanup_json_ json_t *body = json_object();
	r = cli_send(c, "POST", path, body, NULL, err);
	if (r < 0)
		return r;
	if (dyno)
		printf("Stopping dyno %s on %s... done\n", target, app);
	else
		printf("Stopping all %s dynos on %s... done\n", target, app);
	return 0;
}

#define PS_TARGET_FLAGS (CLI_FLAG(OPT_DYNO) | CLI_FLAG(OPT_DYNO_NAME) | CLI_FLAG(OPT_PROCESS_TYPE))

const struct cli_command cli_ps_commands[] = {
	{ "ps", ps_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, "[--json]", "list the dynos of an app",
	  "cove ps -a myapp" },
	{ "ps:scale", ps_scale_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, CLI_ARGS_ANY, "[TYPE=N[:SIZE]|TYPE+N|TYPE-N]...",
	  "change how many dynos of each process type run (and their size); without arguments, show it",
	  "cove ps:scale web=2 worker=1 -a myapp\ncove ps:scale web=3:private-l -a myapp\ncove ps:scale worker+1 -a myapp" },
	{ "ps:type", ps_type_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, CLI_ARGS_ANY, "[TYPE=SIZE]...",
	  "change the dyno size of process types (private-xs, private-s, private-m, private-l); without arguments, show them",
	  "cove ps:type web=private-l -a myapp" },
	{ "ps:restart", ps_restart_run, CLI_APP_FLAGS | PS_TARGET_FLAGS, 0, 1, "[TYPE|DYNO] [-d DYNO] [-p TYPE]",
	  "restart all dynos of an app, those of one process type, or one dyno",
	  "cove ps:restart -a myapp\ncove ps:restart web -a myapp\ncove ps:restart web.1 -a myapp" },
	{ "ps:stop", ps_stop_run, CLI_APP_FLAGS | PS_TARGET_FLAGS, 0, 1, "DYNO|-d DYNO|-p TYPE",
	  "stop a dyno, or the dynos of a process type (the formation starts them again, as on Heroku)",
	  "cove ps:stop web.1 -a myapp\ncove ps:stop -p worker -a myapp" },
	{ "ps:resize", ps_type_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, CLI_ARGS_ANY, "[TYPE=SIZE]...", NULL, NULL,
	  .hidden = true },
	{},
};
