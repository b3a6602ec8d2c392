// SPDX-License-Identifier: MIT
/* tock-ke's TLS wrapper around OpenSSL, see tls.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ke_proto.h"
#include "log.h"
#include "tls.h"

#define CERT_WARN_DAYS 14

struct ke_tls_server {
	atomic_int refs;
	int n;
	SSL_CTX *ctx[CONF_MAX_CERTS];
	time_t not_after;
};

struct ke_tls_conn {
	SSL *ssl;
	struct ke_tls_server *srv;
	int fd;
	int hold; /* writes go out with MSG_MORE (ke_tls_hold) */
};

/*
 * The connection's socket I/O, instead of OpenSSL's socket BIO: send() with MSG_NOSIGNAL,
 * and with MSG_MORE once the caller holds the output, so that the response, close_notify
 * and our FIN leave in one segment instead of three.
 */
static BIO_METHOD *conn_bio_method;
static pthread_once_t conn_bio_once = PTHREAD_ONCE_INIT;

static int conn_bio_write(BIO *b, const char *buf, size_t len, size_t *done)
{
	struct ke_tls_conn *c = BIO_get_data(b);
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | (c->hold ? MSG_MORE : 0));

	BIO_clear_retry_flags(b);
	if (n >= 0) {
		*done = (size_t)n;
		return 1;
	}
	if (errno == EAGAIN || errno == EINTR)
		BIO_set_retry_write(b);
	return 0;
}

static int conn_bio_read(BIO *b, char *buf, size_t len, size_t *done)
{
	struct ke_tls_conn *c = BIO_get_data(b);
	ssize_t n = recv(c->fd, buf, len, 0);

	BIO_clear_retry_flags(b);
	if (n > 0) {
		*done = (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	return 0; /* 0 bytes without retry: the peer closed */
}

/* Flush is a no-op (nothing is buffered here); every other control is unsupported. */
static long conn_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH;
}

static int conn_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void conn_bio_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tock-ke");

	if (m && BIO_meth_set_write_ex(m, conn_bio_write) &&
	    BIO_meth_set_read_ex(m, conn_bio_read) && BIO_meth_set_ctrl(m, conn_bio_ctrl) &&
	    BIO_meth_set_create(m, conn_bio_create)) {
		conn_bio_method = m;
		return;
	}
	BIO_meth_free(m);
}

/* A BIO over c's socket, or NULL. */
static BIO *conn_bio_new(struct ke_tls_conn *c)
{
	BIO *b;

	pthread_once(&conn_bio_once, conn_bio_init);
	if (!conn_bio_method)
		return NULL;
	b = BIO_new(conn_bio_method);
	if (b)
		BIO_set_data(b, c);
	return b;
}

/* ALPN wire format: length-prefixed protocol names. */
static const unsigned char alpn_ntske[] = "\x07" KE_ALPN;

/* Refuse a ClientHello without ALPN: RFC 8915 §4 requires ntske/1, and without the
 * extension OpenSSL would never call the selection callback. */
static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *ext;
	size_t len;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
	                               &ext, &len)) {
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_ntske, sizeof(alpn_ntske) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* SNI: the first pair whose certificate matches the name; the default pair otherwise. */
static int servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct ke_tls_server *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int i;

	if (!name)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < s->n; i++) {
		X509 *leaf = SSL_CTX_get0_certificate(s->ctx[i]);

		if (leaf && X509_check_host(leaf, name, 0, 0, NULL) == 1) {
			if (i > 0)
				SSL_set_SSL_CTX(ssl, s->ctx[i]);
			break;
		}
	}
	return SSL_TLSEXT_ERR_OK;
}

/* Formats the oldest queued OpenSSL error after `what`. */
static int ssl_error(char *err, size_t errlen, const char *what, const char *file)
{
	char reason[256] = "unknown error";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	snprintf(err, errlen, "%s %s: %s", what, file, reason);
	ERR_clear_error();
	return -EINVAL;
}

/*
 * Key exchange groups in preference order: X25519 and P-256 are what NTS clients offer
 * (chrony, ntpd-rs, NTPsec) and the cheapest to compute; P-384 stays for the odd client.
 * X25519 first: with OpenSSL 3.0 a session whose key share is P-256 costs the server about
 * 1.3 times one with X25519 (bench/ke_tls_floor.c). OpenSSL takes the first key share the
 * client sent that is on this list, so the order only matters when it asks for another.
 * Finite-field groups are left out: one ffdhe2048 handshake costs several ECDHE ones.
 */
#define KE_GROUPS "X25519:P-256:P-384"

/* AES-128-GCM first: its SHA-256 key schedule is the cheapest of the three. */
#define KE_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static int ctx_protocol_setup(SSL_CTX *ctx)
{
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		return -EINVAL;
	/* Sessions are a handful of records: keeping the buffers for the connection's short
	 * life is cheaper than SSL_MODE_RELEASE_BUFFERS' free and malloc after each record,
	 * and reading ahead takes a record's header and body (and the client's
	 * ChangeCipherSpec, Finished and request) in one read instead of two each. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_read_ahead(ctx, 1);
	/* The chain is the chain file's (ctx_new). Without this flag a file holding only the
	 * leaf makes OpenSSL try to build a chain from the context's (empty) trust store in
	 * every handshake — an X509_verify_cert per session that adds nothing to the wire. */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!SSL_CTX_set_num_tickets(ctx, 0) || !SSL_CTX_set_max_early_data(ctx, 0) ||
	    !SSL_CTX_set_recv_max_early_data(ctx, 0))
		return -EINVAL;
	if (!SSL_CTX_set1_groups_list(ctx, KE_GROUPS) || !SSL_CTX_set_ciphersuites(ctx, KE_SUITES))
		return -EINVAL;
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return 0;
}

/*
 * Every session signs once with this key: an RSA-2048 signature costs about 15 times an
 * ECDSA P-256 one and roughly doubles tock-ke's CPU per session. Operators should use
 * ECDSA P-256 certificates; RSA works but is worth a warning.
 */
static void check_key_type(SSL_CTX *ctx, const char *file)
{
	EVP_PKEY *pk = SSL_CTX_get0_privatekey(ctx);

	if (pk && EVP_PKEY_is_a(pk, "RSA"))
		log_warn("key %s is RSA (%d bits): every NTS-KE handshake signs with it; an ECDSA "
		         "P-256 key makes handshakes about twice as cheap",
		         file, EVP_PKEY_get_bits(pk));
}

static SSL_CTX *ctx_new(const struct conf_cert *pair, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_error(err, errlen, "cannot create a TLS context for", pair->cert);
		return NULL;
	}
	if (ctx_protocol_setup(ctx)) {
		ssl_error(err, errlen, "cannot configure TLS 1.3 for", pair->cert);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, pair->cert) != 1) {
		ssl_error(err, errlen, "cannot load certificate chain", pair->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, pair->key, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, "cannot load private key", pair->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "private key does not match certificate", pair->cert);
		goto fail;
	}
	check_key_type(ctx, pair->key);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Logs the certificate's expiry, warns when it is close; returns its notAfter. */
static time_t check_expiry(SSL_CTX *ctx, const char *file)
{
	const ASN1_TIME *na = X509_get0_notAfter(SSL_CTX_get0_certificate(ctx));
	struct tm tm;
	char when[32];
	time_t t;
	long days;

	if (!na || !ASN1_TIME_to_tm(na, &tm))
		return 0;
	t = timegm(&tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	days = (long)((t - time(NULL)) / 86400);
	if (t <= time(NULL))
		log_err("certificate %s expired on %s", file, when);
	else if (days < CERT_WARN_DAYS)
		log_warn("certificate %s expires in %ld day%s (%s)", file, days,
		         days == 1 ? "" : "s", when);
	else
		log_info("certificate %s valid until %s (%ld days)", file, when, days);
	return t;
}

int ke_tls_server_new(const struct conf_cert *certs, int n_certs, struct ke_tls_server **out,
                      char *err, size_t errlen)
{
	struct ke_tls_server *s;
	time_t t;
	int i;

	if (n_certs < 1 || n_certs > CONF_MAX_CERTS) {
		snprintf(err, errlen, "no ntsservercert/ntsserverkey pair configured");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	atomic_init(&s->refs, 1);
	ERR_clear_error();
	for (i = 0; i < n_certs; i++) {
		s->ctx[i] = ctx_new(&certs[i], err, errlen);
		if (!s->ctx[i])
			goto fail;
		s->n++;
		t = check_expiry(s->ctx[i], certs[i].cert);
		if (!s->not_after || (t && t < s->not_after))
			s->not_after = t;
	}
	/* SNI is only looked at in the context the connection starts with, the default; with
	 * a single pair there is nothing to choose and no name to match per handshake. */
	if (s->n > 1) {
		SSL_CTX_set_tlsext_servername_callback(s->ctx[0], servername_cb);
		SSL_CTX_set_tlsext_servername_arg(s->ctx[0], s);
	}
	*out = s;
	return 0;
fail:
	ke_tls_server_put(s);
	return -EINVAL;
}

struct ke_tls_server *ke_tls_server_get(struct ke_tls_server *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void ke_tls_server_put(struct ke_tls_server *s)
{
	int i;

	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < s->n; i++)
		SSL_CTX_free(s->ctx[i]);
	free(s);
}

time_t ke_tls_server_not_after(const struct ke_tls_server *s)
{
	return s->not_after;
}

int ke_tls_has_gcm_siv(void)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-GCM-SIV", NULL);

	ERR_clear_error();
	EVP_CIPHER_free(c);
	return c != NULL;
}

int ke_tls_conn_new(struct ke_tls_server *s, int fd, struct ke_tls_conn **out)
{
	struct ke_tls_conn *c = calloc(1, sizeof(*c));
	BIO *bio;

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->ssl = SSL_new(s->ctx[0]);
	bio = c->ssl ? conn_bio_new(c) : NULL;
	if (!bio) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_bio(c->ssl, bio, bio); /* the SSL owns it now */
	SSL_set_accept_state(c->ssl);
	c->srv = ke_tls_server_get(s);
	*out = c;
	return 0;
}

void ke_tls_conn_free(struct ke_tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	ke_tls_server_put(c->srv);
	free(c);
}

/* Maps a failed SSL call to KE_TLS_WANT_* or `fail`; leaves the error queue empty. */
static int ssl_status(struct ke_tls_conn *c, int ret, int fail)
{
	int e = SSL_get_error(c->ssl, ret);

	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ)
		return KE_TLS_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return KE_TLS_WANT_WRITE;
	return fail;
}

int ke_tls_handshake(struct ke_tls_conn *c)
{
	const unsigned char *alpn;
	unsigned int len;
	int ret;

	ERR_clear_error();
	ret = SSL_do_handshake(c->ssl);
	if (ret != 1) {
		unsigned long e = ERR_peek_error();

		ret = ssl_status(c, ret, -EPROTO);
		if (ret < 0)
			LOG_RATELIMITED(1, LOG_DEBUG, "TLS handshake failed: %s",
			                e ? ERR_reason_error_string(e) : "connection closed");
		return ret;
	}
	SSL_get0_alpn_selected(c->ssl, &alpn, &len);
	if (len != sizeof(alpn_ntske) - 2 || memcmp(alpn, KE_ALPN, len) != 0)
		return -EPROTO;
	return 0;
}

int ke_tls_read(struct ke_tls_conn *c, void *buf, size_t cap, size_t *got)
{
	int e, ret;

	ERR_clear_error();
	ret = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
	if (ret > 0) {
		*got = (size_t)ret;
		return 0;
	}
	e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ret == 0)) {
		ERR_clear_error();
		return -ECONNRESET;
	}
	return ssl_status(c, ret, -EPROTO);
}

void ke_tls_hold(struct ke_tls_conn *c)
{
	c->hold = 1;
}

int ke_tls_write(struct ke_tls_conn *c, const void *buf, size_t len)
{
	int ret;

	ERR_clear_error();
	ret = SSL_write(c->ssl, buf, (int)len);
	if (ret > 0)
		return 0;
	return ssl_status(c, ret, -EPIPE);
}

int ke_tls_shutdown(struct ke_tls_conn *c)
{
	int ret;

	ERR_clear_error();
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0)
		return 0; /* close_notify sent; the peer's is not waited for */
	return ssl_status(c, ret, -EPIPE);
}

int ke_tls_export(struct ke_tls_conn *c, const uint8_t *context, size_t context_len, uint8_t *out,
                  size_t len)
{
	static const char label[] = KE_EXPORTER_LABEL;

	ERR_clear_error();
	if (SSL_export_keying_material(c->ssl, out, len, label, sizeof(label) - 1, context,
	                               context_len, 1) != 1) {
		ERR_clear_error();
		return -EPROTO;
	}
	return 0;
}
