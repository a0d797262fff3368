/* SPDX-License-Identifier: MIT */
#pragma once

/* Time stamps as the Platform API shows them: ISO 8601 in UTC, "2026-11-26T09:37:46Z". */

#include <stdint.h>
#include <time.h>

#define TIME_ISO_MAX 32

/* Writes t (seconds since the epoch) as ISO 8601 UTC into ret and returns ret. */
char *time_iso(time_t t, char ret[static TIME_ISO_MAX]);

/* Writes the current time as ISO 8601 UTC into ret and returns ret. */
char *time_now_iso(char ret[static TIME_ISO_MAX]);

/* Microseconds of a monotonic clock, for measuring durations. */
uint64_t time_mono_usec(void);

/*
 * "2026-01-02T03:04:05.678901+00:00" or "2026-01-02T03:04:05+00:00" (UTC, as routers and
 * nginx write it: what follows the seconds and their fraction is not read) -> microseconds
 * since the epoch; 0 when s does not start with such a time, or one before 1970. Called for
 * each request's log line: no strptime(), no timegm().
 */
uint64_t time_parse_iso_usec(const char *s);
