/* SPDX-License-Identifier: MIT */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "store/store-migrations.h"

struct store {
	const struct store_backend *backend;
	void *impl;
	bool in_tx;
};

struct store_rows {
	const struct store_backend *backend;
	void *cursor;
};

int store_begin(struct store *st, struct error *err)
{
	if (st->in_tx)
		return error_set(err, -EBUSY, "store: transaction already open");
	int r = st->backend->exec(st->impl, "BEGIN IMMEDIATE", NULL, 0, NULL, err);
	if (r < 0)
		return r;
	st->in_tx = true;
	return 0;
}

int store_commit(struct store *st, struct error *err)
{
	if (!st->in_tx)
		return error_set(err, -EINVAL, "store: no transaction to commit");
	int r = st->backend->exec(st->impl, "COMMIT", NULL, 0, NULL, err);
	if (r < 0) {
		store_rollback(st);
		return r;
	}
	st->in_tx = false;
	return 0;
}

void store_rollback(struct store *st)
{
	if (!st->in_tx)
		return;
	struct error err = { 0 };
	if (st->backend->exec(st->impl, "ROLLBACK", NULL, 0, NULL, &err) < 0)
		log_warning("store: rollback: %s", err.message);
	st->in_tx = false;
}

bool store_in_transaction(const struct store *st)
{
	return st->in_tx;
}

int store_exec_changes(struct store *st, const char *sql, const struct store_val *args, size_t n_args,
		       int64_t *ret_changes, struct error *err)
{
	return st->backend->exec(st->impl, sql, args, n_args, ret_changes, err);
}

int store_exec(struct store *st, const char *sql, const struct store_val *args, size_t n_args, struct error *err)
{
	return st->backend->exec(st->impl, sql, args, n_args, NULL, err);
}

int store_query(struct store *st, const char *sql, const struct store_val *args, size_t n_args,
		struct store_rows **ret, struct error *err)
{
	void *cursor;
	int r = st->backend->query(st->impl, sql, args, n_args, &cursor, err);
	if (r < 0)
		return r;
	struct store_rows *rows = xmalloc(sizeof(*rows));
	rows->backend = st->backend;
	rows->cursor = cursor;
	*ret = rows;
	return 0;
}

int store_rows_next(struct store_rows *rows, struct error *err)
{
	return rows->backend->next(rows->cursor, err);
}

const char *store_rows_text(struct store_rows *rows, unsigned i)
{
	return rows->backend->text(rows->cursor, i);
}

int64_t store_rows_int(struct store_rows *rows, unsigned i)
{
	return rows->backend->integer(rows->cursor, i);
}

bool store_rows_is_null(struct store_rows *rows, unsigned i)
{
	return rows->backend->is_null(rows->cursor, i);
}

void store_rows_free(struct store_rows *rows)
{
	if (!rows)
		return;
	rows->backend->finish(rows->cursor);
	free(rows);
}

int store_query_text(struct store *st, const char *sql, const struct store_val *args, size_t n_args, char **ret,
		     struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(st, sql, args, n_args, &rows, err);
	if (r < 0)
		return r;
	r = store_rows_next(rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	const char *s = store_rows_text(rows, 0);
	*ret = s ? xstrdup(s) : NULL;
	return 0;
}

int store_query_int(struct store *st, const char *sql, const struct store_val *args, size_t n_args, int64_t *ret,
		    struct error *err)
{
	_cleanup_rows_ struct store_rows *rows = NULL;
	int r = store_query(st, sql, args, n_args, &rows, err);
	if (r < 0)
		return r;
	r = store_rows_next(rows, err);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*ret = store_rows_int(rows, 0);
	return 0;
}

int store_schema_version(struct store *st, int64_t *ret, struct error *err)
{
	int r = store_query_int(st, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", SV_NONE, ret, err);
	return r == -ENOENT ? (*ret = 0, 0) : r;
}

static int store_migrate(struct store *st, struct error *err)
{
	int r = store_exec(st,
			   "CREATE TABLE IF NOT EXISTS schema_migrations ("
			   " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
			   SV_NONE, err);
	if (r < 0)
		return r;
	int64_t current;
	r = store_schema_version(st, &current, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < store_migrations_count; i++) {
		const struct store_migration *m = &store_migrations[i];
		char now[TIME_ISO_MAX];
		if (m->version <= current)
			continue;
		r = store_begin(st, err);
		if (r < 0)
			return r;
		r = st->backend->exec(st->impl, m->sql, NULL, 0, NULL, err);
		if (r >= 0)
			r = store_exec(st,
				       "INSERT INTO schema_migrations (version, name, applied_at)"
				       " VALUES (?, ?, ?)",
				       SV_ARGS(SV_INT(m->version), SV_TEXT(m->name), SV_TEXT(time_now_iso(now))), err);
		if (r < 0) {
			/* The message is copied first: error_set() may not read the buffer it writes. */
			char why[ERROR_MESSAGE_MAX];
			snprintf(why, sizeof(why), "%s", err ? err->message : "failed");
			store_rollback(st);
			return error_set(err, r, "store: migration %04d-%s: %s", (int)m->version, m->name, why);
		}
		r = store_commit(st, err);
		if (r < 0)
			return r;
		log_info("store: applied migration %04d-%s", (int)m->version, m->name);
	}
	return 0;
}

int store_open(const char *url, struct store **ret, struct error *err)
{
	const struct store_backend *backend = &store_backend_sqlite;
	const char *location = url;
	if (strncmp(url, "sqlite:", 7) == 0)
		location = url + 7;
	else if (strncmp(url, "postgres:", 9) == 0 || strncmp(url, "postgresql:", 11) == 0)
		return error_set(err, -EOPNOTSUPP, "store '%s': the PostgreSQL backend is not built in yet", url);

	struct store *st = xcalloc(1, sizeof(*st));
	st->backend = backend;
	int r = backend->open(location, &st->impl, err);
	if (r < 0) {
		free(st);
		return r;
	}
	r = store_migrate(st, err);
	if (r < 0) {
		store_close(st);
		return r;
	}
	*ret = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	store_rollback(st);
	st->backend->close(st->impl);
	free(st);
}
