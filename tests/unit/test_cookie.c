// SPDX-License-Identifier: MIT
/* NTS cookies: round trips, key ids, tampering, lengths, and the byte layout itself. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "cookie.h"

static uint64_t rng_state;

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (uint8_t)(rng_state >> 56);
	}
}

static struct siv *master_key(uint8_t key[32])
{
	struct siv *m = siv_new(SIV_AEAD_CMAC_256);

	rnd_fill(key, 32);
	CHECK(m != NULL);
	CHECK_EQ(siv_set_key(m, key, 32), 0);
	return m;
}

static void client_keys(struct cookie_keys *k, int aead)
{
	memset(k, 0, sizeof(*k));
	k->aead = aead;
	k->key_len = siv_key_len(aead);
	rnd_fill(k->c2s, k->key_len);
	rnd_fill(k->s2c, k->key_len);
}

static void test_round_trip(struct siv *m, int aead, size_t want_len)
{
	uint8_t nonce[COOKIE_NONCE_LEN], c[COOKIE_MAX_LEN];
	struct cookie_keys in, out;
	uint32_t id = 0x8badf00d;

	client_keys(&in, aead);
	rnd_fill(nonce, sizeof(nonce));
	CHECK_EQ(cookie_len(aead), want_len);
	CHECK_EQ(cookie_seal(m, id, nonce, &in, c, want_len - 1), -ENOSPC);
	CHECK_EQ(cookie_seal(m, id, nonce, &in, c, sizeof(c)), (int)want_len);
	CHECK(c[0] == 0x8b && c[1] == 0xad && c[2] == 0xf0 && c[3] == 0x0d, "key id not BE");
	CHECK_EQ(cookie_key_id(c, want_len), id);
	CHECK_EQ(cookie_key_id(c, COOKIE_HEADER_LEN - 1), -EINVAL);
	CHECK_MEM(c + 4, nonce, sizeof(nonce));
	memset(&out, 0, sizeof(out));
	CHECK_EQ(cookie_open(m, c, want_len, &out), 0);
	CHECK_EQ(out.aead, aead);
	CHECK_EQ(out.key_len, in.key_len);
	CHECK_MEM(out.c2s, in.c2s, in.key_len);
	CHECK_MEM(out.s2c, in.s2c, in.key_len);
}

static void test_tamper(struct siv *m, int aead)
{
	uint8_t nonce[COOKIE_NONCE_LEN] = {7}, c[COOKIE_MAX_LEN];
	struct cookie_keys in, out;
	size_t len = cookie_len(aead);
	unsigned wrong = 0;

	client_keys(&in, aead);
	CHECK_EQ(cookie_seal(m, 3, nonce, &in, c, sizeof(c)), (int)len);
	/* The key id selects the master key but is not authenticated: only bytes 4.. are. */
	for (size_t i = 4; i < len; i++) {
		c[i] ^= 0x01;
		wrong += cookie_open(m, c, len, &out) != -EBADMSG;
		c[i] ^= 0x01;
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(cookie_open(m, c, len, &out), 0);
}

static void test_wrong_master(int aead)
{
	uint8_t k1[32], k2[32], nonce[COOKIE_NONCE_LEN] = {1}, c[COOKIE_MAX_LEN];
	struct siv *a = master_key(k1), *b = master_key(k2);
	struct cookie_keys in, out;

	client_keys(&in, aead);
	CHECK_EQ(cookie_seal(a, 1, nonce, &in, c, sizeof(c)), (int)cookie_len(aead));
	CHECK_EQ(cookie_open(b, c, cookie_len(aead), &out), -EBADMSG);
	siv_free(a);
	siv_free(b);
}

static void test_lengths(struct siv *m)
{
	uint8_t nonce[COOKIE_NONCE_LEN] = {0}, c[COOKIE_MAX_LEN + 8] = {0};
	struct cookie_keys k, out;
	unsigned wrong = 0;

	for (size_t len = 0; len < sizeof(c); len++) {
		int want = len == 100 || len == 164 ? -EBADMSG : -EINVAL;

		wrong += cookie_open(m, c, len, &out) != want;
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(cookie_len(30), 0);
	client_keys(&k, SIV_AEAD_CMAC_256);
	k.key_len = 16;
	CHECK_EQ(cookie_seal(m, 1, nonce, &k, c, sizeof(c)), -EINVAL);
	k.aead = 30;
	CHECK_EQ(cookie_seal(m, 1, nonce, &k, c, sizeof(c)), -EINVAL);
}

/* The format is key_id ‖ nonce ‖ SIV({"", nonce}, C2S ‖ S2C): open one without cookie.c. */
static void test_layout(struct siv *m, int aead)
{
	uint8_t nonce[COOKIE_NONCE_LEN], c[COOKIE_MAX_LEN], pt[2 * SIV_MAX_KEY_LEN];
	struct cookie_keys in;
	size_t len = cookie_len(aead), k = siv_key_len(aead);
	struct siv_ad ad[2] = {{(const uint8_t *)"", 0}, {c + 4, COOKIE_NONCE_LEN}};

	client_keys(&in, aead);
	rnd_fill(nonce, sizeof(nonce));
	CHECK_EQ(cookie_seal(m, 42, nonce, &in, c, sizeof(c)), (int)len);
	CHECK_EQ(siv_decrypt(m, ad, 2, c + 20, len - 20, pt), 0);
	CHECK_MEM(pt, in.c2s, k);
	CHECK_MEM(pt + k, in.s2c, k);
	/* Without the empty component (nonce only) the tag must not verify. */
	CHECK_EQ(siv_decrypt(m, ad + 1, 1, c + 20, len - 20, pt), -EBADMSG);
}

int main(void)
{
	uint8_t key[32];
	struct siv *m;

	rng_state = check_seed("test_cookie");
	m = master_key(key);
	test_round_trip(m, SIV_AEAD_CMAC_256, 100);
	test_round_trip(m, SIV_AEAD_CMAC_512, 164);
	for (int aead = SIV_AEAD_CMAC_256; aead <= SIV_AEAD_CMAC_512; aead += 2) {
		test_tamper(m, aead);
		test_wrong_master(aead);
		test_layout(m, aead);
	}
	test_lengths(m);
	siv_free(m);
	return check_done("test_cookie");
}
