// SPDX-License-Identifier: MIT
/*
 * ke_tls_floor.c's session with wolfSSL (Debian's libwolfssl-dev): the server side of a TLS
 * 1.3 NTS-KE-shaped session over memory buffers, only the server's calls timed. Not built by
 * make; a measuring tool for comparing TLS stacks:
 *
 *   cc -O2 -o /tmp/ke_tls_floor_wolfssl bench/ke_tls_floor_wolfssl.c -lwolfssl
 *   /tmp/ke_tls_floor_wolfssl -c CERT.pem -k KEY.pem [-g x25519|p256] [-n N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "ke_tls_floor.h"

static int described; /* the first session's parameters were printed */

static void die(const char *what, int err)
{
	fprintf(stderr, "ke_tls_floor_wolfssl: %s (%d)\n", what, err);
	exit(1);
}

static int io_send(WOLFSSL *ssl, char *data, int len, void *p)
{
	return pipe_put(p, data, (size_t)len) ? WOLFSSL_CBIO_ERR_WANT_WRITE : len;
}

static int io_recv(WOLFSSL *ssl, char *data, int len, void *p)
{
	size_t n = pipe_take(p, data, (size_t)len);

	return n ? (int)n : WOLFSSL_CBIO_ERR_WANT_READ;
}

static WOLFSSL *new_ssl(WOLFSSL_CTX *c, struct end *e)
{
	WOLFSSL *s = wolfSSL_new(c);

	if (!s || wolfSSL_UseALPN(s, (char *)"ntske/1", 7, WOLFSSL_ALPN_FAILED_ON_MISMATCH) != 1)
		die("wolfSSL_new", 0);
	wolfSSL_SetIOReadCtx(s, e);
	wolfSSL_SetIOWriteCtx(s, e);
	return s;
}

static double session(WOLFSSL_CTX *sctx, WOLFSSL_CTX *cctx, int group)
{
	static struct pipe c2s, s2c;
	struct end se = {&c2s, &s2c}, ce = {&s2c, &c2s};
	unsigned char buf[2048], key[32], ctx5[5] = {0, 0, 0, 15, 0};
	const char *label = "EXPORTER-network-time-security";
	WOLFSSL *srv, *cli;
	int sdone = 0, cdone = 0, i;
	double t = 0, t0 = cpu_us();

	srv = new_ssl(sctx, &se);
	t += cpu_us() - t0;
	cli = new_ssl(cctx, &ce);
	if (wolfSSL_UseKeyShare(cli, (word16)group) != 1 || wolfSSL_set_groups(cli, &group, 1) != 1)
		die("client group", group);
	for (i = 0; i < 20 && !(sdone && cdone); i++) {
		if (!cdone && wolfSSL_connect(cli) == 1)
			cdone = 1;
		t0 = cpu_us();
		if (!sdone && wolfSSL_accept(srv) == 1)
			sdone = 1;
		t += cpu_us() - t0;
	}
	if (!sdone || !cdone)
		die("handshake", wolfSSL_get_error(sdone ? cli : srv, 0));
	if (wolfSSL_write(cli, "0123456789abcdef", 16) != 16)
		die("client write", 0);
	t0 = cpu_us();
	if (wolfSSL_read(srv, buf, sizeof(buf)) != 16)
		die("server read", wolfSSL_get_error(srv, 0));
	if (!described++)
		printf("negotiated: %s, %s, group %s\n", wolfSSL_get_version(srv),
		       wolfSSL_get_cipher_name(srv), wolfSSL_get_curve_name(srv));
	if (wolfSSL_export_keying_material(srv, key, 32, label, strlen(label), ctx5, 5, 1) != 1)
		die("export", 0);
	ctx5[4] = 1;
	wolfSSL_export_keying_material(srv, key, 32, label, strlen(label), ctx5, 5, 1);
	memset(buf, 0xa5, 900);
	if (wolfSSL_write(srv, buf, 900) != 900)
		die("server write", 0);
	wolfSSL_shutdown(srv);
	wolfSSL_free(srv);
	t += cpu_us() - t0;
	if (wolfSSL_read(cli, buf, sizeof(buf)) != 900)
		die("client read", wolfSSL_get_error(cli, 0));
	wolfSSL_free(cli);
	c2s.r = c2s.w = s2c.r = s2c.w = 0;
	return t;
}

/* One session for run_batches(). */
struct setup {
	WOLFSSL_CTX *sctx, *cctx;
	int group;
};

static double one_session(void *arg)
{
	struct setup *u = arg;

	return session(u->sctx, u->cctx, u->group);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	int n = 2000, group = WOLFSSL_ECC_X25519, o;
	WOLFSSL_CTX *sctx, *cctx;

	while ((o = getopt(argc, argv, "c:k:g:n:")) != -1) {
		switch (o) {
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'g':
			group = strcmp(optarg, "p256") ? WOLFSSL_ECC_X25519 : WOLFSSL_ECC_SECP256R1;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!cert || !key || n < 1 || n > 1000000) {
		fprintf(stderr, "usage: %s -c CERT -k KEY [-g x25519|p256] [-n N]\n", argv[0]);
		return 2;
	}
	wolfSSL_Init();
	sctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	cctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	if (!sctx || !cctx ||
	    wolfSSL_CTX_use_certificate_chain_file(sctx, cert) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_file(sctx, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_no_ticket_TLSv13(sctx) != 0)
		die("contexts", 0);
	wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_NONE, NULL);
	wolfSSL_CTX_SetIORecv(sctx, io_recv);
	wolfSSL_CTX_SetIOSend(sctx, io_send);
	wolfSSL_CTX_SetIORecv(cctx, io_recv);
	wolfSSL_CTX_SetIOSend(cctx, io_send);
	printf("wolfSSL %s, group %s\n", wolfSSL_lib_version(),
	       group == WOLFSSL_ECC_X25519 ? "X25519" : "P-256");
	struct setup u = {sctx, cctx, group};

	run_batches(one_session, &u, BATCH, NULL); /* warm-up */
	run_batches(one_session, &u, n, NULL);
	wolfSSL_CTX_free(sctx);
	wolfSSL_CTX_free(cctx);
	wolfSSL_Cleanup();
	return 0;
}
