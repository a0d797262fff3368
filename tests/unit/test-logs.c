/* SPDX-License-Identifier: MIT */
/* The log service's memory: the ring of 1500 lines per app, filters, splitting, cursors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "logs/logs.h"

struct seen {
	size_t n;
	char last[256];
	uint64_t first_seq, last_seq;
};

static void collect(const struct log_line *line, void *userdata)
{
	struct seen *s = userdata;
	if (s->n++ == 0)
		s->first_seq = line->seq;
	s->last_seq = line->seq;
	snprintf(s->last, sizeof(s->last), "%s", line->text);
}

static void test_format_and_order(void **state)
{
	struct logs *l = logs_new();
	logs_append(l, "app1", 1795600000123456ull, "app", "web.1", "hello\n");
	struct seen s = { 0 };
	assert_int_equal(logs_read(l, "app1", 0, NULL, NULL, 0, collect, &s), 1);
	assert_string_equal(s.last, "2026-11-25T09:46:40.123456+00:00 app[web.1]: hello");
	assert_int_equal(logs_last_seq(l, "app1"), 1);
	assert_int_equal(logs_last_seq(l, "other"), 0);
	logs_free(l);
}

/* Stamps are formatted once a second: the next second, day and year show, and the fraction too. */
static void test_stamps_across_seconds(void **state)
{
	struct logs *l = logs_new();
	static const struct {
		uint64_t usec;
		const char *text;
	} cases[] = {
		{ 1795600000000001ull, "2026-11-25T09:46:40.000001+00:00 heroku[router]: a" },
		{ 1795600000999999ull, "2026-11-25T09:46:40.999999+00:00 heroku[router]: a" },
		{ 1795600001000000ull, "2026-11-25T09:46:41.000000+00:00 heroku[router]: a" },
		{ 1798761599500000ull, "2026-12-31T23:59:59.500000+00:00 heroku[router]: a" },
		{ 1798761600000007ull, "2027-01-01T00:00:00.000007+00:00 heroku[router]: a" },
		{ 1795600000250000ull, "2026-11-25T09:46:40.250000+00:00 heroku[router]: a" }, /* back in time */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		logs_append(l, "a", cases[i].usec, "heroku", "router", "a");
		struct seen s = { 0 };
		assert_int_equal(logs_read(l, "a", i, NULL, NULL, 0, collect, &s), 1);
		assert_string_equal(s.last, cases[i].text);
	}
	logs_free(l);
}

/* Appends that go from app to app, and to an app forgotten meanwhile, land in the right stream. */
static void test_apps_interleaved_and_forgotten(void **state)
{
	struct logs *l = logs_new();
	for (int i = 0; i < 10; i++)
		logs_append(l, i % 2 ? "odd" : "even", 0, "app", "web.1", "x");
	assert_int_equal(logs_last_seq(l, "odd"), 5);
	assert_int_equal(logs_last_seq(l, "even"), 5);
	logs_forget(l, "odd");
	assert_int_equal(logs_last_seq(l, "odd"), 0);
	logs_append(l, "odd", 0, "app", "web.1", "again");
	struct seen s = { 0 };
	assert_int_equal(logs_read(l, "odd", 0, NULL, NULL, 0, collect, &s), 1);
	assert_int_equal(s.last_seq, 1);
	assert_int_equal(logs_last_seq(l, "even"), 5);
	logs_free(l);
}

static void test_ring_keeps_newest(void **state)
{
	struct logs *l = logs_new();
	for (int i = 1; i <= LOGS_LINES_PER_APP + 10; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "line %d", i);
		logs_append(l, "a", 0, "app", "web.1", msg);
	}
	struct seen s = { 0 };
	assert_int_equal(logs_read(l, "a", 0, NULL, NULL, 0, collect, &s), LOGS_LINES_PER_APP);
	assert_int_equal(s.first_seq, 11);
	assert_int_equal(s.last_seq, LOGS_LINES_PER_APP + 10);
	/* The newest 5 only, and after a sequence number. */
	struct seen t = { 0 };
	assert_int_equal(logs_read(l, "a", 0, NULL, NULL, 5, collect, &t), 5);
	assert_int_equal(t.first_seq, LOGS_LINES_PER_APP + 6);
	struct seen u = { 0 };
	assert_int_equal(logs_read(l, "a", LOGS_LINES_PER_APP + 8, NULL, NULL, 0, collect, &u), 2);
	logs_free(l);
}

static void test_filters(void **state)
{
	struct logs *l = logs_new();
	logs_append(l, "a", 0, "app", "web.1", "w1");
	logs_append(l, "a", 0, "app", "web.2", "w2");
	logs_append(l, "a", 0, "app", "worker.1", "k1");
	logs_append(l, "a", 0, "heroku", "web.1", "state");
	logs_append(l, "a", 0, "app", "webhook.1", "not web");
	struct seen s = { 0 };
	assert_int_equal(logs_read(l, "a", 0, "app", "web", 0, collect, &s), 2);
	struct seen t = { 0 };
	assert_int_equal(logs_read(l, "a", 0, NULL, "web.1", 0, collect, &t), 2);
	struct seen u = { 0 };
	assert_int_equal(logs_read(l, "a", 0, "heroku", NULL, 0, collect, &u), 1);
	assert_true(logs_dyno_matches("web", "web.12"));
	assert_false(logs_dyno_matches("web", "webhook.1"));
	assert_false(logs_dyno_matches("web.1", "web.12"));
	assert_true(logs_dyno_matches(NULL, "anything"));
	logs_free(l);
}

static void test_long_message_is_split(void **state)
{
	struct logs *l = logs_new();
	size_t n = LOGS_LINE_MAX * 2 + 5;
	char *msg = xmalloc(n + 1);
	memset(msg, 'x', n);
	msg[n] = '\0';
	logs_append(l, "a", 0, "app", "web.1", msg);
	free(msg);
	struct seen s = { 0 };
	assert_int_equal(logs_read(l, "a", 0, NULL, NULL, 0, collect, &s), 3);
	logs_free(l);
}

static void test_cursors(void **state)
{
	struct logs *l = logs_new();
	assert_true(logs_cursor_advance(l, "d1", 1, 10));
	assert_false(logs_cursor_advance(l, "d1", 1, 10));
	assert_false(logs_cursor_advance(l, "d1", 1, 5));
	assert_true(logs_cursor_advance(l, "d1", 1, 20));
	assert_true(logs_cursor_advance(l, "d1", 2, 1)); /* a new epoch starts over */
	assert_false(logs_cursor_advance(l, "d1", 1, 100));
	assert_true(logs_cursor_advance(l, "d2", 1, 1));
	logs_forget(l, "nothing");
	logs_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_order), cmocka_unit_test(test_ring_keeps_newest),
		cmocka_unit_test(test_filters),          cmocka_unit_test(test_long_message_is_split),
		cmocka_unit_test(test_cursors),
		cmocka_unit_test(test_stamps_across_seconds),
		cmocka_unit_test(test_apps_interleaved_and_forgotten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
