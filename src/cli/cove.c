/* SPDX-License-Identifier: MIT */
/*
 * cove: the command-line client of a cove platform, in the heroku CLI's grammar.
 *
 *   cove COMMAND [ARGS] [FLAGS]      e.g. cove config:set FOO=bar -a myapp
 *   cove help [COMMAND|TOPIC]
 *   cove --version
 *
 * This file finds the command, parses its flags, opens the API connection and runs it; it is
 * the one place that turns an error into `cove: <message>` on stderr and an exit status:
 * 0 success, 1 failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-output.h"
#include "cli/cli.h"

#define EXIT_USAGE 2

static const struct {
	const char *title;
	const struct cli_command *commands;
} sections[] = {
	{ "Accounts", cli_auth_commands },  { "Teams", cli_team_commands },       { "Spaces", cli_space_commands },
	{ "Apps", cli_app_commands },       { "Config vars", cli_config_commands }, { "Domains", cli_domain_commands },
	{ "Releases", cli_release_commands }, { "Dynos", cli_ps_commands },       { "Builds", cli_build_commands },
	{ "Logs", cli_log_commands },         { "Space network", cli_network_commands },
	{ "One-off dynos", cli_run_commands },
	{ "Add-ons", cli_addon_commands },
	{ "Bastion", cli_bastion_commands },
	{ "Postgres backups", cli_pg_backup_commands },
	{ "Administration", cli_admin_commands },
};

static const struct cli_command *command_find(const char *name)
{
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++)
		for (const struct cli_command *c = sections[s].commands; c->name; c++)
			if (streq(c->name, name))
				return c;
	return NULL;
}

/* The listed command an alias stands for (the first one with the same code). */
static const struct cli_command *command_canonical(const struct cli_command *cmd)
{
	if (!cmd->hidden)
		return cmd;
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++)
		for (const struct cli_command *c = sections[s].commands; c->name; c++)
			if (!c->hidden && c->run == cmd->run)
				return c;
	return cmd;
}

static void help_overview(void)
{
	printf("Usage: cove COMMAND [ARGS] [FLAGS]\n"
	       "\n"
	       "cove drives a cove platform: private spaces, apps, config, releases and dynos,\n"
	       "with the commands of the heroku CLI.\n");
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		printf("\n%s:\n", sections[s].title);
		_cleanup_table_ struct cli_table *t = cli_table_new(2, NULL);
		for (const struct cli_command *c = sections[s].commands; c->name; c++)
			if (!c->hidden) {
				_cleanup_free_ char *name = xasprintf("  %s", c->name);
				cli_table_add(t, name, c->summary);
			}
		cli_table_print(t);
	}
	printf("\n"
	       "  help [COMMAND|TOPIC]  the flags of a command, or the commands of a topic\n"
	       "  --version             the version of this CLI\n"
	       "\n"
	       "The API is at $COVE_API_URL (default " CLI_API_URL_DEFAULT "); the token is $COVE_API_KEY,\n"
	       "else the one 'cove login' keeps in ~/.netrc. App commands take -a APP, else $COVE_APP,\n"
	       "else the app of the git remote 'cove'.\n");
}

static void help_command(const struct cli_command *cmd)
{
	cmd = command_canonical(cmd);
	printf("Usage: cove %s%s%s\n\n", cmd->name, cmd->usage ? " " : "", cmd->usage ? cmd->usage : "");
	if (cmd->summary)
		printf("%c%s.\n\n", cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 'a' + 'A' : cmd->summary[0],
		       cmd->summary + 1);
	puts("Flags:");
	_cleanup_table_ struct cli_table *t = cli_table_new(2, NULL);
	uint64_t flags = cmd->flags | CLI_FLAG(OPT_HELP);
	for (int i = 0; i < OPT_MAX_; i++) {
		if (!(flags & CLI_FLAG(i)))
			continue;
		const struct cli_option *o = &cli_options[i];
		_cleanup_free_ char *left = NULL;
		if (o->short_name)
			left = xasprintf("  -%c, --%s%s%s", o->short_name, o->name, o->value_name ? " " : "",
					 o->value_name ? o->value_name : "");
		else
			left = xasprintf("      --%s%s%s", o->name, o->value_name ? " " : "", o->value_name ? o->value_name : "");
		cli_table_add(t, left, o->help);
	}
	cli_table_print(t);
	if (cmd->example) {
		puts("\nExample:");
		for (const char *p = cmd->example; *p;) {
			size_t len = strcspn(p, "\n");
			printf("  $ %.*s\n", (int)len, p);
			p += len + (p[len] == '\n');
		}
	}
}

/* `cove help`, `cove help config:set`, `cove help spaces` (the command and its topic). */
static int help_run(int argc, char **argv)
{
	if (argc == 0) {
		help_overview();
		return 0;
	}
	const char *topic = argv[0];
	const struct cli_command *cmd = command_find(topic);
	if (cmd)
		help_command(cmd);
	size_t len = strlen(topic);
	_cleanup_table_ struct cli_table *t = cli_table_new(2, NULL);
	size_t found = 0;
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++)
		for (const struct cli_command *c = sections[s].commands; c->name; c++)
			if (!c->hidden && strncmp(c->name, topic, len) == 0 && c->name[len] == ':') {
				_cleanup_free_ char *name = xasprintf("  %s", c->name);
				cli_table_add(t, name, c->summary);
				found++;
			}
	if (!found && cmd)
		return 0;
	if (!found) {
		fprintf(stderr, "cove: no help for '%s': see 'cove help'\n", topic);
		return EXIT_USAGE;
	}
	printf("%sCommands of %s:\n", cmd ? "\n" : "", topic);
	cli_table_print(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return help_run(0, NULL);
	const char *name = argv[1];
	if (streq(name, "--version") || streq(name, "-v") || streq(name, "version")) {
		puts("cove/" COVE_VERSION);
		return 0;
	}
	if (streq(name, "help") || streq(name, "--help") || streq(name, "-h"))
		return help_run(argc - 2, argv + 2);

	const struct cli_command *cmd = command_find(name);
	if (!cmd) {
		fprintf(stderr, "cove: '%s' is not a cove command: see 'cove help'\n", name);
		return EXIT_USAGE;
	}

	struct cli c = { .command = cmd };
	struct error err = { 0 };
	int r = cli_parse(&c, argc - 2, argv + 2, &err);
	if (r >= 0 && cli_has(&c, OPT_HELP)) {
		help_command(cmd);
		cli_release(&c);
		return 0;
	}
	if (r >= 0)
		r = cli_api_open(&c.api, &err);
	if (r >= 0 && !cmd->no_auth)
		r = cli_api_need_token(c.api, &err);
	if (r >= 0)
		r = cmd->run(&c, &err);
	if (fflush(stdout) != 0 && r >= 0)
		r = error_set(&err, -EIO, "write the output: %m");
	cli_api_free(c.api);
	cli_release(&c);
	if (r >= 0)
		return r > 255 ? 255 : r; /* a command's own status (run -x, pg:psql) */
	fprintf(stderr, "cove: %s\n", err.message[0] ? err.message : strerror(-r));
	return cli_is_usage_error(&err) ? EXIT_USAGE : 1;
}
