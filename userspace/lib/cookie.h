/* SPDX-License-Identifier: MIT */
/*
 * NTS cookies in chrony's format (DESIGN §5), so cookies move between chronyd and tock:
 *
 *   key_id (4, big-endian) ‖ nonce (16) ‖ SIV tag (16) ‖ ciphertext of (C2S ‖ S2C)
 *
 * sealed with the master key `key_id` under AES-SIV-CMAC-256 with S2V components
 * { empty associated data, nonce }. The client's AEAD follows from the key length
 * (32 bytes each → 15, 64 → 17). 100 bytes for AEAD 15, 164 for AEAD 17.
 */
#ifndef TOCK_COOKIE_H
#define TOCK_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "siv.h"

#define COOKIE_NONCE_LEN  16
#define COOKIE_HEADER_LEN (4 + COOKIE_NONCE_LEN)
#define COOKIE_MAX_LEN    (COOKIE_HEADER_LEN + SIV_TAG_LEN + 2 * SIV_MAX_KEY_LEN)

/* The keys a cookie carries: the client's AEAD and its C2S/S2C keys. */
struct cookie_keys {
	int aead;
	size_t key_len; /* siv_key_len(aead) */
	uint8_t c2s[SIV_MAX_KEY_LEN];
	uint8_t s2c[SIV_MAX_KEY_LEN];
};

/* Length of a cookie holding keys for `aead`, or 0 if unsupported. */
size_t cookie_len(int aead);

/*
 * Seals `keys` into out (capacity cap >= cookie_len(keys->aead)) with the master key
 * instance `master` whose id is key_id, using the 16-byte `nonce` (fresh random bytes).
 * Returns the cookie length, or a negative errno.
 */
int cookie_seal(struct siv *master, uint32_t key_id, const uint8_t nonce[COOKIE_NONCE_LEN],
                const struct cookie_keys *keys, uint8_t *out, size_t cap);

/* The key id a cookie names (its first 4 bytes), or -EINVAL if shorter than a header. */
int64_t cookie_key_id(const uint8_t *cookie, size_t len);

/*
 * Opens a cookie with the master key instance for its key id. Returns 0 and fills keys,
 * -EINVAL for a malformed length (the AEAD cannot be inferred), -EBADMSG for a bad tag.
 */
int cookie_open(struct siv *master, const uint8_t *cookie, size_t len, struct cookie_keys *keys);

#endif
