/* SPDX-License-Identifier: MIT */
/*
 * The fixed key map fuzz_serve runs with, shared with gen_corpus.c so that the seed
 * corpus holds NTS requests whose cookies really open (and the fuzzer starts past the
 * cookie and authenticator checks). Test keys only.
 */
#ifndef TOCK_FUZZ_SERVE_KEYS_H
#define TOCK_FUZZ_SERVE_KEYS_H

#include <string.h>

#include "keymap.h"

#define FUZZ_EPOCH 77u /* current epoch; ids are (e << 2) | (e & 3) */

static inline void fuzz_serve_keymap(struct keymap_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	for (unsigned e = FUZZ_EPOCH - 2; e <= FUZZ_EPOCH + 1; e++) {
		struct keymap_slot *s = &snap->slots[e & 3];

		s->id = (e << 2) | (e & 3);
		s->aead = 15;
		s->valid = 1;
		for (unsigned i = 0; i < sizeof(s->key); i++)
			s->key[i] = (uint8_t)(e * 31 + i * 7);
	}
	snap->current_slot = FUZZ_EPOCH & 3;
}

#endif
