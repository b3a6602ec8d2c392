/* SPDX-License-Identifier: MIT */
/*
 * Per-worker random pool: one RAND_bytes call fills many requests' nonces and cookie
 * nonces, so the hot path never enters OpenSSL's DRBG per packet. Not shared between
 * threads. A failure to refill is reported, never papered over with weak randomness.
 */
#ifndef TOCK_RAND_H
#define TOCK_RAND_H

#include <stddef.h>
#include <stdint.h>

#define RAND_POOL_SIZE 4096

struct rand_pool {
	size_t pos; /* bytes used; refill when fewer than needed remain */
	uint8_t buf[RAND_POOL_SIZE];
};

/* Marks the pool empty so the first take refills it. */
void rand_pool_init(struct rand_pool *p);

/* Copies n (<= RAND_POOL_SIZE) fresh random bytes to out. 0, or -EIO if the CSPRNG failed. */
int rand_pool_take(struct rand_pool *p, void *out, size_t n);

#endif
