/* SPDX-License-Identifier: MIT */
/*
 * The local certificate authority and server identities (tls.h), with GnuTLS's x509 API.
 * Every GnuTLS object lives in a cleanup variable; a failing call becomes an error with
 * GnuTLS's own words after ours.
 */
#include "tls/tls.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "base/macro.h"

#define PEM_MAX (256 * 1024)
#define DAY_S (24 * 60 * 60)

DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_privkey_t, gnutls_x509_privkey_deinit)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_certificate_credentials_t, gnutls_certificate_free_credentials)

static void datum_freep(gnutls_datum_t *d)
{
	gnutls_free(d->data);
}
#define _cleanup_datum_ _cleanup_(datum_freep)

static int gnutls_fail(struct error *err, int rc, const char *what)
{
	return error_set(err, rc == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL, "%s: %s", what, gnutls_strerror(rc));
}

static gnutls_datum_t text_datum(const char *s)
{
	return (gnutls_datum_t){ .data = (unsigned char *)s, .size = (unsigned)strlen(s) };
}

const char *const *tls_default_hosts(void)
{
	static char host[256];
	static const char *hosts[] = { "127.0.0.1", "::1", "localhost", NULL, NULL };
	if (!hosts[3] && gethostname(host, sizeof(host) - 1) == 0 && host[0] && !streq(host, "localhost"))
		hosts[3] = host;
	return hosts;
}

/* ---- reading and writing PEM ----------------------------------------------------------- */

static int crt_load(const char *path, gnutls_x509_crt_t *ret, struct error *err)
{
	_cleanup_free_ char *pem = NULL;
	int r = file_read(path, PEM_MAX, &pem, NULL, err);
	if (r < 0)
		return r;
	gnutls_x509_crt_t crt;
	gnutls_x509_crt_init(&crt);
	gnutls_datum_t d = text_datum(pem);
	int rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		gnutls_x509_crt_deinit(crt);
		return error_set(err, -EINVAL, "certificate '%s' is invalid: %s", path, gnutls_strerror(rc));
	}
	*ret = crt;
	return 0;
}

static int key_load(const char *path, gnutls_x509_privkey_t *ret, struct error *err)
{
	_cleanup_free_ char *pem = NULL;
	int r = file_read(path, PEM_MAX, &pem, NULL, err);
	if (r < 0)
		return r;
	gnutls_x509_privkey_t key;
	gnutls_x509_privkey_init(&key);
	gnutls_datum_t d = text_datum(pem);
	int rc = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	explicit_bzero(pem, strlen(pem));
	if (rc < 0) {
		gnutls_x509_privkey_deinit(key);
		return error_set(err, -EINVAL, "private key '%s' is invalid: %s", path, gnutls_strerror(rc));
	}
	*ret = key;
	return 0;
}

static int crt_save(gnutls_x509_crt_t crt, const char *path, struct error *err)
{
	_cleanup_datum_ gnutls_datum_t d = { 0 };
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
	if (rc < 0)
		return gnutls_fail(err, rc, "export certificate");
	return file_write_atomic(path, d.data, d.size, 0644, err);
}

static int key_save(gnutls_x509_privkey_t key, const char *path, struct error *err)
{
	_cleanup_datum_ gnutls_datum_t d = { 0 };
	int rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d);
	if (rc < 0)
		return gnutls_fail(err, rc, "export private key");
	int r = file_write_atomic(path, d.data, d.size, 0600, err);
	explicit_bzero(d.data, d.size);
	return r;
}

/* ---- making certificates --------------------------------------------------------------- */

static int key_new(gnutls_x509_privkey_t *ret, struct error *err)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_privkey_init(&key);
	int rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(key);
		return gnutls_fail(err, rc, "generate key");
	}
	*ret = key;
	return 0;
}

/* A certificate with what every one of ours has: version, serial, validity, subject, key. */
static int crt_new(gnutls_x509_privkey_t key, const char *dn, unsigned days, gnutls_x509_crt_t *ret, struct error *err)
{
	_cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
	unsigned char serial[16];
	const char *errpos = NULL;
	time_t now = time(NULL);
	int rc;

	gnutls_x509_crt_init(&crt);
	if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) < 0)
		return error_set(err, -EIO, "random serial number failed");
	serial[0] = (serial[0] & 0x7f) | 0x40; /* positive, and 16 bytes long */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    /* An hour back: a client whose clock is a little behind still accepts it. */
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * DAY_S)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn(crt, dn, &errpos)) < 0 || (rc = gnutls_x509_crt_set_key(crt, key)) < 0)
		return gnutls_fail(err, rc, "make certificate");
	unsigned char kid[64];
	size_t kid_len = sizeof(kid);
	if ((rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid, &kid_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len)) < 0)
		return gnutls_fail(err, rc, "make certificate key id");
	*ret = TAKE_PTR(crt);
	return 0;
}

static int ca_make(const char *cert_path, const char *key_path, struct error *err)
{
	_cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t key = NULL;
	_cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	/* The host in the name tells one installation's CA from another's in a trust store. */
	_cleanup_free_ char *dn = xasprintf("O=cove,CN=cove local CA%s%s", host[0] ? " " : "", host);
	int r = key_new(&key, err);
	if (r < 0)
		return r;
	r = crt_new(key, dn, TLS_CA_DAYS, &crt, err);
	if (r < 0)
		return r;
	int rc;
	if ((rc = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
		return gnutls_fail(err, rc, "make the CA certificate");
	/* The key first: a CA certificate without its key would be kept and could sign nothing. */
	r = key_save(key, key_path, err);
	if (r < 0)
		return r;
	return crt_save(crt, cert_path, err);
}

static int san_add(gnutls_x509_crt_t crt, const char *host, struct error *err)
{
	unsigned char addr[16];
	int rc;
	if (inet_pton(AF_INET, host, addr) == 1)
		rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4, GNUTLS_FSAN_APPEND);
	else if (inet_pton(AF_INET6, host, addr) == 1)
		rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 16, GNUTLS_FSAN_APPEND);
	else
		rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host, (unsigned)strlen(host),
							  GNUTLS_FSAN_APPEND);
	if (rc < 0)
		return error_set(err, -EINVAL, "certificate name '%s': %s", host, gnutls_strerror(rc));
	return 0;
}

static int server_make(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key, const char *const *hosts,
		       const char *cert_path, const char *key_path, struct error *err)
{
	_cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t key = NULL;
	_cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
	int r = key_new(&key, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dn = xasprintf("O=cove,CN=%s", hosts[0] ? hosts[0] : "localhost");
	r = crt_new(key, dn, TLS_SERVER_DAYS, &crt, err);
	if (r < 0)
		return r;
	for (const char *const *h = hosts; *h; h++)
		if ((r = san_add(crt, *h, err)) < 0)
			return r;
	unsigned char kid[64];
	size_t kid_len = sizeof(kid);
	int rc;
	if ((rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_get_subject_key_id(ca, kid, &kid_len, NULL)) < 0 ||
	    (rc = gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len)) < 0 ||
	    (rc = gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0)) < 0)
		return gnutls_fail(err, rc, "make the server certificate");
	r = key_save(key, key_path, err);
	if (r < 0)
		return r;
	return crt_save(crt, cert_path, err);
}

static bool crt_names(gnutls_x509_crt_t crt, const char *host)
{
	unsigned char addr[16];
	if (inet_pton(AF_INET, host, addr) == 1)
		return gnutls_x509_crt_check_ip(crt, addr, 4, 0);
	if (inet_pton(AF_INET6, host, addr) == 1)
		return gnutls_x509_crt_check_ip(crt, addr, 16, 0);
	return gnutls_x509_crt_check_hostname2(crt, host, GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS);
}

/* Whether the server certificate at cert_path can be kept: see tls.h. */
static bool server_good(gnutls_x509_crt_t ca, const char *cert_path, const char *key_path, const char *const *hosts)
{
	_cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
	_cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t key = NULL;
	if (crt_load(cert_path, &crt, NULL) < 0 || key_load(key_path, &key, NULL) < 0)
		return false;
	unsigned status = 0;
	if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status != 0)
		return false;
	if (gnutls_x509_crt_get_expiration_time(crt) < time(NULL) + TLS_RENEW_DAYS * DAY_S)
		return false;
	unsigned char a[64], b[64];
	size_t al = sizeof(a), bl = sizeof(b);
	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &al) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &bl) < 0 || al != bl || memcmp(a, b, al) != 0)
		return false;
	for (const char *const *h = hosts; *h; h++)
		if (!crt_names(crt, *h))
			return false;
	return true;
}

int tls_local_ca_ensure(const char *dir, const char *const *hosts, struct tls_identity *ret, struct error *err)
{
	_cleanup_free_ char *ca_path = xasprintf("%s/ca.pem", dir);
	_cleanup_free_ char *ca_key_path = xasprintf("%s/ca-key.pem", dir);
	_cleanup_free_ char *cert_path = xasprintf("%s/server.pem", dir);
	_cleanup_free_ char *key_path = xasprintf("%s/server-key.pem", dir);
	_cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t ca = NULL;
	_cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t ca_key = NULL;
	if (!hosts)
		hosts = tls_default_hosts();

	int r = mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	bool have_ca = access(ca_path, F_OK) == 0, have_key = access(ca_key_path, F_OK) == 0;
	if (have_ca != have_key)
		return error_set(err, -EINVAL,
				 "'%s' needs both ca.pem and ca-key.pem: restore the missing one, or remove both to make a new CA that clients must trust again",
				 dir);
	if (!have_ca) {
		r = ca_make(ca_path, ca_key_path, err);
		if (r < 0)
			return r;
	}
	if ((r = crt_load(ca_path, &ca, err)) < 0 || (r = key_load(ca_key_path, &ca_key, err)) < 0)
		return r;
	if (!server_good(ca, cert_path, key_path, hosts)) {
		r = server_make(ca, ca_key, hosts, cert_path, key_path, err);
		if (r < 0)
			return r;
	}
	if (!ret)
		return 0;
	r = tls_identity_load(cert_path, key_path, ret, err);
	if (r < 0)
		return r;
	ret->ca_path = TAKE_PTR(ca_path);
	return 0;
}

/* ---- identities ------------------------------------------------------------------------ */

int tls_identity_load(const char *cert_path, const char *key_path, struct tls_identity *ret, struct error *err)
{
	struct tls_identity id = { 0 };
	gnutls_certificate_credentials_t creds = NULL;
	int r = file_read(cert_path, PEM_MAX, &id.cert_pem, NULL, err);
	if (r < 0)
		return r;
	r = file_read(key_path, PEM_MAX, &id.key_pem, NULL, err);
	if (r < 0)
		goto fail;
	/* GnuTLS checks that both parse and that the key is the certificate's. */
	r = tls_server_credentials(&id, &creds, NULL);
	if (r < 0) {
		struct error why = { 0 };
		tls_server_credentials(&id, &creds, &why);
		r = error_set(err, -EINVAL, "certificate '%s' with key '%s': %s", cert_path, key_path, why.message);
		goto fail;
	}
	gnutls_certificate_free_credentials(creds);
	*ret = id;
	return 0;
fail:
	tls_identity_release(&id);
	return r;
}

void tls_identity_release(struct tls_identity *id)
{
	if (!id)
		return;
	if (id->key_pem)
		explicit_bzero(id->key_pem, strlen(id->key_pem));
	free(id->key_pem);
	free(id->cert_pem);
	free(id->ca_path);
	*id = (struct tls_identity){ 0 };
}

int tls_server_credentials(const struct tls_identity *id, gnutls_certificate_credentials_t *ret, struct error *err)
{
	_cleanup_(gnutls_certificate_free_credentialsp) gnutls_certificate_credentials_t creds = NULL;
	int rc = gnutls_certificate_allocate_credentials(&creds);
	if (rc < 0)
		return gnutls_fail(err, rc, "TLS credentials");
	gnutls_datum_t c = text_datum(id->cert_pem), k = text_datum(id->key_pem);
	rc = gnutls_certificate_set_x509_key_mem(creds, &c, &k, GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		return gnutls_fail(err, rc, "TLS credentials");
	*ret = TAKE_PTR(creds);
	return 0;
}

int tls_server_handshake(gnutls_certificate_credentials_t creds, int fd, int timeout_ms, gnutls_session_t *ret,
			 struct error *err)
{
	gnutls_session_t s;
	int rc = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK);
	if (rc < 0)
		return gnutls_fail(err, rc, "TLS session");
	if ((rc = gnutls_set_default_priority(s)) < 0 || (rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds)) < 0) {
		gnutls_deinit(s);
		return gnutls_fail(err, rc, "TLS session");
	}
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_int(s, fd);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		rc = gnutls_handshake(s);
		if (rc >= 0)
			break;
		if (gnutls_error_is_fatal(rc)) {
			gnutls_deinit(s);
			return error_set(err, -EPROTO, "TLS handshake: %s", gnutls_strerror(rc));
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms) {
			gnutls_deinit(s);
			return error_set(err, -ETIMEDOUT, "TLS handshake: timed out after %d ms", timeout_ms);
		}
		struct pollfd p = { .fd = fd, .events = gnutls_record_get_direction(s) ? POLLOUT : POLLIN };
		poll(&p, 1, (int)(timeout_ms - spent));
	}
	*ret = s;
	return 0;
}
