/* SPDX-License-Identifier: MIT */
#include "api/api-logs.h"

#include <ctype.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-apps.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/validate.h"
#include "logs/logs-drain.h"
#include "logs/logs.h"

#define LOG_SESSION_LINES_DEFAULT 100
#define LOG_KEEPALIVE_USEC (15u * 1000 * 1000)
#define LOG_BATCH_MAX 5000
#define LOG_DRAINS_PER_APP 5

struct log_session {
	char id[65];
	char app_id[ID_STRING_MAX];
	char source[8];
	char dyno[48];
	size_t lines;
	bool tail;
	uint64_t expires; /* monotonic usec */
	struct log_session *next;
};

/* A tail waiting for lines: its connection is suspended until the app's stream grows. */
struct log_stream {
	struct api *api;
	struct MHD_Connection *conn;
	char app_id[ID_STRING_MAX];
	char source[8];
	char dyno[48];
	size_t backlog;
	bool tail;
	bool started;
	uint64_t after;       /* sequence number of the last line sent */
	struct strbuf out;    /* bytes ready to send */
	size_t sent;          /* of out */
	bool suspended;
	uint64_t idle_since;
	struct log_stream *prev, *next;
};

/* Both lists belong to the API's thread, except that the timer thread takes `lock` to wake. */
static struct log_session *sessions;
static struct log_stream *streams;
static bool shutting_down; /* under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void streams_wake(const char *app_id, bool idle_only)
{
	uint64_t now = idle_only ? time_mono_usec() : 0;
	pthread_mutex_lock(&lock);
	for (struct log_stream *s = streams; s; s = s->next) {
		if (!s->suspended)
			continue;
		if (app_id && !streq(app_id, s->app_id))
			continue;
		if (idle_only && now - s->idle_since < LOG_KEEPALIVE_USEC)
			continue;
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
	pthread_mutex_unlock(&lock);
}

/* ---- drains --------------------------------------------------------------------------- */

/* The running drains of every app, loaded from the store on first use; the API's thread only. */
static struct log_drain **drains;
static size_t n_drains;
static bool drains_loaded;

static void drains_load(struct api_request *req)
{
	if (drains_loaded)
		return;
	drains_loaded = true;
	struct error err = { 0 };
	_cleanup_rows_ struct store_rows *rows = NULL;
	if (store_query(req->store,
			"SELECT d.id, d.app_id, a.name, d.url, d.token FROM log_drains d JOIN apps a ON a.id = d.app_id",
			SV_NONE, &rows, &err) < 0)
		return;
	while (store_rows_next(rows, &err) > 0) {
		struct log_drain *d;
		if (log_drain_new(store_rows_text(rows, 0), store_rows_text(rows, 1), store_rows_text(rows, 2),
				  store_rows_text(rows, 3), store_rows_text(rows, 4), &d, &err) < 0)
			continue;
		drains = xrealloc(drains, (n_drains + 1) * sizeof(*drains));
		drains[n_drains++] = d;
	}
}

void api_logs_forget_app(struct api_request *req, const char *app_id)
{
	for (size_t i = 0; i < n_drains;) {
		if (streq(log_drain_app_id(drains[i]), app_id)) {
			log_drain_free(drains[i]);
			drains[i] = drains[--n_drains];
		} else {
			i++;
		}
	}
	logs_forget(api_logs(req->api), app_id);
}

/* Appends a line to an app's stream and its drains; the tails that wait on it are the caller's to wake. */
static void publish_quietly(struct api_request *req, const char *app_id, uint64_t usec, const char *source,
			    const char *dyno, const char *msg)
{
	if (!usec) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	logs_append(api_logs(req->api), app_id, usec, source, dyno, msg);
	drains_load(req);
	for (size_t i = 0; i < n_drains; i++)
		if (streq(log_drain_app_id(drains[i]), app_id))
			log_drain_send(drains[i], usec, source, dyno, msg);
}

/* Appends a line to an app's stream and its drains, and wakes the tails that wait on it. */
static void publish(struct api_request *req, const char *app_id, uint64_t usec, const char *source, const char *dyno,
		    const char *msg)
{
	publish_quietly(req, app_id, usec, source, dyno, msg);
	streams_wake(app_id, false);
}

void api_log_action(struct api_request *req, const char *app_id, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!req->pending_logs)
		req->pending_logs = json_array();
	json_array_append_new(req->pending_logs, json_pack("{s:s, s:s}", "app_id", app_id, "msg", msg));
}

void api_logs_flush(struct api_request *req)
{
	size_t i;
	json_t *v;
	json_array_foreach(req->pending_logs, i, v)
		publish(req, json_string_value(json_object_get(v, "app_id")), 0, "app", "api",
			json_string_value(json_object_get(v, "msg")));
	json_decref(req->pending_logs);
	req->pending_logs = NULL;
}

void api_logs_shutdown(struct api *api)
{
	pthread_mutex_lock(&lock);
	shutting_down = true;
	pthread_mutex_unlock(&lock);
	streams_wake(NULL, false);
}

void api_logs_tick(struct api *api)
{
	streams_wake(NULL, true);
}

/* ---- sessions -------------------------------------------------------------------------- */

static struct log_session *session_find(const char *id)
{
	uint64_t now = time_mono_usec();
	for (struct log_session **p = &sessions; *p;) {
		struct log_session *s = *p;
		if (s->expires <= now) {
			*p = s->next;
			free(s);
			continue;
		}
		if (streq(s->id, id))
			return s;
		p = &s->next;
	}
	return NULL;
}

static int log_session_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *source, *dyno;
	bool tail = false;
	r = api_body_string(req, "source", false, &source, err);
	if (r >= 0)
		r = api_body_string(req, "dyno", false, &dyno, err);
	if (r >= 0)
		r = api_body_bool(req, "tail", &tail, NULL, err);
	if (r < 0)
		return r;
	json_t *lines = req->body ? json_object_get(req->body, "lines") : NULL;
	json_int_t n = LOG_SESSION_LINES_DEFAULT;
	if (lines && !json_is_null(lines)) {
		if (json_is_integer(lines))
			n = json_integer_value(lines);
		else if (json_is_string(lines))
			n = strtoll(json_string_value(lines), NULL, 10);
		else
			return error_set(err, -EINVAL, "'lines' must be a number");
		if (n < 1 || n > LOGS_LINES_PER_APP)
			return error_set(err, -EINVAL, "'lines' must be between 1 and %d", LOGS_LINES_PER_APP);
	}
	if (source && !streq(source, "app") && !streq(source, "heroku") && *source)
		return error_set(err, -EINVAL, "source '%s' is invalid: use app or heroku", source);
	if (dyno && strlen(dyno) > 40)
		return error_set(err, -EINVAL, "dyno '%.40s...' is too long", dyno);

	struct log_session *s = xcalloc(1, sizeof(*s));
	crypto_random_hex(s->id, 32);
	snprintf(s->app_id, sizeof(s->app_id), "%s", a.id);
	snprintf(s->source, sizeof(s->source), "%s", source ? source : "");
	snprintf(s->dyno, sizeof(s->dyno), "%s", dyno ? dyno : "");
	s->lines = (size_t)n;
	s->tail = tail;
	s->expires = time_mono_usec() + (uint64_t)LOG_SESSION_TTL_S * 1000000u;
	s->next = sessions;
	sessions = s;

	char now[TIME_ISO_MAX];
	time_now_iso(now);
	_cleanup_free_ char *url = xasprintf("%s/log-stream/%s", api_request_url(req), s->id);
	return api_reply(req, 201,
			 json_pack("{s:s, s:s, s:s, s:s}", "id", s->id, "logplex_url", url, "created_at", now, "updated_at", now));
}

/* ---- streams --------------------------------------------------------------------------- */

static void add_event(const struct log_line *line, void *userdata)
{
	struct log_stream *s = userdata;
	strbuf_addf(&s->out, "id: %llu\ndata: %s\n\n", (unsigned long long)line->seq, line->text);
	s->after = line->seq;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *s = cls;
	pthread_mutex_lock(&lock);
	bool ending = shutting_down;
	pthread_mutex_unlock(&lock);
	if (ending)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (s->sent == s->out.len) {
		strbuf_reset(&s->out);
		s->sent = 0;
		struct logs *logs = api_logs(s->api);
		if (!s->started) {
			s->started = true;
			/* A short reconnection delay: the heroku CLI waits this long after the end. */
			strbuf_addstr(&s->out, "retry: 50\n\n");
			logs_read(logs, s->app_id, s->after, s->source, s->dyno, s->backlog, add_event, s);
		} else {
			logs_read(logs, s->app_id, s->after, s->source, s->dyno, 0, add_event, s);
		}
		if (s->out.len == 0) {
			if (!s->tail)
				return MHD_CONTENT_READER_END_OF_STREAM;
			uint64_t now = time_mono_usec();
			if (s->idle_since && now - s->idle_since >= LOG_KEEPALIVE_USEC) {
				/* A comment: keeps proxies from closing an idle stream, finds dead clients. */
				strbuf_addstr(&s->out, ": keepalive\n\n");
				s->idle_since = now;
			} else {
				if (!s->idle_since)
					s->idle_since = now;
				pthread_mutex_lock(&lock);
				if (shutting_down) {
					pthread_mutex_unlock(&lock);
					return MHD_CONTENT_READER_END_OF_STREAM;
				}
				s->suspended = true;
				MHD_suspend_connection(s->conn);
				pthread_mutex_unlock(&lock);
				return 0;
			}
		} else {
			s->idle_since = 0;
		}
	}
	size_t n = s->out.len - s->sent;
	if (n > max)
		n = max;
	memcpy(buf, s->out.buf + s->sent, n);
	s->sent += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct log_stream *s = cls;
	pthread_mutex_lock(&lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&lock);
	strbuf_release(&s->out);
	free(s);
}

static int log_stream_open(struct api_request *req, struct error *err)
{
	struct log_session *session = session_find(req->params[0]);
	if (!session)
		return error_set(err, -ENOENT, "log session not found, or expired: create another");
	struct log_stream *s = xcalloc(1, sizeof(*s));
	s->api = req->api;
	s->conn = req->conn;
	snprintf(s->app_id, sizeof(s->app_id), "%s", session->app_id);
	snprintf(s->source, sizeof(s->source), "%s", session->source);
	snprintf(s->dyno, sizeof(s->dyno), "%s", session->dyno);
	s->backlog = session->lines;
	s->tail = session->tail;
	strbuf_init(&s->out, 0);
	/* A reconnection resumes after the last event the client saw. */
	const char *last = api_header(req, "Last-Event-ID");
	if (last && *last) {
		s->after = strtoull(last, NULL, 10);
		s->backlog = 0;
	}
	pthread_mutex_lock(&lock);
	s->next = streams;
	if (streams)
		streams->prev = s;
	streams = s;
	pthread_mutex_unlock(&lock);
	req->stream_read = stream_read;
	req->stream_free = stream_free;
	req->stream_cls = s;
	req->content_type = "text/event-stream; charset=utf-8";
	return 0;
}

/* ---- agents ---------------------------------------------------------------------------- */

/*
 * POST /agent/logs {"lines": [{app_id, source, dyno, usec, msg, cursor: {dyno_id, epoch,
 * offset}}]}: a line with a cursor the service has passed is a repeat and is dropped.
 */
static int agent_logs(struct api_request *req, struct error *err)
{
	json_t *lines = req->body ? json_object_get(req->body, "lines") : NULL;
	if (!json_is_array(lines))
		return error_set(err, -EINVAL, "'lines' must be a list");
	if (json_array_size(lines) > LOG_BATCH_MAX)
		return error_set(err, -EINVAL, "a batch holds at most %d lines", LOG_BATCH_MAX);
	struct logs *logs = api_logs(req->api);
	size_t i, added = 0;
	json_t *v;
	json_array_foreach(lines, i, v)
	{
		const char *app_id, *source, *dyno, *msg, *dyno_id = NULL;
		json_int_t usec = 0, epoch = 0, offset = 0;
		json_error_t jerr;
		if (json_unpack_ex(v, &jerr, 0, "{s:s, s:s, s:s, s:s, s?:I, s?:{s:s, s:I, s:I}}", "app_id", &app_id, "source",
				   &source, "dyno", &dyno, "msg", &msg, "usec", &usec, "cursor", "dyno_id", &dyno_id, "epoch",
				   &epoch, "offset", &offset) < 0)
			return error_set(err, -EINVAL, "log line %zu is invalid: %s", i, jerr.text);
		if (dyno_id && !logs_cursor_advance(logs, dyno_id, (uint64_t)epoch, (uint64_t)offset))
			continue;
		publish(req, app_id, (uint64_t)usec, source, dyno, msg);
		added++;
	}
	return api_reply(req, 200, json_pack("{s:I}", "accepted", (json_int_t)added));
}

/*
 * POST /agent/router-logs, text/plain: the routers' request lines, a line per request
 * ("app_id usec message\n" each), as `heroku[router]` lines of the apps' streams. A router
 * makes a line per request, tens of thousands a second: they come as text, not as a JSON
 * object each. The batch is checked whole before a line is published: a bad one changes
 * nothing.
 */
static int agent_router_logs(struct api_request *req, struct error *err)
{
	size_t n = 0;
	for (const char *p = req->text; *p; n++) {
		const char *nl = strchr(p, '\n');
		const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
		char *end = NULL;
		if (!sp || sp == p || !isdigit((unsigned char)sp[1]) || (strtoull(sp + 1, &end, 10), *end != ' ') ||
		    !utf8_valid(p, (size_t)(nl - p)))
			return error_set(err, -EINVAL, "router line %zu is invalid: 'app_id usec message', UTF-8, and a newline", n);
		p = nl + 1;
	}
	if (n > LOG_BATCH_MAX)
		return error_set(err, -EINVAL, "a batch holds at most %d lines", LOG_BATCH_MAX);
	_cleanup_free_ char *text = xstrdup(req->text);
	const char *woken = NULL; /* the app whose tails were woken last: a batch is mostly runs of one app */
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n'), *sp = strchr(p, ' '), *msg;
		*nl = '\0';
		*sp = '\0';
		uint64_t usec = strtoull(sp + 1, &msg, 10);
		publish_quietly(req, p, usec, "heroku", "router", msg + 1);
		if (!woken || !streq(woken, p))
			streams_wake(woken = p, false);
		p = nl + 1;
	}
	return api_reply(req, 200, json_pack("{s:I}", "accepted", (json_int_t)n));
}

static json_t *drain_json(const struct app *a, struct store_rows *rows)
{
	return json_pack("{s:s, s:s, s:s, s:n, s:{s:s, s:s}, s:s, s:s}", "id", store_rows_text(rows, 0), "url",
			 store_rows_text(rows, 1), "token", store_rows_text(rows, 2), "addon", "app", "id", a->id, "name",
			 a->name, "created_at", store_rows_text(rows, 3), "updated_at", store_rows_text(rows, 4));
}

static int drain_list(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT id, url, token, created_at, updated_at FROM log_drains WHERE app_id = ?",
			SV_ARGS(SV_TEXT(a.id)), &rows, err);
	if (r < 0)
		return r;
	json_t *list = json_array();
	while ((r = store_rows_next(rows, err)) > 0)
		json_array_append_new(list, drain_json(&a, rows));
	req->range_fields = "url,id";
	api_reply(req, 200, list);
	return r;
}

static int drain_create(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	const char *url;
	r = api_body_string(req, "url", true, &url, err);
	if (r >= 0)
		r = log_drain_url_check(url, err);
	if (r < 0)
		return r;
	int64_t n;
	r = store_query_int(req->store, "SELECT COUNT(*) FROM log_drains WHERE app_id = ?", SV_ARGS(SV_TEXT(a.id)), &n, err);
	if (r < 0)
		return r;
	if (n >= LOG_DRAINS_PER_APP)
		return error_set(err, -EINVAL, "app '%s' has %d drains already: that is the most", a.name, LOG_DRAINS_PER_APP);
	char id[ID_STRING_MAX], now[TIME_ISO_MAX];
	id_new(id);
	time_now_iso(now);
	_cleanup_free_ char *token = xasprintf("d.%s", id);
	r = store_exec(req->store,
		       "INSERT INTO log_drains (id, app_id, url, token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		       SV_ARGS(SV_TEXT(id), SV_TEXT(a.id), SV_TEXT(url), SV_TEXT(token), SV_TEXT(now), SV_TEXT(now)), err);
	if (r == -EEXIST)
		return error_set(err, -EEXIST, "app '%s' already drains to '%s'", a.name, url);
	if (r < 0)
		return r;
	/* The drain runs from now on; should the commit fail, the next start forgets it. */
	drains_load(req);
	struct log_drain *d;
	r = log_drain_new(id, a.id, a.name, url, token, &d, err);
	if (r < 0)
		return r;
	drains = xrealloc(drains, (n_drains + 1) * sizeof(*drains));
	drains[n_drains++] = d;
	api_set_action(req, "Add drain %s to %s", url, a.name);
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = store_query(req->store, "SELECT id, url, token, created_at, updated_at FROM log_drains WHERE id = ?",
			SV_ARGS(SV_TEXT(id)), &rows, err);
	if (r < 0 || (r = store_rows_next(rows, err)) <= 0)
		return r < 0 ? r : -EIO;
	return api_reply(req, 201, drain_json(&a, rows));
}

static int drain_remove(struct api_request *req, struct error *err)
{
	struct app a;
	int r = api_app_load(req, req->params[0], &a, err);
	if (r < 0)
		return r;
	/* A URL names the drain too: its slashes arrive escaped, as %2F (see api-http.c). */
	_cleanup_free_ char *url = xstrdup(req->params[1]);
	char *w = url;
	for (const char *p = url; *p; p++) {
		if (p[0] == '%' && p[1] == '2' && (p[2] == 'F' || p[2] == 'f')) {
			*w++ = '/';
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	_cleanup_rows_ struct store_rows *rows = NULL;
	r = api_query_row(req,
			  "SELECT id, url, token, created_at, updated_at FROM log_drains WHERE app_id = ? AND (id = ? OR url = ? OR token = ?)",
			  SV_ARGS(SV_TEXT(a.id), SV_TEXT(req->params[1]), SV_TEXT(url), SV_TEXT(req->params[1])), &rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return error_set(err, -ENOENT, "drain '%s' of app '%s' not found", req->params[1], a.name);
	json_t *gone = drain_json(&a, rows);
	const char *id = json_string_value(json_object_get(gone, "id"));
	r = store_exec(req->store, "DELETE FROM log_drains WHERE id = ?", SV_ARGS(SV_TEXT(id)), err);
	if (r < 0) {
		json_decref(gone);
		return r;
	}
	drains_load(req);
	for (size_t i = 0; i < n_drains; i++)
		if (streq(log_drain_id(drains[i]), id)) {
			log_drain_free(drains[i]);
			drains[i] = drains[--n_drains];
			break;
		}
	api_set_action(req, "Remove drain %s from %s", json_string_value(json_object_get(gone, "url")), a.name);
	return api_reply(req, 200, gone);
}

const struct api_route api_log_routes[] = {
	{ "GET", "/apps/:app/log-drains", drain_list, 0 },
	{ "POST", "/apps/:app/log-drains", drain_create, 0 },
	{ "DELETE", "/apps/:app/log-drains/:drain", drain_remove, 0 },
	{ "POST", "/apps/:app/log-sessions", log_session_create, 0 },
	{ "GET", "/log-stream/:session", log_stream_open, API_ROUTE_PUBLIC },
	{ "POST", "/agent/logs", agent_logs, API_ROUTE_AGENT | API_ROUTE_MEMORY },
	{ "POST", "/agent/router-logs", agent_router_logs, API_ROUTE_AGENT | API_ROUTE_MEMORY | API_ROUTE_TEXT },
	{},
};
