/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * How the CLI prints, in the shapes Heroku's CLI uses so that eyes and scripts used to it
 * keep working:
 *
 *   === acme-prod                 a header (cli_header)
 *
 *   Team:       acme              a block of aligned "Key: value" lines (struct cli_block)
 *   Region:     Tokyo, Japan
 *
 *   Name       State              a table, with or without a header line (struct cli_table)
 *   ─────────  ─────────
 *   acme-prod  allocated
 *
 * and JSON, pretty, for --json. Everything goes to stdout.
 */

#include <jansson.h>
#include <stddef.h>

#include "base/macro.h"

/* Prints "=== title" and an empty line. */
void cli_header(const char *fmt, ...) _printf_(1, 2);

struct cli_block {
	char **keys;
	char **values;
	size_t n;
};

#define CLI_BLOCK_INIT { 0 }

/* Adds a line; a NULL fmt or an empty value prints the key with nothing after it. */
void cli_block_add(struct cli_block *b, const char *key, const char *fmt, ...) _printf_(3, 4);
/* Prints the lines with their values aligned, and empties the block. */
void cli_block_print(struct cli_block *b);
void cli_block_release(struct cli_block *b);

struct cli_table;

/* A table of n columns; headers (n strings) is NULL for a table without a header line. */
struct cli_table *cli_table_new(size_t n, const char *const *headers);
/* Adds a row of n strings (copied; NULL prints as empty). */
void cli_table_add(struct cli_table *t, ...);
/* Prints the table with its columns aligned, two spaces apart. */
void cli_table_print(const struct cli_table *t);
void cli_table_free(struct cli_table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cli_table *, cli_table_free)
#define _cleanup_table_ _cleanup_(cli_table_freep)

/* A column of a table made from a JSON list (cli_table_print_json). */
struct cli_column {
	const char *header;
	const char *path;    /* the member it shows, dotted as for cli_json_get(); a number shows in decimal */
	const char *missing; /* what a missing, null or empty member shows; NULL for nothing */
};

/* Prints a table with the columns' headers and a row for each object of the JSON list. */
void cli_table_print_json(json_t *list, const struct cli_column *columns, size_t n);

/* Prints a JSON value, indented, and a newline. */
void cli_print_json(json_t *value);

/*
 * An ISO 8601 UTC time stamp from the API as local time with how long ago it was:
 * "2026/11/26 09:37:46 +0000 (~ 5m ago)". Unparseable input comes back as it was. The caller
 * frees the result.
 */
char *cli_time_ago(const char *iso);

/* A value quoted for a POSIX shell when it needs it: "a b" -> 'a b'. The caller frees it. */
char *cli_shell_quote(const char *value);

/*
 * Prints config vars (an object of strings) as aligned "KEY: value" lines, or, with shell,
 * as KEY=value lines a shell can read.
 */
void cli_print_vars(json_t *vars, bool shell);
