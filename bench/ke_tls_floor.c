// SPDX-License-Identifier: MIT
/*
 * The floor under tock-ke's CPU per NTS-KE session: the server side of a TLS 1.3 handshake
 * shaped like an NTS-KE session, in one process over memory BIOs (no sockets, no kernel),
 * plus the single operations a session is made of. Not built by make (a measuring tool,
 * not part of tock):
 *
 *   cc -O2 -o /tmp/ke_tls_floor bench/ke_tls_floor.c -lssl -lcrypto
 *   /tmp/ke_tls_floor [-n N] [-k ec|ed25519|rsa] [-g X25519|P-256] [-r] [-a] [-s LIST] [-L] [-R]
 * [-o]
 *
 *   -k  server key type (ECDSA P-256 by default)     -g  the only group the client offers
 *   -r  reuse the server's SSL with SSL_clear        -o  the single operations only
 *   -a  without SSL_MODE_NO_AUTO_CHAIN (as tock-ke was: a chain search per handshake)
 *   -s  the server's signature algorithms (SSL_CTX_set1_sigalgs_list)
 *   -L  the server in its own OSSL_LIB_CTX (the default provider only, no config file)
 *   -R  SSL_MODE_RELEASE_BUFFERS on the server
 *
 * A session is: ClientHello in → ServerHello..Finished out → client Finished and a 16-byte
 * request in → two keying-material exports → a 900-byte response and close_notify out,
 * with ALPN ntske/1, AES-128-GCM, no tickets, as tock-ke configures it. Only the server's
 * calls are timed (thread CPU clock), so the client's certificate check does not count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ke_tls_floor.h"

static const unsigned char alpn[] = "\x07ntske/1";
static int described; /* the first session's parameters were printed */

static void die(const char *what)
{
	fprintf(stderr, "ke_tls_floor: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static EVP_PKEY *make_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (!strcmp(type, "ec"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (!strcmp(type, "ed25519"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (!strcmp(type, "rsa"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!k)
		die("cannot make the key");
	return k;
}

/* A self-signed certificate for k (Ed25519 signs with no digest). */
static X509 *make_cert(EVP_PKEY *k)
{
	X509 *x = X509_new();
	const EVP_MD *md = EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256();

	if (!x || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, k) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                                (const unsigned char *)"floor", -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_sign(x, k, md))
		die("cannot make the certificate");
	return x;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn, sizeof(alpn) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int auto_chain;       /* -a */
static const char *sigalgs;  /* -s */
static OSSL_LIB_CTX *libctx; /* -L */
static int release_buffers;  /* -R */

/* The server context as tock-ke sets it up (tls.c ctx_protocol_setup). */
static SSL_CTX *server_ctx(EVP_PKEY *k, X509 *x)
{
	SSL_CTX *c = SSL_CTX_new_ex(libctx, NULL, TLS_server_method());

	if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
	    !SSL_CTX_use_certificate(c, x) || !SSL_CTX_use_PrivateKey(c, k) ||
	    !SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") ||
	    !SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384") ||
	    !SSL_CTX_set_num_tickets(c, 0))
		die("server context");
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_read_ahead(c, 1);
	SSL_CTX_set_alpn_select_cb(c, alpn_cb, NULL);
	if (!auto_chain)
		SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);
	if (release_buffers)
		SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	if (sigalgs && !SSL_CTX_set1_sigalgs_list(c, sigalgs))
		die("-s: unknown signature algorithm");
	return c;
}

static SSL_CTX *client_ctx(const char *group)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_groups_list(c, group) || SSL_CTX_set_alpn_protos(c, alpn, 8) != 0)
		die("client context");
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	return c;
}

/* One server handshake step, its CPU time added to *t; SSL_do_handshake's result. */
static int srv_handshake(SSL *srv, double *t)
{
	double t0 = cpu_us();
	int r = SSL_do_handshake(srv);

	*t += cpu_us() - t0;
	return r;
}

/* The server's side after the handshake, all of it timed: the 16-byte request, the two
 * exports (C2S, S2C), a 900-byte response and close_notify. */
static void srv_answer(SSL *srv, double *t)
{
	static const char label[] = "EXPORTER-network-time-security";
	unsigned char buf[2048], key[32], ctx5[5] = {0, 0, 0, 15, 0};
	double t0 = cpu_us();

	if (SSL_read(srv, buf, sizeof(buf)) != 16)
		die("server read");
	if (SSL_export_keying_material(srv, key, 32, label, sizeof(label) - 1, ctx5, 5, 1) != 1)
		die("export");
	ctx5[4] = 1;
	if (SSL_export_keying_material(srv, key, 32, label, sizeof(label) - 1, ctx5, 5, 1) != 1)
		die("export");
	memset(buf, 0xa5, 900);
	if (SSL_write(srv, buf, 900) != 900)
		die("server write");
	SSL_shutdown(srv);
	*t += cpu_us() - t0;
}

/* One session; returns the server's CPU time in us. srv is fresh or cleared. */
static double session(SSL *srv, SSL_CTX *cctx)
{
	SSL *cli = SSL_new(cctx);
	BIO *bs, *bc;
	unsigned char buf[2048];
	double t = 0, t0;
	int done = 0, tries = 0;

	if (!cli || !BIO_new_bio_pair(&bs, 16384, &bc, 16384))
		die("session objects");
	SSL_set_bio(cli, bc, bc);
	t0 = cpu_us();
	SSL_set_bio(srv, bs, bs);
	SSL_set_accept_state(srv);
	t += cpu_us() - t0;
	SSL_connect(cli); /* ClientHello */
	srv_handshake(srv, &t);
	if (SSL_connect(cli) != 1) /* server flight in, Finished out */
		die("client handshake");
	if (SSL_write(cli, "0123456789abcdef", 16) != 16)
		die("client write");
	while (!done && tries++ < 4)
		done = srv_handshake(srv, &t) == 1;
	if (!done)
		die("server handshake");
	if (!described++)
		printf("negotiated: %s, %s, group %s\n", SSL_get_version(srv),
		       SSL_get_cipher_name(srv), OBJ_nid2sn(SSL_get_negotiated_group(srv)));
	srv_answer(srv, &t);
	if (SSL_read(cli, buf, sizeof(buf)) != 900)
		die("client read");
	SSL_free(cli);
	return t;
}

/* The server's SSL across run_batches() calls: new per session, or one reused (-r). */
struct setup {
	SSL_CTX *sctx, *cctx;
	int reuse;
	SSL *srv;
};

/* One session; making (or clearing) and freeing the server's SSL is counted too. */
static double one_session(void *arg)
{
	struct setup *u = arg;
	double t0 = cpu_us(), t;

	if (!u->srv)
		u->srv = SSL_new(u->sctx);
	else if (!SSL_clear(u->srv))
		die("SSL_clear");
	t = cpu_us() - t0;
	t += session(u->srv, u->cctx);
	t0 = cpu_us();
	if (!u->reuse) {
		SSL_free(u->srv);
		u->srv = NULL;
	}
	return t + cpu_us() - t0;
}

/* ---- single operations ---- */

static void report(const char *what, double t0, int n)
{
	printf("  %-34s %8.1f us\n", what, (cpu_us() - t0) / n);
}

static void op_sign(EVP_PKEY *k, const char *what, int n)
{
	const EVP_MD *md = EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256();
	unsigned char tbs[130] = {1}, sig[512];
	double t0 = cpu_us();
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		len = sizeof(sig);
		if (!m || EVP_DigestSignInit(m, NULL, md, NULL, k) != 1 ||
		    EVP_DigestSign(m, sig, &len, tbs, sizeof(tbs)) != 1)
			die("sign");
		EVP_MD_CTX_free(m);
	}
	report(what, t0, n);
}

/* An ephemeral key pair and one shared secret with a fixed peer: the server's ECDHE. */
static void op_kex(const char *group, int n)
{
	EVP_PKEY *peer = !strcmp(group, "X25519") ? EVP_PKEY_Q_keygen(NULL, NULL, "X25519")
	                                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	unsigned char secret[64];
	char what[64];
	double t0 = cpu_us();
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		EVP_PKEY *k = !strcmp(group, "X25519") ? EVP_PKEY_Q_keygen(NULL, NULL, "X25519")
		                                       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
		EVP_PKEY_CTX *d = EVP_PKEY_CTX_new(k, NULL);

		len = sizeof(secret);
		if (!d || EVP_PKEY_derive_init(d) != 1 || EVP_PKEY_derive_set_peer(d, peer) != 1 ||
		    EVP_PKEY_derive(d, secret, &len) != 1)
			die("key exchange");
		EVP_PKEY_CTX_free(d);
		EVP_PKEY_free(k);
	}
	snprintf(what, sizeof(what), "%s keygen + derive", group);
	report(what, t0, n);
	EVP_PKEY_free(peer);
}

static void op_ssl_new_free(SSL_CTX *c, int n)
{
	double t0 = cpu_us();
	int i;

	for (i = 0; i < n; i++)
		SSL_free(SSL_new(c));
	report("SSL_new + SSL_free", t0, n);
}

static void op_fetch(int n)
{
	double t0 = cpu_us();
	int i;

	for (i = 0; i < n; i++)
		EVP_MD_free(EVP_MD_fetch(NULL, "SHA256", NULL));
	report("EVP_MD_fetch(SHA256) + free", t0, n);
}

/* The two RFC 8915 exports (C2S, S2C) on a finished session: what tock-ke adds per session. */
static void op_export(SSL_CTX *sctx, SSL_CTX *cctx, int n)
{
	unsigned char key[32], ctx5[5] = {0, 0, 0, 15, 0};
	SSL *srv = SSL_new(sctx);
	double t0;
	int i;

	if (!srv)
		die("SSL_new");
	session(srv, cctx);
	t0 = cpu_us();
	for (i = 0; i < n; i++) {
		ctx5[4] = 0;
		SSL_export_keying_material(srv, key, 32, "EXPORTER-network-time-security", 30, ctx5,
		                           5, 1);
		ctx5[4] = 1;
		SSL_export_keying_material(srv, key, 32, "EXPORTER-network-time-security", 30, ctx5,
		                           5, 1);
	}
	report("2 x SSL_export_keying_material", t0, n);
	SSL_free(srv);
}

static void ops(SSL_CTX *sctx, SSL_CTX *cctx, int n)
{
	EVP_PKEY *ec = make_key("ec"), *ed = make_key("ed25519");

	printf("single operations (%d each):\n", n);
	op_sign(ec, "ECDSA P-256 sign (SHA-256)", n);
	op_sign(ed, "Ed25519 sign", n);
	op_kex("X25519", n);
	op_kex("P-256", n);
	op_ssl_new_free(sctx, n);
	op_fetch(n);
	op_export(sctx, cctx, n);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
}

int main(int argc, char **argv)
{
	const char *ktype = "ec", *group = "X25519";
	int n = 2000, reuse = 0, only_ops = 0, o;
	EVP_PKEY *k;
	X509 *x;
	SSL_CTX *sctx, *cctx;

	while ((o = getopt(argc, argv, "n:k:g:ras:LRo")) != -1) {
		switch (o) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'k':
			ktype = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'r':
			reuse = 1;
			break;
		case 'a':
			auto_chain = 1;
			break;
		case 's':
			sigalgs = optarg;
			break;
		case 'L':
			libctx = OSSL_LIB_CTX_new();
			if (!libctx)
				die("OSSL_LIB_CTX_new");
			break;
		case 'R':
			release_buffers = 1;
			break;
		case 'o':
			only_ops = 1;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [-n N] [-k ec|ed25519|rsa] [-g GROUP] [-r] [-a] [-s "
			        "LIST] [-L] [-o]\n",
			        argv[0]);
			return 2;
		}
	}
	if (n < 1 || n > 1000000)
		die("-n: 1 to 1000000");
	k = make_key(ktype);
	x = make_cert(k);
	sctx = server_ctx(k, x);
	cctx = client_ctx(group);
	printf("%s, key %s, group %s\n", OpenSSL_version(OPENSSL_VERSION), ktype, group);
	if (only_ops) {
		ops(sctx, cctx, n);
	} else {
		struct setup u = {sctx, cctx, reuse, NULL};
		const char *note = reuse ? "SSL_clear" : "SSL_new/SSL_free";

		run_batches(one_session, &u, BATCH, note); /* warm-up */
		run_batches(one_session, &u, n, note);
		SSL_free(u.srv);
	}
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	X509_free(x);
	EVP_PKEY_free(k);
	OSSL_LIB_CTX_free(libctx);
	return 0;
}
