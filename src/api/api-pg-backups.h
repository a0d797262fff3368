/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PostgreSQL backups (docs/addons.md, "Backups"): the routes are api_pg_backup_routes (api.h);
 * this header is the daily schedule's clock, kept pure so that it is tested with any time.
 */

#include <stdbool.h>
#include <time.h>

#include "api/api.h"

/* "YYYY-MM-DD" */
#define PG_BACKUP_DAY_MAX 11

/*
 * Parses a schedule's time, Heroku's `--at '02:00 UTC'`: an hour "H" or "HH", optionally with
 * ":00", then optionally " UTC" (the only time zone cove takes: others are refused with the
 * way to write the hour in UTC). Its hour (0-23) in *ret_hour; -EINVAL with a message.
 */
int pg_backup_schedule_parse(const char *at, unsigned *ret_hour, struct error *err);

/*
 * Whether a daily schedule at hour (UTC) is due at now: the hour has come today (UTC), and
 * today is not last_day ("YYYY-MM-DD" of the day last served, or NULL/"" for none). today
 * receives now's UTC date, to be stored as the new last_day when the capture starts. A coved
 * that was down at the hour catches up once when it comes back the same day.
 */
bool pg_backup_schedule_due(unsigned hour, const char *last_day, time_t now, char today[static PG_BACKUP_DAY_MAX]);

/*
 * Called by the API's ticker thread about every 200 ms with the API's lock held (as handlers
 * are): at most every 30 s, writes ended backups to the store and starts the captures whose
 * schedule is due, each audited as the scheduler's.
 */
void api_pg_backups_tick(struct api *api, struct store *store);
