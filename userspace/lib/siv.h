/* SPDX-License-Identifier: MIT */
/*
 * AES-SIV (RFC 5297) for NTS: AEAD_AES_SIV_CMAC_256 (IANA 15, 32-byte key) and
 * AEAD_AES_SIV_CMAC_512 (IANA 17, 64-byte key), built from AES-NI where the CPU has it and
 * from OpenSSL's AES otherwise (CMAC + CTR; the same output either way). OpenSSL types stay
 * inside siv.c: callers hold an opaque struct siv.
 *
 * The S2V input is a vector of components: the associated data items followed, for NTS, by
 * the nonce as the last one (RFC 5297 treats the nonce as just another component). An
 * empty component is not the same as no component.
 *
 * Output layout is RFC 5297's: SIV tag (16 bytes) followed by the ciphertext, which is what
 * both the NTS authenticator and the cookie carry.
 */
#ifndef TOCK_SIV_H
#define TOCK_SIV_H

#include <stddef.h>
#include <stdint.h>

#define SIV_AEAD_CMAC_256 15
#define SIV_AEAD_CMAC_512 17
#define SIV_TAG_LEN       16
#define SIV_MAX_KEY_LEN   64
#define SIV_MAX_AD        8 /* most S2V components a call may pass (RFC 5297 allows 126) */

struct siv;

/* One S2V component (associated data or nonce). */
struct siv_ad {
	const uint8_t *data;
	size_t len;
};

/* Key length for an IANA AEAD id, or 0 if tock does not support it. */
size_t siv_key_len(int aead);

/* A new, unkeyed instance for `aead`, or NULL (unsupported AEAD or no memory). */
struct siv *siv_new(int aead);
void siv_free(struct siv *s);

/* Keys the instance; len must be siv_key_len(aead). 0 or -EINVAL. Not for the hot path's
 * master keys: key those once and siv_copy() them. */
int siv_set_key(struct siv *s, const uint8_t *key, size_t len);

/* Makes dst (same AEAD and back-end) a keyed copy of src, cheaper than keying again. 0 or
 * -EINVAL. */
int siv_copy(struct siv *dst, const struct siv *src);

/* The AEAD id the instance was made for. */
int siv_aead(const struct siv *s);

/*
 * Encrypts pt (pt_len may be 0) with the components ad[0..n_ad-1] (n_ad <= SIV_MAX_AD);
 * writes SIV_TAG_LEN + pt_len bytes to out (out may not overlap pt). 0 or -errno.
 */
int siv_encrypt(struct siv *s, const struct siv_ad *ad, size_t n_ad, const uint8_t *pt,
                size_t pt_len, uint8_t *out);

/*
 * Verifies and decrypts in (SIV_TAG_LEN + pt_len bytes, in_len >= SIV_TAG_LEN) into pt
 * (in_len - SIV_TAG_LEN bytes). 0, or -EBADMSG if the tag does not verify (pt is then
 * zeroed), or -EINVAL.
 */
int siv_decrypt(struct siv *s, const struct siv_ad *ad, size_t n_ad, const uint8_t *in,
                size_t in_len, uint8_t *pt);

/*
 * The back-end, "aes-ni" or "openssl", that s runs on; NULL for NULL. Chosen once per
 * instance at siv_new(): AES-NI when the CPU has it, unless the environment variable
 * TOCK_SIV_NO_AESNI is set (to anything but "" or "0") when the process first makes an
 * instance, which keeps the whole process on OpenSSL (for comparisons and bisecting).
 */
const char *siv_impl(const struct siv *s);

/* The back-end siv_new() would pick now, by the same rules (for start-up lines and probes). */
const char *siv_impl_default(void);

/*
 * With on != 0, instances made from now on use the OpenSSL back-end whatever the CPU; 0
 * restores the automatic choice. For tests and benchmarks that compare the two; instances
 * already made keep theirs, and siv_copy() only copies between instances of one back-end.
 */
void siv_force_portable(int on);

#endif
