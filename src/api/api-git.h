/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Git over smart HTTP, as Heroku's git serves it. Each app has a bare repository,
 * DATA_DIR/repos/<app id>.git, at /<app>.git: fetched and pushed with git's real protocol by
 * git's own `git http-backend`, run as a CGI child process. HTTP Basic authenticates, the
 * password being an API token and the user name anything; only users with access to the app
 * may fetch or push. A push runs the app's build in the repository's pre-receive hook
 * (`coved receive-hook`, src/build/build.h), whose output reaches the pusher as `remote:`
 * lines; a failed build rejects the push.
 *
 * api-http.c hands every request whose path is a repository's (api_git_path()) to this
 * module, which answers it itself: the body is not JSON and the answer is a stream. The
 * design note atop api-git.c tells how a push that builds for minutes leaves the API's one
 * thread free.
 */

#include <microhttpd.h>
#include <stdbool.h>

#include "api/api.h"

/* The git server of one API. */
struct api_git;
/* One request to a repository. */
struct api_git_conn;

/*
 * Starts the git server of api: writes the pre-receive hook (DATA_DIR/hooks), marks the
 * builds a stopped coved left pending as failed, and starts the thread that wakes suspended
 * connections. The store stays the caller's; it is used on the API's thread only.
 */
int api_git_new(struct api *api, struct store *store, struct api_git **ret, struct error *err);

/*
 * Stops it: ends the CGI processes still running (and the builds under them) and resumes
 * every suspended connection, so that the HTTP server may stop. Call before MHD_stop_daemon(),
 * and api_git_free() after it (the server frees its connections through this module).
 */
void api_git_stop(struct api_git *g);
void api_git_free(struct api_git *g);

/* True when url is a repository's: "/<name>.git" or below. */
bool api_git_path(const char *url);

/* The first call of a request to a repository: checks the route and the caller. */
struct api_git_conn *api_git_conn_new(struct api_git *g, struct MHD_Connection *conn, const char *url,
				      const char *method);

/* Every call of the request, the first too, as libmicrohttpd's access handler has them. */
enum MHD_Result api_git_conn_request(struct api_git_conn *c, const char *upload_data, size_t *upload_data_size);

/* The request is over (answered, or the client went away): frees it, ends its CGI if needed. */
void api_git_conn_free(struct api_git_conn *c);

/*
 * True when push_id names a push to app_id that is still open: the build API accepts the
 * builds of a push only from its own receive hook, which alone knows the id.
 */
bool api_git_push_active(const char *push_id, const char *app_id);
