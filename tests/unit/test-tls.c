/* SPDX-License-Identifier: MIT */
/* Unit tests of tls/tls: the local CA, reuse and renewal of the server certificate, operators'
 * certificates, and a handshake that a client verifying against the CA accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "tls/tls.h"

static int setup(void **state)
{
	char *dir = xstrdup("/tmp/cove-test-tls.XXXXXX");
	if (!mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	char *text = NULL;
	assert_int_equal(file_read(path, 1 << 20, &text, NULL, NULL), 0);
	return text;
}

static mode_t mode_of(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

/* Whether the server certificate in dir verifies against ca.pem for host. */
static bool verifies(const char *dir, const char *host)
{
	_cleanup_free_ char *ca_pem = slurp(dir, "ca.pem"), *pem = slurp(dir, "server.pem");
	gnutls_x509_crt_t ca, crt;
	gnutls_x509_crt_init(&ca);
	gnutls_x509_crt_init(&crt);
	gnutls_datum_t a = { (unsigned char *)ca_pem, (unsigned)strlen(ca_pem) };
	gnutls_datum_t b = { (unsigned char *)pem, (unsigned)strlen(pem) };
	assert_int_equal(gnutls_x509_crt_import(ca, &a, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &b, GNUTLS_X509_FMT_PEM), 0);
	unsigned status = 1;
	bool ok = gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) == 0 && status == 0 &&
		  gnutls_x509_crt_check_hostname(crt, host);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);
	return ok;
}

static void test_local_ca_made_then_kept(void **state)
{
	_cleanup_free_ char *dir = xasprintf("%s/tls", (char *)*state);
	struct error err = { 0 };
	struct tls_identity id = { 0 };
	assert_int_equal(tls_local_ca_ensure(dir, NULL, &id, &err), 0);
	assert_non_null(strstr(id.cert_pem, "BEGIN CERTIFICATE"));
	assert_non_null(strstr(id.key_pem, "PRIVATE KEY"));
	_cleanup_free_ char *ca_path = xasprintf("%s/ca.pem", dir);
	assert_string_equal(id.ca_path, ca_path);
	assert_int_equal(mode_of(dir, "ca-key.pem"), 0600);
	assert_int_equal(mode_of(dir, "server-key.pem"), 0600);
	assert_int_equal(mode_of(dir, "ca.pem"), 0644);
	assert_true(verifies(dir, "localhost"));
	assert_true(verifies(dir, "127.0.0.1"));
	assert_true(verifies(dir, "::1"));
	assert_false(verifies(dir, "example.org"));

	/* A second start keeps everything. */
	_cleanup_free_ char *ca1 = slurp(dir, "ca.pem"), *srv1 = slurp(dir, "server.pem");
	struct tls_identity again = { 0 };
	assert_int_equal(tls_local_ca_ensure(dir, NULL, &again, &err), 0);
	_cleanup_free_ char *ca2 = slurp(dir, "ca.pem"), *srv2 = slurp(dir, "server.pem");
	assert_string_equal(ca1, ca2);
	assert_string_equal(srv1, srv2);
	assert_string_equal(id.cert_pem, again.cert_pem);
	tls_identity_release(&id);
	tls_identity_release(&again);
}

static void test_server_cert_renewed_from_same_ca(void **state)
{
	_cleanup_free_ char *dir = xasprintf("%s/tls", (char *)*state);
	struct error err = { 0 };
	assert_int_equal(tls_local_ca_ensure(dir, NULL, NULL, &err), 0);
	_cleanup_free_ char *ca1 = slurp(dir, "ca.pem"), *srv1 = slurp(dir, "server.pem");

	/* A host the certificate does not name: a new server certificate, the same CA. */
	const char *hosts[] = { "127.0.0.1", "cove.example", NULL };
	assert_int_equal(tls_local_ca_ensure(dir, hosts, NULL, &err), 0);
	_cleanup_free_ char *ca2 = slurp(dir, "ca.pem"), *srv2 = slurp(dir, "server.pem");
	assert_string_equal(ca1, ca2);
	assert_string_not_equal(srv1, srv2);
	assert_true(verifies(dir, "cove.example"));

	/* A lost server key: made again. */
	_cleanup_free_ char *key = xasprintf("%s/server-key.pem", dir);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(tls_local_ca_ensure(dir, hosts, NULL, &err), 0);
	assert_int_equal(access(key, F_OK), 0);
	assert_true(verifies(dir, "cove.example"));
}

static void test_ca_without_key_refused(void **state)
{
	_cleanup_free_ char *dir = xasprintf("%s/tls", (char *)*state);
	struct error err = { 0 };
	assert_int_equal(tls_local_ca_ensure(dir, NULL, NULL, &err), 0);
	_cleanup_free_ char *key = xasprintf("%s/ca-key.pem", dir);
	_cleanup_free_ char *ca1 = slurp(dir, "ca.pem");
	assert_int_equal(unlink(key), 0);
	assert_int_equal(tls_local_ca_ensure(dir, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "ca-key.pem"));
	/* The CA clients trust is not replaced behind their back. */
	_cleanup_free_ char *ca2 = slurp(dir, "ca.pem");
	assert_string_equal(ca1, ca2);

	/* A damaged CA certificate is an error too. */
	_cleanup_free_ char *ca = xasprintf("%s/ca.pem", dir);
	assert_int_equal(file_write_atomic(key, "x", 1, 0600, NULL), 0);
	assert_int_equal(file_write_atomic(ca, "not a certificate\n", 18, 0644, NULL), 0);
	error_clear(&err);
	assert_true(tls_local_ca_ensure(dir, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err.message, "ca.pem"));
}

static void test_identity_load_checks_pair(void **state)
{
	const char *base = *state;
	_cleanup_free_ char *a = xasprintf("%s/a", base), *b = xasprintf("%s/b", base);
	struct error err = { 0 };
	assert_int_equal(tls_local_ca_ensure(a, NULL, NULL, &err), 0);
	assert_int_equal(tls_local_ca_ensure(b, NULL, NULL, &err), 0);
	_cleanup_free_ char *cert = xasprintf("%s/server.pem", a), *key = xasprintf("%s/server-key.pem", a);
	_cleanup_free_ char *other_key = xasprintf("%s/server-key.pem", b);
	struct tls_identity id = { 0 };
	assert_int_equal(tls_identity_load(cert, key, &id, &err), 0);
	assert_null(id.ca_path);
	tls_identity_release(&id);

	assert_int_equal(tls_identity_load(cert, other_key, &id, &err), -EINVAL);
	assert_non_null(strstr(err.message, "server-key.pem"));
	assert_null(id.cert_pem);

	_cleanup_free_ char *missing = xasprintf("%s/none.pem", base);
	assert_true(tls_identity_load(missing, key, &id, &err) < 0);
	assert_non_null(strstr(err.message, "none.pem"));
}

struct server_arg {
	gnutls_certificate_credentials_t creds;
	int fd;
	int rc;
	char got[16];
};

static void *server_thread(void *p)
{
	struct server_arg *a = p;
	gnutls_session_t s;
	a->rc = tls_server_handshake(a->creds, a->fd, 5000, &s, NULL);
	if (a->rc < 0)
		return NULL;
	ssize_t n;
	do
		n = gnutls_record_recv(s, a->got, sizeof(a->got) - 1);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	if (n > 0)
		a->got[n] = '\0';
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
	return NULL;
}

static void test_handshake_trusted_by_ca(void **state)
{
	_cleanup_free_ char *dir = xasprintf("%s/tls", (char *)*state);
	struct error err = { 0 };
	struct tls_identity id = { 0 };
	assert_int_equal(tls_local_ca_ensure(dir, NULL, &id, &err), 0);
	struct server_arg a = { 0 };
	assert_int_equal(tls_server_credentials(&id, &a.creds, &err), 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	a.fd = sv[0];
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, server_thread, &a), 0);

	/* The client trusts only ca.pem and checks the name, as Node and git do. */
	gnutls_certificate_credentials_t cc;
	gnutls_certificate_allocate_credentials(&cc);
	assert_true(gnutls_certificate_set_x509_trust_file(cc, id.ca_path, GNUTLS_X509_FMT_PEM) == 1);
	gnutls_session_t c;
	gnutls_init(&c, GNUTLS_CLIENT);
	gnutls_set_default_priority(c);
	gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, cc);
	gnutls_session_set_verify_cert(c, "localhost", 0);
	gnutls_transport_set_int(c, sv[1]);
	int rc;
	do
		rc = gnutls_handshake(c);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	assert_int_equal(rc, 0);
	assert_int_equal(gnutls_record_send(c, "hello", 5), 5);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	assert_string_equal(a.got, "hello");
	gnutls_deinit(c);
	gnutls_certificate_free_credentials(cc);
	gnutls_certificate_free_credentials(a.creds);
	close(sv[0]);
	close(sv[1]);
	tls_identity_release(&id);
}

static void test_handshake_times_out(void **state)
{
	_cleanup_free_ char *dir = xasprintf("%s/tls", (char *)*state);
	struct tls_identity id = { 0 };
	struct error err = { 0 };
	assert_int_equal(tls_local_ca_ensure(dir, NULL, &id, &err), 0);
	gnutls_certificate_credentials_t creds;
	assert_int_equal(tls_server_credentials(&id, &creds, &err), 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	gnutls_session_t s;
	assert_int_equal(tls_server_handshake(creds, sv[0], 100, &s, &err), -ETIMEDOUT);
	gnutls_certificate_free_credentials(creds);
	close(sv[0]);
	close(sv[1]);
	tls_identity_release(&id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_ca_made_then_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_cert_renewed_from_same_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_without_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_load_checks_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_trusted_by_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_times_out, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
