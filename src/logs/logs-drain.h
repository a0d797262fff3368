/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A log drain: forwards an app's log lines to a syslog endpoint (`syslog://host:port`, TCP,
 * RFC 5424 frames with octet counting, as Heroku sends them) or an HTTP(S) endpoint
 * (`https://...`: POSTed batches of the same frames, `Content-Type: application/logplex-1`).
 *
 * Each drain has a thread of its own and a bounded queue (LOG_DRAIN_QUEUE lines): sending
 * never blocks the caller, a drain that is down or slow never slows the app or the other
 * drains. While it is down the drain retries with a growing delay and keeps the newest lines;
 * what falls out of the queue is counted and announced on the drain itself once it is back
 * (`Error L10 (output buffer overflow): N messages dropped`).
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define LOG_DRAIN_QUEUE 10000

struct log_drain;

/* Checks a drain URL: -EINVAL with a message saying what is accepted. */
int log_drain_url_check(const char *url, struct error *err);

/* Starts a drain (its thread). token identifies the drain to the receiver (Logplex-Drain-Token). */
int log_drain_new(const char *id, const char *app_id, const char *app_name, const char *url, const char *token,
		  struct log_drain **ret, struct error *err);

/* Stops the drain's thread and frees it (NULL is fine). Lines still queued are dropped. */
void log_drain_free(struct log_drain *d);

const char *log_drain_id(const struct log_drain *d);
const char *log_drain_app_id(const struct log_drain *d);

/* Queues a line; never blocks. usec: microseconds since the epoch. */
void log_drain_send(struct log_drain *d, uint64_t usec, const char *source, const char *dyno, const char *msg);

/* Formats one RFC 5424 frame with its octet count ("83 <190>1 2026-...Z host app web.1 - msg"). */
char *log_drain_frame(uint64_t usec, const char *app_name, const char *source, const char *dyno, const char *msg);
