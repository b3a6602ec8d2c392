/* SPDX-License-Identifier: MIT */
/*
 * The key map: cookie master keys shared from tock-ke (the one writer) to tockd's workers
 * (many readers) through a small file on tmpfs, /run/tock/keys (DESIGN §5).
 *
 * A seqlock guards the slots: the writer makes `seq` odd, writes, makes it even again;
 * a reader copies the slots and retries if `seq` was odd or moved. Readers check `seq`
 * once per batch and re-key their cached contexts only when it changed.
 *
 * Slots form a ring indexed by the low two bits of the key id (as chrony does), holding
 * the two previous keys, the current one and the next one.
 */
#ifndef TOCK_KEYMAP_H
#define TOCK_KEYMAP_H

#include <stdatomic.h>
#include <stdint.h>

#define KEYMAP_MAGIC   0x50414d4b4b434f54ULL /* "TOCKKMAP" little-endian */
#define KEYMAP_VERSION 1
#define KEYMAP_SLOTS   4
#define KEYMAP_KEY_MAX 64

/* The slot that holds key `id`. */
#define KEYMAP_SLOT_OF(id) ((id) & (KEYMAP_SLOTS - 1))

struct keymap_slot {
	uint32_t id;
	uint16_t aead;  /* the master key's AEAD: 15 (AES-SIV-CMAC-256) */
	uint16_t valid; /* 1 when the slot holds a key */
	/* unix time the key became the current one (for the next key: becomes, by schedule) */
	int64_t current_from;
	uint8_t key[KEYMAP_KEY_MAX];
};

/* A consistent copy of the map's contents, as readers use it. */
struct keymap_snapshot {
	uint64_t seq;
	uint32_t current_slot;
	struct keymap_slot slots[KEYMAP_SLOTS];
};

/* The slot `rel` places after the current one (-2, -1: previous; 0: current; 1: next). */
static inline unsigned keymap_slot_rel(const struct keymap_snapshot *snap, int rel)
{
	return (snap->current_slot + KEYMAP_SLOTS + (unsigned)rel) & (KEYMAP_SLOTS - 1);
}

/* The shared layout. Change KEYMAP_VERSION whenever it changes. */
struct keymap_shm {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* sizeof(struct keymap_shm) */
	_Atomic uint64_t seq;
	uint32_t current_slot;
	uint32_t reserved;
	struct keymap_slot slots[KEYMAP_SLOTS];
};

struct keymap {
	struct keymap_shm *shm;
	int writable;
};

/* Creates (or reuses) and maps the file read-write, mode 0600; the writer's call. 0/-errno. */
int keymap_create(struct keymap *km, const char *path);

/* Maps an existing file read-only; -EPROTO if magic/version/size do not match. 0/-errno. */
int keymap_open(struct keymap *km, const char *path);

void keymap_close(struct keymap *km);

/* Writes a whole new set of slots (snapshot's seq is ignored). Writer only. */
void keymap_publish(struct keymap *km, const struct keymap_snapshot *snap);

/* The sequence number now; cheap, for the once-per-batch check. */
static inline uint64_t keymap_seq(const struct keymap *km)
{
	return atomic_load_explicit(&km->shm->seq, memory_order_acquire);
}

/* Copies a consistent snapshot, retrying while a write is in progress. 0, or -EAGAIN after
 * a bounded number of tries (a writer that died mid-write): keep the keys you have. */
int keymap_read(const struct keymap *km, struct keymap_snapshot *out);

/* The slot holding key `id` in a snapshot, or NULL if no valid key has that id. */
const struct keymap_slot *keymap_find(const struct keymap_snapshot *snap, uint32_t id);

#endif
