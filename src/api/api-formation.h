/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Formation: how many dynos of each process type an app runs, and of what size. The
 * process types and their commands come from the released slug (its Procfile); quantity and
 * size are the user's.
 */

#include "api/api-apps.h"

struct dyno_size {
	const char *name;       /* as the API shows it: "Private-M" */
	unsigned long memory_mb;
	unsigned cpu_shares;    /* relative CPU weight */
	unsigned pids_max;
};

/* The known dyno sizes, and the default one for a new process type. */
extern const struct dyno_size dyno_sizes[];
extern const size_t dyno_sizes_count;
#define DYNO_SIZE_DEFAULT "Private-S"

/* Finds a size by name, case-insensitively ("private-m" is "Private-M"); NULL if unknown. */
const struct dyno_size *dyno_size_find(const char *name);

/*
 * Makes the formation follow the process types of a slug (inside the caller's transaction):
 * new types appear (web at 1, others at 0, as Heroku does on the first deploy), commands are
 * updated, types the slug no longer has are removed.
 */
int api_formation_sync(struct api_request *req, const struct app *app, const char *slug_id, struct error *err);
