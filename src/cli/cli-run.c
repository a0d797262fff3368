/* SPDX-License-Identifier: MIT */
/*
 * run and run:detached: one-off dynos, with the Heroku CLI's flags. `run` attaches to the dyno
 * through its rendezvous (cli-rendezvous.h); with -x it exits with the command's status, found
 * through the marker line the Heroku CLI appends to the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "cli/cli-api.h"
#include "cli/cli.h"
#include "rendezvous/rendezvous-client.h"

#define EXIT_MARKER "; echo \"\xef\xbf\xbf heroku-command-exit-status: $?\""

/* The arguments, joined as the Heroku CLI joins them: words with a space, or quoted. */
static char *command_of(const struct cli *c)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < c->n_args; i++) {
		const char *a = c->args[i];
		if (i)
			strbuf_addch(&sb, ' ');
		if (c->n_args > 1 && strpbrk(a, " \t\"'") ) {
			strbuf_addch(&sb, '"');
			for (const char *p = a; *p; p++) {
				if (*p == '"' || *p == '\\' || *p == '$' || *p == '`')
					strbuf_addch(&sb, '\\');
				strbuf_addch(&sb, *p);
			}
			strbuf_addch(&sb, '"');
		} else {
			strbuf_addstr(&sb, a);
		}
	}
	return strbuf_detach(&sb);
}

/* -e "A=1;B=two" into the env object. */
static int env_of(const struct cli *c, json_t *env, struct error *err)
{
	const char *spec = cli_opt(c, OPT_ENV);
	if (!spec)
		return 0;
	_cleanup_free_ char *copy = xstrdup(spec);
	char *save = NULL;
	for (char *kv = strtok_r(copy, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv)
			return cli_usage_error(err, "-e '%s': give KEY=VALUE pairs split by ';'", kv);
		*eq = '\0';
		json_object_set_new(env, kv, json_string(eq + 1));
	}
	return 0;
}

static int dyno_request(struct cli *c, const char *app, bool attach, bool tty, json_t **ret, struct error *err)
{
	_cleanup_free_ char *command = command_of(c);
	if (attach && cli_has(c, OPT_EXIT_CODE)) {
		/* In a subshell, unlike the Heroku CLI, so that `exit 3` says 3 too; on lines of its
		 * own, so that a trailing comment comments nothing of ours out. */
		char *wrapped = xasprintf("(\n%s\n)" EXIT_MARKER, command);
		free(command);
		command = wrapped;
	}
	_cleanup_json_ json_t *body = json_pack("{s:s, s:b, s:o}", "command", command, "attach", attach, "env", json_object());
	json_t *env = json_object_get(body, "env");
	const char *term = getenv("TERM");
	json_object_set_new(env, "TERM", json_string(term && *term ? term : "xterm"));
	struct winsize ws;
	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		json_object_set_new(env, "COLUMNS", json_sprintf("%u", ws.ws_col));
		json_object_set_new(env, "LINES", json_sprintf("%u", ws.ws_row));
	}
	int r = env_of(c, env, err);
	if (r < 0)
		return r;
	if (cli_opt(c, OPT_SIZE))
		json_object_set_new(body, "size", json_string(cli_opt(c, OPT_SIZE)));
	if (cli_opt(c, OPT_TYPE))
		json_object_set_new(body, "type", json_string(cli_opt(c, OPT_TYPE)));
	if (attach && !tty)
		json_object_set_new(body, "force_no_tty", json_true());
	_cleanup_free_ char *path = cli_path("/apps/%s/dynos", app);
	return cli_send(c, "POST", path, body, ret, err);
}

/* The app, then its dyno, told on stderr as "Running COMMAND on APP... " and "failed" when it is not. */
static int dyno_start(struct cli *c, bool attach, bool tty, const char **ret_app, json_t **ret, struct error *err)
{
	int r = cli_app(c, ret_app, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *command = command_of(c);
	fprintf(stderr, "Running %s on %s... ", command, *ret_app);
	r = dyno_request(c, *ret_app, attach, tty, ret, err);
	if (r < 0)
		fputs("failed\n", stderr);
	return r;
}

/* The CA the rendezvous' certificate comes from: $COVE_CA_FILE, else that of $COVE_DATA_DIR's coved. */
static char *rendezvous_ca(void)
{
	const char *ca = getenv("COVE_CA_FILE");
	if (ca && *ca)
		return xstrdup(ca);
	const char *dir = getenv("COVE_DATA_DIR");
	char *path = dir && *dir ? xasprintf("%s/tls/ca.pem", dir) : NULL;
	if (path && access(path, R_OK) < 0) {
		free(path);
		path = NULL;
	}
	return path;
}

static int run_run(struct cli *c, struct error *err)
{
	const char *app;
	/* A terminal in the dyno when this is one, unless --no-tty. */
	bool tty = !cli_has(c, OPT_NO_TTY) && isatty(STDIN_FILENO);
	_cleanup_json_ json_t *dyno = NULL;
	int r = dyno_start(c, true, tty, &app, &dyno, err);
	if (r < 0)
		return r;
	const char *url = cli_json_str(dyno, "attach_url");
	if (!url) {
		fputs("failed\n", stderr);
		return error_set(err, -EPROTO, "the API gave the dyno no attach_url");
	}
	fprintf(stderr, "up, %s\n", cli_json_str(dyno, "name") ? cli_json_str(dyno, "name") : "?");
	_cleanup_free_ char *ca = rendezvous_ca();
	struct rendezvous_options opts = {
		.in_fd = STDIN_FILENO,
		.out_fd = STDOUT_FILENO,
		.ca_file = ca,
		.raw_tty = tty,
		.exit_code = cli_has(c, OPT_EXIT_CODE),
	};
	int status = 0;
	r = rendezvous_attach(url, &opts, &status, err);
	if (r < 0)
		return r;
	fflush(stdout);
	/* The command's status is ours: cove.c returns what run() returns for >= 0. */
	return status;
}

static int run_detached_run(struct cli *c, struct error *err)
{
	const char *app;
	_cleanup_json_ json_t *dyno = NULL;
	int r = dyno_start(c, false, false, &app, &dyno, err);
	if (r < 0)
		return r;
	const char *name = cli_json_str(dyno, "name");
	fprintf(stderr, "done, %s\n", name ? name : "?");
	if (cli_has(c, OPT_TAIL)) {
		/* As `logs --tail --dyno NAME`. */
		execlp("cove", "cove", "logs", "--tail", "--dyno", name, "-a", app, (char *)NULL);
		return error_set(err, -errno, "run 'cove logs': %m");
	}
	printf("Run cove logs -a %s --dyno %s to view the output.\n", app, name ? name : "?");
	return 0;
}

#define RUN_FLAGS \
	(CLI_APP_FLAGS | CLI_FLAG(OPT_SIZE) | CLI_FLAG(OPT_TYPE) | CLI_FLAG(OPT_ENV))

const struct cli_command cli_run_commands[] = {
	{ "run", run_run, RUN_FLAGS | CLI_FLAG(OPT_EXIT_CODE) | CLI_FLAG(OPT_NO_TTY), 1, CLI_ARGS_ANY, "[--] COMMAND...",
	  "run a command in a one-off dyno of the app, in its space, attached to this terminal",
	  "cove run bash -a myapp\ncove run -x 'rake db:migrate' -a myapp\necho hi | cove run cat --no-tty -a myapp\n"
	  "cove run -a myapp -- ls -la /app" },
	{ "run:detached", run_detached_run, RUN_FLAGS | CLI_FLAG(OPT_TAIL), 1, CLI_ARGS_ANY, "[--] COMMAND...",
	  "run a command in a one-off dyno in the background; its output goes to the app's log",
	  "cove run:detached 'rake cleanup' -a myapp\ncove run:detached --tail ./report.sh -a myapp" },
	{},
};
