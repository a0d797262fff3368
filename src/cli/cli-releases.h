/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>

#include "base/error.h"
#include "cli/cli.h"

/*
 * The newest release of an app (asked with `Range: version ..; max=1, order=desc`), whose
 * version the commands that make a release print as "done, vN". *ret is the caller's.
 */
int cli_release_latest(struct cli *c, const char *app, json_t **ret, struct error *err);
