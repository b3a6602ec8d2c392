// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the parser of chrony's `ntskeys` key file (NKS0/NKS1) behind keyring_load(),
 * through keyring_parse() on the file's bytes.
 *
 * Checked: the result is 0 or -EINVAL, and a rejected file leaves the ring untouched. An
 * accepted file gives a complete ring (four valid slots, each id in its own slot, AEAD 15
 * or 17, consecutive ids from the current key on) that exports in both of chrony's formats
 * and parses back to the same keys.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyring.h"
#include "log.h"

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define NOW    ((time_t)1700000000)
#define ROTATE 3600

static int same_keys(const struct keyring *a, const struct keyring *b)
{
	if (a->ring.current_slot != b->ring.current_slot)
		return 0;
	for (unsigned i = 0; i < KEYMAP_SLOTS; i++) {
		const struct keymap_slot *x = &a->ring.slots[i], *y = &b->ring.slots[i];

		if (x->id != y->id || x->aead != y->aead || x->valid != y->valid ||
		    memcmp(x->key, y->key, sizeof(x->key)))
			return 0;
	}
	return 1;
}

static void check_ring(const struct keyring *kr)
{
	const struct keymap_snapshot *r = &kr->ring;

	FUZZ_CHECK(r->current_slot < KEYMAP_SLOTS);
	for (unsigned i = 0; i < KEYMAP_SLOTS; i++) {
		const struct keymap_slot *s = &r->slots[i];

		FUZZ_CHECK(s->valid && KEYMAP_SLOT_OF(s->id) == i);
		FUZZ_CHECK(s->aead == 15 || s->aead == 17);
	}
	FUZZ_CHECK(keyring_current(kr) == &r->slots[r->current_slot]);
}

/* Exports the ring in chrony's format `version`, then loads it back. */
static void check_export(const struct keyring *kr, int version)
{
	static char path[64];
	struct keyring back;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/tock-fuzz-keyfile.%d", (int)getpid());
	keyring_init(&back, ROTATE);
	/* NKS0 holds one AEAD for all keys: a mixed ring is refused, not mangled */
	if (keyring_export_chrony(kr, path, version, NOW) < 0) {
		FUZZ_CHECK(version == 0);
		return;
	}
	FUZZ_CHECK(keyring_load(&back, path, NOW) == 0);
	unlink(path);
	FUZZ_CHECK(same_keys(kr, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct keyring kr, before;
	char *p;
	int err;

	if (!quiet) {
		log_init("fuzz_keyfile", 1, LOG_CRIT); /* export failures are expected */
		quiet = 1;
	}
	p = malloc(size ? size : 1); /* exact size: keyring_parse() needs no terminator */
	if (!p)
		abort();
	memcpy(p, data, size);
	keyring_init(&kr, ROTATE);
	memcpy(&before, &kr, sizeof(kr)); /* padding included, for the memcmp below */
	err = keyring_parse(&kr, p, size, NOW);
	FUZZ_CHECK(err == 0 || err == -EINVAL);
	if (err) {
		FUZZ_CHECK(memcmp(&kr, &before, sizeof(kr)) == 0);
	} else {
		check_ring(&kr);
		check_export(&kr, 1);
		check_export(&kr, 0);
	}
	free(p);
	return 0;
}
