/* SPDX-License-Identifier: MIT */
/*
 * Postgres backups from the command line (docs/addons.md, "Backups"): pg:backups and its
 * capture, restore, download and daily schedules, in the shape of Heroku's. A capture or a restore runs in
 * coved; the CLI waits for it by asking after it every second, as Heroku's does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static void size_text(long long n, char ret[static 24])
{
	if (n < 1024)
		snprintf(ret, 24, "%lldB", n);
	else if (n < 1024 * 1024)
		snprintf(ret, 24, "%.1fkB", (double)n / 1024);
	else
		snprintf(ret, 24, "%.1fMB", (double)n / (1024 * 1024));
}

/* Asks after a backup until it is no longer running; fails when it failed. */
static int backup_wait(struct cli *c, const char *app, json_t *b, json_t **ret, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/apps/%s/pg-backups/%s", app, cli_json_str(b, "id"));
	json_t *cur = json_incref(b);
	while (streq(cli_json_str(cur, "status"), "running")) {
		sleep(1);
		json_decref(cur);
		cur = NULL;
		int r = cli_get(c, path, &cur, err);
		if (r < 0)
			return r;
	}
	if (streq(cli_json_str(cur, "status"), "failed")) {
		int r = error_set(err, -EIO, "%s of '%s' failed: %s", cli_json_str(cur, "name"), app,
				  cli_json_str(cur, "error"));
		json_decref(cur);
		return r;
	}
	*ret = cur;
	return 0;
}

/* Starts a capture or a restore (POST path with body), tells what it does and waits for it. */
static int backup_start(struct cli *c, const char *app, const char *path, json_t *body, bool restore, json_t **ret,
			struct error *err)
{
	_cleanup_json_ json_t *b = NULL;
	int r = cli_send(c, "POST", path, body, &b, err);
	if (r < 0)
		return r;
	if (restore)
		fprintf(stderr, "Starting restore of %s to %s... done\n\nRestoring... ", cli_json_str(b, "backup"),
			cli_json_str(b, "addon.name"));
	else
		fprintf(stderr, "Starting backup of %s... done\n\nBacking up to %s... ", cli_json_str(b, "addon.name"),
			cli_json_str(b, "name"));
	fflush(stderr);
	r = backup_wait(c, app, b, ret, err);
	fprintf(stderr, r < 0 ? "failed\n" : "done\n");
	return r;
}

static int capture_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *body = json_object();
	if (c->n_args > 0)
		json_object_set_new(body, "addon", json_string(c->args[0]));
	_cleanup_free_ char *path = cli_path("/apps/%s/pg-backups", app);
	_cleanup_json_ json_t *done = NULL;
	r = backup_start(c, app, path, body, false, &done, err);
	if (r < 0)
		return r;
	cli_show_json(c, done);
	return 0;
}

static int list_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/pg-backups", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	static const char *const kinds[2] = { "capture", "restore" };
	for (size_t k = 0; k < 2; k++) {
		printf("%s=== %s\n", k ? "\n" : "", k ? "Restores" : "Backups");
		_cleanup_table_ struct cli_table *t = cli_table_new(
			5, (const char *const[]){ "ID", k ? "Started at" : "Created at", "Status", "Size", "Database" });
		size_t i, n = 0;
		json_t *b;
		json_array_foreach(list, i, b) {
			if (!streq(cli_json_str(b, "kind"), kinds[k]))
				continue;
			char size[24], status[96];
			size_text(cli_json_int(b, "size", 0), size);
			const char *st = cli_json_str(b, "status");
			if (streq(st, "completed"))
				snprintf(status, sizeof(status), "Completed %s", cli_json_str(b, "finished_at"));
			else if (streq(st, "failed"))
				snprintf(status, sizeof(status), "Failed %s", cli_json_str(b, "finished_at"));
			else
				snprintf(status, sizeof(status), "Running");
			_cleanup_free_ char *id = k ? xasprintf("%s (from %s)", cli_json_str(b, "name"), cli_json_str(b, "backup"))
						    : xstrdup(cli_json_str(b, "name"));
			cli_table_add(t, id, cli_json_str(b, "created_at"), status, size, cli_json_str(b, "addon.name"));
			n++;
		}
		if (n == 0)
			printf(k ? "No restores found.\n" : "No backups. Capture one with `cove pg:backups:capture`\n");
		else
			cli_table_print(t);
	}
	return 0;
}

static int restore_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	const char *backup = c->n_args > 0 ? c->args[0] : "latest";
	if (!cli_opt(c, OPT_CONFIRM))
		return error_set(err, -EINVAL,
				 "restoring a backup overwrites the database's data: run again with --confirm %s", app);
	if (!streq(cli_opt(c, OPT_CONFIRM), app))
		return error_set(err, -EINVAL, "confirmation '%s' does not match app '%s': nothing was restored",
				 cli_opt(c, OPT_CONFIRM), app);
	_cleanup_json_ json_t *body = json_pack("{s:s}", "confirm", app);
	if (c->n_args > 1)
		json_object_set_new(body, "addon", json_string(c->args[1]));
	_cleanup_free_ char *path = cli_path("/apps/%s/pg-backups/%s/actions/restore", app, backup);
	_cleanup_json_ json_t *done = NULL;
	return backup_start(c, app, path, body, true, &done, err);
}

static int download_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	const char *out = cli_opt(c, OPT_OUTPUT) ? cli_opt(c, OPT_OUTPUT) : "latest.dump";
	_cleanup_free_ char *path =
		cli_path("/apps/%s/pg-backups/%s/download", app, c->n_args > 0 ? c->args[0] : "latest");
	_cleanup_free_ char *tmp = xasprintf("%s.part", out);
	FILE *f = fopen(tmp, "wxe");
	if (!f && errno == EEXIST && unlink(tmp) == 0)
		f = fopen(tmp, "wxe");
	if (!f)
		return error_set(err, -errno, "open '%s': %m", tmp);
	struct cli_request rq = { .method = "GET", .path = path, .ret_file = f };
	r = cli_api_call(c->api, &rq, NULL, err);
	if (fclose(f) != 0 && r >= 0)
		r = error_set(err, -errno, "write '%s': %m", tmp);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	if (rename(tmp, out) < 0) {
		r = error_set(err, -errno, "rename '%s' to '%s': %m", tmp, out);
		unlink(tmp);
		return r;
	}
	fprintf(stderr, "Downloading %s... done\n", out);
	return 0;
}

static int schedule_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	if (!cli_opt(c, OPT_AT))
		return cli_usage_error(err, "give the hour of the daily backup: --at '02:00 UTC'");
	_cleanup_json_ json_t *body = json_pack("{s:s}", "at", cli_opt(c, OPT_AT));
	if (c->n_args > 0)
		json_object_set_new(body, "addon", json_string(c->args[0]));
	_cleanup_free_ char *path = cli_path("/apps/%s/pg-backup-schedules", app);
	_cleanup_json_ json_t *s = NULL;
	r = cli_send(c, "POST", path, body, &s, err);
	if (r < 0)
		return r;
	fprintf(stderr, "Scheduling automatic daily backups of %s at %s... done\n", cli_json_str(s, "addon.name"),
		cli_json_str(s, "at"));
	return 0;
}

static int schedules_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/pg-backup-schedules", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	if (json_array_size(list) == 0) {
		printf("No backup schedules found on %s\nUse cove pg:backups:schedule to set one up\n", app);
		return 0;
	}
	printf("=== Backup Schedules\n");
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
		printf("%s: daily at %s\n", cli_json_str(s, "addon.name"), cli_json_str(s, "at"));
	return 0;
}

static int unschedule_run(struct cli *c, struct error *err)
{
	const char *app, *db = c->n_args > 0 ? c->args[0] : "DATABASE";
	int r = cli_app_send(c, "DELETE", "/apps/%s/pg-backup-schedules/%s", db, NULL, &app, NULL, err);
	if (r < 0)
		return r;
	fprintf(stderr, "Unscheduling %s daily backups... done\n", db);
	return 0;
}

const struct cli_command cli_pg_backup_commands[] = {
	{ "pg:backups", list_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, "",
	  "list the app's Postgres backups and restores", "cove pg:backups -a myapp" },
	{ "pg:backups:capture", capture_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 1, "[DATABASE]",
	  "capture a backup (pg_dump) of a Postgres add-on and wait for it", "cove pg:backups:capture -a myapp" },
	{ "pg:backups:restore", restore_run, CLI_APP_FLAGS | CLI_FLAG(OPT_CONFIRM), 0, 2, "[BACKUP] [DATABASE]",
	  "restore a backup (default: the latest) into a Postgres add-on, overwriting its data",
	  "cove pg:backups:restore b001 DATABASE -a myapp --confirm myapp" },
	{ "pg:backups:download", download_run, CLI_APP_FLAGS | CLI_FLAG(OPT_OUTPUT), 0, 1, "[BACKUP]",
	  "download a backup (default: the latest) as a pg_restore file", "cove pg:backups:download -a myapp -o db.dump" },
	{ "pg:backups:schedule", schedule_run, CLI_APP_FLAGS | CLI_FLAG(OPT_AT), 0, 1, "[DATABASE]",
	  "capture a backup of a Postgres add-on every day at an hour (UTC)",
	  "cove pg:backups:schedule DATABASE --at '02:00 UTC' -a myapp" },
	{ "pg:backups:schedules", schedules_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, "",
	  "list the app's daily backup schedules", "cove pg:backups:schedules -a myapp" },
	{ "pg:backups:unschedule", unschedule_run, CLI_APP_FLAGS, 0, 1, "[DATABASE]",
	  "stop the daily backups of a Postgres add-on", "cove pg:backups:unschedule DATABASE -a myapp" },
	{},
};
