/* SPDX-License-Identifier: MIT */
/*
 * Add-ons: addons, addons:create, addons:info, addons:attach, addons:detach,
 * addons:destroy, addons:services, addons:plans, and the data services' own pg:info,
 * redis:info and pg:credentials:rotate. An add-on is a PostgreSQL or Redis server inside the
 * app's space (docs/addons.md); addons:create waits until it is provisioned and its config
 * var set, as the release that restarts the app shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-releases.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

#define PROVISION_WAIT_S 180

/* Heroku's CLI says created and creating. */
static const char *state_word(const char *state)
{
	if (streq_ptr(state, "provisioned"))
		return "created";
	if (streq_ptr(state, "provisioning"))
		return "creating";
	return state ? state : "unknown";
}

/* The plan's own part: "heroku-postgresql:standard-4" -> "standard-4". */
static const char *plan_short(json_t *addon)
{
	const char *plan = cli_json_str(addon, "plan.name");
	const char *colon = plan ? strchr(plan, ':') : NULL;
	return colon ? colon + 1 : plan ? plan : "";
}

/* "DATABASE_URL" and the like, joined. */
static char *config_var_list(json_t *vars)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(vars, i, v)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", json_string_value(v));
	return strbuf_detach(&sb);
}

/* "Setting KEYS and restarting APP... done, vN", from the app's latest release. */
static int print_restart(struct cli *c, const char *verb, const char *vars, const char *app, struct error *err)
{
	_cleanup_json_ json_t *release = NULL;
	int r = cli_release_latest(c, app, &release, err);
	if (r < 0)
		return r;
	printf("%s %s and restarting %s... done, v%lld\n", verb, vars, app, cli_json_int(release, "version", 0));
	return 0;
}

static int addons_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/addons", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	if (json_array_size(list) == 0) {
		printf("No add-ons for app %s.\n", app);
		return 0;
	}
	_cleanup_table_ struct cli_table *t =
		cli_table_new(4, (const char *const[]){ "Add-on", "Plan", "Price", "State" });
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d)
	{
		_cleanup_free_ char *name =
			xasprintf("%s (%s)", cli_json_str(d, "addon_service.name"), cli_json_str(d, "name"));
		cli_table_add(t, name, plan_short(d), "free", state_word(cli_json_str(d, "state")));
		_cleanup_free_ char *apath = cli_path("/addons/%s/addon-attachments", cli_json_str(d, "id"));
		_cleanup_json_ json_t *atts = NULL;
		r = cli_get(c, apath, &atts, err);
		if (r < 0)
			return r;
		size_t k;
		json_t *a;
		json_array_foreach(atts, k, a)
		{
			bool here = streq_ptr(cli_json_str(a, "app.name"), app);
			_cleanup_free_ char *as = here ? xasprintf(" └─ as %s", cli_json_str(a, "name"))
						       : xasprintf(" └─ as %s::%s", cli_json_str(a, "app.name"), cli_json_str(a, "name"));
			cli_table_add(t, as, "", "", "");
		}
	}
	cli_table_print(t);
	printf("\nThe table above shows add-ons and the attachments to the current app (%s) or other apps.\n", app);
	return 0;
}

/* Waits until the add-on is provisioned. */
static int wait_provisioned(struct cli *c, const char *app, const char *id, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/addons/%s", app, id);
	for (unsigned i = 0; i < PROVISION_WAIT_S * 4; i++) {
		json_t *d = NULL;
		int r = cli_get(c, path, &d, err);
		if (r < 0)
			return r;
		if (streq_ptr(cli_json_str(d, "state"), "provisioned")) {
			*ret = d;
			return 0;
		}
		json_decref(d);
		usleep(250 * 1000);
	}
	return error_set(err, -ETIMEDOUT,
			 "add-on '%s' is still being provisioned after %d s: see 'cove addons:info %s' and 'cove logs -a %s'", id,
			 PROVISION_WAIT_S, id, app);
}

static int addons_create_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	json_t *attachment = json_object();
	if (cli_opt(c, OPT_AS))
		json_object_set_new(attachment, "name", json_string(cli_opt(c, OPT_AS)));
	_cleanup_json_ json_t *body = json_pack("{s:o, s:{}, s:{s:s}}", "attachment", attachment, "config", "plan", "name",
						c->args[0]);
	if (cli_opt(c, OPT_NAME))
		json_object_set_new(body, "name", json_string(cli_opt(c, OPT_NAME)));
	if (cli_opt(c, OPT_CONFIRM))
		json_object_set_new(body, "confirm", json_string(cli_opt(c, OPT_CONFIRM)));
	_cleanup_free_ char *path = cli_path("/apps/%s/addons", app);
	_cleanup_json_ json_t *d = NULL;
	r = cli_send(c, "POST", path, body, &d, err);
	if (r < 0)
		return r;
	const char *name = cli_json_str(d, "name");
	bool json = cli_has(c, OPT_JSON);
	if (!json) {
		printf("Creating %s... done\n", name);
		if (streq_ptr(cli_json_str(d, "addon_service.name"), "heroku-postgresql"))
			printf("This database will be created in a private space.\n");
		fflush(stdout);
	}
	_cleanup_json_ json_t *done = NULL;
	r = wait_provisioned(c, app, cli_json_str(d, "id"), &done, err);
	if (r < 0)
		return r;
	if (json) {
		cli_print_json(done);
		return 0;
	}
	_cleanup_free_ char *vars = config_var_list(json_object_get(done, "config_vars"));
	return print_restart(c, "Setting", vars, app, err);
}

static int addons_info_run(struct cli *c, struct error *err)
{
	const char *app = NULL;
	_cleanup_free_ char *path = NULL;
	if (cli_has(c, OPT_APP) || cli_has(c, OPT_REMOTE) || getenv("COVE_APP")) {
		int r = cli_app(c, &app, err);
		if (r < 0)
			return r;
		path = cli_path("/apps/%s/addons/%s", app, c->args[0]);
	} else {
		path = cli_path("/addons/%s", c->args[0]);
	}
	_cleanup_json_ json_t *d = NULL;
	int r = cli_get_show(c, path, &d, err);
	if (r <= 0)
		return r;
	_cleanup_free_ char *apath = cli_path("/addons/%s/addon-attachments", cli_json_str(d, "id"));
	_cleanup_json_ json_t *atts = NULL;
	r = cli_get(c, apath, &atts, err);
	if (r < 0)
		return r;
	_cleanup_strbuf_ struct strbuf list = STRBUF_INIT;
	size_t i;
	json_t *a;
	json_array_foreach(atts, i, a)
		strbuf_addf(&list, "%s%s::%s", i ? ", " : "", cli_json_str(a, "app.name"), cli_json_str(a, "name"));
	cli_header("%s", cli_json_str(d, "name"));
	_cleanup_(cli_block_release) struct cli_block b = { 0 };
	cli_block_add(&b, "Attachments", "%s", list.buf);
	cli_block_add(&b, "Installed at", "%s", cli_json_str(d, "created_at"));
	cli_block_add(&b, "Owning app", "%s", cli_json_str(d, "app.name"));
	cli_block_add(&b, "Plan", "%s", cli_json_str(d, "plan.name"));
	cli_block_add(&b, "Price", "free");
	cli_block_add(&b, "Private address", "%s:%lld", cli_json_str(d, "private_ip"), cli_json_int(d, "port", 0));
	cli_block_add(&b, "State", "%s", state_word(cli_json_str(d, "state")));
	cli_block_print(&b);
	return 0;
}

static int addons_attach_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s}", "addon", c->args[0], "app", app);
	if (cli_opt(c, OPT_AS))
		json_object_set_new(body, "name", json_string(cli_opt(c, OPT_AS)));
	if (cli_opt(c, OPT_CONFIRM))
		json_object_set_new(body, "confirm", json_string(cli_opt(c, OPT_CONFIRM)));
	_cleanup_json_ json_t *att = NULL;
	r = cli_send(c, "POST", "/addon-attachments", body, &att, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, att))
		return 0;
	printf("Attaching %s to %s... done\n", cli_json_str(att, "addon.name"), app);
	_cleanup_free_ char *dpath = cli_path("/addons/%s", cli_json_str(att, "addon.id"));
	_cleanup_json_ json_t *d = NULL;
	r = cli_get(c, dpath, &d, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *var = xasprintf("%s_URL", cli_json_str(att, "name"));
	if (!streq_ptr(cli_json_str(d, "state"), "provisioned")) {
		printf("%s is set once %s is provisioned.\n", var, cli_json_str(d, "name"));
		return 0;
	}
	return print_restart(c, "Setting", var, app, err);
}

static int addons_detach_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *att = NULL;
	int r = cli_app_send(c, "GET", "/apps/%s/addon-attachments/%s", c->args[0], NULL, &app, &att, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dpath = cli_path("/addon-attachments/%s", cli_json_str(att, "id"));
	_cleanup_json_ json_t *gone = NULL;
	r = cli_send(c, "DELETE", dpath, NULL, &gone, err);
	if (r < 0)
		return r;
	printf("Detaching %s to %s from %s... done\n", cli_json_str(att, "name"), cli_json_str(att, "addon.name"), app);
	_cleanup_free_ char *var = xasprintf("%s_URL", cli_json_str(att, "name"));
	return print_restart(c, "Unsetting", var, app, err);
}

static int addons_destroy_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *d = NULL;
	int r = cli_app_send(c, "GET", "/apps/%s/addons/%s", c->args[0], NULL, &app, &d, err);
	if (r < 0)
		return r;
	if (!streq_ptr(cli_json_str(d, "app.name"), app))
		return error_set(err, -EINVAL,
				 "add-on '%s' belongs to app '%s': destroy it there, or detach it from %s with 'cove addons:detach'",
				 cli_json_str(d, "name"), cli_json_str(d, "app.name"), app);
	r = cli_confirm(c, "app", app, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dpath = cli_path("/apps/%s/addons/%s", app, cli_json_str(d, "id"));
	_cleanup_json_ json_t *gone = NULL;
	r = cli_send(c, "DELETE", dpath, NULL, &gone, err);
	if (r < 0)
		return r;
	printf("Destroying %s on %s... done\n", cli_json_str(d, "name"), app);
	return 0;
}

static int addons_upgrade_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/apps/%s/addons/%s", app, c->args[0]);
	_cleanup_json_ json_t *before = NULL;
	r = cli_get(c, path, &before, err);
	if (r < 0)
		return r;
	/* "standard-2" means a plan of the add-on's own service. */
	const char *plan = c->args[1];
	_cleanup_free_ char *full = strchr(plan, ':') ? xstrdup(plan)
						       : xasprintf("%s:%s", cli_json_str(before, "addon_service.name"), plan);
	_cleanup_json_ json_t *body = json_pack("{s:{s:s}}", "plan", "name", full);
	_cleanup_json_ json_t *after = NULL;
	r = cli_send(c, "PATCH", path, body, &after, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, after))
		return 0;
	printf("Changing %s on %s from %s to %s... done\n", cli_json_str(after, "name"), app, cli_json_str(before, "plan.name"),
	       cli_json_str(after, "plan.name"));
	return 0;
}

static int addons_services_run(struct cli *c, struct error *err)
{
	static const struct cli_column columns[] = { { "Slug", "name" }, { "Name", "human_name" }, { "State", "state" } };
	_cleanup_json_ json_t *list = NULL;
	int r = cli_get_show(c, "/addon-services", &list, err);
	if (r <= 0)
		return r;
	cli_table_print_json(list, columns, ARRAY_SIZE(columns));
	printf("\nSee plans with cove addons:plans SERVICE\n");
	return 0;
}

static int addons_plans_run(struct cli *c, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/addon-services/%s/plans", c->args[0]);
	_cleanup_json_ json_t *list = NULL;
	int r = cli_get_show(c, path, &list, err);
	if (r <= 0)
		return r;
	_cleanup_table_ struct cli_table *t =
		cli_table_new(5, (const char *const[]){ "Slug", "Name", "Memory", "Connections", "Storage" });
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		_cleanup_free_ char *mem = xasprintf("%lld MB", cli_json_int(p, "limits.memory_mb", 0));
		_cleanup_free_ char *conns = xasprintf("%lld", cli_json_int(p, "limits.max_connections", 0));
		long long storage = cli_json_int(p, "limits.storage_gb", -1);
		_cleanup_free_ char *store = storage >= 0 ? xasprintf("%lld GB", storage)
							  : xasprintf("%lld MB (maxmemory)", cli_json_int(p, "limits.maxmemory_mb", 0));
		cli_table_add(t, cli_json_str(p, "name"), cli_json_str(p, "human_name"), mem, conns, store);
	}
	cli_table_print(t);
	return 0;
}

/* The add-on the app uses as ref (an attachment name or add-on name), else its first of the service. */
static int find_data_addon(struct cli *c, const char *app, const char *service, const char *ref, json_t **ret,
			   struct error *err)
{
	_cleanup_free_ char *path = ref ? cli_path("/apps/%s/addons/%s", app, ref) : cli_path("/apps/%s/addons", app);
	_cleanup_json_ json_t *got = NULL;
	int r = cli_get(c, path, &got, err);
	if (r < 0)
		return r;
	if (ref) {
		if (!streq_ptr(cli_json_str(got, "addon_service.name"), service))
			return error_set(err, -EINVAL, "add-on '%s' is not a %s add-on", cli_json_str(got, "name"), service);
		*ret = json_incref(got);
		return 0;
	}
	size_t i;
	json_t *d;
	json_array_foreach(got, i, d)
	{
		if (streq_ptr(cli_json_str(d, "addon_service.name"), service)) {
			*ret = json_incref(d);
			return 0;
		}
	}
	return error_set(err, -ENOENT, "app '%s' has no %s add-on", app, service);
}

static int data_info(struct cli *c, const char *service, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *d = NULL;
	r = find_data_addon(c, app, service, c->n_args ? c->args[0] : NULL, &d, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *ppath = cli_path("/plans/%s", cli_json_str(d, "plan.id"));
	_cleanup_json_ json_t *plan = NULL;
	r = cli_get(c, ppath, &plan, err);
	if (r < 0)
		return r;
	if (cli_has(c, OPT_JSON)) {
		json_object_set(d, "limits", json_object_get(plan, "limits"));
		cli_print_json(d);
		return 0;
	}
	_cleanup_free_ char *vars = config_var_list(json_object_get(d, "config_vars"));
	cli_header("%s", vars);
	_cleanup_(cli_block_release) struct cli_block b = { 0 };
	bool pg = streq(service, "heroku-postgresql");
	cli_block_add(&b, "Plan", "%s", cli_json_str(plan, "human_name"));
	cli_block_add(&b, "Status", "%s", streq_ptr(cli_json_str(d, "state"), "provisioned") ? "Available" : "Creating");
	cli_block_add(&b, pg ? "Connections" : "Clients", "max %lld", cli_json_int(plan, "limits.max_connections", 0));
	cli_block_add(&b, "Memory", "%lld MB", cli_json_int(plan, "limits.memory_mb", 0));
	if (pg)
		cli_block_add(&b, "Storage", "%lld GB", cli_json_int(plan, "limits.storage_gb", 0));
	else
		cli_block_add(&b, "Maxmemory", "%lld MB (noeviction)", cli_json_int(plan, "limits.maxmemory_mb", 0));
	cli_block_add(&b, "Created", "%s", cli_json_str(d, "created_at"));
	cli_block_add(&b, "Private address", "%s:%lld", cli_json_str(d, "private_ip"), cli_json_int(d, "port", 0));
	cli_block_add(&b, "Add-on", "%s", cli_json_str(d, "name"));
	cli_block_print(&b);
	return 0;
}

static int pg_info_run(struct cli *c, struct error *err)
{
	return data_info(c, "heroku-postgresql", err);
}

static int redis_info_run(struct cli *c, struct error *err)
{
	return data_info(c, "heroku-redis", err);
}

static int pg_rotate_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *d = NULL;
	r = find_data_addon(c, app, "heroku-postgresql", c->n_args ? c->args[0] : NULL, &d, err);
	if (r < 0)
		return r;
	if (!cli_opt(c, OPT_CONFIRM) && !isatty(STDIN_FILENO))
		return error_set(err, -EINVAL,
				 "rotating the credentials of '%s' drops its connections and restarts every app attached to it: "
				 "run again with --confirm %s",
				 cli_json_str(d, "name"), app);
	r = cli_confirm(c, "the credentials of", app, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = cli_path("/addons/%s/actions/rotate-credentials", cli_json_str(d, "id"));
	_cleanup_json_ json_t *done = NULL;
	r = cli_send(c, "POST", path, NULL, &done, err);
	if (r < 0)
		return r;
	printf("Rotating all credentials on %s... done\n", cli_json_str(d, "name"));
	_cleanup_free_ char *vars = config_var_list(json_object_get(done, "config_vars"));
	return print_restart(c, "Updating", vars, app, err);
}

const struct cli_command cli_addon_commands[] = {
	{ "addons", addons_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, NULL,
	  "list the app's add-ons and their attachments", "cove addons -a myapp" },
	{ "addons:create", addons_create_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON) | CLI_FLAG(OPT_AS) | CLI_FLAG(OPT_NAME) | CLI_FLAG(OPT_CONFIRM),
	  1, 1, "SERVICE:PLAN",
	  "create a data service inside the app's space; waits until its config var is set",
	  "cove addons:create heroku-postgresql:standard-4 -a myapp\ncove addons:create redis:mini -a myapp --as CACHE" },
	{ "addons:info", addons_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 1, 1, "ADDON", "show an add-on",
	  "cove addons:info postgresql-triangular-2817\ncove addons:info DATABASE -a myapp" },
	{ "addons:attach", addons_attach_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON) | CLI_FLAG(OPT_AS) | CLI_FLAG(OPT_CONFIRM), 1, 1,
	  "ADDON", "attach an add-on to another app of its space", "cove addons:attach postgresql-triangular-2817 -a other --as SHARED_DB" },
	{ "addons:detach", addons_detach_run, CLI_APP_FLAGS, 1, 1, "ATTACHMENT",
	  "detach an add-on from the app (the add-on and its data stay)", "cove addons:detach SHARED_DB -a other" },
	{ "addons:destroy", addons_destroy_run, CLI_APP_FLAGS | CLI_FLAG(OPT_CONFIRM), 1, 1, "ADDON --confirm APP",
	  "destroy an add-on and delete its data", "cove addons:destroy postgresql-triangular-2817 -a myapp --confirm myapp" },
	{ "addons:remove", addons_destroy_run, CLI_APP_FLAGS | CLI_FLAG(OPT_CONFIRM), 1, 1, "ADDON --confirm APP", NULL, NULL,
	  false, true },
	{ "addons:upgrade", addons_upgrade_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 2, 2, "ADDON PLAN",
	  "change an add-on's plan: its server restarts with the new limits and keeps its data",
	  "cove addons:upgrade DATABASE standard-2 -a myapp" },
	{ "addons:downgrade", addons_upgrade_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 2, 2, "ADDON PLAN", NULL, NULL, false, true },
	{ "addons:services", addons_services_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, "list the add-on services",
	  "cove addons:services" },
	{ "addons:plans", addons_plans_run, CLI_FLAG(OPT_JSON), 1, 1, "SERVICE", "list a service's plans and their limits",
	  "cove addons:plans heroku-postgresql" },
	{ "pg:info", pg_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[DATABASE]", "show the app's PostgreSQL databases",
	  "cove pg:info -a myapp" },
	{ "pg:credentials:rotate", pg_rotate_run, CLI_APP_FLAGS | CLI_FLAG(OPT_CONFIRM), 0, 1, "[DATABASE] --confirm APP",
	  "set a new password in the database and in the config of every app attached to it",
	  "cove pg:credentials:rotate -a myapp --confirm myapp" },
	{ "redis:info", redis_info_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[REDIS]", "show the app's Redis instances",
	  "cove redis:info -a myapp" },
	{},
};
