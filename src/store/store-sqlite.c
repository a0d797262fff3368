/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend of the store: one connection in WAL mode with foreign keys on, a busy
 * timeout, and synchronous=FULL so that a committed transaction survives a crash of the
 * process or of the machine.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/store.h"

struct sqlite_cursor {
	sqlite3 *db;
	sqlite3_stmt *stmt;
};

static int sqlite_error(sqlite3 *db, int rc, const char *what, struct error *err)
{
	int code;
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		code = (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) ? -EEXIST : -EINVAL;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = -EBUSY;
		break;
	case SQLITE_NOMEM:
		code = -ENOMEM;
		break;
	case SQLITE_FULL:
		code = -ENOSPC;
		break;
	case SQLITE_READONLY:
		code = -EROFS;
		break;
	default:
		code = -EIO;
	}
	return error_set(err, code, "store: %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int sqlite_open(const char *location, void **ret_impl, struct error *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(location, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int r = error_set(err, -EIO, "store: open '%s': %s", location, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 1);
	static const char *const pragmas[] = {
		"PRAGMA journal_mode = WAL",
		"PRAGMA synchronous = FULL",
		"PRAGMA foreign_keys = ON",
	};
	for (size_t i = 0; i < ARRAY_SIZE(pragmas); i++) {
		char *msg = NULL;
		rc = sqlite3_exec(db, pragmas[i], NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			int r = error_set(err, -EIO, "store: '%s': %s", pragmas[i], msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			sqlite3_close(db);
			return r;
		}
	}
	*ret_impl = db;
	return 0;
}

static void sqlite_close(void *impl)
{
	sqlite3_close_v2(impl);
}

/* Prepares the one statement of sql; anything after it but spaces and semicolons is refused. */
static int sqlite_prepare(sqlite3 *db, const char *sql, const struct store_val *args, size_t n_args,
			  sqlite3_stmt **ret, struct error *err)
{
	sqlite3_stmt *stmt;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, &tail);
	if (rc != SQLITE_OK)
		return sqlite_error(db, rc, "prepare", err);
	if (!stmt)
		return error_set(err, -EINVAL, "store: no statement in '%.64s'", sql);
	if (tail && tail[strspn(tail, " \t\n;")]) {
		sqlite3_finalize(stmt);
		return error_set(err, -EINVAL, "store: more than one statement in '%.64s'", sql);
	}
	if ((size_t)sqlite3_bind_parameter_count(stmt) != n_args) {
		sqlite3_finalize(stmt);
		return error_set(err, -EINVAL, "store: statement wants %d parameters, got %zu",
				 sqlite3_bind_parameter_count(stmt), n_args);
	}
	for (size_t i = 0; i < n_args; i++) {
		int idx = (int)i + 1;
		switch (args[i].type) {
		case STORE_NULL:
			rc = sqlite3_bind_null(stmt, idx);
			break;
		case STORE_TEXT:
			rc = sqlite3_bind_text(stmt, idx, args[i].text, -1, SQLITE_STATIC);
			break;
		case STORE_INT:
			rc = sqlite3_bind_int64(stmt, idx, args[i].i);
			break;
		}
		if (rc != SQLITE_OK) {
			sqlite3_finalize(stmt);
			return sqlite_error(db, rc, "bind", err);
		}
	}
	*ret = stmt;
	return 0;
}

/*
 * Runs statements without parameters one after the other (a migration holds several),
 * stopping at the first failure. A statement that wants parameters is refused rather than
 * run with NULLs, as sqlite3_exec() would.
 */
static int sqlite_exec_script(sqlite3 *db, const char *sql, struct error *err)
{
	const char *next = sql;
	while (*next) {
		sqlite3_stmt *stmt = NULL;
		const char *current = next;
		int rc = sqlite3_prepare_v2(db, current, -1, &stmt, &next);
		if (rc != SQLITE_OK)
			return sqlite_error(db, rc, "prepare", err);
		if (!stmt) /* only spaces or comments were left */
			break;
		int n = sqlite3_bind_parameter_count(stmt);
		if (n != 0) {
			sqlite3_finalize(stmt);
			return error_set(err, -EINVAL, "store: statement wants %d parameters, got 0", n);
		}
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			int r = sqlite_error(db, rc, "exec", err);
			sqlite3_finalize(stmt);
			return r;
		}
		sqlite3_finalize(stmt);
	}
	return 0;
}

static int sqlite_exec(void *impl, const char *sql, const struct store_val *args, size_t n_args,
		       int64_t *ret_changes, struct error *err)
{
	sqlite3 *db = impl;
	if (n_args == 0 && !ret_changes)
		return sqlite_exec_script(db, sql, err);
	sqlite3_stmt *stmt;
	int r = sqlite_prepare(db, sql, args, n_args, &stmt, err);
	if (r < 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		r = sqlite_error(db, rc, "exec", err);
		sqlite3_finalize(stmt);
		return r;
	}
	sqlite3_finalize(stmt);
	if (ret_changes)
		*ret_changes = sqlite3_changes64(db);
	return 0;
}

static int sqlite_query(void *impl, const char *sql, const struct store_val *args, size_t n_args, void **ret_cursor,
			struct error *err)
{
	sqlite3 *db = impl;
	sqlite3_stmt *stmt;
	int r = sqlite_prepare(db, sql, args, n_args, &stmt, err);
	if (r < 0)
		return r;
	struct sqlite_cursor *c = xmalloc(sizeof(*c));
	c->db = db;
	c->stmt = stmt;
	*ret_cursor = c;
	return 0;
}

static int sqlite_next(void *cursor, struct error *err)
{
	struct sqlite_cursor *c = cursor;
	int rc = sqlite3_step(c->stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sqlite_error(c->db, rc, "query", err);
}

static const char *sqlite_text(void *cursor, unsigned i)
{
	struct sqlite_cursor *c = cursor;
	return (const char *)sqlite3_column_text(c->stmt, (int)i);
}

static int64_t sqlite_integer(void *cursor, unsigned i)
{
	struct sqlite_cursor *c = cursor;
	return sqlite3_column_int64(c->stmt, (int)i);
}

static bool sqlite_is_null(void *cursor, unsigned i)
{
	struct sqlite_cursor *c = cursor;
	return sqlite3_column_type(c->stmt, (int)i) == SQLITE_NULL;
}

static void sqlite_finish(void *cursor)
{
	struct sqlite_cursor *c = cursor;
	if (!c)
		return;
	sqlite3_finalize(c->stmt);
	free(c);
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.query = sqlite_query,
	.next = sqlite_next,
	.text = sqlite_text,
	.integer = sqlite_integer,
	.is_null = sqlite_is_null,
	.finish = sqlite_finish,
};
