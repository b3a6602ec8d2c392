// SPDX-License-Identifier: MIT
/*
 * ke_tls_floor.c's session with GnuTLS (what chronyd uses): the server side of a TLS 1.3
 * NTS-KE-shaped session over memory buffers, only the server's calls timed. Not built by
 * make; a measuring tool for comparing TLS stacks:
 *
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
 *       -subj /CN=floor -keyout /tmp/k.pem -out /tmp/c.pem
 *   cc -O2 -o /tmp/ke_tls_floor_gnutls bench/ke_tls_floor_gnutls.c -lgnutls
 *   /tmp/ke_tls_floor_gnutls -c /tmp/c.pem -k /tmp/k.pem [-g X25519|SECP256R1] [-n N] [-a] [-o]
 *
 * -o times the single operations (signature, key exchange) instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ke_tls_floor.h"

static int described; /* the first session's parameters were printed */

/* AES-128-GCM first, as tock-ke prefers it (GnuTLS's NORMAL would pick AES-256-GCM, whose
 * SHA-384 key schedule costs more; -a keeps NORMAL's order, which is chronyd's). */
static const char *server_prio =
    "NORMAL:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305";

static void die(const char *what, int err)
{
	fprintf(stderr, "ke_tls_floor_gnutls: %s: %s\n", what, err ? gnutls_strerror(err) : "");
	exit(1);
}

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	if (pipe_put(p, data, len)) {
		errno = ENOSPC;
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	size_t n = pipe_take(p, data, len);

	if (!n) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)n;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct end *e = p;

	return e->in->w > e->in->r;
}

static gnutls_session_t new_session(unsigned flags, struct end *e, const char *prio,
                                    gnutls_certificate_credentials_t cred)
{
	static const gnutls_datum_t alpn = {(unsigned char *)"ntske/1", 7};
	gnutls_session_t s;
	int err;

	if ((err = gnutls_init(&s, flags | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS)) ||
	    (err = gnutls_priority_set_direct(s, prio, NULL)) ||
	    (err = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) ||
	    (err = gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY)))
		die("session", err);
	gnutls_transport_set_ptr(s, e);
	gnutls_transport_set_push_function(s, push);
	gnutls_transport_set_pull_function(s, pull);
	gnutls_transport_set_pull_timeout_function(s, pull_timeout);
	return s;
}

static double session(gnutls_certificate_credentials_t scred,
                      gnutls_certificate_credentials_t ccred, const char *cprio)
{
	static struct pipe c2s, s2c;
	struct end se = {&c2s, &s2c}, ce = {&s2c, &c2s};
	unsigned char buf[2048], key[32], ctx5[5] = {0, 0, 0, 15, 0};
	const char *label = "EXPORTER-network-time-security";
	gnutls_session_t srv, cli;
	int sdone = 0, cdone = 0, i, ret;
	double t = 0, t0 = cpu_us();

	srv = new_session(GNUTLS_SERVER, &se, server_prio, scred);
	t += cpu_us() - t0;
	cli = new_session(GNUTLS_CLIENT, &ce, cprio, ccred);
	for (i = 0; i < 20 && !(sdone && cdone); i++) {
		if (!cdone && (ret = gnutls_handshake(cli)) == 0)
			cdone = 1;
		else if (!cdone && gnutls_error_is_fatal(ret))
			die("client handshake", ret);
		t0 = cpu_us();
		if (!sdone && (ret = gnutls_handshake(srv)) == 0)
			sdone = 1;
		t += cpu_us() - t0;
		if (!sdone && gnutls_error_is_fatal(ret))
			die("server handshake", ret);
	}
	if (!sdone || !cdone)
		die("handshake did not finish", 0);
	if (gnutls_record_send(cli, "0123456789abcdef", 16) != 16)
		die("client send", 0);
	t0 = cpu_us();
	if (gnutls_record_recv(srv, buf, sizeof(buf)) != 16)
		die("server recv", 0);
	if (!described++) {
		char *d = gnutls_session_get_desc(srv);

		printf("negotiated: %s\n", d);
		gnutls_free(d);
	}
	if (gnutls_prf_rfc5705(srv, strlen(label), label, 5, (char *)ctx5, 32, (char *)key))
		die("export", 0);
	ctx5[4] = 1;
	gnutls_prf_rfc5705(srv, strlen(label), label, 5, (char *)ctx5, 32, (char *)key);
	memset(buf, 0xa5, 900);
	if (gnutls_record_send(srv, buf, 900) != 900)
		die("server send", 0);
	gnutls_bye(srv, GNUTLS_SHUT_WR);
	gnutls_deinit(srv);
	t += cpu_us() - t0;
	if (gnutls_record_recv(cli, buf, sizeof(buf)) != 900)
		die("client recv", 0);
	gnutls_deinit(cli);
	c2s.r = c2s.w = s2c.r = s2c.w = 0;
	return t;
}

/* One session for run_batches(). */
struct setup {
	gnutls_certificate_credentials_t scred, ccred;
	const char *cprio;
};

static double one_session(void *arg)
{
	struct setup *u = arg;

	return session(u->scred, u->ccred, u->cprio);
}

static void ops(const char *certfile, const char *keyfile, int n)
{
	gnutls_privkey_t k;
	gnutls_datum_t pem, sig, tbs = {(unsigned char *)"0123456789abcdef0123456789abcdef", 32};
	gnutls_pk_algorithm_t pk;
	double t0;
	int i, err;

	if ((err = gnutls_load_file(keyfile, &pem)) || (err = gnutls_privkey_init(&k)) ||
	    (err = gnutls_privkey_import_x509_raw(k, &pem, GNUTLS_X509_FMT_PEM, NULL, 0)))
		die("key", err);
	pk = gnutls_privkey_get_pk_algorithm(k, NULL);
	t0 = cpu_us();
	for (i = 0; i < n; i++) {
		err = gnutls_privkey_sign_data2(k,
		                                pk == GNUTLS_PK_EDDSA_ED25519
		                                    ? GNUTLS_SIGN_EDDSA_ED25519
		                                    : GNUTLS_SIGN_ECDSA_SHA256,
		                                0, &tbs, &sig);
		if (err)
			die("sign", err);
		gnutls_free(sig.data);
	}
	printf("  %-34s %8.1f us\n", gnutls_pk_get_name(pk), (cpu_us() - t0) / n);
	gnutls_privkey_deinit(k);
	gnutls_free(pem.data);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *group = "X25519";
	gnutls_certificate_credentials_t scred, ccred;
	char cprio[256];
	int n = 2000, only_ops = 0, o, err;

	while ((o = getopt(argc, argv, "c:k:g:n:ao")) != -1) {
		switch (o) {
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'a':
			server_prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
			break;
		case 'o':
			only_ops = 1;
			break;
		default:
			return 2;
		}
	}
	if (!cert || !key || n < 1 || n > 1000000) {
		fprintf(stderr, "usage: %s -c CERT -k KEY [-g GROUP] [-n N] [-a] [-o]\n", argv[0]);
		return 2;
	}
	gnutls_global_init();
	printf("GnuTLS %s, group %s\n", gnutls_check_version(NULL), group);
	if (only_ops) {
		ops(cert, key, n);
		return 0;
	}
	if ((err = gnutls_certificate_allocate_credentials(&scred)) ||
	    (err = gnutls_certificate_set_x509_key_file(scred, cert, key, GNUTLS_X509_FMT_PEM)) <
	        0 ||
	    (err = gnutls_certificate_allocate_credentials(&ccred)))
		die("credentials", err);
	snprintf(cprio, sizeof(cprio), "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-%s", group);
	struct setup u = {scred, ccred, cprio};

	run_batches(one_session, &u, BATCH, NULL); /* warm-up */
	run_batches(one_session, &u, n, NULL);
	gnutls_certificate_free_credentials(scred);
	gnutls_certificate_free_credentials(ccred);
	return 0;
}
