/* SPDX-License-Identifier: MIT */
/*
 * Fixed keys and request of fuzz_cookie and fuzz_nts_client, shared with gen_parsers.c so
 * that their seed corpora hold cookies and responses that really open and verify (and the
 * fuzzer starts past the tag checks). Test keys only.
 *
 * The cookie master key is fuzz_serve_keys.h's current key, so gen_parsers.c can also get
 * genuine NTS responses from tock_serve() for fuzz_nts_client.
 */
#ifndef TOCK_FUZZ_CLIENT_KEYS_H
#define TOCK_FUZZ_CLIENT_KEYS_H

#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "fuzz_serve_keys.h"
#include "nts_client.h"
#include "siv.h"

#define FUZZ_TRANSMIT 0xe8f1a2b3c4d5e6f7ULL

/* The current master key of fuzz_serve_keymap() as a keyed instance, and its id. */
static inline struct siv *fuzz_master(uint32_t *key_id)
{
	struct keymap_snapshot snap;
	const struct keymap_slot *s;
	struct siv *m = siv_new(SIV_AEAD_CMAC_256);

	fuzz_serve_keymap(&snap);
	s = &snap.slots[snap.current_slot];
	if (!m || siv_set_key(m, s->key, siv_key_len(SIV_AEAD_CMAC_256)) < 0)
		abort();
	*key_id = s->id;
	return m;
}

/* The client's keys (AEAD 15 or 17). */
static inline void fuzz_client_keys(struct cookie_keys *k, int aead)
{
	memset(k, 0, sizeof(*k));
	k->aead = aead;
	k->key_len = siv_key_len(aead);
	for (size_t i = 0; i < k->key_len; i++) {
		k->c2s[i] = (uint8_t)(0x11 + 3 * i);
		k->s2c[i] = (uint8_t)(0x5a + 5 * i);
	}
}

/* The request every fuzz_nts_client input answers (cookie filled in by the caller). */
static inline void fuzz_client_request(struct nts_client_request *r)
{
	memset(r, 0, sizeof(*r));
	r->transmit_ts = FUZZ_TRANSMIT;
	for (unsigned i = 0; i < NTS_CLIENT_UID_LEN; i++)
		r->uid[i] = (uint8_t)(0xa0 + i);
	for (unsigned i = 0; i < NTS_CLIENT_NONCE_LEN; i++)
		r->nonce[i] = (uint8_t)(0x30 + i);
}

/* A keyed instance of k's AEAD with its S2C (s2c != 0) or C2S key. */
static inline struct siv *fuzz_client_siv(const struct cookie_keys *k, int s2c)
{
	struct siv *s = siv_new(k->aead);

	if (!s || siv_set_key(s, s2c ? k->s2c : k->c2s, k->key_len) < 0)
		abort();
	return s;
}

#endif
