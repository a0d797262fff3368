/* SPDX-License-Identifier: MIT */
/* Unit tests of the daily backup schedule's clock (api-pg-backups.h), with injected times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "api/api-pg-backups.h"

/* 2026-11-26T01:59:59Z, then the times around it. */
#define T_0159 ((time_t)1795658399)
#define T_0200 (T_0159 + 1)
#define T_2359 (T_0159 + 22 * 3600)
#define T_NEXT_0159 (T_0159 + 24 * 3600)
#define T_NEXT_0200 (T_0200 + 24 * 3600)

static void test_due(void **state)
{
	char today[PG_BACKUP_DAY_MAX];
	/* Not before the hour. */
	assert_false(pg_backup_schedule_due(2, NULL, T_0159, today));
	assert_string_equal(today, "2026-11-26");
	/* At the hour, once. */
	assert_true(pg_backup_schedule_due(2, NULL, T_0200, today));
	assert_string_equal(today, "2026-11-26");
	assert_false(pg_backup_schedule_due(2, "2026-11-26", T_0200, today));
	assert_false(pg_backup_schedule_due(2, "2026-11-26", T_2359, today));
	/* A coved down at the hour catches up later the same day. */
	assert_true(pg_backup_schedule_due(2, "2026-11-25", T_2359, today));
	/* The next day: again at the hour, not before. */
	assert_false(pg_backup_schedule_due(2, "2026-11-26", T_NEXT_0159, today));
	assert_true(pg_backup_schedule_due(2, "2026-11-26", T_NEXT_0200, today));
	assert_string_equal(today, "2026-11-27");
	/* Midnight and the last hour. */
	assert_true(pg_backup_schedule_due(0, "", T_0159, today));
	assert_false(pg_backup_schedule_due(23, "", T_0200, today));
	assert_true(pg_backup_schedule_due(23, "", T_2359, today));
}

static void test_parse(void **state)
{
	unsigned h = 99;
	struct error err = { 0 };
	assert_int_equal(pg_backup_schedule_parse("02:00 UTC", &h, &err), 0);
	assert_int_equal(h, 2);
	assert_int_equal(pg_backup_schedule_parse("23:00", &h, &err), 0);
	assert_int_equal(h, 23);
	assert_int_equal(pg_backup_schedule_parse("7 UTC", &h, &err), 0);
	assert_int_equal(h, 7);
	assert_int_equal(pg_backup_schedule_parse("0", &h, &err), 0);
	assert_int_equal(h, 0);
	static const char *const bad[] = { "", "24:00 UTC", "02:30 UTC", "2:00 PST", "02:00 America/New_York",
					   "-1", "ab", "02:00 UTC x", "002:00", NULL };
	for (size_t i = 0; bad[i]; i++) {
		err = (struct error){ 0 };
		assert_int_equal(pg_backup_schedule_parse(bad[i], &h, &err), -EINVAL);
		assert_true(err.message[0] != '\0');
	}
	err = (struct error){ 0 };
	pg_backup_schedule_parse("02:00 Europe/Paris", &h, &err);
	assert_non_null(strstr(err.message, "UTC"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
