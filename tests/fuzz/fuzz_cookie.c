// SPDX-License-Identifier: MIT
/*
 * Fuzz target: cookie_open() and cookie_key_id() over arbitrary bytes, with the fixed
 * master key of fuzz_client_keys.h.
 *
 * Checked: only the two cookie lengths can open; an opened cookie names the AEAD its
 * length implies and seals back, with its own id and nonce, to exactly the input (SIV is
 * deterministic). Then the input is used as (nonce ‖ C2S ‖ S2C) to seal a cookie that
 * must open to the same keys, so the success path is fuzzed too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_client_keys.h"

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static struct siv *master(uint32_t *id)
{
	static struct siv *m;
	static uint32_t key_id;

	if (!m)
		m = fuzz_master(&key_id);
	*id = key_id;
	return m;
}

static void check_key_id(const uint8_t *p, size_t len)
{
	int64_t id = cookie_key_id(p, len);

	if (len < COOKIE_HEADER_LEN) {
		FUZZ_CHECK(id == -EINVAL);
		return;
	}
	FUZZ_CHECK(id == (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	                           (uint32_t)p[2] << 8 | p[3]));
}

static void check_open(const uint8_t *p, size_t len)
{
	uint8_t again[COOKIE_MAX_LEN];
	struct cookie_keys k;
	uint32_t id;
	int err = cookie_open(master(&id), p, len, &k);

	FUZZ_CHECK(err == 0 || err == -EINVAL || err == -EBADMSG);
	if (len != cookie_len(SIV_AEAD_CMAC_256) && len != cookie_len(SIV_AEAD_CMAC_512))
		FUZZ_CHECK(err == -EINVAL);
	if (err)
		return;
	FUZZ_CHECK(cookie_len(k.aead) == len && k.key_len == siv_key_len(k.aead));
	FUZZ_CHECK(cookie_seal(master(&id), (uint32_t)cookie_key_id(p, len), p + 4, &k, again,
	                       sizeof(again)) == (int)len);
	FUZZ_CHECK(memcmp(again, p, len) == 0);
}

/* Input as nonce ‖ keys: seal, then open must give the same keys back. */
static void check_seal(const uint8_t *p, size_t len)
{
	uint8_t c[COOKIE_MAX_LEN];
	struct cookie_keys k = {0}, back;
	int aead = len && (p[0] & 1) ? SIV_AEAD_CMAC_512 : SIV_AEAD_CMAC_256;
	uint32_t id;
	int n;

	k.aead = aead;
	k.key_len = siv_key_len(aead);
	if (len < 1 + COOKIE_NONCE_LEN + 2 * k.key_len)
		return;
	memcpy(k.c2s, p + 1 + COOKIE_NONCE_LEN, k.key_len);
	memcpy(k.s2c, p + 1 + COOKIE_NONCE_LEN + k.key_len, k.key_len);
	n = cookie_seal(master(&id), id, p + 1, &k, c, sizeof(c));
	FUZZ_CHECK(n > 0 && (size_t)n == cookie_len(aead));
	FUZZ_CHECK(cookie_open(master(&id), c, (size_t)n, &back) == 0);
	FUZZ_CHECK(back.aead == aead && back.key_len == k.key_len);
	FUZZ_CHECK(!memcmp(back.c2s, k.c2s, k.key_len) && !memcmp(back.s2c, k.s2c, k.key_len));
	c[n - 1] ^= 1; /* any changed bit fails the tag */
	FUZZ_CHECK(cookie_open(master(&id), c, (size_t)n, &back) == -EBADMSG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;

	if (size > 4096)
		return 0;
	p = malloc(size ? size : 1); /* exact size, so ASan sees any over-read */
	if (!p)
		abort();
	memcpy(p, data, size);
	check_key_id(p, size);
	check_open(p, size);
	check_seal(p, size);
	free(p);
	return 0;
}
