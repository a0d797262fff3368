/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Formation: how many dynos of each process type an app runs, and of what size. The
 * process types and their commands come from the released slug (its Procfile); quantity and
 * size are the user's. The process type `release` is the release phase, not a formation type.
 */

#include "api/api-apps.h"
#include "base/dyno-size.h"

/*
 * Makes the formation follow the process types of a slug (inside the caller's transaction):
 * new types appear (web at 1, others at 0, as Heroku does on the first deploy), commands are
 * updated, types the slug no longer has are removed.
 */
int api_formation_sync(struct api_request *req, const struct app *app, const char *slug_id, struct error *err);
