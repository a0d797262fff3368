/* SPDX-License-Identifier: MIT */
/* Unit tests of base/timeutil: the Platform API's time stamps and the monotonic clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"

static void test_iso(void **state)
{
	char buf[TIME_ISO_MAX];
	assert_string_equal(time_iso(0, buf), "1970-01-01T00:00:00Z");
	assert_string_equal(time_iso(1795685866, buf), "2026-11-26T09:37:46Z");
	/* A leap day, and the last second of a year. */
	assert_string_equal(time_iso(951782400, buf), "2000-02-29T00:00:00Z");
	assert_string_equal(time_iso(1767225599, buf), "2025-12-31T23:59:59Z");
	/* The text sorts like the time it stands for (lists are ranged by created_at). */
	char a[TIME_ISO_MAX], b[TIME_ISO_MAX];
	time_iso(999999999, a);
	time_iso(1000000000, b);
	assert_true(strcmp(a, b) < 0);
}

static void test_now(void **state)
{
	char buf[TIME_ISO_MAX];
	time_t before = time(NULL);
	time_now_iso(buf);
	time_t after = time(NULL);
	char lo[TIME_ISO_MAX], hi[TIME_ISO_MAX];
	time_iso(before, lo);
	time_iso(after, hi);
	assert_true(strcmp(lo, buf) <= 0 && strcmp(buf, hi) <= 0);
	assert_int_equal(strlen(buf), 20);
}

static void test_mono(void **state)
{
	uint64_t a = time_mono_usec();
	uint64_t b = time_mono_usec();
	assert_true(a > 0);
	assert_true(b >= a);
}

/* Router log stamps: the same seconds as time_iso() (and so gmtime) gives, with the fraction. */
static void test_parse_iso_usec(void **state)
{
	static const time_t secs[] = { 0, 951782400, 951868799, 1767225599, 1795685866, 4102444800 };
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		char iso[TIME_ISO_MAX], stamp[128];
		time_iso(secs[i], iso);
		iso[19] = '\0'; /* without its "Z" */
		snprintf(stamp, sizeof(stamp), "%s.000007+00:00", iso);
		assert_int_equal(time_parse_iso_usec(stamp), (uint64_t)secs[i] * 1000000u + 7);
		snprintf(stamp, sizeof(stamp), "%s+00:00 app heroku[router]: at=info", iso);
		assert_int_equal(time_parse_iso_usec(stamp), (uint64_t)secs[i] * 1000000u);
	}
	/* A fraction shorter than microseconds is scaled; digits past them are ignored. */
	assert_int_equal(time_parse_iso_usec("1970-01-01T00:00:01.5+00:00"), 1500000);
	assert_int_equal(time_parse_iso_usec("1970-01-01T00:00:01.1234567+00:00"), 1123456);
	/* Not a time: 0. */
	static const char *bad[] = { "", "-", "2026-11-26", "2026-13-01T00:00:00", "2026-11-26 10:00:00",
				     "1969-12-31T23:59:59", "2026-11-26T24:00:00", "2026-11-26T10:60:00",
				     "2026-1x-26T10:00:00", "app heroku[router]: at=info" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (time_parse_iso_usec(bad[i]) != 0)
			fail_msg("'%s' parsed as a time", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_mono),
		cmocka_unit_test(test_parse_iso_usec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
