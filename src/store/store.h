/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The store: where the control plane keeps its state. A small SQL interface, the same for
 * every backend, so that the resources above it are written once. SQLite is the embedded
 * default (store-sqlite.c); a PostgreSQL backend implements the same table of operations
 * (struct store_backend) and translates `?` placeholders to `$n`.
 *
 * SQL given to the store must be portable between SQLite and PostgreSQL: `?` placeholders,
 * TEXT and INTEGER columns, no backend-specific functions.
 *
 * Writes happen inside transactions: store_begin(), any number of store_exec(), then
 * store_commit() or store_rollback(). A crash before the commit leaves the old state; after it,
 * the new one (the SQLite backend runs WAL with synchronous=FULL). One store handle serves one
 * thread; the API daemon has exactly one.
 *
 * Parameters are passed as an array of struct store_val built with the SV_* macros:
 *
 *   store_exec(st, "UPDATE apps SET name = ? WHERE id = ?",
 *              SV_ARGS(SV_TEXT(name), SV_TEXT(id)), &err);
 *
 * Constraint violations come back as -EEXIST (unique) or -EINVAL (foreign key, check).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum store_type { STORE_NULL, STORE_TEXT, STORE_INT };

struct store_val {
	enum store_type type;
	const char *text;
	int64_t i;
};

#define SV_NULL ((struct store_val){ .type = STORE_NULL })
static inline struct store_val store_val_text(const char *s)
{
	return (struct store_val){ .type = s ? STORE_TEXT : STORE_NULL, .text = s };
}
#define SV_TEXT(s) store_val_text(s)
#define SV_INT(n) ((struct store_val){ .type = STORE_INT, .i = (n) })
#define SV_BOOL(b) SV_INT((b) ? 1 : 0)
#define SV_ARGS(...) ((const struct store_val[]){ __VA_ARGS__ }), \
	(sizeof((const struct store_val[]){ __VA_ARGS__ }) / sizeof(struct store_val))
#define SV_NONE NULL, 0

struct store;
struct store_rows;

/* One backend's operations; see store-sqlite.c. */
struct store_backend {
	const char *name;
	int (*open)(const char *location, void **ret_impl, struct error *err);
	void (*close)(void *impl);
	int (*exec)(void *impl, const char *sql, const struct store_val *args, size_t n_args, int64_t *ret_changes,
		    struct error *err);
	int (*query)(void *impl, const char *sql, const struct store_val *args, size_t n_args, void **ret_cursor,
		     struct error *err);
	/* 1 with a row, 0 at the end, negative on failure. */
	int (*next)(void *cursor, struct error *err);
	/* Column i of the current row; NULL for SQL NULL. Valid until the next call to next(). */
	const char *(*text)(void *cursor, unsigned i);
	int64_t (*integer)(void *cursor, unsigned i);
	bool (*is_null)(void *cursor, unsigned i);
	void (*finish)(void *cursor);
};

extern const struct store_backend store_backend_sqlite;

/*
 * Opens the store at url: "sqlite:PATH" or a plain path (SQLite). Applies the numbered
 * migrations of src/store/migrations that the database does not have yet, each in its own
 * transaction.
 */
int store_open(const char *url, struct store **ret, struct error *err);
void store_close(struct store *st);

int store_begin(struct store *st, struct error *err);
int store_commit(struct store *st, struct error *err);
/* Rolls back the open transaction, if any. Never fails from the caller's point of view. */
void store_rollback(struct store *st);
/* True while a transaction is open. */
bool store_in_transaction(const struct store *st);

/*
 * Runs a statement that returns no rows. *ret_changes (may be NULL) gets the rows changed.
 * The number of args must match the statement's placeholders, else -EINVAL and nothing runs.
 * store_exec() without args may run several statements one after the other (a migration);
 * otherwise the SQL holds exactly one.
 */
int store_exec(struct store *st, const char *sql, const struct store_val *args, size_t n_args, struct error *err);
int store_exec_changes(struct store *st, const char *sql, const struct store_val *args, size_t n_args,
		       int64_t *ret_changes, struct error *err);

/*
 * Runs a query. Iterate with store_rows_next(); free with store_rows_free() (NULL is fine).
 * Column accessors refer to the current row.
 */
int store_query(struct store *st, const char *sql, const struct store_val *args, size_t n_args,
		struct store_rows **ret, struct error *err);
int store_rows_next(struct store_rows *rows, struct error *err);
const char *store_rows_text(struct store_rows *rows, unsigned i);
int64_t store_rows_int(struct store_rows *rows, unsigned i);
bool store_rows_is_null(struct store_rows *rows, unsigned i);
void store_rows_free(struct store_rows *rows);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store_rows *, store_rows_free);
#define _cleanup_rows_ _cleanup_(store_rows_freep)

/*
 * Convenience for single-value lookups: runs the query and copies column 0 of the first row
 * into *ret (caller frees; NULL when the value is SQL NULL). Returns -ENOENT when there is no
 * row, with no message set.
 */
int store_query_text(struct store *st, const char *sql, const struct store_val *args, size_t n_args, char **ret,
		     struct error *err);
int store_query_int(struct store *st, const char *sql, const struct store_val *args, size_t n_args, int64_t *ret,
		    struct error *err);

/* The schema version the store is at (the number of the last migration applied). */
int store_schema_version(struct store *st, int64_t *ret, struct error *err);
