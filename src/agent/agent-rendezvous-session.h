/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The inside of the rendezvous (agent-rendezvous.h), shared by its files and by nothing else:
 *
 *   agent-rendezvous.c          the listener (certificate, socket, accept), the list of
 *                               sessions, the public API
 *   agent-rendezvous-session.c  a session's life: TLS handshake, the secret line, waiting for
 *                               its dyno, the pump that moves it on after every event, its end
 *   agent-rendezvous-relay.c    the bytes between the client and the dyno's end (a socket, or
 *                               a terminal's master), through the session's two buffers
 *
 * A session goes
 *
 *   handshake -> secret -> (waiting for its dyno) -> relay -> closed
 *
 * and is pumped after every event on either of its descriptors: the client's socket (TLS) and
 * the dyno's end. Each direction has one buffer; a side is read only while its buffer has
 * room, and written while the buffer holds something, so neither a slow client nor a chatty
 * dyno grows memory.
 */

#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/agent-rendezvous.h"

#define RENDEZVOUS_BUF_SIZE (64 * 1024)

enum rendezvous_session_state { SESSION_HANDSHAKE, SESSION_SECRET, SESSION_WAITING, SESSION_RELAY };

/* Bytes on their way in one direction: data[start, end) is still to be written. */
struct rendezvous_buffer {
	char data[RENDEZVOUS_BUF_SIZE];
	size_t start, end;
};

/* A client's connection; in the list of struct agent_rendezvous until collected. */
struct rendezvous_session {
	struct watch net_watch, io_watch;
	enum rendezvous_session_state state;
	int fd;               /* the client's socket */
	int io;               /* the dyno's end, -1 before it runs */
	bool tty_pending;     /* io is the socket the terminal's master arrives on */
	bool tty;
	gnutls_session_t tls;
	uint64_t deadline;    /* handshake, secret, waiting, or lingering after the command */
	char secret[RENDEZVOUS_SECRET_MAX + 1];
	size_t secret_len;
	char peer[64];
	struct agent_dyno *dyno;
	char app_id[ID_STRING_MAX], app_name[64], dyno_name[48];
	struct rendezvous_buffer to_dyno, to_client;
	bool tls_send_pending; /* gnutls_record_send said again: same bytes next time */
	bool client_eof;       /* the client's input ended (0x04 without a terminal) */
	bool client_sent_eot;  /* with a terminal: the client sent a 0x04 (^D, or its stdin ended) */
	bool client_gone;      /* the client closed the connection */
	bool stdin_closed;
	bool dyno_eof;         /* the dyno's output ended */
	bool dead;             /* closed; freed by agent_rendezvous_collect() */
	uint32_t net_events, io_events; /* registered */
};

static inline size_t buf_len(const struct rendezvous_buffer *b)
{
	return b->end - b->start;
}

static inline size_t buf_room(const struct rendezvous_buffer *b)
{
	return sizeof(b->data) - b->end;
}

static inline void buf_consumed(struct rendezvous_buffer *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
}

static inline void buf_compact(struct rendezvous_buffer *b)
{
	if (b->start && b->start != b->end) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
}

/*
 * A session for a client just accepted on fd (which it owns from here, even on failure), its
 * TLS handshake next; NULL when TLS cannot be set up for it (fd is closed).
 */
struct rendezvous_session *agent_rendezvous_session_new(int fd, const struct sockaddr *peer, socklen_t peer_len,
							gnutls_priority_t priority,
							gnutls_certificate_credentials_t creds);

/* Moves the session on as far as its descriptors allow; it may end (s->dead). */
void agent_rendezvous_session_pump(struct agent *a, struct rendezvous_session *s);

/*
 * Ends a session: its descriptors are closed at once, its memory goes in
 * agent_rendezvous_collect(), after the loop's batch of events (some may still point at it).
 */
void agent_rendezvous_session_close(struct agent *a, struct rendezvous_session *s);

/*
 * The dyno's side of the relay: takes the terminal's master when it arrives, writes the
 * client's bytes to the dyno (and ends its input after the client's 0x04, without a
 * terminal), reads what the dyno wrote into the client's buffer. Sets s->dyno_eof when the
 * dyno's output ended.
 */
void agent_rendezvous_relay_io(struct agent *a, struct rendezvous_session *s);
