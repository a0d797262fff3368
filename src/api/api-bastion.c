/* SPDX-License-Identifier: MIT */
/*
 * The bastion's sessions (see api-bastion.h for the routes).
 *
 * Design note. A session lives in three places in turn:
 *   pending  - in b->pending, on the API's thread only: created by the POST with its socket
 *              inside the space already connecting (non-blocking), so that the upgrade request
 *              only has to wait for the connection to finish, suspended like a long poll, and
 *              never blocks the API's one thread;
 *   running  - its own relay thread (base/relay.h) between the upgraded client connection and
 *              the socket; the thread closes both and moves the session to b->ended;
 *   ended    - under b->lock, until api_bastion_flush() writes its end to the store and the
 *              audit trail on the API's thread (the store belongs to that thread).
 * A pending session that is not used within BASTION_PENDING_TTL_S is dropped by the flush,
 * except while the edge holds it for a 101 being sent (it then calls started or dropped).
 */
#include "api/api-bastion.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api-apps.h"
#include "api/api-audit.h"
#include "api/api-bastion-target.h"
#include "api/api-space-access.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/relay.h"
#include "base/timeutil.h"
#include "net/net-netns.h"

struct bastion_session {
	struct api_upgrade_handler upgrade; /* first: the edge hands it back */
	struct api_bastion *bastion;
	char id[ID_STRING_MAX];
	char user_id[ID_STRING_MAX];
	char user_email[API_EMAIL_MAX];
	char app_id[ID_STRING_MAX];
	char app_name[API_NAME_MAX];
	char space_name[API_NAME_MAX];
	char target[96];
	char address[32]; /* "10.0.1.5:5432" */
	int fd;           /* the socket inside the space */
	uint64_t created_usec, expires_usec, connect_deadline_usec;
	bool upgrading; /* the edge holds it for a 101 */

	/* The tunnel. */
	int client_fd;
	char *extra; /* bytes the edge read past the request */
	size_t extra_len;
	struct api_upgrade *conn;
	char started_at[TIME_ISO_MAX];
	uint64_t started_usec;

	/* The end. */
	const char *state; /* "closed", "failed", "expired" */
	char error[160];
	uint64_t bytes_in, bytes_out; /* from the client to the target, and back */
	char ended_at[TIME_ISO_MAX];
	uint64_t ended_usec;

	struct bastion_session *next;
};

struct api_bastion {
	struct bastion_session *pending; /* the API's thread only */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct bastion_session *ended; /* under lock */
	unsigned running;              /* under lock */
	int stop_fd;                   /* an eventfd: readable once the tunnels must end */
	bool recovered;                /* sessions of an earlier coved were closed in the store */
};

struct api_bastion *api_bastion_new(void)
{
	struct api_bastion *b = xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->changed, NULL);
	b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->stop_fd < 0)
		abort();
	return b;
}

static void session_free(struct bastion_session *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->extra);
	free(s);
}

void api_bastion_stop(struct api_bastion *b)
{
	uint64_t one = 1;
	if (write(b->stop_fd, &one, sizeof(one)) < 0)
		log_error("bastion: stop the tunnels: %m");
	pthread_mutex_lock(&b->lock);
	while (b->running > 0)
		pthread_cond_wait(&b->changed, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

void api_bastion_free(struct api_bastion *b)
{
	if (!b)
		return;
	for (struct bastion_session *s = b->pending, *next; s; s = next) {
		next = s->next;
		session_free(s);
	}
	for (struct bastion_session *s = b->ended, *next; s; s = next) {
		next = s->next;
		session_free(s);
	}
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->changed);
	close(b->stop_fd);
	free(b);
}

/* Takes a session out of the pending list (the API's thread). */
static void pending_remove(struct api_bastion *b, struct bastion_session *s)
{
	for (struct bastion_session **p = &b->pending; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			s->next = NULL;
			return;
		}
}

static struct bastion_session *pending_find(struct api_bastion *b, const char *id)
{
	for (struct bastion_session *s = b->pending; s; s = s->next)
		if (streq(s->id, id))
			return s;
	return NULL;
}

/* A session is over: it goes to the ended list, for the next flush to record. */
static void session_end(struct bastion_session *s, const char *state, const char *why)
{
	struct api_bastion *b = s->bastion;
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	s->state = state;
	snprintf(s->error, sizeof(s->error), "%s", why ? why : "");
	time_now_iso(s->ended_at);
	s->ended_usec = time_mono_usec();
	pthread_mutex_lock(&b->lock);
	s->next = b->ended;
	b->ended = s;
	pthread_mutex_unlock(&b->lock);
}

/* ---- the tunnel ------------------------------------------------------------------------ */

static void *tunnel_run(void *arg)
{
	struct bastion_session *s = arg;
	struct api_bastion *b = s->bastion;
	struct relay_end client = { .fd = s->client_fd, .pending = s->extra, .pending_len = s->extra_len };
	struct relay_end target = { .fd = s->fd };
	int r = relay_run(&client, &target, b->stop_fd, BASTION_IDLE_S * 1000);
	api_upgrade_close(s->conn);
	s->bytes_in = client.bytes_read;
	s->bytes_out = target.bytes_read;
	const char *why = r == 0 ? NULL
			  : r == -ECANCELED ? "coved stopped"
			  : r == -ETIMEDOUT ? "idle for too long"
					    : strerror(-r);
	session_end(s, "closed", why);
	pthread_mutex_lock(&b->lock);
	b->running--;
	pthread_cond_broadcast(&b->changed);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* The edge sent the 101 (on the API's thread): the tunnel starts. */
static void upgrade_started(struct api_upgrade_handler *h, int fd, const char *extra, size_t extra_len,
			    struct api_upgrade *conn)
{
	struct bastion_session *s = (struct bastion_session *)h;
	struct api_bastion *b = s->bastion;
	pending_remove(b, s);
	s->upgrading = false;
	s->client_fd = fd;
	s->conn = conn;
	if (extra_len > 0) {
		s->extra = xmalloc(extra_len);
		memcpy(s->extra, extra, extra_len);
		s->extra_len = extra_len;
	}
	time_now_iso(s->started_at);
	s->started_usec = time_mono_usec();

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&b->lock);
	b->running++;
	pthread_mutex_unlock(&b->lock);
	pthread_t t;
	int r = pthread_create(&t, &attr, tunnel_run, s);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		pthread_mutex_lock(&b->lock);
		b->running--;
		pthread_mutex_unlock(&b->lock);
		api_upgrade_close(conn);
		session_end(s, "failed", "could not start the tunnel's thread");
	}
}

/* The 101 could not be sent: the client went away. */
static void upgrade_dropped(struct api_upgrade_handler *h)
{
	struct bastion_session *s = (struct bastion_session *)h;
	pending_remove(s->bastion, s);
	session_end(s, "failed", "the client went away before the tunnel opened");
}

/* ---- the record ------------------------------------------------------------------------ */

static void format_bytes(uint64_t n, char *buf, size_t len)
{
	if (n < 10 * 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else if (n < 10 * 1024 * 1024)
		snprintf(buf, len, "%.1f KB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

static int record_end(struct store *st, const struct bastion_session *s, struct error *err)
{
	int r = store_exec(st,
			   "UPDATE bastion_sessions SET state = ?, error = ?, bytes_in = ?, bytes_out = ?, started_at = ?,"
			   " ended_at = ? WHERE id = ?",
			   SV_ARGS(SV_TEXT(s->state), SV_TEXT(s->error[0] ? s->error : NULL), SV_INT((int64_t)s->bytes_in),
				   SV_INT((int64_t)s->bytes_out), SV_TEXT(s->started_at[0] ? s->started_at : NULL),
				   SV_TEXT(s->ended_at), SV_TEXT(s->id)),
			   err);
	if (r < 0)
		return r;
	char action[512], in[32], out[32];
	if (s->started_at[0]) {
		format_bytes(s->bytes_in, in, sizeof(in));
		format_bytes(s->bytes_out, out, sizeof(out));
		snprintf(action, sizeof(action), "Close bastion session to '%s' (%s) of '%s': %s in, %s out, %.1f s%s%s",
			 s->target, s->address, s->app_name, in, out, (double)(s->ended_usec - s->started_usec) / 1e6,
			 s->error[0] ? ", " : "", s->error);
	} else {
		snprintf(action, sizeof(action), "Bastion session to '%s' (%s) of '%s' %s: %s", s->target, s->address,
			 s->app_name, s->state, s->error);
	}
	_cleanup_free_ char *path = xasprintf("/apps/%s/bastion-sessions/%s", s->app_name, s->id);
	const struct api_audit_event ev = {
		.actor_id = s->user_id,
		.actor_email = s->user_email,
		.action = action,
		.method = "TUNNEL",
		.path = path,
		.status = streq(s->state, "closed") ? 200 : 503,
		.request_id = s->id,
	};
	return api_audit_insert(st, &ev, err);
}

void api_bastion_flush(struct api_bastion *b, struct store *st)
{
	if (!b->recovered) {
		/* Tunnels do not survive coved: what an earlier one left pending or open is over. */
		struct error err = { 0 };
		char now_iso[TIME_ISO_MAX];
		if (store_exec(st,
			       "UPDATE bastion_sessions SET state = 'failed', error = 'coved stopped', ended_at = ?"
			       " WHERE state = 'pending'",
			       SV_ARGS(SV_TEXT(time_now_iso(now_iso))), &err) < 0)
			log_error("bastion: close the sessions of an earlier run: %s", err.message);
		b->recovered = true;
	}
	uint64_t now = time_mono_usec();
	for (struct bastion_session *s = b->pending, *next; s; s = next) {
		next = s->next;
		if (!s->upgrading && now >= s->expires_usec) {
			pending_remove(b, s);
			session_end(s, "expired", "not used in time");
		}
	}
	pthread_mutex_lock(&b->lock);
	struct bastion_session *ended = TAKE_PTR(b->ended);
	pthread_mutex_unlock(&b->lock);
	for (struct bastion_session *s = ended, *next; s; s = next) {
		next = s->next;
		struct error err = { 0 };
		int r = store_begin(st, &err);
		if (r >= 0)
			r = record_end(st, s, &err);
		if (r >= 0)
			r = store_commit(st, &err);
		if (r < 0) {
			store_rollback(st);
			log_error("bastion: record the end of session '%s': %s", s->id, err.message);
		}
		session_free(s);
	}
}

/* ---- who may ----------------------------------------------------------------------------- */

/*
 * Bastion access to the app's space: the space permission `bastion`, which team admins (and
 * platform administrators) always hold and members hold where an admin granted it.
 */
static int require_bastion_access(struct api_request *req, const struct app *app, struct error *err)
{
	bool granted;
	int r = api_space_has_permission(req, &app->space, "bastion", &granted, err);
	if (r < 0)
		return r;
	if (granted)
		return 0;
	return error_set_id(err, -EACCES, "bastion_access_required",
			    "You do not have bastion access to space '%s'; ask a space admin: cove spaces:access:grant %s"
			    " --space %s --permission bastion",
			    app->space.name, req->user.email, app->space.name);
}

/* ---- sessions -------------------------------------------------------------------------- */

#define SESSION_COLUMNS                                                                                            \
	"id, app_id, app_name, space_id, space_name, user_id, user_email, target, address, state, error, bytes_in,"  \
	" bytes_out, created_at, started_at, ended_at"

static json_t *session_json(struct api_bastion *b, struct store_rows *rows)
{
	const char *id = store_rows_text(rows, 0);
	const char *state = store_rows_text(rows, 9);
	/* The store says pending until the end is recorded: what this API knows is newer. */
	if (streq(state, "pending")) {
		bool in_pending = pending_find(b, id) != NULL;
		if (!in_pending)
			state = "open";
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:o, s:o}", "id", id, "app",
			 api_ref_json(store_rows_text(rows, 1), store_rows_text(rows, 2)), "space",
			 api_ref_json(store_rows_text(rows, 3), store_rows_text(rows, 4)), "user",
			 json_pack("{s:o, s:s}", "id", api_string_or_null(store_rows_text(rows, 5)), "email",
				   store_rows_text(rows, 6)),
			 "target", store_rows_text(rows, 7), "address", store_rows_text(rows, 8), "state", state, "error",
			 api_string_or_null(store_rows_text(rows, 10)), "bytes_in", (json_int_t)store_rows_int(rows, 11),
			 "bytes_out", (json_int_t)store_rows_int(rows, 12), "created_at", store_rows_text(rows, 13),
			 "started_at", api_string_or_null(store_rows_text(rows, 14)), "ended_at",
			 api_string_or_null(store_rows_text(rows, 15)));
}

static int session_reply(struct api_request *req, int status, const char *app_id, const char *id, struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = api_query_row(req, "SELECT " SESSION_COLUMNS " FROM bastion_sessions WHERE id = ? AND app_id = ?",
			      SV_ARGS(SV_TEXT(id), SV_TEXT(app_id)), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "bastion session '%s' not found", id);
	return api_reply(req, status, session_json(api_bastion(req->api), rows));
}

/* Opens a socket inside the space and starts connecting it to the target. */
static int target_connect(const struct app *app, const struct bastion_target *t, int *ret_fd, struct error *err)
{
	char name[NET_NETNS_NAME_MAX];
	int r = net_netns_name(NET_NETNS_SPACE, app->space.id, name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int ns = net_netns_open(name, err);
	if (ns == -ENOENT)
		return error_set_id(err, -EBUSY, "space_unavailable",
				    "space '%s' has no network on this host: the bastion runs in the coved of the space's host",
				    app->space.name);
	if (ns < 0)
		return ns;
	struct error why = { 0 };
	_cleanup_close_ int fd = net_netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, &why);
	if (fd < 0)
		return error_set_id(err, -EBUSY, "space_unavailable", "cannot enter space '%s'%s: %s", app->space.name,
				    fd == -EPERM ? " (the bastion needs coved to run as root)" : "", why.message);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(t->port) };
	if (inet_pton(AF_INET, t->address, &sa.sin_addr) != 1)
		return error_set(err, -EINVAL, "target address '%s' is invalid", t->address);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		return error_set_id(err, -EBUSY, "target_unreachable", "connect to '%s' (%s:%u) of '%s': %m", t->name,
				    t->address, t->port, app->name);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static unsigned sessions_open(struct api_bastion *b)
{
	unsigned n = 0;
	for (struct bastion_session *s = b->pending; s; s = s->next)
		n++;
	pthread_mutex_lock(&b->lock);
	n += b->running;
	pthread_mutex_unlock(&b->lock);
	return n;
}

static int session_create(struct api_request *req, struct error *err)
{
	struct api_bastion *b = api_bastion(req->api);
	struct app app;
	int r = api_app_load(req, req->params[0], &app, err);
	if (r < 0)
		return r;
	r = require_bastion_access(req, &app, err);
	if (r < 0)
		return r;
	const char *spec;
	r = api_body_string(req, "target", true, &spec, err);
	if (r < 0)
		return r;
	struct bastion_target t;
	r = api_bastion_target_resolve(req, &app, spec, &t, err);
	if (r < 0)
		return r;
	if (!streq(app.space.state, "allocated"))
		return error_set_id(err, -EBUSY, "space_unavailable", "space '%s' is %s: try again when it is allocated",
				    app.space.name, app.space.state);
	if (sessions_open(b) >= BASTION_SESSIONS_MAX)
		return error_set(err, -EAGAIN, "too many bastion sessions are open on this API: at most %d",
				 BASTION_SESSIONS_MAX);

	_cleanup_close_ int fd = -1;
	r = target_connect(&app, &t, &fd, err);
	if (r < 0)
		return r;

	struct bastion_session *s = xcalloc(1, sizeof(*s));
	s->upgrade = (struct api_upgrade_handler){ .started = upgrade_started, .dropped = upgrade_dropped };
	s->bastion = b;
	s->fd = -1;
	s->client_fd = -1;
	id_new(s->id);
	snprintf(s->user_id, sizeof(s->user_id), "%s", req->user.id);
	snprintf(s->user_email, sizeof(s->user_email), "%s", req->user.email);
	snprintf(s->app_id, sizeof(s->app_id), "%s", app.id);
	snprintf(s->app_name, sizeof(s->app_name), "%s", app.name);
	snprintf(s->space_name, sizeof(s->space_name), "%s", app.space.name);
	snprintf(s->target, sizeof(s->target), "%s", t.name);
	snprintf(s->address, sizeof(s->address), "%s:%u", t.address, t.port);
	s->created_usec = time_mono_usec();
	s->expires_usec = s->created_usec + BASTION_PENDING_TTL_S * 1000000ull;
	s->connect_deadline_usec = s->created_usec + BASTION_CONNECT_TIMEOUT_S * 1000000ull;

	char now[TIME_ISO_MAX];
	r = store_exec(req->store,
		       "INSERT INTO bastion_sessions (id, app_id, app_name, space_id, space_name, user_id, user_email, target,"
		       " address, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
		       SV_ARGS(SV_TEXT(s->id), SV_TEXT(app.id), SV_TEXT(app.name), SV_TEXT(app.space.id),
			       SV_TEXT(app.space.name), SV_TEXT(req->user.id), SV_TEXT(req->user.email), SV_TEXT(t.name),
			       SV_TEXT(s->address), SV_TEXT(time_now_iso(now))),
		       err);
	if (r < 0) {
		session_free(s);
		return r;
	}
	s->fd = TAKE_FD(fd);
	s->next = b->pending;
	b->pending = s;
	api_set_action(req, "Open bastion session to '%s' (%s) of '%s'", s->target, s->address, app.name);

	char expires[TIME_ISO_MAX];
	time_iso(time(NULL) + BASTION_PENDING_TTL_S, expires);
	r = session_reply(req, 201, app.id, s->id, err);
	if (r >= 0)
		json_object_set_new(req->response, "expires_at", json_string(expires));
	return r;
}

static int session_list(struct api_request *req, struct error *err)
{
	struct app app;
	int r = api_app_load(req, req->params[0], &app, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store,
			"SELECT " SESSION_COLUMNS " FROM bastion_sessions WHERE app_id = ? ORDER BY created_at DESC, id LIMIT 1000",
			SV_ARGS(SV_TEXT(app.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, session_json(api_bastion(req->api), rows));
	req->range_fields = "created_at,id";
	api_reply(req, 200, list);
	return r;
}

/* Whether the client asked to switch to the bastion's protocol (and not to something else). */
static int wants_tunnel(struct api_request *req, bool *ret, struct error *err)
{
	const char *upgrade = api_header(req, "Upgrade");
	*ret = false;
	if (!upgrade)
		return 0;
	if (strcasecmp(upgrade, BASTION_PROTOCOL) != 0)
		return error_set(err, -EBADMSG, "cannot upgrade to '%.32s': a bastion session speaks '" BASTION_PROTOCOL "'",
				 upgrade);
	const char *connection = api_header(req, "Connection");
	if (!connection || !strcasestr(connection, "upgrade"))
		return error_set(err, -EBADMSG, "an upgrade needs 'Connection: Upgrade'");
	*ret = true;
	return 0;
}

/* Whether the socket finished connecting: 1 yes, 0 not yet, < 0 how it failed. */
static int connect_done(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, 0) < 0)
		return -errno;
	if (!p.revents)
		return 0;
	int e = 0;
	socklen_t l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		return -errno;
	return e ? -e : 1;
}

static int session_get(struct api_request *req, struct error *err)
{
	struct api_bastion *b = api_bastion(req->api);
	struct app app;
	int r = api_app_load(req, req->params[0], &app, err);
	if (r < 0)
		return r;
	bool tunnel;
	r = wants_tunnel(req, &tunnel, err);
	if (r < 0)
		return r;
	if (!tunnel)
		return session_reply(req, 200, app.id, req->params[1], err);

	struct bastion_session *s = pending_find(b, req->params[1]);
	if (!s || !streq(s->app_id, app.id) || !streq(s->user_id, req->user.id)) {
		int64_t n = 0;
		r = store_query_int(req->store, "SELECT COUNT(*) FROM bastion_sessions WHERE id = ? AND app_id = ? AND user_id = ?",
				    SV_ARGS(SV_TEXT(req->params[1]), SV_TEXT(app.id), SV_TEXT(req->user.id)), &n, err);
		if (r < 0)
			return r;
		if (n > 0)
			return error_set(err, -EEXIST, "bastion session '%s' was used or has expired: open a new one",
					 req->params[1]);
		return error_set(err, -ENOENT, "bastion session '%s' not found", req->params[1]);
	}
	if (s->upgrading)
		return error_set(err, -EEXIST, "bastion session '%s' is being used", s->id);
	/* Access is checked again: a grant revoked since the session was made counts. */
	r = require_bastion_access(req, &app, err);
	if (r < 0)
		return r;

	r = connect_done(s->fd);
	uint64_t now = time_mono_usec();
	if (r == 0 && now < s->connect_deadline_usec) {
		req->wait_until_usec = now + 50 * 1000;
		return API_SUSPEND;
	}
	if (r <= 0) {
		const char *why = r == 0 ? "timed out" : strerror(-r);
		pending_remove(b, s);
		error_set_id(err, -EBUSY, "target_unreachable", "connect to '%s' (%s) of '%s' in space '%s': %s", s->target,
			     s->address, s->app_name, s->space_name, why);
		session_end(s, "failed", why);
		/* Recorded now (a GET runs outside a transaction), so that the next request sees it. */
		api_bastion_flush(b, req->store);
		return -EBUSY;
	}
	s->upgrading = true;
	req->upgrade = &s->upgrade;
	req->upgrade_protocol = BASTION_PROTOCOL;
	req->status = 101;
	return 0;
}

const struct api_route api_bastion_routes[] = {
	{ "POST", "/apps/:app/bastion-sessions", session_create, 0 },
	{ "GET", "/apps/:app/bastion-sessions", session_list, 0 },
	{ "GET", "/apps/:app/bastion-sessions/:id", session_get, 0 },
	{},
};
