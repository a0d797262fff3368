/* SPDX-License-Identifier: MIT */
/*
 * The agent's loop. One epoll set carries, in this order of handling within an iteration:
 * signals (SIGTERM/SIGINT stop the agent, never the dynos), the curl sockets of the long poll,
 * reports and slug downloads, the pidfds of dyno shims and slug extractions, and a 1 s timer
 * that drives supervision (boot and stop timeouts, backoff restarts, memory checks). After
 * the events of an iteration, the loop reconciles if anything asked for it, then sends a
 * report if anything changed and none is in flight.
 */
#include "agent/agent.h"

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent/agent-addon.h"
#include "agent/agent-dyno.h"
#include "agent/agent-logs.h"
#include "agent/agent-dns.h"
#include "agent/agent-rendezvous.h"
#include "agent/agent-router.h"
#include "agent/agent-slug.h"
#include "agent/agent-space.h"
#include "agent/agent-spaceproc.h"
#include "base/alloc.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/timeutil.h"

#define POLL_WAIT_S 25
#define POLL_RETRY_USEC (1000 * 1000)

void agent_event(struct agent *a, const char *app_id, const char *app, const char *source, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s heroku[%s]: %s", app, source, msg);
	agent_logs_queue(a, app_id, "heroku", source, msg);
}

int agent_watch_add(struct agent *a, int fd, struct watch *w, struct error *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return error_set(err, -errno, "epoll add: %m");
	return 0;
}

void agent_watch_del(struct agent *a, int fd)
{
	if (fd >= 0)
		epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

int agent_state_foreach(struct agent *a, const char *sub,
			void (*fn)(struct agent *a, const char *path, const char *name, void *userdata), void *userdata,
			struct error *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", a->state_dir, sub);
	int r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	DIR *d = opendir(dir);
	if (!d)
		return error_set(err, -errno, "open '%s': %m", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		fn(a, path, de->d_name, userdata);
	}
	closedir(d);
	return 0;
}

void agent_want_report(struct agent *a)
{
	a->report_wanted = true;
}

void agent_want_reconcile(struct agent *a)
{
	a->reconcile_wanted = true;
}

static void reconcile(struct agent *a)
{
	a->reconcile_wanted = false;
	if (!a->desired)
		return;
	agent_spaces_reconcile(a, json_object_get(a->desired, "spaces"));
	for (size_t i = 0; i < a->n_spaces; i++)
		if (a->spaces[i]->deleting)
			agent_dynos_stop_space(a, a->spaces[i]->id);
	agent_dynos_reconcile(a, json_object_get(a->desired, "apps"));
	agent_addons_reconcile(a, json_object_get(a->desired, "spaces"));
	agent_spaceprocs_reconcile(a, a->routers);
	agent_spaceprocs_reconcile(a, a->resolvers);
	agent_spaces_collect(a);
}

/* ---- the long poll --------------------------------------------------------------------- */

static void poll_start(struct agent *a);

static void on_desired(void *userdata, long status, const struct strbuf *body, const char *error)
{
	struct agent *a = userdata;
	a->polling = false;
	if (status != 200) {
		static long last_status = -1;
		if (status != last_status)
			log_warning("agent: desired state: %s", error ? error : body->buf);
		last_status = status;
		a->poll_at = time_mono_usec() + POLL_RETRY_USEC;
		return;
	}
	json_error_t jerr;
	json_t *d = json_loadb(body->buf, body->len, 0, &jerr);
	const char *gen = json_string_value(json_object_get(d, "generation"));
	if (!d || !gen || !json_is_array(json_object_get(d, "spaces")) || !json_is_array(json_object_get(d, "apps"))) {
		log_error("agent: desired state is malformed");
		json_decref(d);
		a->poll_at = time_mono_usec() + POLL_RETRY_USEC;
		return;
	}
	snprintf(a->generation, sizeof(a->generation), "%s", gen);
	json_decref(a->desired);
	a->desired = d;
	json_decref(a->router_app_ids);
	a->router_app_ids = NULL;
	agent_runs_forget(a, json_object_get(d, "apps"));
	a->reconcile_wanted = true;
	poll_start(a);
}

static void poll_start(struct agent *a)
{
	if (a->polling || a->stop)
		return;
	_cleanup_free_ char *path = a->generation[0] ? xasprintf("/agent/desired?since=%s&wait=%d", a->generation, POLL_WAIT_S)
						     : xstrdup("/agent/desired");
	struct error err = { 0 };
	if (http_request(a->http, "GET", path, NULL, NULL, POLL_WAIT_S + 15, on_desired, a, &err) < 0) {
		log_error("agent: %s", err.message);
		a->poll_at = time_mono_usec() + POLL_RETRY_USEC;
		return;
	}
	a->polling = true;
}

/* ---- reports --------------------------------------------------------------------------- */

struct report {
	struct agent *agent;
	json_t *spaces;
	json_t *releases;
	json_t *runs_ended;
};

static void on_reported(void *userdata, long status, const struct strbuf *body, const char *error)
{
	struct report *rep = userdata;
	struct agent *a = rep->agent;
	a->reporting = false;
	if (status != 200) {
		log_warning("agent: report: %s", error ? error : body->buf);
		agent_spaces_report_failed(a, rep->spaces);
		json_array_extend(a->failed_releases, rep->releases);
		json_array_extend(a->runs_ended, rep->runs_ended);
		a->report_wanted = true;
	}
	json_decref(rep->spaces);
	json_decref(rep->releases);
	json_decref(rep->runs_ended);
	free(rep);
}

static void report_send(struct agent *a)
{
	a->report_wanted = false;
	struct report *rep = xcalloc(1, sizeof(*rep));
	rep->agent = a;
	rep->spaces = agent_spaces_report(a);
	rep->releases = a->failed_releases;
	a->failed_releases = json_array();
	rep->runs_ended = a->runs_ended;
	a->runs_ended = json_array();
	json_t *body = json_pack("{s:O, s:O, s:o, s:O, s:o, s:o}", "spaces", rep->spaces, "releases", rep->releases, "dynos",
				 agent_dynos_report(a), "runs_ended", rep->runs_ended, "rendezvous",
				 agent_rendezvous_address(a) ? json_string(agent_rendezvous_address(a)) : json_null(), "addons", agent_addons_report(a));
	_cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct error err = { 0 };
	if (http_request(a->http, "POST", "/agent/report", text, NULL, 30, on_reported, rep, &err) < 0) {
		log_error("agent: %s", err.message);
		agent_spaces_report_failed(a, rep->spaces);
		json_array_extend(a->failed_releases, rep->releases);
		json_array_extend(a->runs_ended, rep->runs_ended);
		json_decref(rep->spaces);
		json_decref(rep->releases);
		json_decref(rep->runs_ended);
		free(rep);
		a->report_wanted = true;
		return;
	}
	a->reporting = true;
}

/* ---- the loop -------------------------------------------------------------------------- */

static int loop_init(struct agent *a, struct error *err)
{
	a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epoll_fd < 0)
		return error_set(err, -errno, "epoll: %m");
	a->signal_fd = signals_stop_fd(0);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->router_slice_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->signal_fd < 0 || a->timer_fd < 0 || a->router_slice_fd < 0)
		return error_set(err, -errno, "signalfd/timerfd: %m");
	struct itimerspec its = { .it_interval = { .tv_nsec = 250 * 1000 * 1000 }, .it_value = { .tv_nsec = 250 * 1000 * 1000 } };
	timerfd_settime(a->timer_fd, 0, &its, NULL);
	a->signal_watch = (struct watch){ .kind = WATCH_SIGNAL, .obj = a };
	a->timer_watch = (struct watch){ .kind = WATCH_TIMER, .obj = a };
	a->router_slice_watch = (struct watch){ .kind = WATCH_ROUTER_SLICE, .obj = a };
	int r = agent_watch_add(a, a->signal_fd, &a->signal_watch, err);
	if (r >= 0)
		r = agent_watch_add(a, a->timer_fd, &a->timer_watch, err);
	if (r >= 0)
		r = agent_watch_add(a, a->router_slice_fd, &a->router_slice_watch, err);
	return r;
}

/* Reads a timerfd's expirations, so that it stops being ready. */
static void timer_drain(int fd)
{
	uint64_t expirations;
	while (read(fd, &expirations, sizeof(expirations)) > 0)
		;
}

/*
 * A slice of the routers' lines: at the tick, of the routers whose files were read to the end;
 * when router_slice_fd expires, of the others. The next in LOG_ROUTER_SLICE_MS while any has
 * lines left.
 */
static void router_slice(struct agent *a, bool behind)
{
	agent_logs_collect_routers(a, behind);
	if (a->router_behind && !a->router_slice_armed) {
		struct itimerspec once = { .it_value = { .tv_nsec = LOG_ROUTER_SLICE_MS * 1000 * 1000 } };
		a->router_slice_armed = timerfd_settime(a->router_slice_fd, 0, &once, NULL) == 0;
	}
}

static void on_tick(struct agent *a)
{
	timer_drain(a->timer_fd);
	uint64_t now = time_mono_usec();
	agent_dynos_tick(a, now);
	agent_rendezvous_tick(a, now);
	agent_addons_tick(a, now);
	agent_slugs_tick(a, now);
	for (size_t i = 0; i < a->n_dynos; i++)
		agent_logs_collect(a, a->dynos[i]);
	router_slice(a, false);
	agent_logs_ship(a);
	agent_spaceprocs_tick(a, a->routers, now);
	agent_spaceprocs_tick(a, a->resolvers, now);
	if (!a->polling && now >= a->poll_at)
		poll_start(a);
}

int agent_run(const struct agent_config *cfg, struct error *err)
{
	struct agent agent = {
		.cfg = cfg, .epoll_fd = -1, .signal_fd = -1, .timer_fd = -1, .router_slice_fd = -1, .host_netns_fd = -1
	};
	struct agent *a = &agent;
	int r;
	if (geteuid() != 0)
		return error_set(err, -EPERM, "the agent must run as root: it makes namespaces, links and cgroups");
	/*
	 * The log batches (tens of KB, several a second under load) are allocated and freed over
	 * and over: keep freed memory for the next one, rather than handing it back to the kernel
	 * and taking it again, page faults and zeroing included, each time.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	r = cidr4_parse(cfg->outbound_pool, 8, 32, &a->pool, err);
	if (r < 0)
		return error_set(err, r, "--outbound-pool: %s", err->message);
	a->state_dir = xasprintf("%s/agent", cfg->data_dir);
	a->failed_releases = json_array();
	a->log_queue = json_array();
	strbuf_init(&a->router_queue, 0);
	a->failed_releases_sent = json_object();
	a->runs_ended = json_array();
	a->runs_ended_sent = json_object();
	a->host_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (a->host_netns_fd < 0) {
		r = error_set(err, -errno, "open the host network namespace: %m");
		goto out;
	}
	r = mkdir_p(a->state_dir, 0700, err);
	if (r >= 0)
		r = loop_init(a, err);
	if (r >= 0)
		r = http_client_new(a->epoll_fd, cfg->api_url, cfg->token, &a->http, err);
	if (r >= 0)
		r = agent_spaces_load(a, err);
	if (r >= 0)
		r = agent_dynos_load(a, err);
	if (r >= 0)
		r = agent_addons_load(a, err);
	if (r >= 0)
		r = agent_spaceprocs_load(a, &agent_router_kind, &a->routers, err);
	if (r >= 0)
		r = agent_spaceprocs_load(a, &agent_resolver_kind, &a->resolvers, err);
	if (r >= 0)
		r = agent_rendezvous_start(a, err);
	if (r < 0)
		goto out;
	log_info("agent: serving %s, %zu space%s and %zu dyno%s found", cfg->api_url, a->n_spaces,
		 a->n_spaces == 1 ? "" : "s", a->n_dynos, a->n_dynos == 1 ? "" : "s");
	poll_start(a);

	while (!a->stop) {
		long timeout = http_client_timeout_ms(a->http);
		struct epoll_event events[32];
		int n = epoll_wait(a->epoll_fd, events, (int)ARRAY_SIZE(events), timeout < 0 || timeout > 1000 ? 1000 : (int)timeout);
		if (n < 0 && errno != EINTR) {
			r = error_set(err, -errno, "epoll_wait: %m");
			break;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.u64 & HTTP_EPOLL_TAG) {
				http_client_on_socket(a->http, events[i].data.u64, events[i].events);
				continue;
			}
			struct watch *w = events[i].data.ptr;
			switch (w->kind) {
			case WATCH_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
					log_info("agent: stopping on signal %u; dynos keep running", si.ssi_signo);
					a->stop = true;
				}
				break;
			}
			case WATCH_TIMER:
				on_tick(a);
				break;
			case WATCH_ROUTER_SLICE:
				timer_drain(a->router_slice_fd);
				a->router_slice_armed = false;
				router_slice(a, true);
				agent_logs_ship(a);
				break;
			case WATCH_DYNO:
				agent_dyno_on_exit(a, container_of(w, struct agent_dyno, watch));
				break;
			case WATCH_SLUG:
				agent_slug_on_exit(a, container_of(w, struct agent_slug, watch));
				break;
			case WATCH_RENDEZVOUS:
				agent_rendezvous_on_event(a, w, events[i].events);
				break;
			case WATCH_ADDON:
				agent_addon_on_exit(a, (struct agent_addon *)w);
				break;
			}
		}
		agent_rendezvous_collect(a);
		if (http_client_timeout_ms(a->http) == 0)
			http_client_on_timeout(a->http);
		if (a->reconcile_wanted)
			reconcile(a);
		if (a->report_wanted && !a->reporting && a->desired)
			report_send(a);
	}
	r = 0;
out:
	agent_rendezvous_free(a);
	http_client_free(a->http);
	json_decref(a->desired);
	json_decref(a->router_app_ids);
	json_decref(a->failed_releases);
	json_decref(a->log_queue);
	strbuf_release(&a->router_queue);
	json_decref(a->failed_releases_sent);
	json_decref(a->runs_ended);
	json_decref(a->runs_ended_sent);
	for (size_t i = 0; i < a->n_dynos; i++) {
		agent_sandboxed_release(&a->dynos[i]->proc);
		json_decref(a->dynos[i]->env);
		strbuf_release(&a->dynos[i]->log_partial);
		free(a->dynos[i]->command);
		free(a->dynos[i]);
	}
	free(a->dynos);
	for (size_t i = 0; i < a->n_spaces; i++)
		free(a->spaces[i]);
	free(a->spaces);
	for (size_t i = 0; i < a->n_slugs; i++) {
		safe_close(a->slugs[i]->pidfd);
		free(a->slugs[i]);
	}
	free(a->slugs);
	agent_spaceprocs_free(a->routers);
	agent_spaceprocs_free(a->resolvers);
	agent_addons_free(a);
	safe_close(a->signal_fd);
	safe_close(a->timer_fd);
	safe_close(a->router_slice_fd);
	safe_close(a->epoll_fd);
	safe_close(a->host_netns_fd);
	free(a->state_dir);
	return r;
}
