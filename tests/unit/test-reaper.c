/* SPDX-License-Identifier: MIT */
/* Unit tests of base/reaper: adopted children are reaped, the others are left to their waiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/reaper.h"

/* A child that exits with `code` at once. */
static pid_t child(int code)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(code);
	return pid;
}

/* Collects until nothing adopted is left, for at most 5 s; returns how many were reaped. */
static size_t collect_all(void)
{
	size_t reaped = 0;
	for (int i = 0; i < 500 && reaper_pending() > 0; i++) {
		reaped += reaper_collect();
		if (reaper_pending() > 0)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return reaped;
}

static void test_adopted_are_reaped(void **state)
{
	(void)state;
	pid_t a = child(0), b = child(3);
	reaper_adopt(a);
	reaper_adopt(b);
	assert_int_equal(reaper_pending(), 2);
	assert_int_equal(collect_all(), 2);
	assert_int_equal(reaper_pending(), 0);
	/* Gone for good: nothing is left to wait for. */
	assert_int_equal(waitpid(a, NULL, WNOHANG), -1);
	assert_int_equal(waitpid(b, NULL, WNOHANG), -1);
}

static void test_others_keep_their_status(void **state)
{
	(void)state;
	pid_t mine = child(7), adopted = child(0);
	reaper_adopt(adopted);
	assert_int_equal(collect_all(), 1);
	/* The child nobody adopted is still there for its own waiter, with its status. */
	int status = 0;
	assert_int_equal(waitpid(mine, &status, 0), mine);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
}

static void test_running_child_waits(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	reaper_adopt(pid);
	assert_int_equal(reaper_collect(), 0); /* still running: kept, not waited for */
	assert_int_equal(reaper_pending(), 1);
	kill(pid, SIGTERM);
	assert_int_equal(collect_all(), 1);
}

static void test_not_a_child(void **state)
{
	(void)state;
	reaper_adopt(0);
	reaper_adopt(-1);
	assert_int_equal(reaper_pending(), 0);
	reaper_adopt(1); /* init: not ours, so dropped rather than kept forever */
	assert_int_equal(reaper_collect(), 0);
	assert_int_equal(reaper_pending(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adopted_are_reaped),
		cmocka_unit_test(test_others_keep_their_status),
		cmocka_unit_test(test_running_child_waits),
		cmocka_unit_test(test_not_a_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
