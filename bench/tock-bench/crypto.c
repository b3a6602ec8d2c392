// SPDX-License-Identifier: MIT
/*
 * `tock-bench crypto [-n N]`: the crypto of one NTS request as tockd does it (open the
 * cookie, verify the C2S authenticator, seal a new cookie, seal the response with S2C),
 * timed with tock's SIV and, on the same inputs, with OpenSSL's EVP AES-SIV re-keyed per
 * message. A micro-benchmark to compare the two back-ends, not a claim about the server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bench.h"
#include "cookie.h"
#include "rand.h"
#include "siv.h"

#define AEAD    SIV_AEAD_CMAC_256
#define KEY_LEN 32
#define KEY_ID  0x01020304u
#define HDR_LEN 48
#define UID_LEN 36                            /* EF header + 32-byte unique identifier */
#define CEF_LEN (4 + 100)                     /* cookie EF: header + AEAD 15 cookie */
#define AD_LEN  (HDR_LEN + UID_LEN + CEF_LEN) /* what precedes the authenticator EF */
#define NONCE   16
#define REQ_LEN (AD_LEN + 8 + NONCE + SIV_TAG_LEN)
#define RESP_AD (HDR_LEN + UID_LEN) /* response: header + echoed UID */
#define ROUNDS  3                   /* best of, alternating back-ends */

/* One worker's state and one request, shared by both back-ends so the inputs match. */
struct bench {
	uint8_t master_key[KEY_LEN];
	uint8_t req[REQ_LEN];
	uint8_t cookie_ef[CEF_LEN]; /* the new cookie, as the response carries it */
	uint8_t resp[RESP_AD + SIV_TAG_LEN + CEF_LEN];
	struct cookie_keys keys;
	struct rand_pool pool;
	unsigned failures;    /* tock: must stay 0 */
	unsigned evp_rejects; /* EVP: valid messages it failed to verify */
	/* tock's SIV */
	struct siv *master, *c2s, *s2c;
	/* EVP AES-SIV */
	EVP_CIPHER *evp_siv;
	EVP_CIPHER_CTX *evp;
};

static const uint8_t *req_nonce(const struct bench *b)
{
	return b->req + AD_LEN + 8;
}

static const uint8_t *req_cookie(const struct bench *b)
{
	return b->req + HDR_LEN + UID_LEN + 4;
}

/* ---- tock's SIV: the four steps ---------------------------------------------------- */

static void tock_open(struct bench *b)
{
	b->failures += cookie_open(b->master, req_cookie(b), CEF_LEN - 4, &b->keys) != 0;
}

static void tock_verify(struct bench *b)
{
	struct siv_ad ad[2] = {{b->req, AD_LEN}, {req_nonce(b), NONCE}};

	b->failures += siv_set_key(b->c2s, b->keys.c2s, b->keys.key_len) != 0;
	b->failures += siv_decrypt(b->c2s, ad, 2, req_nonce(b) + NONCE, SIV_TAG_LEN, NULL) != 0;
}

static void tock_seal(struct bench *b)
{
	uint8_t nonce[COOKIE_NONCE_LEN];

	b->failures += rand_pool_take(&b->pool, nonce, sizeof(nonce)) != 0;
	b->failures += cookie_seal(b->master, KEY_ID, nonce, &b->keys, b->cookie_ef + 4,
	                           CEF_LEN - 4) != CEF_LEN - 4;
}

static void tock_respond(struct bench *b)
{
	uint8_t nonce[NONCE];
	struct siv_ad ad[2] = {{b->resp, RESP_AD}, {nonce, NONCE}};

	b->failures += rand_pool_take(&b->pool, nonce, sizeof(nonce)) != 0;
	b->failures += siv_set_key(b->s2c, b->keys.s2c, b->keys.key_len) != 0;
	b->failures += siv_encrypt(b->s2c, ad, 2, b->cookie_ef, CEF_LEN, b->resp + RESP_AD) != 0;
}

/* ---- EVP AES-SIV: the same steps, keyed per message (it has no other way to reset) -- */

/* One EVP SIV message: components ad[0..n-1], tag ‖ text in or out. 1 if it verified. */
static int evp_run(struct bench *b, int enc, const uint8_t *key, const struct siv_ad *ad, size_t n,
                   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = b->evp;
	int outl, ok;

	ok = EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, SIV_TAG_LEN, tag);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_CipherUpdate(c, NULL, &outl, ad[i].data, (int)ad[i].len);
	ok = ok && EVP_CipherUpdate(c, out, &outl, in, (int)len) &&
	     EVP_CipherFinal_ex(c, out + outl, &outl);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, SIV_TAG_LEN, tag);
	return ok;
}

static void evp_open(struct bench *b)
{
	const uint8_t *ck = req_cookie(b);
	uint8_t pt[2 * KEY_LEN], tag[SIV_TAG_LEN];
	struct siv_ad ad[2] = {{ck, 0}, {ck + 4, COOKIE_NONCE_LEN}};

	memcpy(tag, ck + COOKIE_HEADER_LEN, SIV_TAG_LEN);
	if (!evp_run(b, 0, b->master_key, ad, 2, ck + COOKIE_HEADER_LEN + SIV_TAG_LEN, sizeof(pt),
	             pt, tag)) {
		b->evp_rejects++;
		return;
	}
	memcpy(b->keys.c2s, pt, KEY_LEN);
	memcpy(b->keys.s2c, pt + KEY_LEN, KEY_LEN);
}

static void evp_verify(struct bench *b)
{
	struct siv_ad ad[2] = {{b->req, AD_LEN}, {req_nonce(b), NONCE}};
	uint8_t tag[SIV_TAG_LEN], none[1] = {0};

	memcpy(tag, req_nonce(b) + NONCE, SIV_TAG_LEN);
	b->evp_rejects += !evp_run(b, 0, b->keys.c2s, ad, 2, none, 0, none, tag);
}

static void evp_seal(struct bench *b)
{
	uint8_t pt[2 * KEY_LEN], *ck = b->cookie_ef + 4;
	struct siv_ad ad[2] = {{ck, 0}, {ck + 4, COOKIE_NONCE_LEN}};

	memcpy(pt, b->keys.c2s, KEY_LEN);
	memcpy(pt + KEY_LEN, b->keys.s2c, KEY_LEN);
	b->failures += rand_pool_take(&b->pool, ck + 4, COOKIE_NONCE_LEN) != 0;
	b->evp_rejects += !evp_run(b, 1, b->master_key, ad, 2, pt, sizeof(pt),
	                           ck + COOKIE_HEADER_LEN + SIV_TAG_LEN, ck + COOKIE_HEADER_LEN);
}

static void evp_respond(struct bench *b)
{
	uint8_t nonce[NONCE];
	struct siv_ad ad[2] = {{b->resp, RESP_AD}, {nonce, NONCE}};

	b->failures += rand_pool_take(&b->pool, nonce, sizeof(nonce)) != 0;
	b->evp_rejects += !evp_run(b, 1, b->keys.s2c, ad, 2, b->cookie_ef, CEF_LEN,
	                           b->resp + RESP_AD + SIV_TAG_LEN, b->resp + RESP_AD);
}

/* ---- timing ------------------------------------------------------------------------- */

typedef void (*step_fn)(struct bench *b);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ns per call of the steps run in sequence (NULL-terminated), n times. */
static double time_steps(struct bench *b, const step_fn *steps, long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		for (const step_fn *s = steps; *s; s++)
			(*s)(b);
	return (now_ns() - t0) / (double)n;
}

static double time_set_key(struct bench *b, long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		b->keys.c2s[0] = (uint8_t)i; /* a different key each time, as per request */
		b->failures += siv_set_key(b->c2s, b->keys.c2s, KEY_LEN) != 0;
	}
	return (now_ns() - t0) / (double)n;
}

/* Both back-ends on one row, best of ROUNDS alternating runs so drift hits both alike. */
static double compare(struct bench *b, const char *name, const step_fn *ours, const step_fn *evp,
                      long n)
{
	double best_t = 1e30, best_e = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		double t = time_steps(b, ours, n), e = time_steps(b, evp, n);

		best_t = t < best_t ? t : best_t;
		best_e = e < best_e ? e : best_e;
	}
	printf("%-24s %10.0f %12.0f %8.2fx\n", name, best_t, best_e, best_e / best_t);
	return best_t;
}

/* ---- set-up -------------------------------------------------------------------------- */

/* A client's request: header, UID, the cookie tock issued, authenticator over it all. */
static int build_request(struct bench *b)
{
	uint8_t *p = b->req, nonce[COOKIE_NONCE_LEN];
	struct siv_ad ad[2] = {{b->req, AD_LEN}, {b->req + AD_LEN + 8, NONCE}};

	if (RAND_bytes(b->req, sizeof(b->req)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -EIO;
	p[0] = 0x23; /* v4, client */
	memcpy(p + HDR_LEN, "\x01\x04\x00\x24", 4);
	memcpy(p + HDR_LEN + UID_LEN, "\x02\x04\x00\x68", 4);
	if (cookie_seal(b->master, KEY_ID, nonce, &b->keys, p + HDR_LEN + UID_LEN + 4,
	                CEF_LEN - 4) != CEF_LEN - 4)
		return -EIO;
	memcpy(p + AD_LEN, "\x04\x04\x00\x28\x00\x10\x00\x10", 8);
	if (siv_set_key(b->c2s, b->keys.c2s, KEY_LEN))
		return -EIO;
	memcpy(b->cookie_ef, "\x02\x04\x00\x68", 4);
	memcpy(b->resp, b->req, HDR_LEN + UID_LEN);
	b->resp[0] = 0x24; /* v4, server */
	return siv_encrypt(b->c2s, ad, 2, NULL, 0, b->req + AD_LEN + 8 + NONCE);
}

static int setup(struct bench *b)
{
	b->master = siv_new(AEAD);
	b->c2s = siv_new(AEAD);
	b->s2c = siv_new(AEAD);
	b->evp_siv = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
	b->evp = EVP_CIPHER_CTX_new();
	if (!b->master || !b->c2s || !b->s2c || !b->evp_siv || !b->evp)
		return -ENOMEM;
	if (!EVP_CipherInit_ex(b->evp, b->evp_siv, NULL, NULL, NULL, 1))
		return -EIO;
	rand_pool_init(&b->pool);
	b->keys.aead = AEAD;
	b->keys.key_len = KEY_LEN;
	if (RAND_bytes(b->master_key, KEY_LEN) != 1 || RAND_bytes(b->keys.c2s, KEY_LEN) != 1 ||
	    RAND_bytes(b->keys.s2c, KEY_LEN) != 1 || siv_set_key(b->master, b->master_key, KEY_LEN))
		return -EIO;
	return build_request(b);
}

static void teardown(struct bench *b)
{
	siv_free(b->master);
	siv_free(b->c2s);
	siv_free(b->s2c);
	EVP_CIPHER_CTX_free(b->evp);
	EVP_CIPHER_free(b->evp_siv);
}

static long parse_n(int argc, char **argv)
{
	long n = 200000;
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return -1;
		n = strtol(optarg, NULL, 0);
	}
	return n > 0 && n <= 100000000 ? n : -1;
}

static void report(struct bench *b, long n)
{
	static const step_fn t_open[] = {tock_open, NULL}, e_open[] = {evp_open, NULL};
	static const step_fn t_ver[] = {tock_verify, NULL}, e_ver[] = {evp_verify, NULL};
	static const step_fn t_seal[] = {tock_seal, NULL}, e_seal[] = {evp_seal, NULL};
	static const step_fn t_resp[] = {tock_respond, NULL}, e_resp[] = {evp_respond, NULL};
	static const step_fn t_all[] = {tock_open, tock_verify, tock_seal, tock_respond, NULL};
	static const step_fn e_all[] = {evp_open, evp_verify, evp_seal, evp_respond, NULL};
	double full;

	printf("tock-bench crypto: %ld requests per run, best of %d, AEAD 15, "
	       "AD %d + nonce %d, response plaintext %d, tock SIV on %s\n",
	       n, ROUNDS, AD_LEN, NONCE, CEF_LEN, siv_impl(b->c2s));
	printf("%-24s %10s %12s %9s\n", "ns per step", "tock SIV", "EVP AES-SIV", "ratio");
	compare(b, "cookie open (master)", t_open, e_open, n);
	compare(b, "request verify (C2S)", t_ver, e_ver, n);
	compare(b, "cookie seal (master)", t_seal, e_seal, n);
	compare(b, "response seal (S2C)", t_resp, e_resp, n);
	full = compare(b, "full NTS request", t_all, e_all, n);
	printf("%-24s %10.0f\n", "siv_set_key alone", time_set_key(b, n));
	printf("full request with tock SIV: %.0f ns (%.2f M requests/s per core)\n", full,
	       1e3 / full);
}

int bench_crypto(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	long n = parse_n(argc, argv);
	int err = 0;

	if (n < 0) {
		fprintf(stderr, "usage: tock-bench crypto [-n REQUESTS]\n");
		free(b);
		return 2;
	}
	if (!b || setup(b)) {
		fprintf(stderr, "tock-bench crypto: set-up failed\n");
		err = 1;
		goto out;
	}
	report(b, n);
	/* EVP's rejects are expected: OpenSSL 3.0's SIV does not verify empty plaintexts. */
	printf("EVP AES-SIV rejected %u valid messages; tock SIV failures: %u\n", b->evp_rejects,
	       b->failures);
	err = b->failures ? 1 : 0;
out:
	if (b)
		teardown(b);
	free(b);
	return err;
}
