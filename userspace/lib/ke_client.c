// SPDX-License-Identifier: MIT
/*
 * NTS-KE client (ke_client.h). One non-blocking socket driven by poll() against a single
 * deadline, so a silent or slow server costs at most timeout_ms however it stalls
 * (connect, handshake, or a response trickling in).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ke_client.h"

struct ke_client_ctx {
	SSL_CTX *ssl_ctx;
};

static const uint16_t default_aeads[] = {SIV_AEAD_CMAC_256, SIV_AEAD_CMAC_512};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_err(struct ke_client_result *r, int err, const char *what, const char *detail)
{
	snprintf(r->errmsg, sizeof(r->errmsg), "%s%s%s", what, detail ? ": " : "",
	         detail ? detail : "");
	return err;
}

/* Waits until fd is ready for `events` or the deadline passes. 0 or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Non-blocking connect to one address within the deadline. fd or -errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -errno;
	/* The request follows the handshake in a small segment of its own: without this it
	 * waits for the ACK of our Finished, which the server delays (~40 ms per session). */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = errno == EINPROGRESS ? wait_fd(fd, POLLOUT, deadline) : -errno;
		if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
			err = -err;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static void format_peer(const struct addrinfo *ai, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN], serv[8];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(out, cap, "?");
	else
		snprintf(out, cap, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* Resolves and connects to the first address that answers. fd or -errno. */
static int tcp_connect(const struct ke_client_opts *o, int64_t deadline, struct ke_client_result *r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	char port[8];
	int fd = -EHOSTUNREACH, gai;

	snprintf(port, sizeof(port), "%d", o->port ? (int)o->port : KE_DEFAULT_PORT);
	gai = getaddrinfo(o->host, port, &hints, &res);
	if (gai)
		return set_err(r, -ENOENT, o->host, gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		format_peer(ai, r->peer, sizeof(r->peer));
		fd = connect_one(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		set_err(r, fd, r->peer, strerror(-fd));
	return fd;
}

static int is_ip_literal(const char *s)
{
	uint8_t a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

int ke_client_ctx_new(const struct ke_client_opts *o, struct ke_client_ctx **out, char *err,
                      size_t errlen)
{
	struct ke_client_ctx *c = calloc(1, sizeof(*c));
	int ok;

	if (!c)
		return -ENOMEM;
	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	ok = c->ssl_ctx && SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_3_VERSION);
	if (ok && o->ca_file)
		ok = SSL_CTX_load_verify_locations(c->ssl_ctx, o->ca_file, NULL);
	else if (ok)
		ok = SSL_CTX_set_default_verify_paths(c->ssl_ctx);
	if (!ok) {
		unsigned long e = ERR_peek_last_error();

		snprintf(err, errlen, "TLS setup failed%s%s: %s", o->ca_file ? " for " : "",
		         o->ca_file ? o->ca_file : "",
		         e ? ERR_reason_error_string(e) : "no memory");
		ERR_clear_error();
		ke_client_ctx_free(c);
		return -EPROTO;
	}
	SSL_CTX_set_verify(c->ssl_ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	*out = c;
	return 0;
}

void ke_client_ctx_free(struct ke_client_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ssl_ctx);
	free(c);
}

/* ALPN, SNI and the name the certificate must carry. 1 on success. */
static int tls_name(SSL *ssl, const struct ke_client_opts *o)
{
	static const unsigned char alpn[] = "\x07" KE_ALPN;
	const char *name = o->name ? o->name : o->host;

	if (SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) != 0)
		return 0;
	if (is_ip_literal(name))
		return o->insecure || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	if (!SSL_set_tlsext_host_name(ssl, name))
		return 0;
	return o->insecure || SSL_set1_host(ssl, name);
}

/* Maps an SSL_ERROR_WANT_* to a wait; other errors end the session. 0 to retry, or -errno. */
static int tls_wait(SSL *ssl, int ret, int fd, int64_t deadline)
{
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(fd, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(fd, POLLOUT, deadline);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

static int tls_failure(SSL *ssl, int err, struct ke_client_result *r, const char *stage)
{
	char detail[128];
	long vr = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();

	if (err == -EPROTO && vr != X509_V_OK)
		snprintf(detail, sizeof(detail), "certificate: %s",
		         X509_verify_cert_error_string(vr));
	else if (err == -EPROTO && e)
		ERR_error_string_n(e, detail, sizeof(detail));
	else
		snprintf(detail, sizeof(detail), "%s", strerror(-err));
	ERR_clear_error();
	snprintf(r->errmsg, sizeof(r->errmsg), "%s %s: %s", stage, r->peer, detail);
	return err;
}

static int tls_handshake(SSL *ssl, int fd, int64_t deadline, struct ke_client_result *r)
{
	const unsigned char *proto;
	unsigned int len;
	int ret, err;

	while ((ret = SSL_connect(ssl)) != 1)
		if ((err = tls_wait(ssl, ret, fd, deadline)))
			return tls_failure(ssl, err, r, "TLS handshake with");
	SSL_get0_alpn_selected(ssl, &proto, &len);
	if (len != strlen(KE_ALPN) || memcmp(proto, KE_ALPN, len))
		return set_err(r, -EPROTO, "server did not select ALPN " KE_ALPN, r->peer);
	return 0;
}

static int tls_send(SSL *ssl, int fd, const uint8_t *buf, size_t len, int64_t deadline,
                    struct ke_client_result *r)
{
	size_t done;
	int ret, err;

	while ((ret = SSL_write_ex(ssl, buf, len, &done)) != 1)
		if ((err = tls_wait(ssl, ret, fd, deadline)))
			return tls_failure(ssl, err, r, "sending request to");
	return 0;
}

/* Reads until the codec has a complete response. 0 or -errno. */
static int tls_receive(SSL *ssl, int fd, int64_t deadline, struct ke_client_result *r)
{
	uint8_t buf[KE_MAX_RESPONSE]; /* on the stack: tock-bench runs sessions in threads */
	size_t len = 0, got;
	int ret, err;

	for (;;) {
		ret = SSL_read_ex(ssl, buf + len, sizeof(buf) - len, &got);
		if (ret != 1) {
			err = tls_wait(ssl, ret, fd, deadline);
			if (err == -ECONNRESET)
				return set_err(r, -EBADMSG,
				               "connection closed before End of Message", r->peer);
			if (err)
				return tls_failure(ssl, err, r, "reading response from");
			continue;
		}
		len += got;
		err = ke_parse_response(buf, len, &r->rec);
		if (err != -EAGAIN)
			return err ? set_err(r, err, "malformed NTS-KE response", r->peer) : 0;
	}
}

/* Checks what the server agreed to; sets r->aead and key_len. 0 or -errno. */
static int check_response(const struct ke_client_opts *o, struct ke_client_result *r)
{
	const uint16_t *aeads = o->aeads ? o->aeads : default_aeads;
	int n = o->aeads ? o->n_aeads : 2, offered = 0;
	char code[16];

	snprintf(code, sizeof(code), "code %d", r->rec.error);
	if (r->rec.error >= 0)
		return set_err(r, -EREMOTEIO, "server sent an Error record", code);
	if (r->rec.protocol != KE_PROTO_NTPV4 || r->rec.aead < 0)
		return set_err(r, -ENOPROTOOPT, "no protocol or AEAD in common", r->peer);
	for (int i = 0; i < n; i++)
		offered |= aeads[i] == r->rec.aead;
	r->key_len = siv_key_len(r->rec.aead);
	if (!offered || !r->key_len)
		return set_err(r, -EPROTO, "server chose an AEAD that was not offered", r->peer);
	if (r->rec.n_cookies == 0)
		return set_err(r, -ENODATA, "server sent no cookies", r->peer);
	r->aead = r->rec.aead;
	return 0;
}

/* C2S and S2C from the TLS exporter (RFC 8915 §5.1). */
static int export_keys(SSL *ssl, struct ke_client_result *r)
{
	uint8_t ctx[KE_EXPORTER_CONTEXT_LEN];
	uint8_t *out[2] = {r->c2s, r->s2c};

	for (int s2c = 0; s2c < 2; s2c++) {
		ke_exporter_context(ctx, KE_PROTO_NTPV4, (uint16_t)r->aead, s2c);
		if (SSL_export_keying_material(ssl, out[s2c], r->key_len, KE_EXPORTER_LABEL,
		                               strlen(KE_EXPORTER_LABEL), ctx, sizeof(ctx), 1) != 1)
			return set_err(r, -EPROTO, "TLS exporter failed", NULL);
	}
	return 0;
}

static int run_session(SSL *ssl, int fd, const struct ke_client_opts *o, int64_t deadline,
                       struct ke_client_result *r)
{
	uint8_t req[512];
	int len, err;

	len = ke_build_request(req, sizeof(req), o->aeads ? o->aeads : default_aeads,
	                       o->aeads ? o->n_aeads : 2, NULL, 0);
	if (len < 0)
		return set_err(r, len, "cannot build request", strerror(-len));
	err = tls_handshake(ssl, fd, deadline, r);
	if (!err)
		err = tls_send(ssl, fd, req, (size_t)len, deadline, r);
	if (!err)
		err = tls_receive(ssl, fd, deadline, r);
	if (!err)
		err = check_response(o, r);
	if (!err)
		err = export_keys(ssl, r);
	return err;
}

/* Fills r with "nothing yet" and checks the options. 0 or -EINVAL. */
static int result_init(const struct ke_client_opts *o, struct ke_client_result *r)
{
	memset(r, 0, sizeof(*r));
	r->aead = -1;
	r->rec.protocol = r->rec.aead = r->rec.error = r->rec.warning = -1;
	if (!o->host || (o->aeads && (o->n_aeads < 1 || o->n_aeads > KE_MAX_IDS)))
		return set_err(r, -EINVAL, "bad options", NULL);
	return 0;
}

/* The TLS part on a connected socket. 0 or -errno. */
static int tls_session(struct ke_client_ctx *c, int fd, const struct ke_client_opts *o,
                       int64_t deadline, struct ke_client_result *r)
{
	SSL *ssl = SSL_new(c->ssl_ctx);
	int err;

	if (!ssl || !SSL_set_fd(ssl, fd) || !tls_name(ssl, o)) {
		err = set_err(r, -EPROTO, "TLS setup failed", NULL);
		ERR_clear_error();
	} else {
		err = run_session(ssl, fd, o, deadline, r);
		SSL_shutdown(ssl); /* best effort: the keys are already ours */
		ERR_clear_error();
	}
	SSL_free(ssl);
	return err;
}

/*
 * A server that closes early turns our next write into SIGPIPE, which would kill the
 * caller: the signal is blocked in this thread for the session and a pending one is
 * consumed before unblocking. Returns whether it was already blocked.
 */
static int sigpipe_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
	return sigismember(old, SIGPIPE);
}

static void sigpipe_restore(const sigset_t *old, int was_blocked)
{
	sigset_t set, pending;

	if (was_blocked)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		sigtimedwait(&set, NULL, &(struct timespec){0, 0});
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int ke_client_run_ctx(struct ke_client_ctx *c, const struct ke_client_opts *o,
                      struct ke_client_result *r)
{
	int64_t deadline = now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : KE_CLIENT_TIMEOUT_MS);
	sigset_t old;
	int fd, err, blocked;

	err = result_init(o, r);
	if (err)
		return err;
	fd = tcp_connect(o, deadline, r);
	if (fd < 0)
		return fd;
	blocked = sigpipe_block(&old);
	err = tls_session(c, fd, o, deadline, r);
	close(fd);
	sigpipe_restore(&old, blocked);
	if (err) {
		explicit_bzero(r->c2s, sizeof(r->c2s));
		explicit_bzero(r->s2c, sizeof(r->s2c));
	}
	return err;
}

int ke_client_run(const struct ke_client_opts *o, struct ke_client_result *r)
{
	struct ke_client_ctx *c;
	int err = result_init(o, r);

	if (!err)
		err = ke_client_ctx_new(o, &c, r->errmsg, sizeof(r->errmsg));
	if (err)
		return err;
	err = ke_client_run_ctx(c, o, r);
	ke_client_ctx_free(c);
	return err;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int ke_client_split_hostport(const char *arg, char *host, size_t cap, uint16_t *port)
{
	const char *colon = strrchr(arg, ':'), *end;
	size_t len;

	if (arg[0] == '[') {
		end = strchr(arg, ']');
		if (!end || (end[1] && (end[1] != ':' || parse_port(end + 2, port))))
			return -EINVAL;
		arg++;
		len = (size_t)(end - arg);
	} else if (colon && colon == strchr(arg, ':')) {
		if (parse_port(colon + 1, port))
			return -EINVAL;
		len = (size_t)(colon - arg);
	} else {
		len = strlen(arg); /* a name, or a bare IPv6 literal */
	}
	if (len == 0 || len >= cap)
		return -EINVAL;
	memcpy(host, arg, len);
	host[len] = '\0';
	return 0;
}
