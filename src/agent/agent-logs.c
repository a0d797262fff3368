/* SPDX-License-Identifier: MIT */
#include "agent/agent-logs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/validate.h"

static uint64_t now_usec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static char *output_path(struct agent *a, const struct agent_dyno *d)
{
	return xasprintf("%s/dynos/%s/sandbox/output.log", a->state_dir, d->id);
}

static char *cursor_path(struct agent *a, const struct agent_dyno *d)
{
	return xasprintf("%s/dynos/%s/log.cursor", a->state_dir, d->id);
}

static void cursor_save(struct agent *a, const struct agent_dyno *d)
{
	_cleanup_free_ char *path = cursor_path(a, d);
	_cleanup_free_ char *text = xasprintf("%llu %llu\n", (unsigned long long)d->log_epoch, (unsigned long long)d->log_acked);
	struct error err = { 0 };
	if (file_write_atomic(path, text, strlen(text), 0600, &err) < 0)
		log_warning("agent: %s", err.message);
}

void agent_logs_load_cursor(struct agent *a, struct agent_dyno *d)
{
	_cleanup_free_ char *path = cursor_path(a, d);
	_cleanup_free_ char *text = NULL;
	unsigned long long epoch = 0, offset = 0;
	if (file_read(path, 128, &text, NULL, NULL) >= 0 && sscanf(text, "%llu %llu", &epoch, &offset) == 2) {
		d->log_epoch = epoch;
		d->log_acked = d->log_read = offset;
	}
}

void agent_logs_new_epoch(struct agent *a, struct agent_dyno *d)
{
	d->log_epoch++;
	d->log_read = d->log_acked = 0;
	strbuf_reset(&d->log_partial);
	cursor_save(a, d);
}

static void queue_line(struct agent *a, const char *app_id, const char *source, const char *dyno, const char *msg,
		       size_t len, const struct agent_dyno *cursor_of, uint64_t offset)
{
	/* Only what dynos print is dropped when the queue is full; the platform's few lines, which
	 * say what happened (L10 among them), get through. */
	if (json_array_size(a->log_queue) >= LOG_QUEUE_MAX && (streq(source, "app") || json_array_size(a->log_queue) >= 2 * LOG_QUEUE_MAX)) {
		a->log_dropped++;
		return;
	}
	if (a->log_dropped) {
		/* Heroku's L10: the drain could not keep up; say how much went. */
		char note[128];
		snprintf(note, sizeof(note), "Error L10 (output buffer overflow): %llu messages dropped",
			 (unsigned long long)a->log_dropped);
		a->log_dropped = 0;
		queue_line(a, app_id, "heroku", "logplex", note, strlen(note), NULL, 0);
	}
	json_t *line = json_pack("{s:s, s:s, s:s, s:s%, s:I}", "app_id", app_id, "source", source, "dyno", dyno, "msg",
				 msg, len, "usec", (json_int_t)now_usec());
	if (!line)
		/* Not valid UTF-8: jansson refuses it. Keep what it is, replacing the message. */
		line = json_pack("{s:s, s:s, s:s, s:s, s:I}", "app_id", app_id, "source", source, "dyno", dyno, "msg",
				 "(a line that is not UTF-8 was dropped)", "usec", (json_int_t)now_usec());
	if (cursor_of)
		json_object_set_new(line, "cursor",
				    json_pack("{s:s, s:I, s:I}", "dyno_id", cursor_of->id, "epoch",
					      (json_int_t)cursor_of->log_epoch, "offset", (json_int_t)offset));
	json_array_append_new(a->log_queue, line);
}

void agent_logs_queue(struct agent *a, const char *app_id, const char *source, const char *dyno, const char *msg)
{
	queue_line(a, app_id, source, dyno, msg, strlen(msg), NULL, 0);
}

void agent_logs_collect(struct agent *a, struct agent_dyno *d)
{
	if (json_array_size(a->log_queue) >= LOG_QUEUE_MAX)
		return; /* backpressure: the dyno keeps writing to its file meanwhile */
	_cleanup_free_ char *path = output_path(a, d);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	uint64_t size = (uint64_t)st.st_size;
	if (size < d->log_read) {
		/* Emptied by someone else: start over. */
		agent_logs_new_epoch(a, d);
	}
	while (d->log_read < size && json_array_size(a->log_queue) < LOG_QUEUE_MAX) {
		char buf[65536];
		size_t want = size - d->log_read < sizeof(buf) ? (size_t)(size - d->log_read) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)d->log_read);
		if (n <= 0)
			break;
		bool full = false;
		for (ssize_t i = 0; i < n && !full; i++) {
			if (buf[i] == '\n' || d->log_partial.len >= 10000) {
				if (json_array_size(a->log_queue) >= LOG_QUEUE_MAX) {
					/* Full: this line waits in the file (log_read stays before it). */
					d->log_read -= d->log_partial.len;
					strbuf_reset(&d->log_partial);
					full = true;
					break;
				}
				d->log_read++;
				if (buf[i] != '\n')
					strbuf_addch(&d->log_partial, buf[i]);
				queue_line(a, d->app_id, "app", d->name, d->log_partial.buf, d->log_partial.len, d, d->log_read);
				strbuf_reset(&d->log_partial);
			} else {
				d->log_read++;
				strbuf_addch(&d->log_partial, buf[i]);
			}
		}
		if (full)
			break;
	}
	if (size - d->log_read > LOG_FILE_BEHIND_MAX) {
		/* The dyno writes faster than its lines can be shipped: what is unread goes, and the
		 * file is emptied so that it cannot fill the disk. */
		char note[160];
		snprintf(note, sizeof(note), "Error L10 (output buffer overflow): %llu bytes of output dropped",
			 (unsigned long long)(size - d->log_read));
		log_info("%s heroku[%s]: %s", d->app_name, d->name, note);
		queue_line(a, d->app_id, "heroku", d->name, note, strlen(note), NULL, 0);
		if (ftruncate(fd, 0) < 0)
			log_warning("agent: empty the output of dyno '%s' of '%s': %m", d->name, d->app_name);
		agent_logs_new_epoch(a, d);
		return;
	}
	/* A file fully shipped and large: empty it, unless the dyno wrote meanwhile. */
	if (d->log_acked == size && size > LOG_FILE_ROTATE && d->log_partial.len == 0 && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size == size && ftruncate(fd, 0) == 0)
		agent_logs_new_epoch(a, d);
}

/* The id of the app called name[len], from the desired state: a lookup per router line. */
static const char *app_id_of(struct agent *a, const char *name, size_t len)
{
	if (!a->router_app_ids) {
		a->router_app_ids = json_object();
		size_t i;
		json_t *app;
		json_array_foreach(json_object_get(a->desired, "apps"), i, app)
		{
			const char *n = json_string_value(json_object_get(app, "name"));
			json_t *id = json_object_get(app, "id");
			if (n && json_is_string(id))
				json_object_set(a->router_app_ids, n, id);
		}
	}
	return json_string_value(json_object_getn(a->router_app_ids, name, len));
}

static void router_line(struct agent *a, char *line)
{
	/* "<stamp> <app> heroku[router]: <message>" */
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp2 || strncmp(sp2 + 1, "heroku[router]: ", 16) != 0)
		return;
	const char *app_id = app_id_of(a, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (!app_id)
		return; /* "-": a host no app answers to */
	*sp1 = '\0';
	const char *msg = sp2 + 17;
	if (a->router_queue.len - a->router_head >= LOG_ROUTER_QUEUE_BYTES) {
		a->log_dropped++;
		return;
	}
	/* The service takes UTF-8 only (its streams end up in JSON): a line that is not is dropped. */
	if (!utf8_valid(msg, strlen(msg))) {
		a->log_dropped++;
		return;
	}
	uint64_t usec = time_parse_iso_usec(line);
	if (!usec)
		usec = now_usec();
	/* "app_id usec message\n", without printf: a line per request. */
	char num[24], *p = num + sizeof(num);
	do
		*--p = (char)('0' + usec % 10);
	while (usec /= 10);
	struct strbuf *q = &a->router_queue;
	strbuf_addstr(q, app_id);
	strbuf_addch(q, ' ');
	strbuf_add(q, p, (size_t)(num + sizeof(num) - p));
	strbuf_addch(q, ' ');
	strbuf_addstr(q, msg);
	strbuf_addch(q, '\n');
	a->router_queued++;
}

void agent_logs_collect_routers(struct agent *a, bool behind)
{
	for (size_t i = 0; i < a->n_spaces; i++) {
		struct agent_space *s = a->spaces[i];
		if (s->router_log_behind != behind)
			continue;
		s->router_log_behind = false;
		_cleanup_free_ char *path = xasprintf("%s/routers/%s.log", a->state_dir, s->id);
		/* Read-only: a file closed after writing would wake the router's watch for its table. */
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		uint64_t size = (uint64_t)st.st_size;
		if (!s->router_log_seen) {
			s->router_log_seen = true;
			s->router_log_read = size;
		}
		if (size < s->router_log_read)
			s->router_log_read = 0;
		/* Whole lines, LOG_ROUTER_SLICE bytes at most: the rest in the next slice. */
		if (s->router_log_read < size && a->router_queue.len - a->router_head < LOG_ROUTER_QUEUE_BYTES) {
			char buf[LOG_ROUTER_SLICE + 1];
			uint64_t left = size - s->router_log_read;
			ssize_t n = pread(fd, buf, left < LOG_ROUTER_SLICE ? (size_t)left : LOG_ROUTER_SLICE,
					  (off_t)s->router_log_read);
			char *end = n > 0 ? memrchr(buf, '\n', (size_t)n) : NULL;
			if (end) { /* else a line still being written */
				*end = '\0';
				s->router_log_read += (uint64_t)(end - buf) + 1;
				char *save = NULL;
				for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
					router_line(a, line);
			}
			/* More whole lines wait (a line still being written waits for the tick). */
			s->router_log_behind = end && s->router_log_read < size;
		}
		/* Read to the end and large: empty it (the router appends, so it carries on at 0). */
		if (s->router_log_read == size && size > LOG_FILE_ROTATE && fstat(fd, &st) == 0 &&
		    (uint64_t)st.st_size == size && truncate(path, 0) == 0)
			s->router_log_read = 0;
	}
	a->router_behind = false;
	for (size_t i = 0; i < a->n_spaces; i++)
		a->router_behind |= a->spaces[i]->router_log_behind;
}

struct shipment {
	struct agent *agent;
	json_t *lines;
	char *router;        /* the routers' lines it carries, text */
	size_t router_lines;
};

static void shipment_free(struct shipment *s)
{
	json_decref(s->lines);
	free(s->router);
	free(s);
}

static void on_shipped(void *userdata, long status, const struct strbuf *body, const char *error)
{
	struct shipment *s = userdata;
	struct agent *a = s->agent;
	a->log_shipping = false;
	log_debug("agent: shipped %zu log lines: %ld", json_array_size(s->lines), status);
	if (status != 200) {
		static long last = -1;
		if (status != last)
			log_warning("agent: ship logs: %s", error ? error : body->buf);
		last = status;
		/* Back to the front of the queues, in order. */
		json_t *q = s->lines;
		json_array_extend(q, a->log_queue);
		json_decref(a->log_queue);
		a->log_queue = json_incref(q);
		if (s->router) {
			struct strbuf back = STRBUF_INIT;
			strbuf_addstr(&back, s->router);
			strbuf_add(&back, a->router_queue.buf + a->router_head, a->router_queue.len - a->router_head);
			strbuf_release(&a->router_queue);
			a->router_queue = back;
			a->router_head = 0;
			a->router_queued += s->router_lines;
		}
		shipment_free(s);
		return;
	}
	/* Acknowledged: move the cursors of the dynos these lines came from. */
	size_t i;
	json_t *line;
	json_array_foreach(s->lines, i, line)
	{
		json_t *c = json_object_get(line, "cursor");
		if (!c)
			continue;
		const char *id = json_string_value(json_object_get(c, "dyno_id"));
		for (size_t k = 0; k < a->n_dynos; k++) {
			struct agent_dyno *d = a->dynos[k];
			if (!streq(d->id, id) || (uint64_t)json_integer_value(json_object_get(c, "epoch")) != d->log_epoch)
				continue;
			uint64_t off = (uint64_t)json_integer_value(json_object_get(c, "offset"));
			if (off > d->log_acked) {
				d->log_acked = off;
				cursor_save(a, d);
			}
		}
	}
	shipment_free(s);
	/* Keep up with a busy dyno: the next batch goes now, not at the next tick (a busy router's
	 * next slice comes with its own timer). */
	for (size_t k = 0; k < a->n_dynos; k++)
		agent_logs_collect(a, a->dynos[k]);
	agent_logs_ship(a);
}

/* The routers' lines for a shipment: whole lines, at most LOG_ROUTER_BATCH of them and about LOG_BATCH_BYTES. */
static void router_take(struct agent *a, struct shipment *s)
{
	const char *start = a->router_queue.buf + a->router_head;
	size_t avail = a->router_queue.len - a->router_head, len = 0, n = 0;
	while (n < LOG_ROUTER_BATCH && len < avail && len < LOG_BATCH_BYTES) {
		const char *nl = memchr(start + len, '\n', avail - len);
		if (!nl)
			break;
		len = (size_t)(nl - start) + 1;
		n++;
	}
	s->router = xstrndup(start, len);
	s->router_lines = n;
	a->router_queued -= n;
	a->router_head += len;
	/* Shipped bytes are dropped when they are all or most of the buffer, not at each batch. */
	if (a->router_head == a->router_queue.len) {
		strbuf_reset(&a->router_queue);
		a->router_head = 0;
	} else if (a->router_head > a->router_queue.len / 2) {
		memmove(a->router_queue.buf, a->router_queue.buf + a->router_head, a->router_queue.len - a->router_head);
		a->router_queue.len -= a->router_head;
		a->router_queue.buf[a->router_queue.len] = '\0';
		a->router_head = 0;
	}
}

/* The dynos' and the platform's lines for a shipment. */
static void lines_take(struct agent *a, struct shipment *s)
{
	/* At most LOG_BATCH lines and about LOG_BATCH_BYTES of JSON: the API refuses bodies over 1 MiB. */
	size_t n = 0, bytes = 0;
	while (n < json_array_size(a->log_queue) && n < LOG_BATCH && bytes < LOG_BATCH_BYTES) {
		json_t *line = json_array_get(a->log_queue, n);
		bytes += 256 + 2 * json_string_length(json_object_get(line, "msg"));
		json_array_append(s->lines, line);
		n++;
	}
	json_t *rest = json_array();
	for (size_t i = n; i < json_array_size(a->log_queue); i++)
		json_array_append(rest, json_array_get(a->log_queue, i));
	json_decref(a->log_queue);
	a->log_queue = rest;
}

void agent_logs_ship(struct agent *a)
{
	bool lines = json_array_size(a->log_queue) > 0;
	/* A busy router's lines go in whole batches: the next slice fills one. */
	bool router = a->router_queued >= (a->router_behind ? LOG_ROUTER_BATCH : 1);
	if (a->log_shipping || (!lines && !router))
		return;
	struct shipment *s = xcalloc(1, sizeof(*s));
	s->agent = a;
	s->lines = json_array();
	/* One kind a shipment, taking turns when both wait: neither holds the other up. */
	_cleanup_free_ char *text = NULL;
	const char *path, *type;
	if (router && (!lines || !a->log_router_turn)) {
		router_take(a, s);
		path = "/agent/router-logs";
		type = "text/plain; charset=utf-8";
		a->log_router_turn = true;
	} else {
		lines_take(a, s);
		json_t *body = json_pack("{s:O}", "lines", s->lines);
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		path = "/agent/logs";
		type = "application/json";
		a->log_router_turn = false;
	}
	struct error err = { 0 };
	if (http_request_as(a->http, "POST", path, s->router ? s->router : text, type, NULL, 30, on_shipped, s, &err) < 0) {
		log_warning("agent: ship logs: %s", err.message);
		on_shipped(s, 0, &(struct strbuf)STRBUF_INIT, err.message);
		return;
	}
	a->log_shipping = true;
}
