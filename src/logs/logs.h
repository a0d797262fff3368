/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The log service's memory: one time-ordered stream per app, as Heroku's Logplex keeps it.
 * Every line carries its source ("app" for what dynos print and the API's actions, "heroku"
 * for the platform's) and its dyno ("web.1", "router", "api"), so readers can filter; the
 * newest LOGS_LINES_PER_APP lines of each app are kept, older ones fall off.
 *
 * Lines are stored formatted as Heroku shows them:
 *
 *   2026-11-26T10:20:30.123456+00:00 app[web.1]: message
 *
 * A message longer than LOGS_LINE_MAX bytes is split into several lines. Each line of an app
 * has a sequence number, growing by one, that readers resume from (SSE's Last-Event-ID).
 *
 * Not thread-safe: the API calls it from its one thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGS_LINES_PER_APP 1500
#define LOGS_LINE_MAX 10000

struct logs;

struct log_line {
	uint64_t seq;
	char source[8];  /* "app" or "heroku" */
	char dyno[48];   /* "web.1", "router", "api", "build" */
	char *text;      /* the whole formatted line */
};

struct logs *logs_new(void);
void logs_free(struct logs *l);

/*
 * Appends a message to an app's stream, at time usec (microseconds since the epoch; 0 for
 * now). Returns the sequence number of the last line it made.
 */
uint64_t logs_append(struct logs *l, const char *app_id, uint64_t usec, const char *source, const char *dyno,
		     const char *msg);

/*
 * Calls fn for each line of the app after sequence number `after` that matches the filters
 * (source and dyno may be NULL; a dyno "web" matches web.1, web.2 ...), oldest first; with
 * last_n > 0, only the newest last_n of those. Returns how many it passed.
 */
size_t logs_read(struct logs *l, const char *app_id, uint64_t after, const char *source, const char *dyno, size_t last_n,
		 void (*fn)(const struct log_line *line, void *userdata), void *userdata);

/* The sequence number of the app's newest line (0 when it has none). */
uint64_t logs_last_seq(struct logs *l, const char *app_id);

/* Drops an app's stream (the app was destroyed). */
void logs_forget(struct logs *l, const char *app_id);

/*
 * Cursors of the agents' shipping, so that a batch sent again after an agent restart adds
 * nothing twice: the last (epoch, offset) of each dyno's output accepted. Returns true when
 * (epoch, offset) is past the cursor (and moves it), false for a line already seen.
 */
bool logs_cursor_advance(struct logs *l, const char *dyno_id, uint64_t epoch, uint64_t offset);

/* True when the dyno filter f ("web", "web.1" or NULL) matches dyno d. */
bool logs_dyno_matches(const char *f, const char *d);
