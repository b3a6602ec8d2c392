// SPDX-License-Identifier: MIT
/*
 * AES-SIV: RFC 5297's vectors, empty plaintexts, tamper detection, and cross-checks against
 * OpenSSL's EVP AES-SIV (non-empty inputs only: it cannot verify empty ones) and GnuTLS.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "check.h"
#include "hex.h"
#include "siv.h"

#define MAX_MSG 1600 /* beyond siv.c's 512-byte CMAC chunk, to cross chunk boundaries */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* A test vector into out (capacity cap); a bad vector fails the test. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	int n = hex_decode(s, strlen(s), out, cap);

	CHECK(n >= 0, "bad hex vector %s", s);
	return n < 0 ? 0 : (size_t)n;
}

/* ---- allocation counter: siv_set_key/encrypt/decrypt must not allocate ------------- */

static unsigned long allocs;
static int counting;

static void *count_malloc(size_t n, const char *file, int line)
{
	allocs += counting;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	allocs += counting;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	free(p);
}

/* ---- RFC 5297 Appendix A ------------------------------------------------------------- */

static void check_vector(int aead, const char *key_hex, const char **ad_hex, size_t n_ad,
                         const char *pt_hex, const char *out_hex)
{
	uint8_t key[64], ad_buf[SIV_MAX_AD][64], pt[64], want[80], out[80], back[64];
	struct siv_ad ad[SIV_MAX_AD];
	size_t key_len = unhex(key_hex, key, sizeof(key)), pt_len = unhex(pt_hex, pt, sizeof(pt));
	struct siv *s = siv_new(aead);

	CHECK(s != NULL);
	CHECK_EQ(unhex(out_hex, want, sizeof(want)), SIV_TAG_LEN + pt_len);
	for (size_t i = 0; i < n_ad; i++) {
		ad[i].len = unhex(ad_hex[i], ad_buf[i], sizeof(ad_buf[i]));
		ad[i].data = ad_buf[i];
	}
	CHECK_EQ(siv_set_key(s, key, key_len), 0);
	CHECK_EQ(siv_encrypt(s, ad, n_ad, pt, pt_len, out), 0);
	CHECK_MEM(out, want, SIV_TAG_LEN + pt_len);
	CHECK_EQ(siv_decrypt(s, ad, n_ad, want, SIV_TAG_LEN + pt_len, back), 0);
	CHECK_MEM(back, pt, pt_len);
	siv_free(s);
}

static void test_rfc5297(void)
{
	const char *a1_ad[] = {"101112131415161718191a1b1c1d1e1f2021222324252627"};
	const char *a2_ad[] = {
	    "00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100",
	    "102030405060708090a0",
	    "09f911029d74e35bd84156c5635688c0", /* the nonce, as the last component */
	};

	check_vector(SIV_AEAD_CMAC_256,
	             "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", a1_ad, 1,
	             "112233445566778899aabbccddee",
	             "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c");
	check_vector(
	    SIV_AEAD_CMAC_256, "7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f",
	    a2_ad, 3,
	    "7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67"
	    "205349562d414553",
	    "7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663"
	    "b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d");
}

/* ---- behaviour ----------------------------------------------------------------------- */

static struct siv *keyed(int aead)
{
	uint8_t key[SIV_MAX_KEY_LEN];
	struct siv *s = siv_new(aead);

	rnd_fill(key, sizeof(key));
	CHECK(s != NULL);
	if (s)
		CHECK_EQ(siv_set_key(s, key, siv_key_len(aead)), 0);
	return s;
}

static void test_empty_plaintext(int aead)
{
	uint8_t uid[84], nonce[16], out[SIV_TAG_LEN], bad[SIV_TAG_LEN];
	struct siv_ad ad[2] = {{uid, sizeof(uid)}, {nonce, sizeof(nonce)}};
	struct siv *s = keyed(aead);

	rnd_fill(uid, sizeof(uid));
	rnd_fill(nonce, sizeof(nonce));
	CHECK_EQ(siv_encrypt(s, ad, 2, NULL, 0, out), 0);
	CHECK_EQ(siv_decrypt(s, ad, 2, out, sizeof(out), NULL), 0);
	memcpy(bad, out, sizeof(bad));
	bad[7] ^= 0x20;
	CHECK_EQ(siv_decrypt(s, ad, 2, bad, sizeof(bad), NULL), -EBADMSG);
	nonce[0] ^= 1;
	CHECK_EQ(siv_decrypt(s, ad, 2, out, sizeof(out), NULL), -EBADMSG);
	siv_free(s);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Every single-byte change of tag, ciphertext or any component must fail, zeroing pt. */
static void test_tamper(int aead)
{
	uint8_t a0[20], a1[1], nonce[16], pt[40], out[SIV_TAG_LEN + 40], back[40];
	struct siv_ad ad[3] = {{a0, sizeof(a0)}, {a1, sizeof(a1)}, {nonce, sizeof(nonce)}};
	struct siv *s = keyed(aead);
	unsigned fails = 0;

	rnd_fill(a0, sizeof(a0));
	rnd_fill(a1, sizeof(a1));
	rnd_fill(nonce, sizeof(nonce));
	rnd_fill(pt, sizeof(pt));
	CHECK_EQ(siv_encrypt(s, ad, 3, pt, sizeof(pt), out), 0);
	for (size_t i = 0; i < sizeof(out); i++) {
		out[i] ^= 1u << (i % 8);
		memset(back, 0xa5, sizeof(back));
		fails += siv_decrypt(s, ad, 3, out, sizeof(out), back) != -EBADMSG ||
		         !all_zero(back, sizeof(back));
		out[i] ^= 1u << (i % 8);
	}
	for (size_t c = 0; c < 3; c++) {
		uint8_t *p = (uint8_t *)ad[c].data;

		for (size_t i = 0; i < ad[c].len; i++) {
			p[i] ^= 0x80;
			fails += siv_decrypt(s, ad, 3, out, sizeof(out), back) != -EBADMSG;
			p[i] ^= 0x80;
		}
	}
	CHECK_EQ(fails, 0);
	CHECK_EQ(siv_decrypt(s, ad, 3, out, sizeof(out), back), 0);
	CHECK_MEM(back, pt, sizeof(pt));
	/* Dropping a component or truncating the message must fail too. */
	CHECK_EQ(siv_decrypt(s, ad, 2, out, sizeof(out), back), -EBADMSG);
	CHECK_EQ(siv_decrypt(s, ad, 3, out, sizeof(out) - 1, back), -EBADMSG);
	siv_free(s);
}

static void test_empty_component(void)
{
	uint8_t nonce[16], pt[32], with[48], without[48];
	struct siv_ad two[2] = {{(const uint8_t *)"", 0}, {nonce, sizeof(nonce)}};
	struct siv *s = keyed(SIV_AEAD_CMAC_256);

	rnd_fill(nonce, sizeof(nonce));
	rnd_fill(pt, sizeof(pt));
	CHECK_EQ(siv_encrypt(s, two, 2, pt, sizeof(pt), with), 0);
	CHECK_EQ(siv_encrypt(s, two + 1, 1, pt, sizeof(pt), without), 0);
	CHECK(memcmp(with, without, SIV_TAG_LEN) != 0);
	CHECK_EQ(siv_decrypt(s, two + 1, 1, with, sizeof(with), pt), -EBADMSG);
	CHECK_EQ(siv_decrypt(s, two, 2, without, sizeof(without), pt), -EBADMSG);
	/* NULL data with length 0 is an empty component as well. */
	two[0].data = NULL;
	CHECK_EQ(siv_decrypt(s, two, 2, with, sizeof(with), pt), 0);
	siv_free(s);
}

static void test_api(void)
{
	uint8_t key[64] = {1}, buf[64] = {0}, other[64];
	struct siv_ad ad[SIV_MAX_AD + 1] = {{buf, 0}};
	struct siv *a = siv_new(SIV_AEAD_CMAC_256), *b = siv_new(SIV_AEAD_CMAC_256);
	struct siv *c = siv_new(SIV_AEAD_CMAC_512);

	CHECK(siv_new(30) == NULL);
	CHECK_EQ(siv_key_len(15), 32);
	CHECK_EQ(siv_key_len(17), 64);
	CHECK_EQ(siv_key_len(30), 0);
	CHECK_EQ(siv_aead(c), 17);
	CHECK_EQ(siv_encrypt(a, NULL, 0, buf, 8, other), -EINVAL); /* not keyed yet */
	CHECK_EQ(siv_set_key(a, key, 64), -EINVAL);
	CHECK_EQ(siv_set_key(c, key, 32), -EINVAL);
	CHECK_EQ(siv_set_key(a, key, 32), 0);
	CHECK_EQ(siv_copy(c, a), -EINVAL); /* different AEAD */
	CHECK_EQ(siv_encrypt(a, ad, SIV_MAX_AD + 1, buf, 8, other), -EINVAL);
	CHECK_EQ(siv_encrypt(a, ad, SIV_MAX_AD, buf, 8, other), 0);
	CHECK_EQ(siv_decrypt(a, ad, SIV_MAX_AD, other, SIV_TAG_LEN - 1, buf), -EINVAL);
	CHECK_EQ(siv_decrypt(a, ad, SIV_MAX_AD, other, SIV_TAG_LEN + 8, buf), 0);
	/* In-place decryption (pt == in) works: the tag is read before it is overwritten. */
	CHECK_EQ(siv_decrypt(a, ad, SIV_MAX_AD, other, SIV_TAG_LEN + 8, other), 0);
	CHECK(all_zero(other, 8));
	/* A copy encrypts like its source, and outlives it. */
	CHECK_EQ(siv_encrypt(a, ad, 1, key, 40, buf), 0);
	CHECK_EQ(siv_copy(b, a), 0);
	siv_free(a);
	CHECK_EQ(siv_encrypt(b, ad, 1, key, 40, other), 0);
	CHECK_MEM(buf, other, SIV_TAG_LEN + 40);
	/* ...and re-keys like a fresh instance. */
	a = siv_new(SIV_AEAD_CMAC_256);
	key[5] = 9;
	CHECK_EQ(siv_set_key(a, key, 32), 0);
	CHECK_EQ(siv_set_key(b, key, 32), 0);
	CHECK_EQ(siv_encrypt(a, ad, 1, key, 40, buf), 0);
	CHECK_EQ(siv_encrypt(b, ad, 1, key, 40, other), 0);
	CHECK_MEM(buf, other, SIV_TAG_LEN + 40);
	siv_free(a);
	siv_free(b);
	siv_free(c);
	siv_free(NULL);
}

/* Re-keying gives the same results as a fresh instance and allocates nothing. */
static void test_rekey(int aead, int alloc_counted)
{
	uint8_t k1[64], k2[64], ad0[100], pt[104], x[120], y[120];
	struct siv_ad ad[2] = {{ad0, sizeof(ad0)}, {ad0, 16}};
	struct siv *a = siv_new(aead), *b = siv_new(aead);
	size_t kl = siv_key_len(aead);
	unsigned long before;

	rnd_fill(k1, sizeof(k1));
	rnd_fill(k2, sizeof(k2));
	rnd_fill(ad0, sizeof(ad0));
	rnd_fill(pt, sizeof(pt));
	CHECK_EQ(siv_set_key(a, k1, kl), 0);
	CHECK_EQ(siv_encrypt(a, ad, 2, pt, sizeof(pt), x), 0);
	counting = 1;
	before = allocs;
	CHECK_EQ(siv_set_key(a, k2, kl), 0);
	CHECK_EQ(siv_encrypt(a, ad, 2, pt, sizeof(pt), x), 0);
	CHECK_EQ(siv_decrypt(a, ad, 2, x, sizeof(pt) + SIV_TAG_LEN, y), 0);
	x[3] ^= 1;
	CHECK_EQ(siv_decrypt(a, ad, 2, x, sizeof(pt) + SIV_TAG_LEN, y), -EBADMSG);
	x[3] ^= 1;
	if (alloc_counted)
		CHECK_EQ(allocs - before, 0);
	counting = 0;
	CHECK_EQ(siv_set_key(b, k2, kl), 0);
	CHECK_EQ(siv_encrypt(b, ad, 2, pt, sizeof(pt), y), 0);
	CHECK_MEM(x, y, sizeof(pt) + SIV_TAG_LEN);
	siv_free(a);
	siv_free(b);
}

/* ---- cross-check with OpenSSL's EVP AES-SIV ------------------------------------------ */

struct msg {
	uint8_t key[SIV_MAX_KEY_LEN];
	uint8_t ad_buf[3][200];
	struct siv_ad ad[3];
	size_t n_ad;
	uint8_t pt[MAX_MSG];
	size_t pt_len;
};

static void random_msg(struct msg *m, size_t min_len)
{
	m->n_ad = rnd() % 4;
	for (size_t i = 0; i < m->n_ad; i++) {
		m->ad[i].len = min_len + rnd() % (sizeof(m->ad_buf[i]) - min_len);
		m->ad[i].data = m->ad_buf[i];
		rnd_fill(m->ad_buf[i], m->ad[i].len);
	}
	m->pt_len = min_len + (rnd() % 4 ? rnd() % 200 : rnd() % (MAX_MSG - min_len));
	rnd_fill(m->key, sizeof(m->key));
	rnd_fill(m->pt, m->pt_len);
}

/* EVP's SIV: tag ‖ ciphertext into out. 0 on success. */
static int evp_seal(const EVP_CIPHER *c, const struct msg *m, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ok;

	ok = ctx && EVP_EncryptInit_ex(ctx, c, NULL, m->key, NULL);
	for (size_t i = 0; ok && i < m->n_ad; i++)
		ok = EVP_EncryptUpdate(ctx, NULL, &outl, m->ad[i].data, (int)m->ad[i].len);
	ok = ok && EVP_EncryptUpdate(ctx, out + SIV_TAG_LEN, &outl, m->pt, (int)m->pt_len) &&
	     EVP_EncryptFinal_ex(ctx, out + SIV_TAG_LEN + outl, &outl) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SIV_TAG_LEN, out);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int evp_open(const EVP_CIPHER *c, const struct msg *m, const uint8_t *in, uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ok;

	ok = ctx && EVP_DecryptInit_ex(ctx, c, NULL, m->key, NULL) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SIV_TAG_LEN, (void *)in);
	for (size_t i = 0; ok && i < m->n_ad; i++)
		ok = EVP_DecryptUpdate(ctx, NULL, &outl, m->ad[i].data, (int)m->ad[i].len);
	ok = ok && EVP_DecryptUpdate(ctx, pt, &outl, in + SIV_TAG_LEN, (int)m->pt_len) &&
	     EVP_DecryptFinal_ex(ctx, pt + outl, &outl);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void test_vs_evp(int aead, const char *name, int rounds)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	static struct msg m;
	static uint8_t ours[SIV_TAG_LEN + MAX_MSG], theirs[SIV_TAG_LEN + MAX_MSG], back[MAX_MSG];
	struct siv *s = siv_new(aead);
	unsigned bad = 0;

	if (!c) {
		printf("test_siv: EVP %s unavailable, cross-check skipped\n", name);
		siv_free(s);
		return;
	}
	for (int r = 0; r < rounds; r++) {
		random_msg(&m, 1);
		siv_set_key(s, m.key, siv_key_len(aead));
		bad += siv_encrypt(s, m.ad, m.n_ad, m.pt, m.pt_len, ours) != 0;
		bad += evp_seal(c, &m, theirs) != 0;
		bad += memcmp(ours, theirs, SIV_TAG_LEN + m.pt_len) != 0;
		bad += evp_open(c, &m, ours, back) != 0 || memcmp(back, m.pt, m.pt_len) != 0;
		bad += siv_decrypt(s, m.ad, m.n_ad, theirs, SIV_TAG_LEN + m.pt_len, back) != 0 ||
		       memcmp(back, m.pt, m.pt_len) != 0;
	}
	CHECK_EQ(bad, 0);
	EVP_CIPHER_free(c);
	siv_free(s);
}

/* ---- cross-check with GnuTLS (nettle): S2V over { auth, nonce, plaintext } ----------- */

static void test_vs_gnutls(int aead, gnutls_cipher_algorithm_t alg, int rounds)
{
	static struct msg m;
	static uint8_t ours[SIV_TAG_LEN + MAX_MSG], theirs[SIV_TAG_LEN + MAX_MSG], back[MAX_MSG];
	uint8_t nonce[32];
	struct siv *s = siv_new(aead);
	unsigned bad = 0;

	for (int r = 0; r < rounds; r++) {
		gnutls_datum_t key;
		gnutls_aead_cipher_hd_t h;
		size_t n_len = 1 + rnd() % sizeof(nonce), out_len = sizeof(theirs);
		size_t back_len = sizeof(back);

		random_msg(&m, 0);
		m.n_ad = 1; /* GnuTLS takes exactly one AD item (possibly empty) */
		rnd_fill(nonce, n_len);
		m.ad[1].data = nonce;
		m.ad[1].len = n_len;
		key.data = m.key;
		key.size = (unsigned)siv_key_len(aead);
		if (gnutls_aead_cipher_init(&h, alg, &key) < 0) {
			bad++;
			break;
		}
		siv_set_key(s, m.key, key.size);
		bad += siv_encrypt(s, m.ad, 2, m.pt, m.pt_len, ours) != 0;
		bad +=
		    gnutls_aead_cipher_encrypt(h, nonce, n_len, m.ad[0].data, m.ad[0].len,
		                               SIV_TAG_LEN, m.pt, m.pt_len, theirs, &out_len) < 0;
		bad += out_len != SIV_TAG_LEN + m.pt_len || memcmp(ours, theirs, out_len) != 0;
		bad += gnutls_aead_cipher_decrypt(h, nonce, n_len, m.ad[0].data, m.ad[0].len,
		                                  SIV_TAG_LEN, ours, SIV_TAG_LEN + m.pt_len, back,
		                                  &back_len) < 0 ||
		       back_len != m.pt_len || memcmp(back, m.pt, m.pt_len) != 0;
		bad += siv_decrypt(s, m.ad, 2, theirs, SIV_TAG_LEN + m.pt_len, back) != 0 ||
		       memcmp(back, m.pt, m.pt_len) != 0;
		gnutls_aead_cipher_deinit(h);
	}
	CHECK_EQ(bad, 0);
	siv_free(s);
}

int main(void)
{
	/* Before anything allocates through OpenSSL; not possible under every build. */
	int alloc_counted = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);

	rng_state = check_seed("test_siv");
	if (!alloc_counted)
		printf("test_siv: cannot hook OpenSSL's allocator, allocation check skipped\n");
	test_rfc5297();
	test_api();
	test_empty_component();
	for (int aead = SIV_AEAD_CMAC_256; aead <= SIV_AEAD_CMAC_512; aead += 2) {
		test_empty_plaintext(aead);
		test_tamper(aead);
		test_rekey(aead, alloc_counted);
	}
	test_vs_evp(SIV_AEAD_CMAC_256, "AES-128-SIV", 300);
	test_vs_evp(SIV_AEAD_CMAC_512, "AES-256-SIV", 300);
	test_vs_gnutls(SIV_AEAD_CMAC_256, GNUTLS_CIPHER_AES_128_SIV, 300);
	test_vs_gnutls(SIV_AEAD_CMAC_512, GNUTLS_CIPHER_AES_256_SIV, 300);
	return check_done("test_siv");
}
