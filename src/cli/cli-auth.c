/* SPDX-License-Identifier: MIT */
/*
 * Accounts and credentials: login, logout, auth:token, auth:whoami, and the platform
 * administrator's users and users:create (cove has no public sign-up).
 *
 * `cove login` trades an e-mail and password (HTTP Basic) for a token at
 * POST /oauth/authorizations and keeps it in ~/.netrc; `cove logout` revokes that token with
 * DELETE /oauth/authorizations/~ and removes the entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli/cli-api.h"
#include "cli/cli-netrc.h"
#include "cli/cli-output.h"
#include "cli/cli-show.h"
#include "cli/cli.h"

static void secret_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, secret_free)
#define _cleanup_secret_ _cleanup_(secret_freep)

static int login_run(struct cli *c, struct error *err)
{
	_cleanup_free_ char *email_buf = NULL;
	_cleanup_secret_ char *password_buf = NULL;
	const char *email = cli_opt(c, OPT_EMAIL);
	const char *password = cli_opt(c, OPT_PASSWORD);
	int r;

	if (!email) {
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "Enter your login credentials for %s\n", cli_api_url(c->api));
		r = cli_prompt("Email: ", false, &email_buf, err);
		if (r < 0)
			return r;
		email = email_buf;
	}
	if (isempty(email))
		return cli_usage_error(err, "no e-mail address given");
	if (!password) {
		r = cli_prompt("Password: ", true, &password_buf, err);
		if (r < 0)
			return r;
		password = password_buf;
	}
	if (isempty(password))
		return cli_usage_error(err, "no password given");

	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	_cleanup_json_ json_t *body = json_pack("{s:s+}", "description", "cove CLI on ", host[0] ? host : "unknown host");
	_cleanup_json_ json_t *answer = NULL;
	r = cli_api_call(c->api,
			 &(struct cli_request){ .method = "POST",
						.path = "/oauth/authorizations",
						.body = body,
						.basic_user = email,
						.basic_password = password },
			 &answer, err);
	if (r < 0)
		return r;
	const char *token = cli_json_str(answer, "access_token.token");
	const char *who = cli_json_str(answer, "user.email");
	if (isempty(token))
		return error_set(err, -EBADMSG, "the API answered the login without a token");

	_cleanup_free_ char *path = cli_netrc_path();
	r = cli_netrc_set(path, cli_api_machine(c->api), who ? who : email, token, err);
	if (r < 0)
		return r;
	printf("Logged in as %s\n", who ? who : email);
	if (cli_api_token_source(c->api) == CLI_TOKEN_ENV)
		fprintf(stderr, "cove: warning: COVE_API_KEY is set and is used instead of this login\n");
	return 0;
}

static int logout_run(struct cli *c, struct error *err)
{
	_cleanup_free_ char *path = cli_netrc_path();
	_cleanup_free_ char *login = NULL;
	_cleanup_secret_ char *token = NULL;
	int r = cli_netrc_lookup(path, cli_api_machine(c->api), &login, &token, err);
	if (r == -ENOENT || (r >= 0 && isempty(token))) {
		error_clear(err);
		printf("Not logged in to %s\n", cli_api_machine(c->api));
		return 0;
	}
	if (r < 0)
		return r;
	long status;
	r = cli_api_call(c->api,
			 &(struct cli_request){ .method = "DELETE",
						.path = "/oauth/authorizations/~",
						.token = token,
						.ret_status = &status },
			 NULL, err);
	/* A token the API no longer knows is as good as revoked. */
	if (r < 0 && status != 401 && status != 404) {
		struct error why = *err;
		return error_set(err, r, "%s: still logged in", why.message);
	}
	error_clear(err);
	r = cli_netrc_remove(path, cli_api_machine(c->api), err);
	if (r < 0)
		return r;
	printf("Logging out... done\n");
	return 0;
}

static int token_run(struct cli *c, struct error *err)
{
	puts(cli_api_token(c->api));
	return 0;
}

static int whoami_run(struct cli *c, struct error *err)
{
	_cleanup_json_ json_t *account = NULL;
	int r = cli_get(c, "/account", &account, err);
	if (r < 0)
		return r;
	if (!cli_show_json(c, account))
		puts(cli_json_str(account, "email") ? cli_json_str(account, "email") : "");
	return 0;
}

static int authorizations_run(struct cli *c, struct error *err)
{
	static const struct cli_column columns[] = {
		{ "ID", "id" }, { "Description", "description" }, { "Created at", "created_at" },
	};
	return cli_show_list(c, "/oauth/authorizations", NULL, columns, ARRAY_SIZE(columns), err);
}

static int authorizations_revoke_run(struct cli *c, struct error *err)
{
	_cleanup_free_ char *path = cli_path("/oauth/authorizations/%s", c->args[0]);
	int r = cli_send(c, "DELETE", path, NULL, NULL, err);
	if (r < 0)
		return r;
	printf("Revoking authorization %s... done\n", c->args[0]);
	return 0;
}

static int users_run(struct cli *c, struct error *err)
{
	_cleanup_json_ json_t *users = NULL;
	int r = cli_get_show(c, "/users", &users, err);
	if (r <= 0)
		return r;
	_cleanup_table_ struct cli_table *t = cli_table_new(3, (const char *const[]){ "Email", "Role", "Default team" });
	size_t i;
	json_t *u;
	json_array_foreach(users, i, u)
		cli_table_add(t, cli_json_str(u, "email"), cli_json_true(u, "admin") ? "platform admin" : "user",
			      cli_json_str(u, "default_team"));
	cli_table_print(t);
	return 0;
}

static int users_create_run(struct cli *c, struct error *err)
{
	const char *email = c->args[0];
	bool admin = cli_has(c, OPT_ADMIN);
	_cleanup_json_ json_t *body = json_pack("{s:s, s:b}", "email", email, "admin", admin);
	if (cli_opt(c, OPT_PASSWORD))
		json_object_set_new(body, "password", json_string(cli_opt(c, OPT_PASSWORD)));
	_cleanup_json_ json_t *user = NULL;
	int r = cli_send(c, "POST", "/users", body, &user, err);
	if (r < 0)
		return r;
	if (cli_show_json(c, user))
		return 0;
	printf("Creating %s %s... done\n", admin ? "platform administrator" : "user", cli_json_str(user, "email"));
	if (!cli_opt(c, OPT_PASSWORD))
		printf("Note: %s has no password, so cannot log in\n", cli_json_str(user, "email"));
	return 0;
}

const struct cli_command cli_auth_commands[] = {
	{ "login", login_run, CLI_FLAG(OPT_EMAIL) | CLI_FLAG(OPT_PASSWORD), 0, 0, NULL,
	  "log in with an e-mail and password; keeps a token in ~/.netrc",
	  "cove login\ncove login --email dev@acme.test < password.txt", .no_auth = true },
	{ "auth:login", login_run, CLI_FLAG(OPT_EMAIL) | CLI_FLAG(OPT_PASSWORD), 0, 0, NULL, NULL, NULL, .no_auth = true,
	  .hidden = true },
	{ "logout", logout_run, 0, 0, 0, NULL, "revoke the token of ~/.netrc and remove it", "cove logout",
	  .no_auth = true },
	{ "auth:logout", logout_run, 0, 0, 0, NULL, NULL, NULL, .no_auth = true, .hidden = true },
	{ "auth:token", token_run, 0, 0, 0, NULL, "print the token the CLI uses", "cove auth:token" },
	{ "auth:whoami", whoami_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, "print the e-mail address of the account in use",
	  "cove auth:whoami" },
	{ "whoami", whoami_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, NULL, NULL, .hidden = true },
	{ "authorizations", authorizations_run, CLI_FLAG(OPT_JSON), 0, 0, NULL,
	  "list your tokens (each login makes one)", "cove authorizations" },
	{ "authorizations:revoke", authorizations_revoke_run, 0, 1, 1, "ID", "revoke one of your tokens",
	  "cove authorizations:revoke 01234567-89ab-cdef-0123-456789abcdef" },
	{ "users", users_run, CLI_FLAG(OPT_JSON), 0, 0, NULL, "list the accounts (platform administrators)",
	  "cove users" },
	{ "users:create", users_create_run, CLI_FLAG(OPT_PASSWORD) | CLI_FLAG(OPT_ADMIN) | CLI_FLAG(OPT_JSON), 1, 1,
	  "EMAIL [--password PASSWORD] [--admin]", "create an account (platform administrators)",
	  "cove users:create dev@acme.test --password 'correct horse battery'" },
	{},
};
