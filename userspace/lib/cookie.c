// SPDX-License-Identifier: MIT
/*
 * NTS cookies in chrony's layout (cookie.h): key_id ‖ nonce ‖ SIV(master, {"", nonce},
 * C2S ‖ S2C). The empty first component is part of the format: S2V tells it apart from
 * no component at all, so leaving it out would make cookies unreadable to chronyd.
 */
#include <errno.h>
#include <string.h>

#include "cookie.h"
#include "wire.h"

static const uint8_t empty_ad[1];

size_t cookie_len(int aead)
{
	size_t k = siv_key_len(aead);

	return k ? COOKIE_HEADER_LEN + SIV_TAG_LEN + 2 * k : 0;
}

/* The client AEAD whose cookie has this length, or 0: the key length is implied. */
static int aead_of_len(size_t len)
{
	if (len == cookie_len(SIV_AEAD_CMAC_256))
		return SIV_AEAD_CMAC_256;
	if (len == cookie_len(SIV_AEAD_CMAC_512))
		return SIV_AEAD_CMAC_512;
	return 0;
}

static void components(struct siv_ad ad[2], const uint8_t *nonce)
{
	ad[0].data = empty_ad;
	ad[0].len = 0;
	ad[1].data = nonce;
	ad[1].len = COOKIE_NONCE_LEN;
}

int cookie_seal(struct siv *master, uint32_t key_id, const uint8_t nonce[COOKIE_NONCE_LEN],
                const struct cookie_keys *keys, uint8_t *out, size_t cap)
{
	uint8_t pt[2 * SIV_MAX_KEY_LEN];
	struct siv_ad ad[2];
	size_t k, len;
	int err;

	if (!master || !nonce || !keys || !out)
		return -EINVAL;
	k = siv_key_len(keys->aead);
	len = cookie_len(keys->aead);
	if (!k || keys->key_len != k)
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	wire_put32(out, key_id);
	memcpy(out + 4, nonce, COOKIE_NONCE_LEN);
	memcpy(pt, keys->c2s, k);
	memcpy(pt + k, keys->s2c, k);
	components(ad, out + 4);
	err = siv_encrypt(master, ad, 2, pt, 2 * k, out + COOKIE_HEADER_LEN);
	explicit_bzero(pt, sizeof(pt));
	return err ? err : (int)len;
}

int64_t cookie_key_id(const uint8_t *cookie, size_t len)
{
	if (!cookie || len < COOKIE_HEADER_LEN)
		return -EINVAL;
	return wire_get32(cookie);
}

int cookie_open(struct siv *master, const uint8_t *cookie, size_t len, struct cookie_keys *keys)
{
	uint8_t pt[2 * SIV_MAX_KEY_LEN];
	struct siv_ad ad[2];
	int aead = aead_of_len(len);
	size_t k = siv_key_len(aead);
	int err;

	if (!master || !cookie || !keys || !aead)
		return -EINVAL;
	components(ad, cookie + 4);
	err = siv_decrypt(master, ad, 2, cookie + COOKIE_HEADER_LEN, len - COOKIE_HEADER_LEN, pt);
	if (!err) {
		keys->aead = aead;
		keys->key_len = k;
		memcpy(keys->c2s, pt, k);
		memcpy(keys->s2c, pt + k, k);
	}
	explicit_bzero(pt, sizeof(pt));
	return err;
}
