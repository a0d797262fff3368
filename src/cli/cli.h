/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The cove CLI: one process per command, in Heroku's grammar (`cove config:set FOO=bar -a
 * myapp`). This header is the frame every command file (cli-apps.c, cli-spaces.c, ...) is
 * written against:
 *
 *   - struct cli: the parsed command line and the API connection of this run;
 *   - the flags a command may accept, parsed anywhere on the line like oclif does;
 *   - how a command learns its app, space or team;
 *   - the command tables, one per topic file, that cove.c dispatches on.
 *
 * cli-show.h adds the frame most commands share (GET, --json, a table of columns).
 *
 * A command is `int run(struct cli *c, struct error *err)`: it prints its output on stdout and
 * returns >= 0, or returns a negative errno with a one-line message in err. cove.c prints that
 * message as `cove: <message>` on stderr and exits 1, or 2 for a usage error (see
 * cli_usage_error()).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Flags, by id. A command lists the ones it accepts as a mask of CLI_FLAG(id). */
enum cli_opt {
	OPT_APP,
	OPT_REMOTE,
	OPT_JSON,
	OPT_TEAM,
	OPT_SPACE,
	OPT_REGION,
	OPT_CIDR,
	OPT_DATA_CIDR,
	OPT_SHIELD,
	OPT_CONFIRM,
	OPT_FROM,
	OPT_TO,
	OPT_EMAIL,
	OPT_PASSWORD,
	OPT_ADMIN,
	OPT_ROLE,
	OPT_SHELL,
	OPT_NUM,
	OPT_INTERNAL_ROUTING,
	OPT_NO_REMOTE,
	OPT_REGIONS,
	OPT_SLUG,
	OPT_PROCFILE,
	OPT_INDEX,
	OPT_TAIL,
	OPT_SOURCE,
	OPT_DYNO,
	OPT_DEST,
	OPT_PROTOCOL,
	OPT_PORT,
	OPT_PERMISSION,
	OPT_SIZE,
	OPT_TYPE,
	OPT_EXIT_CODE,
	OPT_ENV,
	OPT_NO_TTY,
	OPT_COMMAND,
	OPT_INTERVAL,
	OPT_TIMEOUT,
	OPT_DYNO_NAME,
	OPT_PROCESS_TYPE,
	OPT_AS,
	OPT_NAME,
	OPT_OUTPUT,
	OPT_AT,
	OPT_HELP,
	OPT_MAX_
};

#define CLI_FLAG(id) (UINT64_C(1) << (id))
/* The flags of every command that works on one app. */
#define CLI_APP_FLAGS (CLI_FLAG(OPT_APP) | CLI_FLAG(OPT_REMOTE))

struct cli_option {
	const char *name;       /* long name, without the dashes */
	char short_name;        /* 0 when there is none */
	const char *value_name; /* "APP"; NULL for a switch */
	const char *help;
};

/* The flag table, indexed by enum cli_opt. */
extern const struct cli_option cli_options[OPT_MAX_];

struct cli;

struct cli_command {
	const char *name; /* "config:set" */
	int (*run)(struct cli *c, struct error *err);
	uint64_t flags;     /* CLI_FLAG() mask of the flags it accepts (--help always works) */
	unsigned min_args;  /* positional arguments */
	unsigned max_args;  /* CLI_ARGS_ANY for no limit */
	const char *usage;  /* what follows the name in the usage line: "KEY=VALUE..." */
	const char *summary;
	const char *example; /* one or more lines, each a full command */
	bool no_auth;        /* runs without a token (help, login) */
	bool hidden;         /* an alias: works, but not listed by help */
};

#define CLI_ARGS_ANY UINT32_MAX

/* Command tables of the topic files, each ending with a zeroed entry. */
extern const struct cli_command cli_auth_commands[];
extern const struct cli_command cli_team_commands[];
extern const struct cli_command cli_space_commands[];
extern const struct cli_command cli_app_commands[];
extern const struct cli_command cli_config_commands[];
extern const struct cli_command cli_domain_commands[];
extern const struct cli_command cli_release_commands[];
extern const struct cli_command cli_ps_commands[];
extern const struct cli_command cli_log_commands[];
extern const struct cli_command cli_admin_commands[];
extern const struct cli_command cli_build_commands[];
extern const struct cli_command cli_network_commands[];
extern const struct cli_command cli_run_commands[];
extern const struct cli_command cli_bastion_commands[];
extern const struct cli_command cli_addon_commands[];
extern const struct cli_command cli_pg_backup_commands[];

struct cli_api;

struct cli {
	const struct cli_command *command;
	const char *opts[OPT_MAX_]; /* flag values; "" for a switch that is set; NULL when absent */
	char **args;                /* positional arguments, borrowed from argv */
	size_t n_args;
	struct cli_api *api;        /* the API connection; opened by cove.c before run() */
	char *app;                  /* the app found by cli_app(), owned */
};

/*
 * Parses argv (after the command name) into c->opts and c->args against the flags of
 * c->command. Usage errors (unknown flag, missing value, wrong argument count) fail with a
 * usage error.
 */
int cli_parse(struct cli *c, int argc, char **argv, struct error *err);
void cli_release(struct cli *c);

/* The value of a flag, or NULL. */
static inline const char *cli_opt(const struct cli *c, enum cli_opt id)
{
	return c->opts[id];
}

/* True when a switch (or a flag with a value) was given. */
static inline bool cli_has(const struct cli *c, enum cli_opt id)
{
	return c->opts[id] != NULL;
}

/*
 * Records a usage error: cove.c prints it like any other error, and exits 2. Returns
 * -EINVAL.
 */
int cli_usage_error(struct error *err, const char *fmt, ...) _printf_(2, 3);
bool cli_is_usage_error(const struct error *err);

/*
 * The app this command works on: -a/--app, else $COVE_APP, else the app of the git remote
 * named by -r/--remote (default "cove") of the current directory. A usage error when none.
 * The string stays valid until cli_release().
 */
int cli_app(struct cli *c, const char **ret, struct error *err);

/*
 * The app given as the only positional argument, or else as for cli_app(); for commands
 * like `apps:info [APP]`.
 */
int cli_app_or_arg(struct cli *c, const char **ret, struct error *err);

/* The space: the first positional argument or --space (not both, unless equal). */
int cli_space_arg(struct cli *c, const char **ret, struct error *err);

/* -n N: a number from 1 to max, else a usage error; def when there is no -n. */
int cli_num(const struct cli *c, long def, long max, long *ret, struct error *err);

/* The team: -t/--team, else $COVE_TEAM; a usage error when neither is there. */
int cli_team(struct cli *c, const char **ret, struct error *err);

/*
 * Asks the user a question on stderr, when stdin is a terminal, and reads one line from stdin
 * into *ret (caller frees), without echo when hidden. Fails with -ENODATA at end of input.
 */
int cli_prompt(const char *question, bool hidden, char **ret, struct error *err);

/*
 * Makes the user confirm a destructive action on `name`: --confirm NAME must match; without
 * it, a terminal is asked to type the name, anything else is refused.
 */
int cli_confirm(struct cli *c, const char *what, const char *name, struct error *err);

/* Releases a jansson value at the end of its scope (json_decrefp() is jansson's own). */
#define _cleanup_json_ _cleanup_(json_decrefp)

/*
 * Reads a member of a JSON object by a dotted path ("region.description"). The string
 * accessor returns NULL when the member is missing or not a string.
 */
json_t *cli_json_get(json_t *obj, const char *path);
const char *cli_json_str(json_t *obj, const char *path);
long long cli_json_int(json_t *obj, const char *path, long long fallback);
bool cli_json_true(json_t *obj, const char *path);
