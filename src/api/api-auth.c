/* SPDX-License-Identifier: MIT */
#include "api/api-auth.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/validate.h"

#define ADMIN_EMAIL "admin@cove.local"

/* The row sql finds for the hash of token, its one argument; -ENOENT (no message) when none. */
static int token_lookup(struct api_request *req, const char *token, const char *sql, struct store_rows **rows,
			struct error *err)
{
	char hash[CRYPTO_TOKEN_HASH_MAX];
	crypto_token_hash(token, hash);
	int r = api_query_row(req, sql, SV_ARGS(SV_TEXT(hash)), rows, err);
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int user_by_token(struct api_request *req, const char *token, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = token_lookup(req, token,
			     "SELECT u.id, u.email, u.is_admin FROM tokens t JOIN users u ON u.id = t.user_id"
			     " WHERE t.token_hash = ?",
			     &rows, err);
	if (r < 0)
		return r;
	snprintf(req->user.id, sizeof(req->user.id), "%s", store_rows_text(rows, 0));
	snprintf(req->user.email, sizeof(req->user.email), "%s", store_rows_text(rows, 1));
	req->user.is_admin = store_rows_int(rows, 2) != 0;
	req->authenticated = true;
	return 0;
}

static int host_by_token(struct api_request *req, const char *token, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = token_lookup(req, token, "SELECT id, name, regions FROM hosts WHERE token_hash = ?", &rows, err);
	if (r < 0)
		return r;
	snprintf(req->host.id, sizeof(req->host.id), "%s", store_rows_text(rows, 0));
	snprintf(req->host.name, sizeof(req->host.name), "%s", store_rows_text(rows, 1));
	snprintf(req->host.regions, sizeof(req->host.regions), "%s", store_rows_text(rows, 2));
	req->is_host = true;
	return 0;
}

/* Splits the Authorization header into a token, or a Basic user and password. */
static int parse_authorization(const char *h, char **ret_user, char **ret_secret)
{
	*ret_user = *ret_secret = NULL;
	if (!h)
		return -ENOENT;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		const char *t = h + 7 + strspn(h + 7, " ");
		if (!*t || strlen(t) > 512)
			return -EINVAL;
		*ret_secret = xstrdup(t);
		return 0;
	}
	if (strncasecmp(h, "Basic ", 6) == 0) {
		const char *b = h + 6 + strspn(h + 6, " ");
		_cleanup_free_ char *plain = NULL;
		if (strlen(b) > 2048 || crypto_base64_decode(b, &plain) < 0)
			return -EINVAL;
		char *colon = strchr(plain, ':');
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		*ret_user = xstrdup(plain);
		*ret_secret = xstrdup(colon + 1);
		return 0;
	}
	return -EINVAL;
}

int api_authenticate(struct api_request *req, bool host_first, struct error *err)
{
	_cleanup_free_ char *user = NULL, *secret = NULL;
	int r = parse_authorization(api_header(req, "Authorization"), &user, &secret);
	if (r == -ENOENT)
		return error_set(err, -EPERM, "authentication required: send 'Authorization: Bearer TOKEN' (see 'cove login')");
	if (r < 0)
		return error_set(err, -EPERM, "Authorization header is malformed");
	r = host_first ? host_by_token(req, secret, err) : user_by_token(req, secret, err);
	if (r == -ENOENT)
		r = host_first ? user_by_token(req, secret, err) : host_by_token(req, secret, err);
	if (r == -ENOENT)
		return error_set(err, -EPERM, "invalid credentials provided");
	return r;
}

int api_auth_secret(struct api_request *req, char **ret)
{
	_cleanup_free_ char *user = NULL;
	return parse_authorization(api_header(req, "Authorization"), &user, ret);
}

int api_require_platform_admin(struct api_request *req, struct error *err)
{
	if (!req->user.is_admin)
		return error_set(err, -EACCES, "only a platform administrator may do this");
	return 0;
}

int api_user_create(struct store *st, const char *email, const char *password, bool is_admin,
		    char ret_id[static ID_STRING_MAX], struct error *err)
{
	int r = validate_email(email, err);
	if (r < 0)
		return r;
	char hash[CRYPTO_PASSWORD_HASH_MAX] = "";
	if (password) {
		r = crypto_password_hash(password, hash, err);
		if (r < 0)
			return r;
	}
	int64_t n;
	r = store_query_int(st, "SELECT COUNT(*) FROM users WHERE email = ?", SV_ARGS(SV_TEXT(email)), &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return error_set(err, -EEXIST, "user '%s' already exists", email);
	char now[TIME_ISO_MAX];
	id_new(ret_id);
	time_now_iso(now);
	return store_exec(st,
			  "INSERT INTO users (id, email, password_hash, is_admin, created_at, updated_at)"
			  " VALUES (?, ?, ?, ?, ?, ?)",
			  SV_ARGS(SV_TEXT(ret_id), SV_TEXT(email), SV_TEXT(password ? hash : NULL), SV_BOOL(is_admin),
				  SV_TEXT(now), SV_TEXT(now)),
			  err);
}

int api_token_create(struct store *st, const char *user_id, const char *description, char ret_id[static ID_STRING_MAX],
		     char ret_token[static 65], struct error *err)
{
	char hash[CRYPTO_TOKEN_HASH_MAX], now[TIME_ISO_MAX];
	crypto_token_new(ret_token);
	crypto_token_hash(ret_token, hash);
	id_new(ret_id);
	time_now_iso(now);
	return store_exec(st,
			  "INSERT INTO tokens (id, user_id, token_hash, description, created_at, updated_at)"
			  " VALUES (?, ?, ?, ?, ?, ?)",
			  SV_ARGS(SV_TEXT(ret_id), SV_TEXT(user_id), SV_TEXT(hash), SV_TEXT(description ? description : ""),
				  SV_TEXT(now), SV_TEXT(now)),
			  err);
}

/* Writes data_dir/name holding the line secret, readable by its owner only. */
static int secret_write(const char *data_dir, const char *name, const char *secret, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", data_dir, name);
	_cleanup_free_ char *text = xasprintf("%s\n", secret);
	return file_write_atomic(path, text, strlen(text), 0600, err);
}

int api_bootstrap(struct store *st, const char *data_dir, bool *ret_created, struct error *err)
{
	*ret_created = false;
	int64_t n;
	int r = store_query_int(st, "SELECT COUNT(*) FROM users", SV_NONE, &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return 0;

	char password[33], id[ID_STRING_MAX], token_id[ID_STRING_MAX], token[65];
	crypto_random_hex(password, 16);
	r = store_begin(st, err);
	if (r < 0)
		return r;
	r = api_user_create(st, ADMIN_EMAIL, password, true, id, err);
	if (r >= 0)
		r = api_token_create(st, id, "admin token created at first start", token_id, token, err);
	if (r < 0) {
		store_rollback(st);
		return r;
	}
	/* The files are written before the commit: a crash in between leaves no user and the
	 * next start tries again, never a user whose token nobody has. */
	r = secret_write(data_dir, "admin.token", token, err);
	if (r >= 0)
		r = secret_write(data_dir, "admin.password", password, err);
	if (r < 0) {
		store_rollback(st);
		return r;
	}
	r = store_commit(st, err);
	if (r < 0)
		return r;
	log_info("created the administrator %s; token in %s/admin.token", ADMIN_EMAIL, data_dir);
	*ret_created = true;
	return 0;
}

/* ---- endpoints ------------------------------------------------------------------------- */

static json_t *user_json(struct store_rows *rows)
{
	/* columns: id, email, name, is_admin, created_at, updated_at, default_team */
	return json_pack("{s:s, s:s, s:o, s:b, s:s, s:s, s:o}", "id", store_rows_text(rows, 0), "email",
			 store_rows_text(rows, 1), "name", api_string_or_null(store_rows_text(rows, 2)), "admin",
			 (int)store_rows_int(rows, 3), "created_at", store_rows_text(rows, 4), "updated_at",
			 store_rows_text(rows, 5), "default_team", api_string_or_null(store_rows_text(rows, 6)));
}

#define USER_COLUMNS                                                                                            \
	"u.id, u.email, u.name, u.is_admin, u.created_at, u.updated_at,"                                         \
	" (SELECT name FROM teams WHERE id = u.default_team_id)"

static int account_get(struct api_request *req, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?",
			      SV_ARGS(SV_TEXT(req->user.id)), &rows, err);
	if (r <= 0)
		return r < 0 ? r : error_set(err, -ENOENT, "account not found");
	return api_reply(req, 200, user_json(rows));
}

static int account_update(struct api_request *req, struct error *err)
{
	const char *password, *current, *name;
	int r = api_body_string(req, "password", false, &password, err);
	if (r >= 0)
		r = api_body_string(req, "current_password", false, &current, err);
	if (r >= 0)
		r = api_body_string(req, "name", false, &name, err);
	if (r < 0)
		return r;
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	if (password) {
		_cleanup_free_ char *stored = NULL;
		r = store_query_text(req->store, "SELECT password_hash FROM users WHERE id = ?",
				     SV_ARGS(SV_TEXT(req->user.id)), &stored, err);
		if (r < 0)
			return r;
		if (stored && !crypto_password_verify(current ? current : "", stored))
			return error_set(err, -EACCES, "current password is wrong");
		char hash[CRYPTO_PASSWORD_HASH_MAX];
		r = crypto_password_hash(password, hash, err);
		if (r < 0)
			return r;
		r = store_exec(req->store, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(hash), SV_TEXT(now), SV_TEXT(req->user.id)), err);
		if (r < 0)
			return r;
	}
	if (name) {
		if (strlen(name) > 128)
			return error_set(err, -EINVAL, "name is too long: at most 128 characters");
		r = store_exec(req->store, "UPDATE users SET name = ?, updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_TEXT(name), SV_TEXT(now), SV_TEXT(req->user.id)), err);
		if (r < 0)
			return r;
	}
	api_set_action(req, "Update account %s", req->user.email);
	return account_get(req, err);
}

static json_t *authorization_json(const char *id, const char *token, const char *description, const char *created_at,
				  const char *user_id, const char *email)
{
	json_t *access = token ? json_pack("{s:s, s:s, s:n}", "id", id, "token", token, "expires_in")
			       : json_null();
	return json_pack("{s:s, s:o, s:s, s:[s], s:s, s:s, s:{s:s, s:s}, s:n, s:n}", "id", id, "access_token", access,
			 "description", description, "scope", "global", "created_at", created_at, "updated_at",
			 created_at, "user", "id", user_id, "email", email, "refresh_token", "client");
}

/*
 * POST /oauth/authorizations: a new token. With Basic e-mail:password this is how a user logs
 * in; with a token it makes another token for the same user.
 */
static int authorization_create(struct api_request *req, struct error *err)
{
	_cleanup_free_ char *user = NULL, *secret = NULL;
	int r = parse_authorization(api_header(req, "Authorization"), &user, &secret);
	if (r < 0)
		return error_set(err, -EPERM, "authentication required: send an e-mail and password (HTTP Basic) or a token");
	r = user_by_token(req, secret, err);
	if (r == -ENOENT && user) {
		_cleanup_rows_ struct store_rows *rows = NULL;
		r = api_query_row(req, "SELECT id, email, is_admin, password_hash FROM users WHERE email = ?",
				  SV_ARGS(SV_TEXT(user)), &rows, err);
		if (r < 0)
			return r;
		if (r == 0 || !crypto_password_verify(secret, store_rows_text(rows, 3)))
			return error_set(err, -EPERM, "invalid credentials provided");
		snprintf(req->user.id, sizeof(req->user.id), "%s", store_rows_text(rows, 0));
		snprintf(req->user.email, sizeof(req->user.email), "%s", store_rows_text(rows, 1));
		req->user.is_admin = store_rows_int(rows, 2) != 0;
		req->authenticated = true;
	} else if (r == -ENOENT) {
		return error_set(err, -EPERM, "invalid credentials provided");
	} else if (r < 0) {
		return r;
	}

	const char *description;
	r = api_body_string(req, "description", false, &description, err);
	if (r < 0)
		return r;
	if (description && strlen(description) > 256)
		return error_set(err, -EINVAL, "description is too long: at most 256 characters");
	char id[ID_STRING_MAX], token[65], now[TIME_ISO_MAX];
	r = api_token_create(req->store, req->user.id, description, id, token, err);
	if (r < 0)
		return r;
	api_set_action(req, "Create authorization for %s", req->user.email);
	return api_reply(req, 201,
			 authorization_json(id, token, description ? description : "", time_now_iso(now), req->user.id,
					    req->user.email));
}

static int authorization_list(struct api_request *req, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(req->store, "SELECT id, description, created_at FROM tokens WHERE user_id = ? ORDER BY created_at",
			    SV_ARGS(SV_TEXT(req->user.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, authorization_json(store_rows_text(rows, 0), NULL, store_rows_text(rows, 1),
							       store_rows_text(rows, 2), req->user.id, req->user.email));
	req->range_fields = "id,created_at";
	api_reply(req, 200, list);
	return r;
}

/* DELETE /oauth/authorizations/:id, where :id may also be "~" for the token in use. */
static int authorization_delete(struct api_request *req, struct error *err)
{
	const char *id = req->params[0];
	_cleanup_free_ char *token_id = NULL;
	int r;
	if (streq(id, "~")) {
		_cleanup_free_ char *user = NULL, *secret = NULL;
		parse_authorization(api_header(req, "Authorization"), &user, &secret);
		char hash[CRYPTO_TOKEN_HASH_MAX];
		crypto_token_hash(secret ? secret : "", hash);
		r = store_query_text(req->store, "SELECT id FROM tokens WHERE token_hash = ?", SV_ARGS(SV_TEXT(hash)),
				     &token_id, err);
	} else {
		r = store_query_text(req->store, "SELECT id FROM tokens WHERE id = ? AND user_id = ?",
				     SV_ARGS(SV_TEXT(id), SV_TEXT(req->user.id)), &token_id, err);
	}
	if (r == -ENOENT)
		return error_set(err, -ENOENT, "authorization '%s' not found", id);
	if (r < 0)
		return r;
	r = store_exec(req->store, "DELETE FROM tokens WHERE id = ?", SV_ARGS(SV_TEXT(token_id)), err);
	if (r < 0)
		return r;
	api_set_action(req, "Revoke authorization %s of %s", token_id, req->user.email);
	char now[TIME_ISO_MAX];
	return api_reply(req, 200, authorization_json(token_id, NULL, "", time_now_iso(now), req->user.id, req->user.email));
}

/* POST /users: a platform administrator creates an account (cove has no public sign-up). */
static int user_create(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	const char *email, *password;
	bool admin = false;
	r = api_body_string(req, "email", true, &email, err);
	if (r >= 0)
		r = api_body_string(req, "password", false, &password, err);
	if (r >= 0)
		r = api_body_bool(req, "admin", &admin, NULL, err);
	if (r < 0)
		return r;
	char id[ID_STRING_MAX];
	r = api_user_create(req->store, email, password, admin, id, err);
	if (r < 0)
		return r;
	api_set_action(req, "Create user %s", email);
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?", SV_ARGS(SV_TEXT(id)), &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : -EIO;
	return api_reply(req, 201, user_json(rows));
}

static int user_list(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " USER_COLUMNS " FROM users u ORDER BY u.email", SV_NONE, &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, user_json(rows));
	req->range_fields = "email,id";
	api_reply(req, 200, list);
	return r;
}

/*
 * PATCH /users/:user: a platform administrator sets another account's password (a reset, or
 * the first password of an account made without one) or administrator flag.
 */
static int user_update(struct api_request *req, struct error *err)
{
	int r = api_require_platform_admin(req, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = NULL;
	r = store_query_text(req->store, "SELECT id FROM users WHERE id = ? OR email = ?",
			     SV_ARGS(SV_TEXT(req->params[0]), SV_TEXT(req->params[0])), &id, err);
	if (r == -ENOENT)
		return error_set(err, -ENOENT, "user '%s' not found", req->params[0]);
	if (r < 0)
		return r;
	const char *password;
	bool admin, admin_set;
	r = api_body_string(req, "password", false, &password, err);
	if (r >= 0)
		r = api_body_bool(req, "admin", &admin, &admin_set, err);
	if (r < 0)
		return r;
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	if (password) {
		char hash[CRYPTO_PASSWORD_HASH_MAX];
		r = crypto_password_hash(password, hash, err);
		if (r >= 0)
			r = store_exec(req->store, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
				       SV_ARGS(SV_TEXT(hash), SV_TEXT(now), SV_TEXT(id)), err);
		if (r < 0)
			return r;
	}
	if (admin_set) {
		if (!admin && streq(id, req->user.id))
			return error_set(err, -EINVAL, "you cannot take away your own administrator rights");
		r = store_exec(req->store, "UPDATE users SET is_admin = ?, updated_at = ? WHERE id = ?",
			       SV_ARGS(SV_BOOL(admin), SV_TEXT(now), SV_TEXT(id)), err);
		if (r < 0)
			return r;
	}
	api_set_action(req, "Update user %s%s%s", req->params[0], password ? " (password)" : "",
		       admin_set ? (admin ? " (admin)" : " (not admin)") : "");
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?", SV_ARGS(SV_TEXT(id)), &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : -EIO;
	return api_reply(req, 200, user_json(rows));
}

const struct api_route api_account_routes[] = {
	{ "GET", "/account", account_get, 0 },
	{ "PATCH", "/account", account_update, 0 },
	{ "GET", "/users/~", account_get, 0 },
	{ "POST", "/oauth/authorizations", authorization_create, API_ROUTE_PUBLIC },
	{ "GET", "/oauth/authorizations", authorization_list, 0 },
	{ "DELETE", "/oauth/authorizations/:id", authorization_delete, 0 },
	{ "POST", "/users", user_create, 0 },
	{ "GET", "/users", user_list, 0 },
	{ "PATCH", "/users/:user", user_update, 0 },
	{},
};
