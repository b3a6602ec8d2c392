// SPDX-License-Identifier: MIT
/* The key map: one writer, many readers, a seqlock over a shared file (see keymap.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keymap.h"
#include "seqlock.h"

static int map_file(struct keymap *km, int fd, int prot)
{
	void *p = mmap(NULL, sizeof(struct keymap_shm), prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	km->shm = p;
	km->writable = !!(prot & PROT_WRITE);
	return 0;
}

static int layout_ok(const struct keymap_shm *shm)
{
	return shm->magic == KEYMAP_MAGIC && shm->version == KEYMAP_VERSION &&
	       shm->size == sizeof(*shm);
}

int keymap_create(struct keymap *km, const char *path)
{
	int fd, err;
	struct stat st;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0 || fstat(fd, &st) < 0)
		goto fail_errno;
	if ((size_t)st.st_size != sizeof(struct keymap_shm) &&
	    ftruncate(fd, sizeof(struct keymap_shm)) < 0)
		goto fail_errno;
	err = map_file(km, fd, PROT_READ | PROT_WRITE);
	close(fd);
	if (err)
		return err;
	/* A map left by an earlier run keeps its keys (tockd may be reading them); anything
	 * else is initialised empty. */
	if (!layout_ok(km->shm)) {
		memset(km->shm, 0, sizeof(*km->shm));
		km->shm->version = KEYMAP_VERSION;
		km->shm->size = sizeof(*km->shm);
		atomic_store_explicit(&km->shm->seq, 2, memory_order_release);
		km->shm->magic = KEYMAP_MAGIC;
	}
	return 0;
fail_errno:
	err = -errno;
	close(fd);
	return err;
}

int keymap_open(struct keymap *km, const char *path)
{
	int fd, err;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if ((size_t)st.st_size < sizeof(struct keymap_shm)) {
		close(fd);
		return -EPROTO;
	}
	err = map_file(km, fd, PROT_READ);
	close(fd);
	if (err)
		return err;
	if (!layout_ok(km->shm)) {
		keymap_close(km);
		return -EPROTO;
	}
	return 0;
}

void keymap_close(struct keymap *km)
{
	if (km->shm)
		munmap(km->shm, sizeof(*km->shm));
	km->shm = NULL;
}

void keymap_publish(struct keymap *km, const struct keymap_snapshot *snap)
{
	struct keymap_shm *shm = km->shm;
	/* seqlock_write_begin() also recovers a sequence left odd by a writer that died */
	uint64_t start = seqlock_write_begin(&shm->seq);

	shm->current_slot = snap->current_slot;
	memcpy(shm->slots, snap->slots, sizeof(shm->slots));
	seqlock_write_end(&shm->seq, start);
}

int keymap_read(const struct keymap *km, struct keymap_snapshot *out)
{
	const struct keymap_shm *shm = km->shm;
	uint64_t begin;

	/* Bounded: a writer that died mid-write leaves the sequence odd until tock-ke runs again,
	 * and a reader must not spin forever on it. */
	for (int tries = 0; tries < 100000; tries++) {
		begin = seqlock_read_begin(&shm->seq);
		if (begin & 1)
			continue;
		out->current_slot = shm->current_slot;
		memcpy(out->slots, (const void *)shm->slots, sizeof(out->slots));
		if (!seqlock_read_retry(&shm->seq, begin)) {
			out->seq = begin;
			return 0;
		}
	}
	return -EAGAIN;
}

const struct keymap_slot *keymap_find(const struct keymap_snapshot *snap, uint32_t id)
{
	const struct keymap_slot *s = &snap->slots[KEYMAP_SLOT_OF(id)];

	return s->valid && s->id == id ? s : NULL;
}
