/* SPDX-License-Identifier: MIT */
#include "base/reaper.h"

#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>

#include "base/alloc.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *pids;
static size_t n_pids, cap_pids;

void reaper_adopt(pid_t pid)
{
	if (pid <= 0)
		return;
	pthread_mutex_lock(&lock);
	if (n_pids == cap_pids) {
		cap_pids = cap_pids ? 2 * cap_pids : 8;
		pids = xrealloc(pids, cap_pids * sizeof(*pids));
	}
	pids[n_pids++] = pid;
	pthread_mutex_unlock(&lock);
}

size_t reaper_collect(void)
{
	size_t reaped = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_pids;) {
		pid_t w;
		while ((w = waitpid(pids[i], NULL, WNOHANG)) < 0 && errno == EINTR)
			;
		if (w == 0) {
			i++;
			continue;
		}
		/* Exited and reaped, or not (or no longer) our child: either way, done with it. */
		if (w > 0)
			reaped++;
		pids[i] = pids[--n_pids];
	}
	pthread_mutex_unlock(&lock);
	return reaped;
}

size_t reaper_pending(void)
{
	pthread_mutex_lock(&lock);
	size_t n = n_pids;
	pthread_mutex_unlock(&lock);
	return n;
}
