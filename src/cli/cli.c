/* SPDX-License-Identifier: MIT */
/*
 * The command line: flags, arguments, and what a command works on (app, space, team), plus
 * the two ways a command talks to the person at the terminal (prompts and confirmations).
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli/cli-git.h"

#define PROMPT_LINE_MAX 4096
#define USAGE_ID "usage"

const struct cli_option cli_options[OPT_MAX_] = {
	[OPT_APP] = { "app", 'a', "APP", "the app (else $COVE_APP, else the app of the git remote)" },
	[OPT_REMOTE] = { "remote", 'r', "REMOTE", "the git remote of the app (default: cove)" },
	[OPT_JSON] = { "json", 0, NULL, "print the API's JSON" },
	[OPT_TEAM] = { "team", 't', "TEAM", "the team (else $COVE_TEAM)" },
	[OPT_SPACE] = { "space", 's', "SPACE", "the space" },
	[OPT_REGION] = { "region", 0, "REGION", "the region (see 'cove regions')" },
	[OPT_CIDR] = { "cidr", 0, "CIDR", "the private network of the space's dynos (default 10.0.0.0/16)" },
	[OPT_DATA_CIDR] = { "data-cidr", 0, "CIDR", "the private network of the space's data services (default 10.1.0.0/16)" },
	[OPT_SHIELD] = { "shield", 0, NULL, "make it a Shield space" },
	[OPT_CONFIRM] = { "confirm", 0, "NAME", "the name again, to confirm without a prompt" },
	[OPT_FROM] = { "from", 0, "NAME", "the current name" },
	[OPT_TO] = { "to", 0, "NAME", "the new name" },
	[OPT_EMAIL] = { "email", 0, "EMAIL", "the e-mail address (else asked)" },
	[OPT_PASSWORD] = { "password", 0, "PASSWORD", "the password (else asked, or read from stdin)" },
	[OPT_ADMIN] = { "admin", 0, NULL, "make the user a platform administrator" },
	[OPT_ROLE] = { "role", 0, "ROLE", "admin or member" },
	[OPT_SHELL] = { "shell", 's', NULL, "print KEY=value lines a shell can read" },
	[OPT_NUM] = { "num", 'n', "N", "how many to show" },
	[OPT_INTERNAL_ROUTING] = { "internal-routing", 0, NULL, "route the app only from inside its space" },
	[OPT_NO_REMOTE] = { "no-remote", 0, NULL, "do not add a git remote" },
	[OPT_REGIONS] = { "regions", 0, "A,B,...", "the regions the host serves" },
	[OPT_SLUG] = { "slug", 0, "FILE", "a slug: a gzipped tarball holding ./app" },
	[OPT_TAIL] = { "tail", 't', NULL, "keep the stream open and print new lines as they come" },
	[OPT_SOURCE] = { "source", 's', "SOURCE", "only lines of this source: app or heroku" },
	[OPT_DYNO] = { "dyno", 'd', "DYNO", "the dyno (web.1) or process type (web)" },
	[OPT_PROCFILE] = { "procfile", 0, "PROCFILE", "a Procfile, or its text: 'web: cmd' lines (or 'web=cmd')" },
	[OPT_INDEX] = { "index", 'i', "N", "the position in the list, from 1" },
	[OPT_DEST] = { "dest", 0, "CIDR", "the destination network, in CIDR notation" },
	[OPT_PROTOCOL] = { "protocol", 0, "PROTOCOL", "tcp, udp, icmp or any" },
	[OPT_PORT] = { "port", 0, "PORT", "a port (outbound rules: also a range LOW-HIGH, or any; tunnels: the local port, default a free one)" },
	[OPT_PERMISSION] = { "permission", 0, "PERMISSION", "the permission: create_apps or bastion" },
	[OPT_SIZE] = { "size", 's', "SIZE", "dyno size (private-xs, private-s, private-m, private-l)" },
	[OPT_TYPE] = { "type", 0, "TYPE", "process type of the one-off dyno (default: run)" },
	[OPT_EXIT_CODE] = { "exit-code", 'x', NULL, "exit with the status of the command" },
	[OPT_ENV] = { "env", 'e', "KEY=VALUE;...", "environment variables to set, split by ';'" },
	[OPT_NO_TTY] = { "no-tty", 0, NULL, "no terminal in the dyno: plain pipes" },
	[OPT_COMMAND] = { "command", 'c', "COMMAND", "run this command and exit" },
	[OPT_INTERVAL] = { "interval", 'i', "SECONDS", "seconds between two looks (default 30)" },
	[OPT_TIMEOUT] = { "timeout", 0, "SECONDS", "give up after this long (default 1500)" },
	[OPT_DYNO_NAME] = { "dyno-name", 0, "DYNO", "the dyno (web.1), as heroku's -d" },
	[OPT_PROCESS_TYPE] = { "process-type", 'p', "TYPE", "the process type (web)" },
	[OPT_AS] = { "as", 0, "NAME", "the attachment's name: NAME_URL is its config var" },
	[OPT_NAME] = { "name", 0, "NAME", "the add-on's name (default: generated, postgresql-<adjective>-<number>)" },
	[OPT_OUTPUT] = { "output", 'o', "FILE", "the file to write (default: latest.dump)" },
	[OPT_AT] = { "at", 0, "'HH:00 UTC'", "the hour of the daily backup, in UTC" },
	[OPT_HELP] = { "help", 'h', NULL, "show the help of the command" },
};

int cli_usage_error(struct error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return error_set_id(err, -EINVAL, USAGE_ID, "%s", msg);
}

bool cli_is_usage_error(const struct error *err)
{
	return err && streq(err->id, USAGE_ID);
}

static int find_long(const char *name, size_t len, uint64_t allowed)
{
	for (int i = 0; i < OPT_MAX_; i++)
		if ((allowed & CLI_FLAG(i)) && strlen(cli_options[i].name) == len &&
		    strncmp(cli_options[i].name, name, len) == 0)
			return i;
	return -1;
}

static int find_short(char ch, uint64_t allowed)
{
	for (int i = 0; i < OPT_MAX_; i++)
		if ((allowed & CLI_FLAG(i)) && cli_options[i].short_name == ch)
			return i;
	return -1;
}

int cli_parse(struct cli *c, int argc, char **argv, struct error *err)
{
	const struct cli_command *cmd = c->command;
	uint64_t allowed = cmd->flags | CLI_FLAG(OPT_HELP);
	c->args = xcalloc((size_t)argc + 1, sizeof(char *));
	c->n_args = 0;
	bool only_args = false;

	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (only_args || a[0] != '-' || a[1] == '\0') {
			c->args[c->n_args++] = a;
			continue;
		}
		if (streq(a, "--")) {
			only_args = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int id = find_long(name, len, allowed);
			if (id < 0)
				return cli_usage_error(err, "unknown flag '--%.*s' for '%s': see 'cove help %s'", (int)len, name,
						       cmd->name, cmd->name);
			if (!cli_options[id].value_name) {
				if (eq)
					return cli_usage_error(err, "flag '--%s' takes no value", cli_options[id].name);
				c->opts[id] = "";
			} else if (eq) {
				c->opts[id] = eq + 1;
			} else if (i + 1 < argc) {
				c->opts[id] = argv[++i];
			} else {
				return cli_usage_error(err, "flag '--%s' needs a value: --%s %s", cli_options[id].name,
						       cli_options[id].name, cli_options[id].value_name);
			}
			continue;
		}
		/* Short flags; switches may be bundled ("-sh"), a value may follow attached ("-amyapp"). */
		for (const char *p = a + 1; *p; p++) {
			int id = find_short(*p, allowed);
			if (id < 0)
				return cli_usage_error(err, "unknown flag '-%c' for '%s': see 'cove help %s'", *p, cmd->name,
						       cmd->name);
			if (!cli_options[id].value_name) {
				c->opts[id] = "";
				continue;
			}
			if (p[1]) {
				c->opts[id] = p + 1;
			} else if (i + 1 < argc) {
				c->opts[id] = argv[++i];
			} else {
				return cli_usage_error(err, "flag '-%c' needs a value: -%c %s", *p, *p,
						       cli_options[id].value_name);
			}
			break;
		}
	}

	if (cli_has(c, OPT_HELP))
		return 0;
	if (c->n_args < cmd->min_args)
		return cli_usage_error(err, "'%s' needs more arguments: cove %s %s", cmd->name, cmd->name,
				       cmd->usage ? cmd->usage : "");
	if (c->n_args > cmd->max_args)
		return cli_usage_error(err, "unexpected argument '%s' for '%s': see 'cove help %s'",
				       c->args[cmd->max_args], cmd->name, cmd->name);
	return 0;
}

void cli_release(struct cli *c)
{
	free(c->args);
	free(c->app);
	c->args = NULL;
	c->app = NULL;
}

int cli_app(struct cli *c, const char **ret, struct error *err)
{
	const char *app = cli_opt(c, OPT_APP);
	if (!isempty(app)) {
		*ret = app;
		return 0;
	}
	if (c->app) {
		*ret = c->app;
		return 0;
	}
	const char *remote = cli_opt(c, OPT_REMOTE);
	const char *env = getenv("COVE_APP");
	if (!remote && !isempty(env)) {
		*ret = env;
		return 0;
	}
	_cleanup_free_ char *url = NULL;
	if (cli_git_remote_url(remote ? remote : CLI_GIT_REMOTE_DEFAULT, &url) < 0) {
		if (remote)
			return cli_usage_error(err, "git remote '%s' not found in this directory", remote);
		return cli_usage_error(err, "no app given: use -a APP, set COVE_APP, or run in a git work tree with a '"
				       CLI_GIT_REMOTE_DEFAULT "' remote");
	}
	if (cli_git_app_from_url(url, &c->app) < 0)
		return cli_usage_error(err, "git remote '%s' (%s) does not point at an app: use -a APP",
				       remote ? remote : CLI_GIT_REMOTE_DEFAULT, url);
	*ret = c->app;
	return 0;
}

int cli_app_or_arg(struct cli *c, const char **ret, struct error *err)
{
	const char *flag = cli_opt(c, OPT_APP);
	if (c->n_args > 0) {
		if (flag && !streq(flag, c->args[0]))
			return cli_usage_error(err, "two apps given: '%s' and '%s'", c->args[0], flag);
		*ret = c->args[0];
		return 0;
	}
	return cli_app(c, ret, err);
}

int cli_space_arg(struct cli *c, const char **ret, struct error *err)
{
	const char *flag = cli_opt(c, OPT_SPACE);
	const char *arg = c->n_args > 0 ? c->args[0] : NULL;
	if (flag && arg && !streq(flag, arg))
		return cli_usage_error(err, "two spaces given: '%s' and '%s'", arg, flag);
	*ret = arg ? arg : flag;
	if (isempty(*ret))
		return cli_usage_error(err, "no space given: cove %s SPACE (or --space SPACE)", c->command->name);
	return 0;
}

int cli_num(const struct cli *c, long def, long max, long *ret, struct error *err)
{
	const char *s = cli_opt(c, OPT_NUM);
	*ret = def;
	if (!s)
		return 0;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*s || *end || n < 1 || n > max)
		return cli_usage_error(err, "-n '%s' is invalid: use a number from 1 to %ld", s, max);
	*ret = n;
	return 0;
}

int cli_team(struct cli *c, const char **ret, struct error *err)
{
	const char *team = cli_opt(c, OPT_TEAM);
	if (isempty(team))
		team = getenv("COVE_TEAM");
	if (isempty(team))
		return cli_usage_error(err, "no team given: use -t TEAM (or set COVE_TEAM)");
	*ret = team;
	return 0;
}

int cli_prompt(const char *question, bool hidden, char **ret, struct error *err)
{
	*ret = NULL;
	/* A question is for a person: a script that pipes the answers in sees none of them. */
	bool tty = isatty(STDIN_FILENO);
	if (tty) {
		fputs(question, stderr);
		fflush(stderr);
	}
	struct termios saved, quiet;
	bool echo_off = hidden && tty && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (echo_off) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return error_set(err, -ENODATA, "no answer: the input ended");
	}
	if (n > PROMPT_LINE_MAX) {
		explicit_bzero(line, (size_t)n);
		free(line);
		return error_set(err, -EMSGSIZE, "answer is too long: at most %d characters", PROMPT_LINE_MAX);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*ret = line;
	return 0;
}

int cli_confirm(struct cli *c, const char *what, const char *name, struct error *err)
{
	const char *given = cli_opt(c, OPT_CONFIRM);
	if (given) {
		if (streq(given, name))
			return 0;
		return error_set(err, -EINVAL, "confirmation '%s' does not match %s '%s': nothing was destroyed", given, what,
				 name);
	}
	if (!isatty(STDIN_FILENO))
		return error_set(err, -EINVAL, "destroying %s '%s' cannot be undone: run again with --confirm %s", what,
				 name, name);
	fprintf(stderr,
		" !    This destroys %s '%s' and cannot be undone.\n"
		" !    To go on, type %s or run again with --confirm %s\n",
		what, name, name, name);
	_cleanup_free_ char *answer = NULL;
	int r = cli_prompt("> ", false, &answer, err);
	if (r < 0)
		return r;
	if (!streq(answer, name))
		return error_set(err, -EINVAL, "confirmation '%s' does not match %s '%s': nothing was destroyed", answer, what,
				 name);
	return 0;
}

json_t *cli_json_get(json_t *obj, const char *path)
{
	const char *p = path;
	while (obj && *p) {
		size_t len = strcspn(p, ".");
		if (!json_is_object(obj))
			return NULL;
		_cleanup_free_ char *key = xstrndup(p, len);
		obj = json_object_get(obj, key);
		p += len + (p[len] == '.');
	}
	return obj;
}

const char *cli_json_str(json_t *obj, const char *path)
{
	return json_string_value(cli_json_get(obj, path));
}

long long cli_json_int(json_t *obj, const char *path, long long fallback)
{
	json_t *v = cli_json_get(obj, path);
	return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

bool cli_json_true(json_t *obj, const char *path)
{
	return json_is_true(cli_json_get(obj, path));
}
