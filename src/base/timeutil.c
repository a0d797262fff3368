/* SPDX-License-Identifier: MIT */
#include "base/timeutil.h"

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
