/* SPDX-License-Identifier: MIT */
/* The relay of a rendezvous session (agent-rendezvous-session.h). */
#include "agent/agent-rendezvous-session.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "base/log.h"

/* The terminal's master, sent by the dyno's init over the socket (sandbox.h, SANDBOX_IO_TTY). */
static bool receive_tty(struct rendezvous_session *s)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(s->io, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
		s->dyno_eof = true; /* the dyno ended before its terminal came */
		return true;
	}
	int master;
	memcpy(&master, CMSG_DATA(c), sizeof(int));
	return master >= 0 && (s->tty_pending = false, close(s->io), s->io = master, true);
}

void agent_rendezvous_relay_io(struct agent *a, struct rendezvous_session *s)
{
	if (s->io < 0)
		return;
	if (s->tty_pending) {
		int old = s->io;
		agent_watch_del(a, old);
		if (!receive_tty(s)) {
			s->dyno_eof = true;
			return;
		}
		if (s->io != old) {
			fcntl(s->io, F_SETFL, fcntl(s->io, F_GETFL) | O_NONBLOCK);
			/* The size the client's terminal has, when it said. */
			struct winsize ws = { 0 };
			if (s->dyno) {
				const char *cols = json_string_value(json_object_get(s->dyno->env, "COLUMNS"));
				const char *lines = json_string_value(json_object_get(s->dyno->env, "LINES"));
				ws.ws_col = cols ? (unsigned short)atoi(cols) : 0;
				ws.ws_row = lines ? (unsigned short)atoi(lines) : 0;
			}
			if (ws.ws_col && ws.ws_row)
				ioctl(s->io, TIOCSWINSZ, &ws);
		}
		s->io_events = 0;
		struct error err = { 0 };
		if (agent_watch_add(a, s->io, &s->io_watch, &err) < 0)
			log_warning("agent: rendezvous: %s", err.message);
		s->io_events = EPOLLIN;
		if (s->tty_pending)
			return;
	}
	/* Client -> dyno. */
	while (buf_len(&s->to_dyno) > 0 && !s->stdin_closed) {
		ssize_t n = write(s->io, s->to_dyno.data + s->to_dyno.start, buf_len(&s->to_dyno));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			s->stdin_closed = true; /* the dyno closed its input: drop the rest */
			s->to_dyno.start = s->to_dyno.end = 0;
			break;
		}
		buf_consumed(&s->to_dyno, (size_t)n);
	}
	if (s->client_eof && buf_len(&s->to_dyno) == 0 && !s->stdin_closed && !s->tty) {
		shutdown(s->io, SHUT_WR);
		s->stdin_closed = true;
	}
	/* Dyno -> client, one buffer at a time so that records never mix with the ack. */
	if (buf_len(&s->to_client) == 0 && !s->dyno_eof) {
		ssize_t n = read(s->io, s->to_client.data, sizeof(s->to_client.data));
		if (n > 0)
			s->to_client.end = (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			s->dyno_eof = true; /* a terminal says EIO once nobody holds it */
	}
}

