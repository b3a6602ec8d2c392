// SPDX-License-Identifier: MIT
/* Per-worker random pool (rand.h): one RAND_bytes call per RAND_POOL_SIZE bytes. */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "rand.h"

void rand_pool_init(struct rand_pool *p)
{
	p->pos = RAND_POOL_SIZE;
}

int rand_pool_take(struct rand_pool *p, void *out, size_t n)
{
	if (n > RAND_POOL_SIZE)
		return -EINVAL;
	if (!n)
		return 0;
	if (RAND_POOL_SIZE - p->pos < n) {
		/* Bytes left over are dropped rather than stitched to the next fill: simpler,
		 * and a refill per 4 KiB costs nothing that matters. */
		if (RAND_bytes(p->buf, RAND_POOL_SIZE) != 1) {
			p->pos = RAND_POOL_SIZE;
			return -EIO;
		}
		p->pos = 0;
	}
	memcpy(out, p->buf + p->pos, n);
	/* Handed-out nonces and keys should not linger in memory after use. */
	explicit_bzero(p->buf + p->pos, n);
	p->pos += n;
	return 0;
}
