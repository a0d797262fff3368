/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Who is calling: API tokens, passwords, the first admin, and the account endpoints
 * (/account, /oauth/authorizations, /users).
 *
 * A request authenticates with `Authorization: Bearer TOKEN`, or with HTTP Basic where the
 * password is a token (as Heroku's git does; the user name is ignored). Only
 * POST /oauth/authorizations also takes Basic with an e-mail and a password, to log in.
 */

#include "api/api.h"
#include "store/store.h"

/*
 * Sets req->user (or req->host, for a host token) from the Authorization header; -EPERM (401)
 * when missing or wrong. host_first: hosts' tokens are looked up first (the /agent routes,
 * called many times a second by agents).
 */
int api_authenticate(struct api_request *req, bool host_first, struct error *err);

/*
 * The token the request authenticated with (Bearer, or the password of Basic), for the git
 * server to hand to the build of a push; *ret is freed by the caller. -ENOENT without one.
 */
int api_auth_secret(struct api_request *req, char **ret);

/* -EACCES (403) unless the caller is a platform administrator. */
int api_require_platform_admin(struct api_request *req, struct error *err);

/*
 * On the first start (no user yet): creates the platform administrator admin@cove.local with
 * a random password and a token, and writes the token to DATA_DIR/admin.token (mode 0600).
 * Does nothing when a user exists. *ret_created tells whether it did something.
 */
int api_bootstrap(struct store *st, const char *data_dir, bool *ret_created, struct error *err);

/*
 * Creates a user (inside the caller's transaction). password may be NULL for an account that
 * can only use tokens. ret_id receives the new id.
 */
int api_user_create(struct store *st, const char *email, const char *password, bool is_admin,
		    char ret_id[static ID_STRING_MAX], struct error *err);

/* Creates a token for a user (inside the caller's transaction); ret_token gets the secret. */
int api_token_create(struct store *st, const char *user_id, const char *description, char ret_id[static ID_STRING_MAX],
		     char ret_token[static 65], struct error *err);
