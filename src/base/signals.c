/* SPDX-License-Identifier: MIT */
#include "base/signals.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>

int signals_stop_fd(int extra)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (extra)
		sigaddset(&mask, extra);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}
