/* SPDX-License-Identifier: MIT */
/*
 * Slugs: the built, runnable form of an app (a tarball of /app) and its process types.
 * POST /apps/:app/slugs records the process types and returns where the tarball goes;
 * POST /apps/:app/releases {"slug": id} releases it. This is the Platform API's way to
 * release without git.
 */
#include <ctype.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "api/api-apps.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/timeutil.h"

#define PROCESS_TYPE_MAX 30
#define PROCESS_COMMAND_MAX 4096
#define PROCESS_TYPES_MAX 30

static int validate_process_types(json_t *types, struct error *err)
{
	if (!json_is_object(types))
		return error_set(err, -EINVAL, "'process_types' must be an object of type -> command");
	if (json_object_size(types) > PROCESS_TYPES_MAX)
		return error_set(err, -EINVAL, "'process_types' has too many types: at most %d", PROCESS_TYPES_MAX);
	const char *type;
	json_t *command;
	json_object_foreach(types, type, command)
	{
		size_t len = strlen(type);
		bool ok = len > 0 && len <= PROCESS_TYPE_MAX && islower((unsigned char)type[0]);
		for (size_t i = 0; ok && i < len; i++)
			ok = islower((unsigned char)type[i]) || isdigit((unsigned char)type[i]) || type[i] == '_' ||
			     type[i] == '-';
		if (!ok)
			return error_set(err, -EINVAL,
					 "process type '%.40s' is invalid: lower-case letters, digits, '_' and '-', "
					 "starting with a letter, at most %d characters",
					 type, PROCESS_TYPE_MAX);
		if (!json_is_string(command) || json_string_length(command) == 0 ||
		    json_string_length(command) > PROCESS_COMMAND_MAX)
			return error_set(err, -EINVAL, "command of process type '%s' must be a string of 1 to %d characters",
					 type, PROCESS_COMMAND_MAX);
	}
	return 0;
}

static json_t *slug_json(struct api_request *req, const struct app *app, struct store_rows *rows)
{
	/* columns: id, process_types, commit_sha, commit_description, checksum, size, stack, created_at, updated_at */
	json_t *types = json_loads(store_rows_text(rows, 1), 0, NULL);
	_cleanup_free_ char *blob = xasprintf("%s/apps/%s/slugs/%s/blob", api_url(req->api), app->id, store_rows_text(rows, 0));
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:{s:s}, s:{s:s, s:s}, s:s, s:s, s:s}", "id",
			 store_rows_text(rows, 0), "process_types", types ? types : json_object(), "commit",
			 api_string_or_null(store_rows_text(rows, 2)), "commit_description",
			 api_string_or_null(store_rows_text(rows, 3)), "checksum", api_string_or_null(store_rows_text(rows, 4)),
			 "size", store_rows_is_null(rows, 5) ? json_null() : json_integer(store_rows_int(rows, 5)), "stack",
			 "name", store_rows_text(rows, 6), "blob", "method", "PUT", "url", blob,
			 "buildpack_provided_description", "cove", "created_at", store_rows_text(rows, 7), "updated_at",
			 store_rows_text(rows, 8));
}

static int slug_reply(struct api_request *req, const struct app *app, const char *id, int status, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req,
			      "SELECT id, process_types, commit_sha, commit_description, checksum, size, stack, created_at,"
			      " updated_at FROM slugs WHERE app_id = ? AND id = ?",
			      SV_ARGS(SV_TEXT(app->id), SV_TEXT(id)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "slug '%s' of app '%s' not found", id, app->name);
	return api_reply(req, status, slug_json(req, app, rows));
}

static int slug_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	json_t *types = req->body ? json_object_get(req->body, "process_types") : NULL;
	if (!types)
		return error_set(err, -EINVAL, "'process_types' is required");
	r = validate_process_types(types, err);
	if (r < 0)
		return r;
	const char *commit, *commit_description, *checksum, *stack;
	r = api_body_string(req, "commit", false, &commit, err);
	if (r >= 0)
		r = api_body_string(req, "commit_description", false, &commit_description, err);
	if (r >= 0)
		r = api_body_string(req, "checksum", false, &checksum, err);
	if (r >= 0)
		r = api_body_ref(req, "stack", false, &stack, err);
	if (r < 0)
		return r;
	if ((commit && strlen(commit) > 64) || (commit_description && strlen(commit_description) > 1024) ||
	    (checksum && strlen(checksum) > 128))
		return error_set(err, -EINVAL, "commit, commit_description or checksum is too long");
	_cleanup_free_ char *types_text = json_dumps(types, JSON_COMPACT | JSON_SORT_KEYS);
	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	time_now_iso(now);
	r = store_exec(req->store,
		       "INSERT INTO slugs (id, app_id, process_types, commit_sha, commit_description, checksum, stack,"
		       " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(a.id), SV_TEXT(types_text), SV_TEXT(commit), SV_TEXT(commit_description),
			       SV_TEXT(checksum), SV_TEXT(stack ? stack : a.stack), SV_TEXT(now), SV_TEXT(now)),
		       err);
	if (r < 0)
		return r;
	api_set_action(req, "Create slug %s for %s", id, a.name);
	return slug_reply(req, &a, id, 201, err);
}

static int slug_info(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	return slug_reply(req, &a, req->params[1], 200, err);
}

/* SHA256:<hex> of a file, as the Platform API shows slug checksums. */
static int file_sha256(const char *path, char ret[static 8 + 2 * crypto_hash_sha256_BYTES + 1], struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "open '%s': %m", path);
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(err, -errno, "read '%s': %m", path);
		if (n == 0)
			break;
		crypto_hash_sha256_update(&st, buf, (size_t)n);
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, h);
	memcpy(ret, "SHA256:", 7);
	sodium_bin2hex(ret + 7, 2 * sizeof(h) + 1, h, sizeof(h));
	return 0;
}

/* PUT /apps/:app/slugs/:slug/blob: the slug's tarball (gzip), stored once under DATA_DIR/slugs. */
static int slug_upload(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = NULL;
	r = store_query_text(req->store, "SELECT id FROM slugs WHERE app_id = ? AND id = ?",
			     SV_ARGS(SV_TEXT(a.id), SV_TEXT(req->params[1])), &id, err);
	if (r == -ENOENT)
		return error_set(err, -ENOENT, "slug '%s' of app '%s' not found", req->params[1], a.name);
	if (r < 0)
		return r;
	unsigned char magic[2] = { 0 };
	_cleanup_close_ int fd = open(req->upload_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, magic, 2) != 2 || magic[0] != 0x1f || magic[1] != 0x8b)
		return error_set(err, -EINVAL, "slug must be a gzipped tarball (.tgz) containing ./app");
	char checksum[8 + 2 * crypto_hash_sha256_BYTES + 1];
	r = file_sha256(req->upload_path, checksum, err);
	if (r < 0)
		return r;
	const struct api_config *cfg = api_get_config(req->api);
	_cleanup_free_ char *dir = xasprintf("%s/slugs", cfg->data_dir);
	_cleanup_free_ char *path = xasprintf("%s/%s.tgz", dir, id);
	r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	char now[TIME_ISO_MAX];
	r = store_exec(req->store, "UPDATE slugs SET size = ?, checksum = ?, updated_at = ? WHERE id = ?",
		       SV_ARGS(SV_INT((int64_t)req->upload_size), SV_TEXT(checksum), SV_TEXT(time_now_iso(now)), SV_TEXT(id)),
		       err);
	if (r < 0)
		return r;
	/* The file moves in place last: if the commit then fails, a tarball without a change of
	 * metadata is harmless, the reverse would not be. */
	if (rename(req->upload_path, path) < 0)
		return error_set(err, -errno, "store slug '%s': %m", id);
	api_set_action(req, "Upload slug %s of %s (%zu bytes)", id, a.name, req->upload_size);
	return slug_reply(req, &a, id, 200, err);
}

const struct api_route api_slug_routes[] = {
	{ "PUT", "/apps/:app/slugs/:slug/blob", slug_upload, API_ROUTE_UPLOAD },
	{ "POST", "/apps/:app/slugs", slug_create, 0 },
	{ "GET", "/apps/:app/slugs/:slug", slug_info, 0 },
	{},
};
