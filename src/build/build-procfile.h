/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What an app and its buildpacks say about how it runs, parsed for the build:
 *
 *   Procfile        "type: command" lines, as Heroku reads them
 *   bin/release     the YAML a buildpack prints; only its default_process_types matter
 *   app.json        Heroku's app manifest; cove honours `formation`, `buildpacks` and
 *                   `scripts.postdeploy`
 *
 * All three come from the pushed code, so each parser has hard limits, refuses rather than
 * guesses, and says which line is wrong. Pure functions: no files, no processes.
 */

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

#define PROCFILE_MAX (256 * 1024)
#define PROCESS_TYPES_MAX 30
#define PROCESS_TYPE_NAME_MAX 30
#define PROCESS_COMMAND_MAX 4096

/*
 * Checks a process type name as the API has it: lower-case letters, digits, '_' and '-',
 * starting with a letter, at most PROCESS_TYPE_NAME_MAX characters.
 */
int process_type_check(const char *type, struct error *err);

/*
 * Parses a Procfile: lines "type: command" (spaces around the command are dropped), blank
 * lines and lines starting with '#' skipped, CRLF accepted. *ret is a new JSON object of
 * type -> command. -EINVAL with "Procfile line N: ..." for a line that is none of these, a
 * bad type, a type given twice, an empty or too long command, too many types, or a file
 * over PROCFILE_MAX.
 */
int procfile_parse(const char *text, size_t len, json_t **ret, struct error *err);

/*
 * Reads default_process_types from what a buildpack's bin/release printed:
 *
 *   ---
 *   default_process_types:
 *     web: npm start
 *
 * (values may be quoted with ' or "; `default_process_types: {}` is none). *ret is a new
 * object of type -> command, empty when the key is absent. -EINVAL for a type or command
 * that would not do.
 */
int release_yaml_parse(const char *text, size_t len, json_t **ret, struct error *err);

/* What cove takes from an app.json. */
struct app_manifest {
	json_t *formation;  /* array of {"type", "quantity", "size"?}, maybe empty */
	json_t *buildpacks; /* array of buildpack URLs (strings), maybe empty */
	char *postdeploy;   /* scripts.postdeploy, or NULL */
};

/*
 * Parses app.json. Missing members are empty; members of the wrong type, a formation type
 * that is not a valid process type, or a quantity outside 0..100 are -EINVAL with a message
 * naming the member. Release with app_manifest_release().
 */
int app_manifest_parse(const char *text, size_t len, struct app_manifest *ret, struct error *err);
void app_manifest_release(struct app_manifest *m);
