// SPDX-License-Identifier: MIT
/*
 * Key map tests: layout/version checks, read-only mapping, lookups by id, and the seqlock
 * under load — a writer process rotates keys as fast as it can while reader threads in
 * this process check that no snapshot is ever torn (every key's bytes derive from its id,
 * and the current slot matches the generation).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "keymap.h"

#define READERS      2
#define WRITES       200000
#define READ_SECONDS 3

static char path[64];
static _Atomic int stop_readers;
static _Atomic unsigned long torn, reads;

/* Generation g: four keys with ids g*4+slot, each key filled with a byte derived from it. */
static void make_generation(struct keymap_snapshot *s, uint32_t g)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t slot = 0; slot < KEYMAP_SLOTS; slot++) {
		struct keymap_slot *k = &s->slots[slot];

		k->id = g * KEYMAP_SLOTS + slot;
		k->aead = 15;
		k->valid = 1;
		k->current_from = g;
		memset(k->key, (int)(k->id * 31 + 7), sizeof(k->key));
	}
	s->current_slot = g % KEYMAP_SLOTS;
}

static int snapshot_consistent(const struct keymap_snapshot *s)
{
	uint32_t g = s->slots[0].id / KEYMAP_SLOTS;

	if (s->seq == 2 && !s->slots[0].valid)
		return 1; /* the empty map before the first write */
	if (s->current_slot != g % KEYMAP_SLOTS)
		return 0;
	for (uint32_t slot = 0; slot < KEYMAP_SLOTS; slot++) {
		const struct keymap_slot *k = &s->slots[slot];

		if (k->id != g * KEYMAP_SLOTS + slot || k->current_from != g || !k->valid)
			return 0;
		for (size_t i = 0; i < sizeof(k->key); i++)
			if (k->key[i] != (uint8_t)(k->id * 31 + 7))
				return 0;
	}
	return 1;
}

static void *reader(void *arg)
{
	struct keymap km;
	struct keymap_snapshot s;

	if (keymap_open(&km, path) != 0) {
		torn++;
		return NULL;
	}
	while (!stop_readers) {
		if (keymap_read(&km, &s) == 0) {
			reads++;
			if (!snapshot_consistent(&s))
				torn++;
		}
	}
	keymap_close(&km);
	return NULL;
}

static void writer_process(void)
{
	struct keymap km;
	struct keymap_snapshot s;

	if (keymap_create(&km, path) != 0)
		_exit(2);
	for (uint32_t g = 1; g <= WRITES; g++) {
		make_generation(&s, g);
		keymap_publish(&km, &s);
	}
	_exit(0);
}

static void test_concurrent(void)
{
	pthread_t th[READERS];
	int status = -1;
	pid_t pid;
	struct timespec start, now;
	struct keymap km;

	/* the map exists before the readers start, as tock-ke creates it before tockd reads */
	CHECK_EQ(keymap_create(&km, path), 0);
	keymap_close(&km);
	pid = fork();
	if (pid == 0)
		writer_process();
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	/* bounded: the writer stops after WRITES generations, the readers after READ_SECONDS */
	do {
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < READ_SECONDS && waitpid(pid, &status, WNOHANG) == 0);
	stop_readers = 1;
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	printf("concurrent: %lu consistent reads, %lu torn\n", (unsigned long)reads,
	       (unsigned long)torn);
	CHECK(reads > 1000, "only %lu reads", (unsigned long)reads);
	CHECK_EQ(torn, 0);
}

static void test_basics(void)
{
	struct keymap w, r;
	struct keymap_snapshot s, got;
	int fd;

	unlink(path);
	CHECK_EQ(keymap_open(&r, path), -ENOENT);
	CHECK_EQ(keymap_create(&w, path), 0);
	make_generation(&s, 7);
	keymap_publish(&w, &s);
	CHECK_EQ(keymap_open(&r, path), 0);
	CHECK_EQ(keymap_read(&r, &got), 0);
	CHECK(snapshot_consistent(&got));
	CHECK(keymap_find(&got, 7 * 4 + 2) == &got.slots[2]);
	CHECK(keymap_find(&got, 8 * 4 + 2) == NULL); /* right slot, wrong id */
	got.slots[1].valid = 0;
	CHECK(keymap_find(&got, 7 * 4 + 1) == NULL);
	CHECK(keymap_seq(&r) == got.seq && !(got.seq & 1));
	keymap_close(&r);
	keymap_close(&w);

	/* a re-created map keeps the keys a restarted writer left (tockd keeps serving) */
	CHECK_EQ(keymap_create(&w, path), 0);
	CHECK_EQ(keymap_open(&r, path), 0);
	CHECK_EQ(keymap_read(&r, &got), 0);
	CHECK_EQ(got.slots[3].id, 7 * 4 + 3);
	keymap_close(&r);
	keymap_close(&w);

	/* a file of another layout version is refused, not misread */
	fd = open(path, O_WRONLY);
	CHECK(pwrite(fd, "\x02\x00\x00\x00", 4, 8) == 4);
	close(fd);
	CHECK_EQ(keymap_open(&r, path), -EPROTO);
	unlink(path);
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/tock-keymap-test-%d", (int)getpid());
	test_basics();
	test_concurrent();
	unlink(path);
	return check_done("test_keymap");
}
