/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The rendezvous: where the user's end of an attached one-off dyno (`cove run`, `heroku run`)
 * meets the dyno, on the agent of the host that runs it, so that it works the same with one
 * host or many. The protocol is Heroku's:
 *
 *   client: TLS connect to the attach_url's host and port, then "<secret>\r\n"
 *   server: "rendezvous\r\n" in a TLS record of its own (the client drops its first chunk),
 *           then the dyno's stdout and stderr (or its terminal); the client's bytes go to the
 *           dyno's stdin (or terminal); without a terminal, a 0x04 from the client (what the
 *           CLIs send when their stdin ends) closes the dyno's stdin
 *   end:    when the dyno's command ends and its output is sent, the server closes; when the
 *           client goes, the dyno is stopped
 *
 * A secret is checked against the hashes of this host's one-off dynos in constant time; it
 * opens one session only. A secret no dyno knows waits a few seconds (the agent may not have
 * seen the dyno yet), then the connection is closed without a word, as is one whose secret was
 * used. Every session is an event in the app's log stream.
 *
 * Everything runs on the agent's loop, non-blocking: GnuTLS on a non-blocking socket, and
 * buffers of bounded size in both directions.
 */

#include <stdint.h>

#include "agent/agent-state.h"

#define RENDEZVOUS_SECRET_MAX 128
#define RENDEZVOUS_HANDSHAKE_USEC (10 * 1000000ull) /* TLS and the secret line, at most */
#define RENDEZVOUS_UNKNOWN_USEC (10 * 1000000ull)    /* a secret no dyno knows yet waits this long */
#define RENDEZVOUS_SESSIONS_MAX 64

/*
 * Listens on cfg->rendezvous_listen with the certificate of cfg->tls_cert/tls_key or the local
 * CA's. Without a certificate the agent runs with no rendezvous (a warning): detached one-off
 * dynos still work.
 */
int agent_rendezvous_start(struct agent *a, struct error *err);

/* "HOST:PORT" clients reach the rendezvous at, or NULL when there is none. */
const char *agent_rendezvous_address(struct agent *a);

/* An event on a rendezvous socket (the listener, a client, a dyno's end). */
void agent_rendezvous_on_event(struct agent *a, struct watch *w, uint32_t events);

/* Deadlines, and matching waiting secrets against dynos the desired state brought. */
void agent_rendezvous_tick(struct agent *a, uint64_t now);

/*
 * The session's dyno runs: io is the agent's end of its socket (for a terminal, the master
 * arrives over it). The session owns io from here.
 */
void agent_rendezvous_dyno_started(struct agent *a, struct rendezvous_session *s, int io);

/* The session's dyno is gone (removed); the session ends once its output is sent. */
void agent_rendezvous_dyno_gone(struct agent *a, struct rendezvous_session *s);

/* Frees the sessions that ended; the loop calls it after each batch of events. */
void agent_rendezvous_collect(struct agent *a);

void agent_rendezvous_free(struct agent *a);
