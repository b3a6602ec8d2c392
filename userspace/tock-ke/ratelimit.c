// SPDX-License-Identifier: MIT
/*
 * Per-source NTS-KE connection limiter: a token bucket per IPv4 /32 or IPv6 /64 in a
 * fixed-size, direct-mapped table shared by the workers (a new connection is rare next to
 * the TLS work it costs, so one mutex is fine). Memory stays fixed however many sources
 * there are: a colliding source takes the slot over with a full bucket, and the hash is
 * keyed with a random secret so nobody can aim collisions at a victim's slot.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ke.h"

#define RL_SLOTS 16384 /* power of two */

struct rl_entry {
	uint64_t key;   /* 0: empty */
	int64_t tokens; /* thousandths of a connection */
	int64_t last_ms;
};

struct ke_ratelimit {
	pthread_mutex_t lock;
	int64_t rate; /* connections per second */
	int64_t burst;
	uint64_t secret;
	struct rl_entry e[RL_SLOTS];
};

struct ke_ratelimit *ke_ratelimit_new(uint32_t rate, uint32_t burst)
{
	struct ke_ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	if (getrandom(&rl->secret, sizeof(rl->secret), 0) != sizeof(rl->secret)) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = rate;
	rl->burst = burst ? burst : 1;
	return rl;
}

void ke_ratelimit_free(struct ke_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* The source's key (never 0): the family in the top bits, then the /32 or the /64. */
static uint64_t source_key(const struct sockaddr_storage *ss)
{
	uint64_t k = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		k = (1ULL << 62) | ntohl(a->sin_addr.s_addr);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		memcpy(&k, a->sin6_addr.s6_addr, 8);
		k |= 1; /* a /64 of all zeros must still differ from "empty" */
	}
	return k ? k : 2;
}

/* splitmix64's finaliser over the key and the secret. */
static uint32_t slot_of(const struct ke_ratelimit *rl, uint64_t k)
{
	uint64_t z = k ^ rl->secret;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) & (RL_SLOTS - 1));
}

int ke_ratelimit_allow(struct ke_ratelimit *rl, const struct sockaddr_storage *addr, int64_t now_ms)
{
	uint64_t k = source_key(addr);
	struct rl_entry *e = &rl->e[slot_of(rl, k)];
	int64_t full = rl->burst * 1000;
	int ok;

	pthread_mutex_lock(&rl->lock);
	if (e->key != k) {
		e->key = k;
		e->tokens = full;
		e->last_ms = now_ms;
	}
	if (now_ms > e->last_ms) {
		e->tokens += (now_ms - e->last_ms) * rl->rate;
		if (e->tokens > full)
			e->tokens = full;
		e->last_ms = now_ms;
	}
	ok = e->tokens >= 1000;
	if (ok)
		e->tokens -= 1000;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
