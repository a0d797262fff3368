/* SPDX-License-Identifier: MIT */
/*
 * The bastion from the command line (docs/bastion.md): pg:psql, redis:cli and pg:tunnel run
 * local clients, or keep a local port open, through an authenticated tunnel into the app's
 * space (cli-tunnel.h); bastion:tunnel does the same for any target the API allows (a dyno
 * and a port); bastion:sessions lists an app's sessions. Who may is the space permission
 * `bastion` (spaces:access:grant, cli-network.c).
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli-tunnel.h"
#include "cli/cli.h"

/* The credentials of an add-on's URL (postgres://user:password@host:port/db). */
struct service_url {
	char *user, *password, *path;
};

static void service_url_release(struct service_url *u)
{
	free(u->user);
	if (u->password)
		explicit_bzero(u->password, strlen(u->password));
	free(u->password);
	free(u->path);
}

static char *url_part(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	if (curl_url_get(u, part, &v, CURLU_URLDECODE) != CURLUE_OK || !v)
		return NULL;
	char *copy = xstrdup(v);
	curl_free(v);
	return copy;
}

static int service_url_parse(const char *var, const char *value, struct service_url *ret, struct error *err)
{
	*ret = (struct service_url){ 0 };
	CURLU *u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, value, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		curl_url_cleanup(u);
		return error_set(err, -EINVAL, "config var %s is not a URL", var);
	}
	ret->user = url_part(u, CURLUPART_USER);
	ret->password = url_part(u, CURLUPART_PASSWORD);
	ret->path = url_part(u, CURLUPART_PATH);
	curl_url_cleanup(u);
	return 0;
}

/*
 * The add-on a command works on: the positional argument (DATABASE, HEROKU_POSTGRESQL_RED, or
 * its config var HEROKU_POSTGRESQL_RED_URL), else fallback. ret_target is the attachment name
 * the API resolves; ret_url the credentials from the app's config var <name>_URL.
 */
/* The attachment an argument names: DATABASE for DATABASE or DATABASE_URL. */
static char *attachment_name(const char *arg)
{
	size_t len = strlen(arg);
	return len > 4 && streq(arg + len - 4, "_URL") ? xstrndup(arg, len - 4) : xstrdup(arg);
}

static int service_lookup(struct cli *c, const char *app, const char *fallback, char **ret_target,
			  struct service_url *ret_url, struct error *err)
{
	_cleanup_free_ char *target = attachment_name(c->n_args > 0 ? c->args[0] : fallback);
	_cleanup_free_ char *var = xasprintf("%s_URL", target);
	_cleanup_free_ char *path = cli_path("/apps/%s/config-vars", app);
	_cleanup_json_ json_t *config = NULL;
	int r = cli_get(c, path, &config, err);
	if (r < 0)
		return r;
	const char *value = json_string_value(json_object_get(config, var));
	if (!value)
		return error_set(err, -ENOENT, "app '%s' has no config var %s: is an add-on attached as %s? (cove addons -a %s)",
				 app, var, target, app);
	r = service_url_parse(var, value, ret_url, err);
	if (r < 0)
		return r;
	*ret_target = TAKE_PTR(target);
	return 0;
}

static int port_opt(struct cli *c, uint16_t *ret, struct error *err)
{
	const char *p = cli_opt(c, OPT_PORT);
	*ret = 0;
	if (!p)
		return 0;
	char *end;
	long v = strtol(p, &end, 10);
	if (*p == '\0' || *end || v < 1 || v > 65535)
		return cli_usage_error(err, "--port '%s' is invalid: a port from 1 to 65535", p);
	*ret = (uint16_t)v;
	return 0;
}

/* Appends one argument to a NULL-terminated argv. */
static void add_arg(char ***argv, size_t *n, const char *arg)
{
	*argv = xrealloc(*argv, (*n + 2) * sizeof(**argv));
	(*argv)[(*n)++] = xstrdup(arg);
	(*argv)[*n] = NULL;
}

/* Appends words split on blanks (a fixed command line, or redis-cli's command as words). */
static void add_words(char ***argv, size_t *n, const char *text)
{
	for (const char *p = text; *p;) {
		p += strspn(p, " \t");
		size_t l = strcspn(p, " \t");
		if (l == 0)
			break;
		_cleanup_free_ char *word = xstrndup(p, l);
		add_arg(argv, n, word);
		p += l;
	}
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/*
 * Runs a local client (psql, redis-cli) against the tunnel: argv[0] is looked up in PATH;
 * env_name=env_value (a password) is set for it alone. Its exit status becomes cove's.
 */
static int run_client(struct cli *c, struct cli_tunnel *t, char **argv, const char *env_name, const char *env_value,
		      const char *package, struct error *err)
{
	fflush(NULL);
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return error_set(err, -errno, "pipe: %m");
	pid_t pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return error_set(err, -errno, "fork: %m");
	}
	if (pid == 0) {
		close(ready[0]);
		if (env_value)
			setenv(env_name, env_value, 1);
		execvp(argv[0], argv);
		/* Tell the parent why: exec failed. */
		int e = errno;
		(void)!write(ready[1], &e, sizeof(e));
		_exit(127);
	}
	close(ready[1]);
	int e = 0;
	ssize_t n = read(ready[0], &e, sizeof(e));
	close(ready[0]);
	int status = 0;
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		if (e == ENOENT)
			return error_set(err, -ENOENT, "%s is not installed: install Debian's %s", argv[0], package);
		return error_set(err, -e, "run %s: %s", argv[0], strerror(e));
	}
	int r = cli_tunnel_serve(t, pid, &status, err);
	if (r < 0)
		return r;
	return status; /* cove's exit status (cove.c) */
}

/*
 * A data-service client: the add-on (argument or fallback) and its credentials, the tunnel,
 * then argv from add_args (argv[0] the program) run against 127.0.0.1 and the tunnel's port.
 */
struct client {
	const char *fallback; /* the attachment without an argument: DATABASE, REDIS */
	const char *env;      /* where the password goes: PGPASSWORD, REDISCLI_AUTH */
	const char *package;  /* the Debian package of the program */
	void (*add_args)(struct cli *c, const struct service_url *url, const char *port, char ***argv, size_t *n);
};

static int client_run(struct cli *c, const struct client *k, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *target = NULL;
	_cleanup_(service_url_release) struct service_url url = { 0 };
	r = service_lookup(c, app, k->fallback, &target, &url, err);
	if (r < 0)
		return r;
	struct cli_tunnel *t = NULL;
	r = cli_tunnel_open(c, app, target, 0, &t, err);
	if (r < 0)
		return r;
	char port[8];
	snprintf(port, sizeof(port), "%u", cli_tunnel_port(t));
	char **argv = NULL;
	size_t n = 0;
	k->add_args(c, &url, port, &argv, &n);
	fprintf(stderr, "--> Connecting to %s of %s\n", target, app);
	r = run_client(c, t, argv, k->env, url.password, k->package, err);
	strv_free(argv);
	cli_tunnel_free(t);
	return r;
}

static void psql_args(struct cli *c, const struct service_url *url, const char *port, char ***argv, size_t *n)
{
	const char *db = url->path && url->path[0] == '/' ? url->path + 1 : url->path;
	add_words(argv, n, "psql -h 127.0.0.1 -p");
	add_arg(argv, n, port);
	if (!isempty(url->user)) {
		add_arg(argv, n, "-U");
		add_arg(argv, n, url->user);
	}
	if (!isempty(db)) {
		add_arg(argv, n, "-d");
		add_arg(argv, n, db);
	}
	if (cli_has(c, OPT_COMMAND)) {
		add_arg(argv, n, "-c");
		add_arg(argv, n, cli_opt(c, OPT_COMMAND));
	}
}

static void redis_cli_args(struct cli *c, const struct service_url *url, const char *port, char ***argv, size_t *n)
{
	add_words(argv, n, "redis-cli -h 127.0.0.1 -p");
	add_arg(argv, n, port);
	if (!isempty(url->user) && !streq(url->user, "default")) {
		add_arg(argv, n, "--user");
		add_arg(argv, n, url->user);
	}
	if (cli_has(c, OPT_COMMAND))
		add_words(argv, n, cli_opt(c, OPT_COMMAND));
}

static int pg_psql_run(struct cli *c, struct error *err)
{
	static const struct client psql = { "DATABASE", "PGPASSWORD", "postgresql-client", psql_args };
	return client_run(c, &psql, err);
}

static int redis_cli_run(struct cli *c, struct error *err)
{
	static const struct client redis_cli = { "REDIS", "REDISCLI_AUTH", "redis-tools", redis_cli_args };
	return client_run(c, &redis_cli, err);
}

/* Keeps a local port open until Ctrl-C. */
static int tunnel_keep(struct cli *c, const char *app, const char *target, struct error *err)
{
	uint16_t port;
	int r = port_opt(c, &port, err);
	if (r < 0)
		return r;
	struct cli_tunnel *t = NULL;
	r = cli_tunnel_open(c, app, target, port, &t, err);
	if (r < 0)
		return r;
	printf("Tunnel to %s of %s listening on 127.0.0.1:%u; Ctrl-C to close it\n", target, app, cli_tunnel_port(t));
	fflush(stdout);
	int status;
	r = cli_tunnel_serve(t, 0, &status, err);
	cli_tunnel_free(t);
	return r;
}

static int pg_tunnel_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *target = attachment_name(c->n_args > 0 ? c->args[0] : "DATABASE");
	return tunnel_keep(c, app, target, err);
}

static int bastion_tunnel_run(struct cli *c, struct error *err)
{
	const char *app;
	int r = cli_app(c, &app, err);
	if (r < 0)
		return r;
	return tunnel_keep(c, app, c->args[0], err);
}

static int bastion_sessions_run(struct cli *c, struct error *err)
{
	static const struct cli_column columns[] = {
		{ "Started", "created_at" }, { "User", "user.email" },   { "Target", "target" },
		{ "State", "state" },        { "In", "bytes_in", "0" }, { "Out", "bytes_out", "0" },
	};
	const char *app;
	_cleanup_json_ json_t *list = NULL;
	int r = cli_app_get_show(c, "/apps/%s/bastion-sessions", NULL, &app, &list, err);
	if (r <= 0)
		return r;
	cli_table_print_json(list, columns, ARRAY_SIZE(columns));
	return 0;
}

const struct cli_command cli_bastion_commands[] = {
	{ "pg:psql", pg_psql_run, CLI_APP_FLAGS | CLI_FLAG(OPT_COMMAND), 0, 1, "[DATABASE]",
	  "open psql on a Postgres add-on, through the bastion", "cove pg:psql -a myapp\ncove pg:psql -a myapp -c 'select 1'" },
	{ "pg:tunnel", pg_tunnel_run, CLI_APP_FLAGS | CLI_FLAG(OPT_PORT), 0, 1, "[DATABASE]",
	  "keep a local port open to a Postgres add-on, through the bastion, until Ctrl-C",
	  "cove pg:tunnel -a myapp --port 5433" },
	{ "redis:cli", redis_cli_run, CLI_APP_FLAGS | CLI_FLAG(OPT_COMMAND), 0, 1, "[REDIS]",
	  "open redis-cli on a Redis add-on, through the bastion", "cove redis:cli -a myapp\ncove redis:cli -a myapp -c PING" },
	{ "bastion:tunnel", bastion_tunnel_run, CLI_APP_FLAGS | CLI_FLAG(OPT_PORT), 1, 1, "TARGET",
	  "keep a local port open to an add-on (DATABASE) or a dyno and port (web.1:5000) of the app",
	  "cove bastion:tunnel web.1:5000 -a myapp --port 8000" },
	{ "bastion:sessions", bastion_sessions_run, CLI_APP_FLAGS | CLI_FLAG(OPT_JSON), 0, 0, "",
	  "list the app's bastion sessions: who, what, when, how many bytes", "cove bastion:sessions -a myapp" },
	{},
};
