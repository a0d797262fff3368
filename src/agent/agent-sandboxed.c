/* SPDX-License-Identifier: MIT */
#include "agent/agent-sandboxed.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent-state.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "net/net-dyno.h"

#define USEC 1000000ull

static void watch(struct agent *a, struct agent_sandboxed *p, struct watch *w, const char *what)
{
	struct error err = { 0 };
	p->running = true;
	p->pidfd = sandbox_pidfd(&p->sb);
	if (p->pidfd < 0 || agent_watch_add(a, p->pidfd, w, &err) < 0)
		log_error("agent: watch %s: %s", what, err.message);
}

int agent_sandboxed_start(struct agent *a, struct agent_sandboxed *p, struct watch *w, const struct sandbox_spec *spec,
			  const char *what, struct error *err)
{
	int r = sandbox_start(spec, &p->sb, err);
	if (r < 0)
		return r;
	watch(a, p, w, what);
	p->stopping = false;
	return 0;
}

void agent_sandboxed_start_failed(struct agent_sandboxed *p)
{
	p->crashes++;
	p->restart_at = time_mono_usec() + USEC * (p->crashes > 8 ? AGENT_SANDBOXED_BACKOFF_MAX_S : (1u << p->crashes));
}

bool agent_sandboxed_adopt(struct agent *a, struct agent_sandboxed *p, struct watch *w, const char *sandbox_dir,
			   const char *what)
{
	if (sandbox_adopt(sandbox_dir, &p->sb, NULL) < 0)
		return false;
	watch(a, p, w, what);
	return true;
}

int agent_exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int agent_sandboxed_ended(struct agent *a, struct agent_sandboxed *p, const char *sandbox_dir, const char *what,
			  bool *ret_oom)
{
	agent_watch_del(a, p->pidfd);
	close(p->pidfd);
	p->pidfd = -1;
	p->running = false;
	int status = 0;
	struct error err = { 0 };
	*ret_oom = false;
	if (sandbox_exit_status(sandbox_dir, &status, ret_oom, &err) < 0)
		log_warning("agent: exit status of %s: %s", what, err.message);
	return agent_exit_code(status);
}

uint64_t agent_sandboxed_crashed(struct agent_sandboxed *p, bool stable, uint64_t now)
{
	if (stable)
		p->crashes = 0;
	/* The first restart is immediate, then 1 s, 2 s, 4 s ... up to the cap. */
	uint64_t delay =
		p->crashes == 0 ? 0 : (p->crashes >= 9 ? AGENT_SANDBOXED_BACKOFF_MAX_S : (1u << (p->crashes - 1))) * USEC;
	p->crashes++;
	p->restart_at = now + delay;
	return delay;
}

void agent_sandboxed_stop(struct agent_sandboxed *p, int signal, uint64_t grace_usec, const char *what)
{
	struct error err = { 0 };
	if (sandbox_kill(&p->sb, signal, &err) < 0)
		log_warning("agent: stop %s: %s", what, err.message);
	p->stopping = true;
	p->kill_at = time_mono_usec() + grace_usec;
}

bool agent_sandboxed_kill_due(struct agent_sandboxed *p, uint64_t now)
{
	if (!p->stopping || now < p->kill_at)
		return false;
	sandbox_kill(&p->sb, SIGKILL, NULL);
	p->kill_at = now + 5 * USEC;
	return true;
}

void agent_sandboxed_remove(const char *id, const char *sandbox_dir, const char *what)
{
	struct error err = { 0 };
	if (sandbox_cleanup(id, sandbox_dir, &err) < 0)
		log_warning("agent: clean up %s: %s", what, err.message);
	error_clear(&err);
	if (net_dyno_destroy(id, &err) < 0)
		log_warning("agent: remove network of %s: %s", what, err.message);
}

void agent_sandboxed_release(struct agent_sandboxed *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->running = false;
}
