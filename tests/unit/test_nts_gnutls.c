// SPDX-License-Identifier: MIT
/*
 * An independent implementation talks to tock_serve(): the NTS request is assembled byte by
 * byte here and its authenticator computed with GnuTLS's AES-SIV (nettle underneath), then
 * tock's response authenticator is verified and its new cookies opened with GnuTLS too.
 *
 * GnuTLS's AEAD interface takes exactly one associated-data buffer and the nonce; for SIV
 * the S2V components are then { AD, nonce } — which is what NTS uses (the packet up to the
 * authenticator, then the nonce) and what a cookie uses (an empty AD, then the nonce). The
 * output is the SIV tag followed by the ciphertext.
 */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "cookie.h"
#include "keymap.h"
#include "ntp.h"
#include "serve.h"
#include "siv.h"

static struct tock_worker_stats stats;
static struct tock_clock_cell cell;

static void fake_now(struct timespec *ts)
{
	ts->tv_sec = 1800000000;
	ts->tv_nsec = 1000;
}

static gnutls_cipher_algorithm_t gnutls_alg(int aead)
{
	return aead == SIV_AEAD_CMAC_512 ? GNUTLS_CIPHER_AES_256_SIV : GNUTLS_CIPHER_AES_128_SIV;
}

static gnutls_aead_cipher_hd_t gt_new(int aead, const uint8_t *key, size_t key_len)
{
	gnutls_aead_cipher_hd_t h = NULL;
	gnutls_datum_t k = {.data = (unsigned char *)key, .size = (unsigned)key_len};

	if (gnutls_aead_cipher_init(&h, gnutls_alg(aead), &k) < 0)
		return NULL;
	return h;
}

/* SIV-encrypts with components { ad, nonce }; out gets tag ‖ ciphertext. */
static int gt_seal(int aead, const uint8_t *key, size_t key_len, const uint8_t *ad, size_t ad_len,
                   const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t pt_len,
                   uint8_t *out)
{
	gnutls_aead_cipher_hd_t h = gt_new(aead, key, key_len);
	size_t out_len = pt_len + 16;
	int r;

	if (!h)
		return -1;
	r = gnutls_aead_cipher_encrypt(h, nonce, nonce_len, ad, ad_len, 16, pt, pt_len, out,
	                               &out_len);
	gnutls_aead_cipher_deinit(h);
	return r < 0 || out_len != pt_len + 16 ? -1 : 0;
}

static int gt_open(int aead, const uint8_t *key, size_t key_len, const uint8_t *ad, size_t ad_len,
                   const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t in_len,
                   uint8_t *pt)
{
	gnutls_aead_cipher_hd_t h = gt_new(aead, key, key_len);
	uint8_t dummy[1];
	size_t pt_len = in_len - 16;
	int r;

	if (!h)
		return -1;
	r = gnutls_aead_cipher_decrypt(h, nonce, nonce_len, ad, ad_len, 16, in, in_len,
	                               pt_len ? pt : dummy, &pt_len);
	gnutls_aead_cipher_deinit(h);
	return r < 0 ? -1 : (int)pt_len;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

struct setup {
	int aead;
	size_t klen;
	uint8_t master[32];
	uint32_t key_id;
	uint8_t c2s[64], s2c[64];
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t cookie_len;
};

/* A cookie minted by tock (cookie_seal) opens with GnuTLS as { "", nonce }. */
static void make_cookie(struct setup *s)
{
	struct siv *m = siv_new(SIV_AEAD_CMAC_256);
	struct cookie_keys k = {.aead = s->aead, .key_len = s->klen};
	uint8_t nonce[COOKIE_NONCE_LEN], pt[128];
	int n;

	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xc0 + i);
	memcpy(k.c2s, s->c2s, s->klen);
	memcpy(k.s2c, s->s2c, s->klen);
	CHECK(m && siv_set_key(m, s->master, 32) == 0);
	n = cookie_seal(m, s->key_id, nonce, &k, s->cookie, sizeof(s->cookie));
	CHECK_EQ(n, (int)(36 + 2 * s->klen));
	s->cookie_len = (size_t)n;
	siv_free(m);
	n = gt_open(SIV_AEAD_CMAC_256, s->master, 32, (const uint8_t *)"", 0, s->cookie + 4, 16,
	            s->cookie + 20, s->cookie_len - 20, pt);
	CHECK_EQ(n, (int)(2 * s->klen));
	CHECK(n > 0 && !memcmp(pt, s->c2s, s->klen) && !memcmp(pt + s->klen, s->s2c, s->klen),
	      "GnuTLS opens tock's cookie to other keys");
}

/* Request: header, UID, cookie, one placeholder, authenticator (16-byte nonce, empty pt). */
static size_t make_request(const struct setup *s, uint8_t *req, int corrupt)
{
	size_t pos = 48, auth;
	uint8_t *a;

	memset(req, 0, 1024);
	req[0] = 0x23; /* leap 0, version 4, mode 3 */
	req[2] = 4;
	for (int i = 0; i < 8; i++)
		req[40 + i] = (uint8_t)(0x10 * i + 1);
	put16(req + pos, NTP_EF_UNIQUE_ID);
	put16(req + pos + 2, 36);
	for (int i = 0; i < 32; i++)
		req[pos + 4 + i] = (uint8_t)(0x55 ^ i);
	pos += 36;
	put16(req + pos, NTP_EF_NTS_COOKIE);
	put16(req + pos + 2, (unsigned)(4 + s->cookie_len));
	memcpy(req + pos + 4, s->cookie, s->cookie_len);
	pos += 4 + s->cookie_len;
	put16(req + pos, NTP_EF_NTS_COOKIE_PH);
	put16(req + pos + 2, (unsigned)(4 + s->cookie_len));
	pos += 4 + s->cookie_len;
	auth = pos;
	a = req + auth;
	put16(a, NTP_EF_NTS_AUTHENTICATOR);
	put16(a + 2, 4 + 4 + 16 + 16);
	put16(a + 4, 16);
	put16(a + 6, 16);
	for (int i = 0; i < 16; i++)
		a[8 + i] = (uint8_t)(0xa0 + i);
	CHECK_EQ(gt_seal(s->aead, s->c2s, s->klen, req, auth, a + 8, 16, NULL, 0, a + 24), 0);
	if (corrupt)
		a[24 + 5] ^= 0x20;
	return auth + 40;
}

/* Verifies tock's response with GnuTLS; returns the number of good cookies. */
static unsigned check_response(const struct setup *s, const uint8_t *req, const uint8_t *resp,
                               size_t n)
{
	const uint8_t *a = resp + 48 + 36;
	uint8_t pt[2048], keys[128];
	unsigned nlen, clen, good = 0;
	int pt_len;
	size_t pos = 0;

	CHECK_EQ(resp[0], 0x24); /* leap 0, v4, mode 4 */
	CHECK_MEM(resp + 24, req + 40, 8);
	CHECK_MEM(resp + 48, req + 48, 36); /* UID echoed */
	CHECK_EQ(get16(a), NTP_EF_NTS_AUTHENTICATOR);
	CHECK_EQ(48 + 36 + get16(a + 2), n);
	nlen = get16(a + 4);
	clen = get16(a + 6);
	CHECK_EQ(nlen, 16);
	CHECK(clen >= 16 && 8 + 16 + clen <= get16(a + 2));
	pt_len =
	    gt_open(s->aead, s->s2c, s->klen, resp, 48 + 36, a + 8, nlen, a + 8 + nlen, clen, pt);
	CHECK(pt_len >= 0, "GnuTLS rejects tock's authenticator");
	while (pt_len > 0 && pos + 4 <= (size_t)pt_len) {
		unsigned type = get16(pt + pos), flen = get16(pt + pos + 2);
		const uint8_t *c = pt + pos + 4;

		CHECK_EQ(type, NTP_EF_NTS_COOKIE);
		CHECK_EQ(flen, 4 + s->cookie_len);
		if (flen < 4 || pos + flen > (size_t)pt_len)
			break;
		CHECK_EQ((uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3], s->key_id);
		if (gt_open(SIV_AEAD_CMAC_256, s->master, 32, (const uint8_t *)"", 0, c + 4, 16,
		            c + 20, s->cookie_len - 20, keys) == (int)(2 * s->klen) &&
		    !memcmp(keys, s->c2s, s->klen) && !memcmp(keys + s->klen, s->s2c, s->klen))
			good++;
		pos += flen;
	}
	return good;
}

static void run(struct tock_worker_ctx *w, int aead)
{
	struct setup s = {.aead = aead, .klen = siv_key_len(aead), .key_id = 0x00abcde5};
	struct tock_rx_meta rx = {.rx_time = {.tv_sec = 1800000000}};
	struct keymap_snapshot snap = {0};
	uint8_t req[1024], resp[1024];
	size_t len, n;

	for (size_t i = 0; i < 32; i++)
		s.master[i] = (uint8_t)(3 * i + 7);
	for (size_t i = 0; i < s.klen; i++) {
		s.c2s[i] = (uint8_t)(i + 1);
		s.s2c[i] = (uint8_t)(0xff - i);
	}
	make_cookie(&s);
	snap.current_slot = KEYMAP_SLOT_OF(s.key_id);
	snap.slots[snap.current_slot] =
	    (struct keymap_slot){.id = s.key_id, .aead = 15, .valid = 1};
	memcpy(snap.slots[snap.current_slot].key, s.master, 32);
	CHECK_EQ(tock_worker_set_keys(w, &snap), 0);

	len = make_request(&s, req, 0);
	n = tock_serve(w, req, len, &rx, resp, sizeof(resp));
	CHECK_EQ(n, len);
	CHECK(n >= 48 && memcmp(resp + 12, "NTSN", 4) != 0, "tock NAKed GnuTLS's request");
	if (n == len)
		CHECK_EQ(check_response(&s, req, resp, n), 2);

	/* The same request with a corrupted GnuTLS tag must be NAKed. */
	len = make_request(&s, req, 1);
	n = tock_serve(w, req, len, &rx, resp, sizeof(resp));
	CHECK_EQ(n, 48 + 36);
	CHECK_MEM(resp + 12, "NTSN", 4);
}

int main(void)
{
	struct tock_serve_opts opts = {.now = fake_now};
	struct tock_clock_status st = {.leap = 0, .stratum = 1, .precision = -20};
	struct tock_worker_ctx *w;
	uint8_t key[32] = {0};
	gnutls_aead_cipher_hd_t probe;

	gnutls_global_init();
	probe = gt_new(SIV_AEAD_CMAC_256, key, 32);
	if (!probe)
		return check_skip("test_nts_gnutls", "GnuTLS has no AES-SIV");
	gnutls_aead_cipher_deinit(probe);
	clock_cell_publish(&cell, &st);
	w = tock_worker_new(&opts, &stats, &cell);
	CHECK(w != NULL);
	if (w) {
		run(w, SIV_AEAD_CMAC_256);
		run(w, SIV_AEAD_CMAC_512);
		CHECK_EQ(stats.c[STAT_NTS_AEAD15], 1);
		CHECK_EQ(stats.c[STAT_NTS_AEAD17], 1);
		CHECK_EQ(stats.c[STAT_NAK_BAD_TAG], 2);
	}
	tock_worker_free(w);
	gnutls_global_deinit();
	return check_done("test_nts_gnutls");
}
