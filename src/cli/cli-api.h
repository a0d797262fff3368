/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The CLI's client of the cove API (the Heroku Platform API v3) over libcurl: one connection
 * reused for every request of a run, JSON in and out through jansson, and the API's error
 * body {"id", "message"} turned into a struct error.
 *
 * Where it talks to: $COVE_API_URL; else, with $COVE_DATA_DIR (the data directory of a local
 * coved), the URL that coved wrote there (run/api-tls.url, else run/api.url); else
 * http://127.0.0.1:5000. With what: $COVE_API_KEY, else the password of the ~/.netrc entry
 * whose machine is the URL's host:port (what `cove login` writes). The token is sent only as
 * `Authorization: Bearer` and never printed.
 *
 * Whom it trusts over HTTPS: the CA certificates in $COVE_CA_FILE; else, with $COVE_DATA_DIR,
 * the local CA of that coved (tls/ca.pem), so a local coved's own certificate just works; else
 * the system's trust store (docs/operations.md, "TLS").
 *
 * Answers are read up to CLI_API_ANSWER_MAX bytes; a larger one is an error, not a cut.
 */

#include <jansson.h>
#include <stdio.h>

#include "base/error.h"
#include "cli/cli.h"

#define CLI_API_URL_DEFAULT "http://127.0.0.1:5000"
#define CLI_API_ANSWER_MAX (16 * 1024 * 1024)

enum cli_token_source {
	CLI_TOKEN_NONE,
	CLI_TOKEN_ENV,   /* $COVE_API_KEY */
	CLI_TOKEN_NETRC, /* ~/.netrc */
};

struct cli_api;

/*
 * Reads the URL and the credentials and prepares the connection (nothing is sent yet).
 * Fails only on a malformed URL or an unreadable netrc.
 */
int cli_api_open(struct cli_api **ret, struct error *err);
void cli_api_free(struct cli_api *api);

/* The CA file HTTPS is verified with (see above), or NULL for the system's. */
const char *cli_api_ca_file(const struct cli_api *api);
/* Makes a libcurl handle (CURL *) of another request of this run trust what the API's does. */
void cli_api_curl_tls(const struct cli_api *api, void *curl);

/* "http://127.0.0.1:5000", without a trailing slash. */
const char *cli_api_url(const struct cli_api *api);
/* The netrc machine of the URL: "127.0.0.1:5000" (the host alone when the URL has no port). */
const char *cli_api_machine(const struct cli_api *api);
/* The token, or NULL when there is none; and where it came from. */
const char *cli_api_token(const struct cli_api *api);
enum cli_token_source cli_api_token_source(const struct cli_api *api);

/* Fails with a clear message when there is no token to send. */
int cli_api_need_token(const struct cli_api *api, struct error *err);

struct cli_request {
	const char *method;
	const char *path;          /* from the API root, "/apps/myapp"; see cli_path() */
	json_t *body;              /* sent as JSON when not NULL; stays the caller's */
	const char *upload_path;   /* a file sent as the body instead (slugs), streamed */
	const char *range;         /* Range header: "version ..; max=1, order=desc" */
	const char *expand;        /* Accept-Expansion header */
	const char *basic_user;    /* with basic_password: HTTP Basic instead of the token */
	const char *basic_password;
	const char *token;         /* a token to send instead of the one found at open */
	long *ret_status;          /* when not NULL, receives the HTTP status (0 without answer) */
	char **ret_text;           /* when not NULL, a 2xx body is not JSON but text, kept here */
	FILE *ret_file;            /* when not NULL, a 2xx body is written here, streamed, without limit */
};

/*
 * Sends a request and waits for the answer. On a 2xx status, *ret (when ret is not NULL)
 * receives the JSON body, or JSON null for an empty one. Otherwise it fails with the API's
 * message and id in err and a code for the status (404 -ENOENT, 403 -EACCES, 401 -EPERM,
 * 409 -EEXIST, 422 -EINVAL, ...), or -EHOSTUNREACH when the API cannot be reached.
 */
int cli_api_call(struct cli_api *api, const struct cli_request *rq, json_t **ret, struct error *err);

/*
 * Sets the options every connection to the API needs (user agent, timeouts, protocols, TLS)
 * on a libcurl easy handle (a CURL *), for connections made outside cli_api_call() (the
 * bastion's tunnels, cli-tunnel.c).
 */
void cli_api_setup_handle(struct cli_api *api, void *handle);

/* Turns an error answer (its status and body) into err, as cli_api_call() does. */
int cli_api_answer_error(struct cli_api *api, long status, const char *body, size_t len, struct error *err);

/* Shorthands of cli_api_call() for the common cases. */
int cli_get(struct cli *c, const char *path, json_t **ret, struct error *err);
int cli_send(struct cli *c, const char *method, const char *path, json_t *body, json_t **ret, struct error *err);

/*
 * Builds a request path from a format whose only conversion is %s: every argument is
 * percent-encoded as one path segment, so a name with '/' or '?' cannot change the route.
 * The caller frees the result.
 */
char *cli_path(const char *fmt, ...);
