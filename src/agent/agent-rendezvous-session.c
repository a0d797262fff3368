/* SPDX-License-Identifier: MIT */
/* A rendezvous session's life (agent-rendezvous-session.h): handshake, secret, waiting, relay, end. */
#include "agent/agent-rendezvous-session.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent/agent-dyno.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

#define ACK "rendezvous\r\n"
#define EOT 0x04
/* After the command ended, how long a session waits for the client's end of input (0x04) before
 * closing: the heroku CLI writes 0x04 when its stdin ends (with or without a terminal in the
 * dyno), and a write after the server closed kills it (EPIPE), so a command quicker than the
 * client's stdin must not close the connection under it. An interactive session, whose stdin
 * does not end, closes this much after its command. */
#define RENDEZVOUS_LINGER_USEC (500 * 1000ull)

struct rendezvous_session *agent_rendezvous_session_new(int fd, const struct sockaddr *peer, socklen_t peer_len,
							gnutls_priority_t priority,
							gnutls_certificate_credentials_t creds)
{
	struct rendezvous_session *s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->io = -1;
	s->net_watch = (struct watch){ .kind = WATCH_RENDEZVOUS, .obj = s };
	s->io_watch = (struct watch){ .kind = WATCH_RENDEZVOUS, .obj = s };
	s->deadline = time_mono_usec() + RENDEZVOUS_HANDSHAKE_USEC;
	char host[48] = "?", port[8] = "";
	getnameinfo(peer, peer_len, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(s->peer, sizeof(s->peer), "%s:%s", host, port);
	if (gnutls_init(&s->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 || gnutls_priority_set(s->tls, priority) < 0 ||
	    gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE, creds) < 0) {
		close(fd);
		if (s->tls)
			gnutls_deinit(s->tls);
		free(s);
		return NULL;
	}
	gnutls_transport_set_int(s->tls, fd);
	gnutls_handshake_set_timeout(s->tls, 0);
	return s;
}

void agent_rendezvous_session_close(struct agent *a, struct rendezvous_session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	if (s->dyno) {
		struct agent_dyno *d = s->dyno;
		s->dyno = NULL;
		agent_dyno_detach(a, d);
	}
	if (s->state == SESSION_RELAY)
		agent_event(a, s->app_id, s->app_name, s->dyno_name, "Rendezvous session from %s ended", s->peer);
	if (s->tls)
		gnutls_deinit(s->tls);
	agent_watch_del(a, s->fd);
	close(s->fd);
	s->tls = NULL;
	s->fd = -1;
	if (s->io >= 0) {
		agent_watch_del(a, s->io);
		close(s->io);
		s->io = -1;
	}
	explicit_bzero(s->secret, sizeof(s->secret));
}


static void update_events(struct agent *a, struct rendezvous_session *s)
{
	uint32_t net = 0, io = 0;
	if (s->state == SESSION_HANDSHAKE) {
		net = gnutls_record_get_direction(s->tls) ? EPOLLOUT : EPOLLIN;
	} else {
		if (!s->client_gone && buf_room(&s->to_dyno) > 0)
			net |= EPOLLIN;
		if (buf_len(&s->to_client) > 0 || s->tls_send_pending)
			net |= EPOLLOUT;
		if (s->io >= 0) {
			if (s->tty_pending || (!s->dyno_eof && buf_len(&s->to_client) == 0))
				io |= EPOLLIN;
			if (buf_len(&s->to_dyno) > 0 && !s->tty_pending && !s->stdin_closed)
				io |= EPOLLOUT;
		}
	}
	if (net != s->net_events) {
		struct epoll_event ev = { .events = net, .data.ptr = &s->net_watch };
		epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
		s->net_events = net;
	}
	if (s->io >= 0 && io != s->io_events) {
		struct epoll_event ev = { .events = io, .data.ptr = &s->io_watch };
		epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, s->io, &ev);
		s->io_events = io;
	}
}

/* Sends what is buffered for the client; false when the session failed. */
static bool send_client(struct rendezvous_session *s)
{
	while (buf_len(&s->to_client) > 0) {
		ssize_t n = gnutls_record_send(s->tls, s->to_client.data + s->to_client.start, buf_len(&s->to_client));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			s->tls_send_pending = true;
			return true;
		}
		s->tls_send_pending = false;
		if (n < 0)
			return false;
		buf_consumed(&s->to_client, (size_t)n);
	}
	return true;
}

/* Takes bytes from the client: the secret line, then the dyno's input. False on failure. */
static bool recv_client(struct agent *a, struct rendezvous_session *s)
{
	for (;;) {
		char chunk[16384];
		size_t room = s->state == SESSION_SECRET ? sizeof(chunk) : buf_room(&s->to_dyno);
		if (s->client_gone || room == 0)
			return true;
		if (room > sizeof(chunk))
			room = sizeof(chunk);
		ssize_t n = gnutls_record_recv(s->tls, chunk, room);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return true;
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
			s->client_gone = true;
			return s->state == SESSION_RELAY; /* before the relay, a client gone ends it all */
		}
		if (n < 0)
			return false;
		size_t off = 0;
		if (s->state == SESSION_SECRET) {
			while (off < (size_t)n && chunk[off] != '\n') {
				if (s->secret_len >= RENDEZVOUS_SECRET_MAX)
					return false;
				s->secret[s->secret_len++] = chunk[off++];
			}
			if (off == (size_t)n)
				continue; /* the line goes on */
			off++;
			if (s->secret_len && s->secret[s->secret_len - 1] == '\r')
				s->secret_len--;
			s->secret[s->secret_len] = '\0';
			s->state = SESSION_WAITING;
			s->deadline = time_mono_usec() + RENDEZVOUS_UNKNOWN_USEC;
		}
		/* Input for the dyno; without a terminal, 0x04 is the end of it. */
		for (; off < (size_t)n; off++) {
			if (s->client_eof)
				break; /* nothing after the end of input */
			if (chunk[off] == EOT && !s->tty) {
				s->client_eof = true;
				break;
			}
			if (chunk[off] == EOT)
				s->client_sent_eot = true; /* a terminal's ^D: passed on, it may not be the end */
			if (buf_room(&s->to_dyno) == 0)
				buf_compact(&s->to_dyno);
			if (buf_room(&s->to_dyno) == 0)
				return false; /* more than the buffer in one record: cannot happen with 16 KiB records */
			s->to_dyno.data[s->to_dyno.end++] = chunk[off];
		}
		(void)a;
	}
}

void agent_rendezvous_session_pump(struct agent *a, struct rendezvous_session *s)
{
	if (s->state == SESSION_HANDSHAKE) {
		int r = gnutls_handshake(s->tls);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || (r < 0 && !gnutls_error_is_fatal(r))) {
			update_events(a, s);
			return;
		}
		if (r < 0) {
			log_debug("agent: rendezvous from %s: TLS handshake: %s", s->peer, gnutls_strerror(r));
			agent_rendezvous_session_close(a, s);
			return;
		}
		s->state = SESSION_SECRET;
	}
	if (!recv_client(a, s)) {
		agent_rendezvous_session_close(a, s);
		return;
	}
	if (s->state == SESSION_WAITING) {
		bool used = false;
		struct agent_dyno *d = agent_dyno_by_secret(a, s->secret, &used);
		if (used) {
			log_warning("agent: rendezvous from %s: a used secret, refused", s->peer);
			agent_rendezvous_session_close(a, s);
			return;
		}
		if (!d) {
			update_events(a, s);
			return; /* the tick tries again until the deadline */
		}
		explicit_bzero(s->secret, sizeof(s->secret));
		s->state = SESSION_RELAY;
		s->deadline = 0;
		s->dyno = d;
		s->tty = d->tty;
		snprintf(s->app_id, sizeof(s->app_id), "%s", d->app_id);
		snprintf(s->app_name, sizeof(s->app_name), "%s", d->app_name);
		snprintf(s->dyno_name, sizeof(s->dyno_name), "%s", d->name);
		memcpy(s->to_client.data, ACK, strlen(ACK));
		s->to_client.start = 0;
		s->to_client.end = strlen(ACK);
		agent_event(a, s->app_id, s->app_name, s->dyno_name, "Rendezvous session from %s attached", s->peer);
		agent_dyno_attach(a, d, s); /* may call agent_rendezvous_dyno_started() at once */
	}
	if (s->state != SESSION_RELAY) {
		update_events(a, s);
		return;
	}
	for (int round = 0; round < 4; round++) {
		if (!send_client(s)) {
			agent_rendezvous_session_close(a, s);
			return;
		}
		agent_rendezvous_relay_io(a, s);
		if (!send_client(s) || !recv_client(a, s)) {
			agent_rendezvous_session_close(a, s);
			return;
		}
		agent_rendezvous_relay_io(a, s);
		if (buf_len(&s->to_client) > 0 || s->dyno_eof)
			break;
	}
	if (s->dyno_eof && buf_len(&s->to_client) == 0 && !s->tls_send_pending && !s->client_eof &&
	    !s->client_sent_eot && !s->client_gone) {
		/* All sent; the client still writes: close once its input ends, or at the tick
		 * after the deadline. */
		if (!s->deadline)
			s->deadline = time_mono_usec() + RENDEZVOUS_LINGER_USEC;
		update_events(a, s);
		return;
	}
	if (s->dyno_eof && buf_len(&s->to_client) == 0 && !s->tls_send_pending) {
		gnutls_bye(s->tls, GNUTLS_SHUT_WR); /* best effort: the close says the same */
		agent_rendezvous_session_close(a, s);
		return;
	}
	if (s->client_gone) {
		/* The client left: nobody reads the dyno's output, the session ends with it. */
		agent_rendezvous_session_close(a, s);
		return;
	}
	update_events(a, s);
}

