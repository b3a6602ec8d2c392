/* SPDX-License-Identifier: MIT */
/*
 * AES with the x86-64 AES-NI instructions: the block cipher, CMAC (RFC 4493) and CTR as
 * AES-SIV (siv.c) needs them. Only siv.c should call these, and only after
 * aes_ni_usable(): the rest of the binary is built for baseline x86-64.
 */
#ifndef TOCK_AES_NI_H
#define TOCK_AES_NI_H

#include <stddef.h>
#include <stdint.h>

#define AES_NI_BLOCK 16

/* An expanded AES-128 or AES-256 key. */
struct aes_ni_key {
	uint8_t rk[15][AES_NI_BLOCK]; /* round keys: 11 for AES-128, 15 for AES-256 */
	unsigned rounds;              /* 10 or 14 */
};

/* 1 if this CPU (and build) can run the functions below. */
int aes_ni_usable(void);

/* Expands a 16-byte (AES-128) or 32-byte (AES-256) key. 0, or -EINVAL for another length. */
int aes_ni_expand(struct aes_ni_key *k, const uint8_t *key, size_t len);

/* out = AES(k, in); in and out may be the same block. */
void aes_ni_block(const struct aes_ni_key *k, const uint8_t in[AES_NI_BLOCK],
                  uint8_t out[AES_NI_BLOCK]);

/*
 * CMAC of msg (len may be 0) under k with its subkeys sub1 (complete last block) and sub2
 * (padded last block). A non-NULL xorend is first XORed onto the last 16 bytes of msg
 * (S2V's "xorend"), which then needs len >= 16.
 */
void aes_ni_cmac(const struct aes_ni_key *k, const uint8_t sub1[AES_NI_BLOCK],
                 const uint8_t sub2[AES_NI_BLOCK], const uint8_t *msg, size_t len,
                 const uint8_t *xorend, uint8_t mac[AES_NI_BLOCK]);

/*
 * out = in XOR the CTR keystream from the counter block ctr, whose bit 63 must be clear
 * (RFC 5297 §2.5 clears it): the low 64 bits then cannot wrap, so they count alone.
 * out may equal in or start before it (in-place decryption behind a tag), not after.
 */
void aes_ni_ctr(const struct aes_ni_key *k, const uint8_t ctr[AES_NI_BLOCK], const uint8_t *in,
                size_t len, uint8_t *out);

#endif
