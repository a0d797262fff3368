/* SPDX-License-Identifier: MIT */
/*
 * The rendezvous (agent-rendezvous.h): the listener and the list of sessions. A session's own
 * life is agent-rendezvous-session.c's (agent-rendezvous-session.h tells how the parts meet).
 */
#include "agent/agent-rendezvous-session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

struct agent_rendezvous {
	struct watch watch;
	int fd;
	gnutls_certificate_credentials_t creds;
	gnutls_priority_t priority;
	char address[128];
	bool warned;
	uint64_t retry_at;    /* without a certificate yet: look again then */
	struct rendezvous_session **sessions;
	size_t n_sessions;
};

/* ---- listening ------------------------------------------------------------------------- */

static int load_credentials(struct agent *a, struct agent_rendezvous *rv, struct error *err)
{
	_cleanup_free_ char *cert = a->cfg->tls_cert ? xstrdup(a->cfg->tls_cert) : xasprintf("%s/tls/server.pem", a->cfg->data_dir);
	_cleanup_free_ char *key = a->cfg->tls_key ? xstrdup(a->cfg->tls_key) : xasprintf("%s/tls/server-key.pem", a->cfg->data_dir);
	if (access(cert, R_OK) < 0 || access(key, R_OK) < 0)
		return error_set(err, -ENOENT, "no certificate at '%s' and '%s'", cert, key);
	int r = gnutls_certificate_allocate_credentials(&rv->creds);
	if (r < 0)
		return error_set(err, -ENOMEM, "TLS credentials: %s", gnutls_strerror(r));
	r = gnutls_certificate_set_x509_key_file(rv->creds, cert, key, GNUTLS_X509_FMT_PEM);
	if (r < 0)
		return error_set(err, -EINVAL, "certificate '%s' with key '%s': %s", cert, key, gnutls_strerror(r));
	r = gnutls_priority_init(&rv->priority, "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1", NULL);
	if (r < 0)
		return error_set(err, -EINVAL, "TLS priorities: %s", gnutls_strerror(r));
	return 0;
}

static int listen_on(struct agent_rendezvous *rv, const char *listen_addr, struct error *err)
{
	_cleanup_free_ char *host = xstrdup(listen_addr);
	char *colon = strrchr(host, ':');
	if (!colon)
		return error_set(err, -EINVAL, "--rendezvous-listen '%s' is not HOST:PORT", listen_addr);
	*colon = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return error_set(err, -EINVAL, "--rendezvous-listen '%s': bad port", listen_addr);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return error_set(err, -EINVAL, "--rendezvous-listen '%s': not an IPv4 address", listen_addr);
	rv->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rv->fd < 0)
		return error_set(err, -errno, "rendezvous socket: %m");
	int one = 1;
	setsockopt(rv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(rv->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(rv->fd, 64) < 0)
		return error_set(err, -errno, "rendezvous: listen on '%s': %m", listen_addr);
	socklen_t len = sizeof(sin);
	getsockname(rv->fd, (struct sockaddr *)&sin, &len);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
	if (sin.sin_addr.s_addr == htonl(INADDR_ANY)) {
		/* Every address: clients use the host's name, which the local CA's certificate names. */
		char name[64];
		if (gethostname(name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
		snprintf(rv->address, sizeof(rv->address), "%s:%u", name, ntohs(sin.sin_port));
	} else {
		snprintf(rv->address, sizeof(rv->address), "%s:%u", ip, ntohs(sin.sin_port));
	}
	return 0;
}

/* Listens once the certificate is there; until then the agent looks again every few seconds. */
static int rendezvous_open(struct agent *a, struct error *err)
{
	struct agent_rendezvous *rv = a->rendezvous;
	struct error e = { 0 };
	if (load_credentials(a, rv, &e) < 0) {
		if (!rv->warned)
			log_warning("agent: no rendezvous for attached one-off dynos (`run`) yet: %s", e.message);
		rv->warned = true;
		if (rv->creds)
			gnutls_certificate_free_credentials(rv->creds);
		rv->creds = NULL;
		rv->retry_at = time_mono_usec() + 2 * 1000000ull;
		return 0;
	}
	int r = listen_on(rv, a->cfg->rendezvous_listen, err);
	if (r >= 0)
		r = agent_watch_add(a, rv->fd, &rv->watch, err);
	if (r < 0)
		return r;
	log_info("agent: rendezvous of one-off dynos at %s", rv->address);
	agent_want_report(a);
	return 0;
}

int agent_rendezvous_start(struct agent *a, struct error *err)
{
	if (!a->cfg->rendezvous_listen)
		return 0;
	struct agent_rendezvous *rv = xcalloc(1, sizeof(*rv));
	rv->fd = -1;
	rv->watch = (struct watch){ .kind = WATCH_RENDEZVOUS, .obj = NULL };
	a->rendezvous = rv;
	int r = rendezvous_open(a, err);
	if (r < 0)
		agent_rendezvous_free(a);
	return r;
}

const char *agent_rendezvous_address(struct agent *a)
{
	return a->rendezvous && a->rendezvous->fd >= 0 ? a->rendezvous->address : NULL;
}

/* ---- sessions -------------------------------------------------------------------------- */

void agent_rendezvous_collect(struct agent *a)
{
	struct agent_rendezvous *rv = a->rendezvous;
	if (!rv)
		return;
	for (size_t i = 0; i < rv->n_sessions;) {
		if (rv->sessions[i]->dead) {
			free(rv->sessions[i]);
			rv->sessions[i] = rv->sessions[--rv->n_sessions];
		} else {
			i++;
		}
	}
}

static void accept_clients(struct agent *a)
{
	struct agent_rendezvous *rv = a->rendezvous;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(rv->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (rv->n_sessions >= RENDEZVOUS_SESSIONS_MAX) {
			log_warning("agent: rendezvous: %d sessions already, refusing one", RENDEZVOUS_SESSIONS_MAX);
			close(fd);
			continue;
		}
		struct rendezvous_session *s =
			agent_rendezvous_session_new(fd, (struct sockaddr *)&peer, len, rv->priority, rv->creds);
		if (!s)
			continue;
		rv->sessions = xrealloc(rv->sessions, (rv->n_sessions + 1) * sizeof(*rv->sessions));
		rv->sessions[rv->n_sessions++] = s;
		struct error err = { 0 };
		if (agent_watch_add(a, fd, &s->net_watch, &err) < 0) {
			log_warning("agent: rendezvous: %s", err.message);
			agent_rendezvous_session_close(a, s);
			continue;
		}
		s->net_events = EPOLLIN;
		agent_rendezvous_session_pump(a, s);
	}
}

void agent_rendezvous_on_event(struct agent *a, struct watch *w, uint32_t events)
{
	(void)events;
	if (!a->rendezvous)
		return;
	if (!w->obj) {
		accept_clients(a);
		return;
	}
	struct rendezvous_session *s = w->obj;
	if (!s->dead)
		agent_rendezvous_session_pump(a, s);
}

void agent_rendezvous_tick(struct agent *a, uint64_t now)
{
	struct agent_rendezvous *rv = a->rendezvous;
	if (!rv)
		return;
	if (rv->fd < 0 && now >= rv->retry_at) {
		struct error err = { 0 };
		if (rendezvous_open(a, &err) < 0) {
			log_error("agent: %s", err.message);
			rv->retry_at = now + 30 * 1000000ull;
		}
	}
	for (size_t i = 0; i < rv->n_sessions; i++) {
		struct rendezvous_session *s = rv->sessions[i];
		if (s->dead)
			continue;
		if (s->deadline && now >= s->deadline) {
			if (s->state == SESSION_WAITING)
				log_warning("agent: rendezvous from %s: no one-off dyno has that secret, refused", s->peer);
			agent_rendezvous_session_close(a, s);
			continue;
		}
		/* Waiting: the desired state may have brought its dyno. Relaying with the dyno
		 * gone: what it left is to be sent. */
		if (s->state == SESSION_WAITING || (s->state == SESSION_RELAY && !s->dyno))
			agent_rendezvous_session_pump(a, s);
	}
}

void agent_rendezvous_dyno_started(struct agent *a, struct rendezvous_session *s, int io)
{
	s->io = io;
	s->tty_pending = s->tty;
	fcntl(io, F_SETFL, fcntl(io, F_GETFL) | O_NONBLOCK);
	struct error err = { 0 };
	s->io_events = EPOLLIN;
	if (agent_watch_add(a, io, &s->io_watch, &err) < 0)
		log_warning("agent: rendezvous: %s", err.message);
	agent_want_reconcile(a);
}

void agent_rendezvous_dyno_gone(struct agent *a, struct rendezvous_session *s)
{
	(void)a;
	s->dyno = NULL;
	if (s->io < 0)
		s->dyno_eof = true; /* it never ran */
	/* What it wrote is still in its socket: the session ends once that is sent. Pump on the
	 * next tick rather than here, inside the dyno's removal. */
	s->deadline = 0;
}

void agent_rendezvous_free(struct agent *a)
{
	struct agent_rendezvous *rv = a->rendezvous;
	if (!rv)
		return;
	for (size_t i = 0; i < rv->n_sessions; i++)
		agent_rendezvous_session_close(a, rv->sessions[i]);
	agent_rendezvous_collect(a);
	free(rv->sessions);
	if (rv->fd >= 0) {
		agent_watch_del(a, rv->fd);
		close(rv->fd);
	}
	if (rv->creds)
		gnutls_certificate_free_credentials(rv->creds);
	if (rv->priority)
		gnutls_priority_deinit(rv->priority);
	free(rv);
	a->rendezvous = NULL;
}
