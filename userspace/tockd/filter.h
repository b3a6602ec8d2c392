/* SPDX-License-Identifier: MIT */
/*
 * The userspace filter: what the XDP program does (DESIGN §7) for hosts where it is off —
 * deny list, allow list (limiter bypass), and a per-prefix token bucket, applied before
 * tock_serve(). Each worker has its own table (no locks); SO_REUSEPORT spreads one source's
 * ports over workers, so the effective limit is at most `rate` × workers.
 */
#ifndef TOCKD_FILTER_H
#define TOCKD_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"

#define FILTER_TABLE_SIZE 4096 /* buckets per worker (power of two) */

enum filter_verdict { FILTER_PASS = 0, FILTER_DENY, FILTER_LIMIT, FILTER_KOD };

struct filter_bucket {
	uint8_t key[16];
	uint8_t family;
	uint32_t over;       /* requests over the limit, for sampling KoD/leak */
	double tokens;
	uint64_t last_ns;
};

struct filter {
	const struct tock_conf *conf;
	struct filter_bucket *table; /* NULL when the limiter is off */
	int active;                  /* any rule at all */
};

/* Prepares a worker's filter from the config (kept by pointer). 0 or -ENOMEM. */
int filter_init(struct filter *f, const struct tock_conf *conf);
void filter_free(struct filter *f);

/* The verdict for a request from peer at now_ns (CLOCK_MONOTONIC). */
enum filter_verdict filter_check(struct filter *f, const struct sockaddr_storage *peer,
				 uint64_t now_ns);

/* A 48-byte KoD RATE answer to req (len >= 48). Returns 48. */
size_t filter_kod(const uint8_t *req, uint8_t *resp);

#endif
