/* SPDX-License-Identifier: MIT */
#include "logs/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/alloc.h"
#include "base/macro.h"

/* One app's ring of lines. */
struct app_stream {
	char *app_id;
	struct log_line lines[LOGS_LINES_PER_APP];
	size_t head;  /* index of the oldest line */
	size_t count;
	uint64_t seq; /* of the newest line */
	struct app_stream *next;
};

struct cursor {
	char *dyno_id;
	uint64_t epoch, offset;
	struct cursor *next;
};

#define BUCKETS 256

struct logs {
	struct app_stream *apps[BUCKETS];
	struct cursor *cursors[BUCKETS];
	struct app_stream *last;  /* the stream appended to last: a batch is mostly one app's */
	time_t stamp_secs;        /* the second stamp[] shows */
	char stamp[20];           /* "2026-11-26T10:20:30", formatted once a second, not a line */
};

static unsigned hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % BUCKETS;
}

struct logs *logs_new(void)
{
	return xcalloc(1, sizeof(struct logs));
}

static void stream_free(struct app_stream *a)
{
	for (size_t i = 0; i < a->count; i++)
		free(a->lines[(a->head + i) % LOGS_LINES_PER_APP].text);
	free(a->app_id);
	free(a);
}

void logs_free(struct logs *l)
{
	if (!l)
		return;
	for (size_t b = 0; b < BUCKETS; b++) {
		while (l->apps[b]) {
			struct app_stream *a = l->apps[b];
			l->apps[b] = a->next;
			stream_free(a);
		}
		while (l->cursors[b]) {
			struct cursor *c = l->cursors[b];
			l->cursors[b] = c->next;
			free(c->dyno_id);
			free(c);
		}
	}
	free(l);
}

static struct app_stream *stream_find(struct logs *l, const char *app_id, bool create)
{
	if (l->last && streq(l->last->app_id, app_id))
		return l->last;
	unsigned b = hash(app_id);
	for (struct app_stream *a = l->apps[b]; a; a = a->next)
		if (streq(a->app_id, app_id))
			return l->last = a;
	if (!create)
		return NULL;
	struct app_stream *a = xcalloc(1, sizeof(*a));
	a->app_id = xstrdup(app_id);
	a->next = l->apps[b];
	l->apps[b] = a;
	return l->last = a;
}

/* A copy of s into dst[size], cut to fit. */
static void copy_cut(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void stream_push(struct app_stream *a, const char *source, const char *dyno, char *text)
{
	size_t idx;
	if (a->count == LOGS_LINES_PER_APP) {
		idx = a->head;
		free(a->lines[idx].text);
		a->head = (a->head + 1) % LOGS_LINES_PER_APP;
	} else {
		idx = (a->head + a->count) % LOGS_LINES_PER_APP;
		a->count++;
	}
	struct log_line *line = &a->lines[idx];
	line->seq = ++a->seq;
	copy_cut(line->source, sizeof(line->source), source);
	copy_cut(line->dyno, sizeof(line->dyno), dyno);
	line->text = text;
}

/* "2026-11-26T10:20:30.123456+00:00" into out[LOGS_STAMP_LEN]: gmtime() once a second. */
#define LOGS_STAMP_LEN 32
static void stamp(struct logs *l, uint64_t usec, char *out)
{
	time_t secs = (time_t)(usec / 1000000u);
	if (secs != l->stamp_secs || !l->stamp[0]) {
		struct tm tm;
		gmtime_r(&secs, &tm);
		if (strftime(l->stamp, sizeof(l->stamp), "%Y-%m-%dT%H:%M:%S", &tm) != sizeof(l->stamp) - 1)
			snprintf(l->stamp, sizeof(l->stamp), "%s", "0000-00-00T00:00:00"); /* past year 9999 */
		l->stamp_secs = secs;
	}
	memcpy(out, l->stamp, 19);
	out[19] = '.';
	unsigned frac = (unsigned)(usec % 1000000u);
	for (int i = 25; i >= 20; i--, frac /= 10)
		out[i] = (char)('0' + frac % 10);
	memcpy(out + 26, "+00:00", 6);
}

uint64_t logs_append(struct logs *l, const char *app_id, uint64_t usec, const char *source, const char *dyno,
		     const char *msg)
{
	if (!usec) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		usec = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	}
	char when[LOGS_STAMP_LEN];
	stamp(l, usec, when);
	struct app_stream *a = stream_find(l, app_id, true);
	size_t len = strlen(msg), source_len = strlen(source), dyno_len = strlen(dyno);
	/* Trailing newlines are not part of the message. */
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	size_t off = 0;
	do {
		/* "<when> <source>[<dyno>]: <chunk>" */
		size_t chunk = len - off > LOGS_LINE_MAX ? LOGS_LINE_MAX : len - off;
		char *text = xmalloc(LOGS_STAMP_LEN + 1 + source_len + 1 + dyno_len + 3 + chunk + 1), *p = text;
		p = mempcpy(p, when, LOGS_STAMP_LEN);
		*p++ = ' ';
		p = mempcpy(p, source, source_len);
		*p++ = '[';
		p = mempcpy(p, dyno, dyno_len);
		p = mempcpy(p, "]: ", 3);
		p = mempcpy(p, msg + off, chunk);
		*p = '\0';
		stream_push(a, source, dyno, text);
		off += chunk;
	} while (off < len);
	return a->seq;
}

bool logs_dyno_matches(const char *f, const char *d)
{
	if (!f || !*f)
		return true;
	size_t n = strlen(f);
	return strncmp(d, f, n) == 0 && (d[n] == '\0' || (d[n] == '.' && !strchr(f, '.')));
}

size_t logs_read(struct logs *l, const char *app_id, uint64_t after, const char *source, const char *dyno, size_t last_n,
		 void (*fn)(const struct log_line *line, void *userdata), void *userdata)
{
	struct app_stream *a = stream_find(l, app_id, false);
	if (!a)
		return 0;
	/* With last_n, find where to start by counting matches from the newest back. */
	size_t start = 0;
	if (last_n) {
		size_t matched = 0;
		for (size_t i = a->count; i-- > 0;) {
			const struct log_line *line = &a->lines[(a->head + i) % LOGS_LINES_PER_APP];
			if (line->seq <= after)
				break;
			if ((source && *source && !streq(source, line->source)) || !logs_dyno_matches(dyno, line->dyno))
				continue;
			if (++matched == last_n) {
				start = i;
				break;
			}
		}
	}
	size_t passed = 0;
	for (size_t i = start; i < a->count; i++) {
		const struct log_line *line = &a->lines[(a->head + i) % LOGS_LINES_PER_APP];
		if (line->seq <= after)
			continue;
		if ((source && *source && !streq(source, line->source)) || !logs_dyno_matches(dyno, line->dyno))
			continue;
		fn(line, userdata);
		passed++;
	}
	return passed;
}

uint64_t logs_last_seq(struct logs *l, const char *app_id)
{
	struct app_stream *a = stream_find(l, app_id, false);
	return a ? a->seq : 0;
}

void logs_forget(struct logs *l, const char *app_id)
{
	unsigned b = hash(app_id);
	for (struct app_stream **p = &l->apps[b]; *p; p = &(*p)->next)
		if (streq((*p)->app_id, app_id)) {
			struct app_stream *a = *p;
			*p = a->next;
			if (l->last == a)
				l->last = NULL;
			stream_free(a);
			return;
		}
}

bool logs_cursor_advance(struct logs *l, const char *dyno_id, uint64_t epoch, uint64_t offset)
{
	unsigned b = hash(dyno_id);
	struct cursor *c;
	for (c = l->cursors[b]; c; c = c->next)
		if (streq(c->dyno_id, dyno_id))
			break;
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		c->dyno_id = xstrdup(dyno_id);
		c->next = l->cursors[b];
		l->cursors[b] = c;
	} else if (epoch < c->epoch || (epoch == c->epoch && offset <= c->offset)) {
		return false;
	}
	c->epoch = epoch;
	c->offset = offset;
	return true;
}
