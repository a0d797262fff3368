/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The frame most commands share: find what the command works on, ask the API, and show the
 * answer, as the API's JSON with --json, else in Heroku's shapes (cli-output.h). A command
 * written with these keeps only what is its own: the path, the columns, the words.
 *
 * The paths of the app's commands are formats as for cli_path() whose first %s is the app
 * (found as cli_app() finds it) and whose second, when there is one, is arg: a command names
 * the app's thing it works on, "/apps/%s/domains/%s" with the hostname it was given.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "cli/cli-output.h"
#include "cli/cli.h"

/* With --json, prints value and returns true: the command has nothing more to print. */
bool cli_show_json(const struct cli *c, json_t *value);

/*
 * GETs path into *ret and, with --json, prints it. Returns 1 when *ret is the caller's to
 * print, 0 when --json printed it, or a negative errno with err set.
 */
int cli_get_show(struct cli *c, const char *path, json_t **ret, struct error *err);

/* As cli_get_show(), for the path fmt of the command's app (see above), *ret_app the app. */
int cli_app_get_show(struct cli *c, const char *fmt, const char *arg, const char **ret_app, json_t **ret,
		     struct error *err);

/* As cli_get_show(), for the path fmt of the command's space (cli_space_arg()): "/spaces/%s/dynos". */
int cli_space_get_show(struct cli *c, const char *fmt, const char **ret_space, json_t **ret, struct error *err);

/*
 * Sends method (with body, when not NULL) to the path fmt of the command's app (see above),
 * *ret_app the app, and the answer into *ret when ret is not NULL; as cli_send().
 */
int cli_app_send(struct cli *c, const char *method, const char *fmt, const char *arg, json_t *body,
		 const char **ret_app, json_t **ret, struct error *err);

/*
 * A list command: GETs path and prints it as JSON with --json, else the line `empty` when the
 * list has nothing and `empty` is not NULL, else a table of the columns.
 */
int cli_show_list(struct cli *c, const char *path, const char *empty, const struct cli_column *columns, size_t n,
		  struct error *err);
