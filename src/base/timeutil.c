/* SPDX-License-Identifier: MIT */
#include "base/timeutil.h"

#include <stdbool.h>

char *time_iso(time_t t, char ret[static TIME_ISO_MAX])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ret, TIME_ISO_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return ret;
}

char *time_now_iso(char ret[static TIME_ISO_MAX])
{
	return time_iso(time(NULL), ret);
}

uint64_t time_mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* n decimal digits at s (s holds them: the caller checked its shape). */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int64_t leap_years_through(int64_t y)
{
	return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to the date, for years from 1970. */
static int64_t days_since_epoch(int y, int m, int d)
{
	static const int before_month[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return 365 * (int64_t)(y - 1970) + leap_years_through(y - 1) - leap_years_through(1969) + before_month[m - 1] +
	       (leap && m > 2) + d - 1;
}

uint64_t time_parse_iso_usec(const char *s)
{
	/* The shape first, a character at a time: a shorter string ends at its NUL, which matches nothing. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return 0;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return 0;
	uint64_t usec = 0;
	if (s[19] == '.') {
		const char *p = s + 20;
		unsigned scale = 100000;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			usec += scale ? (uint64_t)(*p - '0') * scale : 0;
	}
	return ((uint64_t)days_since_epoch(y, mo, d) * 86400u + (uint64_t)h * 3600u + (uint64_t)mi * 60u + (uint64_t)sec) *
		       1000000u +
	       usec;
}
