/* SPDX-License-Identifier: MIT */
/*
 * The cookie master key ring (DESIGN §5), owned by tock-ke (and by tockd in fleet mode):
 * four slots indexed by the low two bits of the 32-bit key id — two previous keys, the
 * current one and the next one — rotated every `rotate` seconds.
 *
 * Keys come from the CSPRNG, or in fleet mode (`ntskeyseed FILE`) are derived for epoch
 * e = floor(unix time / rotate) as HKDF-SHA256(seed, info = "tock cookie key" ‖ e as 8 bytes
 * big-endian), with id = (e << 2) | (e & 3), so every server holding the seed agrees.
 *
 * Persistence uses chrony's `ntskeys` text format (NKS1, chrony ≥ 4.4), written atomically
 * (temp file, fsync, rename, mode 0600); NKS0 (chrony ≤ 4.3) and NKS1 are both imported.
 */
#ifndef TOCK_KEYRING_H
#define TOCK_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keymap.h"

struct keyring {
	struct keymap_snapshot ring; /* slots and current_slot, as published to the key map */
	uint32_t rotate;             /* seconds between rotations */
	time_t last_rotation;        /* unix time the current key became current */
	int fleet;                   /* keys derived from seed */
	uint8_t seed[64];
	size_t seed_len;
};

/* An empty ring rotating every `rotate` seconds (>= 1). */
void keyring_init(struct keyring *kr, uint32_t rotate);

/* Fills the ring with fresh random keys (current, next, and two previous) at `now`. 0/-errno. */
int keyring_generate(struct keyring *kr, time_t now);

/* Rotates if `rotate` seconds have passed since the last rotation (several times if the
 * process slept through more than one). Returns the number of rotations done (0 if none),
 * or -errno. In fleet mode it re-derives the keys for the epoch of `now`. */
int keyring_rotate_if_due(struct keyring *kr, time_t now);

/* Rotates once now regardless of the schedule. 0/-errno. */
int keyring_rotate(struct keyring *kr, time_t now);

/* Fleet mode: reads the seed file (at least 32 bytes of secret; whitespace-free binary or
 * hex), derives the ring for `now`. 0/-errno. */
int keyring_fleet_init(struct keyring *kr, const char *seed_path, time_t now);

/* The current key's slot. */
const struct keymap_slot *keyring_current(const struct keyring *kr);

/* Saves in chrony's NKS1 format, atomically, mode 0600. 0/-errno. */
int keyring_save(const struct keyring *kr, const char *path, time_t now);

/* Loads a ring saved by keyring_save() or by chronyd (NKS0 or NKS1). 0, -ENOENT, or
 * -EINVAL for a malformed file (the ring is left unchanged then). */
int keyring_load(struct keyring *kr, const char *path, time_t now);

/* keyring_load() on the bytes of a key file already in memory (`len` bytes, no terminator
 * needed; at most 4096). 0, or -EINVAL for malformed contents (the ring is left unchanged). */
int keyring_parse(struct keyring *kr, const char *text, size_t len, time_t now);

/* Writes the ring in chrony's format: nks_version 0 (chrony ≤ 4.3) or 1 (≥ 4.4). 0/-errno. */
int keyring_export_chrony(const struct keyring *kr, const char *path, int nks_version, time_t now);

#endif
