/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A byte relay between two stream ends: what one end reads is written to the other, both ways
 * at once, until both directions have ended. The bastion uses it on both sides of its tunnel:
 * coved between the client's upgraded HTTP connection and the socket it opened inside a
 * space, the CLI between a local connection and its tunnel to coved.
 *
 * An end is a non-blocking descriptor, or anything that can be polled through one (a TLS
 * connection of libcurl): its read and write functions return a byte count, 0 at the end of
 * input (read), or a negative errno, -EAGAIN when nothing can move now. An end may hold data
 * it has read but not yet handed out (TLS records), so after poll says "readable" the relay
 * reads until -EAGAIN, and it reads again without polling once it has room in its buffer.
 *
 * When one end's input ends, the relay sends everything it still holds to the other end and
 * then half-closes that end (shutdown(SHUT_WR)), so request/response protocols that signal
 * the end of a request with EOF keep working. The relay ends when both directions have ended,
 * when a read or write fails, when stop_fd (an eventfd or pipe, -1 for none) becomes readable,
 * or when nothing moved for idle_ms milliseconds (0: no limit).
 *
 * It blocks: run it on a thread of its own (coved) or as the whole work of a process (cove).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RELAY_BUFFER_SIZE (64 * 1024)

struct relay_end {
	int fd; /* polled for readiness; the default functions read and write it */
	/* NULL: recv(2), send(2) and shutdown(SHUT_WR) on fd. */
	ssize_t (*read)(void *cls, void *buf, size_t len);
	ssize_t (*write)(void *cls, const void *buf, size_t len);
	void (*shutdown_write)(void *cls);
	void *cls;
	/* Bytes already read from this end by someone else (an HTTP server that read past the
	 * request's headers): written to the other end first. */
	const void *pending;
	size_t pending_len;
	/* Filled by relay_run(): bytes read from this end (pending included). */
	uint64_t bytes_read;
};

/*
 * Relays between a and b as described above. Returns 0 when both directions ended with EOF,
 * -ECANCELED when stop_fd woke it, -ETIMEDOUT when idle for idle_ms, or the negative errno of
 * the failed read or write (-ECONNRESET, -EPIPE, ...). Closes nothing.
 */
int relay_run(struct relay_end *a, struct relay_end *b, int stop_fd, int idle_ms);
