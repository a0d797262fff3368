/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backups (docs/addons.md, "Backups"): captures with pg_dump -Fc and restores with
 * pg_restore, run by coved itself into the add-on's space.
 *
 * Design note. A capture or a restore is a row of pg_backups ("running") and a job: a detached
 * thread that spawns `ip netns exec cove-s-<space> pg_dump|pg_restore` (the space's namespace
 * routes to the add-on's address; the password goes in PGPASSWORD, never in argv) and waits
 * for it, so the API's one thread never blocks. The store belongs to the API's thread: a job
 * that ends puts its result on `done`, and jobs_flush() writes it to the row when a backup
 * route is next called (the CLI polls the backup until it is no longer running) or at the next
 * tick. A row still "running" without a job (coved stopped meanwhile) is failed by the flush.
 * Daily schedules (pg_backup_schedules) are served by the tick, on the API's ticker thread
 * under the API's lock, with the same capture as the route's.
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api-pg-backups.h"

#include <ctype.h>
#include <time.h>

#include "api/api-addons.h"
#include "api/api-apps.h"
#include "api/api-audit.h"
#include "base/alloc.h"
#include "base/timeutil.h"

extern char **environ;

#define BACKUP_ERROR_MAX 400

struct backup_job {
	char id[ID_STRING_MAX];
	char *argv[24];
	char password[80];
	char dump[512];    /* the dump written (capture) or read (restore) */
	char log[512];     /* the child's stderr */
	bool capture;
	/* The result, once done. */
	bool ok;
	int64_t size;
	char error[BACKUP_ERROR_MAX];
	struct backup_job *next;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct backup_job *jobs_running; /* under jobs_lock */
static struct backup_job *jobs_done;    /* under jobs_lock */

static void job_free(struct backup_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; j->argv[i]; i++)
		free(j->argv[i]);
	explicit_bzero(j->password, sizeof(j->password));
	free(j);
}

/* The last line the child wrote to stderr (what pg_dump says when it fails), else `fallback`. */
static void job_read_error(struct backup_job *j, const char *fallback)
{
	char buf[4096] = "";
	int fd = open(j->log, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	size_t len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	const char *last = strrchr(buf, '\n');
	last = last ? last + 1 : buf;
	snprintf(j->error, sizeof(j->error), "%.*s", (int)sizeof(j->error) - 1, *last ? last : fallback);
}

static void job_end(struct backup_job *j);

static void *job_run(void *arg)
{
	struct backup_job *j = arg;
	_cleanup_free_ char *pgpass = xasprintf("PGPASSWORD=%s", j->password);
	char *envp[] = { pgpass, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PGCONNECT_TIMEOUT=10", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, j->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int r = posix_spawn(&pid, j->argv[0], &fa, NULL, j->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	explicit_bzero(pgpass, strlen(pgpass));
	int status = 0;
	if (r != 0) {
		snprintf(j->error, sizeof(j->error), "start '%s': %s", j->argv[0], strerror(r));
	} else {
		pid_t w;
		while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
		const char *what = j->capture ? "pg_dump" : "pg_restore";
		char fallback[128];
		if (w < 0) {
			/* Not ours to lose: coved's main thread reaps only the children it is handed. */
			snprintf(fallback, sizeof(fallback), "wait for %s: %s", what, strerror(errno));
			job_read_error(j, fallback);
		} else if (!(j->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			snprintf(fallback, sizeof(fallback), "%s exited with status %d", what,
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			job_read_error(j, fallback);
		}
	}
	struct stat st;
	if (j->ok && j->capture) {
		if (stat(j->dump, &st) < 0)
			j->ok = false, snprintf(j->error, sizeof(j->error), "the dump is missing: %s", strerror(errno));
		else if (!S_ISREG(st.st_mode))
			j->ok = false, snprintf(j->error, sizeof(j->error), "the dump is not a file");
		else
			j->size = st.st_size;
	}
	if (!j->ok && j->capture)
		unlink(j->dump);
	unlink(j->log);
	job_end(j);
	return NULL;
}

/* Moves a job from the running list to the done list, for jobs_flush(). */
static void job_end(struct backup_job *j)
{
	pthread_mutex_lock(&jobs_lock);
	for (struct backup_job **p = &jobs_running; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	j->next = jobs_done;
	jobs_done = j;
	pthread_mutex_unlock(&jobs_lock);
}

static void job_start(struct backup_job *j)
{
	pthread_mutex_lock(&jobs_lock);
	j->next = jobs_running;
	jobs_running = j;
	pthread_mutex_unlock(&jobs_lock);
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &attr, job_run, j);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		/* No worker: the job ends at once, failed, the way job_run() ends one. */
		snprintf(j->error, sizeof(j->error), "start a worker: %s", strerror(r));
		job_end(j);
	}
}

/* Writes the results of ended jobs to their rows; fails rows whose job is gone. */
static void jobs_flush(struct api_request *req)
{
	pthread_mutex_lock(&jobs_lock);
	struct backup_job *done = jobs_done;
	jobs_done = NULL;
	pthread_mutex_unlock(&jobs_lock);
	char now[TIME_ISO_MAX];
	time_now_iso(now);
	struct error err = { 0 };
	while (done) {
		struct backup_job *j = done;
		done = j->next;
		store_exec(req->store, "UPDATE pg_backups SET status = ?, size = ?, error = ?, finished_at = ? WHERE id = ?",
			   SV_ARGS(SV_TEXT(j->ok ? "completed" : "failed"), SV_INT(j->size),
				   j->ok ? SV_NULL : SV_TEXT(j->error), SV_TEXT(now), SV_TEXT(j->id)),
			   &err);
		job_free(j);
	}
	_cleanup_rows_ struct store_rows *rows = NULL;
	if (store_query(req->store, "SELECT id FROM pg_backups WHERE status = 'running'", NULL, 0, &rows, &err) < 0)
		return;
	while (store_rows_next(rows, &err) > 0) {
		const char *id = store_rows_text(rows, 0);
		bool known = false;
		pthread_mutex_lock(&jobs_lock);
		for (struct backup_job *j = jobs_running; j; j = j->next)
			known |= streq(j->id, id);
		pthread_mutex_unlock(&jobs_lock);
		if (!known)
			store_exec(req->store,
				   "UPDATE pg_backups SET status = 'failed', error = 'interrupted: coved stopped', finished_at = ?"
				   " WHERE id = ?",
				   SV_ARGS(SV_TEXT(now), SV_TEXT(id)), &err);
	}
}

#define BACKUP_COLUMNS                                                                                              \
	"b.id, b.kind, b.num, b.addon_id, b.addon_name, b.status, b.size, b.error, b.user_email, b.created_at,"     \
	" b.finished_at, (SELECT c.num FROM pg_backups c WHERE c.id = b.backup_id)"

static void backup_name(const char *kind, int64_t num, char ret[static 24])
{
	snprintf(ret, 24, "%c%03lld", streq(kind, "capture") ? 'b' : 'r', (long long)num);
}

static json_t *backup_json(struct store_rows *rows)
{
	char name[24];
	backup_name(store_rows_text(rows, 1), store_rows_int(rows, 2), name);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:s, s:s, s:o}", "id", store_rows_text(rows, 0),
			      "name", name, "kind", store_rows_text(rows, 1),
			      "addon", api_ref_json(store_rows_text(rows, 3), store_rows_text(rows, 4)), "status",
			      store_rows_text(rows, 5), "size", (json_int_t)store_rows_int(rows, 6), "error",
			      api_string_or_null(store_rows_text(rows, 7)), "user_email", store_rows_text(rows, 8),
			      "created_at", store_rows_text(rows, 9), "finished_at",
			      api_string_or_null(store_rows_text(rows, 10)));
	if (!store_rows_is_null(rows, 11)) {
		char from[24];
		backup_name("capture", store_rows_int(rows, 11), from);
		json_object_set_new(o, "backup", json_string(from));
	}
	return o;
}

/*
 * A backup of the app by id or by name (b001, r001; case-insensitive, as Heroku's); NULL ref:
 * the latest completed capture. Its row in *rows.
 */
static int backup_find(struct api_request *req, const struct app *app, const char *ref, struct store_rows **rows,
		       struct error *err)
{
	int r;
	if (!ref) {
		r = store_query(req->store,
				"SELECT " BACKUP_COLUMNS " FROM pg_backups b WHERE b.app_id = ? AND b.kind = 'capture'"
				" AND b.status = 'completed' ORDER BY b.num DESC LIMIT 1",
				SV_ARGS(SV_TEXT(app->id)), rows, err);
	} else {
		char kind = (char)(ref[0] | 0x20);
		char *end = NULL;
		long num = (kind == 'b' || kind == 'r') && ref[1] ? strtol(ref + 1, &end, 10) : 0;
		bool by_name = end && !*end && num > 0;
		r = store_query(req->store,
				"SELECT " BACKUP_COLUMNS " FROM pg_backups b WHERE b.app_id = ? AND (b.id = ?"
				" OR (b.kind = ? AND b.num = ?))",
				SV_ARGS(SV_TEXT(app->id), SV_TEXT(ref), SV_TEXT(kind == 'r' ? "restore" : "capture"),
					SV_INT(by_name ? num : -1)),
				rows, err);
	}
	if (r >= 0)
		r = store_rows_next(*rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return ref ? error_set_id(err, -ENOENT, "not_found", "backup '%.32s' of '%s' not found: see `cove pg:backups -a %s`",
					  ref, app->name, app->name)
			   : error_set_id(err, -ENOENT, "not_found", "app '%s' has no completed backup: capture one with"
								     " `cove pg:backups:capture -a %s`",
					  app->name, app->name);
	return 0;
}

static char *dump_path(struct api_request *req, const char *addon_id, const char *name)
{
	return xasprintf("%s/backups/%s/%s.dump", api_get_config(req->api)->data_dir, addon_id, name);
}

/* Inserts the row of a new capture or restore, running; its name in ret_name. */
static int backup_insert(struct api_request *req, const struct app *app, const struct addon_endpoint *ep,
			 const char *kind, const char *backup_id, char ret_id[static ID_STRING_MAX], char ret_name[static 24],
			 struct error *err)
{
	int64_t num = 0;
	int r = store_query_int(req->store, "SELECT COALESCE(MAX(num), 0) + 1 FROM pg_backups WHERE app_id = ? AND kind = ?",
				SV_ARGS(SV_TEXT(app->id), SV_TEXT(kind)), &num, err);
	if (r < 0)
		return r;
	char now[TIME_ISO_MAX];
	id_new(ret_id);
	backup_name(kind, num, ret_name);
	return store_exec(req->store,
			  "INSERT INTO pg_backups (id, app_id, kind, num, addon_id, addon_name, backup_id, status, user_email,"
			  " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
			  SV_ARGS(SV_TEXT(ret_id), SV_TEXT(app->id), SV_TEXT(kind), SV_INT(num), SV_TEXT(ep->id),
				  SV_TEXT(ep->name), backup_id ? SV_TEXT(backup_id) : SV_NULL, SV_TEXT(req->user.email),
				  SV_TEXT(time_now_iso(now))),
			  err);
}

static int backup_reply(struct api_request *req, const struct app *app, const char *id, int status, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = backup_find(req, app, id, &rows, err);
	if (r < 0)
		return r;
	return api_reply(req, status, backup_json(rows));
}

static struct backup_job *job_new(const char *id, const struct addon_endpoint *ep, bool capture, const char *dump,
				  const char *log)
{
	struct backup_job *j = xmalloc(sizeof(*j));
	*j = (struct backup_job){ .capture = capture };
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->password, sizeof(j->password), "%s", ep->password);
	snprintf(j->dump, sizeof(j->dump), "%s", dump);
	snprintf(j->log, sizeof(j->log), "%s", log);
	size_t n = 0;
	const char *common[] = { "/usr/bin/ip", "netns", "exec", ep->netns, capture ? "pg_dump" : "pg_restore",
				 "--no-password", "-h", ep->private_ip, "-U", ep->username, "-d", ep->database };
	for (size_t i = 0; i < ARRAY_SIZE(common); i++)
		j->argv[n++] = xstrdup(common[i]);
	j->argv[n++] = xasprintf("--port=%u", ep->port);
	if (capture) {
		j->argv[n++] = xstrdup("--format=custom");
		j->argv[n++] = xstrdup("--no-owner");
		j->argv[n++] = xasprintf("--file=%s", dump);
	} else {
		j->argv[n++] = xstrdup("--clean");
		j->argv[n++] = xstrdup("--if-exists");
		j->argv[n++] = xstrdup("--no-owner");
		j->argv[n++] = xstrdup("--no-acl");
		j->argv[n++] = xstrdup("--exit-on-error");
		j->argv[n++] = xstrdup("--single-transaction");
		j->argv[n++] = xstrdup(dump);
	}
	j->argv[n] = NULL;
	return j;
}

/* The add-on a backup route names (body "addon", or the app's DATABASE), provisioned. */
static int pg_endpoint(struct api_request *req, const struct app *app, const char *ref, struct addon_endpoint *ep,
		       struct error *err)
{
	int r = api_addon_endpoint(req, app->id, ref, ADDON_POSTGRESQL, ep, err);
	if (r < 0)
		return r;
	if (!streq(ep->state, "provisioned"))
		return error_set(err, -EINVAL, "add-on '%s' of '%s' is %s: try again when it is provisioned", ep->name,
				 app->name, ep->state);
	return 0;
}

/* Starts a capture of ep for app: its row, its directory and its job; its id in ret_id. */
static int capture_start(struct api_request *req, const struct app *app, const struct addon_endpoint *ep,
			 char ret_id[static ID_STRING_MAX], char ret_name[static 24], struct error *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/backups", api_get_config(req->api)->data_dir);
	_cleanup_free_ char *sub = xasprintf("%s/%s", dir, ep->id);
	int r = backup_insert(req, app, ep, "capture", NULL, ret_id, ret_name, err);
	if (r < 0)
		return r;
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (mkdir(sub, 0700) < 0 && errno != EEXIST))
		return error_set(err, -errno, "create '%s': %m", sub);
	_cleanup_free_ char *dump = dump_path(req, ep->id, ret_name);
	_cleanup_free_ char *log = xasprintf("%s.log", dump);
	job_start(job_new(ret_id, ep, true, dump, log));
	return 0;
}

static int capture(struct api_request *req, struct error *err)
{
	jobs_flush(req);
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *ref = NULL;
	r = api_body_ref(req, "addon", false, &ref, err);
	if (r < 0)
		return r;
	struct addon_endpoint ep;
	r = pg_endpoint(req, &a, ref, &ep, err);
	if (r < 0)
		return r;
	char id[ID_STRING_MAX], name[24];
	r = capture_start(req, &a, &ep, id, name, err);
	explicit_bzero(ep.password, sizeof(ep.password));
	if (r < 0)
		return r;
	api_set_action(req, "Captured backup %s of %s of %s", name, ep.name, a.name);
	return backup_reply(req, &a, id, 201, err);
}

static int restore(struct api_request *req, struct error *err)
{
	jobs_flush(req);
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *confirm = NULL, *ref = NULL;
	r = api_body_string(req, "confirm", false, &confirm, err);
	if (r >= 0)
		r = api_body_ref(req, "addon", false, &ref, err);
	if (r < 0)
		return r;
	if (!confirm || !streq(confirm, a.name))
		return error_set_id(err, -EINVAL, "confirmation_required",
				    "restoring a backup overwrites the database's data: send 'confirm' with the app's name"
				    " '%s'",
				    a.name);
	_cleanup_rows_ struct store_rows *rows = NULL;
	const char *backup = streq(req->params[1], "latest") ? NULL : req->params[1];
	r = backup_find(req, &a, backup, &rows, err);
	if (r < 0)
		return r;
	char from[24];
	backup_name(store_rows_text(rows, 1), store_rows_int(rows, 2), from);
	if (!streq(store_rows_text(rows, 1), "capture") || !streq(store_rows_text(rows, 5), "completed"))
		return error_set(err, -EINVAL, "backup '%s' of '%s' is not a completed capture: nothing to restore", from,
				 a.name);
	struct addon_endpoint ep;
	r = pg_endpoint(req, &a, ref, &ep, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dump = dump_path(req, store_rows_text(rows, 3), from);
	_cleanup_free_ char *log = xasprintf("%s/backups/%s/restore-%s.log", api_get_config(req->api)->data_dir,
					     store_rows_text(rows, 3), req->request_id);
	char id[ID_STRING_MAX], name[24];
	if (access(dump, R_OK) < 0)
		r = error_set(err, -ENOENT, "the dump of backup '%s' of '%s' is gone: %m", from, a.name);
	else
		r = backup_insert(req, &a, &ep, "restore", store_rows_text(rows, 0), id, name, err);
	if (r >= 0) {
		job_start(job_new(id, &ep, false, dump, log));
		api_set_action(req, "Restored backup %s of %s into %s (%s)", from, a.name, ep.name, name);
		r = backup_reply(req, &a, id, 201, err);
	}
	explicit_bzero(ep.password, sizeof(ep.password));
	return r;
}

/* Replies with the app's rows of sql (one "?": the app's id), each made JSON by to_json. */
static int app_rows_reply(struct api_request *req, const char *sql, json_t *(*to_json)(struct store_rows *rows),
			  struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, sql, SV_ARGS(SV_TEXT(a.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, to_json(rows));
	if (r < 0) {
		json_decref(list);
		return r;
	}
	return api_reply(req, 200, list);
}

static int backups_list(struct api_request *req, struct error *err)
{
	jobs_flush(req);
	return app_rows_reply(req,
			      "SELECT " BACKUP_COLUMNS " FROM pg_backups b WHERE b.app_id = ? ORDER BY b.kind, b.num DESC",
			      backup_json, err);
}

static int backup_info(struct api_request *req, struct error *err)
{
	jobs_flush(req);
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	return backup_reply(req, &a, streq(req->params[1], "latest") ? NULL : req->params[1], 200, err);
}

/* The dump itself (GET is not audited by the edge: this route writes its own event). */
static int backup_download(struct api_request *req, struct error *err)
{
	jobs_flush(req);
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = backup_find(req, &a, streq(req->params[1], "latest") ? NULL : req->params[1], &rows, err);
	if (r < 0)
		return r;
	char name[24];
	backup_name(store_rows_text(rows, 1), store_rows_int(rows, 2), name);
	if (!streq(store_rows_text(rows, 1), "capture") || !streq(store_rows_text(rows, 5), "completed"))
		return error_set(err, -EINVAL, "backup '%s' of '%s' is not a completed capture: nothing to download", name,
				 a.name);
	_cleanup_free_ char *path = dump_path(req, store_rows_text(rows, 3), name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -ENOENT, "the dump of backup '%s' of '%s' is gone: %m", name, a.name);
	_cleanup_free_ char *action = xasprintf("Downloaded backup %s of %s", name, a.name);
	struct api_audit_event ev = { .actor_id = req->user.id, .actor_email = req->user.email, .action = action,
				      .method = req->method, .path = req->path, .status = 200,
				      .request_id = req->request_id };
	r = api_audit_insert(req->store, &ev, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	req->file_fd = fd;
	req->content_type = "application/octet-stream";
	return 0;
}

/* ---- daily schedules ------------------------------------------------------------------ */

int pg_backup_schedule_parse(const char *at, unsigned *ret_hour, struct error *err)
{
	const char *p = at ? at : "";
	unsigned hour = 0, digits = 0;
	while (isdigit((unsigned char)*p) && digits < 3)
		hour = hour * 10 + (unsigned)(*p++ - '0'), digits++;
	if (digits == 0 || digits > 2 || hour > 23)
		return error_set(err, -EINVAL, "schedule time '%.32s' is invalid: give an hour, '02:00 UTC'", at ? at : "");
	if (strncmp(p, ":00", 3) == 0)
		p += 3;
	else if (*p == ':')
		return error_set(err, -EINVAL, "schedule time '%.32s' is invalid: backups run on the hour, '%02u:00 UTC'",
				 at, hour);
	if (*p == ' ') {
		p++;
		if (!streq(p, "UTC"))
			return error_set(err, -EINVAL,
					 "schedule time zone '%.48s' is not supported: give the hour in UTC, '%02u:00 UTC'", p,
					 hour);
		p += 3;
	}
	if (*p)
		return error_set(err, -EINVAL, "schedule time '%.32s' is invalid: give an hour, '02:00 UTC'", at);
	*ret_hour = hour;
	return 0;
}

bool pg_backup_schedule_due(unsigned hour, const char *last_day, time_t now, char today[static PG_BACKUP_DAY_MAX])
{
	struct tm tm;
	gmtime_r(&now, &tm);
	if (strftime(today, PG_BACKUP_DAY_MAX, "%Y-%m-%d", &tm) == 0)
		today[0] = '\0';
	return (unsigned)tm.tm_hour >= hour && !(last_day && streq(last_day, today));
}

static json_t *schedule_json(struct store_rows *rows)
{
	char at[24];
	snprintf(at, sizeof(at), "%02lld:00 UTC", (long long)store_rows_int(rows, 3));
	return json_pack("{s:s, s:o, s:s, s:I, s:o, s:s}", "id", store_rows_text(rows, 0), "addon",
			 api_ref_json(store_rows_text(rows, 1), store_rows_text(rows, 2)), "at", at, "hour",
			 (json_int_t)store_rows_int(rows, 3), "last_day", api_string_or_null(store_rows_text(rows, 4)),
			 "created_at", store_rows_text(rows, 5));
}

#define SCHEDULE_COLUMNS "s.id, s.addon_id, s.addon_name, s.hour, s.last_day, s.created_at"

static int schedules_list(struct api_request *req, struct error *err)
{
	return app_rows_reply(req,
			      "SELECT " SCHEDULE_COLUMNS " FROM pg_backup_schedules s WHERE s.app_id = ? ORDER BY s.addon_name",
			      schedule_json, err);
}

/* Creates or replaces the add-on's schedule: {"addon", "at": "02:00 UTC"}. */
static int schedule_set(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *ref = NULL, *at = NULL;
	r = api_body_ref(req, "addon", false, &ref, err);
	if (r >= 0)
		r = api_body_string(req, "at", true, &at, err);
	if (r < 0)
		return r;
	unsigned hour;
	r = pg_backup_schedule_parse(at, &hour, err);
	if (r < 0)
		return r;
	struct addon_endpoint ep;
	r = api_addon_endpoint(req, a.id, ref, ADDON_POSTGRESQL, &ep, err);
	explicit_bzero(ep.password, sizeof(ep.password));
	if (r < 0)
		return r;
	/* Created after today's hour: the first capture is tomorrow's, as Heroku's. */
	char today[PG_BACKUP_DAY_MAX], now[TIME_ISO_MAX], id[ID_STRING_MAX];
	bool due = pg_backup_schedule_due(hour, NULL, time(NULL), today);
	id_new(id);
	r = store_exec(req->store,
		       "INSERT INTO pg_backup_schedules (id, app_id, addon_id, addon_name, hour, last_day, created_at)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (addon_id) DO UPDATE SET hour = excluded.hour,"
		       " last_day = excluded.last_day",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(a.id), SV_TEXT(ep.id), SV_TEXT(ep.name), SV_INT(hour),
			       due ? SV_TEXT(today) : SV_NULL, SV_TEXT(time_now_iso(now))),
		       err);
	if (r < 0)
		return r;
	api_set_action(req, "Scheduled daily backups of %s of %s at %02u:00 UTC", ep.name, a.name, hour);
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT " SCHEDULE_COLUMNS " FROM pg_backup_schedules s WHERE s.addon_id = ?",
			SV_ARGS(SV_TEXT(ep.id)), &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : error_set(err, -EIO, "the schedule of '%s' is gone", ep.name);
	return api_reply(req, 201, schedule_json(rows));
}

static int schedule_delete(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	struct addon_endpoint ep;
	r = api_addon_endpoint(req, a.id, req->params[1], ADDON_POSTGRESQL, &ep, err);
	explicit_bzero(ep.password, sizeof(ep.password));
	if (r < 0)
		return r;
	int64_t n = 0;
	r = store_exec_changes(req->store, "DELETE FROM pg_backup_schedules WHERE addon_id = ? AND app_id = ?",
			       SV_ARGS(SV_TEXT(ep.id), SV_TEXT(a.id)), &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return error_set_id(err, -ENOENT, "not_found", "add-on '%s' of '%s' has no backup schedule", ep.name, a.name);
	api_set_action(req, "Unscheduled daily backups of %s of %s", ep.name, a.name);
	return api_reply(req, 200, json_pack("{s:s}", "addon", ep.name));
}

/* Starts the capture of one due schedule, in its own transaction. */
static int schedule_run(struct api_request *req, const char *app_id, const char *addon_id, const char *today,
			struct error *err)
{
	int r = store_begin(req->store, err);
	if (r < 0)
		return r;
	struct app a;
	struct addon_endpoint ep = { 0 };
	char id[ID_STRING_MAX], name[24];
	r = api_app_load(req, app_id, &a, err);
	if (r >= 0)
		r = pg_endpoint(req, &a, addon_id, &ep, err);
	/* Served for today even when the add-on cannot be reached: one try a day, as a failure. */
	if (r >= 0)
		r = capture_start(req, &a, &ep, id, name, err);
	explicit_bzero(ep.password, sizeof(ep.password));
	struct error ignore = { 0 };
	store_exec(req->store, "UPDATE pg_backup_schedules SET last_day = ? WHERE addon_id = ?",
		   SV_ARGS(SV_TEXT(today), SV_TEXT(addon_id)), &ignore);
	_cleanup_free_ char *action = r < 0 ? xasprintf("Scheduled backup of %s failed: %s", addon_id, err->message)
					    : xasprintf("Scheduled backup %s of %s of %s", name, ep.name, a.name);
	struct api_audit_event ev = { .actor_email = "", .action = action, .method = "SCHEDULE",
				      .path = "pg-backup-schedules", .status = r < 0 ? 500 : 201,
				      .request_id = req->request_id };
	api_audit_insert(req->store, &ev, &ignore);
	return store_commit(req->store, err);
}

void api_pg_backups_tick(struct api *api, struct store *store)
{
	static uint64_t next_usec;
	uint64_t mono = time_mono_usec();
	if (mono < next_usec)
		return;
	next_usec = mono + 30 * 1000000ull;
	/* The scheduler acts for the platform: it may reach every app. */
	struct api_request req = { .api = api, .store = store, .method = "SCHEDULE", .path = "", .authenticated = true,
				   .user = { .email = "scheduler", .is_admin = true }, .file_fd = -1 };
	id_new(req.request_id);
	jobs_flush(&req);
	struct error err = { 0 };
	_cleanup_rows_ struct store_rows *rows = NULL;
	if (store_query(store, "SELECT app_id, addon_id, hour, last_day FROM pg_backup_schedules", NULL, 0, &rows, &err) < 0)
		return;
	struct due {
		char app_id[ID_STRING_MAX], addon_id[ID_STRING_MAX], today[PG_BACKUP_DAY_MAX];
	} due[64];
	size_t n = 0;
	time_t now = time(NULL);
	while (n < ARRAY_SIZE(due) && store_rows_next(rows, &err) > 0) {
		if (!pg_backup_schedule_due((unsigned)store_rows_int(rows, 2), store_rows_text(rows, 3), now, due[n].today))
			continue;
		snprintf(due[n].app_id, sizeof(due[n].app_id), "%s", store_rows_text(rows, 0));
		snprintf(due[n].addon_id, sizeof(due[n].addon_id), "%s", store_rows_text(rows, 1));
		n++;
	}
	store_rows_free(TAKE_PTR(rows));
	for (size_t i = 0; i < n; i++) {
		err = (struct error){ 0 };
		if (schedule_run(&req, due[i].app_id, due[i].addon_id, due[i].today, &err) < 0)
			store_rollback(store);
	}
}

const struct api_route api_pg_backup_routes[] = {
	{ "GET", "/apps/:app/pg-backup-schedules", schedules_list, 0 },
	{ "POST", "/apps/:app/pg-backup-schedules", schedule_set, 0 },
	{ "DELETE", "/apps/:app/pg-backup-schedules/:addon", schedule_delete, 0 },
	{ "GET", "/apps/:app/pg-backups", backups_list, 0 },
	{ "POST", "/apps/:app/pg-backups", capture, 0 },
	{ "GET", "/apps/:app/pg-backups/:backup", backup_info, 0 },
	{ "GET", "/apps/:app/pg-backups/:backup/download", backup_download, 0 },
	{ "POST", "/apps/:app/pg-backups/:backup/actions/restore", restore, 0 },
	{},
};
