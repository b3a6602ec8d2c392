// SPDX-License-Identifier: MIT
/*
 * AES-SIV: RFC 5297's vectors, empty plaintexts, tamper detection, and cross-checks against
 * OpenSSL's EVP AES-SIV (non-empty inputs only: it cannot verify empty ones) and GnuTLS, all
 * run once per back-end (OpenSSL's AES, then AES-NI where the CPU has it). Then the two
 * back-ends against each other, and AES-NI's primitives against FIPS 197 / RFC 4493 vectors
 * and OpenSSL's CMAC and CTR, so a fault shows up where it is.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aes_ni.h"
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

/* ---- AES-NI primitives ------------------------------------------------------------- */

/* FIPS 197 Appendix C.1 and C.3: the block cipher and key expansion for both key sizes. */
static void test_ni_fips197(void)
{
	static const uint8_t key[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
	                                11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
	                                22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
	uint8_t pt[16], want[16], out[16];
	struct aes_ni_key k;

	unhex("00112233445566778899aabbccddeeff", pt, sizeof(pt));
	CHECK_EQ(aes_ni_expand(&k, key, 16), 0);
	aes_ni_block(&k, pt, out);
	unhex("69c4e0d86a7b0430d8cdb78070b4c55a", want, sizeof(want));
	CHECK_MEM(out, want, 16);
	CHECK_EQ(aes_ni_expand(&k, key, 32), 0);
	aes_ni_block(&k, pt, out);
	unhex("8ea2b7ca516745bfeafc49904b496089", want, sizeof(want));
	CHECK_MEM(out, want, 16);
	CHECK_EQ(aes_ni_expand(&k, key, 24), -EINVAL);
}

/* RFC 4493 §4: CMAC with the RFC's own subkeys, for 0, 16, 40 and 64 bytes. */
static void test_ni_rfc4493(void)
{
	static const char *tags[] = {
	    "bb1d6929e95937287fa37d129b756746", "070a16b46b4d4144f79bdd9dd04a287c",
	    "dfa66747de9ae63030ca32611497c827", "51f0bebf7e3b9d92fc49741779363cfe"};
	static const size_t lens[] = {0, 16, 40, 64};
	uint8_t key[16], k1[16], k2[16], msg[64], want[16], mac[16];
	struct aes_ni_key k;

	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
	unhex("fbeed618357133667c85e08f7236a8de", k1, sizeof(k1));
	unhex("f7ddac306ae266ccf90bc11ee46d513b", k2, sizeof(k2));
	unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	      msg, sizeof(msg));
	CHECK_EQ(aes_ni_expand(&k, key, 16), 0);
	for (size_t i = 0; i < 4; i++) {
		unhex(tags[i], want, sizeof(want));
		aes_ni_cmac(&k, k1, k2, msg, lens[i], NULL, mac);
		CHECK(memcmp(mac, want, 16) == 0, "CMAC of %zu bytes", lens[i]);
	}
}

/* OpenSSL's CMAC of msg under key (16 or 32 bytes); 0 on success. */
static int evp_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                    uint8_t mac[16])
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	char *cipher = key_len == 16 ? "AES-128-CBC" : "AES-256-CBC";
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
	                       OSSL_PARAM_construct_end()};
	size_t out_len = 0;
	int ok = c && EVP_MAC_init(c, key, key_len, params) && EVP_MAC_update(c, msg, len) &&
	         EVP_MAC_final(c, mac, &out_len, 16) && out_len == 16;

	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return ok ? 0 : -1;
}

/* OpenSSL's AES-CTR of in (len bytes) into out; 0 on success. */
static int evp_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                   size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *ci = key_len == 16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
	int outl = 0, ok = c && EVP_EncryptInit_ex(c, ci, NULL, key, iv) &&
	                   EVP_EncryptUpdate(c, out, &outl, in, (int)len) && (size_t)outl == len;

	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* CMAC subkeys the RFC 4493 way, from OpenSSL's AES-ECB (independent of aes_ni.c). */
static void subkeys(const uint8_t *key, size_t key_len, uint8_t k1[16], uint8_t k2[16])
{
	static const uint8_t zero[16];
	uint8_t l[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl;

	CHECK(c &&
	      EVP_EncryptInit_ex(c, key_len == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(), NULL,
	                         key, NULL) &&
	      EVP_EncryptUpdate(c, l, &outl, zero, 16));
	EVP_CIPHER_CTX_free(c);
	for (int i = 0; i < 16; i++)
		k1[i] = (uint8_t)(l[i] << 1 | (i < 15 ? l[i + 1] >> 7 : 0));
	k1[15] ^= (l[0] >> 7) * 0x87;
	for (int i = 0; i < 16; i++)
		k2[i] = (uint8_t)(k1[i] << 1 | (i < 15 ? k1[i + 1] >> 7 : 0));
	k2[15] ^= (k1[0] >> 7) * 0x87;
}

/* Random keys, lengths 0..300 (past CTR's 4-block batches), against OpenSSL's CMAC/CTR. */
static void test_ni_vs_openssl(int rounds)
{
	static uint8_t msg[300], mine[300], theirs[300];
	uint8_t key[32], iv[16], k1[16], k2[16], a[16], b[16];
	struct aes_ni_key k;
	unsigned bad = 0;

	for (int r = 0; r < rounds; r++) {
		size_t kl = r % 2 ? 32 : 16, len = rnd() % (sizeof(msg) + 1);

		rnd_fill(key, sizeof(key));
		rnd_fill(iv, sizeof(iv));
		rnd_fill(msg, len);
		iv[8] &= 0x7f; /* aes_ni_ctr's contract, as SIV guarantees */
		if (r % 7 == 0)
			memset(iv + 9, 0xff, 7); /* low bytes about to carry into byte 8 */
		aes_ni_expand(&k, key, kl);
		subkeys(key, kl, k1, k2);
		aes_ni_cmac(&k, k1, k2, msg, len, NULL, a);
		bad += evp_cmac(key, kl, msg, len, b) != 0 || memcmp(a, b, 16) != 0;
		aes_ni_ctr(&k, iv, msg, len, mine);
		bad +=
		    evp_ctr(key, kl, iv, msg, len, theirs) != 0 || memcmp(mine, theirs, len) != 0;
		/* In place, and with out one block below in (siv_decrypt behind its tag). */
		memcpy(mine + 16, msg, len > 284 ? 284 : len);
		aes_ni_ctr(&k, iv, mine + 16, len > 284 ? 284 : len, mine);
		bad += memcmp(mine, theirs, len > 284 ? 284 : len) != 0;
		aes_ni_ctr(&k, iv, theirs, len, theirs);
		bad += memcmp(theirs, msg, len) != 0;
	}
	CHECK_EQ(bad, 0);
}

/* ---- the two back-ends against each other ------------------------------------------- */

struct many {
	uint8_t key[SIV_MAX_KEY_LEN];
	uint8_t ad_buf[SIV_MAX_AD][200];
	struct siv_ad ad[SIV_MAX_AD];
	size_t n_ad;
	uint8_t pt[200];
	size_t pt_len;
};

/* 0..SIV_MAX_AD components of 0..200 bytes (a quarter empty), a 0..200-byte plaintext. */
static void random_many(struct many *m)
{
	m->n_ad = rnd() % (SIV_MAX_AD + 1);
	for (size_t i = 0; i < m->n_ad; i++) {
		m->ad[i].len = rnd() % 4 ? rnd() % (sizeof(m->ad_buf[i]) + 1) : 0;
		m->ad[i].data = m->ad_buf[i];
		rnd_fill(m->ad_buf[i], m->ad[i].len);
	}
	m->pt_len = rnd() % (sizeof(m->pt) + 1);
	rnd_fill(m->key, sizeof(m->key));
	rnd_fill(m->pt, m->pt_len);
}

/* Each back-end opens what the other sealed, in place too; a flipped bit fails on both. */
static unsigned open_each_other(struct siv *ni, struct siv *ev, const struct many *m, uint8_t *x,
                                uint8_t *y)
{
	static uint8_t back[SIV_TAG_LEN + 200];
	size_t n = SIV_TAG_LEN + m->pt_len, flip = rnd() % n;
	unsigned bad = 0;

	bad += siv_decrypt(ni, m->ad, m->n_ad, y, n, back) != 0 || memcmp(back, m->pt, m->pt_len);
	bad += siv_decrypt(ev, m->ad, m->n_ad, x, n, back) != 0 || memcmp(back, m->pt, m->pt_len);
	memcpy(back, x, n);
	bad +=
	    siv_decrypt(ni, m->ad, m->n_ad, back, n, back) != 0 || memcmp(back, m->pt, m->pt_len);
	x[flip] ^= 0x10;
	bad += siv_decrypt(ni, m->ad, m->n_ad, x, n, back) != -EBADMSG;
	bad += siv_decrypt(ev, m->ad, m->n_ad, x, n, back) != -EBADMSG;
	x[flip] ^= 0x10;
	return bad;
}

static void test_backends_agree(int aead, int rounds)
{
	static struct many m;
	static uint8_t x[SIV_TAG_LEN + 200], y[SIV_TAG_LEN + 200];
	struct siv *ni = siv_new(aead), *ev;
	unsigned bad = 0;

	siv_force_portable(1);
	ev = siv_new(aead);
	siv_force_portable(0);
	CHECK(ni && ev && strcmp(siv_impl(ni), "aes-ni") == 0 &&
	      strcmp(siv_impl(ev), "openssl") == 0);
	if (!ni || !ev)
		goto out;
	for (int r = 0; r < rounds; r++) {
		random_many(&m);
		bad += siv_set_key(ni, m.key, siv_key_len(aead)) != 0;
		bad += siv_set_key(ev, m.key, siv_key_len(aead)) != 0;
		bad += siv_encrypt(ni, m.ad, m.n_ad, m.pt, m.pt_len, x) != 0;
		bad += siv_encrypt(ev, m.ad, m.n_ad, m.pt, m.pt_len, y) != 0;
		bad += memcmp(x, y, SIV_TAG_LEN + m.pt_len) != 0;
		bad += open_each_other(ni, ev, &m, x, y);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(siv_copy(ni, ev), -EINVAL); /* a copy keeps to one back-end */
out:
	siv_free(ni);
	siv_free(ev);
}

/* Every test of the SIV API, on the back-end that new instances get now. */
static void test_suite(int alloc_counted)
{
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
}

/* The back-end a fresh instance gets. */
static const char *impl_now(void)
{
	struct siv *s = siv_new(SIV_AEAD_CMAC_256);
	static char name[16];

	snprintf(name, sizeof(name), "%s", s ? siv_impl(s) : "none");
	siv_free(s);
	return name;
}

int main(void)
{
	/* Before anything allocates through OpenSSL; not possible under every build. */
	int alloc_counted = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
	const char *no_ni = getenv("TOCK_SIV_NO_AESNI");
	int ni = aes_ni_usable() && !(no_ni && *no_ni && strcmp(no_ni, "0") != 0);

	rng_state = check_seed("test_siv");
	if (!alloc_counted)
		printf("test_siv: cannot hook OpenSSL's allocator, allocation check skipped\n");
	siv_force_portable(1);
	CHECK(strcmp(impl_now(), "openssl") == 0);
	CHECK(strcmp(siv_impl_default(), "openssl") == 0);
	test_suite(alloc_counted);
	siv_force_portable(0);
	/* Without this the AES-NI half could silently test OpenSSL twice. */
	CHECK(strcmp(impl_now(), ni ? "aes-ni" : "openssl") == 0, "default back-end %s",
	      impl_now());
	CHECK(strcmp(siv_impl_default(), impl_now()) == 0, "siv_impl_default %s, siv_new %s",
	      siv_impl_default(), impl_now());
	if (!ni) {
		printf("test_siv: AES-NI unusable here (or TOCK_SIV_NO_AESNI set): OpenSSL only\n");
		return check_done("test_siv");
	}
	test_suite(alloc_counted);
	test_ni_fips197();
	test_ni_rfc4493();
	test_ni_vs_openssl(2000);
	test_backends_agree(SIV_AEAD_CMAC_256, 3000);
	test_backends_agree(SIV_AEAD_CMAC_512, 3000);
	return check_done("test_siv");
}
