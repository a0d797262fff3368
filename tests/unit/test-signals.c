/* SPDX-License-Identifier: MIT */
/* Unit tests of base/signals: the stop signals through a signalfd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/signals.h"

/* The next signal the fd reports, or 0 when none is pending. */
static int next_signal(int fd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof(si));
	return n == sizeof(si) ? (int)si.ssi_signo : 0;
}

static void test_stop_signals(void **state)
{
	_cleanup_close_ int fd = signals_stop_fd(0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(next_signal(fd), 0); /* nothing yet, and no wait for it */
	/* Blocked: raised, they wait in the fd instead of ending the test. */
	static const int stop[] = { SIGTERM, SIGINT, SIGHUP };
	for (size_t i = 0; i < ARRAY_SIZE(stop); i++) {
		assert_int_equal(raise(stop[i]), 0);
		assert_int_equal(next_signal(fd), stop[i]);
	}
	assert_int_equal(next_signal(fd), 0);
	sigset_t blocked;
	sigprocmask(SIG_BLOCK, NULL, &blocked);
	assert_false(sigismember(&blocked, SIGUSR1)); /* no extra signal asked for */
}

static void test_extra_signal(void **state)
{
	_cleanup_close_ int fd = signals_stop_fd(SIGUSR1);
	assert_true(fd >= 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(next_signal(fd), SIGUSR1);
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(next_signal(fd), SIGTERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_signals),
		cmocka_unit_test(test_extra_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
