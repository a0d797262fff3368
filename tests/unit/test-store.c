/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the store on its SQLite backend: migrations, transactions, constraint
 * errors, the query helpers and the durability settings. Each test gets a fresh database in
 * a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/store-migrations.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char *path;
	char *url;
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/cove-test-store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->path = xasprintf("%s/cove.db", f->dir);
	f->url = xasprintf("sqlite:%s", f->path);
	struct error err = { 0 };
	if (store_open(f->url, &f->st, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err.message);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *p = xasprintf("%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f->path);
	free(f->url);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	struct error err = { 0 };
	store_close(f->st);
	f->st = NULL;
	if (store_open(f->url, &f->st, &err) < 0)
		fail_msg("reopen: %s", err.message);
}

static int64_t count(struct store *st, const char *sql)
{
	int64_t n = -1;
	struct error err = { 0 };
	if (store_query_int(st, sql, SV_NONE, &n, &err) < 0)
		fail_msg("%s: %s", sql, err.message);
	return n;
}

static int insert_team(struct store *st, const char *id, const char *name, struct error *err)
{
	return store_exec(st, "INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, 't', 't')",
			  SV_ARGS(SV_TEXT(id), SV_TEXT(name)), err);
}

static void test_migrations_applied(void **state)
{
	struct fixture *f = *state;
	assert_true(store_migrations_count > 0);
	int64_t version;
	assert_int_equal(store_schema_version(f->st, &version, NULL), 0);
	assert_int_equal(version, store_migrations[store_migrations_count - 1].version);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM schema_migrations"), (int64_t)store_migrations_count);
	/* The tables of the first migration are there and empty. */
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM users"), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM apps"), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_events"), 0);
}

static void test_migrations_idempotent_on_reopen(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(insert_team(f->st, "t1", "acme", &err), 0);
	for (int i = 0; i < 3; i++) {
		reopen(f);
		int64_t version;
		assert_int_equal(store_schema_version(f->st, &version, NULL), 0);
		assert_int_equal(version, store_migrations[store_migrations_count - 1].version);
		assert_int_equal(count(f->st, "SELECT COUNT(*) FROM schema_migrations"), (int64_t)store_migrations_count);
		/* Nothing was recreated: the data written before is still there. */
		assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE name = 'acme'"), 1);
	}
}

static void test_open_plain_path_and_failures(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct error err = { 0 };
	/* A plain path is SQLite too, and the same database. */
	assert_int_equal(insert_team(f->st, "t1", "acme", &err), 0);
	assert_int_equal(store_open(f->path, &st, &err), 0);
	assert_int_equal(count(st, "SELECT COUNT(*) FROM teams"), 1);
	store_close(st);

	st = NULL;
	assert_int_equal(store_open("postgres://localhost/cove", &st, &err), -EOPNOTSUPP);
	assert_null(st);
	assert_non_null(strstr(err.message, "PostgreSQL"));

	error_clear(&err);
	_cleanup_free_ char *missing = xasprintf("sqlite:%s/no/such/dir/cove.db", f->dir);
	assert_true(store_open(missing, &st, &err) < 0);
	assert_null(st);
	assert_true(error_is_set(&err));

	store_close(NULL);
}

static void test_durability_settings(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *mode = NULL;
	assert_int_equal(store_query_text(f->st, "PRAGMA journal_mode", SV_NONE, &mode, NULL), 0);
	assert_string_equal(mode, "wal");
	assert_int_equal(count(f->st, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(count(f->st, "PRAGMA foreign_keys"), 1);
}

static void test_transaction_commit(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_false(store_in_transaction(f->st));
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_true(store_in_transaction(f->st));
	assert_int_equal(insert_team(f->st, "t1", "one", &err), 0);
	assert_int_equal(insert_team(f->st, "t2", "two", &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	assert_false(store_in_transaction(f->st));
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams"), 2);
	/* Committed means on disk: another connection sees it, and so does a reopened store. */
	struct store *other = NULL;
	assert_int_equal(store_open(f->url, &other, &err), 0);
	assert_int_equal(count(other, "SELECT COUNT(*) FROM teams"), 2);
	store_close(other);
	reopen(f);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams"), 2);
}

static void test_transaction_rollback(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(insert_team(f->st, "t0", "zero", &err), 0);
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(insert_team(f->st, "t1", "one", &err), 0);
	assert_int_equal(store_exec(f->st, "DELETE FROM teams WHERE id = 't0'", SV_NONE, &err), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE id = 't1'"), 1);
	store_rollback(f->st);
	assert_false(store_in_transaction(f->st));
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE id = 't1'"), 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE id = 't0'"), 1);
	/* Rolling back with no transaction open is harmless. */
	store_rollback(f->st);
	assert_false(store_in_transaction(f->st));
}

static void test_transaction_misuse(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(store_commit(f->st, &err), -EINVAL);
	assert_non_null(strstr(err.message, "no transaction"));
	assert_int_equal(store_begin(f->st, &err), 0);
	error_clear(&err);
	assert_int_equal(store_begin(f->st, &err), -EBUSY);
	assert_non_null(strstr(err.message, "already open"));
	assert_true(store_in_transaction(f->st)); /* the first one is still open */
	assert_int_equal(store_commit(f->st, &err), 0);
}

static void test_close_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(insert_team(f->st, "t1", "one", &err), 0);
	reopen(f); /* closes with the transaction open */
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams"), 0);
}

static void test_unique_violation(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(insert_team(f->st, "t1", "acme", &err), 0);
	/* Unique column. */
	assert_int_equal(insert_team(f->st, "t2", "acme", &err), -EEXIST);
	assert_int_equal(err.code, -EEXIST);
	assert_non_null(strstr(err.message, "UNIQUE"));
	/* Primary key. */
	error_clear(&err);
	assert_int_equal(insert_team(f->st, "t1", "other", &err), -EEXIST);
	/* Also through a statement without parameters. */
	error_clear(&err);
	assert_int_equal(store_exec(f->st, "INSERT INTO teams (id, name, created_at, updated_at) VALUES ('t3', 'acme', 't', 't')",
				    SV_NONE, &err),
			 -EEXIST);
	/* And inside a transaction, which stays usable and rolls back cleanly. */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(insert_team(f->st, "t4", "fresh", &err), 0);
	assert_int_equal(insert_team(f->st, "t5", "acme", &err), -EEXIST);
	store_rollback(f->st);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams"), 1);
}

static void test_foreign_key_and_check_violation(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	/* A space of a team that does not exist. */
	assert_int_equal(store_exec(f->st,
				    "INSERT INTO spaces (id, name, team_id, region, cidr, data_cidr, state, created_at, updated_at)"
				    " VALUES ('s1', 'space', 'no-such-team', 'virginia', '10.0.0.0/16', '10.1.0.0/16',"
				    " 'allocated', 't', 't')",
				    SV_NONE, &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "FOREIGN KEY"));
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM spaces"), 0);

	/* A check constraint. */
	assert_int_equal(insert_team(f->st, "t1", "acme", &err), 0);
	error_clear(&err);
	assert_int_equal(store_exec(f->st,
				    "INSERT INTO spaces (id, name, team_id, region, cidr, data_cidr, state, created_at, updated_at)"
				    " VALUES (?, ?, ?, 'virginia', '10.0.0.0/16', '10.1.0.0/16', ?, 't', 't')",
				    SV_ARGS(SV_TEXT("s1"), SV_TEXT("space"), SV_TEXT("t1"), SV_TEXT("bogus")), &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "CHECK"));

	/* NOT NULL. */
	error_clear(&err);
	assert_int_equal(insert_team(f->st, "t2", NULL, &err), -EINVAL);

	/* A team that a space refers to cannot go. */
	assert_int_equal(store_exec(f->st,
				    "INSERT INTO spaces (id, name, team_id, region, cidr, data_cidr, state, created_at, updated_at)"
				    " VALUES (?, ?, ?, 'virginia', '10.0.0.0/16', '10.1.0.0/16', ?, 't', 't')",
				    SV_ARGS(SV_TEXT("s1"), SV_TEXT("space"), SV_TEXT("t1"), SV_TEXT("allocated")), &err),
			 0);
	assert_int_equal(store_exec(f->st, "DELETE FROM teams WHERE id = ?", SV_ARGS(SV_TEXT("t1")), &err), -EINVAL);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams"), 1);
}

static void test_query_text_and_int(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(store_exec(f->st,
				    "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?, ?, ?, 't', 't')",
				    SV_ARGS(SV_TEXT("u1"), SV_TEXT("a@b.co"), SV_NULL), &err),
			 0);
	char *s = NULL;
	assert_int_equal(store_query_text(f->st, "SELECT email FROM users WHERE id = ?", SV_ARGS(SV_TEXT("u1")), &s, &err),
			 0);
	assert_string_equal(s, "a@b.co");
	free(s);

	/* SQL NULL comes back as NULL. */
	s = (char *)"untouched";
	assert_int_equal(store_query_text(f->st, "SELECT name FROM users WHERE id = ?", SV_ARGS(SV_TEXT("u1")), &s, &err), 0);
	assert_null(s);

	/* No row: -ENOENT, and no message (callers word their own). */
	error_clear(&err);
	assert_int_equal(store_query_text(f->st, "SELECT email FROM users WHERE id = ?", SV_ARGS(SV_TEXT("nobody")), &s,
					  &err),
			 -ENOENT);
	assert_false(error_is_set(&err));
	int64_t n = 7;
	assert_int_equal(store_query_int(f->st, "SELECT is_admin FROM users WHERE id = ?", SV_ARGS(SV_TEXT("nobody")), &n,
					 &err),
			 -ENOENT);
	assert_false(error_is_set(&err));
	assert_int_equal(n, 7);

	assert_int_equal(store_query_int(f->st, "SELECT ? + ?", SV_ARGS(SV_INT(40), SV_INT(2)), &n, &err), 0);
	assert_int_equal(n, 42);
	assert_int_equal(store_query_int(f->st, "SELECT ?", SV_ARGS(SV_INT(INT64_MAX)), &n, &err), 0);
	assert_true(n == INT64_MAX);
	assert_int_equal(store_query_int(f->st, "SELECT ?", SV_ARGS(SV_BOOL(true)), &n, &err), 0);
	assert_int_equal(n, 1);
}

static void test_rows(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	for (int i = 0; i < 5; i++) {
		char id[8], name[8];
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(name, sizeof(name), "team%d", i);
		assert_int_equal(insert_team(f->st, id, name, &err), 0);
	}
	_cleanup_rows_ struct store_rows *rows = NULL;
	assert_int_equal(store_query(f->st, "SELECT id, name, NULL, 7 FROM teams WHERE name > ? ORDER BY name",
				     SV_ARGS(SV_TEXT("team1")), &rows, &err),
			 0);
	static const char *const expect[] = { "team2", "team3", "team4" };
	int r, i = 0;
	while ((r = store_rows_next(rows, &err)) > 0) {
		assert_true(i < 3);
		assert_string_equal(store_rows_text(rows, 1), expect[i]);
		assert_true(store_rows_is_null(rows, 2));
		assert_null(store_rows_text(rows, 2));
		assert_false(store_rows_is_null(rows, 3));
		assert_int_equal(store_rows_int(rows, 3), 7);
		i++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(i, 3);
	store_rows_free(NULL);
}

static void test_exec_changes(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(insert_team(f->st, "t1", "one", &err), 0);
	assert_int_equal(insert_team(f->st, "t2", "two", &err), 0);
	int64_t changes = -1;
	assert_int_equal(store_exec_changes(f->st, "UPDATE teams SET updated_at = ? WHERE id LIKE 't%'",
					    SV_ARGS(SV_TEXT("u")), &changes, &err),
			 0);
	assert_int_equal(changes, 2);
	assert_int_equal(store_exec_changes(f->st, "DELETE FROM teams WHERE id = 'none'", SV_NONE, &changes, &err), 0);
	assert_int_equal(changes, 0);
}

static void test_param_count_mismatch(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	_cleanup_rows_ struct store_rows *rows = NULL;
	assert_int_equal(store_query(f->st, "SELECT ?", SV_NONE, &rows, &err), -EINVAL);
	assert_non_null(strstr(err.message, "wants 1 parameters, got 0"));
	error_clear(&err);
	assert_int_equal(store_query(f->st, "SELECT ?", SV_ARGS(SV_INT(1), SV_INT(2)), &rows, &err), -EINVAL);
	assert_non_null(strstr(err.message, "wants 1 parameters, got 2"));
	assert_null(rows);

	assert_int_equal(insert_team(f->st, "t1", "one", &err), 0);
	error_clear(&err);
	assert_int_equal(store_exec(f->st, "UPDATE teams SET name = ? WHERE id = ?", SV_ARGS(SV_TEXT("x")), &err), -EINVAL);
	assert_non_null(strstr(err.message, "wants 2 parameters, got 1"));
	/* Without any parameters given, a statement that wants some is refused too, not run with NULLs. */
	error_clear(&err);
	assert_int_equal(store_exec(f->st, "UPDATE teams SET updated_at = ?", SV_NONE, &err), -EINVAL);
	assert_non_null(strstr(err.message, "wants 1 parameters, got 0"));
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE updated_at = 't'"), 1);

	int64_t n;
	assert_int_equal(store_query_int(f->st, "SELECT ?", SV_NONE, &n, &err), -EINVAL);
	char *s = NULL;
	assert_int_equal(store_query_text(f->st, "SELECT ?", SV_NONE, &s, &err), -EINVAL);
}

static void test_trailing_statement_refused(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(insert_team(f->st, "t1", "one", &err), 0);
	/* A second statement after one with parameters would be silently dropped: refuse it. */
	assert_int_equal(store_exec(f->st, "UPDATE teams SET name = ? WHERE id = 't1'; DELETE FROM teams",
				    SV_ARGS(SV_TEXT("x")), &err),
			 -EINVAL);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE name = 'one'"), 1);
	/* A trailing semicolon and spaces are fine. */
	assert_int_equal(store_exec(f->st, "UPDATE teams SET name = ? WHERE id = 't1' ; ", SV_ARGS(SV_TEXT("x")), &err),
			 0);
	assert_int_equal(count(f->st, "SELECT COUNT(*) FROM teams WHERE name = 'x'"), 1);
}

static void test_script(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	/* Several statements without parameters run in order (as migrations do). */
	assert_int_equal(store_exec(f->st,
				    "CREATE TABLE scratch (n INTEGER);\n"
				    "-- a comment\n"
				    "INSERT INTO scratch VALUES (1);\n"
				    "INSERT INTO scratch VALUES (2);\n",
				    SV_NONE, &err),
			 0);
	assert_int_equal(count(f->st, "SELECT SUM(n) FROM scratch"), 3);
	/* An error part way stops there. */
	assert_true(store_exec(f->st, "INSERT INTO scratch VALUES (10); INSERT INTO nowhere VALUES (1); "
				      "INSERT INTO scratch VALUES (100);",
			       SV_NONE, &err) < 0);
	assert_int_equal(count(f->st, "SELECT SUM(n) FROM scratch"), 13);
}

static void test_sql_errors(void **state)
{
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(store_exec(f->st, "INSERT INTO nowhere VALUES (?)", SV_ARGS(SV_INT(1)), &err), -EIO);
	assert_non_null(strstr(err.message, "nowhere"));
	_cleanup_rows_ struct store_rows *rows = NULL;
	error_clear(&err);
	assert_int_equal(store_query(f->st, "SELEKT 1", SV_NONE, &rows, &err), -EIO);
	assert_true(error_is_set(&err));
	/* A NULL error is allowed. */
	assert_int_equal(store_exec(f->st, "SELEKT 1", SV_NONE, NULL), -EIO);
}

int main(void)
{
	log_set_level(LOG_LEVEL_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_migrations_applied),
		T(test_migrations_idempotent_on_reopen),
		T(test_open_plain_path_and_failures),
		T(test_durability_settings),
		T(test_transaction_commit),
		T(test_transaction_rollback),
		T(test_transaction_misuse),
		T(test_close_rolls_back),
		T(test_unique_violation),
		T(test_foreign_key_and_check_violation),
		T(test_query_text_and_int),
		T(test_rows),
		T(test_exec_changes),
		T(test_param_count_mismatch),
		T(test_trailing_statement_refused),
		T(test_script),
		T(test_sql_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
