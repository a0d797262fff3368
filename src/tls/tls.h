/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * TLS for cove's servers, with GnuTLS: the certificate a server presents, where it comes
 * from, and a server-side handshake for servers that speak TLS on raw sockets.
 *
 * A server's identity is a certificate chain and its private key, in PEM. It comes either
 * from files the operator names (`coved --tls-cert/--tls-key`), or from the local
 * certificate authority that coved makes in its data directory on first start:
 *
 *   <dir>/ca.pem           the CA certificate: what clients trust (NODE_EXTRA_CA_CERTS,
 *                          GIT_SSL_CAINFO, COVE_CA_FILE); mode 0644
 *   <dir>/ca-key.pem       the CA's private key; mode 0600, never leaves the directory
 *   <dir>/server.pem       the server certificate, signed by the CA; mode 0644
 *   <dir>/server-key.pem   its private key; mode 0600
 *
 * The CA lives ten years and is kept as long as its files are there. The server certificate
 * is made again, from the same CA, when it is missing, was not signed by that CA, expires
 * within 30 days, or does not name every host the caller asks for. Keys are ECDSA P-256.
 * Nothing here guards against another process making the same directory at the same time:
 * one coved owns a data directory.
 */

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* A server's certificate chain and key, in PEM; owned (tls_identity_release frees them). */
struct tls_identity {
	char *cert_pem; /* the server certificate, then any intermediate certificates */
	char *key_pem;  /* its private key */
	char *ca_path;  /* the CA certificate file clients should trust, or NULL (operator's own) */
};

#define TLS_SERVER_DAYS 397
#define TLS_CA_DAYS 3650
#define TLS_RENEW_DAYS 30

/*
 * Makes the local CA and the server certificate in dir (created 0700 when missing), or keeps
 * those that are there and still good (see above). hosts is a NULL-terminated list of DNS
 * names and IP addresses (v4 or v6) the server certificate must name; NULL means
 * tls_default_hosts(). On success the files are in place and *ret (when not NULL) holds the
 * server's identity with ca_path set to <dir>/ca.pem. A CA file that cannot be read or parsed
 * is an error, never silently replaced: clients may already trust it.
 */
int tls_local_ca_ensure(const char *dir, const char *const *hosts, struct tls_identity *ret, struct error *err);

/*
 * The names a local server certificate gets by default: 127.0.0.1, ::1, localhost and this
 * machine's host name. Returns a static NULL-terminated list.
 */
const char *const *tls_default_hosts(void);

/*
 * Loads a certificate chain and key from PEM files (the operator's own). Fails with -EINVAL
 * and a message naming the files when either does not parse, or when the key does not belong
 * to the first certificate. ca_path stays NULL.
 */
int tls_identity_load(const char *cert_path, const char *key_path, struct tls_identity *ret, struct error *err);

/* Frees what an identity holds (the key is wiped first); the struct itself is the caller's. */
void tls_identity_release(struct tls_identity *id);

/*
 * GnuTLS server credentials holding the identity, for servers that run their own TLS on a
 * socket (the `run` rendezvous). Free with gnutls_certificate_free_credentials().
 */
int tls_server_credentials(const struct tls_identity *id, gnutls_certificate_credentials_t *ret, struct error *err);

/*
 * The server side of a TLS handshake on a connected socket fd (blocking or not: the handshake
 * waits with poll, at most timeout_ms). On success *ret is the session, ready for
 * gnutls_record_send/recv; the caller ends it with gnutls_bye() and gnutls_deinit(), and
 * still owns fd. Fails with -ETIMEDOUT, or -EPROTO and GnuTLS's reason.
 */
int tls_server_handshake(gnutls_certificate_credentials_t creds, int fd, int timeout_ms, gnutls_session_t *ret,
			 struct error *err);
